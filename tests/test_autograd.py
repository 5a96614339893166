"""The autograd engine: accumulation, retain_graph, grad modes, hooks, higher order,
in-place safety, anomaly detection and user-defined Functions — each against PyTorch."""

import gc
import warnings
import weakref

import numpy as np
import pytest
import torch

import ember
from ember.autograd import Function
from tests.oracle import check, check_raises, positive, rand


def both(a):
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def close(e, t, rtol=1e-7):
    np.testing.assert_allclose(
        np.asarray(e.detach().numpy()), t.detach().numpy(), rtol=rtol, atol=1e-12
    )


def test_oracle_smoke_mul_exp():
    check(lambda m, x, y: (x * y).exp(), rand(3, 4), rand(4), gradgrad=True)


@pytest.mark.parametrize(
    "a,b", [((3, 4), (4, 5)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4, 5)),
            ((2, 1, 3, 4), (5, 4, 2)), ((0, 3), (3, 2))],
)  # fmt: skip
def test_matmul_cases(a, b):
    check(lambda m, x, y: x @ y, rand(*a), rand(*b), gradgrad=True)


def test_gradients_accumulate_across_backward_calls():
    a = rand(3)
    e, t = both(a)
    for lib, x in ((ember, e), (torch, t)):
        (x * x).sum().backward()
        (x * 3).sum().backward()
    close(e.grad, t.grad)
    np.testing.assert_allclose(e.grad.numpy(), 2 * a + 3)


def test_second_backward_needs_retain_graph():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    z = (x.exp() * 2).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_allclose(
        x.grad.numpy(), 2 * np.array([1.0, 2.0]) + 4 * np.exp([1.0, 2.0]), rtol=1e-6
    )


def test_saved_arrays_are_released_after_backward():
    x = ember.randn(5, requires_grad=True)
    y = x * x
    node = y.grad_fn
    assert node._saved is not None
    y.sum().backward()
    assert node._saved is None


def test_grad_modes():
    x = ember.ones(2, requires_grad=True)
    with ember.no_grad():
        y = x * 2
        assert not y.requires_grad
        with ember.enable_grad():
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @ember.no_grad()
    def f(v):
        return v * 2

    assert not f(x).requires_grad
    ember.set_grad_enabled(False)
    try:
        assert not (x * 2).requires_grad
    finally:
        ember.set_grad_enabled(True)
    with ember.set_grad_enabled(False):
        assert not ember.is_grad_enabled()
    assert ember.is_grad_enabled()

    @ember.set_grad_enabled(False)
    def g(v):
        return v * 2

    assert ember.is_grad_enabled() and not g(x).requires_grad


def _inference_mode_states(m):
    """(grad enabled, inference mode enabled) at each step of a program of nested switches."""
    seen = []

    def note():
        seen.append((m.is_grad_enabled(), m.is_inference_mode_enabled()))

    @m.inference_mode
    def bare():
        note()

    @m.inference_mode(False)
    def off():
        note()

    with m.inference_mode():
        note()
        with m.inference_mode(False):
            note()
        with m.enable_grad():
            note()
        off()
        note()
    note()
    with m.no_grad():
        with m.inference_mode(mode=False):  # turns recording back on, as in PyTorch
            note()
        bare()
        note()
    try:
        with m.inference_mode():
            raise KeyError
    except KeyError:
        note()
    return seen


def test_inference_mode_switches_like_torch():
    assert _inference_mode_states(ember) == _inference_mode_states(torch)


def test_inference_mode_records_nothing():
    x = ember.ones(2, requires_grad=True)
    with ember.inference_mode():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @ember.inference_mode()
    def f(v):
        return v.exp()

    assert not f(x).requires_grad and (x * 2).requires_grad
    assert f.__name__ == "f" and ember.autograd.inference_mode is ember.inference_mode


def test_requires_grad_rules():
    x = ember.zeros(3)
    assert x.requires_grad_() is x and x.requires_grad and x.is_leaf
    y = x * 2
    assert not y.is_leaf
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad = False
    with pytest.raises(RuntimeError, match="floating-point"):
        ember.zeros(3, dtype=ember.int64).requires_grad_()


