"""What ``ember train`` does with a config: build the data, the model, the optimizer and the
schedule, train with ``ember.train.Trainer``, and keep everything in a run folder::

    runs/<name>-<YYYYmmdd-HHMMSS>/
        config.toml                 the resolved config (every key, defaults filled in)
        metrics.csv                 one row per epoch: loss, accuracy, val_loss, val_accuracy, lr
        checkpoints/last.safetensors    the latest full checkpoint (what --resume continues)
        checkpoints/best.safetensors    the checkpoint with the best run.monitor so far
        plot.png                    loss and accuracy per epoch

``run(cfg)`` trains a new run; ``resume(run_dir)`` continues one from its last checkpoint.
Problems with the config or the data raise ``ConfigError``, whose message names the key.
"""

from __future__ import annotations

import csv
import math
import os
import time
from dataclasses import dataclass

import numpy as np

from ember import config as cfglib
from ember.config import ConfigError

__all__ = ["RunResult", "build_data", "build_model", "build_optimizer", "build_scheduler",
           "new_run_dir", "resume", "run"]  # fmt: skip

CONFIG_FILE = "config.toml"
METRICS_FILE = "metrics.csv"
PLOT_FILE = "plot.png"
LAST = os.path.join("checkpoints", "last.safetensors")
BEST = os.path.join("checkpoints", "best.safetensors")

_CHANNELS = {"digits": 1, "mnist": 1, "fashion_mnist": 1, "cifar10": 3}
_SIZES = {"digits": 8, "mnist": 28, "fashion_mnist": 28, "cifar10": 32}


# ---------------------------------------------------------------------------- data
@dataclass
class Data:
    """The loaders and what the model must fit: ``info`` holds in_channels, input_size,
    num_classes (images) or vocab_size, vocab (text)."""

    kind: str  # "image" or "text"
    train: object
    val: object | None
    test: object | None
    info: dict
    sizes: dict
    corpus: object | None = None  # the text dataset (encode / decode)


def build_data(cfg: dict) -> Data:
    d = cfg["data"]
    if d["name"] == "python_source":
        return _text_data(d)
    return _image_data(d, cfg["run"]["seed"])


def _image_arrays(d: dict, train: bool):
    """(images float32 (N, C, H, W) in [0, 1], labels int64 (N,)) of a split."""
    from ember.data import datasets

    name = d["name"]
    try:
        if name == "digits":
            ds = datasets.Digits(train=train)
            return ds.data[:, None].astype(np.float32), np.asarray(ds.targets, np.int64)
        if name in ("mnist", "fashion_mnist"):
            cls = datasets.MNIST if name == "mnist" else datasets.FashionMNIST
            ds = cls(d["root"], train=train)
            x = ds.data.numpy()[:, None].astype(np.float32) / 255
            return x, ds.targets.numpy()
        ds = datasets.CIFAR10(d["root"], train=train)
        x = ds.data.transpose(0, 3, 1, 2).astype(np.float32) / 255
        return x, np.asarray(ds.targets, np.int64)
    except ImportError as e:  # Digits without scikit-learn
        raise ConfigError(f"data.name = {name!r}: {e}") from None
    except (FileNotFoundError, datasets.DatasetFormatError) as e:
        raise ConfigError(f"data.root = {d.get('root', '')!r}: {e}") from None


class _Augmented:
    """A Dataset over image tensors that applies random transforms to each sample."""

    def __init__(self, x, y, transform):
        self.x, self.y, self.transform = x, y, transform

    def __len__(self):
        return self.x.shape[0]

    def __getitem__(self, i):
        return self.transform(self.x[i]), self.y[i]


