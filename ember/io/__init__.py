"""Saving and loading tensors (safetensors format, never pickle)."""

from ember.io.serialization import load, save  # noqa: F401
