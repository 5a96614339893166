"""ember.nn layers: Flatten and Unflatten."""

from __future__ import annotations

from ember.nn.module import Module
from ember.nn.modules._utils import check_tensor_input, is_int
from ember.tensor import Tensor

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Merge dims ``start_dim`` … ``end_dim`` into one; by default (N, *) -> (N, prod(*)).

    Example::

        nn.Flatten()(ember.randn(32, 1, 28, 28)).shape  # (32, 784)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        check_tensor_input(input)
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size`` (a tuple or list of ints; one may be -1).

    Example::

        nn.Unflatten(1, (1, 28, 28))(ember.randn(32, 784)).shape  # (32, 1, 28, 28)
    """

    def __init__(self, dim: int, unflattened_size) -> None:
        super().__init__()
        if not is_int(dim):
            raise TypeError(f"dim must be an int, received {dim!r}")
        if not isinstance(unflattened_size, (tuple, list)):
            raise TypeError(
                f"unflattened_size must be a tuple or list of ints, received "
                f"{type(unflattened_size).__name__}"
            )
        for i, n in enumerate(unflattened_size):
            if not is_int(n):
                raise TypeError(
                    f"unflattened_size must be a tuple of ints, but found element of type "
                    f"{type(n).__name__} at pos {i}"
                )
        self.dim = dim
        self.unflattened_size = unflattened_size

    def forward(self, input: Tensor) -> Tensor:
        check_tensor_input(input)
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
