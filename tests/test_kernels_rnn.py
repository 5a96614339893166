"""The fused LSTM/GRU layers (ember.ops.rnn, ember.kernels.rnn) against the reference per-step
ops they replace. tests/test_nn_rnn.py checks both paths against PyTorch; here: the fused path
is really taken, it agrees with the reference closely on random configurations (outputs,
states and every gradient), its numba kernels agree with its NumPy loop, double backward
goes through the reference, and the benchmark's char-LSTM takes the fused path."""

import numpy as np
import pytest

import ember
from ember import kernels, nn
from ember.kernels import gemm
from ember.kernels import rnn as fused
from tests.oracle import rand

# The fused backward sums the gradients of all steps in one matrix product where the
# reference adds them step by step: in float32 the two differ by a few ulps of the largest
# term, hence an absolute tolerance relative to the array's scale.
TOLS = {np.float64: (1e-12, 1e-13), np.float32: (2e-5, 2e-6)}


@pytest.fixture(autouse=True)
def _fast_paths():
    """The fast paths on, even under EMBER_KERNELS=reference."""
    with kernels.reference(False):
        yield


def _run(layer, x, hx, seed=0):
    """Outputs, final states and the gradients of x, hx and every parameter, after a
    backward of a random weighting of all outputs."""
    layer.zero_grad()
    xt = ember.tensor(x, requires_grad=True)
    states = None
    if hx is not None:
        states = tuple(ember.tensor(h, requires_grad=True) for h in hx)
    out, h = layer(xt, None if states is None else (states if len(states) == 2 else states[0]))
    outs = [out, *(h if isinstance(h, tuple) else (h,))]
    rng = np.random.default_rng(seed)
    loss = sum((o * ember.tensor(rng.standard_normal(o.shape).astype(x.dtype))).sum() for o in outs)
    loss.backward()
    grads = [xt.grad] + [s.grad for s in states or ()] + [p.grad for p in layer.parameters()]
    return [o.detach().numpy() for o in outs] + [g.numpy() for g in grads]


def _compare(cls, kwargs, x, hx, dtype, hidden=5):
    layer = getattr(nn, cls)(x.shape[-1], hidden, **kwargs).to(
        ember.float64 if dtype == np.float64 else ember.float32
    )
    with kernels.reference():
        ref = _run(layer, x, hx)
    kernels.taken.clear()
    got = _run(layer, x, hx)
    d = 2 if kwargs.get("bidirectional") else 1
    assert kernels.taken["rnn." + cls.lower()] == kwargs.get("num_layers", 1) * d
    rtol, atol = TOLS[dtype]
    assert len(got) == len(ref)
    for i, (a, b) in enumerate(zip(got, ref)):
        assert a.shape == b.shape and a.dtype == b.dtype
        scale = max(1.0, float(np.abs(b).max(initial=0)))
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale, err_msg=f"result {i}")


def _config(seed):
    rng = np.random.default_rng(seed)
    kw = {
        "num_layers": int(rng.integers(1, 3)),
        "bidirectional": bool(rng.integers(2)),
        "batch_first": bool(rng.integers(2)),
        "bias": bool(rng.integers(2)),
    }
    T, N, I = (int(v) for v in rng.integers(1, 6, 3))
    batched = bool(rng.integers(3))  # two in three batched
    return kw, T, N, I, batched, bool(rng.integers(2))


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
@pytest.mark.parametrize("seed", range(6))
def test_fast_path_matches_reference_on_random_configs(cls, seed, dtype):
    kw, T, N, I, batched, with_state = _config(seed)
    shape = ((N, T, I) if kw["batch_first"] else (T, N, I)) if batched else (T, I)
    x = rand(*shape, dtype=dtype) * 2
    hx = None
    if with_state:
        s = (kw["num_layers"] * (2 if kw["bidirectional"] else 1), *((N,) if batched else ()), 5)
        hx = (rand(*s, dtype=dtype),) * (2 if cls == "LSTM" else 1)
        hx = tuple(h * (k + 1) for k, h in enumerate(hx))  # h0 and c0 differ
    _compare(cls, kw, x, hx, dtype)


