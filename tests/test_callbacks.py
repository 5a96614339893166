"""Callbacks: hook order in fit, the hand-written-loop pattern, EarlyStopping,
ModelCheckpoint, learning-rate callbacks (against PyTorch's ReduceLROnPlateau), CSVLogger,
ProgressBar (terminal and not) and TensorBoard."""

import io
import os
import struct
import sys

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.train import (
    CallbackList,
    CSVLogger,
    EarlyStopping,
    LambdaCallback,
    LearningRateScheduler,
    LRSchedulerCallback,
    ModelCheckpoint,
    ProgressBar,
    TensorBoard,
    Trainer,
    load_checkpoint,
)
from ember.train.callbacks import Callback
from tests.oracle import randint


def _data(n=16, seed=0):
    g = np.random.default_rng(seed)
    x = g.standard_normal((n, 3)).astype(np.float32)
    return ember.tensor(x), ember.tensor((x[:, 0] > 0).astype(np.int64))


def _trainer(**kw):
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    return Trainer(model, opt, "cross_entropy", **kw)


class Recorder(Callback):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __getattribute__(self, name):
        if name.startswith("on_"):
            calls = object.__getattribute__(self, "calls")
            return lambda *a, **k: calls.append(name)
        return object.__getattribute__(self, name)


def test_hook_order_in_fit_evaluate_predict():
    rec = Recorder()
    trainer = _trainer(callbacks=[rec])
    x, y = _data(8)
    trainer.fit((x, y), epochs=2, batch_size=4, validation_data=(x[:4], y[:4]), verbose=0)
    epoch = ["on_epoch_begin"] + ["on_train_batch_begin", "on_train_batch_end"] * 2 + [
        "on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end",
        "on_epoch_end",
    ]  # fmt: skip
    assert rec.calls == ["on_train_begin", *epoch, *epoch, "on_train_end"]
    assert rec.model is trainer.model and rec.trainer is trainer
    assert rec.params["epochs"] == 2 and rec.params["steps"] == 2
    rec.calls.clear()
    trainer.evaluate((x, y), callbacks=[rec])
    assert rec.calls == ["on_test_begin", "on_test_batch_begin", "on_test_batch_end", "on_test_end"]
    rec.calls.clear()
    trainer.predict(x, batch_size=8, callbacks=[rec])
    assert rec.calls == ["on_predict_begin", "on_predict_batch_begin", "on_predict_batch_end",
                         "on_predict_end"]  # fmt: skip


def test_batch_and_epoch_logs():
    seen = {}

    def batch_end(batch, logs):
        seen.setdefault("batch", []).append(dict(logs))

    def epoch_end(epoch, logs):
        seen.setdefault("epoch", []).append(dict(logs))

    trainer = _trainer(metrics=["accuracy"], callbacks=[LambdaCallback(
        on_train_batch_end=batch_end, on_epoch_end=epoch_end)])  # fmt: skip
    x, y = _data(10)
    trainer.fit((x, y), epochs=1, batch_size=4, validation_data=(x, y), verbose=0)
    b = seen["batch"]
    assert [d["batch"] for d in b] == [0, 1, 2] and [d["size"] for d in b] == [4, 4, 2]
    assert all(isinstance(d["loss"], ember.Tensor) and d["loss"].ndim == 0 for d in b)
    (e,) = seen["epoch"]
    assert set(e) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    weighted = sum(float(d["loss"]) * d["size"] for d in b) / 10
    assert e["loss"] == pytest.approx(weighted)
    with pytest.raises(ValueError, match="unknown hook"):
        LambdaCallback(on_batch_end=print)


def test_hand_written_loop_with_callback_list(tmp_path):
    ember.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    stop = EarlyStopping(monitor="val_loss", patience=1)
    csv_path = tmp_path / "log.csv"
    # in order: LearningRateScheduler adds 'lr' to the logs that CSVLogger then writes
    cbs = CallbackList([LearningRateScheduler(lambda e, lr: lr / 2), stop, CSVLogger(csv_path)],
                       model=model, optimizer=opt, epochs=10)  # fmt: skip
    assert stop.trainer is cbs and stop.model is model
    val_losses = [1.0, 0.8, 0.9, 0.95, 0.7]
    cbs.on_train_begin()
    ran = []
    for epoch in range(10):
        cbs.on_epoch_begin(epoch)
        for i in range(2):
            cbs.on_train_batch_begin(i)
            cbs.on_train_batch_end(i, {"loss": ember.tensor(0.5), "size": 4})
        logs = {"loss": 0.5, "val_loss": val_losses[epoch]}
        cbs.on_epoch_end(epoch, logs)
        ran.append(epoch)
        if cbs.stop_training:
            break
    cbs.on_train_end()
    assert ran == [0, 1, 2]  # epoch 2 does not improve on epoch 1, patience 1
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 / 8)
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "epoch,loss,lr,val_loss" and len(rows) == 4
    assert rows[3] == "2,0.5,0.0125,0.9"


