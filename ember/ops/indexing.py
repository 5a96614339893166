"""Indexing ops: getitem/setitem (basic and advanced), gather, scatter, index_select, masks.

Every op here is one of two differentiable primitives, each the other's gradient:

- ``Index``: ``y = x[basic][advanced]``, read the indexed places;
- ``IndexPut``: ``y = x`` with ``y[basic][advanced] = v`` (or ``+= v``), write them.

An index is split PyTorch's way: integers, slices, None and Ellipsis are applied first, as
a NumPy view (``basic``), then the integer and boolean index arrays on that view
(``advanced``). This differs from NumPy's own rules, in which an integer beside an index
array takes part in the advanced indexing: for ``x`` of shape (3, 4, 5), ``x[0, :, [1, 2]]``
has shape (4, 2) in PyTorch (and ember) but (2, 4) in NumPy.
"""

from __future__ import annotations

import operator

import numpy as np

from ember import backend
from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.errors import EmberIndexError
from ember.ops._util import check_tensor, is_number, tensor_method
from ember.tensor import Tensor, _wrap_dim

__all__ = [
    "diagonal_scatter", "gather", "index_add", "index_copy", "index_fill", "index_put",
    "index_select", "masked_fill", "masked_scatter", "masked_select", "scatter", "scatter_add",
    "select", "select_scatter", "slice_scatter", "take", "unbind",
]  # fmt: skip

_INDEX_KINDS = ("int64", "int32")


# ---------------------------------------------------------------- the two primitives
def _adv_key(adv_dims, arrays) -> tuple:
    """The NumPy key that applies ``arrays`` at dims ``adv_dims`` (a full slice elsewhere)."""
    key = [slice(None)] * (adv_dims[-1] + 1)
    for d, a in zip(adv_dims, arrays):
        key[d] = a
    return tuple(key)


def _indexed(arr, basic, adv_dims, arrays):
    # The trailing Ellipsis keeps a 0-d result an array (a view), not a NumPy scalar.
    view = arr[basic + (Ellipsis,)]
    return view, (_adv_key(adv_dims, arrays) if arrays else Ellipsis)


class Index(Function):
    """y = x[basic][advanced]. ``accumulate`` says whether the advanced indices may repeat,
    so that the gradient must add (rather than write) into the repeated places."""

    @staticmethod
    def forward(ctx, x, basic, adv_dims, accumulate, *arrays):
        ctx.shape, ctx.basic, ctx.adv_dims, ctx.accumulate = x.shape, basic, adv_dims, accumulate
        ctx.save_for_backward(*arrays)
        view, key = _indexed(x, basic, adv_dims, arrays)
        return view[key]

    @staticmethod
    def backward(ctx, gy):
        idx = ctx.saved_tensors
        gx = IndexBackward.apply(gy, ctx.shape, ctx.basic, ctx.adv_dims, ctx.accumulate, *idx)
        return (gx, None, None, None) + (None,) * len(idx)


class IndexBackward(Function):
    """The gradient of Index: ``gy`` placed into zeros of the input's shape."""

    @staticmethod
    def forward(ctx, gy, shape, basic, adv_dims, accumulate, *arrays):
        ctx.basic, ctx.adv_dims, ctx.accumulate = basic, adv_dims, accumulate
        ctx.save_for_backward(*arrays)
        xp = get_array_module(gy)
        gx = xp.zeros(shape, gy.dtype)
        view, key = _indexed(gx, basic, adv_dims, arrays)
        if accumulate and arrays:
            xp.add.at(view, key, gy)  # a repeated index collects the gradient of each use
        else:
            view[key] = gy
        return gx

    @staticmethod
    def backward(ctx, ggx):
        idx = ctx.saved_tensors
        gg = Index.apply(ggx, ctx.basic, ctx.adv_dims, ctx.accumulate, *idx)
        return (gg, None, None, None, None) + (None,) * len(idx)


class IndexPut(Function):
    """y = x with y[basic][advanced] = v (``+= v`` with ``accumulate``). ``inplace`` writes
    into x itself (setitem, through Tensor._inplace) instead of a copy."""

    @staticmethod
    def forward(ctx, x, v, basic, adv_dims, accumulate, inplace, *arrays):
        ctx.basic, ctx.adv_dims, ctx.accumulate = basic, adv_dims, accumulate
        ctx.v_ndim = getattr(v, "ndim", 0)
        ctx.save_for_backward(*arrays)
        xp = get_array_module(x)
        y = x if inplace else x.copy()
        view, key = _indexed(y, basic, adv_dims, arrays)
        if accumulate:
            if arrays:
                xp.add.at(view, key, v)
            else:
                view[key] += v
        else:
            view[key] = v
        return y

    @staticmethod
    def backward(ctx, gy):
        idx = ctx.saved_tensors
        basic, adv_dims = ctx.basic, ctx.adv_dims
        gx = gv = None
        if ctx.needs_input_grad[0]:
            if ctx.accumulate:
                gx = gy
            else:  # the overwritten places did not reach the output
                gx = IndexPut.apply(gy, 0, basic, adv_dims, False, False, *idx)
        if ctx.needs_input_grad[1]:
            gv = Index.apply(gy, basic, adv_dims, True, *idx)
            if gv.ndim < ctx.v_ndim:  # the value had extra leading 1s
                gv = gv.reshape((1,) * (ctx.v_ndim - gv.ndim) + tuple(gv.shape))
        return (gx, gv, None, None, None, None) + (None,) * len(idx)


