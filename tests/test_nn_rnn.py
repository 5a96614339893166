"""RNN, LSTM, GRU and their cells against PyTorch.

Each oracle check builds the layer in both libraries and runs it with its parameters
replaced by the same arrays (torch through ``torch.func.functional_call``), so ``check``
compares the outputs, the final states and the gradients of the input, the initial state
and every parameter.
"""

import math
import warnings

import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.oracle import check, check_raises, rand

MODES = ["RNN", "LSTM", "GRU"]


def _layer(m, cls, *args, **kwargs):
    return getattr(m.nn, cls)(*args, **kwargs)


def _param_arrays(cls, args, kwargs, dtype=np.float64, scale=0.6):
    """Names and random values of the parameters of ``cls(*args, **kwargs)`` (as torch has
    them), in the order of ``named_parameters``."""
    layer = getattr(torch.nn, cls)(*args, **kwargs)
    names = [n for n, _ in layer.named_parameters()]
    return names, [rand(*p.shape, dtype=dtype) * scale for _, p in layer.named_parameters()]


def _call(m, layer, names, params, inputs):
    """Run ``layer(*inputs)`` with its parameters replaced by ``params``."""
    if m is torch:
        return torch.func.functional_call(layer, dict(zip(names, params)), tuple(inputs))
    for name, p in zip(names, params):
        mod, _, leaf = name.rpartition(".")
        layer.get_submodule(mod)._parameters[leaf] = p
    return layer(*inputs)


def _flat(out):
    """(output, h_n) or (output, (h_n, c_n)) as a flat list."""
    y, h = out
    return [y, *h] if isinstance(h, tuple) else [y, h]


def _dtype(m, npdtype):
    return m.float64 if npdtype == np.float64 else m.float32


def check_rnn(cls, kwargs, x, hx=None, train=False, dtype=np.float64, **check_kw):
    args = (x.shape[-1], 4)
    names, params = _param_arrays(cls, args, kwargs, dtype)
    n = len(params)

    def f(m, *a):
        layer = _layer(m, cls, *args, **kwargs, dtype=_dtype(m, dtype)).train(train)
        inputs = (a[0],) if hx is None else (a[0], a[1])
        return _flat(_call(m, layer, names, a[-n:], inputs))

    data = (x,) if hx is None else (x, hx)
    check(f, *data, *params, **check_kw)


def _state(cls, layers, batch, hidden=4, proj=0, dtype=np.float64):
    h = rand(*layers, *batch, proj or hidden, dtype=dtype)
    if cls == "LSTM":
        return (h, rand(*layers, *batch, hidden, dtype=dtype))
    return h


# ---------------------------------------------------------------- full layers
@pytest.mark.parametrize("cls", MODES)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("with_state", [False, True])
def test_layers_match_torch(cls, num_layers, bidirectional, batch_first, with_state):
    kw = {"num_layers": num_layers, "bidirectional": bidirectional, "batch_first": batch_first}
    T, N = 4, 2
    x = rand(N, T, 3) if batch_first else rand(T, N, 3)
    d = 2 if bidirectional else 1
    hx = _state(cls, (num_layers * d,), (N,)) if with_state else None
    # The finite-difference gradcheck costs two forwards per parameter element: run it on
    # the one-layer cases, where every parameter enters the same kind of recurrence.
    check_rnn(cls, kw, x, hx, gradcheck=num_layers == 1 and not batch_first)


@pytest.mark.parametrize("cls", MODES)
@pytest.mark.parametrize("with_state", [False, True])
def test_unbatched_input(cls, with_state):
    kw = {"num_layers": 2, "bidirectional": True}
    hx = _state(cls, (4,), ()) if with_state else None
    check_rnn(cls, kw, rand(5, 3), hx, gradcheck=False)


@pytest.mark.parametrize("cls", MODES)
def test_float32(cls):
    kw = {"num_layers": 2, "bidirectional": True}
    hx = _state(cls, (4,), (2,), dtype=np.float32)
    check_rnn(cls, kw, rand(4, 2, 3, dtype=np.float32), hx, dtype=np.float32)


@pytest.mark.parametrize("cls", MODES)
def test_no_bias(cls):
    check_rnn(cls, {"bias": False, "num_layers": 2}, rand(3, 2, 3), gradcheck=False)


def test_rnn_relu():
    check_rnn(
        "RNN",
        {"nonlinearity": "relu", "num_layers": 2, "bidirectional": True},
        rand(4, 2, 3),
        _state("RNN", (4,), (2,)),
    )