def _run_es(values, **kw):
    model = nn.Linear(2, 1)
    es = EarlyStopping(**kw)
    cbs = CallbackList([es], model=model)
    cbs.on_train_begin()
    stopped = None
    for epoch, v in enumerate(values):
        with ember.no_grad():
            model.weight.fill_(float(epoch))  # the weights record the epoch
        cbs.on_epoch_end(epoch, {"val_loss": v, "val_accuracy": -v})
        if cbs.stop_training:
            stopped = epoch
            break
    cbs.on_train_end()
    return es, stopped, model.weight.detach().numpy()[0, 0]


def test_early_stopping_rules():
    # patience: the number of epochs without improvement before stopping
    assert _run_es([3, 2, 2.5, 2.4, 2.6], patience=2)[1] == 3
    assert _run_es([3, 2, 2.5, 2.4, 2.6], patience=3)[1] == 4
    # min_delta: 1.95 is not better than 2 by 0.1
    assert _run_es([3, 2, 1.95, 1.96], patience=2, min_delta=0.1)[1] == 3
    # mode 'max' (auto for accuracies)
    es, stopped, _ = _run_es([3, 2, 2.5, 2.6], monitor="val_accuracy", patience=1)
    assert es.mode == "max" and stopped == 2 and es.best == -2
    # baseline: no improvement over it within patience stops training
    assert _run_es([3, 2.9, 2.95, 2.95], patience=2)[1] == 3
    assert _run_es([3, 2.9, 2.95, 2.95], patience=2, baseline=1.0)[1] == 2
    # start_from_epoch: no watching during the warm-up
    assert _run_es([1, 2, 3, 4, 5], patience=1, start_from_epoch=3)[1] == 4


@pytest.mark.parametrize("values,expect_stop", [([3, 1, 2, 2.5], 3), ([3, 1, 2, 2.5], None)])
def test_early_stopping_restores_best_weights(values, expect_stop):
    patience = 2 if expect_stop else 5
    es, stopped, w = _run_es(values, patience=patience, restore_best_weights=True)
    assert stopped == expect_stop
    assert es.best_epoch == 1 and w == 1.0  # restored, also when training ran to the end


def test_early_stopping_in_fit_restores_weights():
    trainer = _trainer(callbacks=[EarlyStopping(monitor="loss", patience=0, restore_best_weights=True,
                                                mode="max")])  # fmt: skip
    x, y = _data()
    snapshots = []
    trainer.callbacks.append(LambdaCallback(
        on_epoch_end=lambda e, logs: snapshots.append(trainer.model[0].weight.detach().numpy().copy())))  # fmt: skip
    h = trainer.fit((x, y), epochs=5, batch_size=4, verbose=0)
    # the loss goes down, so in 'max' mode epoch 0 is the best and epoch 1 stops training
    assert h.epoch == [0, 1]
    np.testing.assert_array_equal(trainer.model[0].weight.detach().numpy(), snapshots[0])


def test_model_checkpoint(tmp_path):
    pattern = str(tmp_path / "sub" / "m-{epoch:02d}-{val_loss:.3f}.safetensors")
    weights = ModelCheckpoint(pattern, save_weights_only=True)
    best = ModelCheckpoint(str(tmp_path / "best.safetensors"), monitor="val_accuracy",
                           save_best_only=True)  # fmt: skip
    trainer = _trainer(metrics=["accuracy"], callbacks=[weights, best])
    x, y = _data()
    h = trainer.fit((x, y), epochs=3, batch_size=4, validation_data=(x, y), verbose=0)
    names = sorted(os.listdir(tmp_path / "sub"))
    expected = [f"m-{e + 1:02d}-{v:.3f}.safetensors" for e, v in enumerate(h.history["val_loss"])]
    assert names == expected
    state = ember.load(str(tmp_path / "sub" / names[-1]))
    for k, v in trainer.model.state_dict().items():
        np.testing.assert_array_equal(state[k].numpy(), v.numpy())
    # the best file is a full checkpoint that restores the model and optimizer
    ckpt = load_checkpoint(str(tmp_path / "best.safetensors"))
    assert ckpt["optimizer"] is not None and ckpt["trainer"]["epoch"] >= 1
    assert best.best == max(h.history["val_accuracy"])
    with pytest.raises(KeyError, match="not in the epoch logs"):
        ModelCheckpoint(str(tmp_path / "{nope}.st")).on_epoch_end(0, {"loss": 1.0})


