"""Trainer: fit/evaluate/predict against a hand-written PyTorch loop (same weights, same
trajectory), gradient accumulation, clipping, schedulers, mixed precision, modes, metrics,
data forms and errors."""

import warnings

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.data import DataLoader, TensorDataset
from ember.train import Accuracy, Callback, Mean, MeanMetric, TopKAccuracy, Trainer
from ember.train.metrics import get_metric
from tests.oracle import rand, randint

F = nn.functional


def _twins(dtype=torch.float64):
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).to(
        dtype
    )
    em = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3)).to(
        ember.float64 if dtype == torch.float64 else ember.float32
    )
    em.load_state_dict(tm.state_dict())
    return tm, em


def _batches(n_batches=6, bs=4, seed=0):
    g = np.random.default_rng(seed)
    sizes = [bs] * (n_batches - 1) + [bs - 1]  # a smaller last batch
    return [(g.standard_normal((s, 5)), g.integers(0, 3, s)) for s in sizes]


def _torch_fit(tm, batches, epochs, accum, clip, lr=0.05):
    opt = torch.optim.SGD(tm.parameters(), lr=lr, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    losses = []
    for _ in range(epochs):
        total, count, pending = 0.0, 0, 0
        for x, y in batches:
            out = tm(torch.from_numpy(x))
            loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(y))
            (loss / accum).backward()
            total += loss.item() * len(x)
            count += len(x)
            pending += 1
            if pending == accum:
                if clip:
                    torch.nn.utils.clip_grad_norm_(tm.parameters(), clip)
                opt.step()
                opt.zero_grad()
                pending = 0
        if pending:
            if clip:
                torch.nn.utils.clip_grad_norm_(tm.parameters(), clip)
            opt.step()
            opt.zero_grad()
        sched.step()
        losses.append(total / count)
    return losses


@pytest.mark.parametrize("accum,clip", [(1, None), (2, None), (4, 0.3)])
def test_fit_matches_a_hand_written_torch_loop(accum, clip):
    tm, em = _twins()
    batches = _batches()
    t_losses = _torch_fit(tm, batches, 3, accum, clip)
    opt = ember.optim.SGD(em.parameters(), lr=0.05, momentum=0.9)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    trainer = Trainer(em, opt, F.cross_entropy, grad_accum_steps=accum, max_grad_norm=clip,
                      scheduler=sched)  # fmt: skip
    data = [(ember.tensor(x), ember.tensor(y)) for x, y in batches]
    history = trainer.fit(data, epochs=3, verbose=0)
    np.testing.assert_allclose(history.history["loss"], t_losses, rtol=1e-10)
    assert history.history["lr"] == [0.05, 0.025, 0.0125]
    for (name, tp), ep in zip(tm.named_parameters(), em.parameters()):
        np.testing.assert_allclose(
            ep.detach().numpy(), tp.detach().numpy(), rtol=1e-10, err_msg=name
        )
    steps_per_epoch = -(-len(batches) // accum)
    assert trainer.global_step == 3 * steps_per_epoch


def test_per_step_scheduler_and_adam_match_torch():
    tm, em = _twins()
    batches = _batches(5, 4)
    topt = torch.optim.Adam(tm.parameters(), lr=0.01)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.05, total_steps=10)
    for _ in range(2):
        for x, y in batches:
            torch.nn.functional.cross_entropy(
                tm(torch.from_numpy(x)), torch.from_numpy(y)
            ).backward()
            topt.step()
            topt.zero_grad()
            tsched.step()
    eopt = ember.optim.Adam(em.parameters(), lr=0.01)
    esched = ember.optim.lr_scheduler.OneCycleLR(eopt, max_lr=0.05, total_steps=10)
    trainer = Trainer(em, eopt, "cross_entropy", scheduler=esched, scheduler_interval="step")
    trainer.fit([(ember.tensor(x), ember.tensor(y)) for x, y in batches], epochs=2, verbose=0)
    for tp, ep in zip(tm.parameters(), em.parameters()):
        np.testing.assert_allclose(ep.detach().numpy(), tp.detach().numpy(), rtol=1e-9)
    assert eopt.param_groups[0]["lr"] == pytest.approx(topt.param_groups[0]["lr"], rel=1e-12)


