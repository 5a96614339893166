"""Mixed precision: ember.autocast against torch.autocast on the CPU (dtypes per op, values
within low-precision tolerances, gradients back in the parameters' dtype), and GradScaler's
scale trajectory and skipped steps against torch.amp.GradScaler("cpu")."""

import numpy as np
import pytest
import torch

import ember
from ember.amp import GradScaler, autocast_args
from tests.oracle import check, positive, rand, randint

LOW = ["bfloat16", "float16"]
TOL = {"rtol": 3e-2, "atol": 3e-2}


def under_autocast(fn, dtype="bfloat16"):
    def f(m, *args):
        with m.autocast("cpu", dtype=getattr(m, dtype)):
            return fn(m, *args)

    return f


def F(m):
    return m.nn.functional


# (name, function of (m, *inputs), inputs): run under autocast in ember and in PyTorch
LOW_PRECISION_OPS = [
    ("linear", lambda m, x, w, b: F(m).linear(x, w, b), (rand(4, 3), rand(5, 3), rand(5))),
    ("matmul", lambda m, a, b: m.matmul(a, b), (rand(2, 3, 4), rand(4, 5))),
    ("@", lambda m, a, b: a @ b, (rand(3, 4), rand(4, 2))),
    ("mm", lambda m, a, b: m.mm(a, b), (rand(3, 4), rand(4, 2))),
    ("bmm", lambda m, a, b: m.bmm(a, b), (rand(2, 3, 4), rand(2, 4, 5))),
    ("einsum", lambda m, a, b: m.einsum("bij,bjk->bik", a, b), (rand(2, 3, 4), rand(2, 4, 5))),
    ("conv1d", lambda m, x, w, b: F(m).conv1d(x, w, b, padding=1), (rand(2, 2, 6), rand(3, 2, 3), rand(3))),
    ("conv2d", lambda m, x, w, b: F(m).conv2d(x, w, b), (rand(1, 2, 5, 5), rand(3, 2, 3, 3), rand(3))),
    ("conv_transpose1d", lambda m, x, w: F(m).conv_transpose1d(x, w, stride=2), (rand(1, 2, 4), rand(2, 3, 3))),
    ("conv_transpose2d", lambda m, x, w: F(m).conv_transpose2d(x, w), (rand(1, 2, 3, 3), rand(2, 3, 2, 2))),
    ("sdpa", lambda m, q, k, v: F(m).scaled_dot_product_attention(q, k, v, is_causal=True),
     (rand(1, 2, 3, 4), rand(1, 2, 3, 4), rand(1, 2, 3, 4))),
]  # fmt: skip


@pytest.mark.parametrize("dtype", LOW)
@pytest.mark.parametrize("name,fn,inputs", LOW_PRECISION_OPS, ids=[o[0] for o in LOW_PRECISION_OPS])
def test_low_precision_ops_match_torch(name, fn, inputs, dtype):
    # float32 inputs and weights: outputs in the low dtype, gradients back in float32
    args = tuple(a.astype(np.float32) for a in inputs)
    check(under_autocast(fn, dtype), *args, **TOL)


def _bf(m, x):
    return x.to(m.bfloat16)


