"""The op library. Each family lives in its own module (each lists its public names in
``__all__``); all are re-exported here and at ``ember``'s top level."""

from ember.ops import elementwise, indexing, linalg, reduce, shape
from ember.ops.elementwise import *  # noqa: F403
from ember.ops.indexing import *  # noqa: F403
from ember.ops.linalg import *  # noqa: F403
from ember.ops.nn import log_softmax, softmax  # also top-level, as torch.softmax
from ember.ops.reduce import *  # noqa: F403
from ember.ops.shape import *  # noqa: F403

__all__ = [
    *elementwise.__all__, *reduce.__all__, *shape.__all__, *indexing.__all__, *linalg.__all__,
    "softmax", "log_softmax",
]  # fmt: skip
