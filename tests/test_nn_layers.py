"""ember.nn layers against their PyTorch twins.

Each test builds the layer in both libraries, copies PyTorch's initial state into ember's
(``load_state_dict`` of PyTorch's state_dict), runs the same inputs and compares the
outputs, the gradient of the input and the gradient of every parameter (float64 tightly,
float32 once per family). Then: train/eval behaviour, repr and state_dict keys, the default
initialisation (statistically: RNGs differ), and each layer's input errors, whose messages
carry the layer's configuration (the prefix ``Module.__call__`` adds).
"""

import math
import re
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.oracle import TORCH_TO_NAME, _tols, check, check_raises, positive, rand, randint

F64, F32 = np.float64, np.float32
TORCH_DTYPE = {F64: torch.float64, F32: torch.float32}
EMBER_DTYPE = {F64: ember.float64, F32: ember.float32}


# ---------------------------------------------------------------- helpers
def twins(name, *args, dtype=F64, **kw):
    """The layer ``name`` in ember and in PyTorch, in ``dtype``, with PyTorch's initial
    state copied into ember's."""
    t = getattr(torch.nn, name)(*args, **kw).to(TORCH_DTYPE[dtype])
    e = getattr(nn, name)(*args, **kw).to(EMBER_DTYPE[dtype])
    e.load_state_dict(t.state_dict())
    return e, t


def _np(x):
    return x.detach().numpy() if isinstance(x, torch.Tensor) else np.asarray(x.detach().numpy())


def _close(e, t, what):
    name = TORCH_TO_NAME[t.dtype]
    assert e.dtype.name == name, f"{what}: dtype {e.dtype.name} != torch {name}"
    assert tuple(e.shape) == tuple(t.shape), f"{what}: shape {tuple(e.shape)} != {tuple(t.shape)}"
    rtol, atol = _tols(name)
    np.testing.assert_allclose(_np(e), _np(t), rtol=rtol, atol=atol, err_msg=what)


def _inputs(arrays, lib, grad):
    out = []
    for a in arrays:
        if not isinstance(a, np.ndarray):
            out.append(a)
            continue
        x = torch.from_numpy(a.copy()) if lib is torch else ember.tensor(a.copy())
        if grad and a.dtype.kind == "f":
            x.requires_grad_(True)
        out.append(x)
    return out


def compare(e, t, *arrays, grad=True, seed=0, **kwargs):
    """Run both layers on ``arrays`` (NumPy; float ones require grad) and compare outputs,
    then the gradients of the float inputs and of every parameter for a random upstream
    gradient. Returns both outputs."""
    e_in, t_in = _inputs(arrays, ember, grad), _inputs(arrays, torch, grad)
    ey, ty = e(*e_in, **kwargs), t(*t_in, **kwargs)
    e_outs = list(ey) if isinstance(ey, tuple) else [ey]
    t_outs = list(ty) if isinstance(ty, tuple) else [ty]
    assert len(e_outs) == len(t_outs)
    for i, (eo, to) in enumerate(zip(e_outs, t_outs)):
        _close(eo, to, f"output {i}")
    if not grad or not t_outs[0].requires_grad:
        return ey, ty
    e_names = [n for n, p in e.named_parameters() if p.requires_grad]
    t_names = [n for n, p in t.named_parameters() if p.requires_grad]
    assert e_names == t_names
    e_leaves = [x for x in e_in if isinstance(x, ember.Tensor) and x.requires_grad]
    t_leaves = [x for x in t_in if isinstance(x, torch.Tensor) and x.requires_grad]
    e_leaves += [p for p in e.parameters() if p.requires_grad]
    t_leaves += [p for p in t.parameters() if p.requires_grad]
    up = np.random.default_rng(seed).uniform(-1, 1, tuple(t_outs[0].shape))
    tg = torch.autograd.grad(
        t_outs[0], t_leaves, torch.from_numpy(up).to(t_outs[0].dtype), allow_unused=True
    )
    eg = ember.autograd.grad(
        e_outs[0], e_leaves, ember.tensor(up).to(e_outs[0].dtype), allow_unused=True
    )
    labels = [f"input {i}" for i in range(len(e_leaves) - len(e_names))] + e_names
    for label, g1, g2, leaf in zip(labels, eg, tg, t_leaves):
        g2 = torch.zeros_like(leaf) if g2 is None else g2
        g1 = (
            ember.zeros(tuple(leaf.shape), dtype=EMBER_DTYPE[_np(leaf).dtype.type])
            if g1 is None
            else g1
        )
        _close(g1, g2, f"gradient of {label}")
    return ey, ty


def layer_fn(e, t):
    """A function of the library, for the oracle's check and check_raises."""
    return lambda m, *xs: (e if m is ember else t)(*xs)


def prefix(layer) -> str:
    return re.escape(repr(layer))


