"""Trainer: Keras's ``fit`` / ``evaluate`` / ``predict`` over an ember Module.

Example::

    from ember import nn
    from ember.train import Trainer, EarlyStopping

    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = ember.optim.Adam(model.parameters(), lr=1e-3)
    trainer = Trainer(model, opt, nn.functional.cross_entropy, metrics=["accuracy"])
    history = trainer.fit(train_loader, epochs=10, validation_data=val_loader,
                          callbacks=[EarlyStopping(patience=2, restore_best_weights=True)])
    history.history["val_accuracy"]          # one value per epoch
    trainer.evaluate(test_loader)            # {'loss': ..., 'accuracy': ...}
    probs = trainer.predict(x).softmax(-1)   # x: a Tensor, batched for you

What one training step does: forward under autocast (with ``mixed_precision``), the loss
(divided by ``grad_accum_steps``; scaled by the GradScaler for float16), backward; every
``grad_accum_steps`` batches (and at the end of an epoch, for the rest): unscale, clip to
``max_grad_norm``, optimizer step (skipped by the GradScaler when gradients overflowed),
zero the gradients, step the scheduler if it runs per step. The model is in ``train()`` mode
for training and ``eval()`` mode, under ``no_grad``, for validation and prediction; after
``fit`` it is back in the mode it had before.

Data: a DataLoader, any re-iterable of ``(x, y)`` batches (a list, say), or tensors
``(x, y)`` (a tuple of Tensors or NumPy arrays, batched by ``batch_size``, 32 by default,
and shuffled each epoch for training). ``x`` may be a tuple of inputs: the model gets
``model(*x)``. Batches move to ``device`` when one is given.

Checkpoints: ``fit(checkpoint_dir=d, checkpoint_every=N)`` saves a complete checkpoint
(``ember.train.checkpoint``) every N optimizer steps (or, without ``checkpoint_every``,
at the end of each epoch) as ``d/step-00000123.safetensors``, keeping the newest
``keep_checkpoints``. ``fit(resume_from=d)`` (the newest in d) or ``resume_from=path``
restores the model, optimizer, scheduler, scaler, random generators, metrics, history,
callback states and the position in the data, and goes on with the next batch: the run is
the same, bit for bit, as one that was never interrupted (with a DataLoader or tensors as
data, and without data-loading workers drawing random numbers).
"""

from __future__ import annotations

import contextlib
import numbers
import os
import re
import warnings
from itertools import islice

import numpy as np

from ember import backend, dtypes
from ember import random as ember_random
from ember.autograd.grad_mode import no_grad
from ember.tensor import Tensor
from ember.train import checkpoint as ckpt_io
from ember.train.callbacks import Callback, CallbackList, History, ProgressBar, step_scheduler
from ember.train.metrics import Mean, get_metric

__all__ = ["Trainer"]

_LOSSES = {
    "cross_entropy": "cross_entropy", "categorical_crossentropy": "cross_entropy",
    "nll": "nll_loss", "nll_loss": "nll_loss", "mse": "mse_loss", "mse_loss": "mse_loss",
    "l1": "l1_loss", "l1_loss": "l1_loss", "mae": "l1_loss", "smooth_l1": "smooth_l1_loss",
    "smooth_l1_loss": "smooth_l1_loss", "bce": "binary_cross_entropy",
    "binary_cross_entropy": "binary_cross_entropy",
    "bce_with_logits": "binary_cross_entropy_with_logits",
    "binary_cross_entropy_with_logits": "binary_cross_entropy_with_logits",
}  # fmt: skip
_PRECISIONS = {"float16": "float16", "fp16": "float16", "16": "float16", "half": "float16",
               "bfloat16": "bfloat16", "bf16": "bfloat16"}  # fmt: skip
_CKPT_NAME = re.compile(r"^step-(\d+)\.safetensors$")


def _positive_int(value, name: str, who: str = "Trainer") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{who}: expected {name} to be a positive int, received {name}={value!r}")
    return int(value)


