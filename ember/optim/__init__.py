"""ember.optim: optimizers (SGD, Adam, AdamW, RMSprop, Adagrad) and learning-rate schedulers
(``ember.optim.lr_scheduler``), with PyTorch's API."""

from ember.optim import lr_scheduler
from ember.optim.adagrad import Adagrad
from ember.optim.adam import Adam
from ember.optim.adamw import AdamW
from ember.optim.optimizer import Optimizer
from ember.optim.rmsprop import RMSprop
from ember.optim.sgd import SGD

__all__ = ["SGD", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "lr_scheduler"]