# ---------------------------------------------------------------- Linear
@pytest.mark.parametrize(
    "args, kw, shape",
    [((3, 4), {}, (5, 3)), ((3, 4), {"bias": False}, (5, 3)), ((3, 2), {}, (2, 4, 3)),
     ((3, 2), {}, (3,)), ((3, 2), {}, (0, 3)), ((0, 2), {}, (4, 0))],
)  # fmt: skip
@pytest.mark.filterwarnings("ignore:.*zero-element tensors")
def test_linear(args, kw, shape):
    e, t = twins("Linear", *args, **kw)
    compare(e, t, rand(*shape))
    check(layer_fn(e, t), rand(*shape))  # with a finite-difference check of the input grad


def test_linear_float32():
    e, t = twins("Linear", 6, 4, dtype=F32)
    compare(e, t, rand(5, 6, dtype=F32))


def test_linear_attributes_and_factory_kwargs():
    fc = nn.Linear(3, 4, dtype=ember.float64)
    assert (fc.in_features, fc.out_features) == (3, 4)
    assert fc.weight.dtype is ember.float64 and fc.bias.dtype is ember.float64
    assert tuple(fc.weight.shape) == (4, 3) and fc.weight.requires_grad
    assert nn.Linear(3, 4, bias=False).bias is None
    assert nn.Linear(3, 4, device="cpu").weight.device == ember.device("cpu")


def test_linear_errors():
    e, t = twins("Linear", 784, 10, dtype=F32)
    msg = check_raises(layer_fn(e, t), rand(32, 28, 28, dtype=F32), match=(
        "Linear(in_features=784, out_features=10, bias=True): expected input with last "
        "dimension 784 (in_features), received shape (32, 28, 28)"))  # fmt: skip
    assert str(msg).startswith("Linear(")
    check_raises(layer_fn(e, t), rand(2, 784), match=(
        "expected input of dtype float32 (the dtype of the layer's parameters), received "
        "float64"))  # fmt: skip
    check_raises(
        layer_fn(e, t),
        randint(5, 2, 784),
        match="expected a floating-point input of dtype float32, received int64",
    )
    with pytest.raises(TypeError, match="expected input to be a Tensor, received list"):
        e([1.0] * 784)
    with pytest.raises(
        ValueError, match="expected a non-negative integer, received in_features=-1"
    ):
        nn.Linear(-1, 3)


# ---------------------------------------------------------------- convolutions
CONV2D = [
    ((3, 4, 3), {}, (2, 3, 6, 5)),
    ((3, 4, (3, 2)), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)}, (1, 3, 7, 6)),
    ((4, 6, 3), {"groups": 2, "bias": False, "padding": 1}, (2, 4, 5, 5)),
    ((2, 3, 4), {"padding": "same", "dilation": 2}, (1, 2, 7, 7)),
    ((2, 3, 3), {"padding": "valid"}, (1, 2, 5, 5)),
    ((2, 3, 3), {"padding": 2, "padding_mode": "reflect"}, (1, 2, 5, 6)),
    ((2, 3, (2, 3)), {"padding": "same", "padding_mode": "replicate"}, (1, 2, 5, 6)),
    ((2, 3, 3), {"padding": (1, 2), "padding_mode": "circular", "stride": 2}, (1, 2, 5, 6)),
    ((2, 3, 3), {"padding": 1}, (2, 5, 5)),  # unbatched
    ((2, 3, 3), {"padding": 1, "padding_mode": "reflect"}, (2, 5, 5)),  # unbatched, padded
]


@pytest.mark.filterwarnings("ignore:Using padding='same'")  # PyTorch's note on its own speed
@pytest.mark.parametrize("args, kw, shape", CONV2D)
def test_conv2d(args, kw, shape):
    e, t = twins("Conv2d", *args, **kw)
    compare(e, t, rand(*shape))


def test_conv2d_input_gradcheck_and_float32():
    e, t = twins("Conv2d", 2, 2, 3, padding=1, padding_mode="reflect")
    check(layer_fn(e, t), rand(1, 2, 4, 4))
    e, t = twins("Conv2d", 4, 8, 3, stride=2, padding=1, groups=2, dtype=F32)
    compare(e, t, rand(2, 4, 9, 9, dtype=F32))


@pytest.mark.parametrize(
    "args, kw, shape",
    [((2, 4, 3), {}, (2, 2, 7)), ((4, 2, 3), {"stride": 2, "padding": 1, "groups": 2}, (1, 4, 8)),
     ((2, 3, 4), {"padding": "same", "padding_mode": "circular"}, (2, 2, 6)),
     ((2, 3, 3), {"dilation": 2, "bias": False}, (2, 9))],
)  # fmt: skip
def test_conv1d(args, kw, shape):
    e, t = twins("Conv1d", *args, **kw)
    compare(e, t, rand(*shape))


@pytest.mark.parametrize(
    "args, kw, shape",
    [((3, 2, 3), {}, (2, 3, 4, 4)),
     ((4, 6, 3), {"stride": 2, "padding": 1, "output_padding": 1, "groups": 2}, (1, 4, 3, 4)),
     ((2, 3, (2, 3)), {"stride": (2, 1), "dilation": (1, 2), "bias": False}, (1, 2, 3, 3)),
     ((2, 3, 3), {"stride": 2}, (2, 3, 3))],
)  # fmt: skip
def test_conv_transpose2d(args, kw, shape):
    e, t = twins("ConvTranspose2d", *args, **kw)
    compare(e, t, rand(*shape))


