"""ember.nn layers: recurrent networks (RNN, LSTM, GRU) and their one-step cells.

The parameters, their names (``weight_ih_l0``, ``bias_hh_l1_reverse`` …), the gate order
(LSTM: i, f, g, o; GRU: r, z, n) and the initialisation (every weight and bias uniform in
±1/sqrt(hidden_size)) are PyTorch's, so state dicts move between the two unchanged.

A layer runs its time loop in Python over ember ops. Each layer and direction first
projects the whole input sequence with one matrix product; a time step then only adds the
hidden state's product and applies the gate nonlinearities. That loop is the reference:
with ``ember.kernels.enabled()`` an LSTM or GRU layer (without proj_size) runs each layer
and direction as one fused op (``ember.ops.rnn``), whose backward is one op as well.
"""

from __future__ import annotations

import math
import numbers
import warnings

from ember import creation, kernels
from ember.autograd.function import Function
from ember.backend import get_array_module
from ember.nn import functional as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.modules._utils import (
    check_like,
    check_tensor_input,
    non_negative_int,
    positive_int,
)
from ember.nn.parameter import Parameter
from ember.ops.linalg import matmul
from ember.ops.rnn import GRULayer, LSTMLayer
from ember.ops.shape import cat, stack
from ember.tensor import Tensor

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


# ---------------------------------------------------------------- two cheap splits
# ember's chunk/unbind make one index node per piece, and each of their backwards scatters
# into a zero tensor of the whole input's size; inside a time loop that is quadratic in the
# sequence length. These make one node whose backward joins the pieces' gradients once.
class _UnbindTime(Function):
    """x[0], x[1], … (views) of a (T, …) tensor."""

    @staticmethod
    def forward(ctx, x):
        return tuple(x[t] for t in range(x.shape[0]))

    @staticmethod
    def backward(ctx, *gys):
        return stack(gys)


class _SplitLast(Function):
    """Pieces of the given sizes along the last dim (views)."""

    @staticmethod
    def forward(ctx, x, sizes):
        xp = get_array_module(x)
        bounds = [sum(sizes[: i + 1]) for i in range(len(sizes) - 1)]
        return tuple(xp.split(x, bounds, axis=-1))

    @staticmethod
    def backward(ctx, *gys):
        return cat(gys, -1), None


def _split(x: Tensor, n: int, size: int) -> tuple:
    return _SplitLast.apply(x, (size,) * n)


# ---------------------------------------------------------------- one time step
# ``xw`` is the input's projection x @ W_ih^T (+ biases), ``w_hh_t`` is W_hh transposed.
def _rnn_step(xw, h, w_hh_t, relu):
    a = xw + matmul(h, w_hh_t)
    return a.relu() if relu else a.tanh()


def _lstm_step(xw, h, c, w_hh_t, w_hr_t):
    gates = xw + matmul(h, w_hh_t)
    i, f, g, o = _split(gates, 4, c.shape[-1])
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()
    h = o.sigmoid() * c.tanh()
    if w_hr_t is not None:
        h = matmul(h, w_hr_t)
    return h, c


def _gru_step(xw, h, w_hh_t, b_hh):
    hw = matmul(h, w_hh_t)
    if b_hh is not None:
        hw = hw + b_hh
    n_h = h.shape[-1]
    x_rz, x_n = _SplitLast.apply(xw, (2 * n_h, n_h))
    h_rz, h_n = _SplitLast.apply(hw, (2 * n_h, n_h))
    r, z = _split((x_rz + h_rz).sigmoid(), 2, n_h)
    n = (x_n + r * h_n).tanh()
    return n + z * (h - n)  # = (1 - z) * n + z * h


def _uniform_(params, hidden_size: int) -> None:
    bound = 1.0 / math.sqrt(hidden_size)
    for p in params:
        init.uniform_(p, -bound, bound)


