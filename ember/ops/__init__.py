"""The op library. Each family lives in its own module (each lists its public names in
``__all__``); all are re-exported here and at ``ember``'s top level."""

from ember.ops import elementwise, indexing, linalg, reduce, shape, sorting
from ember.ops.elementwise import *
from ember.ops.indexing import *
from ember.ops.linalg import *
from ember.ops.nn import log_softmax, softmax  # also top-level, as torch.softmax
from ember.ops.reduce import *
from ember.ops.shape import *
from ember.ops.sorting import *

__all__ = [  # noqa: PLE0604 - the families' own __all__ lists, joined
    *elementwise.__all__, *reduce.__all__, *shape.__all__, *indexing.__all__, *linalg.__all__,
    *sorting.__all__, "softmax", "log_softmax",
]  # fmt: skip
