"""Callbacks: code that runs at fixed points of training, with Keras's hook names.

``Trainer.fit`` calls, in this order::

    on_train_begin
      on_epoch_begin(epoch)
        on_train_batch_begin(batch) / on_train_batch_end(batch, logs)   for each batch
        on_test_begin / on_test_batch_begin / on_test_batch_end / on_test_end   (validation)
      on_epoch_end(epoch, logs)     logs: 'loss', metrics, 'val_loss', 'val_<metric>', 'lr'
    on_train_end

``evaluate`` calls the ``on_test_*`` hooks and ``predict`` the ``on_predict_*`` ones.
Epochs and batches count from 0. The logs of ``on_train_batch_end`` hold the batch's
index ('batch'), its number of samples ('size') and its loss ('loss', a 0-d Tensor: read it
with ``float()`` only when needed, as that waits for a GPU); the logs of ``on_epoch_end``
hold Python floats averaged over the epoch.

A callback stops training by setting ``self.trainer.stop_training = True``; it reaches the
model as ``self.model`` and the trainer (its optimizer, scheduler …) as ``self.trainer``.

Callbacks work in a hand-written loop too: a ``CallbackList`` made without a trainer stands
in for one (it has ``model``, ``optimizer`` and ``stop_training``)::

    cbs = CallbackList([EarlyStopping(patience=2), CSVLogger("log.csv")],
                       model=model, optimizer=opt, epochs=10)
    cbs.on_train_begin()
    for epoch in range(10):
        cbs.on_epoch_begin(epoch)
        for i, (x, y) in enumerate(loader):
            cbs.on_train_batch_begin(i)
            ...                                  # forward, backward, step
            cbs.on_train_batch_end(i, {"loss": loss.detach(), "size": len(x)})
        cbs.on_epoch_end(epoch, {"loss": train_loss, "val_loss": val_loss})
        if cbs.stop_training:
            break
    cbs.on_train_end()
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
import warnings

import numpy as np

from ember.tensor import Tensor

__all__ = [
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LRSchedulerCallback",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgressBar",
    "TensorBoard",
]


class Callback:
    """Base class: override the hooks you need; each receives ``logs``, a dict (or None)."""

    def __init__(self):
        self.model = None
        self.trainer = None
        self.params = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_trainer(self, trainer) -> None:
        self.trainer = trainer

    def set_params(self, params: dict) -> None:
        self.params = params

    # ------------------------------------------------------------------ training
    def on_train_begin(self, logs=None): ...

    def on_train_end(self, logs=None): ...

    def on_epoch_begin(self, epoch: int, logs=None): ...

    def on_epoch_end(self, epoch: int, logs=None): ...

    def on_train_batch_begin(self, batch: int, logs=None): ...

    def on_train_batch_end(self, batch: int, logs=None): ...

    # ------------------------------------------------------------------ evaluation
    def on_test_begin(self, logs=None): ...

    def on_test_end(self, logs=None): ...

    def on_test_batch_begin(self, batch: int, logs=None): ...

    def on_test_batch_end(self, batch: int, logs=None): ...

    # ------------------------------------------------------------------ prediction
    def on_predict_begin(self, logs=None): ...

    def on_predict_end(self, logs=None): ...

    def on_predict_batch_begin(self, batch: int, logs=None): ...

    def on_predict_batch_end(self, batch: int, logs=None): ...

    # ------------------------------------------------------------------ resuming
    def state_dict(self) -> dict:
        """What the callback needs to go on after a resume (saved in checkpoints)."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass

    # ------------------------------------------------------------------ helpers
    def _optimizer(self, who: str):
        opt = getattr(self.trainer, "optimizer", None)
        if opt is None:
            raise RuntimeError(
                f"{who}: no optimizer; use it with a Trainer, or give one to the CallbackList "
                "(CallbackList([...], model=model, optimizer=opt))"
            )
        return opt

    def _stop(self) -> None:
        if self.trainer is not None:
            self.trainer.stop_training = True


