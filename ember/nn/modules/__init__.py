"""The layers of ember.nn, one file per family; each lists its public names in ``__all__``."""

from ember.nn.modules import (
    activation,
    container,
    conv,
    dropout,
    flatten,
    linear,
    loss,
    normalization,
    pooling,
    rnn,
    sparse,
    transformer,
)  # fmt: skip
from ember.nn.modules.activation import *
from ember.nn.modules.container import *
from ember.nn.modules.conv import *
from ember.nn.modules.dropout import *
from ember.nn.modules.flatten import *
from ember.nn.modules.linear import *
from ember.nn.modules.loss import *
from ember.nn.modules.normalization import *
from ember.nn.modules.pooling import *
from ember.nn.modules.rnn import *
from ember.nn.modules.sparse import *
from ember.nn.modules.transformer import *

__all__ = [  # noqa: PLE0604
    *activation.__all__, *container.__all__, *conv.__all__, *dropout.__all__, *flatten.__all__,
    *linear.__all__, *loss.__all__, *normalization.__all__, *pooling.__all__, *rnn.__all__,
    *sparse.__all__, *transformer.__all__,
]  # fmt: skip
