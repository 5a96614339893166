"""Training checkpoints: everything needed to stop training and go on exactly where it
stopped, in one safetensors file.

A checkpoint holds the model's ``state_dict``, the optimizer's, the scheduler's and the
GradScaler's, every random number generator's state (ember's default generator, NumPy's
global one, Python's ``random``), the position in the data (a DataLoader's
``state_dict()``), and the trainer's own counters. It is written with ``ember.save``, which
writes a temporary file and renames it over the old one: a crash while saving leaves the
previous checkpoint as it was.

Example (a hand-written loop)::

    save_checkpoint("run/last.safetensors", model, opt, scheduler, dataloader=loader,
                    epoch=epoch, step=step)
    ...
    info = load_checkpoint("run/last.safetensors", model, opt, scheduler, dataloader=loader)
    epoch, step = info["epoch"], info["step"]

``load_weights(model, path)`` loads only the weights, from a checkpoint or from a plain
state-dict file (``ember.save(model.state_dict(), path)``, or PyTorch weights written with
``safetensors.torch.save_file(torch_model.state_dict(), path)``).
"""

from __future__ import annotations

import os
import random

import numpy as np

from ember import random as ember_random
from ember.io import SafetensorsError, load, save
from ember.tensor import Tensor

__all__ = [
    "CHECKPOINT_FORMAT",
    "get_rng_states",
    "load_checkpoint",
    "load_weights",
    "read_checkpoint",
    "restore_checkpoint",
    "save_checkpoint",
    "set_rng_states",
]

CHECKPOINT_FORMAT = 1
_MARK = "ember_checkpoint"
_KEYED = "__ember_keyed__"  # a dict whose keys are not all strings, saved as pairs


# ---------------------------------------------------------------------------- encoding
def _encode(obj, where: str):
    """``obj`` in the types ``ember.save`` writes: dicts with non-str keys become tagged
    lists of pairs, NumPy arrays become Tensors, NumPy scalars Python numbers."""
    if isinstance(obj, Tensor) or obj is None or type(obj) in (bool, int, float, str):
        return obj
    if isinstance(obj, np.ndarray):
        return Tensor._make(obj.copy())
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        if all(type(k) is str for k in obj) and _KEYED not in obj:
            return {k: _encode(v, f"{where}.{k}") for k, v in obj.items()}
        pairs = []
        for k, v in obj.items():
            if type(k) not in (int, str, float, bool):
                raise TypeError(
                    f"save_checkpoint: cannot save the dict key {k!r} ({type(k).__name__}) at "
                    f"{where}; keys must be str or int"
                )
            pairs.append([k, _encode(v, f"{where}.{k}")])
        return {_KEYED: pairs}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, f"{where}.{i}") for i, v in enumerate(obj)]
        return items if isinstance(obj, list) else tuple(items)
    for base in (bool, int, float, str):  # subclasses (IntEnum …) as their plain type
        if isinstance(obj, base):
            return base(obj)
    raise TypeError(
        f"save_checkpoint: cannot save {type(obj).__name__} at {where}; a checkpoint holds "
        "Tensors, NumPy arrays, numbers, strings, None, and dicts/lists/tuples of them"
    )


def _decode(obj):
    if isinstance(obj, dict):
        if set(obj) == {_KEYED}:
            return {k: _decode(v) for k, v in obj[_KEYED]}
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_decode(v) for v in obj)
    return obj


