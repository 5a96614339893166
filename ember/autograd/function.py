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

import weakref

import numpy as np

from ember.autograd import anomaly, grad_mode
from ember.backend import IGNORE_FP_ERRORS, np_errstate
from ember.tensor import Tensor

_grad_state = grad_mode.state
_anomaly_state = anomaly.state


def _unpack(node, saved):
    """A saved value handed back to ``backward``; arrays as Tensors in the graph.

    ``save_for_backward`` keeps each array as a tuple ``(data, counter, version, source)``
    (tuples: an op may save several, and they are cheap to make). ``counter`` and ``version``
    tell whether the array was changed in place after it was saved; ``source`` is where it
    came from: input ``j`` of the node (``source = j``; its edge says how it joins the
    graph), output ``i`` (``source = -1 - i``), or None (no gradient flows through it).
    Other values (Python numbers) are kept as ``_Plain``; None stays None.
    """
    if type(saved) is not tuple:
        return saved if saved is None else saved.data
    data, counter, version, source = saved
    if counter is not None and counter[0] != version:
        raise RuntimeError(
            f"autograd: a tensor of shape {tuple(data.shape)} ({data.dtype}) that "
            f"{type(node).__name__} saved for its backward was changed by an in-place "
            f"operation after it was saved (it is at version {counter[0]}, "
            f"expected version {version}). Use an out-of-place op (x = x + 1 instead "
            "of x += 1) or .clone() the tensor before changing it."
        )
    if source is None:
        t = Tensor._make(data)
    elif source < 0:
        t = Tensor._make(data, True, node, -1 - source)
    else:
        edge = node.next_edges[source]
        if edge is None:  # an input that needs no gradient
            t = Tensor._make(data)
        elif type(edge[0]) is AccumulateGrad:  # a leaf: itself, while it exists
            leaf = edge[0].variable
            if leaf is not None:
                return leaf
            t = Tensor._make(data)
        else:
            t = Tensor._make(data, True, edge[0], edge[1])
    if counter is not None:
        t._vc = counter
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

    # defaults, so that apply sets on each node only what differs
    _saved = None
    _freed = False
    _hooks = None
    _stack = None
    _to_save = ()
    _non_diff = None
    _quiet_forward = None  # forward's own function when it is marked ``quiet`` (ops._util)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._quiet_forward = getattr(cls.forward, "quiet_raw", None)

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
        return tuple([_unpack(self, s) for s in saved])

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
    def next_functions(self) -> tuple:
        return tuple(self.next_edges)

    def name(self) -> str:
        return type(self).__name__

    def register_hook(self, hook):  # pragma: no cover - kept for API parity
        raise NotImplementedError("register hooks on tensors: tensor.register_hook(fn)")

    def __repr__(self):
        return f"<{type(self).__name__} backward>"

    @classmethod
    def apply(cls, *args):
        """Run the op on Tensors (and other arguments) and record it for backward."""
        # Every op of every model passes through here, so it does the least it can: one pass
        # over the arguments, and the graph's bookkeeping only when a gradient is needed.
        ctx = _new(cls)
        grad_on = _grad_state.enabled
        arrays, needs, edges = [], [], []
        kind = None  # the array type of the first tensor: all must be on one device
        for a in args:
            if isinstance(a, Tensor):
                d = a._data
                if kind is None:
                    kind = type(d)
                elif type(d) is not kind:
                    _device_mismatch(cls, args)
                arrays.append(d)
                if grad_on and a._requires_grad:
                    needs.append(True)
                    fn = a.grad_fn  # the edge to the node that made it (Tensor._edge, inlined)
                    edges.append(
                        (fn, a._output_nr) if fn is not None else (a._leaf_edge or a._edge())
                    )
                    continue
            else:
                arrays.append(a)
            needs.append(False)
            edges.append(None)
        ctx.needs_input_grad = needs = tuple(needs)
        any_req = True in needs

        quiet = cls._quiet_forward
        if quiet is None:
            raw = cls.forward(ctx, *arrays)
        elif np_errstate.get() is IGNORE_FP_ERRORS:
            raw = quiet(ctx, *arrays)
        else:  # what the quiet wrapper does, without its call
            token = np_errstate.set(IGNORE_FP_ERRORS)
            try:
                raw = quiet(ctx, *arrays)
            finally:
                np_errstate.reset(token)

        non_diff = ctx._non_diff
        if type(raw) is not tuple:  # one output, as nearly every op has: written out
            y = raw if type(raw) is np.ndarray else _as_array(raw, cls)
            req = any_req and y.dtype.kind in "fV" and (non_diff is None or id(y) not in non_diff)
            t = _make(y, req, ctx if req else None, 0)
            if y.base is not None:  # a view: of an input?
                _link_view(t, cls, args, arrays)
            outs, results = (raw,), (t,)
        else:  # the same for each output
            outs = raw
            results = []
            for i, y in enumerate(raw):
                if type(y) is not np.ndarray:
                    y = _as_array(y, cls)
                req = (
                    any_req and y.dtype.kind in "fV" and (non_diff is None or id(y) not in non_diff)
                )
                t = _make(y, req, ctx if req else None, i)
                if y.base is not None:
                    _link_view(t, cls, args, arrays)
                results.append(t)
            results = tuple(results)

        to_save = ctx._to_save
        if any_req:
            ctx.next_edges = edges
            # the shape and dtype of each output: what the gradients that flow into it are
            # reduced to (the engine), and what a missing one is made of (zeros)
            ctx._out_meta = (
                [(y.shape, y.dtype, req)]  # (of the one output)
                if type(raw) is not tuple
                else [(r._data.shape, r._data.dtype, r._requires_grad) for r in results]
            )
            if to_save:
                ctx._saved = _saved(to_save, args, arrays, outs, results)
            if _anomaly_state.enabled:
                ctx._stack = anomaly.record_stack()
        if to_save:
            del ctx._to_save  # release the arrays (back to the class's empty default)
        return results if type(raw) is tuple else t

    # The two entries below are apply cut to the commonest calls, an operator on two
    # Tensors (x + w) and a math function of one (x.exp()): an op whose quiet forward
    # returns one floating array, its inputs on one device (the callers check). Without
    # apply's general pass over the arguments, they cost ~0.6 us less a call.
    @classmethod
    def _pair(cls, a, b):
        """apply(a, b) for two Tensors (see above)."""
        ctx = _new(cls)
        x, y = a._data, b._data
        grad_on = _grad_state.enabled
        ctx.needs_input_grad = needs = (grad_on and a._requires_grad, grad_on and b._requires_grad)
        if np_errstate.get() is IGNORE_FP_ERRORS:
            raw = cls._quiet_forward(ctx, x, y)
        else:
            token = np_errstate.set(IGNORE_FP_ERRORS)
            try:
                raw = cls._quiet_forward(ctx, x, y)
            finally:
                np_errstate.reset(token)
        if not (needs[0] or needs[1]):
            return _lean_output(cls, ctx, raw)
        edges = [_input_edge(a) if needs[0] else None, _input_edge(b) if needs[1] else None]
        return _lean_output(cls, ctx, raw, (a, b), (x, y), edges)

    @classmethod
    def _one(cls, a):
        """apply(a) for one Tensor (see above)."""
        ctx = _new(cls)
        x = a._data
        ctx.needs_input_grad = needs = (_grad_state.enabled and a._requires_grad,)
        if np_errstate.get() is IGNORE_FP_ERRORS:
            raw = cls._quiet_forward(ctx, x)
        else:
            token = np_errstate.set(IGNORE_FP_ERRORS)
            try:
                raw = cls._quiet_forward(ctx, x)
            finally:
                np_errstate.reset(token)
        if not needs[0]:
            return _lean_output(cls, ctx, raw)
        return _lean_output(cls, ctx, raw, (a,), (x,), [_input_edge(a)])