def test_conv_transpose_output_size_and_1d():
    e, t = twins("ConvTranspose2d", 2, 3, 3, stride=2, padding=1)
    ey, _ = compare(e, t, rand(1, 2, 4, 5), output_size=(8, 10))
    assert tuple(ey.shape) == (1, 3, 8, 10)
    compare(e, t, rand(1, 2, 4, 5), output_size=[1, 3, 7, 9])  # the full shape also works
    e, t = twins("ConvTranspose1d", 2, 4, 3, stride=3, output_padding=2)
    compare(e, t, rand(2, 2, 5))
    e, t = twins("ConvTranspose2d", 4, 2, 2, stride=2, dtype=F32)
    compare(e, t, rand(2, 4, 3, 3, dtype=F32))


def test_conv_errors():
    e, t = twins("Conv2d", 3, 16, 3, dtype=F32)
    head = "Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1)): "
    check_raises(layer_fn(e, t), rand(2, 4, 8, 8, dtype=F32),
                 match=head + "expected input with 3 channels (in_channels) in dim 1, received "
                 "shape (2, 4, 8, 8)")  # fmt: skip
    check_raises(layer_fn(e, t), rand(4, 8, 8, dtype=F32),
                 match="expected input with 3 channels (in_channels) in dim 0, received shape "
                 "(4, 8, 8)")  # fmt: skip
    check_raises(layer_fn(e, t), rand(2, 3 * 64, dtype=F32),
                 match=head + "expected a 4-D (N, C, H, W) input or an unbatched 3-D (C, H, W) "
                 "one, received shape (2, 192)")  # fmt: skip
    check_raises(layer_fn(e, t), rand(1, 3, 8, 8), match="expected input of dtype float32")
    check_raises(layer_fn(e, t), rand(1, 3, 2, 2, dtype=F32), match="larger than the padded input")
    e1, t1 = twins("Conv1d", 2, 4, 3)
    check_raises(
        layer_fn(e1, t1),
        rand(1, 2, 3, 3),
        match="expected a 3-D (N, C, L) input or an unbatched 2-D (C, L) one",
    )
    et, tt = twins("ConvTranspose2d", 2, 3, 3, stride=2, padding=1)
    check_raises(lambda m, x: (et if m is ember else tt)(x, output_size=(12, 12)),
                 rand(1, 2, 4, 5), match="requested an output size of (12, 12), but valid sizes "
                 "range from (7, 9) to (8, 10)")  # fmt: skip


@pytest.mark.parametrize(
    "args, kw, match",
    [((4, 6, 3), {"groups": 3}, "in_channels must be divisible by groups"),
     ((4, 6, 3), {"groups": 4}, "out_channels must be divisible by groups"),
     ((4, 6, 3), {"groups": 0}, "groups must be a positive integer"),
     ((2, 6, 3), {"groups": 2, "padding": "full"}, "padding must be 'same', 'valid'"),
     ((2, 6, 3), {"padding": "same", "stride": 2}, "padding='same' is not supported for strided"),
     ((2, 6, 3), {"padding_mode": "mirror"}, "padding_mode must be one of")],
)  # fmt: skip
def test_conv_constructor_errors(args, kw, match):
    with pytest.raises(ValueError):
        torch.nn.Conv2d(*args, **kw)
    with pytest.raises(ValueError, match=re.escape(match)):
        nn.Conv2d(*args, **kw)


def test_conv_transpose_constructor_errors():
    with pytest.raises(ValueError):
        torch.nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect")
    with pytest.raises(
        ValueError, match="only padding_mode='zeros' is supported for ConvTranspose2d"
    ):
        nn.ConvTranspose2d(2, 3, 3, padding_mode="reflect")


# ---------------------------------------------------------------- pooling
@pytest.mark.parametrize(
    "name, args, kw, shape",
    [("MaxPool2d", (2,), {}, (2, 3, 6, 5)),
     ("MaxPool2d", ((3, 2),), {"stride": (2, 1), "padding": 1, "dilation": (1, 2)}, (1, 2, 7, 7)),
     ("MaxPool2d", (3,), {"stride": 2, "ceil_mode": True}, (2, 6, 6)),
     ("MaxPool1d", (3,), {"stride": 2, "padding": 1}, (2, 3, 8)),
     ("AvgPool2d", (2,), {}, (2, 3, 6, 5)),
     ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (1, 2, 7, 6)),
     ("AvgPool2d", (2,), {"ceil_mode": True, "divisor_override": 3}, (1, 2, 5, 5)),
     ("AvgPool1d", (3,), {"stride": 1, "padding": 1}, (2, 2, 6)),
     ("AdaptiveAvgPool2d", (1,), {}, (2, 3, 5, 5)),
     ("AdaptiveAvgPool2d", ((3, None),), {}, (1, 2, 7, 5)),
     ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 7))],
)  # fmt: skip
def test_pooling(name, args, kw, shape):
    e, t = twins(name, *args, **kw)
    compare(e, t, rand(*shape))


