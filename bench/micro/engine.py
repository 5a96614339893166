"""Per-op overhead of ember's autograd, side by side with PyTorch eager (float32, CPU).

    python -m bench.micro.engine            # the timing table (ember vs torch, one process)
    python -m bench.micro.engine --profile  # cProfile of 20k iterations of each tiny op

Tiny ops run on 4-element tensors that require grad, so each call records a graph node
(the bench's workload f). The MLP step is forward + backward of a small MLP
(32-64-64-10, batch 16, ReLU, cross-entropy), where per-op overhead dominates.
Frameworks alternate within each measurement; compare the ratios, not absolute times.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time

import numpy as np
import torch

import ember

torch.set_num_threads(1)


def tiny(m):
    x = m.randn(4, requires_grad=True)
    w = m.randn(4, requires_grad=True)

    def mul():
        x * w

    def add():
        x + w

    def exp():
        x.exp()

    def scalar():
        x * 2.0

    def fwd_bwd():
        (x * w).sum().backward()

    return {"x * w": mul, "x + w": add, "x.exp()": exp, "x * 2.0": scalar,
            "(x * w).sum().backward()": fwd_bwd}  # fmt: skip


def mlp(m):
    nn = m.nn
    rng = np.random.default_rng(0)
    model = nn.Sequential(
        nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10)
    )
    x = m.tensor(rng.standard_normal((16, 32), dtype=np.float32))
    t = m.tensor(rng.integers(0, 10, 16))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        model.zero_grad()
        loss_fn(model(x), t).backward()

    return step


def per_call_us(fn, n):
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - t0) / n * 1e6


def compare(name, e_fn, t_fn, n, rounds=7):
    e_fn(), t_fn()
    es, ts = [], []
    for _ in range(rounds):  # alternate so a noisy moment hits both
        es.append(per_call_us(e_fn, n))
        ts.append(per_call_us(t_fn, n))
    e, t = min(es), min(ts)  # the least disturbed round of each (the machine is shared)
    print(f"{name:28s} ember {e:8.2f} us   torch {t:8.2f} us   ember/torch {e / t:5.2f}x")


def main():
    ember_ops, torch_ops = tiny(ember), tiny(torch)
    for name in ember_ops:
        compare(name, ember_ops[name], torch_ops[name], 5000)
    compare("MLP step fwd+bwd (16x32)", mlp(ember), mlp(torch), 300)


def profile():
    ops = tiny(ember)
    for name in ("x * w", "x + w", "x.exp()", "(x * w).sum().backward()"):
        fn = ops[name]
        pr = cProfile.Profile()
        pr.enable()
        for _ in range(20_000):
            fn()
        pr.disable()
        print(f"==== {name}")
        pstats.Stats(pr).sort_stats("tottime").print_stats(12)


if __name__ == "__main__":
    profile() if "--profile" in sys.argv else main()