class MaskedFill(Function):
    """y = where(mask, value, x); with ``invert``, where(mask, x, value)."""

    @staticmethod
    def forward(ctx, x, mask, value, invert):
        ctx.invert = invert
        ctx.save_for_backward(mask)
        xp = get_array_module(x)
        value = xp.asarray(value, dtype=x.dtype)
        return xp.where(mask, x, value) if invert else xp.where(mask, value, x)

    @staticmethod
    def backward(ctx, gy):
        (mask,) = ctx.saved_tensors
        gx = gv = None
        if ctx.needs_input_grad[0]:  # zero where the value was written
            gx = MaskedFill.apply(gy, mask, 0, ctx.invert)
        if ctx.needs_input_grad[2]:  # zero where x was kept
            gv = MaskedFill.apply(gy, mask, 0, not ctx.invert)
        return gx, None, gv, None


class ScatterMultiply(Function):
    """scatter with reduce='multiply'; like PyTorch, it has no gradient."""

    @staticmethod
    def forward(ctx, x, src, adv_dims, *arrays):
        y = x.copy()
        get_array_module(x).multiply.at(y, _adv_key(adv_dims, arrays), src)
        return y

    @staticmethod
    def backward(ctx, gy):
        raise RuntimeError(
            "scatter: the derivative of scatter with reduce='multiply' is not implemented"
        )


# ---------------------------------------------------------------- reading an index
def _index_array(item, x: Tensor, op: str):
    """An index given as a Tensor, NumPy array or (nested) list, as an array on x's device."""
    if isinstance(item, Tensor):
        arr = item._data
    elif backend.is_array(item):
        arr = item
    else:
        try:
            arr = np.asarray(item)
        except ValueError:
            arr = None
        if arr is None or arr.dtype == object:
            raise TypeError(
                f"{op}: a list index must hold only ints or only bools, received {item!r}"
            )
        if arr.size == 0 and arr.dtype.kind == "f":  # [] is an empty integer index
            arr = arr.astype(np.int64)
        elif arr.dtype.kind in "iu":
            arr = arr.astype(np.int64, copy=False)
    if arr.dtype.kind != "b" and arr.dtype.name not in _INDEX_KINDS:
        raise EmberIndexError(
            f"{op}: tensors used as indices must be int64, int32 or bool, received {arr.dtype}"
        )
    return backend.to_device(arr, x.device)


def _check_range(arr, size: int, dim: int, op: str, negative: bool = True) -> None:
    """Raise EmberIndexError naming the first index outside [-size, size) ([0, size) when
    negative indices are not allowed)."""
    if arr.size == 0:
        return
    lo, hi = int(arr.min()), int(arr.max())
    low = -size if negative else 0
    if lo < low or hi >= size:
        bad = lo if lo < low else hi
        raise EmberIndexError(
            f"{op}: index {bad} is out of bounds for dimension {dim} with size {size}"
        )


def _classify(item, x, op):
    """One index item as (kind, value): none, ellipsis, int, slice, bool, array or mask."""
    if item is None:
        return "none", None
    if item is Ellipsis:
        return "ellipsis", None
    if isinstance(item, (bool, np.bool_)):
        return "bool", bool(item)
    if isinstance(item, (int, np.integer)):
        return "int", int(item)
    if isinstance(item, slice):
        return "slice", _check_slice(item, op)
    if isinstance(item, (Tensor, list, tuple)) or backend.is_array(item):
        arr = _index_array(item, x, op)
        if arr.ndim == 0:  # a 0-d index acts as a Python int or bool, as in PyTorch
            return ("bool", bool(arr)) if arr.dtype.kind == "b" else ("int", int(arr))
        return ("mask" if arr.dtype.kind == "b" else "array"), arr
    raise EmberIndexError(
        f"{op}: only ints, slices, None, Ellipsis and int64/int32/bool tensors are valid "
        f"indices, received {type(item).__name__}"
    )


def _check_slice(s: slice, op: str) -> slice:
    try:
        start, stop, step = (
            None if v is None else operator.index(v) for v in (s.start, s.stop, s.step)
        )
    except TypeError:
        raise TypeError(f"{op}: slice bounds must be ints or None, received {s!r}") from None
    if step is not None and step <= 0:
        raise ValueError(
            f"{op}: slice step must be greater than zero, received {step}; "
            "to reverse a dimension use ember.flip"
        )
    return slice(start, stop, step)


def _is_sequence_item(k) -> bool:
    return (
        isinstance(k, (Tensor, list, tuple, slice)) or k is None or k is Ellipsis
        or backend.is_array(k)
    )  # fmt: skip