# ops PyTorch's CPU autocast runs in float32 (bfloat16 inputs come out float32) or leaves alone
FLOAT32_OPS = [
    ("cross_entropy", lambda m, x, t: F(m).cross_entropy(_bf(m, x), t), (rand(4, 5), randint(5, 4))),
    ("cross_entropy_probs", lambda m, x, t: F(m).cross_entropy(_bf(m, x), _bf(m, t)),
     (rand(4, 5), positive(4, 5))),
    ("nll_loss", lambda m, x, t: F(m).nll_loss(_bf(m, x), t), (rand(4, 5), randint(5, 4))),
    ("mse_loss", lambda m, x, t: F(m).mse_loss(_bf(m, x), _bf(m, t)), (rand(3, 4), rand(3, 4))),
    ("l1_loss", lambda m, x, t: F(m).l1_loss(_bf(m, x), t), (rand(3, 4), rand(3, 4))),
    ("smooth_l1_loss", lambda m, x, t: F(m).smooth_l1_loss(_bf(m, x), _bf(m, t)), (rand(3, 4), rand(3, 4))),
    ("kl_div", lambda m, x, t: F(m).kl_div(_bf(m, x), _bf(m, t), reduction="batchmean"),
     (rand(3, 4), positive(3, 4))),
    ("bce", lambda m, x, t: F(m).binary_cross_entropy(_bf(m, x), _bf(m, t)),
     (rand(3, 4, low=0.1, high=0.9), rand(3, 4, low=0, high=1))),
    ("bce_with_logits", lambda m, x, t: F(m).binary_cross_entropy_with_logits(_bf(m, x), t),
     (rand(3, 4), rand(3, 4, low=0, high=1))),
    ("pad_reflect", lambda m, x: F(m).pad(_bf(m, x), (1, 1, 1, 1), mode="reflect"), (rand(1, 1, 3, 3),)),
    ("pad_replicate", lambda m, x: F(m).pad(_bf(m, x), (1, 2), mode="replicate"), (rand(1, 2, 3),)),
    ("pad_constant", lambda m, x: F(m).pad(_bf(m, x), (1, 2)), (rand(1, 2, 3),)),
    ("softmax_bf16", lambda m, x: F(m).softmax(_bf(m, x), -1), (rand(3, 4),)),
    ("log_softmax_f32", lambda m, x: F(m).log_softmax(x, -1), (rand(3, 4),)),
    ("layer_norm", lambda m, x, w, b: F(m).layer_norm(_bf(m, x), (4,), w, b), (rand(3, 4), rand(4), rand(4))),
    ("group_norm", lambda m, x, w, b: F(m).group_norm(_bf(m, x), 2, w, b), (rand(2, 4, 3), rand(4), rand(4))),
    ("batch_norm", lambda m, x, w, b: F(m).batch_norm(_bf(m, x), m.zeros(3), m.ones(3), w, b, training=True),
     (rand(4, 3, 2), rand(3), rand(3))),
    ("adaptive_avg_pool2d", lambda m, x: F(m).adaptive_avg_pool2d(x, 2), (rand(1, 2, 5, 5),)),
    ("relu", lambda m, x: F(m).relu(x), (rand(3, 4),)),
    ("linear_float64", lambda m, x, w: F(m).linear(x, w), (rand(3, 4, dtype=np.float64), rand(2, 4, dtype=np.float64))),
]  # fmt: skip


@pytest.mark.parametrize("name,fn,inputs", FLOAT32_OPS, ids=[o[0] for o in FLOAT32_OPS])
def test_float32_and_untouched_ops_match_torch(name, fn, inputs):
    args = tuple(a.astype(np.float32) if a.dtype == np.float64 and name != "linear_float64" else a
                 for a in inputs)  # fmt: skip
    check(under_autocast(fn), *args, gradcheck=False, **TOL)


def test_float64_is_never_cast():
    x = ember.randn(3, 4, dtype=ember.float64)
    w = ember.randn(2, 4, dtype=ember.float64)
    with ember.autocast("cpu"):
        assert ember.nn.functional.linear(x, w).dtype is ember.float64
        assert ember.nn.functional.cross_entropy(x, ember.tensor([0, 1, 2])).dtype is ember.float64


def test_model_under_autocast_matches_torch():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, bias=False), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(4 * 4 * 4, 8), torch.nn.LayerNorm(8), torch.nn.Linear(8, 3),
    )  # fmt: skip
    em = ember.nn.Sequential(
        ember.nn.Conv2d(2, 4, 3, bias=False), ember.nn.BatchNorm2d(4), ember.nn.ReLU(), ember.nn.Flatten(),
        ember.nn.Linear(4 * 4 * 4, 8), ember.nn.LayerNorm(8), ember.nn.Linear(8, 3),
    )  # fmt: skip
    em.load_state_dict(tm.state_dict())
    x = rand(5, 2, 6, 6).astype(np.float32)
    t = randint(3, 5)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ty = tm(torch.from_numpy(x))
        tl = torch.nn.functional.cross_entropy(ty, torch.from_numpy(t))
    with ember.autocast("cpu", dtype=ember.bfloat16):
        ey = em(ember.tensor(x))
        el = ember.nn.functional.cross_entropy(ey, ember.tensor(t))
    assert ey.dtype.name == "bfloat16" and ty.dtype == torch.bfloat16
    assert el.dtype is ember.float32
    np.testing.assert_allclose(el.item(), tl.item(), rtol=2e-2)
    tl.backward()
    el.backward()
    for (name, tp), ep in zip(tm.named_parameters(), em.parameters()):
        assert ep.grad.dtype is ember.float32, name
        scale = np.abs(tp.grad.numpy()).max()
        np.testing.assert_allclose(
            ep.grad.numpy(), tp.grad.numpy(), atol=0.05 * scale, err_msg=name
        )
    # the running statistics were updated in float32, from the same batch
    np.testing.assert_allclose(
        em[1].running_mean.numpy(), tm[1].running_mean.numpy(), rtol=2e-2, atol=1e-3
    )
    assert em[1].running_mean.dtype is ember.float32