_HOOKS = (
    "on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
    "on_train_batch_begin", "on_train_batch_end", "on_test_begin", "on_test_end",
    "on_test_batch_begin", "on_test_batch_end", "on_predict_begin", "on_predict_end",
    "on_predict_batch_begin", "on_predict_batch_end",
)  # fmt: skip


class CallbackList:
    """Calls each hook on every callback, in order.

    Args:
        callbacks: the callbacks.
        model: given to each callback (``set_model``).
        trainer: given to each callback (``set_trainer``). Without one, the list stands in
            for the trainer: callbacks stop training through its ``stop_training``, and find
            the optimizer it was given.
        optimizer: for a hand-written loop (used by LearningRateScheduler, ModelCheckpoint).
        **params: given to each callback as ``callback.params`` ('epochs', 'steps',
            'verbose'): ProgressBar uses 'epochs' and 'steps' (batches per epoch).
    """

    def __init__(self, callbacks=None, model=None, trainer=None, optimizer=None, **params):
        self.callbacks = []
        self.model = model
        self.optimizer = optimizer
        self.params = params
        self.trainer = self if trainer is None else trainer
        self._stop_training = False
        for cb in callbacks or []:
            self.append(cb)

    def append(self, callback: Callback) -> None:
        if not isinstance(callback, Callback):
            raise TypeError(
                f"CallbackList: expected Callback objects, received {type(callback).__name__}"
            )
        callback.set_trainer(self.trainer)
        if self.model is not None:
            callback.set_model(self.model)
        callback.set_params(self.params)
        self.callbacks.append(callback)

    def set_model(self, model) -> None:
        self.model = model
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict) -> None:
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    @property
    def stop_training(self) -> bool:
        """Set by a callback (EarlyStopping …) to ask the loop to stop after this epoch."""
        if self.trainer is self:
            return self._stop_training
        return bool(getattr(self.trainer, "stop_training", False))

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        if self.trainer is self:
            self._stop_training = bool(value)
        else:
            self.trainer.stop_training = bool(value)

    def __iter__(self):
        return iter(self.callbacks)

    def __len__(self):
        return len(self.callbacks)

    def __getattr__(self, name):
        if name in _HOOKS:

            def call(*args, **kwargs):
                for cb in self.callbacks:
                    getattr(cb, name)(*args, **kwargs)

            return call
        raise AttributeError(f"'CallbackList' object has no attribute {name!r}")


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``;
    any hook name can be given."""

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            if name not in _HOOKS:
                raise ValueError(f"LambdaCallback: unknown hook {name!r}; known: {_HOOKS}")
            setattr(self, name, fn)


# ---------------------------------------------------------------------------- History
class History(Callback):
    """Records the epoch logs: ``history.history['val_loss']`` is the list of each epoch's
    validation loss; ``history.epoch`` the epochs' indices. ``Trainer.fit`` returns it."""

    def __init__(self):
        super().__init__()
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def state_dict(self) -> dict:
        return {"epoch": list(self.epoch), "history": {k: list(v) for k, v in self.history.items()}}

    def load_state_dict(self, state: dict) -> None:
        self.epoch = list(state["epoch"])
        self.history = {k: list(v) for k, v in state["history"].items()}


# ---------------------------------------------------------------------------- progress
def _fmt_value(key, v) -> str:
    try:
        v = float(v.item() if isinstance(v, Tensor) else v)
    except (TypeError, ValueError):
        return str(v)
    if key == "lr" or key.endswith("_lr"):
        return f"{v:.3g}"
    if v != 0 and abs(v) < 1e-3:
        return f"{v:.3e}"
    return f"{v:.4f}"


def _fmt_time(s: float) -> str:
    if s >= 3600:
        return f"{int(s // 3600)}:{int(s % 3600 // 60):02d}:{int(s % 60):02d}"
    if s >= 60:
        return f"{int(s // 60)}:{int(s % 60):02d}"
    return f"{s:.1f}s" if s < 10 else f"{s:.0f}s"