def _check_bool(layer, name, value):
    if not isinstance(value, bool):
        raise TypeError(f"{layer}: {name} must be a bool, received {value!r}")


def _shape(t) -> tuple:
    return tuple(t.shape)


# ---------------------------------------------------------------- the layers
class RNNBase(Module):
    """The common part of RNN, LSTM and GRU: parameters, checks and the layer loop.
    ``mode`` is one of 'RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU'."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"RNNBase: mode must be one of {sorted(_GATES)}, received {mode!r}")
        name = "RNN" if mode.startswith("RNN") else mode
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, numbers.Real)
            or not (0 <= dropout <= 1)
        ):
            raise ValueError(
                f"{name}: dropout must be a probability in [0, 1] (of zeroing an element), "
                f"received {dropout!r}"
            )
        _check_bool(name, "bias", bias)
        _check_bool(name, "batch_first", batch_first)
        _check_bool(name, "bidirectional", bidirectional)
        positive_int(input_size, "input_size")
        positive_int(hidden_size, "hidden_size")
        positive_int(num_layers, "num_layers")
        non_negative_int(proj_size, "proj_size")
        if proj_size >= hidden_size:
            raise ValueError(
                f"{name}: proj_size must be smaller than hidden_size ({hidden_size}), received "
                f"{proj_size}"
            )
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"{name}: dropout is applied between recurrent layers, so it has no effect with "
                f"num_layers=1 (dropout={dropout}, num_layers={num_layers})",
                stacklevel=3,
            )
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout = float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size

        gate_size = _GATES[mode] * hidden_size
        out_size = proj_size if proj_size > 0 else hidden_size
        num_directions = 2 if bidirectional else 1
        self._flat_weights_names = []
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else out_size * num_directions
            for direction in range(num_directions):
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = {"weight_ih": (gate_size, layer_in), "weight_hh": (gate_size, out_size)}
                if bias:
                    shapes.update(bias_ih=(gate_size,), bias_hh=(gate_size,))
                if proj_size > 0:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for kind, shape in shapes.items():
                    setattr(
                        self,
                        kind + suffix,
                        Parameter(creation.empty(*shape, dtype=dtype, device=device)),
                    )
                    names.append(kind + suffix)
                self._flat_weights_names.append(tuple(names))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        _uniform_(self.parameters(), self.hidden_size)

    def flatten_parameters(self) -> None:
        """Nothing to do in ember (PyTorch packs the weights for cuDNN); kept so code that
        calls it runs unchanged."""

    @property
    def all_weights(self) -> list:
        """The parameters of each layer and direction, as lists in PyTorch's order."""
        return [[getattr(self, n) for n in names] for names in self._flat_weights_names]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------- checks
    def _check_input(self, input) -> None:
        check_tensor_input(input)
        batched = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
        if input.ndim not in (2, 3):
            raise ValueError(
                f"expected input of 2 dims (L, H_in) or 3 dims {batched}, received shape "
                f"{_shape(input)}"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"expected input of size {self.input_size} in its last dimension (input_size), "
                f"received shape {_shape(input)}"
            )
        check_like(input, getattr(self, self._flat_weights_names[0][0]))
        if input.shape[1 if self.batch_first and input.ndim == 3 else 0] == 0:
            raise RuntimeError(
                f"expected a sequence of length at least 1, received input of shape {_shape(input)}"
            )

    def _check_state(self, h, name, expected, input, batched):
        """``expected``: the batched shape (num_layers * num_directions, N, size)."""
        want = expected if batched else (expected[0], expected[2])
        what = (
            "(num_layers * num_directions, N, size)"
            if batched
            else "(num_layers * num_directions, size)"
        )
        if not isinstance(h, Tensor):
            raise TypeError(f"expected {name} to be a Tensor, received {type(h).__name__}")
        if _shape(h) != want:
            raise RuntimeError(
                f"expected {name} of shape {want} {what} for input of shape {_shape(input)}, "
                f"received {_shape(h)}"
            )
        if h.dtype is not input.dtype:
            raise ValueError(
                f"expected {name} of dtype {input.dtype.name} (that of the input), received "
                f"{h.dtype.name}"
            )
        return h if batched else h.unsqueeze(1)

    # ------------------------------------------------------------- forward
    def forward(self, input: Tensor, hx=None):
        """input: (L, N, H_in), or (N, L, H_in) with batch_first, or (L, H_in) unbatched.
        hx: the initial state (num_layers * num_directions, N, H_out) (LSTM: a pair
        (h_0, c_0), c_0 of size hidden_size), zeros if None. Returns (output, h_n) (LSTM:
        (output, (h_n, c_n))); output: (L, N, num_directions * H_out)."""
        self._check_input(input)
        batched = input.ndim == 3
        # Work time-major, (L, N, H_in), with a batch dim of 1 for unbatched input.
        if not batched:
            x = input.unsqueeze(1)
        else:
            x = input.transpose(0, 1) if self.batch_first else input
        n = x.shape[1]
        lstm = self.mode == "LSTM"
        num_states = self.num_layers * (2 if self.bidirectional else 1)
        out_size = self.proj_size or self.hidden_size
        h0 = c0 = None
        if hx is not None:
            if lstm:
                if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                    raise TypeError(
                        "expected hx to be a pair (h_0, c_0) of Tensors, received "
                        f"{type(hx).__name__}"
                    )
                h0 = self._check_state(
                    hx[0], "hx[0] (h_0)", (num_states, n, out_size), input, batched
                )
                c0 = self._check_state(
                    hx[1], "hx[1] (c_0)", (num_states, n, self.hidden_size), input, batched
                )
            else:
                h0 = self._check_state(hx, "hx", (num_states, n, out_size), input, batched)
        if h0 is None:
            h0 = creation.zeros(num_states, n, out_size, dtype=x.dtype, device=x.device)
            if lstm:
                c0 = creation.zeros(num_states, n, self.hidden_size, dtype=x.dtype, device=x.device)
        h0s = _UnbindTime.apply(h0)
        c0s = _UnbindTime.apply(c0) if lstm else None

        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outs = []
            for direction in range(2 if self.bidirectional else 1):
                k = layer * (2 if self.bidirectional else 1) + direction
                ys, h, c = self._direction(x, h0s[k], c0s[k] if lstm else None, k, direction == 1)
                outs.append(ys)
                h_n.append(h)
                c_n.append(c)
            x = outs[0] if len(outs) == 1 else cat(outs, -1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)

        output = x.squeeze(1) if not batched else (x.transpose(0, 1) if self.batch_first else x)
        h_n = stack(h_n)
        c_n = stack(c_n) if lstm else None
        if not batched:
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if lstm else None
        return (output, (h_n, c_n)) if lstm else (output, h_n)

    def _direction(self, x, h, c, k, reverse):
        """Run one layer in one direction over the (L, N, H_in) sequence ``x``."""
        p = [getattr(self, name) for name in self._flat_weights_names[k]]
        w_ih, w_hh = p[0], p[1]
        b_ih, b_hh = (p[2], p[3]) if self.bias else (None, None)
        w_hr = p[-1] if self.proj_size > 0 else None
        mode = self.mode
        # The fused ops run a whole sequence as one node (ember.ops.rnn); the per-step
        # ops below stay the reference, and serve projections and plain RNNs.
        if w_hr is None and mode in ("LSTM", "GRU") and kernels.enabled():
            kernels.taken["rnn." + mode.lower()] += 1
            if mode == "LSTM":
                return LSTMLayer.apply(x, h, c, w_ih, w_hh, b_ih, b_hh, reverse)
            y, h = GRULayer.apply(x, h, w_ih, w_hh, b_ih, b_hh, reverse)
            return y, h, None
        return _reference_direction(mode, x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr, reverse)


