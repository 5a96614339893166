"""The oracle: run an op in ember and in PyTorch on the same inputs and compare.

``check(f, *args)`` calls ``f(ember, *ember_args)`` and ``f(torch, *torch_args)``, where
NumPy arrays in ``args`` become tensors on each side (floating ones requiring grad), and
compares values, dtypes and shapes of the outputs; then the gradient of every input
(against ``torch.autograd.grad``); optionally a float64 finite-difference gradcheck of
ember alone and a second-order check against PyTorch. One lambda serves both libraries::

    check(lambda m, x: m.exp(x), rand(3, 4))
    check(lambda m, x, y: x @ y, rand(2, 3), rand(3, 4), gradgrad=True)

Torch is imported unconditionally: without it the oracle tests fail, never skip.
"""

from __future__ import annotations

import atexit
import os

import numpy as np
import torch

import ember

RNG_SEED = 1234
TORCH_TO_NAME = {
    torch.float16: "float16", torch.bfloat16: "bfloat16", torch.float32: "float32",
    torch.float64: "float64", torch.uint8: "uint8", torch.int8: "int8", torch.int16: "int16",
    torch.int32: "int32", torch.int64: "int64", torch.bool: "bool",
}  # fmt: skip
calls = {"oracle": 0}


def _report_calls():
    """Where CI asks (EMBER_ORACLE_LOG), leave the number of oracle comparisons made by this
    process, so that .ci/run can fail a run in which none happened."""
    folder = os.environ.get("EMBER_ORACLE_LOG")
    if folder:
        with open(os.path.join(folder, f"calls-{os.getpid()}.txt"), "w") as fh:
            fh.write(str(calls["oracle"]))


atexit.register(_report_calls)


def rand(*shape, dtype=np.float64, low=-1.0, high=1.0, seed=None):
    """Seeded uniform test data; a different stream for each call unless ``seed`` is given."""
    rng = np.random.default_rng(seed if seed is not None else _next_seed())
    return rng.uniform(low, high, shape).astype(dtype)


def positive(*shape, dtype=np.float64, low=0.2, high=2.0):
    return rand(*shape, dtype=dtype, low=low, high=high)


def randint(high, *shape, low=0, dtype=np.int64):
    return np.random.default_rng(_next_seed()).integers(low, high, shape).astype(dtype)


_seed = [RNG_SEED]


def _next_seed():
    _seed[0] += 1
    return _seed[0]