class ProgressBar(Callback):
    """Shows training progress: batches done, the rate (samples/s when the batch logs give
    'size', else batches/s), the time to the end of the epoch, and the running values.

    On a terminal it redraws one line in place (with ``'\\r'``), at most every ``interval``
    seconds; otherwise (a file, a pipe, a notebook's captured output) it writes exactly one
    line per epoch, at its end.

    Args:
        stream: where to write (``sys.stdout`` by default).
        interval: the least time in seconds between two redraws.
        width: the width of the bar in characters.
        live: redraw during the epoch (True) or write one line per epoch (False); by
            default, redraw only on a terminal. (``fit(verbose=2)`` is ``live=False``.)
    """

    def __init__(self, stream=None, interval: float = 0.1, width: int = 24,
                 live: bool | None = None):  # fmt: skip
        super().__init__()
        self.stream = stream
        self.interval = interval
        self.width = width
        self.live = live
        self._in_fit = False
        self._reset()

    def _reset(self):
        self._t0 = time.monotonic()
        self._last = -math.inf
        self._seen = 0
        self._done = 0
        self._drawn = False

    @property
    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def _tty(self) -> bool:
        if self.live is not None:
            return self.live
        try:
            return bool(self._out.isatty())
        except (AttributeError, ValueError):
            return False

    def _running(self, logs) -> dict:
        get = getattr(self.trainer, "running_logs", None)
        if callable(get):
            return get()
        return {k: v for k, v in (logs or {}).items() if k not in ("batch", "size")}

    def _line(self, head: str, total, values: dict, final: bool) -> str:
        elapsed = time.monotonic() - self._t0
        parts = [head]
        if total:
            n = len(str(total))
            filled = int(self.width * min(self._done, total) / total)
            bar = "=" * filled
            if filled < self.width:
                bar = (bar + ">").ljust(self.width, ".")
            parts.append(f"{self._done:>{n}}/{total} [{bar}]")
        else:
            parts.append(f"{self._done} batches")
        parts.append(_fmt_time(elapsed))
        if elapsed > 0 and self._done:
            if self._seen:
                parts.append(f"{self._seen / elapsed:,.0f} samples/s")
            else:
                parts.append(f"{self._done / elapsed:.2f} batches/s")
        if not final and total and self._done:
            parts.append(f"ETA {_fmt_time(elapsed / self._done * max(total - self._done, 0))}")
        line = " ".join(parts)
        for k, v in values.items():
            line += f" - {k}: {_fmt_value(k, v)}"
        return line

    def _draw(self, line: str, end: bool) -> None:
        out = self._out
        if self._tty():
            out.write("\r" + line + ("\x1b[K" if not end else "\x1b[K\n"))
        else:
            out.write(line + "\n")
        out.flush()

    def _head(self) -> str:
        epochs = self.params.get("epochs")
        epoch = self._epoch + 1
        return f"Epoch {epoch}/{epochs}" if epochs else f"Epoch {epoch}"

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch
        self._reset()

    def _batch(self, batch, logs, head):
        self._done = batch + 1
        size = (logs or {}).get("size")
        if size:
            self._seen += int(size)
        if not self._tty():
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._draw(
                self._line(head, self.params.get("steps"), self._running(logs), False), False
            )
            self._drawn = True

    def on_train_batch_end(self, batch, logs=None):
        self._batch(batch, logs, self._head())

    def on_epoch_end(self, epoch, logs=None):
        values = {k: v for k, v in (logs or {}).items()}
        self._draw(self._line(self._head(), self.params.get("steps"), values, True), True)

    # evaluate() on its own (in fit, validation is summed up in the epoch's line)
    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._reset()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._batch(batch, logs, "Evaluate")

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._draw(self._line("Evaluate", self.params.get("steps"), logs or {}, True), True)