def test_model_checkpoint_in_a_hand_written_loop(tmp_path):
    model = nn.Linear(2, 2)
    opt = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    cbs = CallbackList([ModelCheckpoint(str(tmp_path / "c{epoch}.safetensors"))], model=model,
                       optimizer=opt)  # fmt: skip
    cbs.on_epoch_end(0, {"val_loss": 1.0})
    info = load_checkpoint(str(tmp_path / "c1.safetensors"), nn.Linear(2, 2))
    assert info["epoch"] == 1


def test_lr_scheduler_callback_reduce_on_plateau_matches_torch():
    values = [1.0, 0.9, 0.95, 0.96, 0.97, 0.5, 0.6, 0.7, 0.8]
    tparam = torch.nn.Parameter(torch.zeros(1))
    topt = torch.optim.SGD([tparam], lr=1.0)
    tsched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, patience=1, factor=0.5)
    model = nn.Linear(1, 1)
    eopt = ember.optim.SGD(model.parameters(), lr=1.0)
    cb = LRSchedulerCallback(
        ember.optim.lr_scheduler.ReduceLROnPlateau(eopt, patience=1, factor=0.5)
    )
    cbs = CallbackList([cb], model=model, optimizer=eopt)
    for epoch, v in enumerate(values):
        tsched.step(v)
        cbs.on_epoch_end(epoch, {"val_loss": v})
        assert eopt.param_groups[0]["lr"] == topt.param_groups[0]["lr"], epoch
    with pytest.raises(KeyError, match="needs 'val_loss'"):
        cbs.on_epoch_end(10, {"loss": 1.0})
    with pytest.raises(ValueError, match="once per epoch"):
        LRSchedulerCallback(cb.scheduler, interval="step")


def test_lr_scheduler_callback_per_step():
    model = nn.Linear(1, 1)
    opt = ember.optim.SGD(model.parameters(), lr=1.0)
    cb = LRSchedulerCallback(ember.optim.lr_scheduler.StepLR(opt, 2, gamma=0.1), interval="step")
    for i in range(4):
        opt.step()
        cb.on_train_batch_end(i)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)


def test_learning_rate_scheduler_in_fit():
    trainer = _trainer(callbacks=[LearningRateScheduler(lambda epoch: 0.1 * (epoch + 1))])
    x, y = _data()
    h = trainer.fit((x, y), epochs=3, batch_size=8, verbose=0)
    assert h.history["lr"] == pytest.approx([0.1, 0.2, 0.3])
    with pytest.raises(TypeError, match="schedule"):
        LearningRateScheduler(0.1)


