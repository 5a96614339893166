"""Function: one differentiable op, and the node that records it in the graph.

An op is a class with ``forward`` on raw arrays and ``backward`` on Tensors::

    class Exp(Function):
        @staticmethod
        def forward(ctx, x):          # x: a NumPy (or CuPy) array
            y = np.exp(x)
            ctx.save_for_backward(y)  # keep only what backward needs
            return y

        @staticmethod
        def backward(ctx, gy):        # gy: a Tensor, the gradient of the output
            (y,) = ctx.saved_tensors  # Tensors again, so backward is differentiable
            return gy * y             # one gradient per input of forward

    y = Exp.apply(x)

Each call of ``apply`` makes one instance of the class: it is the ``ctx`` both
methods receive, and the node of the graph (``y.grad_fn``). Because ``backward``
is written with ember's own differentiable ops, a gradient of a gradient works.
"""

from __future__ import annotations

import itertools

import numpy as np

from ember.autograd import anomaly, grad_mode
from ember.tensor import Tensor, VersionCounter

_seq = itertools.count()
_grad_state = grad_mode.state
_anomaly_state = anomaly.state


class SavedTensor:
    """An array saved for backward, with what is needed to hand it back as a Tensor in the
    graph and to notice an in-place change made to it after it was saved."""

    __slots__ = ("counter", "data", "grad_fn", "leaf", "output_nr", "requires_grad", "version")

    def __init__(self, data, counter, leaf=None, grad_fn=None, output_nr=0, requires_grad=False):
        self.data = data
        self.counter = counter
        self.version = counter.version if counter is not None else 0
        self.leaf = leaf
        self.grad_fn = grad_fn  # None for a leaf or a constant; True for an output of the node
        self.output_nr = output_nr
        self.requires_grad = requires_grad

    def unpack(self, node):
        if self.counter is not None and self.counter.version != self.version:
            t = self.data
            raise RuntimeError(
                f"autograd: a tensor of shape {tuple(t.shape)} ({t.dtype}) that "
                f"{type(node).__name__} saved for its backward was changed by an in-place "
                f"operation after it was saved (it is at version {self.counter.version}, "
                f"expected version {self.version}). Use an out-of-place op (x = x + 1 instead "
                "of x += 1) or .clone() the tensor before changing it."
            )
        if self.leaf is not None:
            return self.leaf
        grad_fn = node if self.grad_fn is True else self.grad_fn
        t = Tensor._make(self.data, self.requires_grad, grad_fn, self.output_nr)
        if self.counter is not None:
            t._vc = self.counter
        return t