def _lean_output(cls, ctx, raw, inputs=None, arrays=None, edges=None):
    """The end of Function._pair and Function._one: the output Tensor and, given the edges
    to the inputs that need a gradient, the graph's bookkeeping (apply's, for one floating
    output)."""
    out = raw if type(raw) is np.ndarray else _as_array(raw, cls)  # (0-d: a NumPy scalar)
    to_save = ctx._to_save
    if edges is None:
        if to_save:
            del ctx._to_save
        return _make(out, False, None, 0)
    t = _make(out, True, ctx, 0)
    ctx.next_edges = edges
    ctx._out_meta = [(out.shape, out.dtype, True)]
    if to_save:  # (what forward saved is raw itself)
        ctx._saved = _saved(to_save, inputs, arrays, (raw,), (t,))
        del ctx._to_save
    if _anomaly_state.enabled:
        ctx._stack = anomaly.record_stack()
    return t


def _input_edge(a):
    """The edge to the node that made a Tensor that requires grad (Tensor._edge)."""
    fn = a.grad_fn
    return (fn, a._output_nr) if fn is not None else (a._leaf_edge or a._edge())


_new = object.__new__
_make = Tensor._make


def _link_view(t, cls, args, arrays):
    """Output ``t`` is a view: if of an input, it shares the input's version counter and
    can make itself again from the input's base (for in-place changes to views)."""
    base = t._data.base
    for j, (x, src) in enumerate(zip(arrays, args)):
        if isinstance(src, Tensor) and (base is x or base is x.base):
            t._vc = src._vc
            t._base = src._base if src._base is not None else src
            t._view_fn = _replay(cls, args, j, src._view_fn)
            return