def test_csv_logger_append_and_missing_values(tmp_path):
    path = tmp_path / "log.tsv"
    trainer = _trainer()
    x, y = _data()
    trainer.fit((x, y), epochs=2, batch_size=8, validation_data=(x, y), validation_freq=2,
                callbacks=[CSVLogger(path, separator="\t")], verbose=0)  # fmt: skip
    rows = [r.split("\t") for r in path.read_text().splitlines()]
    assert rows[0] == ["epoch", "loss", "lr"]  # the keys of the first epoch
    assert [r[0] for r in rows[1:]] == ["0", "1"]
    trainer.fit((x, y), epochs=1, batch_size=8, callbacks=[CSVLogger(path, "\t", append=True)],
                verbose=0)  # fmt: skip
    rows = path.read_text().splitlines()
    assert len(rows) == 4 and rows.count(rows[0]) == 1  # one header
    logger = CSVLogger(tmp_path / "na.csv")
    logger.on_train_begin()
    logger.on_epoch_end(0, {"loss": 1.0, "val_loss": 2.0})
    logger.on_epoch_end(1, {"loss": 0.5})
    logger.on_train_end()
    assert (tmp_path / "na.csv").read_text().splitlines()[2] == "1,0.5,NA"


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_not_a_terminal_writes_one_line_per_epoch():
    out = io.StringIO()
    trainer = _trainer(metrics=["accuracy"], callbacks=[ProgressBar(stream=out)])
    x, y = _data(32)
    trainer.fit((x, y), epochs=3, batch_size=4, validation_data=(x, y), verbose=0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in out.getvalue()
    assert lines[0].startswith("Epoch 1/3 8/8 [")
    assert "samples/s" in lines[0] and "- loss: " in lines[0] and "val_accuracy" in lines[0]


def test_progress_bar_on_a_terminal_redraws_throttled(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr("ember.train.callbacks.time.monotonic", lambda: clock[0])
    out = FakeTTY()
    bar = ProgressBar(stream=out, interval=0.1)
    cbs = CallbackList([bar], epochs=1, steps=10)
    cbs.on_train_begin()
    cbs.on_epoch_begin(0)
    for i in range(10):
        clock[0] += 0.04  # a redraw every third batch at most
        cbs.on_train_batch_end(i, {"batch": i, "size": 8, "loss": ember.tensor(1.0 / (i + 1))})
    cbs.on_epoch_end(0, {"loss": 0.3})
    text = out.getvalue()
    draws = text.split("\r")[1:]
    assert len(draws) == 4 + 1  # batches 0, 3, 6, 9 and the final line
    assert "ETA" in draws[1] and "samples/s" in draws[1]
    assert text.endswith("\n") and text.count("\n") == 1
    assert "10/10" in draws[-1] and "ETA" not in draws[-1]


def test_progress_bar_batches_per_second_without_sizes():
    out = io.StringIO()
    cbs = CallbackList([ProgressBar(stream=out)], epochs=1)
    cbs.on_epoch_begin(0)
    for i in range(3):
        cbs.on_train_batch_end(i, {})
    cbs.on_epoch_end(0, {"loss": 1.0})
    assert "batches/s" in out.getvalue() and "3 batches" in out.getvalue()


def test_fit_verbose_prints(capsys):
    trainer = _trainer()
    x, y = _data()
    trainer.fit((x, y), epochs=2, batch_size=8, verbose=2)
    assert len(capsys.readouterr().out.splitlines()) == 2
    trainer.fit((x, y), epochs=2, batch_size=8, verbose=0)
    assert capsys.readouterr().out == ""


def _read_events(folder):
    from tensorboardX.proto import event_pb2

    scalars = {}
    for name in os.listdir(folder):
        data = open(os.path.join(folder, name), "rb").read()  # noqa: SIM115
        pos = 0
        while pos < len(data):
            (n,) = struct.unpack("<Q", data[pos : pos + 8])
            event = event_pb2.Event.FromString(data[pos + 12 : pos + 12 + n])
            pos += 12 + n + 4
            for v in event.summary.value:
                scalars.setdefault(v.tag, []).append((event.step, v.simple_value))
    return scalars


def test_tensorboard_writes_event_files(tmp_path):
    trainer = _trainer(callbacks=[TensorBoard(str(tmp_path), update_freq=2)])
    x, y = _data()
    h = trainer.fit((x, y), epochs=2, batch_size=4, validation_data=(x, y), verbose=0)
    events = _read_events(tmp_path)
    assert [s for s, _ in events["train/loss"]] == [0, 1]
    np.testing.assert_allclose([v for _, v in events["val/loss"]], h.history["val_loss"], rtol=1e-6)
    assert [v for _, v in events["lr"]] == pytest.approx([0.1, 0.1])
    assert [s for s, _ in events["batch/loss"]] == [2, 4, 6, 8]


def test_tensorboard_without_tensorboardx(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"pip install ember\[tensorboard\]"):
        TensorBoard("logs")


def test_callback_errors():
    with pytest.raises(TypeError, match="expected Callback objects"):
        CallbackList([print])
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="mode"):
        EarlyStopping(mode="up")
    cbs = CallbackList([LearningRateScheduler(lambda e, lr: lr)], model=nn.Linear(1, 1))
    with pytest.raises(RuntimeError, match="no optimizer"):
        cbs.on_epoch_begin(0)
    with pytest.warns(UserWarning, match="not in the logs"):
        CallbackList([EarlyStopping()], model=nn.Linear(1, 1)).on_epoch_end(0, {"loss": 1.0})
    assert randint  # the oracle's helpers are in use in this suite