class Function:
    """Base class of differentiable ops; subclass it and define ``forward`` and ``backward``.

    ``forward(ctx, *args)`` receives arrays where the caller passed Tensors (other arguments
    as they are) and returns an array or a tuple of arrays. ``backward(ctx, *grads)``
    receives one gradient Tensor per output and returns one gradient per argument of
    forward (None for arguments that are not Tensors or need no gradient).

    On ``ctx``: ``save_for_backward(*arrays)``, ``saved_tensors``, ``needs_input_grad``,
    ``mark_non_differentiable(*arrays)``; any other attribute can hold plain values.
    """

    _saved = None
    _freed = False
    _hooks = None
    _stack = None

    def save_for_backward(self, *arrays) -> None:
        """Keep arrays (inputs, outputs or others) for backward; they come back as Tensors."""
        self._to_save = arrays

    @property
    def saved_tensors(self) -> tuple:
        if self._freed:
            raise RuntimeError(
                f"{type(self).__name__}: its saved tensors were freed by an earlier backward. "
                "To run backward through the same graph twice, pass retain_graph=True "
                "to the first backward() call."
            )
        saved = self._saved
        if saved is None:
            return ()
        return tuple(None if s is None else s.unpack(self) for s in saved)

    def mark_non_differentiable(self, *arrays) -> None:
        """Declare outputs (indices, masks) that never get a gradient."""
        self._non_diff = {id(a) for a in arrays}

    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("a Function subclass must define forward(ctx, *args)")

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(f"{type(ctx).__name__} has no backward: it is not differentiable")

    @property
    def next_functions(self):
        return self.next_edges

    def name(self) -> str:
        return type(self).__name__

    def register_hook(self, hook):  # pragma: no cover - kept for API parity
        raise NotImplementedError("register hooks on tensors: tensor.register_hook(fn)")

    def __repr__(self):
        return f"<{type(self).__name__} backward>"

    @classmethod
    def apply(cls, *args):
        """Run the op on Tensors (and other arguments) and record it for backward."""
        ctx = cls.__new__(cls)
        ctx._to_save = ()
        ctx._non_diff = None
        grad_on = _grad_state.enabled
        arrays = []
        tensors = []
        any_req = False
        kind = None
        for a in args:
            if isinstance(a, Tensor):
                d = a._data
                if kind is None:
                    kind = type(d)
                elif type(d) is not kind:
                    _device_mismatch(cls, args)
                arrays.append(d)
                tensors.append(a)
                if grad_on and a._requires_grad:
                    any_req = True
            else:
                arrays.append(a)
                tensors.append(None)
        if any_req:
            ctx.needs_input_grad = tuple(t is not None and t._requires_grad for t in tensors)
        else:
            ctx.needs_input_grad = (False,) * len(args)

        raw = cls.forward(ctx, *arrays)

        single = not isinstance(raw, tuple)
        outs = (raw,) if single else raw
        non_diff = ctx._non_diff
        results = []
        for i, y in enumerate(outs):
            if type(y) is not np.ndarray:
                y = _as_array(y, cls)
            req = any_req and y.dtype.kind in "fV" and (non_diff is None or id(y) not in non_diff)
            t = Tensor._make(y, req, ctx if req else None, i)
            base = y.base
            if base is not None:  # a view of an input shares its version counter
                for j, (x, src) in enumerate(zip(arrays, tensors)):
                    if src is not None and (base is x or base is x.base):
                        t._vc = src._vc
                        t._base = src._base if src._base is not None else src
                        t._view_fn = _replay(cls, args, j, src._view_fn)
                        break
            results.append(t)

        if any_req:
            ctx._seq = next(_seq)
            ctx.next_edges = tuple(
                None if t is None or not t._requires_grad else t._edge() for t in tensors
            )
            ctx._in_meta = tuple(
                None if t is None else (t._data.shape, t._data.dtype) for t in tensors
            )
            ctx._n_out = len(results)
            ctx._out_meta = tuple((r._data.shape, r._data.dtype, r._requires_grad) for r in results)
            if ctx._to_save:
                ctx._saved = [_saved(a, arrays, tensors, outs, results) for a in ctx._to_save]
            if _anomaly_state.enabled:
                ctx._stack = anomaly.record_stack()
        ctx._to_save = ()
        return results[0] if single else tuple(results)


class _Plain:
    """A saved value that is not an array (a Python number): handed back as it is."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data

    def unpack(self, node):
        return self.data


def _saved(a, arrays, tensors, outs, results):
    if a is None:
        return None
    if not hasattr(a, "shape"):
        return _Plain(a)
    for i, y in enumerate(outs):
        if a is y:  # the output's array: a NumPy scalar from a 0-d op is now a 0-d array
            r = results[i]
            return SavedTensor(r._data, r._vc, None, True, i, r._requires_grad)
    for x, t in zip(arrays, tensors):
        if t is not None and a is x:
            if t._requires_grad and t.grad_fn is None:
                return SavedTensor(a, t._vc, leaf=t)
            return SavedTensor(a, t._vc, None, t.grad_fn, t._output_nr, t._requires_grad)
    return SavedTensor(np.asarray(a) if isinstance(a, np.generic) else a, None)


def _replay(cls, args, j, parent):
    """A function that makes the same view again from (a new version of) the base, so an
    in-place change to the view can be written back into the base (Tensor._inplace_view)."""
    args = args[:j] + (None,) + args[j + 1 :]

    def view_of(base):
        src = base if parent is None else parent(base)
        return cls.apply(*args[:j], src, *args[j + 1 :])

    return view_of


def _as_array(y, cls):
    if isinstance(y, np.generic):
        return np.asarray(y)
    from ember import backend

    if backend.is_array(y):
        return y
    if isinstance(y, (int, float, bool)):
        return np.asarray(y)
    raise TypeError(
        f"{cls.__name__}.forward must return arrays (or a tuple of arrays), "
        f"returned {type(y).__name__}"
    )


def _device_mismatch(cls, args):
    devs = [str(a.device) for a in args if isinstance(a, Tensor)]
    raise RuntimeError(
        f"{cls.__name__.lower()}: expected all tensors on the same device, "
        f"received tensors on {', '.join(devs)}; move them with .to(device)"
    )


class AccumulateGrad:
    """The node at a leaf tensor: adds the gradient that reaches it into ``tensor.grad``."""

    __slots__ = ("__weakref__", "_hooks", "_seq", "next_edges", "variable")

    def __init__(self, variable):
        self.variable = variable
        self._hooks = None
        self.next_edges = ()
        self._seq = -1

    def __repr__(self):
        return "<AccumulateGrad>"


__all__ = ["AccumulateGrad", "Function", "SavedTensor", "VersionCounter"]
