"""Training configs for ``ember train``: load a TOML file, apply ``--set`` overrides, check
every key against the schema below and fill in the defaults, and write the result back out.

A config keeps four things apart::

    [model]            # which network: a zoo name and its constructor's arguments
    name = "lenet5"
    num_classes = 10

    [data]             # what it learns from, and how it is batched
    name = "mnist"
    batch_size = 64

    [solver]           # how it learns: optimizer, learning rate and schedule, epochs
    optimizer = "sgd"
    lr = 0.05
    momentum = 0.9
    epochs = 10

    [run]              # bookkeeping: name, seed, where the run folder goes
    name = "lenet5-mnist"
    seed = 0

Every mistake raises ``ConfigError`` with a message that names the key, the value and what
is allowed: ``solver.optimizer = "sgdd": expected one of adam, adamw, adagrad, rmsprop, sgd``.
"""

from __future__ import annotations

import difflib
import inspect
import json
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "DATASETS", "OPTIMIZERS", "SCHEDULERS", "SCHEMA", "ConfigError", "apply_overrides", "dumps",
    "load", "loads", "parse_override", "preset_names", "preset_path", "resolve",
]  # fmt: skip

OPTIMIZERS = ("adam", "adamw", "adagrad", "rmsprop", "sgd")
SCHEDULERS = ("none", "step", "multistep", "exponential", "cosine", "onecycle", "plateau")
DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10", "python_source")
IMAGE_DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10")
TRANSFORMS = ("random_crop", "random_hflip")
MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")

_PRESET_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "models", "configs")


class ConfigError(ValueError):
    """A config that cannot be used: unknown key, wrong type, value out of range, bad TOML."""


