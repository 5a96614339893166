"""ember.kernels.gemm, the float32 matrix product of its own, against PyTorch's products:
shapes that leave ragged edges on every side, transposed and strided operands, outputs
with padded rows, accumulation, packed weights, batches, non-finite values; the cases it
hands to NumPy; and the benchmark's models really taking it."""

import numpy as np
import pytest
import torch

import ember
from ember import kernels
from ember.kernels import gemm
from tests import oracle

needs_kernel = pytest.mark.skipif(
    not gemm.AVAILABLE, reason="ember's matrix product needs numba and a CPU with AVX-512"
)


@pytest.fixture(autouse=True)
def _small_products(monkeypatch):
    """The fast paths on, even under EMBER_KERNELS=reference; every size takes the kernel,
    and products of a few thousand multiply-adds already use both cores."""
    monkeypatch.setattr(gemm, "MIN_FLOPS", 0)
    monkeypatch.setattr(gemm, "PARALLEL_FLOPS", 1 << 12)
    with kernels.reference(False):
        yield


def count_oracle_call():
    oracle.calls["oracle"] += 1


def _torch_product(a, b):
    count_oracle_call()
    return torch.matmul(torch.from_numpy(np.ascontiguousarray(a, np.float64)),
                        torch.from_numpy(np.ascontiguousarray(b, np.float64))).numpy()  # fmt: skip


def _close(got, want, k):
    # float32 products of k terms: rounding grows with k; the scale is the sum of |a||b|
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=0, atol=4e-7 * max(k, 8) ** 0.5 * np.abs(want).max())


def _operand(rng, shape, layout):
    """A float32 array of `shape` stored as asked: C order, transposed (a view of the
    transpose of a C-order array), or every other column of a wider array."""
    if layout == "t":
        return np.ascontiguousarray(rng.standard_normal(shape[::-1]).astype(np.float32)).T
    if layout == "strided":
        return rng.standard_normal((shape[0], 2 * shape[1])).astype(np.float32)[:, ::2]
    return rng.standard_normal(shape).astype(np.float32)


SHAPES = [(1, 1, 1), (13, 7, 33), (12, 256, 32), (100, 300, 70), (32, 600, 1024),
          (300, 1000, 500), (5, 2000, 64), (130, 40, 9), (200, 513, 65), (3, 5, 4100),
          (30, 1200, 27)]  # fmt: skip


@needs_kernel
@pytest.mark.parametrize("m, k, n", SHAPES)
@pytest.mark.parametrize(
    "la, lb", [("c", "c"), ("t", "c"), ("c", "t"), ("t", "t"), ("strided", "strided")]
)
def test_product_matches_torch(m, k, n, la, lb):
    rng = np.random.default_rng(m * 7 + n)
    a, b = _operand(rng, (m, k), la), _operand(rng, (k, n), lb)
    before = kernels.taken["gemm"]
    got = gemm.matmul(a, b)
    # fewer rows than a panel go to NumPy (one OpenBLAS thread); their C^T = B^T A^T with
    # a narrow B still runs the kernel on a ragged panel (130 x 40 @ 40 x 9)
    assert kernels.taken["gemm"] == before + (m >= gemm.MR)
    _close(got, _torch_product(a, b), k)


@needs_kernel
@pytest.mark.parametrize("m, k, n", [(40, 300, 96), (200, 513, 65), (7, 1100, 2100)])
def test_into_out_with_padded_rows_and_accumulate(m, k, n):
    rng = np.random.default_rng(1)
    a, b = _operand(rng, (m, k), "c"), _operand(rng, (k, n), "t")
    want = _torch_product(a, b)
    buffer = np.full((m, n + 5), 7.0, np.float32)  # rows n + 5 apart; the last 5 untouched
    out = buffer[:, :n]
    assert gemm.matmul(a, b, out) is out
    _close(out, want, k)
    start = rng.standard_normal((m, n)).astype(np.float32)
    out[...] = start
    gemm.matmul(a, b, out, accumulate=True)
    _close(out, want + start, k)
    assert (buffer[:, n:] == 7).all()


@needs_kernel
@pytest.mark.parametrize("k, n", [(256, 1024), (1024, 256), (300, 70), (700, 40)])
def test_packed_weight_matches_torch(k, n):
    rng = np.random.default_rng(2)
    w = _operand(rng, (k, n), "t")
    packed = gemm.pack(w)
    assert packed is not None and packed.shape == (k, n)
    for m in (32, 7, 100):
        a = _operand(rng, (m, k), "c")
        want = _torch_product(a, w)
        _close(gemm.matmul(a, packed), want, k)
        out = np.ones((m, n), np.float32)
        gemm.matmul(a, packed, out, accumulate=True)
        _close(out, want + 1, k)