def test_pooling_indices_and_float32():
    e, t = twins("MaxPool2d", 2, return_indices=True)
    (_, idx), _ = compare(e, t, rand(1, 2, 4, 6))
    assert idx.dtype is ember.int64
    e, t = twins("AvgPool2d", 2, dtype=F32)
    compare(e, t, rand(2, 3, 4, 4, dtype=F32))


def test_pooling_errors():
    e, t = twins("MaxPool2d", 2)
    check_raises(layer_fn(e, t), rand(2, 3), match=(
        "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False): "
        "max_pool2d: expected input with 4 dimensions (N, C, H, W) or 3 (C, H, W), received "
        "shape (2, 3)"))  # fmt: skip


# ---------------------------------------------------------------- batch norm
def _bn_steps(e, t, shapes, dtype=F64):
    for i, shape in enumerate(shapes):
        compare(e, t, rand(*shape, low=-2, high=3, dtype=dtype), seed=i)
        for name in ("running_mean", "running_var", "num_batches_tracked"):
            eb, tb = getattr(e, name), getattr(t, name)
            assert (eb is None) == (tb is None)
            if tb is not None:
                _close(eb, tb, name)


@pytest.mark.parametrize(
    "name, kw, shapes",
    [("BatchNorm1d", {}, [(5, 3)] * 3),
     ("BatchNorm1d", {"momentum": None}, [(4, 3, 2), (3, 3, 4), (6, 3, 1)]),
     ("BatchNorm1d", {"affine": False, "eps": 1e-3, "momentum": 0.3}, [(4, 3)] * 2),
     ("BatchNorm2d", {}, [(2, 3, 3, 2), (3, 3, 2, 2), (2, 3, 1, 3)]),
     ("BatchNorm2d", {"momentum": None, "bias": False}, [(2, 3, 2, 2)] * 3),
     ("BatchNorm2d", {"track_running_stats": False}, [(2, 3, 2, 2)] * 2)],
)  # fmt: skip
def test_batch_norm_train_then_eval(name, kw, shapes):
    e, t = twins(name, 3, **kw)
    # distinct affine parameters, so their gradients and effect are exercised
    with torch.no_grad():
        for p in t.parameters():
            p.uniform_(0.5, 1.5)
    e.load_state_dict(t.state_dict())
    _bn_steps(e, t, shapes)
    e.eval()
    t.eval()
    _bn_steps(e, t, shapes[:1])  # the running statistics (or, without them, the batch's)


def test_batch_norm_float32_and_gradcheck():
    e, t = twins("BatchNorm2d", 4, dtype=F32)
    _bn_steps(e, t, [(3, 4, 2, 2)] * 2, dtype=F32)
    e, t = twins("BatchNorm1d", 2)
    check(layer_fn(e, t), rand(3, 2))
    # the finite differences ran ember's layer many times in training mode, updating its
    # running statistics each time: start eval mode from PyTorch's
    e.load_state_dict(t.state_dict())
    e.eval(), t.eval()
    check(layer_fn(e, t), rand(3, 2))


def test_batch_norm_buffers():
    bn = nn.BatchNorm2d(4)
    assert list(bn.state_dict()) == list(torch.nn.BatchNorm2d(4).state_dict())
    assert bn.num_batches_tracked.dtype is ember.int64 and bn.num_batches_tracked.ndim == 0
    bn(ember.randn(2, 4, 3, 3))
    bn(ember.randn(2, 4, 3, 3))
    assert bn.num_batches_tracked.item() == 2
    bn.eval()
    bn(ember.randn(2, 4, 3, 3))
    assert bn.num_batches_tracked.item() == 2  # eval mode does not count
    bn.reset_running_stats()
    assert bn.num_batches_tracked.item() == 0 and float(bn.running_var.sum()) == 4
    no_stats = nn.BatchNorm1d(3, track_running_stats=False)
    assert list(no_stats.state_dict()) == ["weight", "bias"]
    assert no_stats.running_mean is None


def test_batch_norm_errors():
    e, t = twins("BatchNorm1d", 3)
    head = ("BatchNorm1d(3, eps=1e-05, momentum=0.1, affine=True, bias=True, "
            "track_running_stats=True): ")  # fmt: skip
    check_raises(layer_fn(e, t), rand(2, 3, 4, 4),
                 match=head + "expected a 2-D (N, C) or 3-D (N, C, L) input, received shape "
                 "(2, 3, 4, 4)")  # fmt: skip
    check_raises(layer_fn(e, t), rand(2, 4),
                 match=head + "expected input with 3 channels (num_features) in dim 1, received "
                 "shape (2, 4)")  # fmt: skip
    check_raises(layer_fn(e, t), rand(1, 3), match="expected more than 1 value per channel")
    e2, t2 = twins("BatchNorm2d", 3)
    check_raises(
        layer_fn(e2, t2),
        rand(2, 3, 4),
        match="expected a 4-D (N, C, H, W) input, received shape (2, 3, 4)",
    )


