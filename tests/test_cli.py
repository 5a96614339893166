"""The ``ember`` command: demo, info, and ``ember train`` (config errors, --set, the run
folder, --resume, the built-in demo), plus the run's PNG plot with and without matplotlib."""

import csv
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zlib

import numpy as np
import pytest

import ember
from ember import cli, config, demo, plot

# A run of a few seconds: the MLP on 300 digits, one epoch.
TINY = ["--set", "data.limit=300", "--set", "data.batch_size=50", "--quiet"]
BLOCK_SKLEARN = textwrap.dedent(
    """
    import importlib.abc, importlib.util, sys
    class _Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] == "sklearn":
                raise ModuleNotFoundError(f"No module named {name!r}")
    sys.meta_path.insert(0, _Block())
    _find = importlib.util.find_spec
    importlib.util.find_spec = lambda n, p=None: None if n.split(".")[0] == "sklearn" else _find(n, p)
    from ember import cli
    sys.exit(cli.main(sys.argv[1:]))
    """
)


def _ember(*args, cwd=None, prelude=None):
    cmd = [sys.executable, "-c", prelude, *args] if prelude else [sys.executable, "-m",
                                                                   "ember.cli", *args]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=cwd, env=env,
                          timeout=300)  # fmt: skip


# ---------------------------------------------------------------------------- demo, info
def test_demo_loss_falls(capsys):
    final = demo.main(steps=300)
    out = capsys.readouterr().out
    first = float(out.splitlines()[1].split()[-1])
    assert final < 0.1 * first, out


