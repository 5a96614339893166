"""The backward pass: a topological walk of the graph, from the outputs to the leaves.

Each node (a Function instance) receives the sum of the gradients of its outputs,
runs its ``backward`` and passes one gradient to each input's node. Gradients are
reduced to the input's shape (broadcasting undone) and cast to its dtype here, in one
place, so ops need not do it.
"""

from __future__ import annotations

from ember import backend
from ember.autograd import anomaly, grad_mode
from ember.autograd.function import AccumulateGrad
from ember.tensor import Tensor


def _topological(roots):
    """Nodes reachable from ``roots``, each after every node that feeds it a gradient."""
    order, seen = [], set()
    stack = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for edge in node.next_edges:
            if edge is not None and id(edge[0]) not in seen:
                stack.append((edge[0], False))
    order.reverse()
    return order


def _reduce_to(g: Tensor, shape, npdtype) -> Tensor:
    """Undo broadcasting: sum ``g`` down to ``shape``; cast it to the input's dtype."""
    if g._data.shape != shape:
        lead = g.ndim - len(shape)
        dims = tuple(range(lead)) + tuple(
            i + lead for i, n in enumerate(shape) if n == 1 and g._data.shape[i + lead] != 1
        )
        if dims:
            g = g.sum(dim=dims, keepdim=True)
        if lead or g._data.shape != shape:
            g = g.reshape(shape)
    if g._data.dtype != npdtype:
        g = g.to(_dtype_of(npdtype))
    return g


def _dtype_of(npdtype):
    from ember.dtypes import from_numpy_dtype

    return from_numpy_dtype(npdtype)


def _call_hooks(hooks, g):
    for hook in list(hooks):
        r = hook(g)
        if r is not None:
            g = r
    return g


def run(roots, root_grads, retain_graph, create_graph, inputs=None, allow_unused=False):
    """Backpropagate ``root_grads`` from ``roots``. With ``inputs``, return their gradients
    instead of accumulating into ``.grad`` (``autograd.grad``)."""
    root_edges = [t._edge() for t in roots]
    order = _topological([e[0] for e in root_edges])

    captures = {}
    needed = None  # for backward(), every node: each has an edge, and every path ends at a leaf
    if inputs is not None:
        for i, t in enumerate(inputs):
            node, nr = t._edge()
            captures.setdefault((id(node), nr), []).append(i)
        targets = {k[0] for k in captures}
        # for grad(), only the nodes whose gradients can reach an input
        needed = {}
        for node in reversed(order):
            needed[id(node)] = type(node) is not AccumulateGrad and any(
                e is not None and (needed.get(id(e[0])) or id(e[0]) in targets)
                for e in node.next_edges
            )

    buffers = {}  # id(node) -> {output number: the sum of the gradients that reached it}
    for (node, nr), g in zip(root_edges, root_grads):
        buf = buffers.setdefault(id(node), {})
        buf[nr] = g if nr not in buf else buf[nr] + g
    results = [None] * (len(inputs) if inputs is not None else 0)
    check = anomaly.state.enabled

    # Gradients of inf/nan are PyTorch's business as usual (anomaly mode reports them); NumPy's
    # floating-point warnings would only repeat them, once per op, so they are off in backward
    # (set once here, so that the ops' own quiet forwards need not set them again).
    with grad_mode.set_grad_enabled(create_graph), _ignoring_fp_errors():
        for node in order:
            buf = buffers.pop(id(node), None)
            if buf is None:
                continue
            hooks = node._hooks
            if hooks:
                for nr, hs in hooks.items():
                    if nr in buf:
                        buf[nr] = _call_hooks(hs, buf[nr])
            if captures:
                for nr, g in buf.items():
                    for i in captures.get((id(node), nr), ()):
                        results[i] = g
            if needed is not None and not needed[id(node)]:
                continue
            if type(node) is AccumulateGrad:
                leaf = node.variable
                if leaf is not None:  # None: the leaf was freed, nobody can see its .grad
                    _accumulate(leaf, buf[0], create_graph)
                continue
            if node._freed:
                raise RuntimeError(
                    f"autograd: backward through {type(node).__name__} a second time, but its "
                    "saved tensors were freed by the first backward. Pass retain_graph=True to "
                    "the first backward() if you need to run it again."
                )
            out_meta = node._out_meta
            if len(out_meta) == 1:  # one output, so the buffer holds its gradient
                grads = (buf[0],)
            else:  # outputs that got no gradient but need one get zeros
                grads = []
                for i, (shape, npd, req) in enumerate(out_meta):
                    g = buf.get(i)
                    if g is None and req:
                        xp = backend.get_array_module(next(iter(buf.values()))._data)
                        g = Tensor._make(xp.zeros(shape, npd))
                    grads.append(g)
            outs = type(node).backward(node, *grads)
            if not isinstance(outs, tuple):
                outs = (outs,)
            if not retain_graph:
                node._saved = None
                node._freed = True
            edges = node.next_edges
            if len(outs) > len(edges):
                raise RuntimeError(
                    f"{type(node).__name__}.backward returned {len(outs)} gradients, but forward "
                    f"received {len(edges)} arguments"
                )
            checked = [None] * len(edges) if check else None
            for i, gx in enumerate(outs):  # edges past the last gradient returned get none
                edge = edges[i]
                if edge is None or gx is None:
                    continue
                if not isinstance(gx, Tensor):
                    if backend.is_array(gx):
                        gx = Tensor._make(gx)
                    else:
                        raise TypeError(
                            f"{type(node).__name__}.backward must return Tensors or None, returned "
                            f"{type(gx).__name__} for input {i}"
                        )
                nxt, nr = edge
                # reduced to the shape and dtype of the input: a leaf's own, or that of the
                # output of the node that made it
                if type(nxt) is AccumulateGrad:
                    leaf = nxt.variable
                    if leaf is None:  # freed: nobody can see its gradient
                        continue
                    shape, npd = leaf._data.shape, leaf._data.dtype
                else:
                    shape, npd, _ = nxt._out_meta[nr]
                if gx._data.shape != shape or gx._data.dtype != npd:
                    gx = _reduce_to(gx, shape, npd)
                if check:
                    checked[i] = gx
                b = buffers.get(id(nxt))
                if b is None:
                    buffers[id(nxt)] = {nr: gx}
                else:
                    b[nr] = gx if nr not in b else b[nr] + gx
            if check:
                anomaly.check_gradients(node, checked)

    if inputs is not None:
        for i, r in enumerate(results):
            if r is None and not allow_unused:
                raise RuntimeError(
                    f"autograd.grad: input {i} (shape {tuple(inputs[i].shape)}) was not used to "
                    "compute the outputs; pass allow_unused=True to get None for it"
                )
        return tuple(results)
    return None


