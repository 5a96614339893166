"""The model zoo: classic networks with PyTorch's (torchvision's) parameter names.

=============  ===============================================  ==========================
name           constructor                                      preset config
=============  ===============================================  ==========================
mlp            ``MLP(in_features, hidden, num_classes)``        ``configs/mlp.toml``
small_cnn      ``SmallCNN(num_classes, in_channels, ...)``      ``configs/digits.toml``
lenet5         ``LeNet5(num_classes, in_channels, input_size)``  ``configs/lenet5.toml``
resnet18       ``resnet18(num_classes, stem)``                  ``configs/resnet18.toml``
vgg11          ``vgg11(num_classes, batch_norm, ...)``          ``configs/vgg11.toml``
char_lstm      ``CharLSTM(vocab_size, embed_dim, ...)``         ``configs/char_lstm.toml``
gpt            ``GPT(vocab_size, block_size, ...)``             ``configs/gpt.toml``
=============  ===============================================  ==========================

``MODELS`` maps each name to its constructor; ``ember train`` builds ``[model] name = ...``
from it, passing the section's other keys as arguments.
"""

from ember.models.char_lstm import CharLSTM
from ember.models.cnn import SmallCNN
from ember.models.gpt import GPT
from ember.models.lenet import LeNet5
from ember.models.mlp import MLP
from ember.models.resnet import BasicBlock, ResNet, resnet18, resnet34
from ember.models.vgg import VGG, vgg11

__all__ = [
    "GPT", "MLP", "MODELS", "TEXT_MODELS", "VGG", "BasicBlock", "CharLSTM", "LeNet5", "ResNet",
    "SmallCNN", "resnet18", "resnet34", "vgg11",
]  # fmt: skip

MODELS = {
    "mlp": MLP,
    "small_cnn": SmallCNN,
    "lenet5": LeNet5,
    "resnet18": resnet18,
    "resnet34": resnet34,
    "vgg11": vgg11,
    "char_lstm": CharLSTM,
    "gpt": GPT,
}
TEXT_MODELS = ("char_lstm", "gpt")