@needs_kernel
@pytest.mark.parametrize("batch", [(1,), (3,), (2, 5), (2, 3, 2)])
def test_batches_match_torch(batch):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((*batch, 70, 300)).astype(np.float32)
    b = np.swapaxes(rng.standard_normal((*batch, 90, 300)).astype(np.float32), -1, -2)
    want = _torch_product(a, b)
    _close(gemm.matmul(a, b), want, 300)
    out = np.swapaxes(np.empty((*batch, 90, 70), np.float32), -1, -2)  # columns not contiguous
    _close(gemm.matmul(a, b, out), want, 300)
    # Winograd's layout: the products' outputs in planes padded apart
    planes = np.empty((*batch, 70 * 90 + 11), np.float32)[..., : 70 * 90].reshape(*batch, 70, 90)
    assert gemm.matmul(a, b, planes) is planes
    _close(planes, want, 300)


@needs_kernel
def test_attention_heads_read_in_place(monkeypatch):
    # q k^T and p v over the heads of a (batch, tokens, 3 * heads * d) projection: views
    # whose batch dims do not merge, each product small (64 x 32 x 64) but the batch worth
    # sharing between the cores (NumPy runs them one BLAS call each); the module's
    # thresholds, in a process whose products have used the cores (as in training)
    monkeypatch.setattr(gemm, "MIN_FLOPS", 1 << 19)
    monkeypatch.setattr(gemm, "PARALLEL_FLOPS", 1 << 24)
    monkeypatch.setattr(gemm._state, "pool_used", True)
    rng = np.random.default_rng(11)
    n, t, h, d = 4, 64, 4, 32
    qkv = rng.standard_normal((n, t, 3, h, d)).astype(np.float32)
    q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))  # (n, h, t, d) views
    before = kernels.taken["gemm"]
    scores = gemm.matmul(q, k.swapaxes(-1, -2))
    _close(scores, _torch_product(q, k.swapaxes(-1, -2)), d)
    _close(gemm.matmul(scores, v), _torch_product(scores, v), t)
    assert kernels.taken["gemm"] == before + 2


@needs_kernel
@pytest.mark.parametrize(
    "case",
    [
        "broadcast batch",
        "2-D times batch",
        "negative strides",
        "out of another dtype",
        "out with zero strides",
    ],
)
def test_any_layout_takes_it(case):
    # a big float32 product never goes to OpenBLAS while this path is on (see matmul)
    rng = np.random.default_rng(7)
    a = rng.standard_normal((3, 40, 50)).astype(np.float32)
    b = rng.standard_normal((3, 50, 60)).astype(np.float32)
    out = None
    if case == "broadcast batch":
        a = a[:1]
    elif case == "2-D times batch":
        b = b[0]
    elif case == "negative strides":
        a, b = a[:, ::-1], b[..., ::-1]
    elif case == "out of another dtype":
        out = np.zeros((3, 40, 60), np.float64)
    else:
        out = np.broadcast_to(np.zeros(60, np.float32), (3, 40, 60))
    want = _torch_product(a, b)
    before = kernels.taken["gemm"]
    if case == "out with zero strides":
        with pytest.raises(ValueError):  # as np.matmul: a read-only broadcast cannot be written
            gemm.matmul(a, b, out)
        return
    got = gemm.matmul(a, b, out)
    assert kernels.taken["gemm"] > before
    assert got.shape == want.shape and (out is None or got is out)
    _close(got.astype(np.float32), want, 50)


@needs_kernel
def test_non_finite_values_spread_as_in_torch():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((30, 40)).astype(np.float32)
    b = rng.standard_normal((40, 70)).astype(np.float32)
    a[3, 5], a[7, 1], b[2, 9], b[11, 60] = np.inf, np.nan, -np.inf, np.inf
    got = gemm.matmul(a, b)
    count_oracle_call()
    want = (torch.from_numpy(a) @ torch.from_numpy(b)).numpy()
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want))
    finite = np.isfinite(want)
    assert finite.sum() > 1000
    _close(np.where(finite, got, 0), np.where(finite, want, 0), 40)


@pytest.mark.parametrize("case", ["float64", "small", "reference", "vector"])
def test_products_it_does_not_take_go_to_numpy(case, monkeypatch):
    rng = np.random.default_rng(5)
    a = rng.standard_normal((40, 50)).astype(np.float32)
    b = rng.standard_normal((50, 60)).astype(np.float32)
    ctx = kernels.reference(case == "reference")
    if case == "float64":
        a, b = a.astype(np.float64), b.astype(np.float64)
    elif case == "small":
        monkeypatch.setattr(gemm, "MIN_FLOPS", 2 * 40 * 50 * 60 + 1)
    elif case == "vector":
        b = b[:, 0]
    before = kernels.taken["gemm"]
    with ctx:
        got = gemm.matmul(a, b)
    assert kernels.taken["gemm"] == before
    np.testing.assert_array_equal(got, np.matmul(a, b))


