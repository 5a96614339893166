"""ember.nn layers: Dropout."""

from __future__ import annotations

import numbers

from ember.nn import functional as F
from ember.nn.module import Module
from ember.nn.modules._utils import check_tensor_input
from ember.tensor import Tensor

__all__ = ["Dropout"]


class Dropout(Module):
    """In training mode, zero each element with probability ``p`` and scale the others by
    ``1 / (1 - p)``; in eval mode (``model.eval()``), return the input unchanged. The mask
    comes from ember's default generator, so ``ember.manual_seed`` makes it repeatable.

    Example::

        drop = nn.Dropout(0.2)
        y = drop(ember.randn(32, 128))
    """

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, received p={p!r}")
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        check_tensor_input(input)
        return F.dropout(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"
