"""The op library. Each family lives in its own module (each lists its public names in
``__all__``); all are re-exported here and at ``ember``'s top level."""

from ember.ops.elementwise import *  # noqa: F403
from ember.ops.reduce import *  # noqa: F403
from ember.ops.shape import *  # noqa: F403
from ember.ops.indexing import *  # noqa: F403
from ember.ops.linalg import *  # noqa: F403
from ember.ops.nn import log_softmax, softmax  # noqa: F401 - also top-level, as torch.softmax