def _image_data(d: dict, seed: int) -> Data:
    from ember.creation import from_numpy
    from ember.data import DataLoader, TensorDataset
    from ember.data import transforms as T

    x, y = _image_arrays(d, train=True)
    x_test, y_test = _image_arrays(d, train=False)
    # The validation split: a seeded permutation of the training set, the same every run.
    order = np.random.default_rng(seed).permutation(len(y))
    n_val = round(len(y) * d["val_split"])
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    if d["limit"]:
        train_idx = train_idx[: d["limit"]]
    x_train, y_train, x_val, y_val = x[train_idx], y[train_idx], x[val_idx], y[val_idx]
    if d["normalize"]:
        # Per-channel mean and std of the training images, applied to every split.
        mean = x_train.mean(axis=(0, 2, 3), keepdims=True)
        std = x_train.std(axis=(0, 2, 3), keepdims=True) + 1e-6
        x_train, x_val, x_test = ((a - mean) / std for a in (x_train, x_val, x_test))

    def t(a):
        return from_numpy(np.ascontiguousarray(a))

    aug = []
    size = x.shape[-1]
    if "random_crop" in d["transforms"]:
        aug.append(T.RandomCrop(size, padding=max(1, size // 8)))
    if "random_hflip" in d["transforms"]:
        aug.append(T.RandomHorizontalFlip())
    if aug:
        train_ds = _Augmented(t(x_train), t(y_train), T.Compose(aug))
    else:
        train_ds = TensorDataset(t(x_train), t(y_train))
    bs, ebs = d["batch_size"], d["eval_batch_size"]
    train = DataLoader(train_ds, batch_size=bs, shuffle=d["shuffle"])
    val = DataLoader(TensorDataset(t(x_val), t(y_val)), batch_size=ebs) if n_val else None
    test = DataLoader(TensorDataset(t(x_test), t(y_test)), batch_size=ebs)
    info = {"in_channels": int(x.shape[1]), "input_size": int(size), "num_classes": 10,
            "in_features": int(np.prod(x.shape[1:]))}  # fmt: skip
    sizes = {"train": len(y_train), "val": len(y_val), "test": len(y_test)}
    return Data("image", train, val, test, info, sizes)


def _text_data(d: dict) -> Data:
    from ember.data import DataLoader
    from ember.data.datasets import PythonSourceText

    if d["val_split"] <= 0:
        raise ConfigError(
            "data.val_split = 0.0: python_source needs a validation part, expected a number "
            "in (0, 1)"
        )
    kw = {"seq_len": d["seq_len"], "val_fraction": d["val_split"], "max_chars": d["max_chars"]}
    try:
        train_ds = PythonSourceText(split="train", **kw)
        val_ds = PythonSourceText(split="val", **kw)
    except ValueError as e:
        raise ConfigError(f"data: {e}") from None
    if d["limit"]:
        from ember.data import Subset

        train_ds_used = Subset(train_ds, range(min(d["limit"], len(train_ds))))
    else:
        train_ds_used = train_ds
    train = DataLoader(train_ds_used, batch_size=d["batch_size"], shuffle=d["shuffle"])
    val = DataLoader(val_ds, batch_size=d["eval_batch_size"])
    info = {"vocab_size": train_ds.vocab_size, "vocab": train_ds.vocab, "block_size": d["seq_len"]}
    sizes = {"train": len(train_ds_used), "val": len(val_ds)}
    return Data("text", train, val, None, info, sizes, corpus=train_ds)


# ---------------------------------------------------------------------------- model
# Constructor arguments that the data decides; ember train fills them in when left out.
_FROM_DATA = ("in_channels", "input_size", "num_classes", "in_features", "vocab_size",
              "block_size")  # fmt: skip


def fill_model_args(cfg: dict, data: Data) -> dict:
    """The [model] section with the arguments the data decides filled in, checked against
    the data (a different in_channels, say, is a ConfigError)."""
    from ember.models import MODELS

    params = cfglib._signature_defaults(MODELS[cfg["model"]["name"]])
    model = dict(cfg["model"])
    dname = cfg["data"]["name"]
    for key in _FROM_DATA:
        if key not in params or key not in data.info:
            continue
        want = data.info[key]
        if key not in model:
            model[key] = want
            continue
        have = model[key]
        if have == want:
            continue
        if key == "num_classes" and isinstance(have, int) and have >= want:
            continue
        if key == "block_size" and isinstance(have, int) and have >= want:
            continue
        relation = "at least " if key in ("num_classes", "block_size") else ""
        raise ConfigError(
            f"model.{key} = {cfglib._show(have)}: data {dname!r} needs {relation}{want} "
            f"(leave model.{key} out to take it from the data)"
        )
    return model


def build_model(model_cfg: dict, data: Data | None = None):
    """The zoo model named by ``model_cfg["name"]`` built with the other keys; text models
    also get the data's vocabulary (for ``generate`` on text)."""
    from ember.models import MODELS

    kwargs = {k: v for k, v in model_cfg.items() if k != "name"}
    ctor = MODELS[model_cfg["name"]]
    if data is not None and "vocab" in data.info and "vocab" in cfglib._signature_defaults(ctor):
        kwargs["vocab"] = data.info["vocab"]
    try:
        return ctor(**kwargs)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"model: {e}") from None


# ---------------------------------------------------------------------------- solver
def build_optimizer(solver: dict, model):
    from ember import optim

    name = solver["optimizer"]
    params = model.parameters()
    kw = {"lr": solver["lr"], "weight_decay": solver["weight_decay"]}
    if name == "sgd":
        return optim.SGD(params, momentum=solver["momentum"], nesterov=solver["nesterov"], **kw)
    if name == "rmsprop":
        return optim.RMSprop(params, momentum=solver["momentum"], eps=solver["eps"], **kw)
    if name == "adagrad":
        return optim.Adagrad(params, eps=solver["eps"], **kw)
    cls = optim.Adam if name == "adam" else optim.AdamW
    return cls(params, betas=tuple(solver["betas"]), eps=solver["eps"], **kw)


def build_scheduler(solver: dict, optimizer, steps_per_epoch: int):
    """(scheduler or None, interval 'epoch' or 'step')."""
    name = solver["scheduler"]
    if name == "none":
        return None, "epoch"
    cls = cfglib.scheduler_class(name)
    args = dict(solver["scheduler_args"])
    if name == "cosine":
        args.setdefault("T_max", solver["epochs"])
    if name == "onecycle":
        args.setdefault("max_lr", solver["lr"])
        if not {"total_steps", "epochs", "steps_per_epoch"} & set(args):
            args["epochs"] = solver["epochs"]
            args["steps_per_epoch"] = steps_per_epoch
    try:
        sched = cls(optimizer, **args)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"solver.scheduler_args = {cfglib._show(args)}: {e}") from None
    return sched, "step" if name == "onecycle" else "epoch"


def _loss_and_metrics(data: Data, solver: dict):
    from ember.nn import functional as F

    smoothing = solver["label_smoothing"]
    if data.kind == "image":

        def loss(out, y):
            return F.cross_entropy(out, y, label_smoothing=smoothing)

        return loss, ["accuracy"]

    def lm_loss(out, y):  # (N, T, V) logits against (N, T) next characters
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), y.reshape(-1),
                               label_smoothing=smoothing)  # fmt: skip

    def accuracy(out, y):  # the fraction of next characters predicted right
        return (out.argmax(-1) == y).float().mean()

    return lm_loss, [accuracy]


