"""Training configs: loading, defaults, validation messages, --set overrides, the TOML writer."""

import math
import sys

import pytest

from ember import config
from ember.config import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def _resolve(text: str) -> dict:
    return config.resolve(config.loads(text))


MINIMAL = '[model]\nname = "mlp"\n'


def test_defaults_fill_every_section():
    cfg = _resolve(MINIMAL)
    assert list(cfg) == ["model", "data", "solver", "run"]
    assert cfg["model"] == {"name": "mlp"}
    assert cfg["data"]["name"] == "digits" and cfg["data"]["batch_size"] == 64
    assert cfg["solver"]["optimizer"] == "adam" and cfg["solver"]["lr"] == 1e-3
    assert cfg["solver"]["betas"] == [0.9, 0.999]
    assert cfg["run"]["name"] == "mlp"  # defaults to the model's name
    # Keys of other data sets and optimizers are left out.
    assert "seq_len" not in cfg["data"] and "root" not in cfg["data"]
    assert "momentum" not in cfg["solver"] and "nesterov" not in cfg["solver"]


def test_ints_become_floats_and_keys_that_apply_are_kept():
    cfg = _resolve(
        MINIMAL + '[solver]\noptimizer = "sgd"\nlr = 1\nmomentum = 0.9\n'
        '[data]\nname = "python_source"\nseq_len = 32\n'
    )
    assert cfg["solver"]["lr"] == 1.0 and isinstance(cfg["solver"]["lr"], float)
    assert cfg["solver"]["momentum"] == 0.9 and "betas" not in cfg["solver"]
    assert cfg["data"]["seq_len"] == 32 and "transforms" not in cfg["data"]


ERRORS = [
    ('[solver]\noptimizer = "sgdd"',
     'solver.optimizer = "sgdd": expected one of adam, adamw, adagrad, rmsprop, sgd'),
    ("[solver]\nlr = 0", "solver.lr = 0: expected a number > 0"),
    ("[solver]\nlr = -0.1", "solver.lr = -0.1: expected a number > 0"),
    ('[solver]\nlr = "fast"', 'solver.lr = "fast": expected a number > 0'),
    ("[solver]\nepochs = 2.5", "solver.epochs = 2.5: expected an integer >= 1"),
    ("[solver]\nepochs = true", "solver.epochs = true: expected an integer >= 1"),
    ("[solver]\nepochs = 0", "solver.epochs = 0: expected an integer >= 1"),
    ('[solver]\noptimizer = "sgd"\nmomentum = 1.5',
     "solver.momentum = 1.5: expected a number in [0, 1)"),
    ("[solver]\nbetas = [0.9]", "solver.betas = [0.9]: expected a list of 2 numbers in [0, 1)"),
    ("[data]\nval_split = 1.0", "data.val_split = 1.0: expected a number in [0, 1)"),
    ('[data]\ntransforms = ["flip"]',
     'data.transforms = ["flip"]: "flip" is not allowed; expected a list of strings from '
     + "random_crop, random_hflip"),
    ('[data]\nname = "imagenet"',
     'data.name = "imagenet": expected one of digits, mnist, fashion_mnist, cifar10, '
     + "python_source"),
    ("[solver]\nlrr = 0.1", "solver.lrr: unknown key (did you mean lr?); expected one of"),
    ("[solverr]\nlr = 0.1",
     "[solverr]: unknown section (did you mean [solver]?); expected one of model, data, "
     + "solver, run"),
    ("[run]\nseed = -1", "run.seed = -1: expected an integer in [0, "),
    ('[run]\ndevice = "gpu"', 'run.device = "gpu": expected cpu, cuda or cuda:N'),
    ("[run]\nsample_chars = 10",
     "run.sample_chars = 10: applies only to data.name = python_source, not 'digits'"),
    ("[data]\nseq_len = 64",
     "data.seq_len = 64: applies only to data.name = python_source, not 'digits'"),
    ("[solver]\nmomentum = 0.9",
     "solver.momentum = 0.9: applies only to solver.optimizer = sgd or rmsprop, not 'adam'"),
    ('[solver]\noptimizer = "sgd"\nnesterov = true',
     "solver.nesterov = true: needs solver.momentum > 0"),
    ('[solver]\nmixed_precision = true',
     "solver.mixed_precision = true: expected one of none, bfloat16, float16"),
    ("solver = 3", "model.solver: unknown key; expected one of dropout, hidden, "),
]  # fmt: skip


@pytest.mark.parametrize("text,message", ERRORS)
def test_validation_errors_name_key_value_and_what_is_allowed(text, message):
    with pytest.raises(ConfigError) as e:
        _resolve(MINIMAL + text)
    assert message in str(e.value)


@pytest.mark.parametrize(
    "model,message",
    [
        ("", "model.name: missing; expected one of char_lstm, gpt, lenet5, mlp"),
        ('name = "resnet50"', 'model.name = "resnet50": expected one of char_lstm'),
        ('name = "mlp"\nhiden = [3]',
         "model.hiden: unknown key (did you mean hidden?); expected one of dropout, hidden, "
         + "in_features, num_classes"),
        ('name = "mlp"\ndropout = "high"', 'model.dropout = "high": expected a number'),
        ('name = "mlp"\nhidden = 64', "model.hidden = 64: expected a list, e.g. [64, 32]"),
        ('name = "lenet5"\ninput_size = 28.5', "model.input_size = 28.5: expected an integer"),
        ('name = "resnet18"\nstem = 1', 'model.stem = 1: expected a string'),
        ('name = "gpt"\nvocab = "ab"', "model.vocab: unknown key (did you mean vocab_size?); expected one of block_size,"),
    ],
)  # fmt: skip
def test_model_section_is_checked_against_the_constructor(model, message):
    with pytest.raises(ConfigError) as e:
        _resolve(f"[model]\n{model}\n")
    assert message in str(e.value)


