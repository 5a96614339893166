"""ember.nn layers: convolutions (Conv1d, Conv2d) and transposed convolutions
(ConvTranspose1d, ConvTranspose2d)."""

from __future__ import annotations

import math

import numpy as np

from ember import creation
from ember.amp import state as _amp
from ember.nn import functional as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.modules._utils import (
    check_channels,
    check_like,
    check_tensor_input,
    ntuple,
    positive_int,
    shape_of,
)
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
_LAYOUTS = {1: ("3-D (N, C, L)", "2-D (C, L)"), 2: ("4-D (N, C, H, W)", "3-D (C, H, W)")}


class _ConvNd(Module):
    """What convolutions and transposed convolutions share: arguments, parameters, default
    initialisation, input checks and the configuration text (PyTorch's ``_ConvNd``)."""

    _nd = 2

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation,
                 transposed, output_padding, groups, bias, padding_mode, device, dtype):  # fmt: skip
        super().__init__()
        nd = self._nd
        self.in_channels = positive_int(in_channels, "in_channels")
        self.out_channels = positive_int(out_channels, "out_channels")
        if not isinstance(groups, int) or isinstance(groups, bool) or groups <= 0:
            raise ValueError(f"groups must be a positive integer, received groups={groups!r}")
        if in_channels % groups:
            raise ValueError(
                f"in_channels must be divisible by groups, received in_channels={in_channels}, "
                f"groups={groups}"
            )
        if out_channels % groups:
            raise ValueError(
                f"out_channels must be divisible by groups, received out_channels={out_channels}, "
                f"groups={groups}"
            )
        self.kernel_size = ntuple(kernel_size, nd, "kernel_size")
        self.stride = ntuple(stride, nd, "stride")
        self.dilation = ntuple(dilation, nd, "dilation")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(
                    f"padding must be 'same', 'valid', an int or a tuple, received {padding!r}"
                )
            if padding == "same" and any(s != 1 for s in self.stride):
                raise ValueError(
                    f"padding='same' is not supported for strided convolutions, received "
                    f"stride={self.stride}"
                )
            self.padding = padding
        else:
            self.padding = ntuple(padding, nd, "padding")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(
                f"padding_mode must be one of {', '.join(map(repr, _PADDING_MODES))}, received "
                f"padding_mode={padding_mode!r}"
            )
        self.transposed = transposed
        self.output_padding = ntuple(output_padding, nd, "output_padding")
        self.groups = groups
        self.padding_mode = padding_mode
        self._reversed_padding_repeated_twice = self._pad_arg()
        if transposed:
            shape = (in_channels, out_channels // groups, *self.kernel_size)
        else:
            shape = (out_channels, in_channels // groups, *self.kernel_size)
        self.weight = Parameter(creation.empty(shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.empty((out_channels,), dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _pad_arg(self) -> tuple:
        """The padding as F.pad takes it: (left, right) of the last dim first."""
        out = []
        for i in reversed(range(self._nd)):
            if self.padding == "same":
                total = self.dilation[i] * (self.kernel_size[i] - 1)
                out += [total // 2, total - total // 2]
            elif self.padding == "valid":
                out += [0, 0]
            else:
                out += [self.padding[i]] * 2
        return tuple(out)

    def reset_parameters(self) -> None:
        # as PyTorch: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for both, fan_in from the weight
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def _check_input(self, input: Tensor) -> None:
        d, w = getattr(input, "_data", None), self._parameters.get("weight")
        if (  # the common case, checked lean: a NumPy batch of the weight's dtype
            type(input) is Tensor
            and w is not None
            and type(d) is np.ndarray
            and type(w._data) is np.ndarray
            and d.dtype is w._data.dtype
            and d.ndim == self._nd + 2
            and d.shape[1] == self.in_channels
            and not _amp.on
        ):
            return
        check_tensor_input(input)
        nd = self._nd
        if input.ndim not in (nd + 1, nd + 2):
            batched, unbatched = _LAYOUTS[nd]
            raise RuntimeError(
                f"expected a {batched} input or an unbatched {unbatched} one, received shape "
                f"{shape_of(input)}"
            )
        check_channels(input, self.in_channels, "in_channels", nd + 2)
        check_like(input, self.weight)

    def extra_repr(self) -> str:
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"
        s += f", stride={self.stride}"
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.output_padding != (0,) * self._nd:
            s += f", output_padding={self.output_padding}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        return s


class _Conv(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
                 groups=1, bias=True, padding_mode="zeros", device=None, dtype=None):  # fmt: skip
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         False, 0, groups, bias, padding_mode, device, dtype)  # fmt: skip

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        conv = F.conv1d if self._nd == 1 else F.conv2d
        if self.padding_mode != "zeros":
            padded = F.pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                    self.groups)  # fmt: skip


class Conv1d(_Conv):
    """1-D convolution over (N, C_in, L) or (C_in, L) input.

    Arguments as Conv2d, with ints (or 1-tuples) for the sizes. weight: (out_channels,
    in_channels / groups, kernel_size); output (N, out_channels, L_out) with
    L_out = (L + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1.
    """

    _nd = 1


class Conv2d(_Conv):
    """2-D convolution (cross-correlation, as in PyTorch) over (N, C_in, H, W) or
    (C_in, H, W) input.

    kernel_size, stride, dilation: an int or a pair. padding: an int, a pair, 'valid' (none)
    or 'same' (the output keeps the input's size; stride 1 only). padding_mode: 'zeros',
    'reflect', 'replicate' or 'circular'. groups: split the channels into groups convolved
    separately. weight: (out_channels, in_channels / groups, kH, kW), bias: (out_channels,),
    drawn from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in_channels / groups * kH * kW.
    Output: (N, out_channels, H_out, W_out),
    H_out = (H + 2 * padding - dilation * (kH - 1) - 1) // stride + 1.

    Example::

        conv = nn.Conv2d(3, 16, kernel_size=3, padding=1)
        y = conv(ember.randn(8, 3, 32, 32))  # (8, 16, 32, 32)
    """

    _nd = 2


class _ConvTranspose(_ConvNd):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 output_padding=0, groups=1, bias=True, dilation=1, padding_mode="zeros",
                 device=None, dtype=None):  # fmt: skip
        if padding_mode != "zeros":
            raise ValueError(
                f"only padding_mode='zeros' is supported for {type(self).__name__}, received "
                f"{padding_mode!r}"
            )
        if isinstance(padding, str):
            raise TypeError(
                f"{type(self).__name__}: padding must be an int or a tuple, received {padding!r}"
            )
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         True, output_padding, groups, bias, padding_mode, device, dtype)  # fmt: skip

    def _output_padding(self, input: Tensor, output_size) -> tuple:
        """The output_padding that gives ``output_size`` (spatial sizes, or the full shape)."""
        if output_size is None:
            return self.output_padding
        nd = self._nd
        lead = input.ndim - nd
        sizes = tuple(output_size)
        if len(sizes) == lead + nd:
            sizes = sizes[lead:]
        if len(sizes) != nd:
            raise ValueError(
                f"output_size must have {nd} or {lead + nd} elements for an input of shape "
                f"{shape_of(input)}, received {tuple(output_size)}"
            )
        smallest = tuple(
            (input.shape[lead + d] - 1) * self.stride[d] - 2 * self.padding[d]
            + self.dilation[d] * (self.kernel_size[d] - 1) + 1
            for d in range(nd)
        )  # fmt: skip
        largest = tuple(n + s - 1 for n, s in zip(smallest, self.stride))
        if any(not lo <= n <= hi for n, lo, hi in zip(sizes, smallest, largest)):
            raise ValueError(
                f"requested an output size of {sizes}, but valid sizes range from {smallest} "
                f"to {largest} (for an input of shape {shape_of(input)})"
            )
        return tuple(n - lo for n, lo in zip(sizes, smallest))

    def forward(self, input: Tensor, output_size=None) -> Tensor:
        self._check_input(input)
        output_padding = self._output_padding(input, output_size)
        conv_t = F.conv_transpose1d if self._nd == 1 else F.conv_transpose2d
        return conv_t(input, self.weight, self.bias, self.stride, self.padding, output_padding,
                      self.groups, self.dilation)  # fmt: skip


class ConvTranspose1d(_ConvTranspose):
    """1-D transposed convolution over (N, C_in, L) or (C_in, L) input; see ConvTranspose2d."""

    _nd = 1


class ConvTranspose2d(_ConvTranspose):
    """2-D transposed convolution (the gradient of Conv2d with respect to its input), over
    (N, C_in, H, W) or (C_in, H, W) input.

    weight: (in_channels, out_channels / groups, kH, kW). Output (N, out_channels, H_out,
    W_out) with H_out = (H - 1) * stride - 2 * padding + dilation * (kH - 1) +
    output_padding + 1; ``forward(input, output_size=...)`` picks the output_padding that
    gives a requested size.

    Example::

        up = nn.ConvTranspose2d(16, 8, kernel_size=2, stride=2)
        y = up(ember.randn(1, 16, 7, 7))  # (1, 8, 14, 14)
    """

    _nd = 2
