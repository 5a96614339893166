"""Metrics for ``Trainer``: running means of the loss, accuracy and top-k accuracy.

A metric accumulates over the batches of an epoch with ``update(output, target)`` and gives
its value with ``compute()``; ``reset()`` starts again. The sums stay in arrays on the
tensors' device (nothing is copied to the host per batch, so a GPU never waits); only
``compute()`` followed by ``float()`` reads a number back.

Example::

    acc = Accuracy()
    for x, y in loader:
        acc.update(model(x), y)
    print(float(acc.compute()))
"""

from __future__ import annotations

import copy
import re

import numpy as np

from ember import backend
from ember.tensor import Tensor

__all__ = ["Accuracy", "Mean", "MeanMetric", "Metric", "TopKAccuracy", "get_metric"]


def _array(x, what: str, name: str):
    if isinstance(x, Tensor):
        return x._data
    if backend.is_array(x):
        return x
    raise TypeError(f"{name}: expected {what} to be a Tensor, received {type(x).__name__}")


def _classes_of(out_shape, target_shape) -> bool:
    """Scores (N, C, *) for class indices (N, *)."""
    return out_shape[:1] + out_shape[2:] == target_shape


class Metric:
    """Base class: subclasses define ``reset``, ``update`` and ``compute``, and name
    themselves with ``name`` (the key of their value in the training logs)."""

    name = "metric"

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self._total = None  # an array (0-d) on the data's device, or None before any update
        self._count = 0

    def update(self, output, target) -> None:
        raise NotImplementedError(f"{type(self).__name__} must define update()")

    def compute(self) -> Tensor:
        """The value so far as a 0-d float64 Tensor (nan before the first update)."""
        if self._total is None or self._count == 0:
            return Tensor._make(np.array(np.nan))
        return Tensor._make(self._total / self._count)

    def result(self) -> float:
        """``float(self.compute())``: reads the value back to the host."""
        return float(self.compute().item())

    def clone(self) -> Metric:
        """A fresh metric of the same kind and settings (for validation, say)."""
        m = copy.copy(self)
        m.reset()
        return m

    def state_dict(self) -> dict:
        """What was accumulated, for resuming mid-epoch from a checkpoint."""
        total = None if self._total is None else Tensor._make(self._total.reshape(()).copy())
        return {"total": total, "count": self._count}

    def load_state_dict(self, state: dict) -> None:
        total = state["total"]
        self._total = None if total is None else total._data.astype(np.float64)
        self._count = int(state["count"])

    def _add(self, value, count: int) -> None:
        if isinstance(value, np.generic):  # NumPy's reductions give scalars; keep 0-d arrays
            value = np.asarray(value)
        self._total = value if self._total is None else self._total + value
        self._count += count

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Metric):
    """The running (weighted) mean of values: ``update(value, weight=1)``. Trainer keeps the
    loss with it, weighting each batch's mean loss by the batch size."""

    def __init__(self, name: str = "mean"):
        self.name = name
        super().__init__()

    def update(self, value, weight: int = 1) -> None:
        arr = _array(value, "value", "Mean.update")
        self._add(arr.astype(np.float64).sum() * weight, weight)


class MeanMetric(Metric):
    """The per-sample mean of ``fn(output, target)``, a function that returns a batch's mean
    (a loss function, say), weighted by the batch size."""

    def __init__(self, fn, name: str | None = None):
        if not callable(fn):
            raise TypeError(f"MeanMetric: expected a function, received {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", type(fn).__name__)
        super().__init__()

    def update(self, output, target) -> None:
        value = self.fn(output, target)
        n = output.shape[0] if getattr(output, "ndim", 0) else 1
        arr = _array(value, "the value of the metric function", self.name)
        self._add(arr.astype(np.float64).sum() * n, n)


