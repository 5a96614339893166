"""A two-layer MLP trained by hand (manual SGD on .grad) follows PyTorch's loss curve, and
a long training loop keeps memory flat."""

import gc
import os

import numpy as np
import torch

import ember


def _train(lib, w1, b1, w2, b2, x, y, steps=100, lr=0.1):
    params = [lib.tensor(a, requires_grad=True) for a in (w1, b1, w2, b2)]
    xt, yt = lib.tensor(x), lib.tensor(y)
    losses = []
    for _ in range(steps):
        p1, q1, p2, q2 = params
        h = (xt @ p1 + q1).tanh()
        logits = h @ p2 + q2
        loss = (logits.exp().sum(1).log() - (logits * yt).sum(1)).mean()  # softmax cross-entropy
        for p in params:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= lr * p.grad
        losses.append(loss.item())
    return np.array(losses)


def test_mlp_follows_torch_loss_curve_float64():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 10))
    labels = rng.integers(0, 3, 64)
    y = np.eye(3)[labels]
    w1 = rng.standard_normal((10, 32)) * 0.3
    b1 = np.zeros(32)
    w2 = rng.standard_normal((32, 3)) * 0.3
    b2 = np.zeros(3)
    ours = _train(ember, w1, b1, w2, b2, x, y)
    theirs = _train(torch, w1, b1, w2, b2, x, y)
    assert theirs[-1] < 0.6 * theirs[0]  # it really trains
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=0)


def _rss_bytes():
    with open(f"/proc/{os.getpid()}/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_memory_flat_over_1000_iterations():
    ember.manual_seed(0)
    w1 = ember.randn(20, 64, requires_grad=True)
    w2 = ember.randn(64, 5, requires_grad=True)
    x = ember.randn(32, 20)

    def step():
        loss = ((x @ w1).tanh() @ w2).exp().mean()
        loss.backward()
        with ember.no_grad():
            w1.grad.zero_() if hasattr(w1.grad, "zero_") else None
            w2.grad = None
            w1.grad = None

    for _ in range(100):  # warm up allocator pools and caches
        step()
    gc.collect()
    before = _rss_bytes()
    gc.disable()  # memory must be released by reference counting alone, not by the cycle collector
    try:
        for _ in range(1000):
            step()
    finally:
        gc.enable()
    after = _rss_bytes()
    # one step's arrays total ~40 kB; a leak of one step's graph per iteration would be ~40 MB
    assert after - before < 4 * 2**20, (
        f"RSS grew by {(after - before) / 2**20:.1f} MiB over 1000 steps"
    )
