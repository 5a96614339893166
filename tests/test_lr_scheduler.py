"""ember.optim.lr_scheduler against torch.optim.lr_scheduler: the same learning rates (and
momenta) step for step, over enough steps to pass every milestone."""

import math
import warnings

import numpy as np
import pytest
import torch

import ember
from tests import oracle
from tests.oracle import check_raises

LR = (0.1, 0.02)  # two parameter groups with different learning rates


def make_opt(optim, kind="SGD", **kw):
    m = ember if optim is ember.optim else torch
    groups = [{"params": [m.zeros(2, requires_grad=True)], "lr": lr} for lr in LR]
    if kind == "SGD":
        return optim.SGD(groups, lr=0.1, momentum=kw.pop("momentum", 0.9), **kw)
    return getattr(optim, kind)(groups, **kw)


def snapshot(opt, sched):
    """What a step changes: each group's lr, momentum / beta1, and get_last_lr()."""
    out = []
    for g in opt.param_groups:
        out.append(g["lr"])
        if "momentum" in g:
            out.append(g["momentum"])
        if "betas" in g:
            out += list(g["betas"])
    return out + list(sched.get_last_lr())


def trace(optim, build_sched, steps, kind="SGD", opt_kw=None, metrics=None):
    opt = make_opt(optim, kind, **(opt_kw or {}))
    sched = build_sched(optim.lr_scheduler, opt)
    seq = [snapshot(opt, sched)]
    for i in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[i])
        seq.append(snapshot(opt, sched))
    return seq


def assert_same(build_sched, steps, kind="SGD", opt_kw=None, metrics=None):
    oracle.calls["oracle"] += 1
    e = trace(ember.optim, build_sched, steps, kind, opt_kw, metrics)
    t = trace(torch.optim, build_sched, steps, kind, opt_kw, metrics)
    # The same formulas in the same order on Python floats: equal up to the last bit or so.
    np.testing.assert_allclose(np.array(e), np.array(t), rtol=1e-14, atol=0)
    return e


SCHEDULERS = {
    "StepLR": (lambda s, o: s.StepLR(o, step_size=3, gamma=0.5), 20),
    "MultiStepLR": (lambda s, o: s.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), 15),
    "ExponentialLR": (lambda s, o: s.ExponentialLR(o, gamma=0.9), 12),
    "CosineAnnealingLR": (lambda s, o: s.CosineAnnealingLR(o, T_max=7, eta_min=0.001), 40),
    "CosineAnnealingLR-eta0": (lambda s, o: s.CosineAnnealingLR(o, T_max=5), 22),
    "LinearLR": (lambda s, o: s.LinearLR(o, start_factor=0.25, total_iters=6), 12),
    "LinearLR-down": (
        lambda s, o: s.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=5), 9),
    "ConstantLR": (lambda s, o: s.ConstantLR(o, factor=0.5, total_iters=4), 8),
    "LambdaLR": (lambda s, o: s.LambdaLR(o, lambda e: 0.95**e), 8),
    "LambdaLR-list": (lambda s, o: s.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: e % 3]), 8),
    "SequentialLR": (
        lambda s, o: s.SequentialLR(
            o, [s.LinearLR(o, start_factor=0.1, total_iters=4), s.CosineAnnealingLR(o, 10)],
            milestones=[4]),
        25),
    "SequentialLR-3": (
        lambda s, o: s.SequentialLR(
            o, [s.ConstantLR(o, factor=0.5, total_iters=2), s.ExponentialLR(o, gamma=0.8),
                s.StepLR(o, step_size=2, gamma=0.5)],
            milestones=[3, 8]),
        16),
    "OneCycleLR-cos": (lambda s, o: s.OneCycleLR(o, max_lr=1.0, total_steps=20), 20),
    "OneCycleLR-linear": (
        lambda s, o: s.OneCycleLR(o, max_lr=[1.0, 0.5], epochs=4, steps_per_epoch=5,
                                  pct_start=0.25, anneal_strategy="linear", div_factor=10.0,
                                  final_div_factor=100.0), 20),
    "OneCycleLR-three-phase": (
        lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=23, three_phase=True,
                                  base_momentum=[0.8, 0.7], max_momentum=0.9), 23),
    "OneCycleLR-no-momentum": (
        lambda s, o: s.OneCycleLR(o, max_lr=0.5, total_steps=10, cycle_momentum=False), 10),
}  # fmt: skip


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_lr_sequence_matches_torch(name):
    build, steps = SCHEDULERS[name]
    seq = assert_same(build, steps)
    assert len({tuple(s) for s in seq}) > 1  # the schedule did change the lr


