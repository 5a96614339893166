"""ember.nn.utils: gradient clipping and other helpers."""