@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_proj_size(bidirectional):
    kw = {"num_layers": 2, "proj_size": 2, "bidirectional": bidirectional}
    d = 2 if bidirectional else 1
    check_rnn(
        "LSTM",
        kw,
        rand(4, 2, 3),
        _state("LSTM", (2 * d,), (2,), proj=2),
        gradcheck=not bidirectional,
    )


@pytest.mark.parametrize("cls", MODES)
def test_second_order(cls):
    check_rnn(
        cls,
        {"bidirectional": True},
        rand(3, 2, 3),
        _state(cls, (2,), (2,)),
        gradcheck=False,
        gradgrad=True,
    )


@pytest.mark.parametrize("cls", MODES)
def test_dropout_is_off_in_eval_mode(cls):
    check_rnn(cls, {"num_layers": 2, "dropout": 0.5}, rand(4, 2, 3), gradcheck=False)


@pytest.mark.parametrize("cls", MODES)
def test_dropout_one_in_training_zeroes_the_second_layers_input(cls):
    # p = 1 makes the dropout mask deterministic (all zeros) in both libraries.
    check_rnn(cls, {"num_layers": 2, "dropout": 1.0}, rand(4, 2, 3), train=True, gradcheck=False)


@pytest.mark.parametrize("cls", MODES)
def test_dropout_in_training_only_between_layers(cls):
    layer = getattr(nn, cls)(3, 5, num_layers=2, dropout=0.5).double()
    x = ember.tensor(rand(6, 4, 3))

    def run(seed):
        ember.manual_seed(seed)
        out, h = layer(x)
        return out.detach().numpy(), (h[0] if cls == "LSTM" else h).detach().numpy()

    y1, h1 = run(0)
    y2, _ = run(0)
    np.testing.assert_array_equal(y1, y2)  # the same seed, the same masks
    y3, _ = run(1)
    assert not np.allclose(y1, y3)
    layer.eval()
    y_eval, h_eval = run(0)
    assert not np.allclose(y1, y_eval)
    # The first layer's final state is computed before any dropout.
    np.testing.assert_allclose(h1[0], h_eval[0], rtol=1e-12)
    assert not np.allclose(h1[1], h_eval[1])


def test_dropout_with_one_layer_warns_and_does_nothing():
    with pytest.warns(UserWarning, match="num_layers=1"):
        layer = nn.GRU(3, 4, dropout=0.5).double()
    x = ember.tensor(rand(5, 2, 3))
    y_train = layer(x)[0].detach().numpy()
    np.testing.assert_array_equal(y_train, layer.eval()(x)[0].detach().numpy())


# ---------------------------------------------------------------- cells
CELLS = ["RNNCell", "LSTMCell", "GRUCell"]


def check_cell(cls, x, hx, dtype=np.float64, bias=True, **kw):
    extra = {"nonlinearity": "relu"} if cls == "RNNCell" and kw.pop("relu", False) else {}
    args = (x.shape[-1], 4)
    names, params = _param_arrays(cls, args, dict(bias=bias, **extra), dtype)
    n = len(params)

    def f(m, *a):
        layer = _layer(m, cls, *args, bias=bias, **extra, dtype=_dtype(m, dtype))
        out = _call(m, layer, names, a[-n:], (a[0],) if hx is None else (a[0], a[1]))
        return list(out) if isinstance(out, tuple) else out

    check(f, *((x,) if hx is None else (x, hx)), *params, **kw)


def _cell_state(cls, batch, dtype=np.float64):
    h = rand(*batch, 4, dtype=dtype)
    return (h, rand(*batch, 4, dtype=dtype)) if cls == "LSTMCell" else h


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("with_state", [False, True])
def test_cells_match_torch(cls, with_state):
    check_cell(cls, rand(3, 5), _cell_state(cls, (3,)) if with_state else None, gradgrad=True)


@pytest.mark.parametrize("cls", CELLS)
def test_cells_unbatched_no_bias_float32(cls):
    check_cell(cls, rand(5), _cell_state(cls, ()), bias=False)
    check_cell(
        cls, rand(2, 5, dtype=np.float32), _cell_state(cls, (2,), np.float32), dtype=np.float32
    )


def test_rnn_cell_relu():
    check_cell("RNNCell", rand(3, 5), _cell_state("RNNCell", (3,)), relu=True)


