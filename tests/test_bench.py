"""The benchmark's plumbing (not its timings): every workload steps in both frameworks with the
same architecture, the table is well formed, and the parent/child protocol works end to end."""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import ember
from bench import run
from bench.workloads import WORKLOADS, tiny_ops

ROOT = Path(__file__).resolve().parent.parent
MODEL_WORKLOADS = [name for name, w in WORKLOADS.items() if w.build is not None]


def _build(m, name):
    m.manual_seed(0)
    return WORKLOADS[name].build(m, smoke=True)


@pytest.mark.parametrize("name", MODEL_WORKLOADS)
def test_workload_steps_alike_in_both_frameworks(name):
    setups = {m.__name__: _build(m, name) for m in (ember, torch)}
    shapes = {fw: [tuple(p.shape) for p in s.model.parameters()] for fw, s in setups.items()}
    assert shapes["ember"] == shapes["torch"]  # the same architecture, parameter by parameter
    assert setups["ember"].samples == setups["torch"].samples > 0
    outs = {}
    for fw, s in setups.items():
        batch = s.make_batch(0)
        assert all(type(t).__module__.startswith(fw) for t in batch)
        before = [p.detach().numpy().copy() for p in s.model.parameters()]
        out = s.step(batch)
        outs[fw] = out.detach().numpy()
        assert np.isfinite(outs[fw]).all()
        after = [p.detach().numpy() for p in s.model.parameters()]
        changed = any(not np.array_equal(a, b) for a, b in zip(before, after))
        assert changed == (s.optimizer is not None)  # training steps, inference does not
        assert np.isfinite(s.step(s.make_batch(1)).detach().numpy()).all()
    assert outs["ember"].shape == outs["torch"].shape
    # The synthetic data are the same numbers on both sides.
    for a, b in zip(setups["ember"].make_batch(2), setups["torch"].make_batch(2)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_training_loss_is_cross_entropy_at_chance():
    # At initialisation a classifier over 10 classes (65 for the text models) is near chance.
    for name, classes in [("a-sgd", 10), ("b", 10), ("c", 65), ("d", 65)]:
        s = _build(torch, name)
        loss = s.step(s.make_batch(0)).item()
        assert abs(loss - math.log(classes)) < 1.5, (name, loss)


@pytest.mark.parametrize("m", [ember, torch], ids=["ember", "torch"])
def test_tiny_ops_record_a_graph(m):
    ops = tiny_ops(m)
    assert list(ops) == ["x * w", "x + w", "x.exp()"]
    for fn in ops.values():
        fn(3)


def _rec(workload, fw, rnd, value, unit="samples/s", row=None, rss=100.0):
    return {"workload": workload, "framework": fw, "round": rnd, "finite": True,
            "rows": [{"row": row or workload, "value": value, "unit": unit}],
            "peak_rss_mib": rss, "build_s": 0.5, "first_step_s": 0.75}  # fmt: skip


def _fake_records():
    recs = []
    for rnd, (e, t) in enumerate([(100.0, 50.0), (90.0, 60.0), (120.0, 40.0)], start=1):
        recs += [_rec("a-sgd", "ember", rnd, e, rss=40), _rec("a-sgd", "torch", rnd, t, rss=300)]
        recs += [_rec("b", "ember", rnd, 10.0, rss=50), _rec("b", "torch", rnd, 20.0, rss=30)]
        recs += [
            _rec("f", "ember", rnd, 4.0, "us/op", "f. tiny op: x * w"),
            _rec("f", "torch", rnd, 2.0, "us/op", "f. tiny op: x * w"),
        ]
    recs.append({"workload": "c", "framework": "ember", "round": 1, "error": "exit 1: boom"})
    return recs


def test_table_is_well_formed_markdown():
    meta = {"date": "2026-01-01", "machine": "test cpu", "command": "python -m bench.run",
            "WARNING": "busy"}  # fmt: skip
    summary = run.summarize(_fake_records())
    text = run.format_table(summary, meta)
    lines = text.splitlines()
    table = [ln for ln in lines if ln.startswith("|")]
    assert len(table) == 2 + 4  # header, separator, a-sgd, b, the tiny op, failed c
    widths = {ln.count(" | ") for ln in table[:1] + table[2:]}
    assert widths == {9}  # ten columns on every row
    assert set(table[1].strip("|").split("|")) <= {"---", "---:"}
    assert "- machine: test cpu" in lines
    assert "- command: `python -m bench.run`" in lines
    assert "- WARNING: busy" in lines
    rows = {ln.split(" | ")[0].lstrip("| "): ln.split(" | ") for ln in table[2:]}
    # Ratio: median over rounds of the per-round ratios (2.0, 1.5, 3.0), with the range.
    assert rows["a-sgd"][3] == "2.00x (1.50-3.00)"
    assert rows["a-sgd"][1:3] == ["100.0", "50.0"]
    assert rows["b"][3] == "0.50x (0.50-0.50)"
    # Times per op: PyTorch/ember, so below 1 means ember is slower.
    assert rows["f. tiny op: x * w"][1:4] == ["4.00 us", "2.00 us", "0.50x (0.50-0.50)"]
    assert rows["c **(failed)**"][1:4] == ["–", "–", "–"]
    assert "c ember round 1: exit 1: boom" in text


def test_targets_say_met_or_not():
    summary = run.summarize(_fake_records())
    targets = {t: (met, detail) for t, met, detail in run.evaluate_targets(summary)}
    assert targets["ember >= 1.0x PyTorch on every workload (a-e)"][0] is False
    assert targets["ember >= 1.3x PyTorch on at least two workloads"] == (
        False,
        "1 at or above 1.3x: a-sgd",
    )
    met, detail = targets["peak RSS below PyTorch's on every workload"]
    assert not met and "not below: b" in detail
    assert targets["a tiny op with autograd at most 3 us (ember)"][0] is False
    good = [_rec("a", "ember", 1, 14.0, rss=1), _rec("a", "torch", 1, 10.0, rss=2),
            _rec("b", "ember", 1, 13.0, rss=1), _rec("b", "torch", 1, 10.0, rss=2),
            _rec("f", "ember", 1, 2.5, "us/op", "f: x", rss=1),
            _rec("f", "torch", 1, 3.0, "us/op", "f: x", rss=2)]  # fmt: skip
    assert all(met for _, met, _ in run.evaluate_targets(run.summarize(good)))


def test_select_and_malloc_flags():
    names = list(WORKLOADS)
    assert run.select("a,d", names) == ["a-sgd", "a-adam", "d"]
    assert run.select("e-mlp-1", names) == ["e-mlp-1"]
    assert run.select(None, names) == names
    with pytest.raises(ValueError, match="unknown workload"):
        run.select("z", names)
    assert run.parse_malloc("default") == {}
    assert run.parse_malloc("MALLOC_ARENA_MAX=2, MALLOC_TRIM_THRESHOLD_=0") == {
        "MALLOC_ARENA_MAX": "2",
        "MALLOC_TRIM_THRESHOLD_": "0",
    }
    with pytest.raises(ValueError, match="MALLOC_NAME=VALUE"):
        run.parse_malloc("ARENA=2")


def test_child_env_is_the_same_for_both(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    env = run.child_env(3, {"MALLOC_TRIM_THRESHOLD_": "0"})
    assert env["OMP_NUM_THREADS"] == env["OPENBLAS_NUM_THREADS"] == env["MKL_NUM_THREADS"] == "3"
    assert "MALLOC_ARENA_MAX" not in env and env["MALLOC_TRIM_THRESHOLD_"] == "0"


def test_runner_end_to_end_in_smoke_mode(tmp_path):
    out = tmp_path / "R.md"
    cmd = [sys.executable, "-m", "bench.run", "--smoke", "--only", "a-sgd", "--rounds", "1",
           "--seconds", "0", "--warmup", "0", "--min-steps", "2", "--threads", "1",
           "--malloc", "MALLOC_ARENA_MAX=2", "--out", str(out)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(ln) for ln in out.with_suffix(".jsonl").read_text().splitlines()]
    assert [r["framework"] for r in records] == ["ember", "torch"]  # ember first in round 1
    for r in records:
        assert "error" not in r and r["finite"] and r["steps"] >= 2
        assert r["malloc"] == {"MALLOC_ARENA_MAX": "2"}
        assert 0 < r["import_s"] <= r["build_s"] <= r["first_step_s"] < 60
        assert r["peak_rss_mib"] > 10
    assert records[1]["threads"] == 1
    text = out.read_text()
    assert "| a. MLP 784-1024-1024-10, b128, SGD-momentum |" in text
    assert "- allocator: MALLOC_ARENA_MAX=2, the same for both" in text
    assert text in proc.stdout