def _ignoring_fp_errors():
    # imported here: ember.ops imports the autograd package
    from ember.ops._util import ignoring_fp_errors

    return ignoring_fp_errors()


def _accumulate(leaf: Tensor, g: Tensor, create_graph: bool):
    grad = leaf.grad
    if create_graph:  # the sum stays in the graph
        leaf.grad = g if grad is None else grad + g
    elif grad is None:  # a copy: g may be shared (the same gradient reaching several leaves)
        leaf.grad = Tensor._make(g._data.copy())
    elif grad._requires_grad:
        leaf.grad = grad + g.detach()
    else:
        grad._data += g._data


def _root_grads(outputs, grad_outputs, op):
    grads = []
    for i, (t, g) in enumerate(zip(outputs, grad_outputs)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: expected Tensors as outputs, received {type(t).__name__}")
        if not t._requires_grad:
            raise RuntimeError(
                f"{op}: element {i} of the outputs does not require grad and has no grad_fn; "
                "did you compute it under no_grad(), or from tensors without requires_grad=True?"
            )
        if g is None:
            if t._data.size != 1:
                raise RuntimeError(
                    f"{op}: grad can be created implicitly only for outputs with one element; "
                    f"output {i} has shape {tuple(t.shape)}, so pass its gradient explicitly"
                )
            xp = backend.get_array_module(t._data)
            g = Tensor._make(xp.ones(t._data.shape, t._data.dtype))
        elif not isinstance(g, Tensor):
            raise TypeError(f"{op}: gradients must be Tensors, received {type(g).__name__}")
        elif g.shape != t.shape:
            raise RuntimeError(
                f"{op}: the gradient for output {i} has shape {tuple(g.shape)}, "
                f"but the output has shape {tuple(t.shape)}"
            )
        elif g._data.dtype != t._data.dtype:
            g = g.to(t.dtype)  # as PyTorch: a gradient takes its output's dtype
        grads.append(g)
    return grads


def _as_seq(x):
    if x is None:
        return None
    return list(x) if isinstance(x, (list, tuple)) else [x]


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Accumulate into ``.grad`` of the leaves the gradient of ``tensors``."""
    tensors = _as_seq(tensors)
    grads = _as_seq(grad_tensors) or [None] * len(tensors)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_grads(tensors, grads, "backward")
    if inputs is not None:
        inputs = _as_seq(inputs)
        got = run(tensors, roots, retain_graph, create_graph, inputs, allow_unused=True)
        for t, g in zip(inputs, got):
            if g is not None:
                _accumulate(t, g, create_graph)
        return
    run(tensors, roots, retain_graph, create_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):  # fmt: skip
    """The gradients of ``outputs`` with respect to ``inputs``, returned as a tuple
    (``.grad`` is left as it is). With ``create_graph=True`` the result is itself
    differentiable: Hessian-vector products, gradient penalties.

    Example::

        (gx,) = ember.autograd.grad(y.sum(), [x], create_graph=True)
    """
    outputs = _as_seq(outputs)
    inputs = _as_seq(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor) or not t._requires_grad:
            raise RuntimeError(f"autograd.grad: input {i} does not require grad")
    grads = _as_seq(grad_outputs) or [None] * len(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    roots = _root_grads(outputs, grads, "autograd.grad")
    return run(outputs, roots, retain_graph, create_graph, inputs, allow_unused)
