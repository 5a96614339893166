"""Resumable checkpoints: a run stopped at step 50 and resumed reaches bit for bit the weights
of an uninterrupted run at step 100; a crash while saving leaves the previous checkpoint
intact; corrupt files give errors naming them; PyTorch weights load into ember models."""

import os
import random

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import ember
from ember import nn
from ember.data import DataLoader, TensorDataset
from ember.io import SafetensorsError
from ember.train import Callback, Trainer, load_checkpoint, load_weights, save_checkpoint
from ember.train.checkpoint import get_rng_states, set_rng_states
from tests.oracle import rand


def _data(n=60, seed=0):
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, 4)).astype(np.float32)
    return ember.tensor(x), ember.tensor(g.integers(0, 3, n))


CONFIGS = {
    "sgd-momentum-steplr": {"opt": lambda p: ember.optim.SGD(p, lr=0.05, momentum=0.9),
                                "sched": lambda o: ember.optim.lr_scheduler.StepLR(o, 3, 0.5)},
    "adam-onecycle-per-step-accum": {
        "opt": lambda p: ember.optim.Adam(p, lr=0.01),
        "sched": lambda o: ember.optim.lr_scheduler.OneCycleLR(o, max_lr=0.02, total_steps=120),
        "interval": "step", "accum": 2},
    "adamw-float16-scaler": {"opt": lambda p: ember.optim.AdamW(p, lr=0.01), "sched": None,
                                 "mp": "float16"},
}  # fmt: skip


def _setup(cfg, seed):
    ember.manual_seed(seed)  # a different initialisation each time: the checkpoint decides
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.3), nn.Linear(16, 3))
    opt = cfg["opt"](model.parameters())
    sched = cfg["sched"](opt) if cfg["sched"] else None
    trainer = Trainer(model, opt, "cross_entropy", metrics=["accuracy"], scheduler=sched,
                      scheduler_interval=cfg.get("interval", "epoch"),
                      grad_accum_steps=cfg.get("accum", 1), mixed_precision=cfg.get("mp"))  # fmt: skip
    return model, trainer


class CrashAt(Callback):
    def __init__(self, step):
        super().__init__()
        self.step = step

    def on_train_batch_end(self, batch, logs=None):
        if self.trainer.global_step == self.step:
            raise KeyboardInterrupt("simulated crash")


def _weights(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("tensors", [False, True], ids=["dataloader", "tensors"])
@pytest.mark.parametrize("name", list(CONFIGS))
def test_resume_is_bitwise_identical(name, tensors, tmp_path):
    cfg = CONFIGS[name]
    x, y = _data()

    def data():
        if tensors:
            return (x, y)
        return DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True)

    kw = {"batch_size": 8} if tensors else {}
    # 60 samples in batches of 8: 8 batches an epoch, so step 50 is inside an epoch
    model, trainer = _setup(cfg, 0)
    ember.manual_seed(123)
    full = trainer.fit(data(), epochs=100, max_steps=100, verbose=0, **kw)
    expected = _weights(model)

    model, trainer = _setup(cfg, 0)
    ember.manual_seed(123)
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(data(), epochs=100, max_steps=100, verbose=0, checkpoint_dir=tmp_path,
                    checkpoint_every=10, keep_checkpoints=2, callbacks=[CrashAt(50)], **kw)  # fmt: skip
    assert sorted(os.listdir(tmp_path)) == [
        "step-00000040.safetensors",
        "step-00000050.safetensors",
    ]

    model, trainer = _setup(cfg, 7)  # another initialisation and RNG state
    ember.manual_seed(999)
    resumed = trainer.fit(data(), epochs=100, max_steps=100, verbose=0, resume_from=tmp_path, **kw)
    assert trainer.global_step == 100
    got = _weights(model)
    for k in expected:
        np.testing.assert_array_equal(got[k], expected[k], err_msg=k)
    assert resumed.history == full.history and resumed.epoch == full.epoch


def test_resume_from_an_epoch_end_checkpoint(tmp_path):
    cfg = CONFIGS["sgd-momentum-steplr"]
    x, y = _data(32)
    model, trainer = _setup(cfg, 0)
    ember.manual_seed(5)
    trainer.fit((x, y), epochs=4, batch_size=8, verbose=0)
    expected = _weights(model)
    model, trainer = _setup(cfg, 0)
    ember.manual_seed(5)
    trainer.fit((x, y), epochs=2, batch_size=8, verbose=0, checkpoint_dir=tmp_path)
    path = Trainer.latest_checkpoint(tmp_path)
    assert path.endswith("step-00000008.safetensors")
    model, trainer = _setup(cfg, 1)
    h = trainer.fit((x, y), epochs=4, batch_size=8, verbose=0, resume_from=path)
    assert h.epoch == [0, 1, 2, 3]
    for k, v in _weights(model).items():
        np.testing.assert_array_equal(v, expected[k])


