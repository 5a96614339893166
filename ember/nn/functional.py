"""ember.nn.functional: activations, losses, convolutions, pooling, normalisation …

The functions live in ``ember.ops`` (by family); this module gathers the ones PyTorch keeps
under ``torch.nn.functional``.
"""

from ember.ops.conv import *
from ember.ops.elementwise import ACTIVATIONS as _ACTIVATIONS
from ember.ops.nn import *

globals().update(_ACTIVATIONS)