@pytest.mark.parametrize("kind", ["Adam", "AdamW"])
@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_cycles_adams_beta1(kind, three_phase):
    def build(s, o):
        return s.OneCycleLR(o, max_lr=0.01, total_steps=15, three_phase=three_phase)

    seq = assert_same(build, 15, kind=kind)
    beta1s = {row[1] for row in seq}
    assert min(beta1s) < 0.86 and max(beta1s) == pytest.approx(0.95)


@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR", "LinearLR", "ExponentialLR"])
def test_one_cycle_and_others_on_adam(name):
    assert_same(SCHEDULERS[name][0], SCHEDULERS[name][1], kind="Adam")


def test_one_cycle_errors_past_total_steps():
    for lib in (ember, torch):
        opt = make_opt(lib.optim)
        sched = lib.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=5)
        for _ in range(5):
            opt.step()
            sched.step()
        with pytest.raises(ValueError, match="Tried to step 6 times. The specified number of "
                           "total steps is 5"):  # fmt: skip
            sched.step()


def test_one_cycle_without_momentum_needs_cycle_momentum_false():
    check_raises(
        lambda m: m.optim.lr_scheduler.OneCycleLR(make_opt(m.optim, "Adagrad"), 0.1, 10),
        match="optimizer must support momentum or beta1 with `cycle_momentum` option enabled",
    )
    assert_same(
        lambda s, o: s.OneCycleLR(o, max_lr=0.3, total_steps=12, cycle_momentum=False),
        12,
        kind="Adagrad",
    )


PLATEAU = {
    "min-rel": {"mode": "min", "factor": 0.5, "patience": 1},
    "min-abs-cooldown": {"mode": "min", "factor": 0.5, "patience": 0, "threshold": 0.05,
                             "threshold_mode": "abs", "cooldown": 2},
    "max-rel": {"mode": "max", "factor": 0.1, "patience": 2, "threshold": 0.01},
    "max-abs-min_lr": {"mode": "max", "factor": 0.3, "patience": 0, "threshold_mode": "abs",
                           "min_lr": [0.01, 0.005]},
    "min-eps": {"mode": "min", "factor": 0.9, "patience": 0, "min_lr": 0.015, "eps": 1e-3},
}  # fmt: skip
METRICS = [1.0, 0.9, 0.95, 0.95, 0.95, 0.89, 0.9, 0.9, 0.85, 0.9, 0.9, 0.9, 0.9, 0.7, 0.8,
           0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]  # fmt: skip


@pytest.mark.parametrize("name", list(PLATEAU))
def test_reduce_lr_on_plateau_matches_torch(name):
    kw = PLATEAU[name]
    metrics = METRICS if kw["mode"] == "min" else [-m for m in METRICS]
    seq = assert_same(lambda s, o: s.ReduceLROnPlateau(o, **kw), len(metrics), metrics=metrics)
    assert seq[-1][0] < seq[0][0]  # it did reduce the lr


def test_reduce_lr_on_plateau_state():
    opt = make_opt(ember.optim)
    sched = ember.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    sched.step(ember.tensor(1.0))  # a 0-d tensor is accepted
    for v in (1.0, 1.0):
        sched.step(v)
    assert sched.best == 1.0 and sched.num_bad_epochs == 0
    assert sched.get_last_lr() == [0.05, 0.01]


def test_closed_form_with_an_epoch_argument():
    # step(epoch) is deprecated in both, and then uses the closed form where there is one
    for name in ["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "LinearLR",
                 "ConstantLR"]:  # fmt: skip
        build = SCHEDULERS[name][0]
        out = []
        for lib in (ember, torch):
            opt = make_opt(lib.optim)
            sched = build(lib.optim.lr_scheduler, opt)
            for epoch in (4, 7, 2, 11):
                opt.step()
                with pytest.warns(UserWarning, match="deprecated"):
                    sched.step(epoch)
                out.append(sched.get_last_lr())
        np.testing.assert_allclose(out[:4], out[4:], rtol=1e-14, err_msg=name)