def test_a_loop_of_cells_equals_the_layer():
    torch.manual_seed(0)
    t = torch.nn.LSTM(3, 4).double()
    layer = nn.LSTM(3, 4).double()
    layer.load_state_dict(t.state_dict())
    cell = nn.LSTMCell(3, 4).double()
    cell.load_state_dict({k[:-3]: v for k, v in t.state_dict().items()})
    x = ember.tensor(rand(5, 2, 3))
    h = c = None
    for step in x:
        h, c = cell(step, None if h is None else (h, c))
    _, (h_n, c_n) = layer(x)
    np.testing.assert_allclose(h.detach().numpy(), h_n[0].detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(c.detach().numpy(), c_n[0].detach().numpy(), rtol=1e-12)


# ---------------------------------------------------------------- state dicts, init, repr
CONFIGS = [
    ("RNN", (3, 4), {}),
    ("RNN", (3, 4, 2), {"nonlinearity": "relu", "bias": False, "batch_first": True}),
    ("LSTM", (3, 4), {"num_layers": 2, "bidirectional": True, "dropout": 0.25}),
    ("LSTM", (3, 4), {"proj_size": 2, "bidirectional": True}),
    ("GRU", (3, 4), {"num_layers": 3, "batch_first": True}),
    ("RNNCell", (3, 4), {"nonlinearity": "relu", "bias": False}),
    ("LSTMCell", (3, 4), {}),
    ("GRUCell", (3, 4), {"bias": False}),
]


@pytest.mark.parametrize("cls,args,kwargs", CONFIGS)
def test_state_dict_and_repr_match_torch(cls, args, kwargs):
    t = getattr(torch.nn, cls)(*args, **kwargs).double()
    e = getattr(nn, cls)(*args, **kwargs).double()
    assert list(e.state_dict()) == list(t.state_dict())
    for (name, p), (tname, tp) in zip(e.named_parameters(), t.named_parameters()):
        assert name == tname and tuple(p.shape) == tuple(tp.shape)
    assert repr(e) == repr(t)
    # Loading torch's state dict gives torch's outputs through the ordinary module API.
    e.load_state_dict(t.state_dict())
    e.eval(), t.eval()
    cell = cls.endswith("Cell")
    x = rand(2, 3) if cell else rand(5, 2, 3)
    te, tt = e(ember.tensor(x)), t(torch.tensor(x))
    for a, b in zip(
        _flat(te) if not cell else _as_list(te), _flat(tt) if not cell else _as_list(tt)
    ):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-7, atol=1e-9)


def _as_list(out):
    return list(out) if isinstance(out, tuple) else [out]


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU", "LSTMCell"])
def test_default_init_is_uniform_in_one_over_sqrt_hidden(cls):
    ember.manual_seed(0)
    hidden = 16
    layer = getattr(nn, cls)(32, hidden, **({} if cls.endswith("Cell") else {"num_layers": 2}))
    bound = 1 / math.sqrt(hidden)
    values = np.concatenate([p.detach().numpy().ravel() for p in layer.parameters()])
    assert values.size > 1000
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.95 * bound and values.max() > 0.95 * bound
    std = bound / math.sqrt(3)  # of U(-bound, bound)
    assert abs(values.mean()) < 4 * std / math.sqrt(values.size)
    np.testing.assert_allclose(values.std(), std, rtol=0.05)
    before = layer.all_weights[0][0].detach().numpy().copy() if not cls.endswith("Cell") else None
    layer.reset_parameters()
    if before is not None:
        assert not np.array_equal(before, layer.all_weights[0][0].detach().numpy())


def test_dtype_device_arguments_and_all_weights():
    layer = nn.LSTM(3, 4, num_layers=2, bidirectional=True, dtype=ember.float64, device="cpu")
    assert all(p.dtype is ember.float64 for p in layer.parameters())
    assert len(layer.all_weights) == 4 and all(len(w) == 4 for w in layer.all_weights)
    assert layer.all_weights[1][0] is layer.weight_ih_l0_reverse
    assert layer.all_weights[3][3] is layer.bias_hh_l1_reverse
    layer.flatten_parameters()  # a no-op kept for PyTorch code


def test_batch_of_zero():
    layer = nn.GRU(3, 4).double()
    out, h = layer(ember.tensor(rand(5, 0, 3)))
    assert tuple(out.shape) == (5, 0, 4) and tuple(h.shape) == (1, 0, 4)


# ---------------------------------------------------------------- errors
def test_input_errors():
    x = rand(5, 3, 16, dtype=np.float32)
    err = check_raises(
        lambda m, x: m.nn.LSTM(32, 20)(x),
        x,
        match="expected input of size 32 in its last dimension (input_size), "
        "received shape (5, 3, 16)",
    )
    assert str(err).startswith("LSTM(32, 20): ")
    check_raises(
        lambda m, x: m.nn.GRU(16, 4)(x),
        rand(2, 5, 3, 16, dtype=np.float32),
        match="expected input of 2 dims (L, H_in) or 3 dims (L, N, H_in), received "
        "shape (2, 5, 3, 16)",
    )
    check_raises(
        lambda m, x: m.nn.RNN(16, 4)(x),
        x.astype(np.float64),
        match="expected input of dtype float32",
    )
    check_raises(
        lambda m, x: m.nn.RNN(16, 4)(x),
        rand(0, 3, 16, dtype=np.float32),
        match="expected a sequence of length at least 1",
    )


