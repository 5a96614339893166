"""ember.nn.utils (gradient clipping, parameters <-> vector) against torch.nn.utils."""

import math

import numpy as np
import pytest
import torch

import ember
from ember.nn.utils import (
    clip_grad_norm_,
    clip_grad_value_,
    get_total_norm,
    parameters_to_vector,
    vector_to_parameters,
)
from tests import oracle
from tests.oracle import check_raises, rand

SHAPES = [(3, 4), (5,), (), (2, 0), (2, 3)]


def params_with_grads(lib, dtypes=None, scale=1.0, none_at=(), seed=0, grads=None):
    """One parameter per shape, with a seeded gradient (None at the positions ``none_at``)."""
    dtypes = dtypes or [np.float64] * len(SHAPES)
    out = []
    for i, (shape, dt) in enumerate(zip(SHAPES, dtypes)):
        p = rand(*shape, dtype=dt, seed=seed + i)
        g = grads[i] if grads is not None else rand(*shape, dtype=dt, seed=seed + 100 + i) * scale
        t = lib.tensor(p.copy()) if lib is ember else torch.tensor(p.copy())
        t.requires_grad_(True)
        if i not in none_at:
            t.grad = lib.tensor(np.asarray(g, dt).copy()) if lib is ember else torch.tensor(
                np.asarray(g, dt).copy())  # fmt: skip
        out.append(t)
    return out


def _np(t):
    return t.detach().numpy()


def compare_grads(e_ps, t_ps, rtol):
    for i, (e, t) in enumerate(zip(e_ps, t_ps)):
        assert (e.grad is None) == (t.grad is None), i
        if t.grad is not None:
            assert e.grad.dtype.name == str(t.grad.dtype).removeprefix("torch."), i
            np.testing.assert_allclose(_np(e.grad), _np(t.grad), rtol=rtol, atol=1e-12)


def compare_norm(e, t, rtol):
    oracle.calls["oracle"] += 1
    assert isinstance(e, ember.Tensor) and e.shape == () == tuple(t.shape)
    assert e.dtype.name == str(t.dtype).removeprefix("torch.")
    np.testing.assert_allclose(_np(e), _np(t), rtol=rtol)


NORM_TYPES = [2.0, 1, math.inf, "inf", -math.inf, 3.5, 0.5, 0]


@pytest.mark.parametrize("norm_type", NORM_TYPES, ids=str)
@pytest.mark.parametrize("max_norm", [0.5, 1e3], ids=["clips", "within"])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    # (the max/min norms of an empty gradient are errors, tested below)
    skip = (4,) if norm_type not in (math.inf, "inf", -math.inf) else (3, 4)
    e_ps, t_ps = params_with_grads(ember, none_at=skip), params_with_grads(torch, none_at=skip)
    e_norm = clip_grad_norm_(e_ps, max_norm, norm_type=norm_type)
    t_norm = torch.nn.utils.clip_grad_norm_(t_ps, max_norm, norm_type=norm_type)
    compare_norm(e_norm, t_norm, 1e-12)
    compare_grads(e_ps, t_ps, 1e-12)


def test_clip_grad_norm_float32_and_mixed_dtypes():
    for dts in ([np.float32] * 5, [np.float32, np.float64, np.float32, np.float64, np.float32]):
        e_ps, t_ps = params_with_grads(ember, dts, none_at=(3,)), params_with_grads(
            torch, dts, none_at=(3,))  # fmt: skip
        for norm_type in (2.0, math.inf):
            compare_norm(
                clip_grad_norm_(e_ps, 0.3, norm_type),
                torch.nn.utils.clip_grad_norm_(t_ps, 0.3, norm_type),
                1e-6,
            )
            compare_grads(e_ps, t_ps, 1e-6)


def test_clip_grad_norm_single_tensor_generator_and_empty():
    e, t = params_with_grads(ember)[0], params_with_grads(torch)[0]
    compare_norm(clip_grad_norm_(e, 0.1), torch.nn.utils.clip_grad_norm_(t, 0.1), 1e-12)
    compare_grads([e], [t], 1e-12)
    e_ps, t_ps = params_with_grads(ember), params_with_grads(torch)
    compare_norm(
        clip_grad_norm_((p for p in e_ps), 0.1),
        torch.nn.utils.clip_grad_norm_((p for p in t_ps), 0.1),
        1e-12,
    )
    # no gradients at all: a float32 zero, as torch
    e_ps, t_ps = (
        params_with_grads(ember, none_at=range(5)),
        params_with_grads(torch, none_at=range(5)),
    )
    compare_norm(clip_grad_norm_(e_ps, 1.0), torch.nn.utils.clip_grad_norm_(t_ps, 1.0), 0)
    with pytest.warns(UserWarning, match="empty generator"):
        clip_grad_norm_((p for p in []), 1.0)


def test_clip_grad_norm_bumps_versions_and_is_not_recorded():
    e_ps = params_with_grads(ember)
    versions = [p.grad._version for p in e_ps]
    clip_grad_norm_(e_ps, 0.01)
    assert [p.grad._version - v for p, v in zip(e_ps, versions)] == [1] * 5
    assert all(p.grad.grad_fn is None for p in e_ps)