def test_matmul_op_and_linear_take_it_and_match_torch():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((64, 96)).astype(np.float32)
    w = rng.standard_normal((128, 96)).astype(np.float32)
    before = kernels.taken["gemm"]
    xt, wt = ember.tensor(x, requires_grad=True), ember.tensor(w, requires_grad=True)
    y = ember.nn.functional.linear(xt, wt) @ wt
    y.sum().backward()
    tx, tw = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = torch.nn.functional.linear(tx, tw) @ tw
    ty.sum().backward()
    count_oracle_call()
    ran = kernels.taken["gemm"] - before
    assert ran == (6 if gemm.AVAILABLE else 0)  # linear and @: forward 2, backward 4
    for got, want in ((y, ty), (xt.grad, tx.grad), (wt.grad, tw.grad)):
        np.testing.assert_allclose(
            got.detach().numpy(), want.detach().numpy(), rtol=2e-5, atol=2e-4
        )


@needs_kernel
@pytest.mark.parametrize(
    "name, least, also",
    [("c", 3, {"rnn.lstm_sequence": 1, "rnn.lstm_sequence_backward": 1}),
     ("a-sgd", 7, {}), ("d", 40, {}), ("b", 5, {}), ("e-resnet18", 40, {})],
)  # fmt: skip
def test_benchmark_models_take_it(name, least, also, monkeypatch):
    # one training step of the benchmark's own workloads at their real sizes (the
    # thresholds back to the module's: the fixture lowers them). The char-LSTM's own
    # products all run inside its compiled sequence loops (64 steps forward and 64 back,
    # then its weight gradients); its output layer's three products here.
    from bench import workloads

    monkeypatch.undo()
    with kernels.reference(False):
        step = workloads.WORKLOADS[name].build(ember)
        batch = step.make_batch(0)
        before = kernels.taken.copy()
        step.step(batch)
        ran = kernels.taken - before
        assert ran["gemm"] >= least
        assert {k: ran[k] for k in also} == also


@needs_kernel
def test_skinny_products_run_openblas_on_one_thread(monkeypatch):
    # a product left to NumPy that OpenBLAS would share between threads runs on one of them
    # (their spinning would hold the cores the next product here needs), then the count
    # goes back to what it was
    calls = []
    monkeypatch.setattr(gemm._state, "blas", [(lambda: 2, calls.append)])
    monkeypatch.setattr(gemm._state, "pool_used", True)
    monkeypatch.setattr(gemm, "MIN_FLOPS", 1 << 19)
    rng = np.random.default_rng(8)
    a = rng.standard_normal((5, 600)).astype(np.float32)
    b = rng.standard_normal((600, 700)).astype(np.float32)
    got = gemm.matmul(a, b)
    assert calls == [1, 2]
    _close(got, _torch_product(a, b), 600)
    gemm.matmul(a[:, :50], b[:50, :50])  # small: OpenBLAS runs it on one thread anyway
    assert calls == [1, 2]
    monkeypatch.setattr(gemm._state, "pool_used", False)  # nothing here used the cores yet:
    gemm.matmul(a, b)  # OpenBLAS keeps its threads
    assert calls == [1, 2]


@needs_kernel
def test_a_forked_process_multiplies_on_one_core():
    # a DataLoader worker is a forked child: GNU OpenMP (numba's thread pool) ends a child
    # that starts a parallel loop after its parent did, so there the products and the LSTM
    # run on one core
    import multiprocessing

    rng = np.random.default_rng(9)
    a = rng.standard_normal((300, 400)).astype(np.float32)
    b = rng.standard_normal((400, 500)).astype(np.float32)
    x = ember.tensor(rng.standard_normal((5, 40, 16)).astype(np.float32))
    lstm = ember.nn.LSTM(16, 64)
    y_parent = lstm(x)[0].detach().numpy()
    assert gemm.threads() > 1 and kernels.taken["rnn.lstm_sequence"] > 0  # the pool, used

    def child(queue):
        queue.put((gemm.threads(), gemm.matmul(a, b), lstm(x)[0].detach().numpy()))

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=child, args=(queue,))
    proc.start()
    n, y, y_child = queue.get(timeout=60)
    proc.join(10)
    assert proc.exitcode == 0 and n == 1
    _close(y, _torch_product(a, b), 400)
    np.testing.assert_allclose(y_child, y_parent, rtol=1e-5, atol=1e-6)
