"""LeNet-5 (LeCun et al., 1998), with the modern choices of ReLU and max pooling."""

from __future__ import annotations

from ember import nn
from ember.nn import functional as F
from ember.tensor import Tensor


class LeNet5(nn.Module):
    """LeNet-5: conv 5x5 -> 6, pool, conv 5x5 -> 16, pool, fc 120, fc 84, fc num_classes.

    The classic network takes 32x32 images; for 28x28 images (MNIST) pass
    ``input_size=28``, which pads the first convolution by 2 (the common variant), so the
    rest of the network and its parameter shapes are the same. Activations are ReLU and
    pooling is 2x2 max pooling, where the 1998 paper used scaled tanh and trainable
    sub-sampling; ``activation="tanh"`` gives the older activation.

    Args:
        num_classes: number of outputs.
        in_channels: 1 for grey images, 3 for colour (CIFAR-10).
        input_size: 32 or 28, the images' height and width.
        activation: "relu" or "tanh".

    Shapes: input (N, in_channels, input_size, input_size); output (N, num_classes).
    Parameters: conv1, conv2, fc1, fc2, fc3 (each .weight and .bias).

    Example::

        model = LeNet5(num_classes=10, input_size=28)
        logits = model(ember.randn(8, 1, 28, 28))   # (8, 10)
    """

    def __init__(self, num_classes: int = 10, in_channels: int = 1, input_size: int = 32,
                 activation: str = "relu"):  # fmt: skip
        super().__init__()
        if input_size not in (28, 32):
            raise ValueError(
                f"LeNet5: expected input_size 32 (the classic) or 28 (padded), received "
                f"{input_size!r}"
            )
        if activation not in ("relu", "tanh"):
            raise ValueError(f"LeNet5: expected activation relu or tanh, received {activation!r}")
        self.input_size = input_size
        self.activation = activation
        self.conv1 = nn.Conv2d(in_channels, 6, 5, padding=2 if input_size == 28 else 0)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        act = F.relu if self.activation == "relu" else F.tanh
        x = F.max_pool2d(act(self.conv1(x)), 2)
        x = F.max_pool2d(act(self.conv2(x)), 2)
        x = x.flatten(1)
        x = act(self.fc1(x))
        x = act(self.fc2(x))
        return self.fc3(x)