def _is_float_np(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def _convert(args, lib, grad):
    """NumPy arrays -> tensors of ``lib``; lists/tuples converted element by element."""
    leaves = []

    def conv(a):
        if isinstance(a, np.ndarray):
            if lib is torch:
                t = torch.from_numpy(a.copy())
            else:
                t = ember.tensor(a.copy())
            if grad and a.dtype.kind == "f":
                t.requires_grad_(True)
                leaves.append(t)
            return t
        if isinstance(a, list) and a and all(isinstance(x, np.ndarray) for x in a):
            return [conv(x) for x in a]
        if isinstance(a, tuple) and a and all(isinstance(x, np.ndarray) for x in a):
            return tuple(conv(x) for x in a)
        return a

    return [conv(a) for a in args], leaves


def _outputs(out):
    if isinstance(out, (tuple, list)):
        return list(out)
    if hasattr(out, "values") and hasattr(out, "indices") and not callable(out.values):
        return [out.values, out.indices]
    return [out]


def _np(t):
    if isinstance(t, torch.Tensor):
        t = t.detach()
        if t.dtype == torch.bfloat16:
            t = t.float()
        return t.numpy(force=True)  # force: PyTorch gives some zero gradients as ZeroTensors
    a = t.detach().numpy()
    return a.astype(np.float32) if a.dtype.kind == "V" else a


def _assert_close(e, t, rtol, atol, what):
    en, tn = _np(e), _np(t)
    assert en.shape == tn.shape, f"{what}: shape {en.shape} != torch {tn.shape}"
    if tn.dtype.kind in "fc":
        np.testing.assert_allclose(en, tn, rtol=rtol, atol=atol, err_msg=what, equal_nan=True)
    else:
        np.testing.assert_array_equal(en, tn, err_msg=what)


def _tols(dtype_name):
    return {
        "float64": (1e-7, 1e-9), "float32": (1e-4, 1e-5),
        "float16": (1e-2, 1e-2), "bfloat16": (2e-2, 2e-2),
    }.get(dtype_name, (0, 0))  # fmt: skip


def check(f, *args, grad=True, gradcheck=True, gradgrad=False, rtol=None, atol=None,
          eps=1e-6, gc_rtol=1e-5, gc_atol=1e-6, seed=7):  # fmt: skip
    """Compare ``f(ember, *args)`` with ``f(torch, *args)``: outputs, and the gradients of
    every floating input; see the module docstring."""
    calls["oracle"] += 1
    e_args, e_leaves = _convert(args, ember, grad)
    t_args, t_leaves = _convert(args, torch, grad)
    e_out = _outputs(f(ember, *e_args))
    t_out = _outputs(f(torch, *t_args))
    assert len(e_out) == len(t_out), f"{len(e_out)} outputs, torch has {len(t_out)}"
    for i, (e, t) in enumerate(zip(e_out, t_out)):
        assert isinstance(e, ember.Tensor), f"output {i} is {type(e).__name__}, not a Tensor"
        tname = TORCH_TO_NAME[t.dtype]
        assert e.dtype.name == tname, f"output {i}: dtype {e.dtype.name} != torch {tname}"
        assert tuple(e.shape) == tuple(t.shape), (
            f"output {i}: shape {tuple(e.shape)} != torch {tuple(t.shape)}"
        )
        r, a = _tols(tname)
        _assert_close(
            e, t, rtol if rtol is not None else r, atol if atol is not None else a, f"output {i}"
        )

    if not grad or not t_leaves:
        return
    diff = [i for i, t in enumerate(t_out) if t.requires_grad]
    if not diff:
        return
    rng = np.random.default_rng(seed)
    ups = [rng.uniform(-1, 1, tuple(t_out[i].shape)).astype(_np(t_out[i]).dtype) for i in diff]
    t_grads = torch.autograd.grad(
        [t_out[i] for i in diff], t_leaves, [torch.from_numpy(u) for u in ups], allow_unused=True
    )
    e_grads = ember.autograd.grad(
        [e_out[i] for i in diff], e_leaves, [ember.tensor(u) for u in ups], allow_unused=True
    )
    for k, (eg, tg, leaf) in enumerate(zip(e_grads, t_grads, t_leaves)):
        if tg is None:
            tg = torch.zeros_like(leaf)
        if eg is None:
            eg = ember.zeros(tuple(leaf.shape), dtype=e_leaves[k].dtype)
        assert eg.dtype.name == TORCH_TO_NAME[tg.dtype], f"grad {k}: dtype {eg.dtype} != {tg.dtype}"
        r, a = _tols(TORCH_TO_NAME[tg.dtype])
        _assert_close(
            eg,
            tg,
            rtol if rtol is not None else r,
            atol if atol is not None else a,
            f"grad of input {k}",
        )

    if gradcheck and all(_np(x).dtype == np.float64 for x in e_leaves):
        _gradcheck(f, args, e_args, e_leaves, diff, ups, e_grads, eps, gc_rtol, gc_atol)
    if gradgrad:
        _gradgrad(f, args, seed, rtol, atol)


def _gradcheck(f, args, e_args, e_leaves, diff, ups, e_grads, eps, rtol, atol):
    """Central finite differences of sum(out * up) against ember's analytical gradients."""

    def objective():
        with ember.no_grad():
            outs = _outputs(f(ember, *e_args))
            return sum(
                float((_np(outs[i]).astype(np.float64) * u).sum()) for i, u in zip(diff, ups)
            )

    for k, leaf in enumerate(e_leaves):
        data = leaf._data
        num = np.zeros(data.shape)
        flat = data.reshape(-1)
        for j in range(flat.size):
            old = flat[j]
            flat[j] = old + eps
            hi = objective()
            flat[j] = old - eps
            lo = objective()
            flat[j] = old
            num.reshape(-1)[j] = (hi - lo) / (2 * eps)
        ana = np.zeros(data.shape) if e_grads[k] is None else _np(e_grads[k])
        np.testing.assert_allclose(
            ana, num, rtol=rtol, atol=atol, err_msg=f"gradcheck of input {k}"
        )


def _gradgrad(f, args, seed, rtol, atol):
    """Second order: d/dx of sum(grad(sum(out * u), x) * v), against PyTorch."""
    rng = np.random.default_rng(seed + 1)
    results = {}
    for lib in (ember, torch):
        largs, leaves = _convert(args, lib, True)
        outs = [o for o in _outputs(f(lib, *largs)) if o.requires_grad]
        ups = [rng.uniform(-1, 1, tuple(o.shape)) for o in outs]
        rng = np.random.default_rng(seed + 1)
        mk = (lambda a: torch.from_numpy(a)) if lib is torch else ember.tensor
        ups_t = [mk(u.astype(_np(o).dtype)) for u, o in zip(ups, outs)]
        gs = lib.autograd.grad(outs, leaves, ups_t, create_graph=True, allow_unused=True)
        vs = [mk(np.random.default_rng(seed + 2 + i).uniform(-1, 1, tuple(x.shape)).astype(_np(x).dtype))
              for i, x in enumerate(leaves)]  # fmt: skip
        total = None
        for g, v in zip(gs, vs):
            if g is None or not g.requires_grad:
                continue
            term = (g * v).sum()
            total = term if total is None else total + term
        if total is None:
            results[lib.__name__] = None
            continue
        results[lib.__name__] = lib.autograd.grad(total, leaves, allow_unused=True)
    e, t = results["ember"], results["torch"]
    if e is None and t is None:
        return
    if e is None or t is None:
        # One side's gradient does not depend on the inputs at all (a linear or piecewise
        # linear op, such as nll_loss or l1_loss in ember), so the other side's second
        # derivative must be zero; a missing double backward still fails here.
        for k, g in enumerate(e if t is None else t):
            if g is not None:
                gn = _np(g)
                np.testing.assert_array_equal(gn, np.zeros_like(gn), err_msg=(
                    f"second-order grad of input {k}: one side has no second derivative, "
                    "the other's is not zero"))  # fmt: skip
        return
    for k, (eg, tg) in enumerate(zip(e, t)):
        if tg is None and eg is None:
            continue
        tn = np.zeros_like(_np(eg)) if tg is None else _np(tg)
        en = np.zeros_like(tn) if eg is None else _np(eg)
        r, a = _tols(str(tn.dtype))
        np.testing.assert_allclose(
            en, tn, rtol=rtol or r, atol=atol or a, err_msg=f"second-order grad of input {k}"
        )


def check_raises(f, *args, match: str, exc=(TypeError, ValueError, RuntimeError)):
    """ember must raise one of the user-error types with a message containing ``match``
    (and PyTorch must reject the same input, so the error is a real one)."""
    import pytest

    e_args, _ = _convert(args, ember, False)
    t_args, _ = _convert(args, torch, False)
    with pytest.raises(Exception):  # noqa: B017 - torch raises several types
        f(torch, *t_args)
    with pytest.raises(exc) as info:
        f(ember, *e_args)
    assert not isinstance(info.value, AssertionError)
    assert match in str(info.value), f"message {str(info.value)!r} lacks {match!r}"
    return info.value