def test_info_lists_versions_devices_and_extras(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert f"ember {ember.__version__}" in out and "numpy" in out and "cuda" in out
    assert "cpu" in out and "optional extras" in out
    import sklearn

    assert f"scikit-learn (digits data)       {sklearn.__version__}" in out


def test_console_entry_point_runs():
    proc = _ember("info")
    assert proc.returncode == 0 and "numpy" in proc.stdout


# ---------------------------------------------------------------------------- config errors
@pytest.mark.parametrize(
    "toml,args,message",
    [
        ('[model]\nname = "mlp"\n[solver]\noptimizer = "sgdd"\n', [],
         'solver.optimizer = "sgdd": expected one of adam, adamw, adagrad, rmsprop, sgd'),
        ('[model]\nname = "mlp"\n', ["--set", "solver.lr=-1"],
         "solver.lr = -1: expected a number > 0"),
        ('[model]\nname = "mlp"\n', ["--set", "solver.lr=fast"],
         'solver.lr = "fast": expected a number > 0'),
        ('[model]\nname = "mlp"\n', ["--set", "solver.lr"],
         "--set solver.lr: expected section.key=value"),
        ('[model]\nname = "mlp"\n[trainer]\nx = 1\n', [],
         "[trainer]: unknown section; expected one of model, data, solver, run"),
        ('[model]\nname = "mlp"\nwidth = 3\n', [],
         "model.width: unknown key; expected one of dropout, hidden, in_features, num_classes"),
        ('[model]\nname = "mlp"\nin_features = 100\n', [],
         "model.in_features = 100: data 'digits' needs 64"),
        ('[model]\nname = "lenet5"\n', [],
         "model: LeNet5: expected input_size 32 (the classic) or 28 (padded), received 8"),
        ('[model]\nname = "mlp"\n[data]\nname = "mnist"\nroot = "nowhere"\n', [],
         "data.root = 'nowhere': "),
        ("[model\n", [], "cfg.toml: invalid TOML: "),
    ],
)  # fmt: skip
def test_config_errors_exit_2_with_a_message_and_no_traceback(tmp_path, toml, args, message):
    (tmp_path / "cfg.toml").write_text(toml)
    proc = _ember("train", "cfg.toml", *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("ember train: error: "), proc.stderr
    assert message in proc.stderr, proc.stderr
    assert not (tmp_path / "runs").exists()  # nothing was started


def test_missing_config_and_bad_resume_exit_2(tmp_path):
    proc = _ember("train", "nope.toml", cwd=tmp_path)
    assert proc.returncode == 2 and "cannot read config 'nope.toml': no such file" in proc.stderr
    proc = _ember("train", "--resume", str(tmp_path / "absent"), cwd=tmp_path)
    assert proc.returncode == 2 and "no config.toml there" in proc.stderr
    proc = _ember("train", "mlp", "--resume", str(tmp_path), cwd=tmp_path)
    assert proc.returncode == 2 and "only --epochs may be given with it" in proc.stderr
    proc = _ember("train", "--epochs", "0", cwd=tmp_path)  # argparse's own check
    assert proc.returncode == 2 and "expected a positive integer, received '0'" in proc.stderr
    assert "Traceback" not in proc.stderr


# ---------------------------------------------------------------------------- a run
def _run(tmp_path, name, *args):
    run_dir = tmp_path / name
    assert cli.main(["train", "mlp", "--run-dir", str(run_dir), *TINY, *args]) == 0
    return run_dir


def _metrics(run_dir):
    with open(run_dir / "metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_run_folder_holds_config_metrics_checkpoints_and_plot(tmp_path, capsys):
    run_dir = _run(tmp_path, "r", "--epochs", "1", "--set", "model.hidden=[32]",
                   "--set", "solver.optimizer=sgd", "--set", "solver.momentum=0.9",
                   "--set", "solver.lr=0.05")  # fmt: skip
    out = capsys.readouterr().out
    assert "test accuracy" in out and f"run folder: {run_dir}" in out
    for f in ["config.toml", "metrics.csv", "checkpoints/last.safetensors",
              "checkpoints/best.safetensors", "plot.png"]:  # fmt: skip
        assert (run_dir / f).is_file(), f
    # config.toml is the resolved config, overrides and data-decided arguments included.
    cfg = config.resolve(config.load(str(run_dir / "config.toml")))
    assert cfg["model"] == {"name": "mlp", "hidden": [32], "dropout": 0.1, "in_features": 64,
                            "num_classes": 10}  # fmt: skip
    assert cfg["solver"]["optimizer"] == "sgd" and cfg["solver"]["momentum"] == 0.9
    assert cfg["solver"]["epochs"] == 1 and cfg["data"]["limit"] == 300
    rows = _metrics(run_dir)
    assert len(rows) == 1 and {"epoch", "loss", "accuracy", "val_loss", "val_accuracy",
                               "lr"} <= set(rows[0])  # fmt: skip
    assert float(rows[0]["lr"]) == 0.05
    assert (run_dir / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The checkpoint holds the model: its weights load into a fresh MLP.
    from ember.models import MLP
    from ember.train.checkpoint import load_checkpoint

    model = MLP(64, (32,), 10, dropout=0.1)
    ckpt = load_checkpoint(run_dir / "checkpoints" / "last.safetensors", model, restore_rng=False)
    assert ckpt["trainer"]["epoch"] == 1


def test_resume_continues_exactly_where_the_run_stopped(tmp_path, capsys):
    a = _run(tmp_path, "a", "--epochs", "1")
    assert cli.main(["train", "--resume", str(a), "--epochs", "2", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "resuming after epoch 1" in out and "Epoch 2/2" in out and "Epoch 1/2" not in out
    b = _run(tmp_path, "b", "--epochs", "2")
    rows_a, rows_b = _metrics(a), _metrics(b)
    assert [r["epoch"] for r in rows_a] == ["0", "1"]
    assert rows_a == rows_b  # the same numbers as a run that was never stopped
    assert config.load(str(a / "config.toml"))["solver"]["epochs"] == 2
    # Trained to its end: resuming again needs more epochs.
    assert cli.main(["train", "--resume", str(a)]) == 2
    assert "already trained 2 of its 2 epochs" in capsys.readouterr().err


def test_ctrl_c_says_how_to_resume(tmp_path):
    run_dir = tmp_path / "long"
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ember.cli", "train", "mlp", "--epochs", "100000", "--quiet",
         "--run-dir", str(run_dir)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    last = run_dir / "checkpoints" / "last.safetensors"
    deadline = time.monotonic() + 120
    while not last.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert (
        f"interrupted; continue from its last checkpoint with: ember train --resume {run_dir}"
        in err
    )
    assert "Traceback" not in err


def test_run_dir_that_holds_a_run_is_refused(tmp_path, capsys):
    a = _run(tmp_path, "a", "--epochs", "1")
    assert cli.main(["train", "mlp", "--run-dir", str(a), *TINY]) == 2
    assert "already holds a run; continue it with ember train --resume" in capsys.readouterr().err


def test_default_run_folder_name(tmp_path, capsys):
    assert cli.main(["train", "mlp", *TINY, "--epochs", "1", "--set",
                     f"run.out_dir={tmp_path}", "--set", "run.name=tiny"]) == 0  # fmt: skip
    (folder,) = os.listdir(tmp_path)
    assert folder.startswith("tiny-") and len(folder) == len("tiny-YYYYmmdd-HHMMSS")


def test_scheduler_and_accumulation_from_the_config(tmp_path):
    run_dir = _run(tmp_path, "s", "--epochs", "2", "--set", "solver.scheduler=step",
                   "--set", "solver.scheduler_args={ step_size = 1, gamma = 0.5 }",
                   "--set", "solver.grad_accum_steps=2", "--set", "solver.max_grad_norm=1.0")  # fmt: skip
    lrs = [float(r["lr"]) for r in _metrics(run_dir)]
    assert lrs == [0.002, 0.001]


def _fake_cifar(root, n_train=40, n_test=12):
    rng = np.random.default_rng(0)
    for name, n in [*((f"data_batch_{i}.bin", n_train // 5) for i in range(1, 6)),
                    ("test_batch.bin", n_test)]:  # fmt: skip
        records = rng.integers(0, 256, (n, 1 + 3 * 32 * 32), dtype=np.uint8)
        records[:, 0] = np.arange(n) % 10
        (root / name).write_bytes(records.tobytes())


def _fake_mnist(root, n_train=30, n_test=10):
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        header = struct.pack(">HBB", 0, 8, 3) + struct.pack(">III", n, 28, 28)
        (root / f"{split}-images-idx3-ubyte").write_bytes(header + images.tobytes())
        labels = (np.arange(n) % 10).astype(np.uint8)
        header = struct.pack(">HBB", 0, 8, 1) + struct.pack(">I", n)
        (root / f"{split}-labels-idx1-ubyte").write_bytes(header + labels.tobytes())


def test_cifar10_with_augmentation_and_mnist_from_files(tmp_path, capsys):
    _fake_cifar(tmp_path)
    args = ["--set", "data.name=cifar10", "--set", f"data.root={tmp_path}", "--epochs", "1",
            "--set", "data.batch_size=8", "--quiet"]  # fmt: skip
    # The preset's input_size = 28 does not fit CIFAR's 32x32 images.
    assert cli.main(["train", "lenet5", *args, "--run-dir", str(tmp_path / "bad")]) == 2
    assert "model.input_size = 28: data 'cifar10' needs 32" in capsys.readouterr().err
    run_dir = tmp_path / "c"
    assert cli.main(["train", "lenet5", *args, "--set", "model.input_size=32",
                     "--set", 'data.transforms=["random_crop", "random_hflip"]',
                     "--run-dir", str(run_dir)]) == 0  # fmt: skip
    cfg = config.load(str(run_dir / "config.toml"))
    assert cfg["model"]["in_channels"] == 3 and cfg["data"]["transforms"] == [
        "random_crop",
        "random_hflip",
    ]
    out = capsys.readouterr().out
    assert "train 36, val 4, test 12 images" in out and "test accuracy" in out
    mnist = tmp_path / "mnist"
    mnist.mkdir()
    _fake_mnist(mnist)
    assert cli.main(["train", "lenet5", "--set", f"data.root={mnist}", "--epochs", "1",
                     "--quiet", "--run-dir", str(tmp_path / "m")]) == 0  # fmt: skip
    assert "train 27, val 3, test 10 images" in capsys.readouterr().out


# ---------------------------------------------------------------------------- the demo
def test_train_demo_reduced(tmp_path):
    """`ember train` with no config: the digits CNN (one short epoch here; the full demo is
    measured by hand, see the README)."""
    proc = _ember("train", "--epochs", "1", "--set", "data.limit=400", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "training the demo (a small CNN on scikit-learn's 8x8 handwritten digits)" in proc.stdout
    assert "test accuracy" in proc.stdout and "run folder: runs/digits-cnn-" in proc.stdout
    assert len(os.listdir(tmp_path / "runs")) == 1


def test_train_demo_without_scikit_learn_is_the_char_lstm(tmp_path):
    proc = _ember("train", "--set", "data.limit=4", "--set", "data.max_chars=20000",
                  "--set", "solver.epochs=1", "--set", "run.sample_chars=40", cwd=tmp_path,
                  prelude=BLOCK_SKLEARN)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "a character-level LSTM on Python's own source" in proc.stdout
    assert "val loss" in proc.stdout and "perplexity" in proc.stdout
    sample = proc.stdout.split("sample:\n" + "-" * 60 + "\n")[1].split("\n" + "-" * 60)[0]
    assert sample.startswith("def ") and len(sample) == 44


def test_digits_config_without_scikit_learn_says_how_to_install(tmp_path):
    proc = _ember("train", "mlp", cwd=tmp_path, prelude=BLOCK_SKLEARN)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "pip install ember[digits]" in proc.stderr


# ---------------------------------------------------------------------------- the plot
def _read_png(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(raw):
        (n,) = struct.unpack(">I", raw[pos : pos + 4])
        kind, data = raw[pos + 4 : pos + 8], raw[pos + 8 : pos + 8 + n]
        (crc,) = struct.unpack(">I", raw[pos + 8 + n : pos + 12 + n])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + data
        pos += 12 + n
    w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2) and b"IEND" in chunks
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + 3 * w)
    assert not rows[:, 0].any()  # filter type 0 on every row
    return rows[:, 1:].reshape(h, w, 3)


def test_plot_without_matplotlib_draws_both_curves(tmp_path):
    metrics = {"epoch": [0, 1, 2], "loss": [2.0, 1.0, 0.5], "val_loss": [2.1, 1.2, 0.9],
               "accuracy": [0.3, 0.7, 0.9], "val_accuracy": [0.2, 0.6, 0.8]}  # fmt: skip
    path = plot.plot_metrics(metrics, str(tmp_path / "p.png"), use_matplotlib=False)
    img = _read_png(path)
    assert img.shape == (400, 960, 3)
    for colour in (plot.BLUE, plot.ORANGE):
        hit = (img == colour).all(axis=-1)
        left, right = hit[:, :480], hit[:, 480:]
        assert left.sum() > 100 and right.sum() > 100  # a curve in each panel
    # The loss falls: in the left panel the blue curve starts high (small row) and ends low.
    ys, xs = np.nonzero((img[:, :480] == plot.BLUE).all(axis=-1))
    assert ys[xs.argmin()] < ys[xs.argmax()]


def test_plot_reads_a_metrics_csv_and_uses_matplotlib(tmp_path):
    pytest.importorskip("matplotlib")
    csv_path = tmp_path / "m.csv"
    csv_path.write_text("epoch,loss,val_loss\n0,1.0,1.1\n1,0.5,NA\n")
    assert plot.read_metrics(str(csv_path))["val_loss"][0] == 1.1
    path = plot.plot_metrics(str(csv_path), str(tmp_path / "m.png"))
    with open(path, "rb") as fh:
        assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_write_png_checks_the_shape(tmp_path):
    with pytest.raises(ValueError, match=r"write_png: expected an \(H, W, 3\) image"):
        plot.write_png(str(tmp_path / "x.png"), np.zeros((4, 4)))