def _parse_key(x: Tensor, key, op: str = "getitem"):
    """Split ``key`` into (basic, adv_dims, arrays, accumulate): ``basic`` a tuple of ints,
    slices and None with one entry per dim of x (Ellipsis expanded); ``arrays`` the
    advanced index arrays, applied at dims ``adv_dims`` of ``x[basic]``; ``accumulate``
    False when these cannot repeat a place (they come from one boolean mask)."""
    if isinstance(key, list) and len(key) < 32 and any(_is_sequence_item(k) for k in key):
        key = tuple(key)  # PyTorch's (deprecated) rule: such a list is a tuple of indices
    items = key if isinstance(key, tuple) else (key,)
    parsed = [_classify(item, x, op) for item in items]
    used = sum(
        1 if k in ("int", "slice", "array") else v.ndim if k == "mask" else 0 for k, v in parsed
    )
    n_ellipsis = sum(k == "ellipsis" for k, _ in parsed)
    if n_ellipsis > 1:
        raise EmberIndexError(f"{op}: an index can only have a single ellipsis ('...')")
    shape = x.shape
    if used > len(shape):
        raise EmberIndexError(
            f"{op}: too many indices for a tensor of dimension {len(shape)} "
            f"(received {used} indices for shape {tuple(shape)})"
        )
    xp = get_array_module(x._data)
    basic, adv_dims, arrays = [], [], []
    n_masks = n_int_arrays = 0
    d = r = 0  # the dim of x, and the dim of x[basic], that the next item applies to
    for kind, v in parsed:
        if kind == "none":
            basic.append(None)
            r += 1
        elif kind == "ellipsis":
            k = len(shape) - used
            basic += [slice(None)] * k
            d, r = d + k, r + k
        elif kind == "int":
            if not -shape[d] <= v < shape[d]:
                raise EmberIndexError(
                    f"{op}: index {v} is out of bounds for dimension {d} with size {shape[d]}"
                )
            basic.append(v)
            d += 1
        elif kind == "slice":
            basic.append(v)
            d, r = d + 1, r + 1
        elif kind == "bool":  # a new dim of size 1, kept (True) or emptied (False)
            basic.append(None)
            adv_dims.append(r)
            arrays.append(xp.zeros(1 if v else 0, dtype=np.int64))
            n_masks += 1
            r += 1
        elif kind == "array":
            _check_range(v, shape[d], d, op)
            basic.append(slice(None))
            adv_dims.append(r)
            arrays.append(v)
            n_int_arrays += 1
            d, r = d + 1, r + 1
        else:  # a boolean mask stands for the indices of its True entries
            k = v.ndim
            if tuple(v.shape) != tuple(shape[d : d + k]):
                raise EmberIndexError(
                    f"{op}: the shape of the mask {tuple(v.shape)} does not match the shape "
                    f"{tuple(shape[d : d + k])} of dims {d}..{d + k - 1} of the indexed tensor "
                    f"of shape {tuple(shape)}"
                )
            basic += [slice(None)] * k
            adv_dims += range(r, r + k)
            arrays += v.nonzero()
            n_masks += 1
            d, r = d + k, r + k
    if len(arrays) > 1:
        try:
            np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise EmberIndexError(
                f"{op}: shape mismatch: the index arrays could not be broadcast together "
                f"with shapes {shapes}"
            ) from None
    accumulate = n_int_arrays > 0 or n_masks > 1
    return tuple(basic), tuple(adv_dims), arrays, accumulate


def _result_shape(shape, basic, adv_dims, arrays) -> tuple:
    """The shape of ``x[basic][advanced]`` for ``x`` of ``shape``, without indexing."""
    out, d = [], 0
    for b in basic:
        if b is None:
            out.append(1)
        elif isinstance(b, int):
            d += 1
        else:
            out.append(len(range(*b.indices(shape[d]))))
            d += 1
    out += shape[d:]
    if not arrays:
        return tuple(out)
    bshape = list(np.broadcast_shapes(*(a.shape for a in arrays)))
    first, last = adv_dims[0], adv_dims[-1]
    if last - first + 1 == len(adv_dims):  # adjacent: the result dims take their place
        return tuple(out[:first] + bshape + out[last + 1 :])
    return tuple(bshape + [n for i, n in enumerate(out) if i not in adv_dims])


def _wrap(arrays):
    return tuple(Tensor._make(a) for a in arrays)


# ---------------------------------------------------------------- getitem / setitem
def _getitem(self: Tensor, key) -> Tensor:
    """``x[key]``: ints, slices (positive steps), None, Ellipsis, and integer or boolean index
    tensors, lists or arrays, with PyTorch's semantics. Basic indexing returns a view."""
    basic, adv_dims, arrays, accumulate = _parse_key(self, key, "getitem")
    return Index.apply(self, basic, adv_dims, accumulate, *_wrap(arrays))


def _setitem(self: Tensor, key, value) -> None:
    """``x[key] = value``, in place: value is a number or a tensor that broadcasts to the shape
    of ``x[key]``. Under autograd, gradients flow to both x (zero at the overwritten places)
    and value."""
    if not getattr(self._data.flags, "writeable", True):
        raise RuntimeError(
            "setitem: the tensor is an expanded view in which several elements share one "
            "memory location, so it cannot be written to; .clone() it first"
        )
    basic, adv_dims, arrays, _ = _parse_key(self, key, "setitem")
    value = _put_value(self, value, _result_shape(self.shape, basic, adv_dims, arrays), "setitem")
    idx = _wrap(arrays)

    def put(x, v):
        return IndexPut.apply(x, v, basic, adv_dims, False, True, *idx)

    self._inplace("setitem", put, value)