# ---------------------------------------------------------------- layer and group norm
@pytest.mark.parametrize(
    "args, kw, shape",
    [((4,), {}, (3, 4)), (((2, 3),), {"eps": 1e-3}, (2, 2, 3)),
     ((4,), {"elementwise_affine": False}, (2, 3, 4)), ((4,), {"bias": False}, (3, 4)),
     ((4,), {}, (4,))],
)  # fmt: skip
def test_layer_norm(args, kw, shape):
    e, t = twins("LayerNorm", *args, **kw)
    with torch.no_grad():
        for p in t.parameters():
            p.uniform_(0.5, 1.5)
    e.load_state_dict(t.state_dict())
    compare(e, t, rand(*shape))


@pytest.mark.parametrize(
    "args, kw, shape",
    [((2, 4), {}, (3, 4, 2, 2)), ((3, 6), {"affine": False}, (2, 6, 3)),
     ((1, 3), {"eps": 1e-3, "bias": False}, (2, 3)), ((4, 4), {}, (2, 4, 3))],
)  # fmt: skip
def test_group_norm(args, kw, shape):
    e, t = twins("GroupNorm", *args, **kw)
    with torch.no_grad():
        for p in t.parameters():
            p.uniform_(0.5, 1.5)
    e.load_state_dict(t.state_dict())
    compare(e, t, rand(*shape))


def test_norms_float32_gradcheck_and_errors():
    e, t = twins("LayerNorm", 5, dtype=F32)
    compare(e, t, rand(3, 5, dtype=F32))
    e, t = twins("GroupNorm", 2, 4)
    check(layer_fn(e, t), rand(2, 4, 3))
    check_raises(layer_fn(e, t), rand(2, 6, 3), match=(
        "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True): expected an input (N, C, *) with 4 "
        "channels (num_channels) in dim 1, received shape (2, 6, 3)"))  # fmt: skip
    e, t = twins("LayerNorm", (3, 4))
    check_raises(layer_fn(e, t), rand(2, 4, 3), match=(
        "LayerNorm((3, 4), eps=1e-05, elementwise_affine=True, bias=True): expected input with "
        "trailing dimensions (3, 4) (normalized_shape), received shape (2, 4, 3)"))  # fmt: skip
    with pytest.raises(ValueError):
        torch.nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match="num_channels must be divisible by num_groups"):
        nn.GroupNorm(4, 6)


# ---------------------------------------------------------------- dropout
def test_dropout_train_and_eval():
    drop = nn.Dropout(0.25)
    x = ember.ones(200, 100)
    y = drop(x)
    kept = y.detach().numpy() != 0
    assert abs(kept.mean() - 0.75) < 0.01  # 20000 draws: std of the fraction ~0.003
    np.testing.assert_allclose(y.detach().numpy()[kept], 1 / 0.75)
    drop.eval()
    assert drop(x) is x  # the identity in eval mode, as in PyTorch
    drop.train()
    assert (drop(x).detach().numpy() == 0).any()
    assert (nn.Dropout(0.0)(x).detach().numpy() == 1).all()
    assert (nn.Dropout(1.0)(x).detach().numpy() == 0).all()


def test_dropout_gradient_follows_the_mask_and_seed():
    x = ember.tensor(rand(50, 40), requires_grad=True)
    ember.manual_seed(3)
    y = nn.Dropout(0.4)(x)
    ember.manual_seed(3)
    y2 = nn.Dropout(0.4)(x)
    np.testing.assert_array_equal(y.detach().numpy(), y2.detach().numpy())
    y.sum().backward()
    mask = y.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), mask / 0.6)


def test_dropout_inplace_and_errors():
    x = ember.ones(10, 10)
    out = nn.Dropout(0.5, inplace=True)(x)
    assert out is x and (x.numpy() != 1).any()
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError):
            torch.nn.Dropout(p)
        with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1"):
            nn.Dropout(p)


# ---------------------------------------------------------------- embedding
@pytest.mark.parametrize(
    "kw", [{}, {"padding_idx": 1}, {"padding_idx": -1}, {"scale_grad_by_freq": True}]
)
def test_embedding(kw):
    e, t = twins("Embedding", 6, 3, **kw)
    idx = np.array([[0, 1, 5, 1], [2, 5, 5, 0]])
    compare(e, t, idx)
    compare(e, t, idx.astype(np.int32))


def test_embedding_max_norm_renormalises_in_place():
    e, t = twins("Embedding", 5, 4, max_norm=1.0)
    idx = np.array([0, 2, 2, 4])
    compare(e, t, idx)
    _close(e.weight, t.weight, "weight after renormalisation")


def test_embedding_padding_row_and_init():
    ember.manual_seed(0)
    emb = nn.Embedding(2000, 50, padding_idx=3)
    w = emb.weight.detach().numpy()
    assert (w[3] == 0).all()
    rest = np.delete(w, 3, axis=0)
    assert abs(rest.mean()) < 0.01 and abs(rest.std() - 1) < 0.01  # N(0, 1), 99950 draws
    out = emb(ember.tensor([3, 4, 3]))
    out.sum().backward()
    g = emb.weight.grad.numpy()
    assert (g[3] == 0).all() and (g[4] == 1).all()