def test_autocast_state_nesting_and_decorator():
    x, w = ember.randn(2, 3), ember.randn(4, 3)
    lin = ember.nn.functional.linear
    assert not ember.amp.is_autocast_enabled("cpu")
    with ember.autocast("cpu", dtype=ember.bfloat16):
        assert ember.amp.is_autocast_enabled("cpu")
        assert ember.amp.get_autocast_dtype("cpu") is ember.bfloat16
        assert lin(x, w).dtype is ember.bfloat16
        with ember.autocast("cpu", enabled=False):
            assert lin(x, w).dtype is ember.float32
        with ember.autocast("cpu", dtype=ember.float16):
            assert lin(x, w).dtype is ember.float16
        assert lin(x, w).dtype is ember.bfloat16
        with ember.autocast("cuda"):  # another device type: CPU ops are unaffected
            assert lin(x, w).dtype is ember.bfloat16
    assert lin(x, w).dtype is ember.float32
    assert not ember.amp.state.on

    @ember.autocast("cpu", dtype=ember.float16)
    def f(a, b):
        return lin(a, b)

    assert f(x, w).dtype is ember.float16
    assert lin(x, w).dtype is ember.float32


def test_autocast_restores_state_after_an_error():
    with pytest.raises(RuntimeError), ember.autocast("cpu"):
        ember.matmul(ember.randn(2, 3), ember.randn(4, 5))
    assert not ember.amp.state.on and ember.amp.state.dtypes == {}


def test_weight_cast_is_cached_within_a_block():
    w = ember.nn.Parameter(ember.randn(4, 3))
    x = ember.randn(2, 3)
    with ember.autocast("cpu"):
        (a,) = autocast_args("linear", w)
        (b,) = autocast_args("linear", w)
        assert a is b and a.dtype is ember.bfloat16
        y = ember.nn.functional.linear(x, w) + ember.nn.functional.linear(x, w)
    y.sum().backward()
    expected = 2 * x.to(ember.bfloat16).float().sum(0)
    np.testing.assert_allclose(w.grad.numpy(), np.broadcast_to(expected.numpy(), (4, 3)), rtol=1e-2)
    with ember.autocast("cpu"):  # a new block casts the (possibly updated) weight again
        (c,) = autocast_args("linear", w)
    assert c is not a
    with ember.autocast("cpu", cache_enabled=False):
        (d,) = autocast_args("linear", w)
        (e,) = autocast_args("linear", w)
    assert d is not e


def test_autocast_errors():
    with pytest.raises(ValueError, match="device_type 'cpu' or 'cuda'"):
        ember.autocast("tpu")
    with pytest.raises(ValueError, match="ember.float16 or ember.bfloat16"):
        ember.autocast("cpu", dtype=ember.float32)
    with pytest.raises(TypeError, match="enabled to be a bool"):
        ember.autocast("cpu", enabled="yes")


# ---------------------------------------------------------------------------- GradScaler
def _twin_models():
    torch.manual_seed(0)
    tm = torch.nn.Linear(3, 2)
    em = ember.nn.Linear(3, 2)
    em.load_state_dict(tm.state_dict())
    return tm, em


@pytest.mark.parametrize("growth_interval", [2, 2000])
def test_grad_scaler_trajectory_matches_torch(growth_interval):
    tm, em = _twin_models()
    topt = torch.optim.SGD(tm.parameters(), lr=0.1, momentum=0.9)
    eopt = ember.optim.SGD(em.parameters(), lr=0.1, momentum=0.9)
    tsc = torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=growth_interval)
    esc = GradScaler(init_scale=2.0**10, growth_interval=growth_interval)
    x = rand(4, 3).astype(np.float32)
    # steps 2 and 3 overflow (inf), step 5 gives nan: those three are skipped
    factors = [1.0, float("inf"), float("inf"), 1.0, float("nan"), 1.0, 1.0, 1.0]
    for k, f in enumerate(factors):
        tl = tm(torch.from_numpy(x)).sum() * f
        tsc.scale(tl).backward()
        tsc.step(topt)
        tsc.update()
        topt.zero_grad()
        el = em(ember.tensor(x)).sum() * f
        esc.scale(el).backward()
        with (
            pytest.warns(UserWarning, match=f"skipped step {k + 1}")
            if not np.isfinite(f)
            else _nothing()
        ):
            esc.step(eopt)
        assert esc.step_skipped == (not np.isfinite(f))
        esc.update()
        eopt.zero_grad()
        assert esc.get_scale() == tsc.get_scale(), f"step {k}"
        assert esc.state_dict() == tsc.state_dict()
        for tp, ep in zip(tm.parameters(), em.parameters()):
            np.testing.assert_allclose(
                ep.detach().numpy(), tp.detach().numpy(), rtol=1e-6, atol=1e-7
            )
    assert esc.skipped_steps == 3


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_grad_scaler_unscale_and_clip_matches_torch():
    tm, em = _twin_models()
    topt = torch.optim.SGD(tm.parameters(), lr=0.1)
    eopt = ember.optim.SGD(em.parameters(), lr=0.1)
    tsc, esc = torch.amp.GradScaler("cpu"), GradScaler()
    x = rand(4, 3).astype(np.float32)
    tsc.scale(tm(torch.from_numpy(x)).pow(2).sum()).backward()
    esc.scale(em(ember.tensor(x)).pow(2).sum()).backward()
    tsc.unscale_(topt)
    esc.unscale_(eopt)
    for tp, ep in zip(tm.parameters(), em.parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-6)
    torch.nn.utils.clip_grad_norm_(tm.parameters(), 0.5)
    ember.nn.utils.clip_grad_norm_(em.parameters(), 0.5)
    tsc.step(topt)
    esc.step(eopt)  # does not unscale a second time
    tsc.update()
    esc.update()
    for tp, ep in zip(tm.parameters(), em.parameters()):
        np.testing.assert_allclose(ep.detach().numpy(), tp.detach().numpy(), rtol=1e-6)


