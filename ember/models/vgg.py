"""VGG-11 (Simonyan and Zisserman, 2014) with torchvision's structure and parameter names
(``features.<i>``, ``classifier.<i>``), optionally with batch norm (VGG-11-BN)."""

from __future__ import annotations

from ember import nn
from ember.tensor import Tensor

# Channels of each 3x3 convolution; "M" is a 2x2 max pooling.
VGG11_LAYERS = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


class VGG(nn.Module):
    """A VGG network: ``features`` (3x3 convolutions and max pooling), ``avgpool``
    (adaptive average pooling to avgpool_size x avgpool_size) and ``classifier`` (Linear,
    ReLU, Dropout, Linear, ReLU, Dropout, Linear).

    Args:
        layers: the features' plan, as ``VGG11_LAYERS``.
        num_classes: number of outputs.
        batch_norm: a BatchNorm2d after every convolution.
        in_channels: input channels.
        avgpool_size: 7 as torchvision (for 224x224 images); 1 for the CIFAR-sized
            variant, whose 32x32 images leave 1x1 maps.
        hidden: width of the two hidden classifier layers: 4096 as torchvision, 512 is
            usual for CIFAR.
        dropout: dropout probability in the classifier.

    Shapes: input (N, in_channels, H, W), H and W multiples of 32; output (N, num_classes).
    """

    def __init__(self, layers=VGG11_LAYERS, num_classes: int = 1000, batch_norm: bool = False,
                 in_channels: int = 3, avgpool_size: int = 7, hidden: int = 4096,
                 dropout: float = 0.5):  # fmt: skip
        super().__init__()
        feats: list[nn.Module] = []
        c = in_channels
        for v in layers:
            if v == "M":
                feats.append(nn.MaxPool2d(kernel_size=2, stride=2))
                continue
            feats.append(nn.Conv2d(c, v, kernel_size=3, padding=1))
            if batch_norm:
                feats.append(nn.BatchNorm2d(v))
            feats.append(nn.ReLU())
            c = v
        self.features = nn.Sequential(*feats)
        self.avgpool = nn.AdaptiveAvgPool2d((avgpool_size, avgpool_size))
        self.classifier = nn.Sequential(
            nn.Linear(c * avgpool_size * avgpool_size, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, num_classes),
        )
        # torchvision's initialisation.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def vgg11(num_classes: int = 1000, batch_norm: bool = False, in_channels: int = 3,
          avgpool_size: int = 7, hidden: int = 4096, dropout: float = 0.5) -> VGG:  # fmt: skip
    """VGG-11 (configuration "A"): 8 convolutions and 3 linear layers.

    torchvision's ``vgg11`` is ``vgg11()``, its ``vgg11_bn`` is ``vgg11(batch_norm=True)``;
    for CIFAR-10 use ``vgg11(10, batch_norm=True, avgpool_size=1, hidden=512)``::

        model = vgg11(10, batch_norm=True, avgpool_size=1, hidden=512)
        logits = model(ember.randn(2, 3, 32, 32))   # (2, 10)
    """
    return VGG(VGG11_LAYERS, num_classes, batch_norm, in_channels, avgpool_size, hidden, dropout)