def test_crash_while_saving_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = nn.Linear(3, 2)
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    path = str(tmp_path / "ckpt.safetensors")
    save_checkpoint(path, model, opt, epoch=1, step=10)
    before = open(path, "rb").read()  # noqa: SIM115
    with ember.no_grad():
        model.weight.add_(1.0)

    import ember.io.serialization as ser

    real_write = ser._write

    def failing_write(fh, header, arrays):
        real_write(fh, header, arrays[:1])  # part of the data, then the machine "dies"
        raise OSError("disk full")

    monkeypatch.setattr(ser, "_write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, model, opt, epoch=2, step=20)
    assert open(path, "rb").read() == before  # noqa: SIM115
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # no temporary file left behind
    fresh = nn.Linear(3, 2)
    info = load_checkpoint(path, fresh, ember.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9))
    assert info["epoch"] == 1 and info["step"] == 10
    np.testing.assert_array_equal(fresh.weight.detach().numpy() + 1, model.weight.detach().numpy())


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_checkpoint_names_the_file(tmp_path, damage):
    model = nn.Linear(3, 2)
    path = str(tmp_path / "run-ckpt.safetensors")
    save_checkpoint(path, model, ember.optim.SGD(model.parameters(), lr=0.1))
    data = open(path, "rb").read()  # noqa: SIM115
    with open(path, "wb") as fh:
        if damage == "truncate":
            fh.write(data[: len(data) - 7])
        elif damage == "garbage":
            fh.write(data[:8] + b"#" * 40 + data[48:])
    with pytest.raises(SafetensorsError) as info:
        load_checkpoint(path, model)
    assert path in str(info.value) and "corrupt" in str(info.value)
    with pytest.raises(SafetensorsError, match="cannot read the checkpoint"):
        load_weights(model, path)


def test_not_a_checkpoint_and_missing_states(tmp_path):
    model = nn.Linear(3, 2)
    weights = str(tmp_path / "w.safetensors")
    ember.save(dict(model.state_dict()), weights)
    with pytest.raises(ValueError, match="not an ember training checkpoint"):
        load_checkpoint(weights, model)
    ckpt = str(tmp_path / "c.safetensors")
    save_checkpoint(ckpt, model)
    with pytest.raises(ValueError, match="holds no optimizer state"):
        load_checkpoint(ckpt, model, ember.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(FileNotFoundError):
        load_checkpoint(str(tmp_path / "nope.safetensors"), model)
    with pytest.raises(FileNotFoundError, match="holds no step"):
        Trainer(model, ember.optim.SGD(model.parameters(), lr=0.1), "mse").fit(
            [(ember.randn(2, 3), ember.randn(2, 2))], resume_from=tmp_path, verbose=0)  # fmt: skip


def test_rng_states_round_trip(tmp_path):
    ember.manual_seed(1)
    np.random.seed(2)
    random.seed(3)
    np.random.standard_normal()  # a cached gaussian in NumPy's legacy state
    path = str(tmp_path / "c.safetensors")
    model = nn.Linear(2, 2)
    save_checkpoint(path, model, extra={"note": "hi", "counts": {1: 2, 3: [4.5, None]}})
    expect = (
        ember.rand(4).numpy(),
        np.random.standard_normal(3),
        [random.random() for _ in range(3)],
    )
    ember.manual_seed(0)
    np.random.seed(0)
    random.seed(0)
    info = load_checkpoint(path, model)
    got = (ember.rand(4).numpy(), np.random.standard_normal(3), [random.random() for _ in range(3)])
    np.testing.assert_array_equal(got[0], expect[0])
    np.testing.assert_array_equal(got[1], expect[1])
    assert got[2] == expect[2]
    assert info["extra"] == {"note": "hi", "counts": {1: 2, 3: [4.5, None]}}
    states = get_rng_states()
    a = ember.rand(2).numpy()
    set_rng_states(states)
    np.testing.assert_array_equal(a, ember.rand(2).numpy())


class TorchCNN(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
        )  # fmt: skip
        self.classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 5))

    def forward(self, x):
        return self.classifier(self.features(x))


class EmberCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                      nn.MaxPool2d(2))  # fmt: skip
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(4 * 4 * 4, 5))

    def forward(self, x):
        return self.classifier(self.features(x))


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_pytorch_weights_load_directly(kind, tmp_path):
    torch.manual_seed(0)
    if kind == "mlp":
        tm = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.GELU(), torch.nn.Linear(8, 3))
        em = nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3))
        x = rand(4, 6).astype(np.float32)
    else:
        tm, em = TorchCNN(), EmberCNN()
        tm.train()
        tm(torch.randn(8, 1, 8, 8))  # running statistics that are not the defaults
        x = rand(2, 1, 8, 8).astype(np.float32)
    tm.eval()
    em.eval()
    path = str(tmp_path / "torch.safetensors")
    save_file({k: v.contiguous() for k, v in tm.state_dict().items()}, path)
    assert list(em.state_dict()) == list(tm.state_dict())
    em.load_state_dict(ember.load(path))
    with torch.no_grad():
        expected = tm(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(em(ember.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    fresh = (
        EmberCNN() if kind == "cnn" else nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3))
    )
    fresh.eval()
    load_weights(fresh, path)
    np.testing.assert_allclose(
        fresh(ember.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6
    )
    # and from an ember checkpoint
    ckpt = str(tmp_path / "ember.safetensors")
    save_checkpoint(ckpt, em)
    again = (
        EmberCNN() if kind == "cnn" else nn.Sequential(nn.Linear(6, 8), nn.GELU(), nn.Linear(8, 3))
    )
    again.eval()
    load_weights(again, ckpt)
    np.testing.assert_allclose(
        again(ember.tensor(x)).detach().numpy(), expected, rtol=1e-5, atol=1e-6
    )
