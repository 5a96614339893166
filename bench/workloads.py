"""The benchmark's workloads, each written once for both frameworks.

Every builder takes the library module ``m`` (``ember`` or ``torch``) and returns a
:class:`Setup`: the model, its optimizer (None for inference), ``make_batch(i)`` giving the
i-th batch, ``step(batch)`` doing one training (or inference) step and returning the loss (or
the output), and the number of samples one step processes. Only names the two libraries share
are used (``m.nn``, ``m.optim``, ``m.nn.functional``, ``m.from_numpy``, ``m.no_grad`` ...), so
the architecture is the same by construction. The data are synthetic, drawn by NumPy from a
fixed seed, so both frameworks see the same numbers; the weights come from each framework's
own initialisation after ``m.manual_seed(0)`` (their values do not change the cost).

``smoke=True`` shrinks every shape so that a step takes milliseconds (for the tests).

The tiny-op workload (f) is different: :func:`tiny_ops` returns functions that each apply one
op ``n`` times to 4-element float32 tensors that require grad, so the graph is recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

POOL = 4  # distinct batches cycled through, so no step reuses the previous step's input


class Setup(NamedTuple):
    model: Any
    optimizer: Any  # None for inference
    make_batch: Callable[[int], tuple]
    step: Callable[[tuple], Any]
    samples: int  # samples (images, sequences) one step processes


def _batches(m, make: Callable[[np.random.Generator], tuple]) -> Callable[[int], tuple]:
    rng = np.random.default_rng(0)
    pool = [tuple(m.from_numpy(a) for a in make(rng)) for _ in range(POOL)]
    return lambda i: pool[i % POOL]


def _images(n, c, h, w, classes):
    return lambda rng: (
        rng.standard_normal((n, c, h, w), dtype=np.float32),
        rng.integers(0, classes, n, dtype=np.int64),
    )


def _train(m, model, optimizer, make_batch, samples, loss_fn=None) -> Setup:
    cross_entropy = m.nn.functional.cross_entropy
    loss_fn = loss_fn or (lambda out, target: cross_entropy(out, target))

    def step(batch):
        x, target = batch
        optimizer.zero_grad()
        loss = loss_fn(model(x), target)
        loss.backward()
        optimizer.step()
        return loss

    return Setup(model, optimizer, make_batch, step, samples)


def _infer(m, model, make_batch, samples) -> Setup:
    model.eval()

    def step(batch):
        with m.no_grad():
            return model(batch[0])

    return Setup(model, None, make_batch, step, samples)


# --- the models -----------------------------------------------------------------------------


def mlp(m, smoke=False):
    """784-1024-1024-10 with ReLU."""
    d_in, hidden = (16, 32) if smoke else (784, 1024)
    nn = m.nn
    return nn.Sequential(
        nn.Linear(d_in, hidden), nn.ReLU(),
        nn.Linear(hidden, hidden), nn.ReLU(),
        nn.Linear(hidden, 10),
    )  # fmt: skip


def cnn(m, smoke=False):
    """conv3x3 32, ReLU, maxpool 2, conv3x3 64, ReLU, maxpool 2, conv3x3 128, ReLU, global
    average pool, linear 10 (on 3x32x32 inputs)."""
    c1, c2, c3 = (4, 8, 16) if smoke else (32, 64, 128)
    nn = m.nn
    return nn.Sequential(
        nn.Conv2d(3, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c3, 10),
    )  # fmt: skip


def char_lstm(m, vocab, embed, hidden):
    """Embedding, one nn.LSTM layer (batch first), linear head to the vocabulary."""
    nn = m.nn

    class CharLSTM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, embed)
            self.lstm = nn.LSTM(embed, hidden, batch_first=True)
            self.head = nn.Linear(hidden, vocab)

        def forward(self, idx):
            out, _ = self.lstm(self.embed(idx))
            return self.head(out)

    return CharLSTM()


def gpt(m, vocab, block_size, n_layer, n_head, d_model):
    """A GPT-style decoder: learned token and position embeddings, pre-LayerNorm blocks of
    causal self-attention (``scaled_dot_product_attention(is_causal=True)``) and a 4x GELU
    MLP, a final LayerNorm and a linear head."""
    nn, F = m.nn, m.nn.functional

    class Attention(nn.Module):
        def __init__(self):
            super().__init__()
            self.qkv = nn.Linear(d_model, 3 * d_model)
            self.proj = nn.Linear(d_model, d_model)

        def forward(self, x):
            B, T, C = x.shape
            q, k, v = (
                t.reshape(B, T, n_head, C // n_head).transpose(1, 2)
                for t in self.qkv(x).split(C, dim=2)
            )
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            return self.proj(y.transpose(1, 2).reshape(B, T, C))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(d_model)
            self.attn = Attention()
            self.ln2 = nn.LayerNorm(d_model)
            self.mlp = nn.Sequential(
                nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model)
            )

        def forward(self, x):
            x = x + self.attn(self.ln1(x))
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(vocab, d_model)
            self.wpe = nn.Embedding(block_size, d_model)
            self.blocks = nn.ModuleList([Block() for _ in range(n_layer)])
            self.ln_f = nn.LayerNorm(d_model)
            self.head = nn.Linear(d_model, vocab, bias=False)

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(m.arange(idx.shape[1]))
            for b in self.blocks:
                x = b(x)
            return self.head(self.ln_f(x))

    return GPT()


def resnet18(m, num_classes=10, width=64):
    """ResNet-18 with the CIFAR stem (3x3 stride-1 convolution, no max pooling), torchvision's
    block layout: two 3x3 convolutions with batch norm per block, 1x1 downsampling."""
    nn = m.nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.relu = nn.ReLU()
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = nn.Sequential(
                    nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
                )

        def forward(self, x):
            identity = x if self.downsample is None else self.downsample(x)
            out = self.relu(self.bn1(self.conv1(x)))
            return self.relu(self.bn2(self.conv2(out)) + identity)

    widths = [width, 2 * width, 4 * width, 8 * width]
    layers = [nn.Conv2d(3, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU()]
    cin = width
    for i, w in enumerate(widths):
        stride = 1 if i == 0 else 2
        layers += [BasicBlock(cin, w, stride), BasicBlock(w, w, 1)]
        cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, num_classes)]
    return nn.Sequential(*layers)


# --- the workloads --------------------------------------------------------------------------


def _sgd(m, model):
    return m.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def _adam(m, model):
    return m.optim.Adam(model.parameters(), lr=1e-3)


def mlp_train(m, smoke=False, optimizer="sgd") -> Setup:
    n, d_in = (4, 16) if smoke else (128, 784)
    model = mlp(m, smoke)
    opt = _sgd(m, model) if optimizer == "sgd" else _adam(m, model)
    make = _batches(
        m,
        lambda rng: (
            rng.standard_normal((n, d_in), dtype=np.float32),
            rng.integers(0, 10, n, dtype=np.int64),
        ),
    )
    return _train(m, model, opt, make, n)


def cnn_train(m, smoke=False) -> Setup:
    n, hw = (2, 8) if smoke else (64, 32)
    model = cnn(m, smoke)
    return _train(m, model, _sgd(m, model), _batches(m, _images(n, 3, hw, hw, 10)), n)


def _tokens(n, t, vocab):
    def make(rng):
        ids = rng.integers(0, vocab, (n, t + 1), dtype=np.int64)
        return ids[:, :-1].copy(), ids[:, 1:].copy()  # predict the next character

    return make


def _seq_loss(m, vocab):
    cross_entropy = m.nn.functional.cross_entropy
    return lambda logits, target: cross_entropy(logits.reshape(-1, vocab), target.reshape(-1))


def lstm_train(m, smoke=False) -> Setup:
    vocab = 65
    embed, hidden, t, n = (8, 16, 8, 2) if smoke else (64, 256, 64, 32)
    model = char_lstm(m, vocab, embed, hidden)
    make = _batches(m, _tokens(n, t, vocab))
    return _train(m, model, _adam(m, model), make, n, _seq_loss(m, vocab))


def gpt_train(m, smoke=False) -> Setup:
    vocab = 65
    n_layer, d_model, n_head, t, n = (2, 16, 2, 8, 2) if smoke else (4, 128, 4, 64, 16)
    model = gpt(m, vocab, t, n_layer, n_head, d_model)
    make = _batches(m, _tokens(n, t, vocab))
    return _train(m, model, _adam(m, model), make, n, _seq_loss(m, vocab))


def mlp_infer(m, smoke=False, batch=1) -> Setup:
    d_in = 16 if smoke else 784
    n = min(batch, 4) if smoke else batch
    return _infer(
        m,
        mlp(m, smoke),
        _batches(m, lambda rng: (rng.standard_normal((n, d_in), dtype=np.float32),)),
        n,
    )


def cnn_infer(m, smoke=False, batch=1) -> Setup:
    hw = 8 if smoke else 32
    n = min(batch, 2) if smoke else batch
    return _infer(m, cnn(m, smoke), _batches(m, _images(n, 3, hw, hw, 10)), n)


def resnet18_train(m, smoke=False) -> Setup:
    n, hw, width = (2, 8, 4) if smoke else (32, 32, 64)
    model = resnet18(m, 10, width)
    return _train(m, model, _sgd(m, model), _batches(m, _images(n, 3, hw, hw, 10)), n)


def tiny_ops(m) -> dict[str, Callable[[int], None]]:
    """One op on 4-element float32 tensors that require grad, so each call records a graph
    node; ``ops[name](n)`` runs it n times."""
    x = m.randn(4, requires_grad=True)
    w = m.randn(4, requires_grad=True)

    def mul(n):
        for _ in range(n):
            x * w

    def add(n):
        for _ in range(n):
            x + w

    def exp(n):
        for _ in range(n):
            x.exp()

    return {"x * w": mul, "x + w": add, "x.exp()": exp}


class Workload(NamedTuple):
    title: str  # the row's label in the table
    build: Callable  # build(m, smoke) -> Setup; None for the tiny ops


def _with(fn, **kw):
    return lambda m, smoke=False: fn(m, smoke, **kw)


WORKLOADS: dict[str, Workload] = {
    "a-sgd": Workload("a. MLP 784-1024-1024-10, b128, SGD-momentum", _with(mlp_train)),
    "a-adam": Workload("a. MLP 784-1024-1024-10, b128, Adam", _with(mlp_train, optimizer="adam")),
    "b": Workload("b. CNN 3x32x32, b64, SGD-momentum", cnn_train),
    "c": Workload("c. char LSTM 65/64/256, seq 64, b32, Adam", lstm_train),
    "d": Workload("d. GPT 4x128, 4 heads, seq 64, b16, Adam", gpt_train),
    "e-mlp-1": Workload("e. MLP inference, b1", _with(mlp_infer, batch=1)),
    "e-mlp-64": Workload("e. MLP inference, b64", _with(mlp_infer, batch=64)),
    "e-cnn-1": Workload("e. CNN inference, b1", _with(cnn_infer, batch=1)),
    "e-cnn-64": Workload("e. CNN inference, b64", _with(cnn_infer, batch=64)),
    "e-resnet18": Workload("e. ResNet-18 CIFAR stem, b32, SGD-momentum", resnet18_train),
    "f": Workload("f. tiny op with autograd", None),
}