class _Plain:
    """A saved value that is not an array (a Python number): handed back as it is."""

    __slots__ = ("data",)

    def __init__(self, data):
        self.data = data


def _saved(to_save, args, arrays, outs, results) -> list:
    """What ``save_for_backward`` keeps of each of ``to_save`` (see ``_unpack``): an output
    or an input of the op (the commonest), a plain value, or another array."""
    saved = []
    single = len(outs) == 1
    for k, a in enumerate(to_save):
        if a is None:
            saved.append(None)
            continue
        # an output is looked for first (forward may return an input itself as its output)
        i = (0 if a is outs[0] else -1) if single else _position(a, outs)
        if i >= 0:  # (a NumPy scalar from a 0-d op is now a 0-d array: r._data)
            r = results[i]
            vc = r._vc
            saved.append((r._data, vc, vc[0], -1 - i if r._requires_grad else None))
            continue
        if k < len(arrays) and arrays[k] is a and isinstance(args[k], Tensor):
            vc = args[k]._vc  # the commonest: input k saved as value k (a * b saves a, b)
            saved.append((a, vc, vc[0], k))
            continue
        for j, x in enumerate(arrays):
            if x is a:  # an input
                if isinstance(args[j], Tensor):
                    vc = args[j]._vc
                    saved.append((a, vc, vc[0], j))
                else:  # a Python number passed to the op
                    saved.append(_Plain(a))
                break
        else:
            if hasattr(a, "shape"):  # another array
                saved.append((np.asarray(a) if isinstance(a, np.generic) else a, None, 0, None))
            else:
                saved.append(_Plain(a))
    return saved


def _position(a, seq) -> int:
    """The index of ``a`` in ``seq`` by identity (``==`` compares arrays elementwise), or -1."""
    for i, x in enumerate(seq):
        if x is a:
            return i
    return -1


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
    """The node at a leaf tensor: adds the gradient that reaches it into ``tensor.grad``.

    The leaf keeps its node for good (``Tensor._edge``) and the node refers to the leaf
    weakly, so the two are no reference cycle and the leaf is freed as soon as it is
    unused. ``variable`` is None once the leaf is gone: its gradient has nowhere to go.
    """

    __slots__ = ("__weakref__", "_hooks", "_variable", "next_edges")

    def __init__(self, variable):
        self._variable = weakref.ref(variable)
        self._hooks = None
        self.next_edges = ()

    @property
    def variable(self):
        return self._variable()

    def __repr__(self):
        return "<AccumulateGrad>"


__all__ = ["AccumulateGrad", "Function"]
