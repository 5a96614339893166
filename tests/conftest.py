import zlib

import numpy as np
import pytest

import ember
from ember import kernels
from tests import oracle

# The op and layer tests run twice: on the fast (fused) paths and on the plain-NumPy
# reference paths they keep.
BOTH_PATHS = (
    "test_ops_", "test_nn_layers", "test_nn_rnn", "test_nn_transformer", "test_models", "test_optim",
)  # fmt: skip


def pytest_generate_tests(metafunc):
    name = metafunc.module.__name__.rsplit(".", 1)[-1]
    if name.startswith(BOTH_PATHS):
        metafunc.fixturenames.append("kernel_path")
        metafunc.parametrize("kernel_path", ["fast", "reference"], indirect=True)


@pytest.fixture
def kernel_path(request):
    with kernels.reference(request.param == "reference"):
        yield request.param


@pytest.fixture(autouse=True)
def _seed(request):
    # Each test draws the same inputs however the tests are ordered or split between workers.
    oracle._seed[0] = zlib.crc32(request.node.nodeid.encode())
    ember.manual_seed(0)
    np.random.seed(0)
    yield
    ember.set_default_dtype(ember.float32)
