"""ember vs PyTorch on the benchmark's char-LSTM (workload c) and on bare LSTM/GRU layers,
alternating ember's fast path, ember's reference path and PyTorch within one run so that
machine noise hits all alike. Prints the median time of each and the ratios ember/torch
(below 1 means ember is faster).

    python -m bench.micro.rnn [--reps 20] [--only step,parts,lstm,gru] [--threads N]
                              [--variants fast,reference,torch]

``step``: one whole training step of workload c (Adam). ``parts``: the same model's
forward (with loss) and backward timed separately. ``lstm``/``gru``: the bare layer
(64 x 32 x 64 -> 256) forward and backward. ``--threads`` sets OMP/OpenBLAS/MKL threads
and torch.set_num_threads before the libraries load (default: as bench.run, all cores).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

if __name__ == "__main__":  # the thread count must be set before NumPy and torch load
    for i, a in enumerate(sys.argv):
        if a == "--threads" or a.startswith("--threads="):
            n = a.split("=", 1)[1] if "=" in a else sys.argv[i + 1]
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[var] = n

import numpy as np
import torch

import ember
from bench import workloads

VARIANTS = ["fast", "reference", "torch"]


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _run_variant(variant, fn):
    if variant == "reference":
        with ember.kernels.reference():
            return fn()
    return fn()


def compare(name, fns, reps):
    """fns: variant -> a function returning a dict of named seconds. Rotates the order of
    the variants each repetition; prints medians and the ratios to torch."""
    for _ in range(2):  # warm up (numba compiles, buffers allocate)
        for v, fn in fns.items():
            _run_variant(v, fn)
    times = {v: {} for v in fns}
    order = list(fns)
    for i in range(reps):
        for v in order[i % len(order) :] + order[: i % len(order)]:
            for key, s in _run_variant(v, fns[v]).items():
                times[v].setdefault(key, []).append(s)
    keys = list(times["torch"])
    for key in keys:
        med = {v: statistics.median(times[v][key]) for v in fns}
        cols = "  ".join(f"{v} {med[v] * 1e3:8.2f} ms" for v in fns)
        ratios = "  ".join(f"{v}/torch {med[v] / med['torch']:5.2f}" for v in fns if v != "torch")
        print(f"{name + ' ' + key:28s} {cols}   {ratios}")


def _workload(m):
    m.manual_seed(0)
    return workloads.WORKLOADS["c"].build(m)


def bench_step(reps):
    setups = {v: _workload(torch if v == "torch" else ember) for v in VARIANTS}
    counters = {v: [0] for v in setups}

    def step_fn(v):
        s = setups[v]

        def fn():
            i = counters[v][0]
            counters[v][0] += 1
            return {"step": _timed(lambda: s.step(s.make_batch(i)))}

        return fn

    compare("c", {v: step_fn(v) for v in setups}, reps)


def bench_parts(reps):
    """Forward (model + loss) and backward of workload c, timed apart (no optimizer)."""
    models = {v: _workload(torch if v == "torch" else ember) for v in VARIANTS}

    def parts_fn(v):
        s = models[v]
        m = torch if v == "torch" else ember
        ce = m.nn.functional.cross_entropy

        def fn():
            x, target = s.make_batch(0)
            s.model.zero_grad()
            t0 = time.perf_counter()
            loss = ce(s.model(x).reshape(-1, 65), target.reshape(-1))
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            return {"forward": t1 - t0, "backward": t2 - t1}

        return fn

    compare("c", {v: parts_fn(v) for v in models}, reps)


def bench_layer(cls, reps, T=64, B=32, I=64, H=256):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((T, B, I), dtype=np.float32)
    layers = {}
    for v in VARIANTS:
        m = torch if v == "torch" else ember
        m.manual_seed(0)
        layers[v] = (getattr(m.nn, cls)(I, H), m.tensor(x, requires_grad=True))

    def fn_of(v):
        layer, xt = layers[v]

        def fn():
            t0 = time.perf_counter()
            y = layer(xt)[0]
            t1 = time.perf_counter()
            y.sum().backward()
            t2 = time.perf_counter()
            return {"forward": t1 - t0, "backward": t2 - t1}

        return fn

    compare(cls.lower(), {v: fn_of(v) for v in VARIANTS}, reps)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--only", default="step,parts,lstm,gru")
    p.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)))
    p.add_argument("--variants", default="fast,reference,torch")
    args = p.parse_args()
    only = args.only.split(",")
    VARIANTS[:] = [v for v in args.variants.split(",") if v != "torch"] + ["torch"]
    torch.set_num_threads(args.threads)
    print(f"threads: torch {torch.get_num_threads()}; numba {ember.kernels.HAVE_NUMBA}")
    if "step" in only:
        bench_step(args.reps)
    if "parts" in only:
        bench_parts(args.reps)
    if "lstm" in only:
        bench_layer("LSTM", args.reps)
    if "gru" in only:
        bench_layer("GRU", args.reps)


if __name__ == "__main__":
    main()
