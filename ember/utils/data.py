"""``ember.utils.data``: the same names as ``ember.data``, where ``torch.utils.data`` users
look for them: ``from ember.utils.data import DataLoader, Dataset, TensorDataset``."""

from ember.data import *
from ember.data import __all__  # noqa: F401
