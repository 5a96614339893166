"""Each script in examples/ runs a few steps (--steps) and prints what it promises."""

import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _run(name, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("EMBER_EXAMPLE_STEPS", None)
    proc = subprocess.run([sys.executable, str(EXAMPLES / name), *args], capture_output=True,
                          text=True, check=False, env=env, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_every_example_is_tested():
    tested = {"pytorch_style_loop.py", "fit_digits.py", "char_rnn.py", "gpt_python_source.py",
              "finetune_from_checkpoint.py"}  # fmt: skip
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_pytorch_style_loop():
    out = _run("pytorch_style_loop.py", "--steps", "3")
    assert "epoch 1: loss" in out and "3 steps; test accuracy" in out and "log.csv" in out


def test_fit_digits():
    out = _run("fit_digits.py", "--steps", "3")
    assert "Total params" in out  # the summary table
    assert "trained 1 epoch(s); best model saved to" in out
    assert "test accuracy" in out and "predicted [" in out and "actual    [" in out


@pytest.mark.parametrize("name", ["char_rnn.py", "gpt_python_source.py"])
def test_text_models_train_and_sample(name):
    out = _run(name, "--steps", "2", "--chars", "30")
    assert "2 steps" in out
    sample = out.split("sample:\n", 1)[1]
    assert sample.startswith("def ") and len(sample.rstrip("\n")) >= 30


def test_steps_from_the_environment():
    env = dict(os.environ, PYTHONPATH=str(ROOT), EMBER_EXAMPLE_STEPS="2")
    proc = subprocess.run([sys.executable, str(EXAMPLES / "pytorch_style_loop.py")],
                          capture_output=True, text=True, check=False, env=env, timeout=300)  # fmt: skip
    assert proc.returncode == 0 and "2 steps; test accuracy" in proc.stdout


def test_finetune_from_checkpoint():
    out = _run("finetune_from_checkpoint.py", "--steps", "2")
    assert "stage 1: digits 0-4, test accuracy" in out and ".safetensors" in out
    assert "stage 2: resumed from epoch 3, test accuracy" in out
    assert "stage 3: new 10-class head (5,130 trainable parameters), test accuracy" in out