def _reference_direction(mode, x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr, reverse):
    """One layer in one direction over the (L, N, H_in) sequence ``x``, step by step with
    ember ops (the reference of the fused ops, which also use it for double backward).
    Returns (the outputs (L, N, H_out), the last h, the last c (None but for LSTM))."""
    w_hr_t = w_hr.t() if w_hr is not None else None
    # The input's projection for all steps at once; RNN and LSTM add both biases there,
    # GRU keeps b_hh apart since r multiplies its n part.
    if b_ih is not None and mode != "GRU":
        b_ih = b_ih + b_hh
    xws = _UnbindTime.apply(F.linear(x, w_ih, b_ih))
    w_hh_t = w_hh.t()
    steps = range(len(xws) - 1, -1, -1) if reverse else range(len(xws))
    ys = [None] * len(xws)
    for t in steps:
        if mode == "LSTM":
            h, c = _lstm_step(xws[t], h, c, w_hh_t, w_hr_t)
        elif mode == "GRU":
            h = _gru_step(xws[t], h, w_hh_t, b_hh)
        else:
            h = _rnn_step(xws[t], h, w_hh_t, mode == "RNN_RELU")
        ys[t] = h
    return stack(ys), h, c


class RNN(RNNBase):
    """An Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu), over
    ``num_layers`` stacked layers, optionally in both directions.

    Args: input_size, hidden_size, num_layers=1, nonlinearity='tanh' ('relu'), bias=True,
    batch_first=False, dropout=0.0 (between layers, in training), bidirectional=False.
    Shapes: input (L, N, H_in) ((N, L, H_in) with batch_first; (L, H_in) unbatched),
    hx (num_layers * D, N, H_out); returns (output (L, N, D * H_out), h_n).

    Example::

        rnn = nn.RNN(10, 20, num_layers=2)
        output, h_n = rnn(ember.randn(5, 3, 10))  # (5, 3, 20), (2, 3, 20)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNN: nonlinearity must be 'tanh' or 'relu', received {nonlinearity!r}"
            )
        super().__init__(
            "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """A long short-term memory network. Per step, with gates in the order i, f, g, o of
    the rows of W_ih and W_hh: c_t = f * c_{t-1} + i * g, h_t = o * tanh(c_t) (then
    h_t W_hr^T when proj_size > 0).

    Args: input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
    dropout=0.0, bidirectional=False, proj_size=0.
    Shapes: input (L, N, H_in); hx = (h_0, c_0) of (num_layers * D, N, H_out) and
    (num_layers * D, N, hidden_size); returns (output, (h_n, c_n)).

    Example::

        lstm = nn.LSTM(10, 20, batch_first=True)
        output, (h_n, c_n) = lstm(ember.randn(3, 5, 10))  # (3, 5, 20), (1, 3, 20) x 2
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase):
    """A gated recurrent unit network. Per step, with gates r, z, n in the rows of W_ih
    and W_hh: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)), h_t = (1 - z) * n + z * h.

    Args and shapes as RNN (no nonlinearity). Example::

        gru = nn.GRU(10, 20, bidirectional=True)
        output, h_n = gru(ember.randn(5, 3, 10))  # (5, 3, 40), (2, 3, 20)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__(
            "GRU",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            0,
            device,
            dtype,
        )


# ---------------------------------------------------------------- the cells
class RNNCellBase(Module):
    """The common part of the cells: weight_ih, weight_hh, bias_ih, bias_hh, and checks."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        num_chunks: int,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        positive_int(input_size, "input_size")
        positive_int(hidden_size, "hidden_size")
        _check_bool(name, "bias", bias)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        g = num_chunks * hidden_size

        def param(*shape):
            return Parameter(creation.empty(*shape, dtype=dtype, device=device))

        self.weight_ih = param(g, input_size)
        self.weight_hh = param(g, hidden_size)
        if bias:
            self.bias_ih, self.bias_hh = param(g), param(g)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        _uniform_(self.parameters(), self.hidden_size)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s

    def _check_input(self, input) -> None:
        check_tensor_input(input)
        if input.ndim not in (1, 2):
            raise ValueError(
                f"expected input of 1 dim (H_in) or 2 dims (N, H_in), received shape "
                f"{_shape(input)}"
            )
        if input.shape[-1] != self.input_size:
            raise RuntimeError(
                f"expected input of size {self.input_size} in its last dimension (input_size), "
                f"received shape {_shape(input)}"
            )
        check_like(input, self.weight_ih)

    def _state(self, h, name, input) -> Tensor:
        """The state ``h`` checked against the input, as (N, hidden_size); zeros if None."""
        if h is None:
            n = input.shape[0] if input.ndim == 2 else 1
            return creation.zeros(n, self.hidden_size, dtype=input.dtype, device=input.device)
        if not isinstance(h, Tensor):
            raise TypeError(f"expected {name} to be a Tensor, received {type(h).__name__}")
        want = (input.shape[0], self.hidden_size) if input.ndim == 2 else (self.hidden_size,)
        if _shape(h) != want:
            raise RuntimeError(
                f"expected {name} of shape {want} for input of shape {_shape(input)}, "
                f"received {_shape(h)}"
            )
        if h.dtype is not input.dtype:
            raise ValueError(
                f"expected {name} of dtype {input.dtype.name} (that of the input), received "
                f"{h.dtype.name}"
            )
        return h if input.ndim == 2 else h.unsqueeze(0)

    def _projected(self, x):
        return F.linear(x if x.ndim == 2 else x.unsqueeze(0), self.weight_ih, self.bias_ih)


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu).

    input: (N, input_size) or (input_size,); hx: (N, hidden_size) (zeros if None).
    Returns h': (N, hidden_size). Example: ``h = nn.RNNCell(10, 20)(x, h)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"RNNCell: nonlinearity must be 'tanh' or 'relu', received {nonlinearity!r}"
            )
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        self._check_input(input)
        h = self._state(hx, "hx", input)
        xw = self._projected(input)
        if self.bias_hh is not None:
            xw = xw + self.bias_hh
        h = _rnn_step(xw, h, self.weight_hh.t(), self.nonlinearity == "relu")
        return h if input.ndim == 2 else h.squeeze(0)


