"""ember.nn layers: container."""

__all__: list = []
