"""Collation: how a DataLoader turns a list of samples into one batch.

``default_collate`` follows PyTorch's type by type:

=========================  ===========================================================
sample element              batch
=========================  ===========================================================
Tensor                      ``ember.stack`` along a new first dim
NumPy array                 converted to a tensor (same dtype), then stacked
NumPy scalar                a 1-d tensor of its dtype
float                       a float64 tensor
int (and bool)              an int64 (bool) tensor
str, bytes                  the list, unchanged
dict                        a dict of the same keys, each collated
namedtuple                  the same namedtuple, each field collated
tuple, list                 a list (a list: the same type) of the collated positions
=========================  ===========================================================

``collate(batch, collate_fn_map=...)`` is the general walker; extend the defaults by
passing a map of type -> function, e.g. to pad sequences of different lengths.
"""

from __future__ import annotations

import collections.abc
import copy
from collections.abc import Callable

import numpy as np

from ember import dtypes
from ember.tensor import Tensor

__all__ = ["collate", "default_collate", "default_collate_fn_map", "default_convert"]

_ERR = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}"
)


def _is_str_array(a: np.ndarray) -> bool:
    # strings, bytes and Python objects have no tensor dtype
    return a.dtype.kind in "SaUO"


def _numpy_to_tensor(a) -> Tensor:
    from ember.creation import as_tensor

    return as_tensor(np.asarray(a))


def default_convert(data):
    """Convert the NumPy arrays inside ``data`` to tensors, leaving everything else as it is.

    The collate function of a DataLoader whose ``batch_size`` is None (no batching).
    Example: ``default_convert([np.array([0, 1]), 3])`` is ``[tensor([0, 1]), 3]``.
    """
    if isinstance(data, Tensor):
        return data
    if isinstance(data, (np.ndarray, np.generic)) and not isinstance(data, (np.str_, np.bytes_)):
        if isinstance(data, np.ndarray) and _is_str_array(data):
            return data
        return _numpy_to_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        return _rebuild_mapping(data, {key: default_convert(data[key]) for key in data})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # a list, as PyTorch
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        return _rebuild_sequence(data, [default_convert(d) for d in data])
    return data


def _rebuild_mapping(elem, values: dict):
    """A mapping of ``elem``'s type holding ``values`` (a plain dict if the type refuses)."""
    try:
        if isinstance(elem, collections.abc.MutableMapping):
            clone = copy.copy(elem)
            clone.update(values)
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def _rebuild_sequence(elem, values: list):
    try:
        if isinstance(elem, collections.abc.MutableSequence):
            clone = copy.copy(elem)
            for i, v in enumerate(values):
                clone[i] = v
            return clone
        return type(elem)(values)
    except TypeError:
        return values


def collate(batch, *, collate_fn_map: dict | None = None):
    """Collate ``batch``, a list of samples, walking into dicts, namedtuples and sequences;
    ``collate_fn_map`` maps an element type (or a tuple of types) to the function
    ``f(batch, *, collate_fn_map)`` that collates a list of such elements."""
    if not batch:
        raise ValueError("collate: received an empty batch")
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for kind, fn in collate_fn_map.items():
            if isinstance(elem, kind):
                return fn(batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        values = {
            key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map) for key in elem
        }
        return _rebuild_mapping(elem, values)
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):
        return elem_type(*(collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(e) != size for e in batch):
            sizes = sorted({len(e) for e in batch})
            raise RuntimeError(
                f"default_collate: each element in list of batch should be of equal size, "
                f"received sequences of sizes {sizes}"
            )
        columns = [collate(s, collate_fn_map=collate_fn_map) for s in zip(*batch)]
        if isinstance(elem, tuple):
            return columns  # a list, as PyTorch
        return _rebuild_sequence(elem, columns)
    raise TypeError(_ERR.format(elem_type))


def _collate_tensors(batch, *, collate_fn_map=None):
    from ember.ops.shape import stack

    shapes = {tuple(t.shape) for t in batch}
    if len(shapes) > 1:
        raise RuntimeError(
            f"default_collate: stack expects each tensor to be equal size, received shapes "
            f"{sorted(shapes)}; pad the samples or pass a collate_fn"
        )
    return stack(list(batch), 0)


def _collate_arrays(batch, *, collate_fn_map=None):
    if _is_str_array(batch[0]):
        raise TypeError(_ERR.format(batch[0].dtype))
    return collate([_numpy_to_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def _collate_numpy_scalars(batch, *, collate_fn_map=None):
    from ember.creation import as_tensor

    return as_tensor(list(batch))


def _collate_floats(batch, *, collate_fn_map=None):
    from ember.creation import tensor

    return tensor(list(batch), dtype=dtypes.float64)


def _collate_ints(batch, *, collate_fn_map=None):
    from ember.creation import tensor

    return tensor(list(batch))


def _collate_strings(batch, *, collate_fn_map=None):
    return batch


default_collate_fn_map: dict[type | tuple[type, ...], Callable] = {
    Tensor: _collate_tensors,
    np.ndarray: _collate_arrays,
    (np.bool_, np.number, np.object_): _collate_numpy_scalars,
    float: _collate_floats,
    int: _collate_ints,
    str: _collate_strings,
    bytes: _collate_strings,
}


def default_collate(batch):
    """Stack a list of samples into a batch (the DataLoader's default ``collate_fn``).

    Example::

        default_collate([(ember.ones(2), 0), (ember.zeros(2), 1)])
        # [tensor([[1., 1.], [0., 0.]]), tensor([0, 1])]
        default_collate([{"x": 1.5}, {"x": 2.0}])  # {'x': tensor([1.5, 2.], dtype=float64)}
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
