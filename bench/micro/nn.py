"""Micro-benchmark of the transformer and MLP hot paths: ember against PyTorch eager, float32.

    python bench/micro/nn.py                 # every case
    python bench/micro/nn.py gelu gpt        # cases whose name contains one of the words
    python bench/micro/nn.py --threads=1     # threads of both (default: the usable cores)
    EMBER_KERNELS=reference python bench/micro/nn.py   # ember's plain-NumPy reference paths

Each case runs the same computation in both frameworks in one process, alternating ember and
torch call by call, and prints the median time of each and the ratio torch/ember (ember's
throughput relative to PyTorch's: above 1 means ember is faster). The machine is shared, so
only the ratios within one run mean anything.
"""

from __future__ import annotations

import os
import sys
import time

THREADS = str(len(os.sched_getaffinity(0)))
for _i, _a in enumerate(sys.argv):
    if _a.startswith("--threads="):  # before NumPy and torch are imported
        THREADS = _a.split("=", 1)[1]
        del sys.argv[_i]
        break
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = THREADS

import numpy as np
import torch

import ember

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from bench import workloads  # the models of the benchmark

torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def _tensors(m, arrays, grad):
    out = []
    for a in arrays:
        t = m.from_numpy(np.ascontiguousarray(a))
        if grad and a.dtype.kind == "f":
            t.requires_grad_(True)
        out.append(t)
    return out


def bench(name, build, seconds=2.0, min_reps=5):
    """``build(m)`` returns a function of no argument doing one step in framework ``m``."""
    fns = {m.__name__: build(m) for m in (ember, torch)}
    for f in fns.values():  # warm up (numba compiles, caches fill)
        f()
        f()
    times = {k: [] for k in fns}
    # Time blocks of calls long enough (a few ms) that the timer's resolution does not matter.
    t0 = time.perf_counter()
    fns["ember"]()
    once = time.perf_counter() - t0
    per_block = max(1, int(0.02 / max(once, 1e-7)))
    end = time.perf_counter() + seconds
    reps = 0
    while reps < min_reps or time.perf_counter() < end:
        order = ("ember", "torch") if reps % 2 == 0 else ("torch", "ember")
        for k in order:
            f = fns[k]
            t0 = time.perf_counter()
            for _ in range(per_block):
                f()
            times[k].append((time.perf_counter() - t0) / per_block)
        reps += 1
    te, tt = float(np.median(times["ember"])), float(np.median(times["torch"]))
    print(f"{name:<34} ember {te * 1e6:10.1f} us   torch {tt * 1e6:10.1f} us   "
          f"torch/ember {tt / te:5.2f}", flush=True)  # fmt: skip
    return tt / te


# ---------------------------------------------------------------- single ops
def _fwd_bwd(m, fn, arrays, grad=True):
    xs = _tensors(m, arrays, grad)

    def step():
        for x in xs:
            x.grad = None
        y = fn(m, *xs)
        y.backward(m.ones_like(y))

    return step


def _fwd(m, fn, arrays):
    xs = _tensors(m, arrays, False)
    return lambda: fn(m, *xs)


rng = np.random.default_rng(0)
X_GELU = rng.standard_normal((16 * 64, 512), dtype=np.float32)
X_LN = rng.standard_normal((1024, 128), dtype=np.float32)
W_LN = rng.standard_normal(128, dtype=np.float32)
B_LN = rng.standard_normal(128, dtype=np.float32)
LOGITS = rng.standard_normal((1024, 65), dtype=np.float32)
TARGET = rng.integers(0, 65, 1024)
QKV = [rng.standard_normal((16, 4, 64, 32), dtype=np.float32) for _ in range(3)]
X_LIN = rng.standard_normal((128, 1024), dtype=np.float32)
W_LIN = rng.standard_normal((1024, 1024), dtype=np.float32) * 0.03
B_LIN = rng.standard_normal(1024, dtype=np.float32)


def _gelu(m, x):
    return m.nn.functional.gelu(x)