# ---------------------------------------------------------------------------- the run folder
def new_run_dir(cfg: dict) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = os.path.join(cfg["run"]["out_dir"], f"{cfg['run']['name']}-{stamp}")
    path, k = base, 2
    while os.path.exists(path):
        path, k = f"{base}-{k}", k + 1
    return path


def write_config(cfg: dict, run_dir: str) -> None:
    header = "The resolved config of this run, written by ember train.\n" \
             f"Continue it with: ember train --resume {run_dir}"  # fmt: skip
    with open(os.path.join(run_dir, CONFIG_FILE), "w", encoding="utf-8") as fh:
        fh.write(cfglib.dumps(cfg, header=header))


def _keep_metric_rows(path: str, epochs_done: int) -> None:
    """Drop the rows of epochs after the checkpoint a resumed run restarts from."""
    if not os.path.exists(path):
        return
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        return
    kept = [rows[0]] + [r for r in rows[1:] if r and int(float(r[0])) < epochs_done]
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows(kept)


def _callbacks(cfg: dict, run_dir: str, resumed: bool):
    from ember.train.callbacks import Callback, CSVLogger, ModelCheckpoint

    run = cfg["run"]
    epochs, every = cfg["solver"]["epochs"], run["checkpoint_every"]

    class LastCheckpoint(ModelCheckpoint):
        """The full checkpoint every ``checkpoint_every`` epochs and after the last one."""

        def on_epoch_end(self, epoch, logs=None):
            if (epoch + 1) % every == 0 or epoch + 1 == epochs or self.trainer.stop_training:
                super().on_epoch_end(epoch, logs)

    class Plot(Callback):
        """Redraw plot.png after an epoch when 20 s have passed since the last drawing, and
        at the end, so a long run's plot stays current at little cost."""

        def __init__(self):
            super().__init__()
            self.last = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            if time.monotonic() - self.last > 20:
                self.draw()

        def on_train_end(self, logs=None):
            self.draw()

        def draw(self):
            from ember.plot import plot_metrics

            path = os.path.join(run_dir, METRICS_FILE)
            if os.path.exists(path):
                plot_metrics(path, os.path.join(run_dir, PLOT_FILE), title=run["name"])
            self.last = time.monotonic()

    monitor = run["monitor"]
    return [
        CSVLogger(os.path.join(run_dir, METRICS_FILE), append=resumed),
        LastCheckpoint(os.path.join(run_dir, LAST), monitor=monitor),
        ModelCheckpoint(os.path.join(run_dir, BEST), monitor=monitor, save_best_only=True),
        Plot(),
    ]


