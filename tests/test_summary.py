"""ember.summary: rows (paths, types, output shapes, own parameters) and totals, against
hand-computed counts and PyTorch's sum(p.numel()) for the same architecture."""

import pytest
import torch

import ember
from ember import nn


def _cnn():
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(8 * 4 * 4, 10),
    )  # fmt: skip


def _torch_cnn():
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(8 * 4 * 4, 10),
    )  # fmt: skip


def test_cnn_rows_and_totals(capsys):
    model = _cnn()
    s = ember.summary(model, (2, 3, 8, 8))
    printed = capsys.readouterr().out
    rows = [(r.name, r.type, r.output_shape, r.num_params, r.depth) for r in s.layers]
    assert rows == [
        ("", "Sequential", [2, 10], 0, 0),
        ("0", "Conv2d", [2, 8, 8, 8], 8 * 3 * 3 * 3 + 8, 1),
        ("1", "BatchNorm2d", [2, 8, 8, 8], 16, 1),
        ("2", "ReLU", [2, 8, 8, 8], 0, 1),
        ("3", "MaxPool2d", [2, 8, 4, 4], 0, 1),
        ("4", "Flatten", [2, 128], 0, 1),
        ("5", "Linear", [2, 10], 128 * 10 + 10, 1),
    ]
    total = 224 + 16 + 1290
    assert s.total_params == total == sum(p.numel() for p in _torch_cnn().parameters())
    assert s.trainable_params == total and s.non_trainable_params == 0
    assert s.param_bytes == 4 * total
    assert s.buffer_bytes == 8 * 4 * 2 + 8  # running mean/var (float32), num_batches_tracked
    assert printed.strip() == str(s).strip()
    assert (
        "0 (Conv2d)" in printed and "[2, 8, 4, 4]" in printed and "Total params: 1,530" in printed
    )


def test_nested_modules_frozen_and_shared_parameters():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(20, 6)
            self.block = nn.Sequential(nn.Linear(6, 6), nn.Tanh())
            self.head = nn.Linear(6, 20, bias=False)
            self.head.weight = self.embed.weight  # tied: counted once

        def forward(self, ids):
            return self.head(self.block(self.embed(ids)))

    model = Net()
    model.block[0].requires_grad_(False)
    s = ember.summary(model, (3, 5), dtype=ember.int64, verbose=0)
    names = [(r.name, r.depth) for r in s.layers]
    assert names == [
        ("", 0),
        ("embed", 1),
        ("block", 1),
        ("block.0", 2),
        ("block.1", 2),
        ("head", 1),
    ]
    assert [r.output_shape for r in s.layers][-1] == [3, 5, 20]
    assert s.total_params == 20 * 6 + 6 * 6 + 6
    assert s.non_trainable_params == 6 * 6 + 6
    assert s.trainable_params == 20 * 6
    assert "block.0 (Linear)" in str(s)


def test_batch_dim_multiple_inputs_and_input_data():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 2)
            self.b = nn.Linear(3, 2)

        def forward(self, x, y):
            return self.a(x) + self.b(y), self.a(x)

    model = Two()
    s = ember.summary(model, [(4,), (3,)], batch_dim=0, verbose=0)
    assert s.input_shapes == [[1, 4], [1, 3]]
    assert s.layers[0].output_shape == [[1, 2], [1, 2]]
    assert [r.name for r in s.layers] == ["", "a", "b", "a"]  # one row per call
    s2 = ember.summary(model, input_data=(ember.randn(5, 4), ember.randn(5, 3)), verbose=0)
    assert s2.layers[1].output_shape == [5, 2]


def test_mode_and_hooks_are_restored():
    model = _cnn()
    model.train()
    ember.summary(model, (1, 3, 8, 8), verbose=0)
    assert model.training
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in model.modules())
    assert float(model[1].num_batches_tracked.item()) == 0  # eval: statistics untouched


def test_errors():
    with pytest.raises(TypeError, match="expected an nn.Module"):
        ember.summary(lambda x: x, (1, 2))
    with pytest.raises(TypeError, match="tuple of ints"):
        ember.summary(nn.Linear(2, 2), "2x2")
    with pytest.raises(ValueError, match="input_shape"):
        ember.summary(nn.Linear(2, 2))
    with pytest.raises(
        RuntimeError, match=r"summary: the forward pass on inputs of shape \[\(1, 3\)\]"
    ):
        ember.summary(nn.Linear(2, 2), (1, 3), verbose=0)
