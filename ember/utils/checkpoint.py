"""Activation checkpointing: trade compute for memory.

``checkpoint(fn, *args)`` runs ``fn`` without recording its graph, so none of its
intermediate activations is kept; only its inputs are saved. When the backward pass
reaches it, it runs ``fn`` again, this time recording, and backpropagates through that.
Random draws (dropout) repeat exactly, since the random generator's state at the forward
pass is restored for the recomputation, and so do the autocast settings.

Example::

    from ember.utils.checkpoint import checkpoint

    class Net(nn.Module):
        def forward(self, x):
            x = checkpoint(self.block1, x)   # block1's activations are recomputed in backward
            return self.head(checkpoint(self.block2, x))

Which parameters get gradients. With ``use_reentrant=False`` (the default), the parameters
of the modules ``fn`` can reach (``fn`` itself, the object of a bound method, the modules
and tensors in its closure, the globals it names, and the modules among the arguments) are
inputs of the checkpoint, so their gradients flow as usual, also through
``ember.autograd.grad``. Tensors that ``fn`` reaches in any other way still get their
gradient added to ``.grad`` when backward runs (as with ``use_reentrant=True``, where only
the tensor arguments are inputs, as in PyTorch: if none of them requires grad, nothing
does, and a warning says so).
"""

from __future__ import annotations

import functools
import types
import warnings

from ember import random as ember_random
from ember.autograd import engine, grad_mode
from ember.autograd.function import AccumulateGrad, Function
from ember.tensor import Tensor

__all__ = ["checkpoint", "checkpoint_sequential"]


class _Run:
    """What the recomputation needs: the function, the non-tensor arguments, the positions
    of the tensor ones, and the RNG and autocast states of the forward pass."""

    __slots__ = ("args", "autocast", "function", "kwargs", "n_inputs", "positions", "rng")

    def __init__(self, function, args, kwargs, positions, rng, autocast):
        self.function = function
        self.args = args  # tensor arguments replaced by None: the arrays are saved on ctx
        self.kwargs = kwargs
        self.positions = positions
        self.n_inputs = len(positions)
        self.rng = rng
        self.autocast = autocast

    def call(self, tensors):
        args = list(self.args)
        for pos, t in zip(self.positions, tensors):
            args[pos] = t
        return self.function(*args, **self.kwargs)


def _outputs(out, who="checkpoint"):
    if isinstance(out, Tensor):
        return (out,), True
    if isinstance(out, (tuple, list)) and all(isinstance(o, Tensor) for o in out):
        return tuple(out), False
    raise TypeError(
        f"{who}: the checkpointed function must return a Tensor or a tuple of Tensors, "
        f"returned {type(out).__name__}"
    )


class _Checkpoint(Function):
    @staticmethod
    def forward(ctx, run, *arrays):
        inputs = [Tensor._make(a) for a in arrays[: run.n_inputs]]
        with grad_mode.no_grad():
            outs, ctx.single = _outputs(run.call(inputs))
        ctx.run = run
        ctx.save_for_backward(*arrays)
        ys = []
        for o in outs:
            y = o._data
            if any(y is a for a in arrays):  # an input handed back: the output owns a copy
                y = y.copy()
            ys.append(y)
        return ys[0] if ctx.single else tuple(ys)

    @staticmethod
    def backward(ctx, *gys):
        run = ctx.run
        saved = ctx.saved_tensors
        needs = ctx.needs_input_grad[1:]
        create_graph = grad_mode.is_grad_enabled()
        if create_graph:  # double backward: the recomputed graph hangs off the real inputs
            inputs = list(saved[: run.n_inputs])
        else:
            inputs = [
                t.detach().requires_grad_(bool(req) and t.is_floating_point())
                for t, req in zip(saved[: run.n_inputs], needs)
            ]
        params = saved[run.n_inputs :]
        outs = _recompute(run, inputs)
        pairs = [
            (o, g) for o, g in zip(outs, gys) if o.requires_grad and g is not None
        ]  # fmt: skip
        result = [None] * len(saved)
        if not pairs:
            return (None, *result)
        targets = [i for i, t in enumerate(inputs) if t.requires_grad and needs[i]]
        targets += [run.n_inputs + j for j, p in enumerate(params) if needs[run.n_inputs + j]]
        target_tensors = [inputs[i] if i < run.n_inputs else params[i - run.n_inputs]
                          for i in targets]  # fmt: skip
        known = {id(t) for t in target_tensors}
        stop = {id(t.grad_fn) for t in inputs if t.grad_fn is not None}
        hidden = [t for t in _leaves([o for o, _ in pairs], stop) if id(t) not in known]
        grads = engine.grad(
            [o for o, _ in pairs], target_tensors + hidden, [g for _, g in pairs],
            create_graph=create_graph, allow_unused=True,
        )  # fmt: skip
        for i, g in zip(targets, grads):
            result[i] = g
        for leaf, g in zip(hidden, grads[len(targets) :]):
            if g is not None:
                engine._accumulate(leaf, g, create_graph)
        return (None, *result)


def _recompute(run, inputs):
    from ember.amp import _Restored

    current = ember_random.get_rng_state() if run.rng is not None else None
    if current is not None:
        ember_random.set_rng_state(run.rng)
    try:
        with grad_mode.enable_grad(), _Restored(run.autocast):
            outs, _ = _outputs(run.call(inputs))
    finally:
        if current is not None:
            ember_random.set_rng_state(current)
    return outs