def test_embedding_from_pretrained():
    table = ember.tensor(rand(4, 3))
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad
    np.testing.assert_array_equal(emb(ember.tensor([2])).numpy()[0], table.numpy()[2])
    with ember.no_grad():
        table[0, 0] = 7.0  # the weight shares the tensor's memory, as in PyTorch
    assert emb.weight[0, 0].item() == 7.0
    tuned = nn.Embedding.from_pretrained(table, freeze=False, padding_idx=0)
    assert tuned.weight.requires_grad and tuned.padding_idx == 0
    assert tuned.weight[0, 0].item() == 7.0  # the padding row is left as it is
    assert repr(tuned) == repr(torch.nn.Embedding.from_pretrained(torch.ones(4, 3), padding_idx=0))
    with pytest.raises(ValueError, match="expected a 2-D tensor"):
        nn.Embedding.from_pretrained(ember.ones(3))


def test_embedding_errors():
    e, t = twins("Embedding", 10, 3)
    check_raises(
        layer_fn(e, t),
        rand(2, 3),
        match=("Embedding(10, 3): expected integer indices (int64 or int32), received float64"),
    )
    check_raises(layer_fn(e, t), np.array([[1, 12]]),
                 match="Embedding(10, 3): expected indices in [0, 9] (num_embeddings=10), "
                 "received index 12")  # fmt: skip
    check_raises(layer_fn(e, t), np.array([-1, 2]), match="received index -1")
    with pytest.raises(Exception):  # noqa: B017 - PyTorch asserts
        torch.nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match=re.escape("padding_idx must be within [-5, 4]")):
        nn.Embedding(5, 2, padding_idx=5)


# ---------------------------------------------------------------- activations
ACTIVATIONS = [
    ("ReLU", (), {}), ("LeakyReLU", (0.2,), {}), ("ELU", (0.7,), {}), ("GELU", (), {}),
    ("GELU", (), {"approximate": "tanh"}), ("SiLU", (), {}), ("Softplus", (2.0, 1.0), {}),
    ("Sigmoid", (), {}), ("Tanh", (), {}), ("Softmax", (1,), {}), ("Softmax", (-1,), {}),
    ("LogSoftmax", (1,), {}), ("LogSoftmax", (0,), {}),
]  # fmt: skip


def _away_from_zero(*shape, dtype=F64):
    x = rand(*shape, dtype=dtype, low=0.1, high=2.0)
    return x * np.where(rand(*shape) > 0, 1, -1).astype(dtype)


@pytest.mark.parametrize("name, args, kw", ACTIVATIONS)
def test_activation(name, args, kw):
    e, t = twins(name, *args, **kw)
    check(layer_fn(e, t), _away_from_zero(3, 4), gradgrad=True)


@pytest.mark.parametrize("name", ["ReLU", "LeakyReLU", "ELU", "SiLU"])
def test_activation_inplace(name):
    e, t = twins(name, inplace=True)
    x = _away_from_zero(2, 5)
    ex, tx = ember.tensor(x.copy()), torch.from_numpy(x.copy())
    assert e(ex) is ex
    t(tx)
    np.testing.assert_allclose(ex.numpy(), tx.numpy(), rtol=1e-7)


def test_activation_float32_and_errors():
    e, t = twins("GELU", dtype=F32)
    check(layer_fn(e, t), _away_from_zero(4, 3, dtype=F32))
    e, t = twins("Softmax", 2)
    check_raises(layer_fn(e, t), rand(2, 3), match="Softmax(dim=2): softmax: dim 2 is out of range")
    with pytest.raises(ValueError, match="approximate must be 'none' or 'tanh'"):
        nn.GELU("fast")
    with pytest.warns(UserWarning, match="implicit choice of dim"):
        nn.Softmax()(ember.randn(2, 3))


# ---------------------------------------------------------------- losses
def _probs(*shape):
    p = positive(*shape)
    return p / p.sum(axis=1, keepdims=True)