def test_grad_scaler_float16_training_with_autocast():
    # a float16 forward whose gradients would underflow without scaling
    ember.manual_seed(0)
    model = ember.nn.Linear(4, 1)
    opt = ember.optim.SGD(model.parameters(), lr=0.0)
    scaler = GradScaler()
    x = ember.randn(8, 4) * 1e-3
    with ember.autocast("cpu", dtype=ember.float16):
        loss = model(x).float().sum() * 1e-6
    scaler.scale(loss).backward()
    scaler.unscale_(opt)
    g_scaled = model.weight.grad.numpy().copy()
    model.zero_grad()
    with ember.autocast("cpu", dtype=ember.float16):
        loss = model(x).float().sum() * 1e-6
    loss.backward()
    assert np.all(model.weight.grad.numpy() == 0)  # underflowed in float16
    expected = (x.sum(0) * 1e-6).numpy()
    np.testing.assert_allclose(g_scaled[0], expected, rtol=2e-2)


def test_grad_scaler_state_dict_round_trip_and_torch_state():
    esc = GradScaler(init_scale=256.0, growth_interval=7)
    tsc = torch.amp.GradScaler("cpu", init_scale=256.0, growth_interval=7)
    other = GradScaler()
    other.load_state_dict(tsc.state_dict())
    assert other.get_scale() == 256.0 and other.get_growth_interval() == 7
    other.load_state_dict(esc.state_dict())
    assert other.state_dict() == esc.state_dict()


def test_grad_scaler_disabled_is_a_pass_through():
    _, em = _twin_models()
    opt = ember.optim.SGD(em.parameters(), lr=0.1)
    sc = GradScaler(enabled=False)
    loss = em(ember.randn(2, 3)).sum()
    assert sc.scale(loss) is loss
    loss.backward()
    before = em.weight.detach().numpy().copy()
    sc.step(opt)
    sc.update()
    assert not np.array_equal(before, em.weight.detach().numpy())
    assert sc.get_scale() == 1.0 and sc.state_dict() == {}


def test_grad_scaler_errors():
    _, em = _twin_models()
    opt = ember.optim.SGD(em.parameters(), lr=0.1)
    sc = GradScaler()
    with pytest.raises(RuntimeError, match="call scaler.scale"):
        sc.step(opt)
    sc.scale(em(ember.randn(2, 3)).sum()).backward()
    sc.unscale_(opt)
    with pytest.raises(RuntimeError, match="already called"):
        sc.unscale_(opt)
    sc.step(opt)
    with pytest.raises(RuntimeError, match="already called since the last update"):
        sc.step(opt)
    sc.update()
    with pytest.raises(RuntimeError, match="no gradients were checked"):
        sc.update()
    with pytest.raises(RuntimeError, match="empty"):
        GradScaler().load_state_dict({})
    with pytest.raises(ValueError, match="growth_factor > 1.0"):
        GradScaler(growth_factor=0.5)
    with pytest.raises(ValueError, match="backoff_factor"):
        GradScaler(backoff_factor=1.5)
    with pytest.raises(TypeError, match="Tensor or a list"):
        GradScaler().scale(3.0)
    em.half()
    sc2 = GradScaler()
    sc2.scale(em(ember.randn(2, 3).half()).sum()).backward()
    with pytest.raises(ValueError, match="gradients are float16"):
        sc2.unscale_(ember.optim.SGD(em.parameters(), lr=0.1))
