"""ember.nn layers: normalisation (BatchNorm1d, BatchNorm2d, LayerNorm, GroupNorm)."""

from __future__ import annotations

import numbers

from ember import creation, dtypes
from ember.autograd.grad_mode import no_grad
from ember.nn import functional as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.modules._utils import check_like, check_tensor_input, positive_int, shape_of
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["BatchNorm1d", "BatchNorm2d", "GroupNorm", "LayerNorm"]


class _BatchNorm(Module):
    """Batch normalisation of the channels (dim 1); BatchNorm1d and BatchNorm2d differ only in
    the input shapes they accept (PyTorch's ``_BatchNorm``)."""

    _layouts: tuple = ()  # the accepted numbers of dims, and how to say them

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device=None,
                 dtype=None, *, bias: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.num_features = positive_int(num_features, "num_features")
        self.eps = eps
        if momentum is not None and not isinstance(momentum, numbers.Real):
            raise TypeError(f"momentum must be a number or None, received {momentum!r}")
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(creation.empty((num_features,), dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(creation.empty((num_features,), dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer(
                "running_mean", creation.zeros((num_features,), dtype=dtype, device=device)
            )
            self.register_buffer(
                "running_var", creation.ones((num_features,), dtype=dtype, device=device)
            )
            self.register_buffer(
                "num_batches_tracked", creation.zeros((), dtype=dtypes.int64, device=device)
            )
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            init.zeros_(self.running_mean)
            init.ones_(self.running_var)
            init.zeros_(self.num_batches_tracked)

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input(self, input: Tensor) -> None:
        check_tensor_input(input)
        ndims, layout = self._layouts
        if input.ndim not in ndims:
            raise ValueError(f"expected a {layout} input, received shape {shape_of(input)}")
        if input.shape[1] != self.num_features:
            raise ValueError(
                f"expected input with {self.num_features} channels (num_features) in dim 1, "
                f"received shape {shape_of(input)}"
            )
        check_like(input, self.weight if self.weight is not None else self.running_mean)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            with no_grad():
                self.num_batches_tracked.add_(1)
            if self.momentum is None:  # a cumulative average of all the batches seen
                factor = 1.0 / float(self.num_batches_tracked.item())
        # in eval mode the running statistics are used if there are any, the batch's if not
        use_batch = self.training or (self.running_mean is None and self.running_var is None)
        keep_stats = not self.training or self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean if keep_stats else None,
            self.running_var if keep_stats else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) input: each channel is normalised with
    the batch's mean and (biased) variance in training, with running estimates in eval mode,
    then scaled by ``weight`` and shifted by ``bias`` (C,).

    momentum: weight of the new batch in the running estimates (None: a cumulative average).
    track_running_stats=False: always the batch's statistics. The buffers running_mean,
    running_var and num_batches_tracked are in the state_dict, as in PyTorch.

    Example::

        bn = nn.BatchNorm1d(64)
        y = bn(ember.randn(32, 64))
    """

    _layouts = ((2, 3), "2-D (N, C) or 3-D (N, C, L)")


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) input, per channel; see BatchNorm1d.

    Example::

        bn = nn.BatchNorm2d(16)
        y = bn(ember.randn(8, 16, 32, 32))
    """

    _layouts = ((4,), "4-D (N, C, H, W)")


class LayerNorm(Module):
    """Normalise each sample over its last dims, which must equal ``normalized_shape``,
    then (elementwise_affine) scale by ``weight`` and add ``bias``, both of that shape.

    Example::

        ln = nn.LayerNorm(512)
        y = ln(ember.randn(8, 100, 512))
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None) -> None:  # fmt: skip
        super().__init__()
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(
                creation.empty(self.normalized_shape, dtype=dtype, device=device)
            )
            if bias:
                self.bias = Parameter(
                    creation.empty(self.normalized_shape, dtype=dtype, device=device)
                )
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        check_tensor_input(input)
        k = len(self.normalized_shape)
        if input.ndim < k or shape_of(input)[input.ndim - k :] != self.normalized_shape:
            raise RuntimeError(
                f"expected input with trailing dimensions {self.normalized_shape} "
                f"(normalized_shape), received shape {shape_of(input)}"
            )
        check_like(input, self.weight)
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


class GroupNorm(Module):
    """Split the channels of (N, C, *) input into ``num_groups`` groups and normalise each
    group of each sample, then (affine) scale and shift per channel (C,).

    Example::

        gn = nn.GroupNorm(4, 16)
        y = gn(ember.randn(8, 16, 10, 10))
    """

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True,
                 device=None, dtype=None, *, bias: bool = True) -> None:  # fmt: skip
        super().__init__()
        positive_int(num_groups, "num_groups")
        positive_int(num_channels, "num_channels")
        if num_channels % num_groups:
            raise ValueError(
                f"num_channels must be divisible by num_groups, received num_channels="
                f"{num_channels}, num_groups={num_groups}"
            )
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = Parameter(creation.empty((num_channels,), dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(creation.empty((num_channels,), dtype=dtype, device=device))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        check_tensor_input(input)
        if input.ndim < 2 or input.shape[1] != self.num_channels:
            raise RuntimeError(
                f"expected an input (N, C, *) with {self.num_channels} channels (num_channels) "
                f"in dim 1, received shape {shape_of(input)}"
            )
        check_like(input, self.weight)
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return (
            f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
            f"bias={self.bias is not None}"
        )