def test_evaluate_and_predict():
    tm, em = _twins()
    x, y = rand(10, 5), randint(3, 10)
    trainer = Trainer(em, None, nn.CrossEntropyLoss(), metrics=["accuracy", TopKAccuracy(2)])
    logs = trainer.evaluate((ember.tensor(x), ember.tensor(y)), batch_size=4)
    out = tm(torch.from_numpy(x))
    assert set(logs) == {"loss", "accuracy", "top2_accuracy"}
    assert logs["loss"] == pytest.approx(
        torch.nn.functional.cross_entropy(out, torch.from_numpy(y)).item(), rel=1e-12
    )
    assert logs["accuracy"] == pytest.approx((out.argmax(1).numpy() == y).mean())
    top2 = out.topk(2, dim=1).indices.numpy()
    assert logs["top2_accuracy"] == pytest.approx((top2 == y[:, None]).any(1).mean())
    pred = trainer.predict(ember.tensor(x), batch_size=3)
    np.testing.assert_allclose(pred.numpy(), out.detach().numpy(), rtol=1e-12)
    pred2 = trainer.predict(
        DataLoader(TensorDataset(ember.tensor(x), ember.tensor(y)), batch_size=4)
    )
    np.testing.assert_allclose(pred2.numpy(), out.detach().numpy(), rtol=1e-12)