def _loss_case(name, kw, make):
    """Build the loss in both libraries; tensor keyword arguments (``weight``, ...) are given
    as NumPy arrays and become each library's tensor."""
    ekw = {k: ember.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    tkw = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
    return getattr(nn, name)(**ekw), getattr(torch.nn, name)(**tkw), make()


LOSSES = [
    ("CrossEntropyLoss", {}, lambda: (rand(4, 5), randint(5, 4))),
    ("CrossEntropyLoss", {"weight": positive(5), "ignore_index": 2, "label_smoothing": 0.1},
     lambda: (rand(6, 5), np.array([0, 2, 4, 1, 2, 3]))),
    ("CrossEntropyLoss", {"reduction": "none"}, lambda: (rand(2, 3, 4), randint(3, 2, 4))),
    ("CrossEntropyLoss", {"reduction": "sum"}, lambda: (rand(3, 4), _probs(3, 4))),
    ("NLLLoss", {}, lambda: (rand(4, 5), randint(5, 4))),
    ("NLLLoss", {"weight": positive(3), "reduction": "sum"}, lambda: (rand(2, 3, 2), randint(3, 2, 2))),
    ("MSELoss", {}, lambda: (rand(3, 4), rand(3, 4))),
    ("MSELoss", {"reduction": "none"}, lambda: (rand(3, 4), rand(3, 4))),
    ("L1Loss", {"reduction": "sum"}, lambda: (rand(3, 4), rand(3, 4) + 2.5)),
    ("SmoothL1Loss", {"beta": 0.5}, lambda: (rand(3, 4) * 2, rand(3, 4) * 0.05 + 3)),
    ("BCELoss", {}, lambda: (positive(3, 4) / 2.1, rand(3, 4, low=0, high=1))),
    ("BCELoss", {"weight": positive(4)}, lambda: (positive(3, 4) / 2.1, rand(3, 4, low=0, high=1))),
    ("BCEWithLogitsLoss", {"pos_weight": positive(4), "weight": positive(3, 1)},
     lambda: (rand(3, 4) * 3, rand(3, 4, low=0, high=1))),
    ("KLDivLoss", {"reduction": "batchmean"}, lambda: (np.log(_probs(3, 4)), _probs(3, 4))),
    ("KLDivLoss", {"log_target": True, "reduction": "sum"},
     lambda: (np.log(_probs(3, 4)), np.log(_probs(3, 4)))),
]  # fmt: skip


@pytest.mark.parametrize("name, kw, make", LOSSES)
def test_loss(name, kw, make):
    e, t, (x, target) = _loss_case(name, kw, make)
    # the target takes no gradient here (some PyTorch losses refuse a target that needs one)
    targets = {ember: ember.tensor(target), torch: torch.from_numpy(target)}
    check(lambda m, x: (e if m is ember else t)(x, targets[m]), x, gradgrad=True)


def test_loss_buffers_repr_and_float32():
    w = rand(3, low=0.5, high=1)
    e = nn.CrossEntropyLoss(weight=ember.tensor(w))
    t = torch.nn.CrossEntropyLoss(weight=torch.from_numpy(w))
    assert list(e.state_dict()) == list(t.state_dict()) == ["weight"]
    assert [n for n, _ in e.named_buffers()] == ["weight"]
    e2 = nn.BCEWithLogitsLoss(pos_weight=ember.ones(3))
    t2 = torch.nn.BCEWithLogitsLoss(pos_weight=torch.ones(3))
    assert list(e2.state_dict()) == list(t2.state_dict()) == ["pos_weight"]
    assert repr(e) == repr(t) == "CrossEntropyLoss()"
    e.to(ember.float32)
    assert e.weight.dtype is ember.float32
    x, y = rand(4, 3, dtype=F32), randint(3, 4)
    ey = e(ember.tensor(x), ember.tensor(y))
    ty = t.float()(torch.from_numpy(x), torch.from_numpy(y))
    _close(ey, ty, "loss")


def test_loss_legacy_arguments_and_errors():
    with pytest.warns(UserWarning, match="use reduction='sum' instead"):
        loss = nn.MSELoss(size_average=False)
    assert loss.reduction == "sum"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert nn.L1Loss(reduce=False).reduction == "none"
    e, t = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    check_raises(lambda m, x, y: (e if m is ember else t)(x, y), rand(4, 5), randint(5, 3),
                 match="CrossEntropyLoss(): cross_entropy:")  # fmt: skip


# ---------------------------------------------------------------- Flatten, Unflatten, Identity
@pytest.mark.parametrize(
    "name, args, shape",
    [("Flatten", (), (2, 3, 4)), ("Flatten", (0, 1), (2, 3, 4)), ("Flatten", (-2,), (2, 3, 4)),
     ("Unflatten", (1, (3, 2)), (2, 6)), ("Unflatten", (-1, [2, -1]), (2, 3, 4)),
     ("Identity", (), (2, 3))],
)  # fmt: skip
def test_shape_layers(name, args, shape):
    e, t = twins(name, *args)
    check(layer_fn(e, t), rand(*shape))


def test_shape_layer_errors():
    e, t = twins("Unflatten", 1, (4, 2))
    check_raises(layer_fn(e, t), rand(2, 6), match="Unflatten(dim=1, unflattened_size=(4, 2)): "
                 "unflatten: sizes [4, 2] don't multiply up")  # fmt: skip
    e, t = twins("Flatten", 2)
    check_raises(layer_fn(e, t), rand(3), match="Flatten(start_dim=2, end_dim=-1): flatten:")
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found "
                       "element of type float at pos 1"):  # fmt: skip
        nn.Unflatten(1, (2, 3.0))
    assert repr(nn.Identity(54, unused="x")) == "Identity()"