def _run_and_resume(lib, build, kind, steps, split, tmp_path, metrics=None):
    """Steps 0..split on one optimizer and scheduler; then, for ember, both are saved with
    ember.save and restored into fresh ones, which do the rest."""
    opt = make_opt(lib.optim, kind)
    sched = build(lib.optim.lr_scheduler, opt)
    seq = []
    for i in range(steps):
        if i == split and lib is ember:
            ember.save({"opt": opt.state_dict(), "sched": sched.state_dict()},
                       tmp_path / "ckpt.safetensors")  # fmt: skip
            opt = make_opt(lib.optim, kind)
            sched = build(lib.optim.lr_scheduler, opt)
            ckpt = ember.load(tmp_path / "ckpt.safetensors")
            opt.load_state_dict(ckpt["opt"])
            sched.load_state_dict(ckpt["sched"])
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[i])
        seq.append(snapshot(opt, sched))
    return seq


@pytest.mark.parametrize("name,kind", [
    ("StepLR", "SGD"), ("MultiStepLR", "SGD"), ("CosineAnnealingLR", "SGD"),
    ("SequentialLR", "SGD"), ("SequentialLR-3", "SGD"), ("OneCycleLR-three-phase", "SGD"),
    ("OneCycleLR-cos", "Adam"), ("LinearLR", "Adam"), ("LambdaLR", "SGD"),
    ("ReduceLROnPlateau", "SGD"),
])  # fmt: skip
def test_state_dict_round_trip_through_save(name, kind, tmp_path):
    if name == "ReduceLROnPlateau":
        build, steps = (lambda s, o: s.ReduceLROnPlateau(o, **PLATEAU["min-abs-cooldown"])), 20
        metrics = METRICS
    else:
        (build, steps), metrics = SCHEDULERS[name], None
    oracle.calls["oracle"] += 1
    e = _run_and_resume(ember, build, kind, steps, steps // 2, tmp_path, metrics)
    t = _run_and_resume(torch, build, kind, steps, steps // 2, tmp_path, metrics)
    np.testing.assert_allclose(np.array(e), np.array(t), rtol=1e-14)


def test_scheduler_state_dict_holds_plain_values():
    opt = make_opt(ember.optim)
    sched = ember.optim.lr_scheduler.MultiStepLR(opt, milestones=[3, 1, 3])
    sd = sched.state_dict()
    assert "optimizer" not in sd
    assert sd["milestones"] == [1, 3, 3] and sd["last_epoch"] == 0 and sd["base_lrs"] == [0.1, 0.02]
    assert sched.get_last_lr() == [0.1, 0.02]
    assert opt.param_groups[0]["initial_lr"] == 0.1


def test_warns_when_the_scheduler_steps_before_the_optimizer():
    opt = make_opt(ember.optim)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before optimizer.step"):
        sched.step()
    opt = make_opt(ember.optim)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=2)
    opt.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.step()


def test_resuming_with_last_epoch():
    out = []
    for lib in (ember, torch):
        opt = make_opt(lib.optim)
        for g in opt.param_groups:
            g["initial_lr"] = g["lr"]
        sched = lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5, last_epoch=3)
        out.append((sched.last_epoch, sched.get_last_lr()))
    assert out[0] == out[1]


# ---------------------------------------------------------------------------- errors
def _s(m):
    return m.optim.lr_scheduler


def _seq_other_optimizer(m):
    o1, o2 = make_opt(m.optim), make_opt(m.optim)
    _s(m).SequentialLR(o1, [_s(m).StepLR(o1, 2), _s(m).StepLR(o2, 2)], milestones=[3])


def _seq_plateau(m):
    o = make_opt(m.optim)
    _s(m).SequentialLR(o, [_s(m).StepLR(o, 2), _s(m).ReduceLROnPlateau(o)], milestones=[3])