def _layer_norm(m, x, w, b):
    return m.nn.functional.layer_norm(x, (128,), w, b)


def _ce(m, x, t):
    return m.nn.functional.cross_entropy(x, t)


def _sdpa(m, q, k, v):
    return m.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)


def _linear_relu(m, x, w, b):
    return m.nn.functional.linear(x, w, b).relu()


OPS = {
    "gelu fwd (1024, 512)": lambda m: _fwd(m, _gelu, [X_GELU]),
    "gelu fwd+bwd (1024, 512)": lambda m: _fwd_bwd(m, _gelu, [X_GELU]),
    "layer_norm fwd (1024, 128)": lambda m: _fwd(m, _layer_norm, [X_LN, W_LN, B_LN]),
    "layer_norm fwd+bwd (1024, 128)": lambda m: _fwd_bwd(m, _layer_norm, [X_LN, W_LN, B_LN]),
    "cross_entropy fwd (1024, 65)": lambda m: _fwd(m, _ce, [LOGITS, TARGET]),
    "cross_entropy fwd+bwd (1024, 65)": lambda m: _fwd_bwd(m, _ce, [LOGITS, TARGET]),
    "causal sdpa fwd (16, 4, 64, 32)": lambda m: _fwd(m, _sdpa, QKV),
    "causal sdpa fwd+bwd (16, 4, 64, 32)": lambda m: _fwd_bwd(m, _sdpa, QKV),
    "linear+relu fwd (128, 1024)": lambda m: _fwd(m, _linear_relu, [X_LIN, W_LIN, B_LIN]),
    "linear+relu fwd+bwd (128, 1024)": lambda m: _fwd_bwd(m, _linear_relu, [X_LIN, W_LIN, B_LIN]),
}


# ---------------------------------------------------------------- whole training steps
def gpt(m):
    """Workload d's GPT, as the benchmark defines it."""
    return workloads.gpt(m, vocab=65, block_size=64, n_layer=4, n_head=4, d_model=128)


def mlp(m):
    """Workload a's MLP, as the benchmark defines it."""
    return workloads.mlp(m)


def _train_step(m, model, opt, x, target, vocab=None):
    F = m.nn.functional
    x, target = m.from_numpy(x), m.from_numpy(target)

    def step():
        opt.zero_grad()
        out = model(x)
        if vocab is not None:
            out, t = out.reshape(-1, vocab), target.reshape(-1)
        else:
            t = target
        loss = F.cross_entropy(out, t)
        loss.backward()
        opt.step()

    return step


def gpt_step(m):
    m.manual_seed(0)
    model = gpt(m)
    ids = rng.integers(0, 65, (16, 65))
    opt = m.optim.Adam(model.parameters(), lr=1e-3)
    return _train_step(m, model, opt, ids[:, :-1].copy(), ids[:, 1:].copy(), vocab=65)


def mlp_step(m, optimizer):
    m.manual_seed(0)
    model = mlp(m)
    if optimizer == "sgd":
        opt = m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    else:
        opt = m.optim.Adam(model.parameters(), lr=1e-3)
    x = rng.standard_normal((128, 784), dtype=np.float32)
    return _train_step(m, model, opt, x, rng.integers(0, 10, 128))


STEPS = {
    "GPT step (d, Adam)": gpt_step,
    "MLP step (a, SGD-momentum)": lambda m: mlp_step(m, "sgd"),
    "MLP step (a, Adam)": lambda m: mlp_step(m, "adam"),
}


def main(words):
    path = "fast" if ember.kernels.enabled() else "reference"
    print(f"# ember ({path} path, numba={ember.kernels.HAVE_NUMBA}) vs torch "
          f"{torch.__version__}, {os.environ['OMP_NUM_THREADS']} threads")  # fmt: skip
    for name, build in {**OPS, **STEPS}.items():
        if words and not any(w.lower() in name.lower() for w in words):
            continue
        bench(name, build, seconds=4.0 if "step" in name else 2.0)


if __name__ == "__main__":
    main(sys.argv[1:])
