"""The fused kernels of ember.kernels.nn: their accuracy, their NumPy fallbacks (numba
missing), and that the benchmark's GPT and MLP take them."""

import math

import numpy as np
import pytest
import torch

import ember
from ember import kernels
from ember.kernels import nn as knn
from tests.oracle import check, rand, randint

F = lambda m: m.nn.functional

NUMBA = [True, False] if kernels.HAVE_NUMBA else [False]


@pytest.fixture(params=NUMBA, ids=lambda on: "numba" if on else "numpy")
def use_numba(request, monkeypatch):
    monkeypatch.setattr(kernels, "HAVE_NUMBA", request.param)
    with kernels.reference(False):
        yield request.param


def _ulps(got, exact):
    """Error of float32 ``got`` in units in the last place of the exact float64 values."""
    spacing = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - exact) / spacing


def test_float32_erf_and_gelu_are_correctly_rounded_within_an_ulp(use_numba):
    x = np.concatenate([np.linspace(-9, 9, 40001), np.geomspace(1e-30, 1, 200)])
    x = np.concatenate([x, -x]).astype(np.float32)
    xd = x.astype(np.float64)
    erf = np.array([math.erf(v) for v in xd])
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in xd])
    assert _ulps(knn.erf(x), erf).max() <= 1.0
    tiny = np.abs(xd * cdf) < 1e-37  # float32 denormals: absolute error only
    assert _ulps(knn.gelu(x), xd * cdf)[~tiny].max() <= 1.0
    assert np.abs(knn.gelu(x)[tiny]).max() < 1e-37
    slope = cdf + xd * np.exp(-0.5 * xd * xd) / math.sqrt(2 * math.pi)
    np.testing.assert_allclose(knn.gelu_backward(np.ones_like(x), x), slope, rtol=0, atol=3e-7)


