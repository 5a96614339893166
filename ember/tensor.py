"""The Tensor: an array of its device's backend, and its place in the autograd graph.

The ops (``x.exp()``, ``x + y``, ``x.sum(dim=1)`` …) are defined in ``ember.ops`` and
attached to Tensor there; this module holds what a tensor *is*.
"""

from __future__ import annotations

import importlib
import sys
import weakref

import numpy as np

from ember import backend, dtypes
from ember.autograd import grad_mode

# A tensor's version counter is a one-element list, [number of in-place changes], shared by
# the tensor and its views: every op's output makes one, and a list is the cheapest object
# to make (a third of an instance of a class of our own).


class _Handle:
    """Returned by register_hook; ``remove()`` takes the hook away again."""

    def __init__(self, hooks: list, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self):
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


_TYPE_NAMES = {
    "float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
    "bfloat16": "BFloat16Tensor", "uint8": "ByteTensor", "int8": "CharTensor",
    "int16": "ShortTensor", "int32": "IntTensor", "int64": "LongTensor", "bool": "BoolTensor",
}  # fmt: skip


def _float_np(npd) -> bool:
    return npd.kind in "fV"  # "V": bfloat16 from ml_dtypes


class Tensor:
    """A multi-dimensional array that can record the operations made on it.

    Create tensors with ``ember.tensor``, ``ember.zeros``, ``ember.randn`` and friends;
    ``Tensor(data)`` is ``ember.tensor(data, dtype=ember.get_default_dtype())``.
    """

    # The attributes every tensor sets are slots; the rarely set ones are class defaults
    # (an op's output is made with five stores, not ten), kept in the instance's __dict__
    # once set, where users' own attributes go too (``t.name = "x"``, as PyTorch allows).
    __slots__ = (
        "__dict__",
        "__weakref__",
        "_data",
        "_output_nr",
        "_requires_grad",
        "_vc",
        "grad_fn",
    )
    _leaf_edge = None  # (AccumulateGrad node, 0): a leaf's edge, made by its first op
    _base = None  # the tensor this one is a view of
    _view_fn = None  # makes this view again from (a new version of) its base
    grad = None
    _retains_grad = False

    def __init__(self, data=None, dtype=None, device=None, requires_grad=False):
        from ember.creation import _to_array

        # As torch.Tensor(data): the default floating dtype unless one is given.
        dtype = dtypes.get_default_dtype() if dtype is None else dtype
        arr = _to_array([] if data is None else data, dtype, device)
        Tensor._init(self, arr, False, None, 0)
        if requires_grad:
            self.requires_grad = True

    @staticmethod
    def _make(data, requires_grad=False, grad_fn=None, output_nr=0) -> Tensor:
        # Every op makes its outputs here, so this is _init written out (one call less).
        t = _new(Tensor)
        t._data = data
        t._requires_grad = requires_grad
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._vc = [0]
        return t

    @staticmethod
    def _init(t, data, requires_grad, grad_fn, output_nr):
        t._data = data
        t._requires_grad = requires_grad
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._vc = [0]

    # ----------------------------------------------------------------- metadata
    @property
    def shape(self) -> tuple:
        return self._data.shape

    def size(self, dim: int | None = None):
        """The shape, or the size of one dimension."""
        if dim is None:
            return self._data.shape
        if self._data.ndim == 0:
            from ember.errors import EmberIndexError

            raise EmberIndexError(f"size: dim {dim} given, but a 0-d tensor has no dimensions")
        return self._data.shape[_wrap_dim(dim, self.ndim, "size")]

    @property
    def dtype(self) -> dtypes.dtype:
        dt = dtypes._BY_NP.get(self._data.dtype)  # ops ask often: the common case, directly
        return dt if dt is not None else dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def device(self) -> backend.Device:
        return backend.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    def nelement(self) -> int:
        return int(self._data.size)

    def element_size(self) -> int:
        return self._data.itemsize

    def ndimension(self) -> int:
        """The number of dimensions, as ``dim()``."""
        return self._data.ndim

    def is_floating_point(self) -> bool:
        return _float_np(self._data.dtype)

    def is_complex(self) -> bool:
        """False: ember has no complex dtypes."""
        return False

    def is_nonzero(self) -> bool:
        """The truth value of a one-element tensor; an error for any other size."""
        n = self._data.size
        if n != 1:
            what = "no elements" if n == 0 else f"{n} elements"
            raise RuntimeError(
                f"is_nonzero: expected a tensor with one element, received one with {what}, "
                "whose truth value is ambiguous"
            )
        return bool(self.item())

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    @property
    def _version(self) -> int:
        return self._vc[0]

    # ----------------------------------------------------------------- autograd state
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        if not self.is_leaf:
            raise RuntimeError(
                "requires_grad can only be changed on leaf tensors; "
                "use .detach() to get a leaf from a tensor computed by ops"
            )
        if value and not _float_np(self._data.dtype):
            raise RuntimeError(
                f"only tensors of floating-point dtype can require gradients, "
                f"this one is {self.dtype}"
            )
        self._requires_grad = bool(value)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        self.requires_grad = requires_grad
        return self

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def _edge(self):
        if self.grad_fn is not None:
            return (self.grad_fn, self._output_nr)
        # A leaf makes its node once and keeps it (the node refers back to it only weakly, so
        # the two are no reference cycle): every op on a leaf points at that same node.
        edge = self._leaf_edge
        if edge is None:
            edge = self._leaf_edge = (_autograd_module("function").AccumulateGrad(self), 0)
        return edge

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if self.grad_fn is None:
            if not self._requires_grad:
                raise RuntimeError("retain_grad: this tensor does not require grad")
            return
        if self._retains_grad:
            return
        self._retains_grad = True
        ref = weakref.ref(self)

        def keep(g):
            t = ref()
            if t is not None:
                t.grad = g.detach() if t.grad is None else t.grad + g.detach()

        self._add_hook(keep)

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; it may return a
        replacement gradient. Returns a handle with ``remove()``."""
        if not self._requires_grad:
            raise RuntimeError(
                "register_hook: cannot register a hook on a tensor that doesn't require grad"
            )
        return self._add_hook(hook)

    def _add_hook(self, hook):
        node, nr = self._edge()
        if node._hooks is None:
            node._hooks = {}
        hooks = node._hooks.setdefault(nr, [])
        hooks.append(hook)
        return _Handle(hooks, hook)

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None) -> None:
        """Compute the gradient of this tensor with respect to the leaves of its graph,
        adding it into their ``.grad``. ``gradient`` is required unless the tensor has one
        element."""
        _autograd_module("engine").backward(self, gradient, retain_graph, create_graph, inputs)

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut off from the graph."""
        t = Tensor._make(self._data)
        t._vc = self._vc
        return t

    def detach_(self) -> Tensor:
        self.grad_fn = None
        self._requires_grad = False
        return self

    @property
    def data(self) -> Tensor:
        return self.detach()

    @data.setter
    def data(self, value: Tensor):
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data: expected a Tensor, received {type(value).__name__}")
        self._data = value._data

    # ----------------------------------------------------------------- conversion
    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise RuntimeError(
                f"item: a tensor with {self._data.size} elements cannot be converted to a "
                "Python number; only one-element tensors can"
            )
        return (
            self._data.reshape(()).item() if self.device.type == "cpu" else self._data.get().item()
        )

    def numpy(self, force: bool = False) -> np.ndarray:
        """The data as a NumPy array, sharing memory (CPU tensors)."""
        if self._requires_grad and not force:
            raise RuntimeError(
                "numpy: cannot convert a tensor that requires grad; use tensor.detach().numpy()"
            )
        if self.device.type != "cpu":
            if not force:
                raise TypeError(
                    f"numpy: the tensor is on {self.device}; copy it first with tensor.cpu()"
                )
            return backend.to_device(self._data, backend.CPU)
        return self._data

    def tolist(self):
        return backend.to_device(self._data, backend.CPU).tolist()

    def __array__(self, dtype=None, copy=None):
        a = backend.to_device(self._data, backend.CPU)
        return a if dtype is None else a.astype(dtype)

    def __dlpack__(self, *args, **kwargs):
        if self._requires_grad:
            raise BufferError(
                "__dlpack__: cannot export a tensor that requires grad; export tensor.detach()"
            )
        if self._data.dtype.kind == "V":
            raise BufferError(
                "__dlpack__: NumPy cannot export bfloat16 through DLPack; convert it first, "
                "e.g. tensor.float()"
            )
        return self._data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._data.__dlpack_device__()

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self._data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.item())

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return int(self.item())

    def __deepcopy__(self, memo):
        """A new leaf with a copy of the data (and of ``.grad``), as PyTorch; tensors computed
        by ops (non-leaves) cannot be deep-copied."""
        if self.grad_fn is not None:
            raise RuntimeError(
                "deepcopy: only tensors created by the user (graph leaves) can be deep-copied; "
                "use .detach().clone() for a copy of a computed tensor"
            )
        if id(self) not in memo:
            t = Tensor._make(self._data.copy(), self._requires_grad)
            if self.grad is not None:
                t.grad = Tensor._make(self.grad._data.copy())
            memo[id(self)] = t
        return memo[id(self)]

    def __reduce_ex__(self, protocol):
        """Pickled as its data and ``requires_grad``, as in PyTorch (DataLoader workers send
        batches this way): the graph and ``.grad`` stay behind, and a computed tensor comes
        back as a leaf."""
        return _unpickle, (self._data, self._requires_grad)

    def __hash__(self):
        return id(self)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    def __repr__(self):
        from ember._format import tensor_repr

        return tensor_repr(self)

    __str__ = __repr__

    def to(self, *args, **kwargs) -> Tensor:
        """Move to a device and/or convert to a dtype: ``x.to("cuda")``, ``x.to(ember.float64)``,
        ``x.to(other)``; differentiable."""
        dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        if kwargs:
            raise TypeError(f"to: unexpected arguments {sorted(kwargs)}")
        for a in args:
            if isinstance(a, Tensor):
                dtype, device = a.dtype, a.device
            elif isinstance(a, (str, backend.Device, int)) and not isinstance(a, bool):
                device = a
            else:
                dtype = a
        out = self
        if device is not None:
            from ember.ops.elementwise import to_device

            out = to_device(out, backend.as_device(device))
        if dtype is not None:
            from ember.ops.elementwise import to_dtype

            out = to_dtype(out, dtypes.as_dtype(dtype))
        if copy and out is self:
            out = self.clone()
        return out

    def type_as(self, other: Tensor) -> Tensor:
        """This tensor converted to the dtype (and device) of ``other``; itself when they
        match already. Example: ``mask.type_as(x)``."""
        if not isinstance(other, Tensor):
            raise TypeError(
                f"type_as: expected other to be a Tensor, received {type(other).__name__}"
            )
        return self.to(device=other.device, dtype=other.dtype)

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, device=None) -> Tensor:
        return self.to(
            "cuda"
            if device is None
            else backend.as_device(device if not isinstance(device, int) else f"cuda:{device}")
        )

    def type(self, dtype=None):
        """Without an argument, the type name as PyTorch spells it (``'ember.FloatTensor'``);
        with a dtype or such a name, the tensor converted to it."""
        if dtype is None:
            cuda = ".cuda" if self.device.type == "cuda" else ""
            return f"ember{cuda}.{_TYPE_NAMES[self.dtype.name]}"
        if isinstance(dtype, str):
            name = dtype.rsplit(".", 1)[-1]
            by_type = {v: k for k, v in _TYPE_NAMES.items()}
            device = "cuda" if ".cuda." in dtype else None
            return self.to(device=device, dtype=dtypes.as_dtype(by_type.get(name, name)))
        return self.to(dtype)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def bfloat16(self):
        return self.to(dtypes.bfloat16)

    def int(self):
        return self.to(dtypes.int32)

    def long(self):
        return self.to(dtypes.int64)

    def short(self):
        return self.to(dtypes.int16)

    def char(self):
        return self.to(dtypes.int8)

    def byte(self):
        return self.to(dtypes.uint8)

    def bool(self):
        return self.to(dtypes.bool_)

    # ----------------------------------------------------------------- in place
    def _inplace(self, name: str, fn, *args, **kwargs) -> Tensor:
        """Run out-of-place ``fn(self, *args)`` and write its result into this tensor.

        When autograd records it, this tensor's history is moved onto the op's node, and an
        array the op saved that *is* this tensor's data is copied first, so the gradient
        still sees the values from before the change.
        """
        recording = grad_mode.state.enabled and (
            self._requires_grad or any(isinstance(a, Tensor) and a._requires_grad for a in args)
        )
        if not recording:
            with grad_mode.no_grad():
                out = fn(self, *args, **kwargs)
            self._write(name, out)
            return self
        if self.grad_fn is None and self._requires_grad:
            raise RuntimeError(
                f"{name}: a leaf tensor that requires grad cannot be changed in place; "
                "wrap the change in `with ember.no_grad():` or use the out-of-place op"
            )
        if self._base is not None:
            return self._inplace_view(name, fn, *args, **kwargs)
        out = fn(self, *args, **kwargs)
        if out.dtype != self.dtype:
            self._check_cast(name, out)
            out = out.to(self.dtype)
        _protect_saved(out.grad_fn, self._data)
        self._write(name, out)
        self.grad_fn, self._output_nr = out.grad_fn, out._output_nr
        self._requires_grad = out._requires_grad
        return self

    def _inplace_view(self, name: str, fn, *args, **kwargs) -> Tensor:
        """An in-place change to a view, recorded by autograd (``y[0] += 1``, ``y[0][1] = v``):
        the new values are written into the base through a ViewWrite node, and the view is
        then read again from the updated base, so both carry the change in their history."""
        from ember.ops.shape import ViewWrite

        base = self._base
        if self._view_fn is None:
            raise RuntimeError(
                f"{name}: this view of a tensor of shape {tuple(base.shape)} cannot be changed "
                "in place under autograd; assign through the base (base[idx] = value) or "
                ".clone() the view first"
            )
        if base.grad_fn is None and base._requires_grad:
            raise RuntimeError(
                f"{name}: a view of a leaf tensor that requires grad cannot be changed in place; "
                "wrap the change in `with ember.no_grad():` or use the out-of-place op"
            )
        out = fn(self, *args, **kwargs)
        if out.dtype != self.dtype:
            self._check_cast(name, out)
            out = out.to(self.dtype)
        if out._data.shape != self._data.shape:
            self._write(name, out)  # raises the shape error
        _protect_saved(out.grad_fn, base._data)
        new = ViewWrite.apply(base, out, self._view_fn)
        base._vc[0] += 1
        base.grad_fn, base._output_nr, base._requires_grad = new.grad_fn, 0, new._requires_grad
        fresh = self._view_fn(base)
        self.grad_fn, self._output_nr = fresh.grad_fn, fresh._output_nr
        self._requires_grad = fresh._requires_grad
        return self

    def _check_cast(self, name, out):
        if out._data.dtype.kind in "fV" and self._data.dtype.kind not in "fV":
            raise RuntimeError(
                f"{name}: the result has dtype {out.dtype}, which cannot be written in place "
                f"into a tensor of dtype {self.dtype}"
            )

    def _write(self, name, out):
        if out._data.shape != self._data.shape:
            raise RuntimeError(
                f"{name}: the result has shape {tuple(out.shape)}, which cannot be written in "
                f"place into a tensor of shape {tuple(self.shape)}"
            )
        if out._data.dtype != self._data.dtype:
            self._check_cast(name, out)
        if out._data is not self._data:
            self._data[...] = out._data
        self._vc[0] += 1