# ---------------------------------------------------------------- repr and state_dict keys
LAYERS = [
    ("Linear", (784, 10), {}), ("Linear", (3, 4), {"bias": False}),
    ("Conv2d", (3, 16, 3), {}),
    ("Conv2d", (3, 16, (3, 5)), {"stride": 2, "padding": (1, 2), "dilation": 2, "bias": False}),
    ("Conv2d", (4, 8, 3), {"padding": "same", "padding_mode": "reflect", "groups": 2}),
    ("Conv1d", (4, 8, 3), {"padding": 1, "padding_mode": "circular"}),
    ("ConvTranspose2d", (4, 8, 3), {"stride": 2, "output_padding": 1}),
    ("ConvTranspose1d", (4, 8, 3), {"stride": 2, "padding": 1, "bias": False}),
    ("MaxPool2d", (2,), {}), ("MaxPool2d", ((2, 3),), {"stride": 1, "padding": 1, "ceil_mode": True}),
    ("MaxPool1d", (3,), {}), ("AvgPool2d", (3,), {"stride": 2, "padding": 1}), ("AvgPool1d", (3,), {}),
    ("AdaptiveAvgPool2d", ((None, 3),), {}), ("AdaptiveAvgPool1d", (4,), {}),
    ("BatchNorm1d", (16,), {}),
    ("BatchNorm2d", (16,), {"eps": 1e-3, "momentum": None, "affine": False, "track_running_stats": False}),
    ("BatchNorm2d", (16,), {"bias": False}),
    ("LayerNorm", (512,), {}), ("LayerNorm", ((4, 5),), {"elementwise_affine": False}),
    ("LayerNorm", (8,), {"bias": False}), ("GroupNorm", (4, 16), {"affine": False, "eps": 1e-6}),
    ("Dropout", (), {}), ("Dropout", (0.1,), {"inplace": True}), ("Embedding", (10, 3), {}),
    ("Embedding", (10, 3), {"padding_idx": -1, "max_norm": 1.0, "norm_type": 1.0,
                            "scale_grad_by_freq": True}),
    ("ReLU", (), {}), ("ReLU", (True,), {}), ("LeakyReLU", (0.2, True), {}), ("ELU", (0.5,), {}),
    ("GELU", ("tanh",), {}), ("SiLU", (True,), {}), ("Softplus", (2, 10), {}), ("Sigmoid", (), {}),
    ("Tanh", (), {}), ("Softmax", (), {}), ("LogSoftmax", (-1,), {}),
    ("NLLLoss", (), {}), ("SmoothL1Loss", (), {"beta": 0.5}), ("KLDivLoss", (), {"log_target": True}),
    ("Flatten", (0, 2), {}), ("Unflatten", (-1, [2, 3]), {}),
]  # fmt: skip


@pytest.mark.parametrize("name, args, kw", LAYERS)
def test_repr_and_state_dict_keys(name, args, kw):
    e, t = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    for (n, pe), (_, pt) in zip(e.state_dict().items(), t.state_dict().items()):
        assert tuple(pe.shape) == tuple(pt.shape), n
        assert pe.dtype.name == TORCH_TO_NAME[pt.dtype], n


def test_attributes_match_torch():
    for name, args, kw in LAYERS:
        e, t = getattr(nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
        for attr in ("in_features", "kernel_size", "stride", "padding", "dilation", "groups",
                     "output_padding", "padding_mode", "num_features", "eps", "momentum",
                     "normalized_shape", "p", "padding_idx", "negative_slope", "dim",
                     "reduction", "start_dim", "unflattened_size"):  # fmt: skip
            if hasattr(t, attr):
                assert getattr(e, attr) == getattr(t, attr), (name, attr)


# ---------------------------------------------------------------- default initialisation
@pytest.mark.parametrize(
    "name, args, fan_in",
    [("Linear", (400, 300), 400), ("Conv2d", (64, 128, 3), 576),
     ("Conv2d", (32, 160, (3, 5)), 480), ("Conv1d", (64, 256, 5), 320),
     ("ConvTranspose2d", (128, 64, 3), 576)],
)  # fmt: skip
def test_default_init_is_pytorchs(name, args, fan_in):
    ember.manual_seed(1)
    layer = getattr(nn, name)(*args)
    bound = 1 / math.sqrt(fan_in)
    w, b = layer.weight.detach().numpy(), layer.bias.detach().numpy()
    for values in (w, b):
        assert values.min() >= -bound and values.max() <= bound
    # U(-bound, bound): mean 0, std bound / sqrt(3); >= 73k draws put 1% at > 4 sd
    assert abs(w.mean()) < 0.01 * bound
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.01
    assert w.min() < -0.99 * bound and w.max() > 0.99 * bound
    assert b.min() < -0.5 * bound and b.max() > 0.5 * bound  # spread over the interval
    # and PyTorch's layer has the same bound (seeded: a float32 draw may round up to it)
    torch.manual_seed(1)
    t = getattr(torch.nn, name)(*args)
    top = t.weight.abs().max().item()
    assert top <= float(np.float32(bound)) and top > 0.99 * bound


def test_default_init_of_norms_and_seeding():
    for layer in (nn.BatchNorm2d(5), nn.LayerNorm(5), nn.GroupNorm(1, 5)):
        assert (layer.weight.detach().numpy() == 1).all()
        assert (layer.bias.detach().numpy() == 0).all()
    bn = nn.BatchNorm1d(5)
    assert (bn.running_mean.numpy() == 0).all() and (bn.running_var.numpy() == 1).all()
    ember.manual_seed(5)
    a = nn.Linear(4, 3).weight.detach().numpy().copy()
    ember.manual_seed(5)
    b = nn.Linear(4, 3).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)
    assert nn.Conv2d(2, 3, 3, dtype=ember.float64).weight.dtype is ember.float64
    assert nn.Linear(3, 2).weight.dtype is ember.float32  # the default dtype
    ember.set_default_dtype(ember.float64)
    assert nn.LayerNorm(3).weight.dtype is ember.float64