def test_erf_special_values(use_numba):
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40], np.float32)
    got = knn.erf(x)
    np.testing.assert_array_equal(got, torch.erf(torch.from_numpy(x)).numpy())
    assert np.signbit(got[4])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_erf_relu(use_numba, dtype):
    x = rand(4, 5, low=-4, high=4).astype(dtype)
    check(lambda m, x: F(m).gelu(x), x, gradgrad=True)
    check(lambda m, x: m.erf(x), x, gradgrad=True)
    check(lambda m, x: F(m).relu(x), x, gradgrad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_special_values(use_numba, dtype):
    # NaN goes through, -inf and -0.0 give 0, +inf stays; a non-contiguous input too
    x = np.array([[np.nan, -np.inf, np.inf, -0.0, 0.0, -1e-30, 1e-30, 3.0]], dtype)
    check(lambda m, x: F(m).relu(x), x, grad=False)
    before = kernels.taken["relu"]
    check(lambda m, x: F(m).relu(x.t()), np.tile(x, (3, 1)), grad=False)
    assert kernels.taken["relu"] > before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layer_norm(use_numba, dtype):
    x, w, b = rand(3, 2, 5).astype(dtype), rand(5).astype(dtype), rand(5).astype(dtype)
    check(lambda m, x, w, b: F(m).layer_norm(x, (5,), w, b), x, w, b, gradgrad=True)
    check(lambda m, x: F(m).layer_norm(x, (2, 5)), x, gradgrad=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_and_softmax(use_numba, dtype, reduction):
    x = rand(6, 5, low=-3, high=3).astype(dtype)
    t = randint(5, 6)
    t[2] = -100  # ignored
    check(lambda m, x, t: F(m).cross_entropy(x, t, reduction=reduction), x, t, gradgrad=True)
    check(lambda m, x: F(m).softmax(x, -1), x, gradgrad=True)
    check(lambda m, x: F(m).log_softmax(x, -1), x, gradgrad=True)


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("L,S", [(4, 4), (3, 5), (5, 3)])
def test_attention(use_numba, causal, L, S):
    def f(m, q, k, v):
        return F(m).scaled_dot_product_attention(q, k, v, is_causal=causal)

    check(f, rand(2, 1, L, 4), rand(2, 1, S, 4), rand(2, 1, S, 3), gradgrad=True)
    q, k, v = (rand(2, n, 4).astype(np.float32) for n in (L, S, S))
    check(f, q, k, v)


def test_linear_keeps_the_input_shape(use_numba):
    check(
        lambda m, x, w, b: F(m).linear(x, w, b), rand(2, 3, 4), rand(5, 4), rand(5), gradgrad=True
    )
    check(lambda m, x, w: F(m).linear(x, w), rand(4), rand(5, 4), gradgrad=True)


# ---------------------------------------------------------------- the benchmark's models
def _gpt(m, vocab=11, block=8, d=16, heads=2, layers=2):
    nn, F = m.nn, m.nn.functional

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
            self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
            self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = (
                t.reshape(B, T, heads, C // heads).transpose(1, 2)
                for t in self.qkv(self.ln1(x)).split(C, dim=2)
            )
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(block, d)
            self.blocks = nn.ModuleList([Block() for _ in range(layers)])
            self.ln_f = nn.LayerNorm(d)
            self.head = nn.Linear(d, vocab, bias=False)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(m.arange(idx.shape[1]))
            for b in self.blocks:
                x = b(x)
            return self.head(self.ln_f(x))

    return GPT()


def _mlp(m):
    nn = m.nn
    return nn.Sequential(
        nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3)
    )


def _step(model, opt, x, t, n_class):
    opt.zero_grad()
    out = model(x)
    loss = F(ember).cross_entropy(out.reshape(-1, n_class), t.reshape(-1))
    loss.backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    opt.step()
    return loss.item(), grads


GPT_PATHS = {
    "linear", "layer_norm", "gelu", "scaled_dot_product_attention", "cross_entropy",
    "embedding_backward", "adam",
}  # fmt: skip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_rows_collects_repeated_rows_as_add_at(use_numba, dtype):
    rng = np.random.default_rng(3)
    rows = rng.integers(0, 7, 200)  # every row repeated many times, some never
    g = rng.standard_normal((200, 5)).astype(dtype)
    expected = np.zeros((9, 5), dtype)
    np.add.at(expected, rows, g)
    got = np.zeros((9, 5), dtype)
    knn.add_rows(got, rows, g[:, :])
    np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == np.float32 else 1e-13)
    assert not got[7:].any()


@pytest.mark.parametrize(
    "name, paths",
    [("gpt", GPT_PATHS), ("mlp-sgd", {"linear", "relu", "cross_entropy", "sgd"}),
     ("mlp-adam", {"linear", "relu", "cross_entropy", "adam"})],
)  # fmt: skip
def test_benchmark_models_take_the_fast_paths(name, paths):
    rng = np.random.default_rng(0)
    if name == "gpt":
        ids = rng.integers(0, 11, (3, 9))
        x, t, n_class = (
            ember.from_numpy(ids[:, :-1].copy()),
            ember.from_numpy(ids[:, 1:].copy()),
            11,
        )
    else:
        x = ember.from_numpy(rng.standard_normal((5, 12), dtype=np.float32))
        t, n_class = ember.from_numpy(rng.integers(0, 3, 5)), 3
    results = []
    for fast in (True, False):
        ember.manual_seed(0)
        model = _gpt(ember) if name == "gpt" else _mlp(ember)
        params = model.parameters()
        if name == "mlp-sgd":
            opt = ember.optim.SGD(params, lr=0.1, momentum=0.9)
        else:
            opt = ember.optim.Adam(params, lr=1e-2)
        kernels.taken.clear()
        with kernels.reference(not fast):
            results.append([_step(model, opt, x, t, n_class) for _ in range(2)])
        taken = set(kernels.taken)
        assert paths <= taken if fast else not taken & paths, (fast, taken)
    for (loss_f, grads_f), (loss_r, grads_r) in zip(*results):
        assert loss_f == pytest.approx(loss_r, rel=1e-5)
        for gf, gr in zip(grads_f, grads_r):
            np.testing.assert_allclose(gf, gr, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_norm_kernels_match_torch(use_numba, dtype):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((4, 3, 5)) * 3 + 1).astype(dtype)
    w, b = rng.standard_normal(3).astype(dtype), rng.standard_normal(3).astype(dtype)
    gy = rng.standard_normal(x.shape).astype(dtype)
    y, mean, var, rstd = knn.batch_norm(x, w, b, 1e-5)
    gx, gw, gb = knn.batch_norm_backward(gy, x, mean, rstd, w)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.batch_norm(tx, None, None, tw, tb, training=True, eps=1e-5)
    ty.backward(torch.tensor(gy))
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-10, "atol": 1e-12}
    for got, want in [(y, ty), (mean, tx.mean((0, 2))), (var, tx.var((0, 2), unbiased=False)),
                      (gx, tx.grad), (gw, tw.grad), (gb, tb.grad)]:  # fmt: skip
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want.detach().numpy(), **tol)
