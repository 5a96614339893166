"""Convolution, pooling, padding and resizing ops."""

__all__: list = []
