"""Neural-network building blocks. ``ember.nn.functional`` holds the stateless functions."""

from ember.nn import functional  # noqa: F401
