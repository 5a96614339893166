"""Indexing ops: getitem/setitem (basic and advanced), gather, scatter, index_select, masks."""

__all__: list = []