# ---------------------------------------------------------------------------- RNG states
def get_rng_states() -> dict:
    """The states of ember's default generator, NumPy's global generator and Python's
    ``random``, in a form ``ember.save`` can write."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    return {
        "ember": ember_random.get_rng_state(),
        "numpy": {
            "kind": str(kind), "keys": Tensor._make(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached),
        },
        "python": {
            "version": int(version),
            "internal": Tensor._make(np.asarray(internal, dtype=np.int64)),
            "gauss_next": gauss_next,
        },
    }  # fmt: skip


def set_rng_states(states: dict) -> None:
    """Restore the generators from ``get_rng_states()``; the numbers that follow repeat."""
    if "ember" in states:
        ember_random.set_rng_state(states["ember"])
    if "numpy" in states:
        s = states["numpy"]
        keys = np.asarray(s["keys"].numpy(), dtype=np.uint32)
        np.random.set_state((s["kind"], keys, s["pos"], s["has_gauss"], s["cached_gaussian"]))
    if "python" in states:
        s = states["python"]
        internal = tuple(int(v) for v in s["internal"].numpy().tolist())
        random.setstate((s["version"], internal, s["gauss_next"]))


# ---------------------------------------------------------------------------- save / load
def save_checkpoint(path, model, optimizer=None, scheduler=None, scaler=None, *,
                    epoch: int | None = None, step: int | None = None,
                    trainer_state: dict | None = None, dataloader=None,
                    extra: dict | None = None) -> None:  # fmt: skip
    """Write one file with everything needed to resume training exactly.

    Args:
        path: the file to write (the folder must exist). Written atomically.
        model: its ``state_dict()`` (parameters and persistent buffers).
        optimizer, scheduler, scaler: their ``state_dict()``s, when given.
        epoch, step: where training stands (any ints; stored as they are).
        trainer_state: more state of the loop (``Trainer`` keeps its counters, metrics and
            history here).
        dataloader: a loader with ``state_dict()`` (ember's DataLoader): the position in
            the epoch. A loader without it but with a ``generator`` has that saved.
        extra: anything else of your own (tensors, numbers, strings, lists, dicts).

    Example::

        save_checkpoint("ckpt.safetensors", model, opt, sched, epoch=3, step=1200)
    """
    ckpt = {
        _MARK: CHECKPOINT_FORMAT,
        "model": dict(model.state_dict()),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "scaler": None if scaler is None else scaler.state_dict(),
        "rng": get_rng_states(),
        "dataloader": None,
        "dataloader_generator": None,
        "epoch": epoch,
        "step": step,
        "trainer": trainer_state,
        "extra": extra,
    }
    if dataloader is not None:
        if callable(getattr(dataloader, "state_dict", None)):
            ckpt["dataloader"] = dataloader.state_dict()
        gen = getattr(dataloader, "generator", None)
        if isinstance(gen, ember_random.Generator) and ckpt["dataloader"] is None:
            ckpt["dataloader_generator"] = gen.get_state()
    save(_encode(ckpt, "checkpoint"), path)


def _read(path, who: str):
    try:
        obj = load(path)
    except SafetensorsError as e:
        raise SafetensorsError(
            f"{who}: cannot read the checkpoint '{os.fspath(path)}': it is corrupt, truncated "
            f"or not a safetensors file ({e})"
        ) from e
    return obj


def read_checkpoint(path) -> dict:
    """The contents of a checkpoint file as a dict, without restoring anything."""
    ckpt = _read(path, "load_checkpoint")
    name = os.fspath(path)
    if not isinstance(ckpt, dict) or _MARK not in ckpt:
        raise ValueError(
            f"load_checkpoint: '{name}' is not an ember training checkpoint (it holds no "
            "'ember_checkpoint' entry); for a file of weights only, use "
            "ember.train.load_weights(model, path)"
        )
    if ckpt[_MARK] > CHECKPOINT_FORMAT:
        raise ValueError(
            f"load_checkpoint: '{name}' has checkpoint format {ckpt[_MARK]}, newer than this "
            f"ember reads ({CHECKPOINT_FORMAT}); upgrade ember"
        )
    return _decode(ckpt)


def restore_checkpoint(ckpt: dict, path, model=None, optimizer=None, scheduler=None,
                       scaler=None, *, dataloader=None, restore_rng: bool = True,
                       strict: bool = True) -> None:  # fmt: skip
    """Restore the states of ``ckpt`` (from ``read_checkpoint(path)``) into the objects
    given; ``path`` names the file in errors."""
    name = os.fspath(path)
    for obj, key in ((optimizer, "optimizer"), (scheduler, "scheduler"), (scaler, "scaler")):
        if obj is not None and ckpt.get(key) is None:
            raise ValueError(
                f"load_checkpoint: '{name}' holds no {key} state, but a {key} was given to restore"
            )
    if model is not None:
        model.load_state_dict(ckpt["model"], strict=strict)
    if optimizer is not None:
        optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(ckpt["scheduler"])
    if scaler is not None:
        scaler.load_state_dict(ckpt["scaler"])
    if restore_rng and ckpt.get("rng"):
        set_rng_states(ckpt["rng"])
    if dataloader is not None:
        if ckpt.get("dataloader") is not None and callable(
            getattr(dataloader, "load_state_dict", None)
        ):
            dataloader.load_state_dict(ckpt["dataloader"])
        gen = getattr(dataloader, "generator", None)
        if ckpt.get("dataloader_generator") is not None and isinstance(gen, ember_random.Generator):
            gen.set_state(ckpt["dataloader_generator"])


def load_checkpoint(path, model=None, optimizer=None, scheduler=None, scaler=None, *,
                    dataloader=None, restore_rng: bool = True, strict: bool = True) -> dict:  # fmt: skip
    """Restore what ``save_checkpoint`` wrote into the objects given (each optional) and,
    with ``restore_rng``, the random generators. Returns the checkpoint as a dict (keys
    'epoch', 'step', 'trainer', 'extra', and the raw states).

    Raises ``ember.io.SafetensorsError`` (a ValueError) naming the file when it is corrupt
    or truncated, ``FileNotFoundError`` when it is missing, and ValueError when it is a
    plain weights file rather than a checkpoint (use ``load_weights`` for those).

    Example::

        info = load_checkpoint("ckpt.safetensors", model, opt, sched)
        start_epoch = info["epoch"]
    """
    ckpt = read_checkpoint(path)
    restore_checkpoint(ckpt, path, model, optimizer, scheduler, scaler, dataloader=dataloader,
                       restore_rng=restore_rng, strict=strict)  # fmt: skip
    return ckpt


def load_weights(model, path, strict: bool = True):
    """Load weights into ``model`` from an ember checkpoint (its model state) or from a
    plain state-dict file: ``ember.save(model.state_dict(), path)``, or a PyTorch model's
    weights written with ``safetensors.torch.save_file(torch_model.state_dict(), path)``
    (ember's layers use PyTorch's names). Returns ``(missing_keys, unexpected_keys)``.

    Example::

        load_weights(model, "resnet18.safetensors")
    """
    obj = _read(path, "load_weights")
    if isinstance(obj, dict) and _MARK in obj:
        obj = obj["model"]
    if not isinstance(obj, dict) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise ValueError(
            f"load_weights: '{os.fspath(path)}' holds no state dict (a flat dict of name -> "
            "tensor) and is not an ember checkpoint"
        )
    return model.load_state_dict(obj, strict=strict)