class _Probe(nn.Module):
    """Records the mode and the grad switch at each call."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, ember.is_grad_enabled()))
        return self.lin(x)


def test_train_and_eval_modes_and_no_grad():
    model = _Probe()
    model.eval()
    trainer = Trainer(model, ember.optim.SGD(model.parameters(), lr=0.1), "cross_entropy")
    x, y = ember.randn(4, 2), ember.tensor([0, 1, 0, 1])
    trainer.fit((x, y), epochs=1, batch_size=2, validation_data=(x, y), verbose=0)
    assert model.seen == [(True, True), (True, True), (False, False), (False, False)]
    assert not model.training  # back in the mode it had
    model.train()
    model.seen.clear()
    trainer.evaluate((x, y))
    trainer.predict(x)
    assert model.seen == [(False, False), (False, False)]
    assert model.training


def test_history_and_logs_keys():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x = ember.randn(32, 4)
    y = (x[:, 0] > 0).long()
    trainer = Trainer(model, ember.optim.Adam(model.parameters(), lr=0.05), "cross_entropy",
                      metrics=["accuracy"])  # fmt: skip
    h = trainer.fit((x, y), epochs=5, validation_data=(x, y), batch_size=8, verbose=0)
    assert set(h.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert h.epoch == [0, 1, 2, 3, 4]
    assert all(isinstance(v, float) for vs in h.history.values() for v in vs)
    assert h.history["loss"][-1] < h.history["loss"][0]
    assert h.history["val_accuracy"][-1] > 0.8
    assert trainer.history is h
    # validation logs equal a separate evaluate() of the final model
    assert trainer.evaluate((x, y))["loss"] == pytest.approx(h.history["val_loss"][-1])


def test_validation_freq_initial_epoch_steps_per_epoch_and_max_steps():
    model = nn.Linear(3, 2)
    trainer = Trainer(model, ember.optim.SGD(model.parameters(), lr=0.1), "cross_entropy")
    x, y = ember.randn(16, 3), randint(2, 16)
    y = ember.tensor(y)
    h = trainer.fit((x, y), epochs=4, initial_epoch=1, validation_data=(x, y), validation_freq=2,
                    batch_size=4, verbose=0)  # fmt: skip
    assert h.epoch == [1, 2, 3]
    assert len(h.history["val_loss"]) == 2  # after epochs 1 and 3 (the 2nd and 4th)
    trainer.global_step = 0
    val = DataLoader(TensorDataset(x, y), batch_size=5)  # batch_size=4 is for the tensors
    trainer.fit((x, y), epochs=3, batch_size=4, steps_per_epoch=2, validation_data=val, verbose=0)
    assert trainer.global_step == 6
    trainer.global_step = 0
    h = trainer.fit((x, y), epochs=10, batch_size=4, max_steps=6, verbose=0)
    assert trainer.global_step == 6 and h.epoch == [0, 1]


def test_multi_input_model_and_numpy_data():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(2, 3), nn.Linear(4, 3)

        def forward(self, x1, x2):
            return self.a(x1) + self.b(x2)

    model = Two()
    trainer = Trainer(model, ember.optim.SGD(model.parameters(), lr=0.1), "mse")
    data = [((rand(4, 2).astype(np.float32), rand(4, 4).astype(np.float32)),
             rand(4, 3).astype(np.float32)) for _ in range(3)]  # fmt: skip
    h = trainer.fit(data, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2
    out = trainer.predict([(x, y) for x, y in data])
    assert out.shape == (12, 3)


def test_metric_functions_and_classes():
    out = ember.tensor([[2.0, 1.0, 0.0], [0.0, 1.0, 3.0], [1.0, 2.0, 0.5], [0.2, 0.1, 0.0]])
    y = ember.tensor([0, 2, 0, 2])
    acc = Accuracy()
    acc.update(out[:2], y[:2])
    acc.update(out[2:], y[2:])
    assert acc.result() == 0.5
    top2 = TopKAccuracy(2)
    top2.update(out, y)
    assert top2.result() == 0.75  # sample 2's class 0 is second; sample 3's class 2 is last
    assert TopKAccuracy(3).name == "top3_accuracy"
    binary = Accuracy(threshold=0.0)
    binary.update(ember.tensor([[1.5], [-0.3], [0.2]]), ember.tensor([1.0, 0.0, 0.0]))
    assert binary.result() == pytest.approx(2 / 3)
    onehot = Accuracy()
    onehot.update(out, F.one_hot(y, 3).float())
    assert onehot.result() == 0.5
    m = Mean("loss")
    m.update(ember.tensor(2.0), 3)
    m.update(ember.tensor(4.0), 1)
    assert m.result() == 2.5
    mm = MeanMetric(F.mse_loss)
    mm.update(ember.ones(2, 1), ember.zeros(2, 1))
    assert mm.name == "mse_loss" and mm.result() == 1.0
    assert isinstance(get_metric("acc"), Accuracy) and get_metric("top_5").k == 5
    assert np.isnan(Accuracy().result())
    with pytest.raises(ValueError, match="unknown metric"):
        get_metric("f1-ish")
    with pytest.raises(ValueError, match="received output"):
        Accuracy().update(ember.zeros(4, 3), ember.zeros(5, dtype=ember.int64))


def test_no_per_batch_syncs(monkeypatch):
    """Reading values back (``item``) happens per epoch, not per batch."""
    calls = []
    orig = ember.Tensor.item
    monkeypatch.setattr(ember.Tensor, "item", lambda self: calls.append(1) or orig(self))

    def count(n_batches):
        model = nn.Linear(3, 2)
        trainer = Trainer(model, ember.optim.SGD(model.parameters(), lr=0.1), "cross_entropy",
                          metrics=["accuracy"])  # fmt: skip
        x, y = ember.randn(n_batches * 2, 3), ember.tensor(randint(2, n_batches * 2))
        calls.clear()
        trainer.fit((x, y), epochs=1, batch_size=2, verbose=0)
        return len(calls)

    assert count(4) == count(16)


def test_mixed_precision_bfloat16_and_float16():
    for mp in ("bfloat16", "float16"):
        ember.manual_seed(0)
        model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
        seen = []
        model.register_forward_hook(lambda m, i, o, seen=seen: seen.append(o.dtype))
        x = ember.randn(64, 4)
        y = (x[:, 1] > 0).long()
        trainer = Trainer(model, ember.optim.Adam(model.parameters(), lr=0.02), "cross_entropy",
                          metrics=["accuracy"], mixed_precision=mp)  # fmt: skip
        h = trainer.fit((x, y), epochs=6, batch_size=16, verbose=0)
        assert seen[0].name == mp  # the forward ran in the low precision
        assert all(p.dtype is ember.float32 for p in model.parameters())
        assert h.history["loss"][-1] < h.history["loss"][0]
        assert (trainer.scaler is not None) == (mp == "float16")


def test_float16_overflow_skips_the_step():
    model = nn.Linear(2, 1)
    huge = ember.tensor([[6e4, 6e4]])  # the float16 forward overflows to inf

    trainer = Trainer(model, ember.optim.SGD(model.parameters(), lr=0.1), "mse",
                      mixed_precision="float16")  # fmt: skip
    before = model.weight.detach().numpy().copy()
    with pytest.warns(UserWarning, match="skipped step 1"):
        trainer.fit([(huge, ember.zeros(1, 1))], epochs=1, verbose=0)
    np.testing.assert_array_equal(model.weight.detach().numpy(), before)
    assert trainer.scaler.get_scale() == 2.0**15 and trainer.scaler.skipped_steps == 1


def test_stop_training_from_a_callback():
    class StopAt(Callback):
        def on_train_batch_end(self, batch, logs=None):
            if self.trainer.global_step == 3:
                self.trainer.stop_training = True

    model = nn.Linear(3, 2)
    trainer = Trainer(model, ember.optim.SGD(model.parameters(), lr=0.1), "cross_entropy",
                      callbacks=[StopAt()])  # fmt: skip
    h = trainer.fit((ember.randn(20, 3), ember.tensor(randint(2, 20))), epochs=5, batch_size=4,
                    verbose=0)  # fmt: skip
    assert trainer.global_step == 3 and h.epoch == [0]


def test_generator_data_warns_when_used_up():
    model = nn.Linear(3, 2)
    trainer = Trainer(model, ember.optim.SGD(model.parameters(), lr=0.1), "cross_entropy")
    gen = ((ember.randn(2, 3), ember.tensor([0, 1])) for _ in range(3))
    with pytest.warns(UserWarning, match="gave no batches in epoch 1"):
        h = trainer.fit(gen, epochs=3, verbose=0)
    assert h.epoch == [0]


def test_errors():
    model = nn.Linear(3, 2)
    opt = ember.optim.SGD(model.parameters(), lr=0.1)
    x, y = ember.randn(4, 3), ember.tensor([0, 1, 0, 1])
    with pytest.raises(TypeError, match="expected model to be an nn.Module"):
        Trainer(lambda v: v, opt, "mse")
    with pytest.raises(ValueError, match="needs an optimizer and a loss_fn"):
        Trainer(model).fit((x, y))
    with pytest.raises(ValueError, match="expected loss_fn"):
        Trainer(model, opt, "hinge-ish")
    with pytest.raises(ValueError, match="mixed_precision"):
        Trainer(model, opt, "mse", mixed_precision="int8")
    with pytest.raises(ValueError, match="grad_accum_steps"):
        Trainer(model, opt, "mse", grad_accum_steps=0)
    with pytest.raises(ValueError, match="same size in dim 0"):
        Trainer(model, opt, "cross_entropy").fit((x, y[:3]), verbose=0)
    with pytest.raises(ValueError, match="batch_size applies to data given as tensors"):
        Trainer(model, opt, "cross_entropy").fit([(x, y)], batch_size=2, verbose=0)
    with pytest.raises(TypeError, match="one element"):
        Trainer(model, opt, lambda o, t: o).fit([(x, y)], verbose=0)
    with pytest.raises(ValueError, match="batches \\(x, y\\) or \\(x,\\)"):
        Trainer(model, opt, "cross_entropy").fit([(x, y, y)], verbose=0)
    with pytest.raises(ValueError, match="no targets"):
        Trainer(model, opt, "cross_entropy").fit(x, verbose=0)
    with pytest.raises(ValueError, match="two metrics share"):
        Trainer(model, opt, "mse", metrics=["accuracy", Accuracy()])
    with pytest.raises(TypeError, match="expected a DataLoader"):
        Trainer(model, opt, "mse").fit(42, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Trainer(model, opt, "cross_entropy").fit([(x, y)], verbose=0)