def test_backward_of_non_scalar_needs_gradient():
    x = ember.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"shape \(3,\)"):
        (x * 2).backward()
    (x * 2).backward(ember.tensor([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2, 4, 6])
    with pytest.raises(RuntimeError, match="does not require grad"):
        ember.ones(2).sum().backward()


def test_hooks_on_leaf_and_intermediate_match_torch():
    a = rand(4)
    res = {}
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        seen = []
        x.register_hook(lambda g: g * 2)
        y = x * x
        h = y.register_hook(lambda g, seen=seen: seen.append(g.clone()) or g + 1)
        (y * 3).sum().backward()
        h.remove()
        y2 = x * 1
        (y2 * 3).sum().backward()
        res[lib.__name__] = (x.grad, seen[0])
    close(res["ember"][0], res["torch"][0])
    close(res["ember"][1], res["torch"][1])


def test_retain_grad():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    y.retain_grad()
    (y * y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [6.0, 12.0])


def test_hessian_vector_product_matches_torch():
    a, v = rand(5), rand(5)
    out = {}
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        vv = lib.tensor(v)
        y = (x * x * x).sum() + (x.exp() * x).sum()
        (g,) = lib.autograd.grad(y, x, create_graph=True)
        (hv,) = lib.autograd.grad((g * vv).sum(), x)
        out[lib.__name__] = hv
    close(out["ember"], out["torch"])


def test_gradient_penalty_third_order():
    a = rand(3)
    out = {}
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        (g,) = lib.autograd.grad((x**4).sum(), x, create_graph=True)
        (g2,) = lib.autograd.grad((g * g).sum(), x, create_graph=True)
        (g3,) = lib.autograd.grad(g2.sum(), x)
        out[lib.__name__] = g3
    close(out["ember"], out["torch"])


def test_grad_leaves_dot_grad_alone_and_unused_inputs():
    x = ember.ones(2, requires_grad=True)
    z = ember.ones(2, requires_grad=True)
    (gx,) = ember.autograd.grad((x * 2).sum(), [x])
    assert x.grad is None and gx.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="allow_unused"):
        ember.autograd.grad((x * 2).sum(), [x, z])
    gx, gz = ember.autograd.grad((x * 2).sum(), [x, z], allow_unused=True)
    assert gz is None


def test_grad_wrt_intermediate():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    y = (h * 3).sum()
    (gh,) = ember.autograd.grad(y, h)
    np.testing.assert_allclose(gh.numpy(), [3.0, 3.0])


def test_inplace_on_saved_tensor_raises_naming_the_op():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    h = x * 1
    y = h * h  # Mul saves h
    h.add_(1)
    with pytest.raises(RuntimeError, match="Mul saved .* in-place"):
        y.sum().backward()


def test_inplace_after_exp_is_fine_as_in_torch():
    a = rand(3)
    out = {}
    for lib in (ember, torch):
        x = lib.tensor(a, requires_grad=True)
        h = x * 1
        e = h.exp()  # saves its output, not h
        h.add_(1)
        (e.sum() + h.sum()).backward()
        out[lib.__name__] = x.grad
    close(out["ember"], out["torch"])


def test_inplace_mul_keeps_original_for_gradient():
    a, b = rand(3), rand(3)
    out = {}
    for lib in (ember, torch):
        x, w = lib.tensor(a, requires_grad=True), lib.tensor(b, requires_grad=True)
        h = x * 1
        h.mul_(w)
        assert h._version == 1
        (h * h).sum().backward()
        out[lib.__name__] = (x.grad, w.grad)
    close(out["ember"][0], out["torch"][0])
    close(out["ember"][1], out["torch"][1])


def test_inplace_on_leaf_requiring_grad_raises():
    x = ember.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf"):
        x.add_(1)
    with ember.no_grad():
        x.add_(1)
    assert x.tolist() == [2.0, 2.0]


def test_version_counter_shared_with_views():
    x = ember.zeros(2, 3)
    v = x.reshape(6)
    x.add_(1)
    assert v._version == x._version == 1
    assert v.tolist() == [1.0] * 6


def test_detect_anomaly_names_forward_op_and_line():
    x = ember.tensor([0.0, 1.0], requires_grad=True)
    with ember.autograd.detect_anomaly():
        y = (x.log() * 0).sum()  # log'(0) = inf, times 0 -> nan
        with pytest.raises(RuntimeError) as info:
            y.backward()
    msg = str(info.value)
    assert "Log" in msg and "test_autograd.py" in msg and "x.log()" in msg


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * 3 * x * x


class TorchCube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, gy):
        (x,) = ctx.saved_tensors
        return gy * 3 * x * x


def test_user_defined_function_first_and_second_order():
    check(lambda m, x: (Cube if m is ember else TorchCube).apply(x), rand(4), gradgrad=True)