# ---------------------------------------------------------------------------- monitors
def _monitor_mode(monitor: str, mode: str, who: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{who}: expected mode 'auto', 'min' or 'max', received {mode!r}")
    if mode != "auto":
        return mode
    name = monitor.lower()
    return "max" if any(s in name for s in ("acc", "auc", "precision", "recall", "f1")) else "min"


def _float_log(logs, key):
    v = (logs or {}).get(key)
    if v is None:
        return None
    return float(v.item() if isinstance(v, Tensor) else v)


def _copy_state(model) -> dict:
    return {k: Tensor._make(v._data.copy()) for k, v in model.state_dict().items()}


class EarlyStopping(Callback):
    """Stop training when a monitored value stops improving.

    Args:
        monitor: the epoch log to watch ('val_loss', 'val_accuracy', 'loss' …).
        min_delta: the least change that counts as an improvement.
        patience: how many epochs without improvement to wait before stopping.
        verbose: 1 prints a line when stopping and when restoring weights.
        mode: 'min', 'max', or 'auto' ('max' for accuracies, else 'min').
        baseline: training stops if the value does not get better than it within
            ``patience`` epochs.
        restore_best_weights: at the end of training, set the model's weights to those of the
            best epoch, whether training stopped early or ran all its epochs.
        start_from_epoch: epochs to wait before watching (a warm-up).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: float | None = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0):  # fmt: skip
        super().__init__()
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(
                f"EarlyStopping: expected patience to be a non-negative int, received {patience!r}"
            )
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = patience
        self.verbose = verbose
        self.mode = _monitor_mode(monitor, mode, "EarlyStopping")
        self.baseline = baseline
        self.restore_best_weights = restore_best_weights
        self.start_from_epoch = start_from_epoch
        self._reset()

    def _reset(self):
        self.wait = 0
        self.stopped_epoch = 0
        self.best = None
        self.best_epoch = 0
        self.best_weights = None

    def _improves(self, value, reference) -> bool:
        if reference is None:
            return True
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        current = _float_log(logs, self.monitor)
        if current is None:
            warnings.warn(
                f"EarlyStopping: the monitored value {self.monitor!r} is not in the logs "
                f"(available: {', '.join(sorted(logs or {}))}); nothing to watch",
                stacklevel=2,
            )
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = _copy_state(self.model)
            self.best_epoch = epoch
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = _copy_state(self.model)
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self._stop()

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                print(
                    f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}"
                )
            self.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        return {
            "wait": self.wait, "stopped_epoch": self.stopped_epoch, "best": self.best,
            "best_epoch": self.best_epoch, "best_weights": self.best_weights,
        }  # fmt: skip

    def load_state_dict(self, state: dict) -> None:
        for k in ("wait", "stopped_epoch", "best", "best_epoch", "best_weights"):
            setattr(self, k, state[k])


class ModelCheckpoint(Callback):
    """Save the model (or a whole resumable checkpoint) at the end of epochs.

    Args:
        filepath: where to save; formatted with the epoch (counted from 1) and the epoch
            logs, e.g. ``"ckpt/model-{epoch:02d}-{val_loss:.3f}.safetensors"``. Missing
            folders are made.
        monitor: the epoch log that decides which model is best.
        verbose: 1 prints a line on each save.
        save_best_only: save only when ``monitor`` improved (the file then holds the best
            model so far).
        save_weights_only: save ``model.state_dict()`` only (loads with
            ``model.load_state_dict(ember.load(path))``); otherwise a full checkpoint with the
            optimizer, scheduler, scaler and RNG states (``ember.train.load_checkpoint``, or
            ``Trainer.fit(resume_from=path)``).
        mode: 'min', 'max' or 'auto', as for EarlyStopping.
        initial_value_threshold: with save_best_only, a value the first save must beat.
    """

    def __init__(self, filepath: str, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", initial_value_threshold: float | None = None):  # fmt: skip
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.mode = _monitor_mode(monitor, mode, "ModelCheckpoint")
        self.best = initial_value_threshold
        self.last_saved = None

    def _better(self, value) -> bool:
        if self.best is None:
            return True
        return value < self.best if self.mode == "min" else value > self.best

    def _path(self, epoch, logs) -> str:
        values = {k: (float(v.item()) if isinstance(v, Tensor) else v) for k, v in logs.items()}
        try:
            return self.filepath.format(epoch=epoch + 1, **values)
        except KeyError as e:
            raise KeyError(
                f"ModelCheckpoint: the filepath {self.filepath!r} uses {e.args[0]!r}, which is "
                f"not in the epoch logs (available: epoch, {', '.join(sorted(values))})"
            ) from None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.save_best_only:
            current = _float_log(logs, self.monitor)
            if current is None:
                warnings.warn(
                    f"ModelCheckpoint: can save the best model only with {self.monitor!r} in "
                    f"the logs (available: {', '.join(sorted(logs))}); skipping",
                    stacklevel=2,
                )
                return
            if not self._better(current):
                return
            self.best = current
        path = self._path(epoch, logs)
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            from ember.io import save

            save(dict(self.model.state_dict()), path)
        elif hasattr(self.trainer, "save_checkpoint"):
            self.trainer.save_checkpoint(path)
        else:
            from ember.train.checkpoint import save_checkpoint

            opt = getattr(self.trainer, "optimizer", None)
            save_checkpoint(path, self.model, opt, epoch=epoch + 1)
        self.last_saved = path
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved the model to {path}")

    def state_dict(self) -> dict:
        return {"best": self.best}

    def load_state_dict(self, state: dict) -> None:
        self.best = state["best"]


# ---------------------------------------------------------------------------- learning rates
class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (epochs
    count from 0; ``lr`` is the current one; ``schedule(epoch)`` works too). All parameter
    groups get the same value. The epoch logs get it as 'lr'."""

    def __init__(self, schedule, verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"LearningRateScheduler: expected a function schedule(epoch, lr), received "
                f"{type(schedule).__name__}"
            )
        self.schedule = schedule
        self.verbose = verbose
        self._epoch_set = None  # a resumed epoch must not get its schedule applied twice

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self._epoch_set:
            return
        opt = self._optimizer("LearningRateScheduler")
        lr = float(opt.param_groups[0]["lr"])
        try:
            new = self.schedule(epoch, lr)
        except TypeError:
            new = self.schedule(epoch)
        new = float(new.item() if isinstance(new, Tensor) else new)
        if not math.isfinite(new):
            raise ValueError(
                f"LearningRateScheduler: the schedule returned lr={new} at epoch {epoch}"
            )
        for group in opt.param_groups:
            group["lr"] = new
        self._epoch_set = epoch
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting the learning rate to {new}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(self._optimizer("LearningRateScheduler").param_groups[0]["lr"])

    def state_dict(self) -> dict:
        return {"epoch_set": self._epoch_set}

    def load_state_dict(self, state: dict) -> None:
        self._epoch_set = state["epoch_set"]


def step_scheduler(scheduler, logs=None, monitor: str = "val_loss") -> None:
    """Step an ``ember.optim.lr_scheduler`` scheduler: ReduceLROnPlateau with the monitored
    value from ``logs``, any other without an argument."""
    if _is_plateau(scheduler):
        value = _float_log(logs, monitor)
        if value is None:
            raise KeyError(
                f"ReduceLROnPlateau needs {monitor!r} in the epoch logs (available: "
                f"{', '.join(sorted(logs or {}))}); pass validation data or choose another "
                "monitor"
            )
        scheduler.step(value)
    else:
        scheduler.step()


def _is_plateau(scheduler) -> bool:
    try:
        from ember.optim.lr_scheduler import ReduceLROnPlateau
    except ImportError:  # pragma: no cover - ember.optim is part of ember
        return False
    return isinstance(scheduler, ReduceLROnPlateau)


class LRSchedulerCallback(Callback):
    """Step an ``ember.optim.lr_scheduler`` scheduler after every optimizer step
    (``interval='step'``: after each training batch) or every epoch (``'epoch'``);
    ReduceLROnPlateau gets the epoch log named by ``monitor``.

    (``Trainer(scheduler=...)`` does this itself; use the callback in a hand-written loop or
    for a second scheduler.)"""

    def __init__(self, scheduler, interval: str = "epoch", monitor: str = "val_loss"):
        super().__init__()
        if interval not in ("epoch", "step"):
            raise ValueError(
                f"LRSchedulerCallback: expected interval 'epoch' or 'step', received {interval!r}"
            )
        if interval == "step" and _is_plateau(scheduler):
            raise ValueError("LRSchedulerCallback: ReduceLROnPlateau steps once per epoch")
        self.scheduler = scheduler
        self.interval = interval
        self.monitor = monitor

    def on_train_batch_end(self, batch, logs=None):
        if self.interval == "step":
            self.scheduler.step()

    def on_epoch_end(self, epoch, logs=None):
        if self.interval == "epoch":
            step_scheduler(self.scheduler, logs, self.monitor)


# ---------------------------------------------------------------------------- loggers
class CSVLogger(Callback):
    """Write the epoch logs to a CSV file, one row per epoch: 'epoch' (from 0), then the
    logs' keys in alphabetical order. ``append=True`` adds to an existing file (without a
    second header). A value missing in some epoch (validation every other epoch) is 'NA'."""

    def __init__(self, filename: str, separator: str = ",", append: bool = False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.keys = None
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as fh:
                header = not fh.read(1)
        self._header = header
        self._file = open(self.filename, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self._file is None:  # used without on_train_begin (a hand-written loop)
            self.on_train_begin()
        if self.keys is None:
            self.keys = sorted(logs)
        if self._writer is None:
            self._writer = csv.DictWriter(self._file, ["epoch", *self.keys], delimiter=self.sep)
            if self._header:
                self._writer.writeheader()
        row = {"epoch": epoch}
        for k in self.keys:
            v = logs.get(k, "NA")
            row[k] = float(v.item()) if isinstance(v, Tensor) else v
        self._writer.writerow(row)
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
        self._file = self._writer = None


class TensorBoard(Callback):
    """Write the logs as TensorBoard event files (``tensorboard --logdir <log_dir>``), through
    the optional tensorboardX package (``pip install ember[tensorboard]``).

    Each epoch log becomes a scalar at the epoch's index: 'loss' as ``train/loss``,
    'val_loss' as ``val/loss``, 'lr' as ``lr``. With ``update_freq=N`` (an int), the batch
    loss is also written every N optimizer steps as ``batch/loss``.
    """

    def __init__(self, log_dir: str = "logs", update_freq="epoch"):
        super().__init__()
        try:
            from tensorboardX import SummaryWriter
        except ImportError:
            raise ImportError(
                "TensorBoard: writing event files needs the tensorboardX package; install it "
                "with `pip install ember[tensorboard]` (or `pip install tensorboardX`)"
            ) from None
        if update_freq != "epoch" and (
            isinstance(update_freq, bool) or not isinstance(update_freq, int) or update_freq < 1
        ):
            raise ValueError(
                f"TensorBoard: expected update_freq 'epoch' or a positive int, received "
                f"{update_freq!r}"
            )
        self._writer_cls = SummaryWriter
        self.log_dir = os.fspath(log_dir)
        self.update_freq = update_freq
        self.writer = None
        self._batches = 0

    def on_train_begin(self, logs=None):
        if self.writer is None:
            self.writer = self._writer_cls(self.log_dir)

    def on_train_batch_end(self, batch, logs=None):
        self._batches += 1
        if self.update_freq == "epoch" or self._batches % self.update_freq:
            return
        loss = (logs or {}).get("loss")
        if loss is not None and self.writer is not None:
            step = getattr(self.trainer, "global_step", self._batches)
            self.writer.add_scalar("batch/loss", _float_log(logs, "loss"), step)

    def on_epoch_end(self, epoch, logs=None):
        if self.writer is None:
            self.on_train_begin()
        for k, v in (logs or {}).items():
            value = float(v.item() if isinstance(v, Tensor) else v)
            if not np.isfinite(value) and np.isnan(value):
                continue
            if k.startswith("val_"):
                tag = f"val/{k[4:]}"
            elif k == "lr":
                tag = "lr"
            else:
                tag = f"train/{k}"
            self.writer.add_scalar(tag, value, epoch)
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()
            self.writer = None