class LSTMCell(RNNCellBase):
    """One step of an LSTM (gates i, f, g, o): returns (h', c').

    input: (N, input_size) or (input_size,); hx: a pair (h, c) of (N, hidden_size)
    (zeros if None). Example: ``h, c = nn.LSTMCell(10, 20)(x, (h, c))``.
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx=None) -> tuple:
        self._check_input(input)
        if hx is None:
            h = c = self._state(None, "hx", input)
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(
                    f"expected hx to be a pair (h, c) of Tensors, received {type(hx).__name__}"
                )
            h, c = self._state(hx[0], "hx[0] (h)", input), self._state(hx[1], "hx[1] (c)", input)
        xw = self._projected(input)
        if self.bias_hh is not None:
            xw = xw + self.bias_hh
        h, c = _lstm_step(xw, h, c, self.weight_hh.t(), None)
        return (h, c) if input.ndim == 2 else (h.squeeze(0), c.squeeze(0))


class GRUCell(RNNCellBase):
    """One step of a GRU (gates r, z, n): n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h' = (1 - z) * n + z * h.

    input: (N, input_size) or (input_size,); hx: (N, hidden_size) (zeros if None).
    Example: ``h = nn.GRUCell(10, 20)(x, h)``.
    """

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        self._check_input(input)
        h = self._state(hx, "hx", input)
        h = _gru_step(self._projected(input), h, self.weight_hh.t(), self.bias_hh)
        return h if input.ndim == 2 else h.squeeze(0)