class Accuracy(Metric):
    """The fraction of correct predictions.

    Three cases, decided by the shapes:

    - class scores ``(N, C, *)`` (logits or probabilities) against class indices
      ``(N, *)``: the prediction is the argmax over dim 1;
    - class scores against one-hot or soft targets of the same shape ``(N, C, *)``: the
      argmax of both;
    - binary: scores and targets of the same shape (or ``(N, 1)`` against ``(N,)``): the
      prediction is ``output > threshold`` (use ``threshold=0.0`` for logits).
    """

    name = "accuracy"

    def __init__(self, threshold: float = 0.5):
        self.threshold = threshold
        super().__init__()

    def update(self, output, target) -> None:
        o = _array(output, "output", "Accuracy.update")
        t = _array(target, "target", "Accuracy.update")
        if o.ndim == t.ndim + 1 and o.ndim >= 2 and _classes_of(o.shape, t.shape):
            pred = o.argmax(axis=1)
        elif o.shape == t.shape and o.ndim >= 2 and o.shape[1] > 1 and t.dtype.kind in "fV":
            pred, t = o.argmax(axis=1), t.argmax(axis=1)
        elif o.shape == t.shape or (o.ndim == 2 and o.shape[1] == 1 and o.shape[:1] == t.shape):
            pred = o.reshape(t.shape) > self.threshold
            t = t > 0.5 if t.dtype.kind in "fV" else t.astype(bool)
        else:
            raise ValueError(
                f"Accuracy: expected class scores (N, C, *) with class indices (N, *), or "
                f"outputs and targets of the same shape, received output {tuple(o.shape)} "
                f"and target {tuple(t.shape)}"
            )
        self._add((pred == t).sum(), int(t.size))


class TopKAccuracy(Metric):
    """The fraction of samples whose class (an index) is among the ``k`` highest scores:
    output ``(N, C, *)``, target ``(N, *)``."""

    def __init__(self, k: int = 5, name: str | None = None):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"TopKAccuracy: expected k to be a positive int, received k={k!r}")
        self.k = k
        self.name = name or f"top{k}_accuracy"
        super().__init__()

    def update(self, output, target) -> None:
        o = _array(output, "output", "TopKAccuracy.update")
        t = _array(target, "target", "TopKAccuracy.update")
        if not (o.ndim == t.ndim + 1 and o.ndim >= 2 and _classes_of(o.shape, t.shape)):
            raise ValueError(
                f"TopKAccuracy: expected class scores (N, C, *) and class indices (N, *), "
                f"received output {tuple(o.shape)} and target {tuple(t.shape)}"
            )
        xp = backend.get_array_module(o)
        c = o.shape[1]
        if self.k >= c:
            hit = xp.ones(t.shape, dtype=bool)
        else:
            # the score of the true class, against the k-th largest score of the sample
            true = xp.take_along_axis(o, xp.expand_dims(t.astype(np.int64), 1), axis=1)
            kth = xp.partition(o, c - self.k, axis=1)[:, c - self.k : c - self.k + 1]
            hit = (true >= kth).squeeze(1)
        self._add(hit.sum(), int(t.size))


_TOPK = re.compile(r"^top[_-]?(\d+)(?:[_-](?:categorical[_-])?accuracy)?$")


def get_metric(spec) -> Metric:
    """A Metric from ``spec``: a Metric (as it is), a name ('accuracy' or 'acc',
    'top5_accuracy' or 'top5', 'top_k_accuracy' for k=5), or a function ``fn(output,
    target)`` returning a batch's mean (averaged per sample, named after the function)."""
    if isinstance(spec, Metric):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        if key in ("accuracy", "acc"):
            return Accuracy()
        if key in ("top_k_accuracy", "top_k_categorical_accuracy"):
            return TopKAccuracy(5)
        m = _TOPK.match(key)
        if m:
            return TopKAccuracy(int(m.group(1)))
        raise ValueError(
            f"get_metric: unknown metric {spec!r}; known names: 'accuracy', 'top5_accuracy' "
            "(any k), or pass a Metric or a function fn(output, target)"
        )
    if callable(spec):
        return MeanMetric(spec)
    raise TypeError(
        f"get_metric: expected a Metric, a metric name or a function, received "
        f"{type(spec).__name__}"
    )