class _TensorBatches:
    """Batches of tensors ``(x, y)``: slices in order, or a new permutation each epoch
    (drawn from ember's default generator). Resumable like ember's DataLoader."""

    def __init__(self, arrays, batch_size: int, shuffle: bool):
        self.arrays = arrays
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.n = arrays[0].shape[0]
        self._perm = None  # the running epoch's order (None: in order)
        self._pos = 0  # batches given in the running epoch
        self._active = False
        self._resume = None

    def __len__(self):
        return (self.n + self.batch_size - 1) // self.batch_size

    def __iter__(self):
        if self._resume is not None:
            perm, start = self._resume
            self._resume = None
        else:
            perm = ember_random._rng(None).permutation(self.n) if self.shuffle else None
            start = 0
        self._perm, self._pos, self._active = perm, start, True
        bs = self.batch_size
        for k in range(start, len(self)):
            if perm is None:
                batch = tuple(a[k * bs : (k + 1) * bs] for a in self.arrays)
            else:
                idx = perm[k * bs : (k + 1) * bs]
                batch = tuple(_take(a, idx) for a in self.arrays)
            self._pos = k + 1
            yield batch
        self._active = False

    def state_dict(self) -> dict:
        if not self._active or self._pos >= len(self):
            return {"position": 0, "order": None}
        order = None if self._perm is None else Tensor._make(self._perm.astype(np.int64))
        return {"position": self._pos, "order": order}

    def load_state_dict(self, state: dict) -> None:
        order = state["order"]
        perm = None if order is None else np.asarray(order.numpy(), dtype=np.int64)
        self._resume = (perm, int(state["position"])) if state["position"] else None


def _take(t: Tensor, idx):
    xp = backend.get_array_module(t._data)
    return Tensor._make(t._data[xp.asarray(idx)])


def _first_dim(x) -> int:
    if isinstance(x, (tuple, list)):
        return _first_dim(x[0]) if x else 0
    shape = getattr(x, "shape", ())
    return int(shape[0]) if len(shape) else 1