def _put_value(x: Tensor, value, shape, op: str):
    """Check that ``value`` (a number or a tensor) can be written into places of ``shape``
    of ``x``, and cast a tensor to x's dtype."""
    if isinstance(value, Tensor):
        vshape = tuple(value.shape)
        lead = len(vshape) - len(shape)
        ok = lead <= 0 or all(n == 1 for n in vshape[:lead])
        core = vshape[max(lead, 0) :]
        ok = ok and all(a in (1, b) for a, b in zip(core[::-1], shape[::-1]))
        if not ok:
            raise RuntimeError(
                f"{op}: shape mismatch: a value of shape {vshape} cannot be broadcast to the "
                f"indexed shape {tuple(shape)}"
            )
        return value.to(x.dtype) if value.dtype is not x.dtype else value
    if is_number(value):
        return value
    raise TypeError(
        f"{op}: expected a Tensor or a Python number as the value, received {type(value).__name__}"
    )


Tensor.__getitem__ = _getitem
Tensor.__setitem__ = _setitem


@tensor_method
def select(input, dim: int, index: int) -> Tensor:
    """The slice of ``input`` at ``index`` along ``dim``, with that dim removed (a view).

    Example: ``ember.select(x, 1, 0)`` is ``x[:, 0]``.
    """
    check_tensor(input, "select")
    if input.ndim == 0:
        raise EmberIndexError("select: cannot select on a 0-d tensor")
    d = _wrap_dim(dim, input.ndim, "select")
    index = operator.index(index)
    n = input.shape[d]
    if not -n <= index < n:
        raise EmberIndexError(
            f"select: index {index} is out of range for dimension {d} of size {n} "
            f"(tensor of shape {tuple(input.shape)})"
        )
    return Index.apply(input, (slice(None),) * d + (index,), (), False)


@tensor_method
def unbind(input, dim: int = 0) -> tuple:
    """The slices of ``input`` along ``dim``, as a tuple of views without that dim."""
    check_tensor(input, "unbind")
    if input.ndim == 0:
        raise EmberIndexError("unbind: cannot unbind a 0-d tensor")
    d = _wrap_dim(dim, input.ndim, "unbind")
    return tuple(
        Index.apply(input, (slice(None),) * d + (i,), (), False) for i in range(input.shape[d])
    )


# ---------------------------------------------------------------- gather / scatter
def _int_index(index, op: str, arg: str = "index") -> Tensor:
    if not isinstance(index, Tensor):
        raise TypeError(f"{op}: expected {arg} to be a Tensor, received {type(index).__name__}")
    if index.dtype.name not in _INDEX_KINDS:
        raise RuntimeError(f"{op}: expected {arg} of dtype int64 or int32, received {index.dtype}")
    return index


def _along(index: Tensor, dim: int) -> tuple:
    """Index arrays that pick, at each position of ``index``, the entry it names along
    ``dim`` (and its own position along the other dims): NumPy's take_along_axis."""
    xp = get_array_module(index._data)
    n = index.ndim
    arrays = []
    for d in range(n):
        if d == dim:
            arrays.append(index._data)
        else:
            shape = [1] * n
            shape[d] = index.shape[d]
            arrays.append(xp.arange(index.shape[d]).reshape(shape))
    return _wrap(arrays)


def _check_along(input, dim, index, op, src=None) -> int:
    """Validate gather/scatter arguments; return dim wrapped."""
    check_tensor(input, op)
    _int_index(index, op)
    nd = max(input.ndim, 1)
    if max(index.ndim, 1) != nd:
        raise RuntimeError(
            f"{op}: index must have as many dimensions as the input: received an index of "
            f"shape {tuple(index.shape)} for an input of shape {tuple(input.shape)}"
        )
    d = _wrap_dim(dim, input.ndim, op)
    ishape, xshape = tuple(index.shape) or (1,), tuple(input.shape) or (1,)
    for k in range(nd):
        if k != d and ishape[k] > xshape[k]:
            raise RuntimeError(
                f"{op}: index of shape {tuple(index.shape)} must be no larger than the input "
                f"of shape {tuple(input.shape)} in every dim except dim {d}"
            )
    if src is not None:
        sshape = tuple(src.shape) or (1,)
        if len(sshape) != nd or any(i > s for i, s in zip(ishape, sshape)):
            raise RuntimeError(
                f"{op}: index of shape {tuple(index.shape)} must be no larger than src of "
                f"shape {tuple(src.shape)}"
            )
    _check_range(index._data, xshape[d], d, op, negative=False)
    return d


def _as_1d(t: Tensor) -> Tensor:
    return t.reshape(1) if t.ndim == 0 else t