ERRORS = [
    (lambda m: _s(m).StepLR("sgd", 2), "str is not an Optimizer"),
    (lambda m: _s(m).ReduceLROnPlateau(object()), "object is not an Optimizer"),
    (lambda m: _s(m).LinearLR(make_opt(m.optim), start_factor=0.0),
     "Starting multiplicative factor expected to be greater than 0 and less or equal to 1"),
    (lambda m: _s(m).LinearLR(make_opt(m.optim), end_factor=1.5),
     "Ending multiplicative factor expected to be between 0 and 1"),
    (lambda m: _s(m).ConstantLR(make_opt(m.optim), factor=2.0),
     "Constant multiplicative factor expected to be between 0 and 1"),
    (lambda m: _s(m).SequentialLR(make_opt(m.optim), [], milestones=[]),
     "SequentialLR expects at least one scheduler"),
    (lambda m: _s(m).SequentialLR(o := make_opt(m.optim), [_s(m).StepLR(o, 2)], milestones=[2]),
     "expects number of schedulers provided to be one more than the number of milestone"),
    (_seq_other_optimizer, "SequentialLR expects all schedulers to belong to the same optimizer"),
    (_seq_plateau, "SequentialLR does not support `ReduceLROnPlateau`"),
    (lambda m: _s(m).OneCycleLR(make_opt(m.optim), 0.1),
     "You must define either total_steps OR (epochs AND steps_per_epoch)"),
    (lambda m: _s(m).OneCycleLR(make_opt(m.optim), 0.1, total_steps=0),
     "expected a positive integer total_steps, received 0"),
    (lambda m: _s(m).OneCycleLR(make_opt(m.optim), 0.1, epochs=-2, steps_per_epoch=3),
     "expected a positive integer epochs, received -2"),
    (lambda m: _s(m).OneCycleLR(make_opt(m.optim), 0.1, total_steps=10, pct_start=1.5),
     "Expected float between 0 and 1 pct_start, but got 1.5"),
    (lambda m: _s(m).OneCycleLR(make_opt(m.optim), 0.1, 10, anneal_strategy="exp"),
     "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    (lambda m: _s(m).OneCycleLR(make_opt(m.optim), [0.1, 0.2, 0.3], 10),
     "max_lr must have the same length as optimizer.param_groups"),
    (lambda m: _s(m).ReduceLROnPlateau(make_opt(m.optim), factor=1.0), "Factor should be < 1.0"),
    (lambda m: _s(m).ReduceLROnPlateau(make_opt(m.optim), mode="avg"), "mode avg is unknown!"),
    (lambda m: _s(m).ReduceLROnPlateau(make_opt(m.optim), threshold_mode="x"),
     "threshold mode x is unknown!"),
    (lambda m: _s(m).ReduceLROnPlateau(make_opt(m.optim), min_lr=[0.1]),
     "expected 2 min_lrs, got 1"),
    (lambda m: _s(m).LambdaLR(make_opt(m.optim), [lambda e: 1.0]),
     "expected 2 lr_lambdas, but got 1"),
    (lambda m: _s(m).StepLR(make_opt(m.optim), 2, last_epoch=4),
     "param 'initial_lr' is not specified in param_groups[0]"),
]  # fmt: skip


@pytest.mark.parametrize("f,match", ERRORS, ids=[m for _, m in ERRORS])
def test_errors(f, match):
    check_raises(f, match=match)


def test_errors_ember_checks_early():
    # PyTorch accepts these and fails later with ZeroDivisionError; ember says what is wrong.
    opt = make_opt(ember.optim)
    with pytest.raises(ValueError, match="StepLR: expected a positive integer step_size, "
                       "received 0"):  # fmt: skip
        ember.optim.lr_scheduler.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="CosineAnnealingLR: expected a positive integer T_max"):
        ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=0)
    with pytest.raises(TypeError, match="MultiStepLR: milestones must be integers"):
        ember.optim.lr_scheduler.MultiStepLR(opt, milestones=[1.5])
    sched = ember.optim.lr_scheduler.ReduceLROnPlateau(opt)
    with pytest.raises(TypeError, match="expected the metric as a number"):
        sched.step("loss")
    assert math.isinf(sched.best)


class _Warmup:
    def __init__(self, n):
        self.n = n

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.n)


def test_lambda_lr_keeps_the_attributes_of_callable_objects(tmp_path):
    opt = make_opt(ember.optim)
    sched = ember.optim.lr_scheduler.LambdaLR(opt, [_Warmup(4), lambda e: 1.0])
    for _ in range(2):
        opt.step()
        sched.step()
    ember.save(sched.state_dict(), tmp_path / "s.safetensors")
    opt2 = make_opt(ember.optim)
    sched2 = ember.optim.lr_scheduler.LambdaLR(opt2, [_Warmup(10), lambda e: 1.0])
    sched2.load_state_dict(ember.load(tmp_path / "s.safetensors"))
    assert sched2.lr_lambdas[0].n == 4 and sched2.last_epoch == 2
    opt2.step()
    sched2.step()
    assert sched2.get_last_lr() == [0.1, 0.02]  # (3 + 1) / 4 = 1: warm-up done