def test_state_errors():
    x = rand(5, 3, 16, dtype=np.float32)
    check_raises(
        lambda m, x, h: m.nn.GRU(16, 20, 2)(x, h),
        x,
        rand(2, 5, 20, dtype=np.float32),
        match="expected hx of shape (2, 3, 20) (num_layers * num_directions, N, size) "
        "for input of shape (5, 3, 16), received (2, 5, 20)",
    )
    check_raises(
        lambda m, x, h, c: m.nn.LSTM(16, 20)(x, (h, c)),
        x,
        rand(1, 3, 20, dtype=np.float32),
        rand(1, 3, 7, dtype=np.float32),
        match="expected hx[1] (c_0) of shape (1, 3, 20)",
    )
    check_raises(
        lambda m, x, h, c: m.nn.LSTM(16, 20)(x, (h, c)),
        x,
        rand(3, 20, dtype=np.float32),
        rand(1, 3, 20, dtype=np.float32),
        match="expected hx[0] (h_0) of shape (1, 3, 20)",
    )
    check_raises(
        lambda m, x, h: m.nn.RNN(16, 20)(x, h),
        rand(5, 16, dtype=np.float32),
        rand(1, 1, 20, dtype=np.float32),
        match="expected hx of shape (1, 20) (num_layers * num_directions, size)",
    )
    check_raises(
        lambda m, x, h: m.nn.LSTM(16, 20)(x, h),
        x,
        rand(1, 3, 20, dtype=np.float32),
        match="expected hx to be a pair (h_0, c_0)",
        exc=TypeError,
    )


def test_cell_errors():
    check_raises(
        lambda m, x: m.nn.LSTMCell(3, 4)(x),
        rand(2, 5, dtype=np.float32),
        match="expected input of size 3 in its last dimension (input_size), received shape (2, 5)",
    )
    check_raises(
        lambda m, x: m.nn.RNNCell(3, 4)(x),
        rand(2, 2, 3, dtype=np.float32),
        match="expected input of 1 dim (H_in) or 2 dims (N, H_in)",
    )
    check_raises(
        lambda m, x, h: m.nn.GRUCell(3, 4)(x, h),
        rand(2, 3, dtype=np.float32),
        rand(3, 4, dtype=np.float32),
        match="expected hx of shape (2, 4) for input of shape (2, 3), received (3, 4)",
    )
    check_raises(
        lambda m, x, h, c: m.nn.LSTMCell(3, 4)(x, (h, c)),
        rand(2, 3, dtype=np.float32),
        rand(2, 5, dtype=np.float32),
        rand(2, 4, dtype=np.float32),
        match="expected hx[0] (h) of shape (2, 4)",
    )
    check_raises(lambda m, x: m.nn.GRUCell(3, 4)(x), rand(2, 3), match="expected input of dtype")


def test_constructor_errors():
    check_raises(
        lambda m: m.nn.RNN(3, 4, nonlinearity="sigmoid"),
        match="nonlinearity must be 'tanh' or 'relu', received 'sigmoid'",
    )
    # PyTorch only notices in forward; ember at construction.
    check_raises(
        lambda m, x: m.nn.RNNCell(3, 4, nonlinearity="gelu")(x),
        rand(2, 3, dtype=np.float32),
        match="nonlinearity must be 'tanh' or 'relu'",
    )
    check_raises(
        lambda m: m.nn.LSTM(3, 4, dropout=1.5), match="dropout must be a probability in [0, 1]"
    )
    check_raises(
        lambda m: m.nn.LSTM(3, 4, proj_size=4),
        match="proj_size must be smaller than hidden_size (4), received 4",
    )
    check_raises(lambda m: m.nn.GRU(3, 4, proj_size=2), match="proj_size")
    check_raises(lambda m: m.nn.GRU(3, 0), match="hidden_size=0")
    check_raises(lambda m: m.nn.LSTM(3, 4, num_layers=0), match="num_layers=0")
    check_raises(lambda m: m.nn.LSTM(3, 4, bias=1), match="bias must be a bool")


def test_warnings_are_quiet_without_dropout():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.LSTM(3, 4, num_layers=2, dropout=0.5)
        nn.GRU(3, 4)