@tensor_method
def gather(input, dim: int, index, *, sparse_grad: bool = False) -> Tensor:
    """Pick values along ``dim``: ``y[i][j] = input[index[i][j]][j]`` for dim=0.

    ``index`` (int64 or int32) has as many dims as ``input`` and no larger size in the other
    dims; the output has index's shape. Example::

        ember.gather(x, 1, ember.tensor([[0], [2]]))  # one entry per row of x (2, 3)
    """
    d = _check_along(input, dim, index, "gather")
    x, idx = _as_1d(input), _as_1d(index)
    y = Index.apply(x, (), tuple(range(x.ndim)), True, *_along(idx, d))
    return y.reshape(()) if index.ndim == 0 else y


def _scatter_src(src, index, op):
    """src cut down to index's shape (the part of it that scatter uses)."""
    if tuple(src.shape) != tuple(index.shape):
        src = src[tuple(slice(0, n) for n in index.shape)]
    return src


@tensor_method
def scatter(input, dim: int, index, src=None, *, value=None, reduce: str | None = None) -> Tensor:
    """A copy of ``input`` with values of ``src`` (or the number ``value``) written at the
    places named by ``index`` along ``dim``: ``y[index[i][j]][j] = src[i][j]`` for dim=0.

    ``reduce`` ('add' or 'multiply') combines instead of overwriting. The gradient of
    ``input`` is zero at the written places; ``src`` gets the gradient gathered from them.
    With repeated indices the result (as in PyTorch) is undefined.
    """
    if src is None and value is None:
        raise TypeError("scatter: expected src (a Tensor) or value (a number)")
    if is_number(src):
        src, value = None, src
    if src is not None and not isinstance(src, Tensor):
        raise TypeError(f"scatter: expected src to be a Tensor, received {type(src).__name__}")
    d = _check_along(input, dim, index, "scatter", src)
    if reduce not in (None, "add", "multiply"):
        raise ValueError(f"scatter: reduce must be 'add' or 'multiply', received {reduce!r}")
    if src is not None:
        if src.dtype is not input.dtype:
            raise RuntimeError(
                f"scatter: expected src of the input's dtype {input.dtype}, received {src.dtype}"
            )
        src = _as_1d(_scatter_src(src, index, "scatter"))
    x, idx = _as_1d(input), _as_1d(index)
    v = src if src is not None else value
    dims, arrays = tuple(range(x.ndim)), _along(idx, d)
    if reduce == "multiply":
        y = ScatterMultiply.apply(x, v, dims, *arrays)
    else:
        y = IndexPut.apply(x, v, (), dims, reduce == "add", False, *arrays)
    return y.reshape(()) if input.ndim == 0 else y


@tensor_method
def scatter_add(input, dim: int, index, src) -> Tensor:
    """A copy of ``input`` with ``src`` added at the places named by ``index`` along ``dim``
    (repeated places add up): ``y[index[i][j]][j] += src[i][j]`` for dim=0."""
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: expected src to be a Tensor, received {type(src).__name__}")
    d = _check_along(input, dim, index, "scatter_add", src)
    if src.dtype is not input.dtype:
        raise RuntimeError(
            f"scatter_add: expected src of the input's dtype {input.dtype}, received {src.dtype}"
        )
    src = _as_1d(_scatter_src(src, index, "scatter_add"))
    x, idx = _as_1d(input), _as_1d(index)
    y = IndexPut.apply(x, src, (), tuple(range(x.ndim)), True, False, *_along(idx, d))
    return y.reshape(()) if input.ndim == 0 else y


def _vector_index(input, dim, index, op, negative):
    check_tensor(input, op)
    _int_index(index, op)
    if index.ndim > 1:
        raise EmberIndexError(
            f"{op}: index must be a vector or a scalar, received shape {tuple(index.shape)}"
        )
    d = _wrap_dim(dim, input.ndim, op)
    _check_range(index._data, (input.shape or (1,))[d], d, op, negative)
    return d


@tensor_method
def index_select(input, dim: int, index) -> Tensor:
    """The entries of ``input`` at positions ``index`` (a 1-D int64/int32 tensor) along ``dim``.

    Example: ``ember.index_select(x, 0, ember.tensor([2, 0]))`` is ``x[[2, 0]]``.
    """
    d = _vector_index(input, dim, index, "index_select", negative=False)
    if input.ndim == 0:
        return Index.apply(input.reshape(1), (), (0,), True, index.reshape(-1)).reshape(())
    return Index.apply(input, (), (d,), True, _as_1d(index))


def _fill_value(input, value, op):
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise RuntimeError(
                f"{op}: only a 0-dimensional value tensor is supported, received shape "
                f"{tuple(value.shape)}"
            )
        return value.to(input.dtype) if value.dtype is not input.dtype else value
    if not is_number(value):
        raise TypeError(
            f"{op}: expected value to be a number or a 0-d Tensor, received {type(value).__name__}"
        )
    return value


@tensor_method
def index_fill(input, dim: int, index, value) -> Tensor:
    """A copy of ``input`` with ``value`` (a number or 0-d tensor) at positions ``index`` along
    ``dim``."""
    d = _vector_index(input, dim, index, "index_fill", negative=True)
    value = _fill_value(input, value, "index_fill")
    if input.ndim == 0:
        return IndexPut.apply(input, value, (), (), False, False)  # every entry is index 0
    # Each place is filled once, however often the index names it, so it gives the value's
    # gradient once: drop repeats (after wrapping negative indices).
    xp = get_array_module(index._data)
    idx = xp.unique(index._data.reshape(-1) % input.shape[d]) if index.numel() else index._data
    return IndexPut.apply(input, value, (), (d,), False, False, Tensor._make(idx.reshape(-1)))


