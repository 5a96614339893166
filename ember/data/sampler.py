"""Samplers: the order in which a DataLoader visits the indices of a map-style dataset.

A sampler is any iterable of indices (a BatchSampler: of lists of indices). The random ones
draw from an ``ember.Generator``; without one, from ember's default generator, so that
``ember.manual_seed(s)`` makes the order repeatable.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Iterator, Sequence
from typing import Generic, TypeVar

from ember.random import Generator, _rng

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]

T_co = TypeVar("T_co", covariant=True)


def _positive_int(value, what: str, op: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(
            f"{op}: {what} should be a positive integer value, but got {what}={value!r}"
        )
    return int(value)


def _check_generator(generator, op: str):
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(
            f"{op}: generator must be an ember.Generator or None, received "
            f"{type(generator).__name__}"
        )
    return generator


class Sampler(Generic[T_co]):
    """Base class: subclasses define ``__iter__`` (and ``__len__`` when they know it)."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler[int]):
    """0, 1, …, len(data_source) - 1."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Indices in random order: a permutation of ``range(len(data_source))``, or
    ``num_samples`` draws with ``replacement``.

    Without replacement and with ``num_samples`` larger than the dataset, whole permutations
    follow one another (as PyTorch). Each ``iter()`` draws a new order: from ``generator`` if
    given, else from a generator seeded by one draw of ember's default generator.
    """

    def __init__(
        self,
        data_source,
        replacement: bool = False,
        num_samples: int | None = None,
        generator: Generator | None = None,
    ):
        if not isinstance(replacement, bool):
            raise TypeError(
                f"RandomSampler: replacement should be a boolean value, but got "
                f"replacement={replacement!r}"
            )
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = _check_generator(generator, "RandomSampler")
        _positive_int(self.num_samples, "num_samples", "RandomSampler")

    @property
    def num_samples(self) -> int:
        # The dataset may change size after the sampler is made, so this is read late.
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        if self.generator is None:
            seed = int(_rng(None).integers(0, 2**63))
            rng = Generator().manual_seed(seed)._rng
        else:
            rng = self.generator._rng
        m = self.num_samples
        if self.replacement:
            return iter(rng.integers(0, n, m).tolist())
        order = []
        for _ in range(m // n):
            order.extend(rng.permutation(n).tolist())
        if m % n:
            order.extend(rng.permutation(n)[: m % n].tolist())
        return iter(order)

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler[int]):
    """The given indices, in a new random order at each ``iter()``."""

    def __init__(self, indices: Sequence[int], generator: Generator | None = None):
        self.indices = indices
        self.generator = _check_generator(generator, "SubsetRandomSampler")

    def __iter__(self) -> Iterator[int]:
        order = _rng(self.generator).permutation(len(self.indices))
        return iter([self.indices[i] for i in order.tolist()])

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler[int]):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(
        self,
        weights: Sequence[float],
        num_samples: int,
        replacement: bool = True,
        generator: Generator | None = None,
    ):
        import numpy as np

        _positive_int(num_samples, "num_samples", "WeightedRandomSampler")
        if not isinstance(replacement, bool):
            raise ValueError(  # noqa: TRY004 - PyTorch's type
                f"WeightedRandomSampler: replacement should be a boolean value, but got "
                f"replacement={replacement!r}"
            )
        w = np.asarray(weights, dtype=np.float64)
        if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0):
            raise ValueError(
                f"WeightedRandomSampler: weights should be a non-empty 1-d sequence of finite, "
                f"non-negative numbers, received shape {w.shape}"
            )
        if w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: the weights sum to zero")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(
                f"WeightedRandomSampler: cannot draw {num_samples} samples without replacement "
                f"from {np.count_nonzero(w)} indices of non-zero weight"
            )
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = replacement
        self.generator = _check_generator(generator, "WeightedRandomSampler")

    def __iter__(self) -> Iterator[int]:
        p = self.weights / self.weights.sum()
        rng = _rng(self.generator)
        return iter(rng.choice(len(p), self.num_samples, replace=self.replacement, p=p).tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """Groups the indices of ``sampler`` into lists of ``batch_size``; the last, shorter one
    is dropped when ``drop_last``.

    Example: ``list(BatchSampler(range(5), 2, drop_last=False))`` is ``[[0, 1], [2, 3], [4]]``.
    """

    def __init__(self, sampler: Sampler[int] | Iterable[int], batch_size: int, drop_last: bool):
        _positive_int(batch_size, "batch_size", "BatchSampler")
        if not isinstance(drop_last, bool):
            raise ValueError(  # noqa: TRY004 - PyTorch's type
                f"BatchSampler: drop_last should be a boolean value, but got "
                f"drop_last={drop_last!r}"
            )
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        it = iter(self.sampler)
        return self._batches(it)

    def _batches(self, it):
        while True:
            batch = []
            for index in it:
                batch.append(index)
                if len(batch) == self.batch_size:
                    break
            if not batch or (self.drop_last and len(batch) < self.batch_size):
                return
            yield batch
            if len(batch) < self.batch_size:
                return

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
