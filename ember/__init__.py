"""ember: a deep learning framework in readable Python over NumPy (CPU) and CuPy (GPU)."""

from ember import dtypes as _dtypes
from ember.autograd import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from ember.backend import Device as device
from ember.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    logspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)  # fmt: skip
from ember.dtypes import (
    bfloat16,
    dtype,
    finfo,
    float16,
    float32,
    float64,
    get_default_dtype,
    iinfo,
    int8,
    int16,
    int32,
    int64,
    promote_types,
    result_type,
    set_default_dtype,
    uint8,
)  # fmt: skip
from ember.ops import *
from ember.random import Generator, get_rng_state, initial_seed, manual_seed, seed, set_rng_state
from ember.tensor import Tensor, is_complex, is_floating_point, is_nonzero, numel

bool = _dtypes.bool_
float = float32
double = float64
half = float16
long = int64
int = int32
short = int16

# The packages built on the core, imported last because they use it.
from ember import amp, autograd, backend, data, errors, kernels, models, nn, optim, train, utils
from ember.amp import autocast
from ember.io import load, save
from ember.train.summary import summary


def is_tensor(obj) -> bool:
    return isinstance(obj, Tensor)


class cuda:
    is_available = staticmethod(backend.cuda_available)
    device_count = staticmethod(backend.device_count)


errors.install_excepthook()
__version__ = "0.1.0"
