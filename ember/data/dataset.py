"""Datasets: the map-style Dataset (``len`` and ``[i]``), the IterableDataset (a stream), and
the small wrappers that combine them: TensorDataset, Subset, ConcatDataset, ChainDataset and
random_split."""

from __future__ import annotations

import bisect
import itertools
import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Generic, TypeVar

from ember.tensor import Tensor

__all__ = [
    "ChainDataset",
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]

T_co = TypeVar("T_co", covariant=True)


class Dataset(Generic[T_co]):
    """A map-style dataset: subclasses define ``__getitem__(index)`` and usually ``__len__``.

    Example::

        class Squares(Dataset):
            def __len__(self):
                return 10

            def __getitem__(self, i):
                return ember.tensor(float(i)), i * i
    """

    def __getitem__(self, index) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: Dataset) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset that is a stream of samples: subclasses define ``__iter__``.

    With ``DataLoader(num_workers=n)``, every worker process iterates its own copy of the
    dataset, so without care each sample comes ``n`` times. As in PyTorch, split the work in
    ``__iter__`` with ``ember.data.get_worker_info()`` (``None`` in the main process)::

        def __iter__(self):
            info = get_worker_info()
            start, step = (0, 1) if info is None else (info.id, info.num_workers)
            return iter(range(start, self.n, step))
    """

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")

    def __add__(self, other) -> ChainDataset:
        return ChainDataset([self, other])


class TensorDataset(Dataset):
    """Samples are the rows of tensors that share their first dimension.

    ``TensorDataset(x, y)[i]`` is ``(x[i], y[i])``; ``len`` is ``x.size(0)``.
    """

    def __init__(self, *tensors: Tensor):
        for k, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: expected tensors, received {type(t).__name__} at position {k}"
                )
            if t.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {k} is 0-d; expected a first dimension")
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            raise ValueError(
                f"TensorDataset: size mismatch between tensors: the first dimensions are {sizes}; "
                "expected them all equal"
            )
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0] if self.tensors else 0


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``Subset(ds, [4, 0, 2])[1]``
    is ``ds[0]``."""

    def __init__(self, dataset: Dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices: list) -> list:
        # Pass a whole batch on when the wrapped dataset can fetch batches itself.
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self) -> int:
        return len(self.indices)


class ConcatDataset(Dataset):
    """Map-style datasets one after the other: index ``len(a)`` of ``ConcatDataset([a, b])``
    is ``b[0]``. ``a + b`` makes one too."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets should not be an empty iterable")
        for d in self.datasets:
            if isinstance(d, IterableDataset):
                raise TypeError(
                    "ConcatDataset does not support IterableDataset; use ChainDataset for streams"
                )
        self.cumulative_sizes = list(itertools.accumulate(len(d) for d in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        n = len(self)
        if idx < 0:
            if -idx > n:
                raise ValueError(
                    f"ConcatDataset: absolute value of index should not exceed dataset length: "
                    f"index {idx}, length {n}"
                )
            idx += n
        if idx >= n:
            raise IndexError(f"ConcatDataset: index {idx} is out of range for length {n}")
        which = bisect.bisect_right(self.cumulative_sizes, idx)
        start = self.cumulative_sizes[which - 1] if which > 0 else 0
        return self.datasets[which][idx - start]


class ChainDataset(IterableDataset):
    """Iterable datasets one after the other (``a + b`` for IterableDatasets)."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for d in self.datasets:
            if not isinstance(d, IterableDataset):
                raise TypeError(
                    f"ChainDataset only supports IterableDataset, received {type(d).__name__}"
                )
            yield from d

    def __len__(self) -> int:
        return sum(len(d) for d in self.datasets)


def random_split(dataset: Dataset, lengths: Sequence, generator=None) -> list[Subset]:
    """Split ``dataset`` at random into non-overlapping Subsets of the given lengths.

    lengths: ints that sum to ``len(dataset)``, or fractions that sum to 1; then each split
    gets ``floor(len * fraction)`` items and the remainder is dealt one by one, round-robin,
    from the first split on (as PyTorch).
    generator: an ``ember.Generator``; ember's default generator if None, so that
    ``ember.manual_seed`` makes the split repeatable.

    Example::

        train, val = random_split(range(10), [0.8, 0.2], generator=ember.Generator().manual_seed(0))
        len(train), len(val)  # (8, 2)
    """
    from ember.creation import randperm

    lengths = list(lengths)
    for i, v in enumerate(lengths):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(
                f"random_split: lengths must be ints or fractions, received {v!r} at index {i}"
            )
    n = len(dataset)
    total = sum(lengths)
    if math.isclose(total, 1) and total <= 1:
        counts = []
        for i, frac in enumerate(lengths):
            if frac < 0 or frac > 1:
                raise ValueError(
                    f"random_split: fraction at index {i} is not between 0 and 1: {frac}"
                )
            counts.append(math.floor(n * frac))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
        for i, length in enumerate(lengths):
            if length == 0:
                warnings.warn(
                    f"random_split: length of split at index {i} is 0; this split is empty",
                    stacklevel=2,
                )
    for i, v in enumerate(lengths):
        if v != int(v) or v < 0:
            raise ValueError(
                f"random_split: lengths must be non-negative ints or fractions summing to 1, "
                f"received {v!r} at index {i}"
            )
    lengths = [int(v) for v in lengths]
    if sum(lengths) != n:
        raise ValueError(
            f"random_split: sum of input lengths {sum(lengths)} does not equal the length of "
            f"the input dataset {n}"
        )
    indices = randperm(n, generator=generator).tolist()
    return [
        Subset(dataset, indices[end - length : end])
        for end, length in zip(itertools.accumulate(lengths), lengths)
    ]