def test_clip_grad_norm_nonfinite():
    grads = [rand(*s, seed=i) for i, s in enumerate(SHAPES)]
    grads[0][1, 2] = np.inf
    for flag in (False, True):
        e_ps = params_with_grads(ember, grads=grads)
        t_ps = params_with_grads(torch, grads=grads)
        if flag:
            with pytest.raises(RuntimeError, match="non-finite"):
                torch.nn.utils.clip_grad_norm_(t_ps, 1.0, error_if_nonfinite=True)
            with pytest.raises(RuntimeError, match="clip_grad_norm_: The total norm of order "
                               "2.0 for gradients from `parameters` is non-finite, so it cannot "
                               "be clipped"):  # fmt: skip
                clip_grad_norm_(e_ps, 1.0, error_if_nonfinite=True)
            # nothing was changed
            np.testing.assert_array_equal(_np(e_ps[1].grad), grads[1])
        else:
            compare_norm(clip_grad_norm_(e_ps, 1.0), torch.nn.utils.clip_grad_norm_(t_ps, 1.0), 0)
            compare_grads(e_ps, t_ps, 0)  # inf * 0 = nan where torch has it too


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf])
def test_get_total_norm(norm_type):
    e_ps, t_ps = params_with_grads(ember, none_at=(3,)), params_with_grads(torch, none_at=(3,))
    compare_norm(
        get_total_norm([p.grad for p in e_ps if p.grad is not None], norm_type),
        torch.nn.utils.get_total_norm([p.grad for p in t_ps if p.grad is not None], norm_type),
        1e-12,
    )


@pytest.mark.parametrize("clip_value", [0.3, 2.0, 0])
def test_clip_grad_value_matches_torch(clip_value):
    e_ps, t_ps = params_with_grads(ember, none_at=(1,)), params_with_grads(torch, none_at=(1,))
    assert clip_grad_value_(e_ps, clip_value) is None
    torch.nn.utils.clip_grad_value_(t_ps, clip_value)
    oracle.calls["oracle"] += 1
    compare_grads(e_ps, t_ps, 0)
    e, t = params_with_grads(ember)[0], params_with_grads(torch)[0]
    clip_grad_value_(e, clip_value)
    torch.nn.utils.clip_grad_value_(t, clip_value)
    compare_grads([e], [t], 0)


def test_clip_then_step_as_in_training():
    lin_e = ember.nn.Parameter(ember.tensor(rand(3, 2, seed=5)))
    lin_t = torch.nn.Parameter(torch.tensor(rand(3, 2, seed=5)))
    x = rand(4, 3, seed=6)
    for lib, w in ((ember, lin_e), (torch, lin_t)):
        opt = lib.optim.SGD([w], lr=0.5)
        for _ in range(3):
            opt.zero_grad()
            ((lib.tensor(x) @ w) ** 2).sum().backward()
            lib.nn.utils.clip_grad_norm_([w], 0.2)
            opt.step()
    oracle.calls["oracle"] += 1
    np.testing.assert_allclose(_np(lin_e), _np(lin_t), rtol=1e-12)


# ---------------------------------------------------------------------------- vectors
def test_parameters_to_vector_and_back():
    e_ps, t_ps = params_with_grads(ember), params_with_grads(torch)
    e_vec, t_vec = parameters_to_vector(e_ps), torch.nn.utils.parameters_to_vector(t_ps)
    oracle.calls["oracle"] += 1
    np.testing.assert_array_equal(_np(e_vec), _np(t_vec))
    # differentiable, as torch's
    (e_vec * ember.arange(e_vec.numel(), dtype=ember.float64)).sum().backward()
    assert e_ps[4].grad is not None
    new = rand(e_vec.numel(), seed=9)
    vector_to_parameters(ember.tensor(new), e_ps)
    torch.nn.utils.vector_to_parameters(torch.tensor(new), t_ps)
    for e, t in zip(e_ps, t_ps):
        np.testing.assert_array_equal(_np(e), _np(t))
        assert e.shape == tuple(t.shape)


def test_vector_errors():
    check_raises(
        lambda m: m.nn.utils.vector_to_parameters([1.0, 2.0], [m.zeros(2)]),
        match="vector_to_parameters: expected a Tensor, but got: list",
    )
    check_raises(
        lambda m: m.nn.utils.vector_to_parameters(m.zeros(3), [m.zeros(2, 2)]),
        match="expected a 1-D tensor of 4 elements (the parameters' total), received shape (3,)",
    )
    with pytest.raises(TypeError, match="received a single Tensor"):
        parameters_to_vector(ember.zeros(3))


def test_clip_errors():
    check_raises(
        lambda m: m.nn.utils.clip_grad_norm_([m.zeros(2)], "one"),
        match="clip_grad_norm_: expected max_norm to be a number, received 'one'",
    )
    check_raises(
        lambda m: m.nn.utils.clip_grad_value_([m.zeros(2)], None),
        match="clip_grad_value_: expected clip_value to be a number, received None",
    )
    check_raises(
        lambda m: m.nn.utils.clip_grad_norm_(3, 1.0),
        match="clip_grad_norm_: expected a Tensor or an iterable of Tensors, received int",
    )
    check_raises(
        lambda m: m.nn.utils.clip_grad_norm_([params_with_grads(m)[3]], 1.0, math.inf),
        match="clip_grad_norm_: cannot compute the inf norm of an empty tensor (shape (2, 0))",
    )
    with pytest.raises(TypeError, match="expected norm_type to be a number or 'inf'"):
        clip_grad_norm_([ember.zeros(2)], 1.0, norm_type="fro")
