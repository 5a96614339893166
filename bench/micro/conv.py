"""ember vs PyTorch on the layers of the benchmark CNN (workload b) and on its whole
training step, alternating the two frameworks within one run so that machine noise hits
both alike. Prints, per layer, the median time of each and the ratio ember/torch (below 1
means ember is faster).

    python -m bench.micro.conv [--reps 20] [--only conv,pool,step,resnet,infer] [--reference]
                               [--threads N]

--reference runs ember's plain-NumPy reference paths (the "before"). --threads sets the
BLAS/OpenMP thread count of both frameworks (before NumPy or PyTorch is imported).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

if "--threads" in sys.argv:  # must be set before NumPy and PyTorch start their pools
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):  # fmt: skip
        os.environ[_var] = _n

import numpy as np
import torch

import ember
from bench import workloads

BATCH = 64


def _time(fn, setup=None):
    arg = setup() if setup else None
    t0 = time.perf_counter()
    fn(arg)
    return time.perf_counter() - t0


def compare(name, ember_fn, torch_fn, reps, ember_setup=None, torch_setup=None):
    """Median seconds of each, alternating ember and torch each repetition."""
    for _ in range(2):  # warm up (numba compiles, buffers allocate)
        _time(ember_fn, ember_setup)
        _time(torch_fn, torch_setup)
    te, tt = [], []
    for i in range(reps):
        if i % 2:
            te.append(_time(ember_fn, ember_setup))
            tt.append(_time(torch_fn, torch_setup))
        else:
            tt.append(_time(torch_fn, torch_setup))
            te.append(_time(ember_fn, ember_setup))
    me, mt = min(te), min(tt)
    print(f"{name:34s} ember {me * 1e3:8.2f} ms  torch {mt * 1e3:8.2f} ms  ratio {me / mt:5.2f}")
    return me / mt


def _both(shape, rng, requires_grad=True):
    a = rng.standard_normal(shape, dtype=np.float32)
    return (ember.tensor(a, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))  # fmt: skip


def layer_fwd_bwd(name, m_fn, t_fn, in_shapes, reps, rng, grad_in=(True,)):
    """Forward (recording the graph) and backward of one layer, timed separately."""
    pairs = [_both(s, rng, g) for s, g in zip(in_shapes, grad_in)]
    e_in = [p[0] for p in pairs]
    t_in = [p[1] for p in pairs]
    yt = t_fn(*t_in)
    g = rng.standard_normal(tuple(yt.shape), dtype=np.float32)
    ge, gt = ember.tensor(g), torch.tensor(g)
    compare(f"{name} fwd", lambda _: m_fn(*e_in), lambda _: t_fn(*t_in), reps)
    compare(f"{name} bwd", lambda y: y.backward(ge), lambda y: y.backward(gt), reps,
            lambda: m_fn(*e_in), lambda: t_fn(*t_in))  # fmt: skip


def conv_layers(reps, rng):
    EF, TF = ember.nn.functional, torch.nn.functional
    convs = [("conv1 3->32 @32", 3, 32, 32, False), ("conv2 32->64 @16", 32, 64, 16, True),
             ("conv3 64->128 @8", 64, 128, 8, True)]  # fmt: skip
    for name, c, o, hw, gx in convs:
        layer_fwd_bwd(
            name,
            lambda x, w, b: EF.conv2d(x, w, b, padding=1),
            lambda x, w, b: TF.conv2d(x, w, b, padding=1),
            [(BATCH, c, hw, hw), (o, c, 3, 3), (o,)], reps, rng, (gx, True, True),
        )  # fmt: skip
        layer_fwd_bwd(f"relu @{name[-2:]}x{o}", EF.relu, TF.relu, [(BATCH, o, hw, hw)], reps, rng)


def pool_layers(reps, rng):
    EF, TF = ember.nn.functional, torch.nn.functional
    for c, hw in ((32, 32), (64, 16)):
        layer_fwd_bwd(f"maxpool2 {c}x{hw}x{hw}", lambda x: EF.max_pool2d(x, 2),
                      lambda x: TF.max_pool2d(x, 2), [(BATCH, c, hw, hw)], reps, rng)  # fmt: skip
    layer_fwd_bwd("global avg pool 128x8x8", lambda x: EF.adaptive_avg_pool2d(x, 1),
                  lambda x: TF.adaptive_avg_pool2d(x, 1), [(BATCH, 128, 8, 8)], reps, rng)  # fmt: skip


def whole_step(name, build, reps):
    setups = {}
    for m in (ember, torch):
        m.manual_seed(0)
        setups[m] = build(m)
    counter = {ember: 0, torch: 0}

    def run(m):
        s = setups[m]
        counter[m] += 1
        return lambda _: s.step(s.make_batch(counter[m]))

    return compare(name, run(ember), run(torch), reps)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=20)
    p.add_argument("--only", default="conv,pool,step,infer")
    p.add_argument("--reference", action="store_true")
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    ember.kernels.set_enabled(not args.reference)
    print(f"ember {'reference' if args.reference else 'fast'} paths; torch threads "
          f"{torch.get_num_threads()}")  # fmt: skip
    rng = np.random.default_rng(0)
    only = args.only.split(",")
    if "conv" in only:
        conv_layers(args.reps, rng)
    if "pool" in only:
        pool_layers(args.reps, rng)
    if "step" in only:
        whole_step("CNN b64 training step", workloads.cnn_train, args.reps)
    if "infer" in only:
        whole_step("CNN inference b1", lambda m: workloads.cnn_infer(m, batch=1), args.reps)
        whole_step("CNN inference b64", lambda m: workloads.cnn_infer(m, batch=64), args.reps)
    if "resnet" in only:
        whole_step("ResNet-18 CIFAR b32 training step", workloads.resnet18_train,
                   max(3, args.reps // 4))  # fmt: skip
    print("taken:", dict(ember.kernels.taken))


if __name__ == "__main__":
    main()