# ---------------------------------------------------------------------------- running
class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during training; ``run_dir`` is the run it stopped."""

    def __init__(self, run_dir: str):
        super().__init__(run_dir)
        self.run_dir = run_dir


@dataclass
class RunResult:
    run_dir: str
    history: dict
    test: dict  # the final model's loss and accuracy on the test split (val for text)
    split: str  # "test" or "val"
    sample: str | None = None  # generated text (text models)
    epochs_run: int = 0
    seconds: float = 0.0


def _setup(cfg: dict):
    import ember

    seed = cfg["run"]["seed"]
    ember.manual_seed(seed)
    np.random.seed(seed % 2**32)
    data = build_data(cfg)
    cfg["model"] = fill_model_args(cfg, data)
    model = build_model(cfg["model"], data)
    device = cfg["run"]["device"]
    if device != "cpu":
        try:
            model.to(device)
        except RuntimeError as e:
            raise ConfigError(f"run.device = {device!r}: {e}") from None
    return data, model


def _trainer(cfg, data, model, run_dir, resumed):
    from ember.train.trainer import Trainer

    solver = cfg["solver"]
    optimizer = build_optimizer(solver, model)
    steps = math.ceil(len(data.train) / solver["grad_accum_steps"])
    scheduler, interval = build_scheduler(solver, optimizer, steps)
    loss, metrics = _loss_and_metrics(data, solver)
    mp = solver["mixed_precision"]
    return Trainer(
        model, optimizer, loss, metrics=metrics,
        callbacks=_callbacks(cfg, run_dir, resumed),
        grad_accum_steps=solver["grad_accum_steps"],
        mixed_precision=None if mp == "none" else mp,
        max_grad_norm=solver["max_grad_norm"] or None,
        scheduler=scheduler, scheduler_interval=interval,
        scheduler_monitor=cfg["run"]["monitor"], device=cfg["run"]["device"],
    )  # fmt: skip


def _count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def describe(cfg: dict, data: Data, model) -> str:
    s, d = cfg["solver"], cfg["data"]
    parts = ", ".join(f"{n} {data.sizes[n]:,}" for n in data.sizes)
    unit = "sequences" if data.kind == "text" else "images"
    sched = "" if s["scheduler"] == "none" else f", {s['scheduler']} schedule"
    return (
        f"model  {cfg['model']['name']} ({_count(model):,} parameters)\n"
        f"data   {d['name']}: {parts} {unit}, batch {d['batch_size']}\n"
        f"solver {s['optimizer']}, lr {s['lr']:g}{sched}, {s['epochs']} epoch(s)"
    )


def run(cfg: dict, run_dir: str | None = None, verbose: int | None = None,
        log=print) -> RunResult:  # fmt: skip
    """Train a new run of the resolved config ``cfg`` in ``run_dir`` (default: a new folder
    under run.out_dir). Returns the results."""
    cfg = {k: dict(v) for k, v in cfg.items()}
    data, model = _setup(cfg)
    run_dir = run_dir or new_run_dir(cfg)
    if os.path.exists(os.path.join(run_dir, CONFIG_FILE)):
        raise ConfigError(
            f"--run-dir {run_dir}: that folder already holds a run; continue it with "
            f"ember train --resume {run_dir}, or choose another folder"
        )
    os.makedirs(os.path.join(run_dir, "checkpoints"), exist_ok=True)
    write_config(cfg, run_dir)
    log(describe(cfg, data, model))
    log(f"run    {run_dir}")
    return _fit(cfg, data, model, run_dir, None, verbose, log)


def load_run_config(run_dir: str) -> dict:
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise ConfigError(
            f"--resume {run_dir}: no {CONFIG_FILE} there; expected a run folder made by ember train"
        )
    return cfglib.resolve(cfglib.load(path))


def resume(run_dir: str, epochs: int | None = None, verbose: int | None = None,
           log=print) -> RunResult:  # fmt: skip
    """Continue the run in ``run_dir`` from its last checkpoint up to its configured number
    of epochs (or ``epochs``, which then becomes the run's number of epochs)."""
    from ember.train import checkpoint as ckpt_io

    cfg = load_run_config(run_dir)
    last = os.path.join(run_dir, LAST)
    if not os.path.isfile(last):
        raise ConfigError(
            f"--resume {run_dir}: no checkpoint {LAST} yet (the run stopped before its first "
            "checkpoint); start it again instead"
        )
    if epochs is not None:
        cfg["solver"]["epochs"] = epochs
    info = ckpt_io.load_checkpoint(last, restore_rng=False)
    done = int((info.get("trainer") or {}).get("epoch") or 0)
    if done >= cfg["solver"]["epochs"]:
        raise ConfigError(
            f"--resume {run_dir}: the run has already trained {done} of its "
            f"{cfg['solver']['epochs']} epochs; give --epochs N (N > {done}) to train it longer"
        )
    data, model = _setup(cfg)
    write_config(cfg, run_dir)
    _keep_metric_rows(os.path.join(run_dir, METRICS_FILE), done)
    log(describe(cfg, data, model))
    log(f"run    {run_dir} (resuming after epoch {done})")
    return _fit(cfg, data, model, run_dir, last, verbose, log)


def _fit(cfg, data, model, run_dir, resume_from, verbose, log) -> RunResult:
    import ember

    if verbose is None:  # a progress bar, or one line per epoch
        verbose = 1 if cfg["run"]["progress"] else 2
    start = time.perf_counter()
    trainer = _trainer(cfg, data, model, run_dir, resumed=resume_from is not None)
    try:
        history = trainer.fit(
            data.train, epochs=cfg["solver"]["epochs"], validation_data=data.val,
            verbose=verbose, resume_from=resume_from,
        )  # fmt: skip
    except KeyboardInterrupt:
        raise RunInterrupted(run_dir) from None
    seconds = time.perf_counter() - start
    split = "test" if data.test is not None else "val"
    final = trainer.evaluate(data.test if data.test is not None else data.val)
    sample = None
    n = cfg["run"].get("sample_chars", 0)
    if data.kind == "text" and n:
        prompt = "def "
        gen = ember.Generator().manual_seed(cfg["run"]["seed"])
        ids = model.generate(data.corpus.encode(prompt), n, temperature=0.8, top_k=20,
                             generator=gen)  # fmt: skip
        sample = data.corpus.decode(ids[0])
    return RunResult(run_dir, dict(history.history), final, split, sample,
                     len(history.history.get("loss", [])), seconds)  # fmt: skip