@tensor_method
def index_put(input, indices, values, accumulate: bool = False) -> Tensor:
    """A copy of ``input`` with ``values`` written (or, with ``accumulate``, added) at
    ``input[indices]``, for a tuple of index tensors."""
    check_tensor(input, "index_put")
    if not isinstance(indices, (tuple, list)) or not all(isinstance(i, Tensor) for i in indices):
        raise TypeError("index_put: expected indices to be a tuple of Tensors")
    basic, adv_dims, arrays, _ = _parse_key(input, tuple(indices), "index_put")
    values = _put_value(
        input, values, _result_shape(input.shape, basic, adv_dims, arrays), "index_put"
    )
    return IndexPut.apply(input, values, basic, adv_dims, bool(accumulate), False, *_wrap(arrays))


@tensor_method
def take(input, index) -> Tensor:
    """The entries of ``input`` seen as 1-D at ``index``; the result has index's shape."""
    check_tensor(input, "take")
    _int_index(index, "take")
    n = input.numel()
    if index._data.size and (int(index._data.min()) < -n or int(index._data.max()) >= n):
        bad = int(index._data.min()) if int(index._data.min()) < -n else int(index._data.max())
        raise EmberIndexError(f"take: index {bad} is out of range for a tensor of {n} elements")
    return Index.apply(input.reshape(-1), (), (0,), True, index)


def _index_source(input, dim, index, source, op, int64_only=False):
    """Validate index_add/index_copy arguments: return (input, dim, index, source), with a
    0-d input, index or source made 1-D."""
    d = _vector_index(input, dim, index, op, negative=False)
    if int64_only and index.dtype.name != "int64":
        raise RuntimeError(f"{op}: expected index of dtype int64, received {index.dtype}")
    if not isinstance(source, Tensor):
        raise TypeError(f"{op}: expected source to be a Tensor, received {type(source).__name__}")
    if source.dtype is not input.dtype:
        raise RuntimeError(
            f"{op}: expected source of the input's dtype {input.dtype}, received {source.dtype}"
        )
    n = index.numel()
    if input.ndim == 0:
        if n != 1 or source.ndim > 1 or source.numel() != 1:
            raise RuntimeError(
                f"{op}: a 0-d input takes one index and a one-element source, received "
                f"{n} index(es) and a source of shape {tuple(source.shape)}"
            )
        return input.reshape(1), 0, index.reshape(1), source.reshape(1)
    expected = tuple(input.shape[:d]) + (n,) + tuple(input.shape[d + 1 :])
    if tuple(source.shape) != expected and not (source.ndim == 0 and expected == (1,)):
        raise RuntimeError(
            f"{op}: expected source of shape {expected} (the input's shape "
            f"{tuple(input.shape)} with dim {d} of the index's length {n}), received "
            f"{tuple(source.shape)}"
        )
    return input, d, _as_1d(index), source.reshape(expected)


@tensor_method
def index_add(input, dim: int, index, source, *, alpha=1) -> Tensor:
    """A copy of ``input`` with ``alpha * source`` added at positions ``index`` along ``dim``;
    a repeated index adds each of its slices.

    ``source`` has the input's shape, but ``len(index)`` in dim ``dim``. Example::

        ember.zeros(3, 2).index_add(0, ember.tensor([0, 2, 0]), ember.ones(3, 2))
        # rows [2, 2], [0, 0], [1, 1]
    """
    check_tensor(input, "index_add")
    x, d, idx, src = _index_source(input, dim, index, source, "index_add")
    if not is_number(alpha) or isinstance(alpha, complex):
        raise TypeError(f"index_add: alpha must be a real number, received {alpha!r}")
    if not input.dtype.is_floating_point and input.dtype.name != "bool":
        alpha = int(alpha)  # PyTorch truncates alpha for integer tensors
    if alpha != 1:
        src = (src * alpha).to(input.dtype)  # a bool source would promote
    y = IndexPut.apply(x, src, (), (d,), True, False, idx)
    return y.reshape(()) if input.ndim == 0 else y


@tensor_method
def index_copy(input, dim: int, index, source) -> Tensor:
    """A copy of ``input`` with the slices of ``source`` written at positions ``index`` (int64)
    along ``dim``: ``y[index[i]] = source[i]`` for dim=0. With repeated indices the result,
    as in PyTorch, is undefined."""
    check_tensor(input, "index_copy")
    x, d, idx, src = _index_source(input, dim, index, source, "index_copy", int64_only=True)
    y = IndexPut.apply(x, src, (), (d,), False, False, idx)
    return y.reshape(()) if input.ndim == 0 else y


def _src(src, input, op):
    if not isinstance(src, Tensor):
        raise TypeError(f"{op}: expected src to be a Tensor, received {type(src).__name__}")
    return src.to(input.dtype) if src.dtype is not input.dtype else src


def _check_src_shape(src, expected, op):
    if tuple(src.shape) != tuple(expected):
        raise RuntimeError(
            f"{op}: expected src of the shape of the slice it replaces, {tuple(expected)}, "
            f"received {tuple(src.shape)}"
        )


