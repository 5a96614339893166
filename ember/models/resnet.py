"""ResNet-18/34 (He et al., 2015) with torchvision's structure and parameter names, so a
torchvision state_dict loads as it is (``conv1``, ``bn1``, ``layer1.0.conv1``, …, ``fc``)."""

from __future__ import annotations

from ember import nn
from ember.tensor import Tensor


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, added to the input (through ``downsample``, a
    1x1 convolution and batch norm, when the shape changes), then ReLU."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None):  # fmt: skip
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A ResNet of BasicBlocks: stem, four stages (64, 128, 256, 512 channels; stages 2-4
    halve the resolution), global average pooling, linear classifier.

    Args:
        layers: blocks per stage, e.g. [2, 2, 2, 2] for ResNet-18.
        num_classes: number of outputs.
        stem: "imagenet" (7x7 stride-2 convolution and 3x3 max pooling, for 224x224 images)
            or "cifar" (3x3 stride-1 convolution, no pooling, for 32x32 images). Both have
            the same parameter names; the cifar stem's conv1 weight is (64, C, 3, 3).
        in_channels: input channels.
        zero_init_residual: start each block's last batch norm at weight 0, so every block
            starts as the identity (as torchvision's option of that name).

    Shapes: input (N, in_channels, H, W); output (N, num_classes).
    """

    def __init__(self, layers=(2, 2, 2, 2), num_classes: int = 1000, stem: str = "imagenet",
                 in_channels: int = 3, zero_init_residual: bool = False):  # fmt: skip
        super().__init__()
        if stem not in ("imagenet", "cifar"):
            raise ValueError(f"ResNet: expected stem 'imagenet' or 'cifar', received {stem!r}")
        if len(layers) != 4:
            raise ValueError(f"ResNet: expected 4 stage depths, received {list(layers)}")
        self.stem = stem
        self.inplanes = 64
        if stem == "imagenet":
            self.conv1 = nn.Conv2d(in_channels, 64, 7, stride=2, padding=3, bias=False)
            self.maxpool: nn.Module = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        else:
            self.conv1 = nn.Conv2d(in_channels, 64, 3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.layer1 = self._make_layer(64, layers[0])
        self.layer2 = self._make_layer(128, layers[1], stride=2)
        self.layer3 = self._make_layer(256, layers[2], stride=2)
        self.layer4 = self._make_layer(512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * BasicBlock.expansion, num_classes)
        # torchvision's initialisation: He-normal (fan_out) convolutions, unit batch norms.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, BasicBlock):
                    nn.init.zeros_(m.bn2.weight)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes),
            )
        layers = [BasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        layers += [BasicBlock(planes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(num_classes: int = 1000, stem: str = "imagenet", in_channels: int = 3,
             zero_init_residual: bool = False) -> ResNet:  # fmt: skip
    """ResNet-18: stages of 2, 2, 2, 2 BasicBlocks (11.7M parameters with 1000 classes).

    ``stem="cifar"`` is the usual variant for 32x32 images. Example::

        model = resnet18(num_classes=10, stem="cifar")
        logits = model(ember.randn(2, 3, 32, 32))   # (2, 10)
    """
    return ResNet((2, 2, 2, 2), num_classes, stem, in_channels, zero_init_residual)


def resnet34(num_classes: int = 1000, stem: str = "imagenet", in_channels: int = 3,
             zero_init_residual: bool = False) -> ResNet:  # fmt: skip
    """ResNet-34: stages of 3, 4, 6, 3 BasicBlocks; arguments as ``resnet18``."""
    return ResNet((3, 4, 6, 3), num_classes, stem, in_channels, zero_init_residual)
