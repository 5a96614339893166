"""ember.utils: helpers under the names PyTorch keeps in ``torch.utils``.

``ember.utils.data`` is ``ember.data`` under PyTorch's name, so that
``from ember.utils.data import DataLoader`` works as ``torch.utils.data`` users expect;
``ember.utils.checkpoint`` recomputes activations in backward to save memory.
"""

from ember.utils import checkpoint, data  # noqa: F401 - as torch.utils
