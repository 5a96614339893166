"""A multilayer perceptron: flatten, then Linear -> ReLU (-> Dropout) per hidden layer."""

from __future__ import annotations

from ember import nn
from ember.tensor import Tensor


class MLP(nn.Module):
    """A fully connected classifier.

    Args:
        in_features: size of one flattened input (64 for 8x8 digits, 784 for MNIST).
        hidden: sizes of the hidden layers, e.g. (256, 128); empty for a linear model.
        num_classes: number of outputs (logits).
        dropout: dropout probability after each hidden activation (0: none).

    Shapes: input (N, *) with prod(*) == in_features; output (N, num_classes).
    Parameters are ``net.<i>.weight`` / ``net.<i>.bias``, ``net`` being the Sequential
    Flatten, Linear, ReLU, [Dropout,] …, Linear.

    Example::

        model = MLP(64, hidden=(128, 64), num_classes=10)
        logits = model(ember.randn(32, 1, 8, 8))    # (32, 10)
    """

    def __init__(self, in_features: int, hidden=(256, 128), num_classes: int = 10,
                 dropout: float = 0.0):  # fmt: skip
        super().__init__()
        hidden = tuple(hidden)
        for name, v in [("in_features", in_features), ("num_classes", num_classes),
                        *((f"hidden[{i}]", h) for i, h in enumerate(hidden))]:  # fmt: skip
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"MLP: expected {name} to be a positive integer, received {v!r}")
        if not 0 <= dropout < 1:
            raise ValueError(f"MLP: expected dropout in [0, 1), received {dropout!r}")
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)