def _leaves(roots, stop=frozenset()):
    """The leaf tensors that require grad in the graph behind ``roots``, not looking past
    the nodes in ``stop`` (the inputs' own graph)."""
    found, seen = [], set(stop)
    stack = [r.grad_fn for r in roots if r.grad_fn is not None]
    for r in roots:
        if r.grad_fn is None and r.requires_grad:
            found.append(r)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, AccumulateGrad):
            if node.variable is not None:  # None: a leaf that no longer exists
                found.append(node.variable)
            continue
        for edge in getattr(node, "next_edges", ()):
            if edge is not None:
                stack.append(edge[0])
    return found


def _reachable_leaves(function, args, kwargs) -> list:
    """Tensors that require grad which ``function`` can reach (see the module docstring)."""
    from ember.nn.module import Module

    found, seen = [], set()

    def add(t):
        if t.requires_grad and t.grad_fn is None and id(t) not in seen:
            seen.add(id(t))
            found.append(t)

    def visit(obj, depth=2):
        if isinstance(obj, Module):
            for p in obj.parameters():
                add(p)
        elif isinstance(obj, Tensor):
            add(obj)
        elif isinstance(obj, functools.partial):
            visit(obj.func, depth)
            for v in (*obj.args, *obj.keywords.values()):
                visit(v, depth)
        elif isinstance(obj, types.MethodType):
            visit(obj.__self__, depth)
            visit(obj.__func__, depth)
        elif isinstance(obj, types.FunctionType) and depth:
            for cell in obj.__closure__ or ():
                try:
                    visit(cell.cell_contents, depth - 1)
                except ValueError:  # an empty cell
                    pass
            g = obj.__globals__
            for name in obj.__code__.co_names:
                v = g.get(name)
                if isinstance(v, (Module, Tensor)):
                    visit(v, 0)
        elif isinstance(obj, (list, tuple, dict)) and depth:
            for v in obj.values() if isinstance(obj, dict) else obj:
                visit(v, depth - 1)

    arg_ids = {id(a) for a in args if isinstance(a, Tensor)}
    seen.update(arg_ids)
    visit(function)
    for a in args:
        if not isinstance(a, Tensor):
            visit(a, 1)
    for v in kwargs.values():
        visit(v, 1)
    return found


def checkpoint(function, *args, use_reentrant: bool = False, preserve_rng_state: bool = True,
               **kwargs):  # fmt: skip
    """Run ``function(*args, **kwargs)`` without keeping its activations; recompute them
    when backward reaches it.

    Args:
        function: a module or a function returning a Tensor or a tuple of Tensors.
        *args: its arguments; the Tensors among them are saved (and get gradients).
        use_reentrant: False (the default) also makes the parameters ``function`` reaches
            inputs of the checkpoint (see the module docstring); True keeps only the tensor
            arguments, as PyTorch's reentrant variant.
        preserve_rng_state: restore the random generator for the recomputation, so dropout
            draws the same masks (False saves the state's copy when nothing is random).
        **kwargs: passed to ``function`` (Tensors here are not saved nor differentiated).

    Returns what ``function`` returns.

    Example::

        y = checkpoint(block, x)            # same y and gradients as block(x)
        y.sum().backward()
    """
    if not callable(function):
        raise TypeError(
            f"checkpoint: expected a function or module, received {type(function).__name__}"
        )
    if not grad_mode.is_grad_enabled():
        return function(*args, **kwargs)  # nothing to record, nothing to save
    positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
    inputs = [args[i] for i in positions]
    params = [] if use_reentrant else _reachable_leaves(function, args, kwargs)
    if not any(t.requires_grad for t in inputs) and not params:
        if use_reentrant:
            warnings.warn(
                "checkpoint: none of the inputs requires grad, so the outputs will not either "
                "(with use_reentrant=True, parameters get gradients only through inputs that "
                "require grad)",
                stacklevel=2,
            )
            with grad_mode.no_grad():
                return function(*args, **kwargs)
        warnings.warn(
            "checkpoint: found no input or parameter that requires grad; running the function "
            "without checkpointing",
            stacklevel=2,
        )
        return function(*args, **kwargs)
    from ember.amp import _snapshot

    rest = tuple(None if i in set(positions) else a for i, a in enumerate(args))
    rng = ember_random.get_rng_state() if preserve_rng_state else None
    run = _Run(function, rest, kwargs, positions, rng, _snapshot())
    return _Checkpoint.apply(run, *inputs, *params)


def checkpoint_sequential(functions, segments: int, input, use_reentrant: bool = False,
                          preserve_rng_state: bool = True):  # fmt: skip
    """Run a sequence of modules (an ``nn.Sequential`` or a list) in ``segments`` chunks,
    checkpointing every chunk but the last.

    Example::

        y = checkpoint_sequential(model.layers, 4, x)
    """
    from ember.nn.module import Module

    if isinstance(functions, Module):
        functions = list(functions.children())
    functions = list(functions)
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise ValueError(f"checkpoint_sequential: expected segments >= 1, received {segments!r}")
    if segments > len(functions):
        raise ValueError(
            f"checkpoint_sequential: {segments} segments for {len(functions)} functions; "
            "expected at most one segment per function"
        )
    size = -(-len(functions) // segments)

    def run_segment(start, end):
        chunk = functions[start:end]  # the closure holds this chunk's modules only

        def forward(x):
            for f in chunk:
                x = f(x)
            return x

        return forward

    x = input
    bounds = [(s, min(s + size, len(functions))) for s in range(0, len(functions), size)]
    for start, end in bounds[:-1]:
        seg = run_segment(start, end)
        x = checkpoint(seg, x, use_reentrant=use_reentrant, preserve_rng_state=preserve_rng_state)
    start, end = bounds[-1]
    return run_segment(start, end)(x)
