"""Saving and loading tensors (safetensors format, never pickle)."""

from ember.io.serialization import SafetensorsError, load, save

__all__ = ["SafetensorsError", "load", "save"]