@tensor_method
def slice_scatter(input, src, dim: int = 0, start=None, end=None, step: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``input[..., start:end:step, ...]`` (the
    slice along ``dim``); ``src`` has the slice's shape and is cast to input's dtype.

    Example: ``ember.zeros(2, 4).slice_scatter(ember.ones(2, 2), 1, 0, 4, 2)``
    """
    check_tensor(input, "slice_scatter")
    src = _src(src, input, "slice_scatter")
    if input.ndim == 0:
        raise EmberIndexError("slice_scatter: cannot slice a 0-d tensor")
    d = _wrap_dim(dim, input.ndim, "slice_scatter")
    step = operator.index(step)
    if step <= 0:
        raise ValueError(f"slice_scatter: slice step must be positive, received {step}")
    key = _check_slice(slice(start, end, step), "slice_scatter")
    basic = (slice(None),) * d + (key,)
    _check_src_shape(src, _result_shape(input.shape, basic, (), ()), "slice_scatter")
    return IndexPut.apply(input, src, basic, (), False, False)


@tensor_method
def select_scatter(input, src, dim: int, index: int) -> Tensor:
    """A copy of ``input`` with ``src`` written into ``input.select(dim, index)``; ``src`` has
    the input's shape without ``dim``. Example: ``x.select_scatter(ember.ones(4), 0, 1)``
    sets row 1 of a (3, 4) ``x``."""
    check_tensor(input, "select_scatter")
    src = _src(src, input, "select_scatter")
    if input.ndim == 0:
        raise EmberIndexError("select_scatter: cannot select on a 0-d tensor")
    d = _wrap_dim(dim, input.ndim, "select_scatter")
    index, n = operator.index(index), input.shape[d]
    if not -n <= index < n:
        raise EmberIndexError(
            f"select_scatter: index {index} is out of range for dimension {d} of size {n} "
            f"(tensor of shape {tuple(input.shape)})"
        )
    basic = (slice(None),) * d + (index,)
    _check_src_shape(src, _result_shape(input.shape, basic, (), ()), "select_scatter")
    return IndexPut.apply(input, src, basic, (), False, False)


@tensor_method
def diagonal_scatter(input, src, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """A copy of ``input`` with ``src`` written onto its diagonal in dims ``dim1`` and ``dim2``
    (above the main one for ``offset > 0``, below for ``offset < 0``). ``src`` has the shape of
    that diagonal: the other dims of input, then the diagonal's length.

    Example: ``ember.zeros(3, 3).diagonal_scatter(ember.ones(2), 1)``
    """
    check_tensor(input, "diagonal_scatter")
    src = _src(src, input, "diagonal_scatter")
    if input.ndim < 2:
        raise EmberIndexError(
            f"diagonal_scatter: expected a tensor of at least 2 dimensions, received shape "
            f"{tuple(input.shape)}"
        )
    d1 = _wrap_dim(dim1, input.ndim, "diagonal_scatter")
    d2 = _wrap_dim(dim2, input.ndim, "diagonal_scatter")
    if d1 == d2:
        raise ValueError(f"diagonal_scatter: dim1 and dim2 must differ, both are {d1}")
    offset, shape = operator.index(offset), input.shape
    n = max(0, min(shape[d1] + min(offset, 0), shape[d2] - max(offset, 0)))
    rest = tuple(s for k, s in enumerate(shape) if k not in (d1, d2))
    _check_src_shape(src, rest + (n,), "diagonal_scatter")
    xp = get_array_module(input._data)
    at = {d1: xp.arange(n) + max(-offset, 0), d2: xp.arange(n) + max(offset, 0)}
    adv_dims = tuple(sorted(at))
    # NumPy puts the diagonal's dim where the two were when they are adjacent, else first
    src = src.movedim(-1, min(d1, d2) if abs(d1 - d2) == 1 else 0)
    return IndexPut.apply(input, src, (), adv_dims, False, False, *_wrap(at[k] for k in adv_dims))


# ---------------------------------------------------------------- masks
def _check_mask(mask, op):
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: expected mask to be a Tensor, received {type(mask).__name__}")
    if mask.dtype.name != "bool":
        raise RuntimeError(f"{op}: expected a mask of dtype bool, received {mask.dtype}")


def _broadcast_shape(a, b, op):
    try:
        return tuple(np.broadcast_shapes(tuple(a.shape), tuple(b.shape)))
    except ValueError:
        raise RuntimeError(
            f"{op}: the mask of shape {tuple(b.shape)} does not broadcast with the input of "
            f"shape {tuple(a.shape)}"
        ) from None


@tensor_method
def masked_fill(input, mask, value) -> Tensor:
    """A copy of ``input`` with ``value`` (a number or a 0-d tensor) where ``mask`` (bool,
    broadcast with input) is True.

    Example: ``scores.masked_fill(~allowed, float("-inf"))``
    """
    check_tensor(input, "masked_fill")
    _check_mask(mask, "masked_fill")
    _broadcast_shape(input, mask, "masked_fill")
    value = _fill_value(input, value, "masked_fill")
    return MaskedFill.apply(input, mask, value, False)


@tensor_method
def masked_select(input, mask) -> Tensor:
    """The entries of ``input`` where ``mask`` (bool, broadcast with input) is True, as 1-D."""
    check_tensor(input, "masked_select")
    _check_mask(mask, "masked_select")
    shape = _broadcast_shape(input, mask, "masked_select")
    return input.expand(shape)[mask.expand(shape)]


@tensor_method
def masked_scatter(input, mask, source) -> Tensor:
    """A copy of ``input`` with the first elements of ``source`` (in row-major order) written
    where ``mask`` (bool, broadcast with input) is True; ``source`` needs at least as many
    elements as the mask has True entries.

    Example: ``ember.zeros(2, 2).masked_scatter(ember.tensor([True, False]), ember.ones(4))``
    """
    check_tensor(input, "masked_scatter")
    _check_mask(mask, "masked_scatter")
    if not isinstance(source, Tensor):
        raise TypeError(
            f"masked_scatter: expected source to be a Tensor, received {type(source).__name__}"
        )
    if source.dtype is not input.dtype:
        raise RuntimeError(
            f"masked_scatter: expected source of the input's dtype {input.dtype}, received "
            f"{source.dtype}"
        )
    shape = _broadcast_shape(input, mask, "masked_scatter")
    xp = get_array_module(input._data)
    idx = xp.flatnonzero(xp.broadcast_to(mask._data, shape))
    k = int(idx.size)
    if source.numel() < k:
        raise RuntimeError(
            f"masked_scatter: source has {source.numel()} elements, fewer than the {k} True "
            "entries of the mask"
        )
    x = (input.expand(shape) if tuple(input.shape) != shape else input).reshape(-1)
    y = IndexPut.apply(x, source.reshape(-1)[:k], (), (0,), False, False, Tensor._make(idx))
    return y.reshape(shape)


# ---------------------------------------------------------------- in place
def _inplace_method(name, fn):
    def method(self, *args, **kwargs):
        return self._inplace(name, fn, *args, **kwargs)

    method.__name__ = name
    method.__doc__ = f"In-place form of ``{fn.__name__}``."
    return method


Tensor.scatter_ = _inplace_method("scatter_", scatter)
Tensor.scatter_add_ = _inplace_method("scatter_add_", scatter_add)
Tensor.index_fill_ = _inplace_method("index_fill_", index_fill)
Tensor.index_put_ = _inplace_method("index_put_", index_put)
Tensor.masked_fill_ = _inplace_method("masked_fill_", masked_fill)
Tensor.index_add_ = _inplace_method("index_add_", index_add)
Tensor.index_copy_ = _inplace_method("index_copy_", index_copy)
Tensor.masked_scatter_ = _inplace_method("masked_scatter_", masked_scatter)


def _fill_diagonal(input, fill_value, wrap):
    shape = input.shape
    if input.ndim < 2:
        raise RuntimeError(
            f"fill_diagonal_: expected a tensor of at least 2 dimensions, received shape "
            f"{tuple(shape)}"
        )
    if input.ndim > 2 and len(set(shape)) != 1:
        raise RuntimeError(
            f"fill_diagonal_: a tensor of more than 2 dimensions must have them all of equal "
            f"length, received shape {tuple(shape)}"
        )
    if isinstance(fill_value, Tensor) and fill_value.ndim == 0:
        fill_value = fill_value.item()
    if not is_number(fill_value):
        what = type(fill_value).__name__
        if isinstance(fill_value, Tensor):
            what = f"a Tensor of shape {tuple(fill_value.shape)}"
        raise TypeError(
            f"fill_diagonal_: expected fill_value to be a number or a 0-d Tensor, received {what}"
        )
    from ember.creation import _check_fits

    _check_fits(fill_value, input.dtype, "fill_diagonal_")
    if not input.dtype.is_floating_point:  # wraps negatives into unsigned types, as PyTorch
        fill_value = np.asarray(fill_value).astype(input.dtype.np)
    xp = get_array_module(input._data)
    if input.ndim == 2:
        rows, cols = shape
        # NumPy's fill_diagonal: every (cols + 1)-th element of the flat matrix; with wrap,
        # the diagonal starts again below a tall matrix's first square, after one row gap
        flat = xp.arange(0, (rows if wrap else min(rows, cols)) * cols, cols + 1)
        arrays = (flat // max(cols, 1), flat % max(cols, 1))
    else:
        arrays = (xp.arange(shape[0]),) * input.ndim
    return IndexPut.apply(
        input, fill_value, (), tuple(range(input.ndim)), False, False, *_wrap(arrays)
    )


def fill_diagonal_(self, fill_value, wrap: bool = False) -> Tensor:
    """Write ``fill_value`` on the main diagonal, in place: the entries whose indices are all
    equal (a tensor of more than 2 dims has them all of one length). ``wrap`` starts the
    diagonal again below a tall matrix's top square, after one row.

    Example: ``ember.zeros(3, 3).fill_diagonal_(1.0)`` is the identity.
    """
    return self._inplace("fill_diagonal_", _fill_diagonal, fill_value, bool(wrap))


Tensor.fill_diagonal_ = fill_diagonal_