# ---------------------------------------------------------------------------- the schema
@dataclass(frozen=True)
class Field:
    """One key of a section: its kind, default, what values are allowed, and what it does.

    kind: "int", "float", "bool", "str", "choice", "list[float]", "list[str]", "table".
    low/high bound numbers (``low_open`` excludes ``low``; ``high`` is always excluded
    unless ``high_closed``); choices lists the strings a "choice" or "list[str]" allows;
    length fixes a list's length.
    """

    kind: str
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_closed: bool = False
    choices: tuple = ()
    length: int | None = None

    def allowed(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "bool":
            return "true or false"
        if self.kind == "str":
            return "a string"
        if self.kind == "table":
            return "a table of key = value pairs, e.g. { step_size = 10, gamma = 0.1 }"
        if self.kind == "list[str]":
            return "a list of strings from " + ", ".join(self.choices) + ", e.g. []"
        noun = {"int": "an integer", "float": "a number", "list[float]": "a list of"}[self.kind]
        if self.kind == "list[float]":
            noun += f" {self.length} numbers" if self.length else " numbers"
        return noun + self._range()

    def _range(self) -> str:
        lo, hi = self.low, self.high
        if lo is None and hi is None:
            return ""
        fmt = _fmt_number
        if hi is None:
            return f" {'>' if self.low_open else '>='} {fmt(lo)}"
        left = "(" if self.low_open else "["
        right = "]" if self.high_closed else ")"
        return f" in {left}{fmt(lo)}, {fmt(hi)}{right}"

    def check(self, key: str, value):
        """The value, normalised (an int where a float is wanted becomes a float), or raise."""
        bad = ConfigError(f"{key} = {_show(value)}: expected {self.allowed()}")
        kind = self.kind
        if kind == "bool":
            if not isinstance(value, bool):
                raise bad
            return value
        if kind in ("str", "choice"):
            if not isinstance(value, str):
                raise bad
            if kind == "choice" and value not in self.choices:
                raise bad from None
            return value
        if kind == "table":
            if not isinstance(value, dict):
                raise bad
            return dict(value)
        if kind == "list[str]":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise bad
            for v in value:
                if v not in self.choices:
                    raise ConfigError(
                        f"{key} = {_show(value)}: {_show(v)} is not allowed; expected "
                        f"{self.allowed()}"
                    )
            return list(value)
        if kind == "list[float]":
            if not isinstance(value, list) or (self.length and len(value) != self.length):
                raise bad
            return [self._number(key, v, bad, whole=value) for v in value]
        return self._number(key, value, bad)

    def _number(self, key, v, bad, whole=None):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad
        if self.kind == "int":
            if isinstance(v, float):
                if not v.is_integer():
                    raise bad
                v = int(v)
        else:
            v = float(v)
            if math.isnan(v):
                raise bad
        lo, hi = self.low, self.high
        if lo is not None and (v < lo or (self.low_open and v == lo)):
            raise bad
        if hi is not None and (v > hi or (v == hi and not self.high_closed)):
            raise bad
        return v


def _f(kind, default, help, **kw) -> Field:
    return Field(kind, default, help, **kw)


SCHEMA: dict[str, dict[str, Field]] = {
    "data": {
        "name": _f("choice", "digits", "the data set", choices=DATASETS),
        "root": _f("str", "data", "folder holding the MNIST / Fashion-MNIST / CIFAR-10 files"),
        "batch_size": _f("int", 64, "examples per training step", low=1),
        "eval_batch_size": _f("int", 256, "examples per evaluation step", low=1),
        "val_split": _f(
            "float", 0.1, "fraction of the training set held out for validation", low=0, high=1
        ),
        "shuffle": _f("bool", True, "reshuffle the training set every epoch"),
        "normalize": _f("bool", True, "standardise images with the data set's mean and std"),
        "transforms": _f(
            "list[str]", [], "training-time augmentation (images)", choices=TRANSFORMS
        ),
        "limit": _f(
            "int", 0, "use only the first N training examples (0: all), for quick trials", low=0
        ),
        "seq_len": _f("int", 128, "characters per training sequence (python_source)", low=2),
        "max_chars": _f("int", 1_000_000, "size of the character corpus (python_source)", low=1000),
    },
    "solver": {
        "optimizer": _f("choice", "adam", "the optimizer", choices=OPTIMIZERS),
        "lr": _f("float", 1e-3, "learning rate", low=0, low_open=True),
        "momentum": _f("float", 0.0, "momentum (sgd, rmsprop)", low=0, high=1),
        "nesterov": _f("bool", False, "Nesterov momentum (sgd)"),
        "weight_decay": _f("float", 0.0, "L2 penalty (decoupled for adamw)", low=0),
        "betas": _f("list[float]", [0.9, 0.999], "Adam's betas", low=0, high=1, length=2),
        "eps": _f(
            "float",
            1e-8,
            "added to denominators (adam, adamw, adagrad, rmsprop)",
            low=0,
            low_open=True,
        ),
        "epochs": _f("int", 10, "passes over the training set", low=1),
        "scheduler": _f("choice", "none", "learning-rate schedule", choices=SCHEDULERS),
        "scheduler_args": _f("table", {}, "arguments of the schedule's constructor"),
        "grad_accum_steps": _f(
            "int", 1, "add up gradients over this many batches per optimizer step", low=1
        ),
        "mixed_precision": _f(
            "choice",
            "none",
            "run the forward pass under autocast in this dtype",
            choices=("none", "bfloat16", "float16"),
        ),
        "max_grad_norm": _f(
            "float", 0.0, "clip the gradients' total norm to this (0: no clipping)", low=0
        ),
        "label_smoothing": _f("float", 0.0, "cross-entropy label smoothing", low=0, high=1),
    },
    "run": {
        "name": _f("str", "", "run name (default: the model's name)"),
        "seed": _f(
            "int", 0, "random seed for initialisation, shuffling and dropout", low=0, high=2**63
        ),
        "out_dir": _f("str", "runs", "folder the run folder is made in"),
        "checkpoint_every": _f("int", 1, "save the last checkpoint every N epochs", low=1),
        "monitor": _f(
            "choice", "val_loss", "metric that picks the best checkpoint", choices=MONITORS
        ),
        "device": _f("str", "cpu", "cpu, cuda or cuda:N"),
        "progress": _f("bool", True, "show a progress bar"),
        "sample_chars": _f(
            "int", 300, "characters to generate after training (text models)", low=0
        ),
    },
}
SECTIONS = ("model", "data", "solver", "run")

# Keys that mean something only for some data sets; set for another, they are an error.
_DATA_ONLY = {
    "root": ("mnist", "fashion_mnist", "cifar10"),
    "seq_len": ("python_source",),
    "max_chars": ("python_source",),
    "normalize": IMAGE_DATASETS,
    "transforms": IMAGE_DATASETS,
}
# Optimizer settings that only some optimizers have.
_SOLVER_ONLY = {
    "momentum": ("sgd", "rmsprop"),
    "nesterov": ("sgd",),
    "betas": ("adam", "adamw"),
    "eps": ("adam", "adamw", "adagrad", "rmsprop"),
}
# Scheduler arguments that ``ember train`` fills in from the solver when they are left out.
AUTO_SCHEDULER_ARGS = {
    "cosine": ("T_max",),
    "onecycle": ("max_lr", "total_steps", "epochs", "steps_per_epoch"),
}


# ---------------------------------------------------------------------------- loading
def _toml():
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:
        import tomli
    except ImportError:
        raise ConfigError(
            "reading TOML configs on Python 3.10 needs the tomli package: pip install tomli"
        ) from None
    return tomli


def loads(text: str, source: str = "<string>") -> dict:
    """Parse TOML text into nested dicts; a syntax error becomes a ConfigError naming
    ``source`` and the line."""
    toml = _toml()
    try:
        return toml.loads(text)
    except toml.TOMLDecodeError as e:
        raise ConfigError(f"{source}: invalid TOML: {e}") from None


def preset_names() -> list[str]:
    """The names of the configs shipped with ember (``ember train lenet5``)."""
    if not os.path.isdir(_PRESET_DIR):
        return []
    return sorted(f[:-5] for f in os.listdir(_PRESET_DIR) if f.endswith(".toml"))


def preset_path(name: str) -> str:
    return os.path.join(_PRESET_DIR, name + ".toml")


def load(path: str) -> dict:
    """Read a config file, or a preset by name (``"lenet5"``), as raw nested dicts."""
    if not os.path.exists(path) and not path.endswith(".toml") and name_is_preset(path):
        path = preset_path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except FileNotFoundError:
        presets = ", ".join(preset_names())
        raise ConfigError(
            f"cannot read config {path!r}: no such file (or give a preset name: {presets})"
        ) from None
    except OSError as e:
        raise ConfigError(f"cannot read config {path!r}: {e.strerror or e}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: invalid TOML: the file is not UTF-8 text") from None
    return loads(text, path)


def name_is_preset(name: str) -> bool:
    return name in preset_names()


# ---------------------------------------------------------------------------- overrides
_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"solver.lr=0.01"`` -> (["solver", "lr"], 0.01). The value is read as a TOML value
    (numbers, true/false, [lists], "quoted strings", { tables }); anything that is not
    TOML is taken as a bare string, so ``solver.optimizer=sgd`` works unquoted."""
    key, sep, value = text.partition("=")
    key, value = key.strip(), value.strip()
    if not sep or not _KEY_RE.match(key):
        raise ConfigError(f"--set {text}: expected section.key=value, e.g. --set solver.lr=0.01")
    if not value:
        raise ConfigError(f"--set {text}: no value after '='")
    try:
        parsed = loads(f"v = {value}")["v"]
    except ConfigError:
        parsed = value
    return key.split("."), parsed


def apply_overrides(cfg: dict, overrides) -> dict:
    """A copy of ``cfg`` with each ``section.key=value`` in ``overrides`` set."""
    out = json.loads(json.dumps(cfg))  # a deep copy; configs hold only JSON-able values
    for text in overrides or ():
        path, value = parse_override(text)
        node = out
        for part in path[:-1]:
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"--set {text}: {'.'.join(path[:-1])} is a value, not a section")
            node = nxt
        node[path[-1]] = value
    return out


# ---------------------------------------------------------------------------- checking
def _unknown(where: str, name: str, known) -> ConfigError:
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    return ConfigError(f"{where}: unknown key{hint}; expected one of {', '.join(known)}")


def resolve(cfg: dict, models: dict[str, Callable] | None = None) -> dict:
    """Check a raw config and return it complete: every section and key, defaults filled in.

    ``models`` maps model names to constructors (default: ember's zoo); ``[model]`` keys
    other than ``name`` must be arguments of that constructor, of the type of its default.
    Arguments the data decides (number of classes, input channels, vocabulary size …) may
    be left out: ``ember train`` fills them from the data set.
    """
    if not isinstance(cfg, dict):
        raise ConfigError(f"expected a table of sections, received {type(cfg).__name__}")
    for section, table in cfg.items():
        if section not in SECTIONS:
            close = difflib.get_close_matches(section, SECTIONS, n=1)
            hint = f" (did you mean [{close[0]}]?)" if close else ""
            raise ConfigError(
                f"[{section}]: unknown section{hint}; expected one of {', '.join(SECTIONS)}"
            )
        if not isinstance(table, dict):
            raise ConfigError(f"{section} = {_show(table)}: expected a [{section}] table")
    out = {}
    for section, fields in SCHEMA.items():
        given = cfg.get(section, {})
        for key in given:
            if key not in fields:
                raise _unknown(f"{section}.{key}", key, fields)
        out[section] = {
            key: field.check(f"{section}.{key}", given[key]) if key in given else _copy(field.default)
            for key, field in fields.items()
        }  # fmt: skip
    data = out["data"]
    for key, names in _DATA_ONLY.items():
        if key in cfg.get("data", {}) and data["name"] not in names:
            raise ConfigError(
                f"data.{key} = {_show(data[key])}: applies only to data.name = "
                f"{' or '.join(names)}, not {data['name']!r}"
            )
    solver = out["solver"]
    for key, names in _SOLVER_ONLY.items():
        if key in cfg.get("solver", {}) and solver["optimizer"] not in names:
            raise ConfigError(
                f"solver.{key} = {_show(solver[key])}: applies only to solver.optimizer = "
                f"{' or '.join(names)}, not {solver['optimizer']!r}"
            )
    if solver["nesterov"] and solver["momentum"] == 0:
        raise ConfigError("solver.nesterov = true: needs solver.momentum > 0")
    solver["scheduler_args"] = _check_scheduler_args(solver)
    # Keys that do not apply to this data set or optimizer are left out of the result.
    for key, names in _DATA_ONLY.items():
        if data["name"] not in names:
            del data[key]
    for key, names in _SOLVER_ONLY.items():
        if solver["optimizer"] not in names:
            del solver[key]
    if data["name"] != "python_source":
        if "sample_chars" in cfg.get("run", {}):
            raise ConfigError(
                f"run.sample_chars = {_show(out['run']['sample_chars'])}: applies only to "
                f"data.name = python_source, not {data['name']!r}"
            )
        del out["run"]["sample_chars"]
    out["model"] = _check_model(cfg.get("model", {}), models)
    if not out["run"]["name"]:
        out["run"]["name"] = out["model"]["name"]
    _check_device(out["run"]["device"])
    return {s: out[s] for s in SECTIONS}


def _copy(v):
    return list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v


def _check_device(device: str):
    if not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise ConfigError(f"run.device = {_show(device)}: expected cpu, cuda or cuda:N")


def _check_model(section: dict, models) -> dict:
    if models is None:
        from ember.models import MODELS as models
    if "name" not in section:
        raise ConfigError(f"model.name: missing; expected one of {', '.join(sorted(models))}")
    name = section["name"]
    if not isinstance(name, str) or name not in models:
        raise ConfigError(
            f"model.name = {_show(name)}: expected one of {', '.join(sorted(models))}"
        )
    params = _signature_defaults(models[name])
    params.pop("vocab", None)  # a text model's vocabulary comes from the data
    out = {"name": name}
    for key, value in section.items():
        if key == "name":
            continue
        if key not in params:
            raise _unknown(f"model.{key}", key, params)
        out[key] = _check_like(f"model.{key}", value, params[key])
    return out


def _check_scheduler_args(solver: dict) -> dict:
    name, args = solver["scheduler"], solver["scheduler_args"]
    if name == "none":
        if args:
            raise ConfigError(
                f'solver.scheduler_args = {_show(args)}: solver.scheduler is "none"; '
                "choose a scheduler or leave scheduler_args out"
            )
        return args
    cls = scheduler_class(name)
    if cls is None:  # ember.optim.lr_scheduler not importable: checked when it is built
        return args
    params = _signature_defaults(cls, skip=("optimizer", "last_epoch", "verbose"))
    out = {}
    for key, value in args.items():
        if key not in params:
            raise _unknown(f"solver.scheduler_args.{key}", key, params)
        out[key] = _check_like(f"solver.scheduler_args.{key}", value, params[key])
    auto = AUTO_SCHEDULER_ARGS.get(name, ())
    for key, default in params.items():
        if isinstance(default, _Required) and key not in out and key not in auto:
            raise ConfigError(
                f"solver.scheduler_args.{key}: missing; scheduler {name!r} "
                f"({cls.__name__}) needs it, e.g. scheduler_args = {{ {key} = ... }}"
            )
    return out


_SCHEDULER_CLASSES = {
    "step": "StepLR", "multistep": "MultiStepLR", "exponential": "ExponentialLR",
    "cosine": "CosineAnnealingLR", "onecycle": "OneCycleLR", "plateau": "ReduceLROnPlateau",
}  # fmt: skip


def scheduler_class(name: str):
    """The ember.optim.lr_scheduler class behind a ``solver.scheduler`` name (or None)."""
    try:
        from ember.optim import lr_scheduler
    except ImportError:
        return None
    return getattr(lr_scheduler, _SCHEDULER_CLASSES[name], None)


_REQUIRED = object()


def _signature_defaults(fn, skip=()) -> dict:
    """{argument name: default} of a function or class's constructor; a required argument
    gets an example value of its annotated type (int, float, bool, str), else _REQUIRED."""
    sig = inspect.signature(fn)
    out = {}
    for n, p in sig.parameters.items():
        if n in skip or p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
            continue
        if p.default is not inspect.Parameter.empty:
            out[n] = p.default
        else:
            ann = (
                p.annotation
                if isinstance(p.annotation, str)
                else getattr(p.annotation, "__name__", "")
            )
            out[n] = _Required(_EXAMPLES.get(ann, _REQUIRED))
    return out


class _Required:
    """A required argument; ``like`` is a value of its type, for checking."""

    def __init__(self, like):
        self.like = like


_EXAMPLES = {"int": 0, "float": 0.0, "bool": False, "str": ""}


def _check_like(key: str, value, default):
    """Check a free-form argument against its default's type (anything goes for None or
    a required argument); an int is accepted for a float, a list for a tuple."""
    if isinstance(default, _Required):
        default = default.like
    if default is _REQUIRED or default is None:
        return value
    if isinstance(default, bool):
        ok, want = isinstance(value, bool), "true or false"
    elif isinstance(default, int):
        ok, want = isinstance(value, int) and not isinstance(value, bool), "an integer"
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        want = "a number"
        value = float(value) if ok else value
    elif isinstance(default, str):
        ok, want = isinstance(value, str), "a string"
    elif isinstance(default, (list, tuple)):
        ok, want = isinstance(value, list), "a list, e.g. [64, 32]"
    else:
        return value
    if not ok:
        raise ConfigError(f"{key} = {_show(value)}: expected {want}")
    return value


# ---------------------------------------------------------------------------- writing
def dumps(cfg: dict, header: str = "") -> str:
    """Write nested dicts as TOML: top-level tables as [sections], deeper dicts as inline
    tables; values may be str, int, float, bool, lists of them, and dicts."""
    lines = [f"# {line}" for line in header.splitlines()]
    plain = {k: v for k, v in cfg.items() if not isinstance(v, dict)}
    for k, v in plain.items():
        lines.append(f"{_key(k)} = {_value(v)}")
    for section, table in cfg.items():
        if not isinstance(table, dict):
            continue
        if lines:
            lines.append("")
        lines.append(f"[{_key(section)}]")
        for k, v in table.items():
            lines.append(f"{_key(k)} = {_value(v)}")
    return "\n".join(lines) + "\n"


def _key(k: str) -> str:
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else _string(k)


def _string(s: str) -> str:
    # JSON's escapes (\" \\ \n \t \uXXXX) are all valid in a TOML basic string.
    return json.dumps(s, ensure_ascii=False)


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"config.dumps: cannot write {type(v).__name__} {v!r} as TOML")


def _show(v) -> str:
    """A value as it would be written in the TOML file."""
    try:
        return _value(v)
    except TypeError:
        return repr(v)


def _fmt_number(x) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(x)