def test_user_function_with_non_tensor_args_and_two_outputs():
    class ScaleShift(Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.scale = scale
            return x * scale, x + 1

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * ctx.scale + g2, None

    x = ember.tensor([1.0, 2.0], requires_grad=True)
    a, b = ScaleShift.apply(x, 5.0)
    (a.sum() + b.sum()).backward()
    assert x.grad.tolist() == [6.0, 6.0]


def test_mixed_devices_error_names_both():
    # Only the CPU exists here; simulate the check's message through a Function.
    x = ember.ones(2)
    with pytest.raises(RuntimeError, match="cuda|CuPy"):
        x.to("cuda")


def _view_inplace_program(lib, a, v, w):
    x = lib.tensor(a, requires_grad=True)
    vv = lib.tensor(v, requires_grad=True)
    ww = lib.tensor(w, requires_grad=True)
    y = x * 1
    y[0] += vv  # getitem view, in-place add, then setitem
    y[1][2] = ww.sum()  # setitem on a view of a view
    col = y[:, 1]
    col.mul_(3)  # in-place method on a view
    y.t()[0].add_(ww[0])  # a view of a transposed view
    loss = (y * y).sum() + (col * 2).sum()
    loss.backward()
    return y, x.grad, vv.grad, ww.grad


def test_inplace_changes_to_views_are_recorded_like_torch():
    a, v, w = rand(3, 4), rand(4), rand(2)
    e = _view_inplace_program(ember, a, v, w)
    t = _view_inplace_program(torch, a, v, w)
    for ei, ti in zip(e, t):
        close(ei, ti)


def test_inplace_on_view_of_leaf_requiring_grad_raises():
    x = ember.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf"):
        x[0].add_(1)


# ---------------------------------------------------------------- the per-op fast paths
_BINARY = {
    "add": lambda m, x, y: x + y,
    "sub": lambda m, x, y: x - y,
    "mul": lambda m, x, y: x * y,
    "div": lambda m, x, y: x / y,
}


@pytest.mark.parametrize("op", sorted(_BINARY))
@pytest.mark.parametrize(
    "a,b", [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (3,)), ((0, 2), (2,))]
)  # fmt: skip
def test_binary_ops_on_same_dtype_tensors(op, a, b):
    # two tensors of one floating dtype take the fast path (no promotion); same shapes or not
    b_data = positive(*b) if op == "div" else rand(*b)
    check(_BINARY[op], rand(*a), b_data, gradgrad=True)
    check(_BINARY[op], rand(*a, dtype=np.float32), b_data.astype(np.float32))


@pytest.mark.parametrize("op", sorted(_BINARY))
@pytest.mark.parametrize("number", [2, -0.75, 3.5])
def test_binary_ops_with_python_numbers_on_either_side(op, number):
    # a float tensor and a Python int or float: the number goes to forward as it is
    x = positive(3, 2)
    check(lambda m, t: _BINARY[op](m, t, number), x, gradgrad=True)
    check(lambda m, t: _BINARY[op](m, number, t), x, gradgrad=True)
    check(lambda m, t: _BINARY[op](m, t, number), x.astype(np.float32))
    check(lambda m, t: _BINARY[op](m, number, t), np.asarray(1.5, dtype=np.float32))


@pytest.mark.parametrize("op", sorted(_BINARY))
def test_binary_ops_that_promote_still_take_the_general_path(op):
    ints = np.array([1, 2, 3])
    check(lambda m, x, i: _BINARY[op](m, x, i), rand(3, dtype=np.float32), ints)
    check(lambda m, i, x: _BINARY[op](m, i, x), ints, positive(3))
    check(lambda m, x, y: _BINARY[op](m, x, y), rand(3, dtype=np.float32), positive(3))
    check(lambda m, i: _BINARY[op](m, i, 2), ints, grad=False)
    check(lambda m, i: _BINARY[op](m, i, 2.5), ints, grad=False)


def test_binary_ops_with_parameters_and_alpha():
    w = ember.nn.Parameter(ember.tensor([1.0, 2.0]))
    tw = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    for e, t in ((w * w + w / 2 - 1, tw * tw + tw / 2 - 1), (ember.add(w, w, alpha=2),
                 torch.add(tw, tw, alpha=2))):  # fmt: skip
        close(e, t)
        e.sum().backward()
        t.sum().backward()
        close(w.grad, tw.grad)


@pytest.mark.parametrize("op", sorted(_BINARY))
def test_binary_ops_same_dtype_broadcast_error(op):
    check_raises(
        _BINARY[op], rand(3), rand(4), match=f"{op}: cannot broadcast shapes (3,) and (4,)"
    )