class Trainer:
    """Train, evaluate and run an ember Module, Keras's ``fit`` way.

    Args:
        model: the ``nn.Module``; its forward returns what ``loss_fn`` takes (logits, say).
        optimizer: an ``ember.optim`` optimizer over the model's parameters (needed by fit).
        loss_fn: ``loss_fn(output, target) -> 0-d Tensor``: a function
            (``ember.nn.functional.cross_entropy``), a loss module (``nn.CrossEntropyLoss()``)
            or a name ('cross_entropy', 'mse', 'l1', 'bce', 'bce_with_logits', 'nll').
        metrics: Metrics or names ('accuracy', 'top5_accuracy' …) or functions
            ``fn(output, target)``; each appears in the logs under its ``name`` (and as
            ``val_<name>`` for validation).
        callbacks: callbacks for every ``fit`` (``fit`` also takes some of its own).
        grad_accum_steps: batches whose gradients are summed before each optimizer step
            (each batch's loss is divided by it).
        mixed_precision: None, 'float16' or 'bfloat16': the forward pass runs under
            ``ember.autocast`` in that dtype; with float16, a GradScaler scales the loss.
            Parameters and optimizer state stay in their own dtype (float32).
        max_grad_norm: clip the gradients' total L2 norm to this before each step.
        scheduler: an ``ember.optim.lr_scheduler`` scheduler, stepped after every optimizer
            step (``scheduler_interval='step'``) or after every epoch ('epoch', the default);
            ReduceLROnPlateau is given the epoch log named by ``scheduler_monitor``.
        device: where to train; the model is moved there, and each batch too. By default,
            the device of the model's parameters.

    Attributes: ``history`` (the last fit's History), ``global_step`` (optimizer steps so
    far), ``epoch``, ``stop_training`` (set it from a callback to stop after this batch's
    epoch), ``scaler`` (the GradScaler, or None).
    """

    def __init__(self, model, optimizer=None, loss_fn=None, metrics=None, callbacks=None,
                 grad_accum_steps: int = 1, mixed_precision=None, max_grad_norm=None,
                 scheduler=None, scheduler_interval: str = "epoch",
                 scheduler_monitor: str = "val_loss", device=None):  # fmt: skip
        from ember.nn.module import Module

        if not isinstance(model, Module):
            raise TypeError(
                f"Trainer: expected model to be an nn.Module, received {type(model).__name__}"
            )
        self.model = model
        self.optimizer = optimizer
        self.loss_fn = self._loss_fn(loss_fn)
        self.metrics = [get_metric(m) for m in (metrics or [])]
        names = ["loss"] + [m.name for m in self.metrics]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(
                f"Trainer: two metrics share the name(s) {sorted(dup)}; give them names"
            )
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"Trainer: expected Callback objects, received {type(cb).__name__}")
        self.grad_accum_steps = _positive_int(grad_accum_steps, "grad_accum_steps")
        if max_grad_norm is not None and not (
            isinstance(max_grad_norm, numbers.Real) and max_grad_norm > 0
        ):
            raise ValueError(
                f"Trainer: expected max_grad_norm to be a positive number or None, received "
                f"{max_grad_norm!r}"
            )
        self.max_grad_norm = max_grad_norm
        if scheduler_interval not in ("epoch", "step"):
            raise ValueError(
                f"Trainer: expected scheduler_interval 'epoch' or 'step', received "
                f"{scheduler_interval!r}"
            )
        from ember.train.callbacks import _is_plateau

        if scheduler is not None and scheduler_interval == "step" and _is_plateau(scheduler):
            raise ValueError("Trainer: ReduceLROnPlateau steps per epoch, not per step")
        self.scheduler = scheduler
        self.scheduler_interval = scheduler_interval
        self.scheduler_monitor = scheduler_monitor

        if device is None:
            p = next(iter(model.parameters()), None)
            self.device = p.device if p is not None else backend.CPU
        else:
            self.device = backend.as_device(device)
            model.to(self.device)
        self.mixed_precision = self._precision(mixed_precision)
        self.scaler = None
        if self.mixed_precision is dtypes.float16:
            from ember.amp import GradScaler

            self.scaler = GradScaler()
        self.stop_training = False
        self.global_step = 0
        self.epoch = 0
        self.history = None
        self._loss_metric = Mean("loss")
        self._position = (0, 0)  # (epoch, batches of it done): where a checkpoint resumes

    # ------------------------------------------------------------------ configuration
    @staticmethod
    def _loss_fn(loss_fn):
        if loss_fn is None or callable(loss_fn):
            return loss_fn
        if isinstance(loss_fn, str) and loss_fn.lower() in _LOSSES:
            from ember.nn import functional

            return getattr(functional, _LOSSES[loss_fn.lower()])
        raise ValueError(
            f"Trainer: expected loss_fn to be a function, a loss module or one of "
            f"{sorted(_LOSSES)}, received {loss_fn!r}"
        )

    @staticmethod
    def _precision(mp):
        if mp is None or mp is False:
            return None
        if isinstance(mp, dtypes.dtype):
            name = mp.name
        else:
            name = _PRECISIONS.get(str(mp).lower())
        if name not in ("float16", "bfloat16"):
            raise ValueError(
                f"Trainer: expected mixed_precision None, 'float16' or 'bfloat16', received {mp!r}"
            )
        return dtypes.as_dtype(name)

    def _autocast(self):
        if self.mixed_precision is None:
            return contextlib.nullcontext()
        from ember.amp import autocast

        return autocast(self.device.type, dtype=self.mixed_precision)

    # ------------------------------------------------------------------ data
    def _loader(self, data, batch_size, shuffle, who, strict=True):
        if data is None:
            return None
        arrays = None
        if isinstance(data, (Tensor, np.ndarray)):
            arrays = (data,)
        elif (
            isinstance(data, tuple)
            and data
            and all(isinstance(a, (Tensor, np.ndarray)) for a in data)
        ):
            arrays = data
        if arrays is not None:
            from ember.creation import as_tensor

            tensors = tuple(
                a if isinstance(a, Tensor) else as_tensor(a, device=self.device) for a in arrays
            )
            lengths = {t.shape[0] if t.ndim else None for t in tensors}
            if len(lengths) != 1 or None in lengths:
                raise ValueError(
                    f"{who}: the tensors must have the same size in dim 0 (one row per "
                    f"sample), received shapes {[tuple(t.shape) for t in tensors]}"
                )
            bs = 32 if batch_size is None else _positive_int(batch_size, "batch_size", who)
            return _TensorBatches(tensors, bs, shuffle)
        if batch_size is not None and strict:
            raise ValueError(
                f"{who}: batch_size applies to data given as tensors (x, y); a DataLoader or "
                "an iterable of batches makes its own batches"
            )
        if not hasattr(data, "__iter__"):
            raise TypeError(
                f"{who}: expected a DataLoader, an iterable of (x, y) batches, or tensors "
                f"(x, y), received {type(data).__name__}"
            )
        return data

    def _move(self, x):
        if isinstance(x, Tensor):
            if self.device.type == "cpu" and type(x._data) is np.ndarray:
                return x
            return x.to(self.device)
        if isinstance(x, np.ndarray):
            from ember.creation import as_tensor

            return as_tensor(x, device=self.device)
        if isinstance(x, (tuple, list)):
            return type(x)(self._move(v) for v in x)
        return x

    def _split(self, batch, who):
        if isinstance(batch, (Tensor, np.ndarray)):
            return self._move(batch), None
        if isinstance(batch, (tuple, list)):
            if len(batch) == 2:
                return self._move(batch[0]), self._move(batch[1])
            if len(batch) == 1:
                return self._move(batch[0]), None
            raise ValueError(
                f"{who}: expected batches (x, y) or (x,), received a batch of {len(batch)} "
                "items; pack several inputs as ((x1, x2), y)"
            )
        raise TypeError(
            f"{who}: expected batches (x, y) of tensors, received {type(batch).__name__}"
        )

    def _forward(self, x):
        return self.model(*x) if isinstance(x, (tuple, list)) else self.model(x)

    # ------------------------------------------------------------------ logs
    def _metric_logs(self, loss_metric, metrics, prefix="") -> dict:
        logs = {}
        if loss_metric is not None:
            logs[prefix + "loss"] = loss_metric.result()
        for m in metrics:
            logs[prefix + m.name] = m.result()
        return logs

    def running_logs(self) -> dict:
        """The running means of the loss and the metrics in the epoch so far (floats; this
        reads values back from the device, so ProgressBar calls it only when it draws)."""
        return self._metric_logs(self._loss_metric, self.metrics)

    def _lr(self):
        if self.optimizer is None or not self.optimizer.param_groups:
            return None
        lr = self.optimizer.param_groups[0]["lr"]
        return float(lr.item() if isinstance(lr, Tensor) else lr)

    def _update_metrics(self, loss_metric, metrics, out, y, loss, n):
        if loss_metric is not None and loss is not None:
            loss_metric.update(loss, n)
        if metrics and y is not None:
            o = out[0] if isinstance(out, (tuple, list)) else out
            for m in metrics:
                m.update(o, y)

    # ------------------------------------------------------------------ training
    def fit(self, train_data, epochs: int = 1, validation_data=None, *, batch_size=None,
            shuffle: bool = True, initial_epoch: int = 0, verbose: int = 1, callbacks=None,
            steps_per_epoch: int | None = None, max_steps: int | None = None,
            validation_freq: int = 1, checkpoint_dir=None, checkpoint_every: int | None = None,
            keep_checkpoints: int = 1, resume_from=None) -> History:  # fmt: skip
        """Train for ``epochs`` epochs (from ``initial_epoch``) and return a History.

        Args:
            train_data: a DataLoader, an iterable of (x, y) batches, or tensors (x, y).
            epochs: the index of the last epoch + 1 (as in Keras: with ``initial_epoch=3``
                and ``epochs=5``, epochs 3 and 4 run).
            validation_data: evaluated after each epoch (every ``validation_freq``); its
                loss and metrics appear in the logs with the prefix ``val_``.
            batch_size, shuffle: for data given as tensors.
            verbose: 0 silent, 1 a progress bar (redrawn on a terminal; one line per epoch
                otherwise), 2 one line per epoch.
            callbacks: more callbacks for this fit.
            steps_per_epoch: end an epoch after this many batches.
            max_steps: stop when this many optimizer steps have been made in all (counting
                the steps of a resumed run).
            checkpoint_dir, checkpoint_every, keep_checkpoints, resume_from: see the module
                docstring.

        The epoch logs (and ``history.history``) hold 'loss', each metric, 'val_loss' and
        'val_<metric>' when validating, and 'lr' (the learning rate of the epoch's last
        step, before an epoch scheduler's step).
        """
        if self.optimizer is None or self.loss_fn is None:
            raise ValueError(
                "Trainer.fit: needs an optimizer and a loss_fn; give them to Trainer(model, "
                "optimizer, loss_fn)"
            )
        epochs = _positive_int(epochs, "epochs", "Trainer.fit")
        if steps_per_epoch is not None:
            steps_per_epoch = _positive_int(steps_per_epoch, "steps_per_epoch", "Trainer.fit")
        if max_steps is not None:
            max_steps = _positive_int(max_steps, "max_steps", "Trainer.fit")
        validation_freq = _positive_int(validation_freq, "validation_freq", "Trainer.fit")
        keep_checkpoints = _positive_int(keep_checkpoints, "keep_checkpoints", "Trainer.fit")
        if checkpoint_every is not None:
            checkpoint_every = _positive_int(checkpoint_every, "checkpoint_every", "Trainer.fit")
            if checkpoint_dir is None:
                raise ValueError("Trainer.fit: checkpoint_every needs a checkpoint_dir")
        if checkpoint_dir is not None:
            os.makedirs(checkpoint_dir, exist_ok=True)
        loader = self._loader(train_data, batch_size, shuffle, "Trainer.fit")
        # fit's batch_size also batches validation tensors; a validation DataLoader keeps its own
        val_loader = self._loader(
            validation_data, batch_size, False, "Trainer.fit (validation)", strict=False
        )
        try:
            steps = steps_per_epoch or len(loader)
        except TypeError:
            steps = steps_per_epoch

        history = History()
        extra = list(callbacks or [])
        progress = []
        if verbose:
            progress = [ProgressBar(live=None if verbose == 1 else False)]
        user = [*self.callbacks, *extra]
        cbs = CallbackList(
            [history, *user, *progress], model=self.model, trainer=self,
            epochs=epochs, steps=steps, verbose=verbose,
        )  # fmt: skip
        self.history = history
        self.stop_training = False
        was_training = self.model.training
        self._params = [p for g in self.optimizer.param_groups for p in g["params"]]
        self._ckpt = (checkpoint_dir, checkpoint_every, keep_checkpoints)
        self._user_callbacks = user
        self._train_loader = loader

        start_epoch, skip, state = initial_epoch, 0, None
        if resume_from is not None:
            state = self._resume(resume_from, loader)
            start_epoch, skip = state["epoch"], state["batch"]
        self._resumes_itself = callable(getattr(loader, "load_state_dict", None))
        self.optimizer.zero_grad()

        cbs.on_train_begin()
        if state is not None:
            history.load_state_dict(state["history"])
            self._load_callback_states(state.get("callbacks") or {})
        logs = {}
        for epoch in range(start_epoch, epochs):
            self.epoch = epoch
            resumed = state is not None and epoch == start_epoch and skip > 0
            if resumed:
                self._loss_metric.load_state_dict(state["metrics"]["loss"])
                for m in self.metrics:
                    m.load_state_dict(state["metrics"][m.name])
            else:
                self._loss_metric.reset()
                for m in self.metrics:
                    m.reset()
            cbs.on_epoch_begin(epoch)
            n = self._train_epoch(
                loader, cbs, epoch, skip if resumed else 0, steps_per_epoch, max_steps
            )
            if n == 0 and not resumed:
                warnings.warn(
                    f"Trainer.fit: the training data gave no batches in epoch {epoch}; a "
                    "generator is used up after one pass (pass a DataLoader or a list)",
                    stacklevel=2,
                )
                break
            logs = self.running_logs()
            if val_loader is not None and (epoch + 1) % validation_freq == 0:
                val = self._evaluate(val_loader, cbs, "Trainer.fit (validation)")
                logs.update({f"val_{k}": v for k, v in val.items()})
            lr = self._lr()
            if lr is not None:
                logs["lr"] = lr
            if self.scheduler is not None and self.scheduler_interval == "epoch":
                step_scheduler(self.scheduler, logs, self.scheduler_monitor)
            self._position = (epoch + 1, 0)
            self.model.train()
            cbs.on_epoch_end(epoch, logs)
            if checkpoint_dir is not None and checkpoint_every is None:
                self._periodic_save()
            if self.stop_training or (max_steps is not None and self.global_step >= max_steps):
                break
        cbs.on_train_end(logs)
        self.model.train(was_training)
        return history

    def _train_epoch(self, loader, cbs, epoch, skip, steps_per_epoch, max_steps) -> int:
        model, accum, scaler = self.model, self.grad_accum_steps, self.scaler
        model.train()
        it = iter(loader)
        if skip and not self._resumes_itself:
            it = islice(it, skip, None)
        every = self._ckpt[1]
        pending = 0
        i = skip
        for batch in it:
            cbs.on_train_batch_begin(i)
            x, y = self._split(batch, "Trainer.fit")
            if y is None:
                raise ValueError(
                    "Trainer.fit: the training data gives no targets (batches of x alone); "
                    "training needs (x, y) batches"
                )
            with self._autocast():
                out = self._forward(x)
                loss = self.loss_fn(out, y)
            if not isinstance(loss, Tensor) or loss._data.size != 1:
                raise TypeError(
                    "Trainer.fit: loss_fn must return a Tensor with one element (the batch's "
                    f"loss), received {type(loss).__name__}"
                    + (f" of shape {tuple(loss.shape)}" if isinstance(loss, Tensor) else "")
                )
            back = loss / accum if accum > 1 else loss
            if scaler is not None:
                back = scaler.scale(back)
            back.backward()
            n = _first_dim(y if y is not None else x)
            detached = loss.detach()
            self._update_metrics(self._loss_metric, self.metrics, out, y, detached, n)
            pending += 1
            i += 1
            self._position = (epoch, i)
            if pending == accum:
                pending = 0
                self._optimizer_step()
                if every is not None and self.global_step % every == 0:
                    self._periodic_save()
            cbs.on_train_batch_end(i - 1, {"batch": i - 1, "size": n, "loss": detached})
            if (
                self.stop_training
                or (max_steps is not None and self.global_step >= max_steps)
                or (steps_per_epoch is not None and i >= steps_per_epoch)
            ):
                break
        if pending:
            self._optimizer_step()
        return i - skip

    def _optimizer_step(self) -> None:
        opt, scaler = self.optimizer, self.scaler
        skipped = False
        if self.max_grad_norm is not None:
            from ember.nn.utils import clip_grad_norm_

            if scaler is not None:
                scaler.unscale_(opt)
            clip_grad_norm_(self._params, self.max_grad_norm)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
            skipped = scaler.step_skipped
        else:
            opt.step()
        opt.zero_grad()
        self.global_step += 1
        if self.scheduler is not None and self.scheduler_interval == "step" and not skipped:
            self.scheduler.step()

    # ------------------------------------------------------------------ evaluation
    def evaluate(self, data, *, batch_size=None, verbose: int = 0, callbacks=None) -> dict:
        """The loss and metrics over ``data`` (model in eval mode, no gradients): a dict
        ``{'loss': ..., 'accuracy': ...}`` of floats."""
        loader = self._loader(data, batch_size, False, "Trainer.evaluate")
        try:
            steps = len(loader)
        except TypeError:
            steps = None
        progress = [ProgressBar(live=None if verbose == 1 else False)] if verbose else []
        cbs = CallbackList(
            [*(callbacks or []), *progress], model=self.model, trainer=self, steps=steps,
            verbose=verbose,
        )  # fmt: skip
        return self._evaluate(loader, cbs, "Trainer.evaluate")

    def _evaluate(self, loader, cbs, who) -> dict:
        model = self.model
        was_training = model.training
        model.eval()
        loss_metric = Mean("loss") if self.loss_fn is not None else None
        metrics = [m.clone() for m in self.metrics]
        cbs.on_test_begin()
        try:
            with no_grad(), self._autocast():
                for i, batch in enumerate(loader):
                    cbs.on_test_batch_begin(i)
                    x, y = self._split(batch, who)
                    out = self._forward(x)
                    if y is None:
                        raise ValueError(
                            f"{who}: the data gives no targets (batches of x alone); evaluation "
                            "needs (x, y) batches"
                        )
                    loss = self.loss_fn(out, y) if loss_metric is not None else None
                    n = _first_dim(y)
                    self._update_metrics(loss_metric, metrics, out, y, loss, n)
                    cbs.on_test_batch_end(i, {"batch": i, "size": n, "loss": loss})
        finally:
            model.train(was_training)
        logs = self._metric_logs(loss_metric, metrics)
        cbs.on_test_end(logs)
        return logs

    def predict(self, data, *, batch_size=None, verbose: int = 0, callbacks=None):
        """The model's outputs for ``data`` (a Tensor of inputs, batched by ``batch_size``;
        or batches, whose targets are ignored), joined along dim 0; a tuple of Tensors for a
        model that returns a tuple."""
        from ember.ops.shape import cat

        loader = self._loader(data, batch_size, False, "Trainer.predict")
        cbs = CallbackList(list(callbacks or []), model=self.model, trainer=self)
        model = self.model
        was_training = model.training
        model.eval()
        outs = []
        cbs.on_predict_begin()
        try:
            with no_grad(), self._autocast():
                for i, batch in enumerate(loader):
                    cbs.on_predict_batch_begin(i)
                    x, _ = self._split(batch, "Trainer.predict")
                    out = self._forward(x)
                    outs.append(out)
                    cbs.on_predict_batch_end(i, {"batch": i, "outputs": out})
        finally:
            model.train(was_training)
        cbs.on_predict_end()
        if not outs:
            raise ValueError("Trainer.predict: the data gave no batches")
        if isinstance(outs[0], (tuple, list)):
            return tuple(cat([o[k] for o in outs], 0) for k in range(len(outs[0])))
        return cat(outs, 0)

    # ------------------------------------------------------------------ checkpoints
    def _trainer_state(self) -> dict:
        epoch, batch = self._position
        metrics = {"loss": self._loss_metric.state_dict()}
        for m in self.metrics:
            metrics[m.name] = m.state_dict()
        return {
            "epoch": epoch,
            "batch": batch,
            "global_step": self.global_step,
            "metrics": metrics,
            "history": self.history.state_dict() if self.history is not None else None,
            "callbacks": self._callback_states(),
        }

    def _callback_keys(self):
        return [
            (f"{i}:{type(cb).__name__}", cb)
            for i, cb in enumerate(getattr(self, "_user_callbacks", []))
        ]

    def _callback_states(self) -> dict:
        return {k: cb.state_dict() for k, cb in self._callback_keys()}

    def _load_callback_states(self, states: dict) -> None:
        for k, cb in self._callback_keys():
            if k in states:
                cb.load_state_dict(states[k])

    def save_checkpoint(self, path, extra: dict | None = None) -> None:
        """Save everything needed to resume (see ``ember.train.checkpoint``) to ``path``,
        at the trainer's current position."""
        ckpt_io.save_checkpoint(
            path, self.model, self.optimizer, self.scheduler, self.scaler,
            epoch=self._position[0], step=self.global_step, trainer_state=self._trainer_state(),
            dataloader=getattr(self, "_train_loader", None), extra=extra,
        )  # fmt: skip

    def _periodic_save(self) -> None:
        folder, _, keep = self._ckpt
        path = os.path.join(folder, f"step-{self.global_step:08d}.safetensors")
        self.save_checkpoint(path)
        old = sorted(_checkpoints(folder))[:-keep]
        for _, p in old:
            with contextlib.suppress(OSError):
                os.remove(p)

    @staticmethod
    def latest_checkpoint(folder) -> str | None:
        """The newest ``step-*.safetensors`` checkpoint that ``fit`` wrote in ``folder``."""
        found = sorted(_checkpoints(folder))
        return found[-1][1] if found else None

    def _resume(self, resume_from, loader) -> dict:
        path = os.fspath(resume_from)
        if os.path.isdir(path):
            latest = self.latest_checkpoint(path)
            if latest is None:
                raise FileNotFoundError(
                    f"Trainer.fit: resume_from={path!r}: the folder holds no step-*.safetensors "
                    "checkpoint"
                )
            path = latest
        info = ckpt_io.read_checkpoint(path)
        state = info.get("trainer")
        if not state:
            raise ValueError(
                f"Trainer.fit: '{path}' was not saved by a Trainer (it holds no trainer state); "
                "restore it with ember.train.load_checkpoint"
            )
        # at an epoch's end the loader has nothing to resume: the next epoch starts afresh
        mid_epoch = state["batch"] > 0
        ckpt_io.restore_checkpoint(
            info, path, self.model, self.optimizer, self.scheduler, self.scaler,
            dataloader=loader if mid_epoch else None,
        )  # fmt: skip
        self.global_step = int(state["global_step"])
        self._position = (state["epoch"], state["batch"])
        return state

    def __repr__(self):
        return (
            f"Trainer(model={type(self.model).__name__}, optimizer="
            f"{type(self.optimizer).__name__ if self.optimizer else None}, "
            f"metrics={[m.name for m in self.metrics]}, mixed_precision="
            f"{self.mixed_precision.name if self.mixed_precision else None})"
        )


def _checkpoints(folder):
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        m = _CKPT_NAME.match(name)
        if m:
            out.append((int(m.group(1)), os.path.join(folder, name)))
    return out
