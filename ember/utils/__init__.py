"""ember.utils: helpers under the names PyTorch keeps in ``torch.utils``.

``ember.utils.data`` is ``ember.data`` under PyTorch's name, so that
``from ember.utils.data import DataLoader`` works as ``torch.utils.data`` users expect.
"""

from ember.utils import data  # noqa: F401 - the torch.utils.data alias