@pytest.mark.skipif(not gemm.AVAILABLE, reason="needs ember's matrix product (numba, AVX-512)")
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("hidden, batch", [(32, 4), (96, 4), (20, 37)])
@pytest.mark.parametrize("features, batch_first", [(6, False), (40, True), (64, False)])
def test_compiled_sequence_matches_reference(bidirectional, hidden, batch, features,
                                             batch_first, monkeypatch):  # fmt: skip
    # An LSTM direction runs as one compiled loop, the cores sharing out the hidden units
    # (kernels.rnn's lstm_*_sequence), its states held in panels of 32 batch lanes: a batch
    # of 4 fills part of one panel, 37 one panel and part of another; 20 hidden units give
    # the cores shares that are not whole panels of the product's rows. Batch first, the
    # forward reads the input transposed.
    if not fused.sequence_usable(hidden):
        pytest.skip("the compiled loop shares the steps between two cores or more")
    monkeypatch.setattr(gemm, "MIN_FLOPS", 0)
    monkeypatch.setattr(gemm, "PARALLEL_FLOPS", 0)
    x = rand(*((batch, 9) if batch_first else (9, batch)), features, dtype=np.float32) * 2
    hx = tuple(rand(2 if bidirectional else 1, batch, hidden, dtype=np.float32) * k for k in (1, 2))
    kernels.taken.clear()
    kw = {"bidirectional": bidirectional, "batch_first": batch_first}
    _compare("LSTM", kw, x, hx, np.float32, hidden=hidden)
    d = 2 if bidirectional else 1
    assert kernels.taken["rnn.lstm_sequence"] == d
    assert kernels.taken["rnn.lstm_sequence_backward"] == d


@pytest.mark.skipif(not gemm.AVAILABLE, reason="needs ember's matrix product (numba, AVX-512)")
def test_compiled_sequence_backward_twice(monkeypatch):
    # retain_graph: a second backward through the compiled loops gives the same gradients
    if not fused.sequence_usable(32):
        pytest.skip("the compiled loop shares the steps between two cores or more")
    monkeypatch.setattr(gemm, "MIN_FLOPS", 0)
    monkeypatch.setattr(gemm, "PARALLEL_FLOPS", 0)
    layer = nn.LSTM(40, 32, bidirectional=True)
    x = ember.tensor(rand(7, 3, 40, dtype=np.float32), requires_grad=True)
    kernels.taken.clear()
    y, _ = layer(x)
    assert kernels.taken["rnn.lstm_sequence"] == 2
    (y * y).sum().backward(retain_graph=True)
    first = [x.grad.numpy().copy()] + [p.grad.numpy().copy() for p in layer.parameters()]
    (y * y).sum().backward()
    second = [x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]
    assert kernels.taken["rnn.lstm_sequence_backward"] == 4
    for a, b in zip(first, second):
        np.testing.assert_allclose(b, 2 * a, rtol=1e-5, atol=1e-6 * np.abs(a).max())


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_long_sequence_and_saturated_gates(cls):
    # Large inputs push the gates to 0 and 1 (the kernels' clamped exp) over many steps.
    _compare(cls, {"bidirectional": True}, rand(40, 3, 4, dtype=np.float32) * 30, None, np.float32)
    _compare(cls, {}, rand(40, 3, 4) * 30, None, np.float64)


def test_proj_size_and_plain_rnn_use_the_reference():
    kernels.taken.clear()
    nn.LSTM(3, 4, proj_size=2)(ember.randn(5, 2, 3))
    nn.RNN(3, 4)(ember.randn(5, 2, 3))
    assert kernels.taken["rnn.lstm"] == 0 and kernels.taken["rnn.gru"] == 0
    with kernels.reference():
        nn.LSTM(3, 4)(ember.randn(5, 2, 3))
        nn.GRU(3, 4)(ember.randn(5, 2, 3))
    assert kernels.taken["rnn.lstm"] == 0 and kernels.taken["rnn.gru"] == 0


