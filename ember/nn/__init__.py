"""Neural-network building blocks: Module, Parameter, the layers, ``init`` and ``functional``."""

from ember.nn import functional, init, utils  # noqa: F401
from ember.nn.module import Module
from ember.nn.modules import *
from ember.nn.modules import __all__ as _layers
from ember.nn.parameter import Parameter

__all__ = ["Module", "Parameter", *_layers]  # noqa: PLE0604