def test_a_section_must_be_a_table():
    with pytest.raises(ConfigError, match=r"solver = 3: expected a \[solver\] table"):
        _resolve("solver = 3\n" + MINIMAL)


def test_model_arguments_pass_through():
    cfg = _resolve('[model]\nname = "resnet18"\nstem = "cifar"\nzero_init_residual = true\n')
    assert cfg["model"] == {"name": "resnet18", "stem": "cifar", "zero_init_residual": True}


def test_scheduler_args_are_checked():
    base = MINIMAL + "[solver]\n"
    cfg = _resolve(base + 'scheduler = "step"\nscheduler_args = { step_size = 3, gamma = 1 }')
    assert cfg["solver"]["scheduler_args"] == {"step_size": 3, "gamma": 1.0}
    assert _resolve(base + 'scheduler = "cosine"')["solver"]["scheduler_args"] == {}
    with pytest.raises(ConfigError, match=r"solver.scheduler_args.step_size: missing; scheduler "
                                          r"'step' \(StepLR\) needs it"):  # fmt: skip
        _resolve(base + 'scheduler = "step"')
    with pytest.raises(ConfigError, match="solver.scheduler_args.stepsize: unknown key"):
        _resolve(base + 'scheduler = "step"\nscheduler_args = { stepsize = 3 }')
    with pytest.raises(ConfigError, match='solver.scheduler_args.gamma = "x": expected a number'):
        _resolve(base + 'scheduler = "exponential"\nscheduler_args = { gamma = "x" }')
    with pytest.raises(ConfigError, match='solver.scheduler is "none"'):
        _resolve(base + "scheduler_args = { gamma = 0.5 }")


def test_invalid_toml_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[solver]\nlr = \n")
    with pytest.raises(ConfigError, match=r"bad.toml: invalid TOML: .*line 2"):
        config.load(str(path))


def test_missing_file_lists_presets(tmp_path):
    with pytest.raises(ConfigError, match=r"no such file \(or give a preset name: char_lstm, "):
        config.load(str(tmp_path / "nope.toml"))


def test_presets_load_by_name():
    assert config.load("lenet5")["model"]["name"] == "lenet5"


# ---------------------------------------------------------------------------- --set
@pytest.mark.parametrize(
    "text,key,value",
    [
        ("solver.lr=0.01", ["solver", "lr"], 0.01),
        ("solver.epochs=3", ["solver", "epochs"], 3),
        ("solver.lr=1e-3", ["solver", "lr"], 1e-3),
        ("data.shuffle=false", ["data", "shuffle"], False),
        ("solver.optimizer=sgd", ["solver", "optimizer"], "sgd"),
        ('run.name="my run"', ["run", "name"], "my run"),
        ("run.name=my run", ["run", "name"], "my run"),
        ("model.hidden=[64, 32]", ["model", "hidden"], [64, 32]),
        ("solver.betas=[0.9,0.95]", ["solver", "betas"], [0.9, 0.95]),
        ("solver.scheduler_args={ step_size = 2 }", ["solver", "scheduler_args"], {"step_size": 2}),
        ("solver.scheduler_args.gamma=0.5", ["solver", "scheduler_args", "gamma"], 0.5),
    ],
)
def test_parse_override_types(text, key, value):
    k, v = config.parse_override(text)
    assert k == key and v == value and type(v) is type(value)


@pytest.mark.parametrize("text", ["solver.lr", "lr=3", "=3", "solver.=3", "solver.lr="])
def test_parse_override_errors(text):
    with pytest.raises(ConfigError, match=r"--set "):
        config.parse_override(text)


def test_overrides_apply_then_validate():
    raw = config.loads(MINIMAL + "[solver]\nlr = 0.1\n")
    out = config.apply_overrides(raw, ["solver.lr=0.5", "solver.optimizer=sgd",
                                       "solver.momentum=0.9", "model.hidden=[8]"])  # fmt: skip
    assert raw["solver"]["lr"] == 0.1  # the input is not changed
    cfg = config.resolve(out)
    assert cfg["solver"]["lr"] == 0.5 and cfg["solver"]["optimizer"] == "sgd"
    assert cfg["model"]["hidden"] == [8]
    with pytest.raises(ConfigError, match='solver.optimizer = "sgdd": expected one of'):
        config.resolve(config.apply_overrides(raw, ["solver.optimizer=sgdd"]))
    with pytest.raises(ConfigError, match="solver.lr is a value, not a section"):
        config.apply_overrides(raw, ["solver.lr.x=1"])


# ---------------------------------------------------------------------------- writing
def test_dumps_round_trips_through_tomllib():
    cfg = {
        "model": {"name": "gpt", "hidden": [64, 32], "vocab": 'a"b\\c\n\té'},
        "solver": {"lr": 1e-5, "big": 1e300, "inf": math.inf, "flag": True, "n": -3,
                   "scheduler_args": {"step_size": 2, "gamma": 0.5}, "empty": {}},
        "run": {"odd key": "x", "zero": 0.0},
    }  # fmt: skip
    text = config.dumps(cfg, header="written by a test\nsecond line")
    assert text.startswith("# written by a test\n# second line\n")
    assert tomllib.loads(text) == cfg


def test_resolved_presets_round_trip():
    for name in config.preset_names():
        cfg = config.resolve(config.load(name))
        again = config.resolve(tomllib.loads(config.dumps(cfg)))
        assert again == cfg, name


def test_dumps_rejects_what_toml_cannot_hold():
    with pytest.raises(TypeError, match="cannot write NoneType"):
        config.dumps({"run": {"x": None}})
