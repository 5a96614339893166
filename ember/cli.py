"""The ``ember`` command.

    ember train [CONFIG] [--set section.key=value ...] [--epochs N] [--run-dir DIR]
    ember train --resume RUN_DIR [--epochs N]
    ember info
    ember demo

``ember train`` with no config trains the built-in demo: a small CNN on scikit-learn's
handwritten digits (or, without scikit-learn, a character-level LSTM on Python's own
source). CONFIG is a TOML file or the name of a preset (``ember train lenet5``; the
presets live in ``ember/models/configs/``). A mistake in the config ends the command with
``ember train: error: ...`` and exit status 2.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys

DEMO = "small_cnn"
# Without scikit-learn the demo is the char-LSTM, cut down to about a minute on a CPU.
TEXT_DEMO = "char_lstm"
TEXT_DEMO_SET = [
    "model.embed_dim=32", "model.hidden_size=256", "model.num_layers=1", "model.dropout=0.0",
    "data.seq_len=64", "data.max_chars=1200000", "data.limit=15000", "data.val_split=0.05",
    "solver.lr=0.004", "solver.epochs=1", "run.name=demo-char-lstm", "run.sample_chars=300",
]  # fmt: skip

EXTRAS = {
    "scikit-learn (digits data)": "sklearn",
    "matplotlib (plots)": "matplotlib",
    "ml_dtypes (bfloat16)": "ml_dtypes",
    "safetensors": "safetensors",
    "tensorboardX (TensorBoard logs)": "tensorboardX",
    "cupy (CUDA)": "cupy",
    "torch (test oracle)": "torch",
}


def _version(module: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return None
    from importlib import metadata

    dist = {"sklearn": "scikit-learn"}.get(module, module)
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "installed"


def _info() -> int:
    import ember
    from ember import backend

    print(f"ember {ember.__version__}  (Python {platform.python_version()}, {platform.system()})")
    print("backends")
    for name, ver in backend.versions().items():
        print(f"  {name:6s} {ver or 'not installed'}")
    print("devices")
    print(f"  cpu    {os.cpu_count()} core(s)")
    if backend.cuda_available():
        print(f"  cuda   available, {backend.device_count()} device(s)")
    else:
        print("  cuda   not available")
    print("optional extras")
    for label, module in EXTRAS.items():
        if module == "cupy":
            continue
        print(f"  {label:32s} {_version(module) or 'not installed'}")
    return 0


def _train_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "train",
        help="train a model from a TOML config (no config: the built-in demo)",
        description="Train a model described by a TOML config with [model], [data], [solver] "
        "and [run] sections, keeping config, metrics, checkpoints and a plot in a run folder. "
        "Without CONFIG: the built-in demo (a small CNN on the handwritten digits).",
    )
    p.add_argument(
        "config", nargs="?", metavar="CONFIG",
        help="a TOML config file, or a preset name: " + ", ".join(_presets()),
    )  # fmt: skip
    p.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
        help="override a config value, e.g. --set solver.lr=0.01 --set model.hidden=[64,32]",
    )  # fmt: skip
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last checkpoint")
    p.add_argument("--run-dir", metavar="DIR", help="the run folder (default: runs/<name>-<time>)")
    p.add_argument("--epochs", type=_positive, metavar="N", help="train for N epochs in all")
    p.add_argument("--quiet", action="store_true", help="one line per epoch, no progress bar")
    return p


def _presets():
    from ember.config import preset_names

    return preset_names()


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    return n


def _train(args) -> int:
    from ember import config, experiment
    from ember.config import ConfigError

    def fail(msg: str) -> int:
        print(f"ember train: error: {msg}", file=sys.stderr)
        return 2

    verbose = 2 if args.quiet else None  # None: as the config's run.progress says
    try:
        if args.resume:
            if args.config or args.overrides or args.run_dir:
                return fail(
                    "--resume continues a run with its own config; only --epochs may be "
                    "given with it"
                )
            result = experiment.resume(args.resume, epochs=args.epochs, verbose=verbose)
        else:
            overrides = list(args.overrides)
            source = args.config
            if source is None:
                source, demo_set = _demo_config()
                overrides = demo_set + overrides
                print(f"ember train: no config given; training the demo ({_demo_label(source)})")
            raw = config.apply_overrides(config.load(source), overrides)
            if args.epochs is not None:
                raw.setdefault("solver", {})["epochs"] = args.epochs
            cfg = config.resolve(raw)
            result = experiment.run(cfg, run_dir=args.run_dir, verbose=verbose)
    except ConfigError as e:
        return fail(str(e))
    except KeyboardInterrupt as e:
        where = getattr(e, "run_dir", None)
        if where and os.path.exists(os.path.join(where, experiment.LAST)):
            hint = f"continue from its last checkpoint with: ember train --resume {where}"
        else:
            hint = "no checkpoint was saved yet"
        print(f"\nember train: interrupted; {hint}", file=sys.stderr)
        return 130
    _report(result)
    return 0


def _demo_config():
    if importlib.util.find_spec("sklearn") is not None:
        return DEMO, []
    return TEXT_DEMO, list(TEXT_DEMO_SET)


def _demo_label(name: str) -> str:
    if name == DEMO:
        return "a small CNN on scikit-learn's 8x8 handwritten digits"
    return ("a character-level LSTM on Python's own source; install scikit-learn "
            "(pip install \"ember[digits]\") for the digits demo")  # fmt: skip


def _report(r) -> None:
    from ember import experiment

    metrics = r.test
    print()
    if r.sample is None:
        acc = metrics.get("accuracy")
        print(f"{r.split} accuracy {acc:.2%}  (loss {metrics['loss']:.4f}, "
              f"{r.epochs_run} epoch(s) in {r.seconds:.1f} s)")  # fmt: skip
    else:
        import math

        print(f"{r.split} loss {metrics['loss']:.4f}  (perplexity "
              f"{math.exp(min(metrics['loss'], 50)):.2f}, next-character accuracy "
              f"{metrics['accuracy']:.2%}, {r.epochs_run} epoch(s) in {r.seconds:.1f} s)")  # fmt: skip
        print("sample:")
        print("-" * 60)
        print(r.sample)
        print("-" * 60)
    d = r.run_dir
    print(f"run folder: {d}")
    for name in (experiment.CONFIG_FILE, experiment.METRICS_FILE, experiment.LAST,
                 experiment.BEST, experiment.PLOT_FILE):  # fmt: skip
        if os.path.exists(os.path.join(d, name)):
            print(f"  {name}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="ember", description="ember: deep learning in readable Python"
    )
    sub = parser.add_subparsers(dest="command")
    _train_parser(sub)
    sub.add_parser("info", help="print versions, backends, devices and optional extras")
    sub.add_parser("demo", help="fit a tiny network with ember's autodiff and print its loss")
    args = parser.parse_args(argv)
    if args.command == "train":
        return _train(args)
    if args.command == "demo":
        from ember import demo

        demo.main()
        return 0
    if args.command == "info":
        return _info()
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
