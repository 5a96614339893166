"""ember.data: datasets, samplers, the DataLoader, image transforms and built-in datasets.

The names of ``torch.utils.data`` (also reachable as ``ember.utils.data``), plus
``ember.data.transforms`` (torchvision's basic transforms) and ``ember.data.datasets``
(readers for MNIST, Fashion-MNIST and CIFAR-10 files, scikit-learn's digits and a text
corpus made from Python's own standard library; nothing is ever downloaded).

Example::

    from ember.data import DataLoader, TensorDataset

    ds = TensorDataset(ember.randn(100, 3), ember.arange(100))
    for x, y in DataLoader(ds, batch_size=32, shuffle=True):
        ...
"""

from ember.data import datasets, transforms
from ember.data._worker import WorkerInfo, get_worker_info
from ember.data.collate import default_collate, default_convert
from ember.data.dataloader import DataLoader
from ember.data.dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from ember.data.sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "WorkerInfo",
    "datasets",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
    "transforms",
]