def test_one_node_per_layer_and_direction():
    layer = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    y, _ = layer(ember.randn(6, 2, 3, requires_grad=True))
    names = set()
    stack = [y.grad_fn]
    while stack:
        node = stack.pop()
        if node is None or type(node).__name__ in names:
            continue
        names.add(type(node).__name__)
        stack += [e[0] for e in node.next_edges if e is not None]
    assert "LSTMLayer" in names
    assert "Sigmoid" not in names and "Tanh" not in names  # no per-step ops in the graph


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_double_backward_goes_through_the_reference(cls):
    layer = getattr(nn, cls)(3, 4, bidirectional=True).double()
    x0 = rand(4, 2, 3)
    results = []
    for reference in (False, True):
        with kernels.reference(reference):
            layer.zero_grad()
            x = ember.tensor(x0, requires_grad=True)
            y, _ = layer(x)
            (gx,) = ember.autograd.grad((y * y).sum(), [x], create_graph=True)
            (gx * gx).sum().backward()
            results.append([x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_backward_twice_with_retain_graph(cls):
    layer = getattr(nn, cls)(3, 4).double()
    x = ember.tensor(rand(5, 2, 3), requires_grad=True)
    y, _ = layer(x)
    y.sum().backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-12)


@pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")
@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
@pytest.mark.parametrize("reverse", [False, True])
def test_numba_kernels_match_the_numpy_loop(cls, reverse, monkeypatch):
    # float32 runs both kernels; the NumPy loop is what runs without numba.
    layer = getattr(nn, cls)(4, 6, bidirectional=reverse)
    x = rand(7, 3, 4, dtype=np.float32) * 3
    got = _run(layer, x, None)
    monkeypatch.setattr(fused, "usable", lambda *a, **k: False)
    ref = _run(layer, x, None)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_kernels_take_float32_forward_and_both_dtypes_backward():
    a32, a64 = np.zeros((2, 3), np.float32), np.zeros((2, 3))
    if not kernels.HAVE_NUMBA:
        assert not fused.usable(a32, forward=True)
        return
    assert fused.usable(a32, a32, forward=True) and fused.usable(a32, forward=False)
    assert not fused.usable(a64, forward=True) and fused.usable(a64, forward=False)
    assert not fused.usable(a32.astype(np.float16), forward=False)


def test_char_lstm_training_step_takes_the_fused_path():
    from bench.workloads import WORKLOADS

    ember.manual_seed(0)
    setup = WORKLOADS["c"].build(ember, smoke=True)
    kernels.taken.clear()
    loss = setup.step(setup.make_batch(0))
    assert np.isfinite(loss.item())
    assert kernels.taken["rnn.lstm"] == 1
    assert all(p.grad is not None for p in setup.model.parameters())


@pytest.mark.skipif(not kernels.HAVE_NUMBA, reason="numba is not installed")
def test_forward_gate_functions_within_a_few_ulp():
    # The forward kernel computes sigmoid and tanh in float32 by its own polynomial: through
    # one step with zero state, the gates are sigmoid(v) (i, f, o) and tanh(v) (g). Checked
    # against float64 over float32's range, near 0 densely, and at NaN and the infinities.
    v = np.concatenate([np.linspace(-85, 85, 40_000), np.geomspace(1e-30, 2, 20_000)])
    v = np.concatenate([v, -v, [0.0, np.inf, -np.inf, np.nan]]).astype(np.float32)
    H = v.size
    a = np.tile(v, 4).reshape(1, 4 * H)
    c = np.empty((1, H), np.float32)
    fused.lstm_forward_step(
        a, np.zeros_like(a), np.zeros((1, H), np.float32), c, c.copy(), c.copy()
    )
    x = v.astype(np.float64)
    with np.errstate(over="ignore"):
        want = {"sigmoid": 1 / (1 + np.exp(-x)), "tanh": np.tanh(x)}
    for name, got in (("sigmoid", a[0, :H]), ("tanh", a[0, 2 * H : 3 * H])):
        ref = want[name]
        finite = np.isfinite(x) & (np.abs(ref) > 1e-30)  # (sigmoid's denormal tail: clamped)
        ulps = np.abs(got[finite] - ref[finite]) / np.spacing(
            np.abs(ref[finite]).astype(np.float32)
        )
        assert ulps.max() <= 8, (name, float(ulps.max()))
        assert np.isnan(got[-1])
        np.testing.assert_allclose(got[-3:-1], ref[-3:-1], atol=1e-30)  # +-inf: the limits
