"""A small convolutional network for small images: the model of the ``ember train`` demo."""

from __future__ import annotations

from ember import nn
from ember.tensor import Tensor


class SmallCNN(nn.Module):
    """conv 3x3 -> width, ReLU, conv 3x3 -> 2*width, ReLU, max-pool 2, dropout, linear.

    Sized for 8x8 digits (a few seconds an epoch on a CPU) but works for any image size.

    Args:
        num_classes: number of outputs.
        in_channels: input channels.
        input_size: the images' height and width (the linear layer's input depends on it).
        width: channels of the first convolution.
        dropout: dropout probability before the linear layer.

    Shapes: input (N, in_channels, input_size, input_size); output (N, num_classes).

    Example::

        model = SmallCNN(num_classes=10, input_size=8)
        logits = model(ember.randn(4, 1, 8, 8))     # (4, 10)
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size: int = 8,
                 width: int = 16, dropout: float = 0.25):  # fmt: skip
        super().__init__()
        if input_size < 2:
            raise ValueError(f"SmallCNN: expected input_size >= 2, received {input_size!r}")
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
        )
        side = input_size // 2
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Dropout(dropout), nn.Linear(2 * width * side * side, num_classes)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(x))