def test_a_number_beyond_the_dtype_is_cast_as_a_weak_scalar():
    # float32 * 1e300: the number becomes inf in float32 (with no warning), as in PyTorch
    check(lambda m, x: x * 1e300, rand(3, dtype=np.float32), grad=False)
    check(lambda m, x: x + 2**62 + 1, rand(3, dtype=np.float32), grad=False)  # rounded


def _inf_nan_program(m, x):
    inf = float("inf")
    y = (x * inf) - inf  # inf - inf: nan
    z = x / 0  # x / 0: inf
    w = (x - x).log()  # log(0): -inf
    (y + z + w).sum().backward()
    return y, z, w


def test_ops_are_silent_and_leave_numpy_error_state_alone():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    with np.errstate(all="raise"), warnings.catch_warnings():
        warnings.simplefilter("error")  # a NumPy warning would fail the test
        y, z, w = _inf_nan_program(ember, x)
        assert np.geterr() == {"divide": "raise", "over": "raise", "under": "raise",
                               "invalid": "raise"}  # fmt: skip
        with pytest.raises(FloatingPointError):
            np.float64(1.0) / np.float64(0.0)  # the user's own setting still holds
    assert np.isnan(y.detach().numpy()).all() and np.isinf(z.detach().numpy()).all()
    assert np.isneginf(w.detach().numpy()).all()


def test_quiet_skips_setting_the_state_when_it_is_set_already():
    from ember.ops._util import ignoring_fp_errors, quiet

    calls = []

    @quiet
    def divide(a, b):
        calls.append(np.geterr()["divide"])
        return a / b

    with np.errstate(divide="raise"):
        assert divide(np.ones(2), np.zeros(2)).tolist() == [np.inf, np.inf]
        with ignoring_fp_errors():
            assert divide(np.ones(2), np.zeros(2)).tolist() == [np.inf, np.inf]
        assert np.geterr()["divide"] == "raise"
    assert calls == ["ignore", "ignore"]


# ---------------------------------------------------------------- graph bookkeeping
def test_a_leaf_keeps_one_node_and_is_freed_with_its_last_reference():
    x = ember.randn(3, requires_grad=True)
    a = (x * 2).grad_fn.next_functions[0][0]
    b = (x.exp()).grad_fn.next_functions[0][0]
    assert a is b and a.variable is x and type(a).__name__ == "AccumulateGrad"
    # the node refers to the leaf weakly: no reference cycle, so the leaf goes with its last
    # reference even while a graph that uses it lives on
    y = x * 3
    ref = weakref.ref(x)
    gc.disable()
    try:
        del x
        assert ref() is None
    finally:
        gc.enable()
    y.sum().backward()  # its gradient has nowhere to go, and that is fine
    assert y.grad_fn.next_functions[0][0].variable is None


def test_hooks_on_a_leaf_fire_after_many_ops():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(g.tolist()))
    for _ in range(3):
        (x * x).sum().backward()
    assert seen == [[2.0, 4.0]] * 3 and x.grad.tolist() == [6.0, 12.0]


def test_checkpoint_of_a_function_with_a_leaf_of_its_own():
    from ember.utils.checkpoint import checkpoint

    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = checkpoint(lambda t: t * ember.full((2,), 3.0, requires_grad=True), x)
    y.sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_saved_inputs_and_outputs_of_non_leaves_second_order():
    # Mul saves its inputs (here computed, non-leaf tensors), Exp its output: both come back
    # attached to the graph, so the second derivative flows through them
    check(lambda m, x, y: ((x * 1) * (y + 0)).exp(), rand(3), rand(3), gradgrad=True)
    check(lambda m, x: (x * 2) / (x.exp() + 1), rand(2, 3), gradgrad=True)


def test_gradients_reduced_to_the_shape_and_dtype_of_non_leaf_inputs():
    # the gradient for h (made by another node) is summed over the broadcast dimension and
    # cast to h's float32, the gradient for b to float64
    check(lambda m, x, b: (x * 2) + b, rand(4, 3, dtype=np.float32), rand(3), gradcheck=False)
    check(lambda m, x, b: (x * 2) * b.unsqueeze(0), rand(4, 3), rand(3), gradgrad=True)


def test_outputs_get_their_own_version_counter():
    x = ember.zeros(2, requires_grad=True)
    y, z = x * 2, x * 3
    with ember.no_grad():
        y.add_(1)
    assert (y._version, z._version, ember.zeros(1)._version) == (1, 0, 0)