_new = object.__new__


def _check_input(input, op: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected input to be a Tensor, received {type(input).__name__}")
    return input


def numel(input: Tensor) -> int:
    """The number of elements of ``input``: ``ember.numel(ember.zeros(2, 3))`` is 6."""
    return _check_input(input, "numel").numel()


def is_floating_point(input: Tensor) -> bool:
    """Whether ``input`` has a floating-point dtype (float16, bfloat16, float32, float64)."""
    return _check_input(input, "is_floating_point").is_floating_point()


def is_complex(input: Tensor) -> bool:
    """Whether ``input`` has a complex dtype: always False, as ember has none."""
    return _check_input(input, "is_complex").is_complex()


def is_nonzero(input: Tensor) -> bool:
    """The truth value of a one-element tensor: ``ember.is_nonzero(ember.tensor([0.5]))``."""
    return _check_input(input, "is_nonzero").is_nonzero()


def _unpickle(data, requires_grad: bool) -> Tensor:
    return Tensor._make(data, requires_grad)


def _autograd_module(name: str):
    """``ember.autograd.<name>`` (function, engine): those modules import this one, so they
    are looked up when used, here rather than by an import statement in the method, which
    costs about a microsecond on each call."""
    module = sys.modules.get("ember.autograd." + name)
    return module if module is not None else importlib.import_module("ember.autograd." + name)


def _protect_saved(node, data) -> None:
    """Before ``data`` is overwritten in place, give the arrays that ``node`` saved and that
    share its memory a copy of their own, so backward sees the values from before."""
    if node is None or not node._saved:
        return
    xp = backend.get_array_module(data)
    saved = node._saved
    for k, s in enumerate(saved):  # (data, counter, version, source): see autograd.function
        if type(s) is tuple and xp.may_share_memory(s[0], data):
            saved[k] = (s[0].copy(), None, 0, s[3])


def _wrap_dim(dim: int, ndim: int, op: str) -> int:
    """Turn a possibly negative ``dim`` into an index in ``range(ndim)``, or raise."""
    n = max(ndim, 1)
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, received {dim!r}")
    if not -n <= dim < n:
        from ember.errors import EmberIndexError

        raise EmberIndexError(
            f"{op}: dim {dim} is out of range for a tensor with {ndim} dimension(s) "
            f"(expected a dim in [{-n}, {n - 1}])"
        )
    return dim % n if ndim else 0


def _wrap_dims(dim, ndim: int, op: str) -> tuple:
    if dim is None:
        return tuple(range(ndim))
    if isinstance(dim, (list, tuple)):
        out = tuple(_wrap_dim(d, ndim, op) for d in dim)
        if len(set(out)) != len(out):
            raise RuntimeError(f"{op}: dim {tuple(dim)} names the same dimension twice")
        return out
    return (_wrap_dim(dim, ndim, op),)
