"""ember.nn.init: each initialiser's distribution against its formula (bounds, mean and
standard deviation on a large tensor with a fixed seed, since ember's RNG is not PyTorch's),
the deterministic ones and the fans and gains against PyTorch, and the errors."""

import math
import re

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.nn import init


def values(t):
    return t.detach().numpy().astype(np.float64)


def empty(*shape, dtype=ember.float32):
    return nn.Parameter(ember.empty(*shape, dtype=dtype))


# ---------------------------------------------------------------- gains and fans
@pytest.mark.parametrize(
    "nonlinearity, param",
    [("linear", None), ("conv1d", None), ("conv2d", None), ("conv_transpose2d", None),
     ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
     ("leaky_relu", 0.2), ("leaky_relu", 3), ("leaky_relu", math.sqrt(5)), ("selu", None)],
)  # fmt: skip
def test_calculate_gain(nonlinearity, param):
    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-15)


def test_calculate_gain_errors():
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain("swish")
    with pytest.raises(ValueError, match="calculate_gain: unsupported nonlinearity 'swish'"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain("leaky_relu", "0.2")
    with pytest.raises(ValueError, match="negative_slope must be a number, received '0.2'"):
        init.calculate_gain("leaky_relu", "0.2")


@pytest.mark.parametrize("shape", [(3, 4), (5, 2, 3), (8, 4, 3, 3), (2, 3, 1, 2, 2), (0, 3)])
def test_fans_match_torch(shape):
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert init._calculate_fan_in_and_fan_out(ember.empty(shape)) == expected


@pytest.mark.parametrize("shape", [(5,), ()])
def test_fans_need_two_dims(shape):
    for fn in ("xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"):
        with pytest.raises(ValueError):
            getattr(torch.nn.init, fn)(torch.empty(shape))
        with pytest.raises(ValueError, match=re.escape(
                f"fan in and fan out can not be computed for a tensor with fewer than 2 "
                f"dimensions, received shape {shape}")):  # fmt: skip
            getattr(init, fn)(ember.empty(shape))


# ---------------------------------------------------------------- plain distributions
def test_uniform_and_normal():
    ember.manual_seed(0)
    w = empty(400, 500)
    assert init.uniform_(w, -2.0, 3.0) is w
    v = values(w)
    assert v.min() >= -2 and v.max() < 3 and v.min() < -1.99 and v.max() > 2.99
    assert abs(v.mean() - 0.5) < 0.01  # std of the mean: 5 / sqrt(12 * 200000) ~ 0.003
    assert abs(v.std() - 5 / math.sqrt(12)) < 0.01
    init.normal_(w, mean=1.5, std=0.5)
    v = values(w)
    assert abs(v.mean() - 1.5) < 0.005 and abs(v.std() - 0.5) < 0.005
    assert w.dtype is ember.float32 and w.requires_grad and w.grad_fn is None
    with pytest.raises(ValueError, match="normal_: std must be non-negative, received -1"):
        init.normal_(w, std=-1)


def test_generator_and_default_seed():
    g = ember.Generator().manual_seed(42)
    a = values(init.normal_(ember.empty(50), generator=g))
    g.manual_seed(42)
    b = values(init.kaiming_uniform_(ember.empty(5, 10), generator=g))
    assert not np.array_equal(a[:50], b.reshape(-1))
    g.manual_seed(42)
    np.testing.assert_array_equal(a, values(init.normal_(ember.empty(50), generator=g)))
    ember.manual_seed(7)
    c = values(init.xavier_normal_(ember.empty(6, 4)))
    ember.manual_seed(7)
    np.testing.assert_array_equal(c, values(init.xavier_normal_(ember.empty(6, 4))))
    with pytest.raises(TypeError, match="expected an ember.Generator"):
        init.uniform_(ember.empty(3), generator=np.random.default_rng(0))


def test_constant_ones_zeros_in_place():
    w = empty(3, 4, dtype=ember.float64)
    version = w._version
    assert init.constant_(w, 0.25) is w and (values(w) == 0.25).all()
    assert w._version > version  # an in-place change, seen by autograd's version checks
    assert (values(init.ones_(w)) == 1).all() and (values(init.zeros_(w)) == 0).all()
    assert w.dtype is ember.float64 and w.grad_fn is None
    view = w[1]
    init.ones_(view)  # writes through a view into its base
    assert values(w).sum() == 4


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2)])
def test_eye_matches_torch(shape):
    expected = torch.nn.init.eye_(torch.empty(shape)).numpy()
    np.testing.assert_array_equal(values(init.eye_(ember.empty(shape))), expected)


@pytest.mark.parametrize("shape, groups", [((4, 3, 3), 1), ((6, 2, 3, 3), 2), ((4, 4, 2, 3, 3), 2),
                                           ((3, 5, 4, 4), 1)])  # fmt: skip
def test_dirac_matches_torch(shape, groups):
    expected = torch.nn.init.dirac_(torch.empty(shape), groups).numpy()
    np.testing.assert_array_equal(values(init.dirac_(ember.empty(shape), groups)), expected)


def test_shape_errors():
    for fn, shape in (("eye_", (2, 2, 2)), ("dirac_", (3, 3)), ("orthogonal_", (4,)),
                      ("sparse_", (2, 3, 4))):  # fmt: skip
        args = (0.5,) if fn == "sparse_" else ()
        with pytest.raises(ValueError):
            getattr(torch.nn.init, fn)(torch.empty(shape), *args)
        with pytest.raises(
            ValueError, match=f"{fn}: only tensors with .* dimensions are supported"
        ):
            getattr(init, fn)(ember.empty(shape), *args)
    with pytest.raises(TypeError, match="uniform_: expected a Tensor, received ndarray"):
        init.uniform_(np.zeros(3))


# ---------------------------------------------------------------- scaled by the fans
@pytest.mark.parametrize("shape", [(300, 400), (128, 64, 3, 3)])  # >= 73k draws: 1% is > 3.5 sd
@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier(shape, gain):
    fan_in, fan_out = shape[1] * math.prod(shape[2:]), shape[0] * math.prod(shape[2:])
    std = gain * math.sqrt(2 / (fan_in + fan_out))
    ember.manual_seed(1)
    v = values(init.xavier_uniform_(empty(*shape), gain=gain))
    bound = math.sqrt(3) * std
    assert v.min() >= -bound and v.max() <= bound and v.max() > 0.999 * bound
    assert abs(v.std() / std - 1) < 0.01 and abs(v.mean()) < 0.01 * std
    v = values(init.xavier_normal_(empty(*shape), gain=gain))
    assert abs(v.std() / std - 1) < 0.01 and abs(v.mean()) < 0.01 * std


@pytest.mark.parametrize(
    "a, mode, nonlinearity",
    [(0, "fan_in", "leaky_relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
     (0.2, "fan_out", "leaky_relu"), (0, "fan_in", "relu"), (0, "fan_out", "tanh"),
     (0, "FAN_IN", "linear")],
)  # fmt: skip
def test_kaiming(a, mode, nonlinearity):
    shape = (128, 64, 3, 3)
    fan = 64 * 9 if mode.lower() == "fan_in" else 128 * 9
    std = torch.nn.init.calculate_gain(nonlinearity, a) / math.sqrt(fan)
    ember.manual_seed(2)
    v = values(init.kaiming_uniform_(empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity))
    bound = math.sqrt(3) * std
    assert v.min() >= -bound and v.max() <= bound and v.max() > 0.999 * bound
    assert abs(v.std() / std - 1) < 0.01
    v = values(init.kaiming_normal_(empty(*shape), a=a, mode=mode, nonlinearity=nonlinearity))
    assert abs(v.std() / std - 1) < 0.01 and abs(v.mean()) < 0.01 * std


def test_kaiming_errors_and_empty_tensors():
    with pytest.raises(ValueError):
        torch.nn.init.kaiming_uniform_(torch.empty(3, 4), mode="fan_avg")
    with pytest.raises(
        ValueError, match="mode 'fan_avg' not supported, expected 'fan_in' or 'fan_out'"
    ):
        init.kaiming_uniform_(ember.empty(3, 4), mode="fan_avg")
    with pytest.warns(UserWarning, match="initializing zero-element tensors is a no-op"):
        w = init.kaiming_normal_(ember.empty(0, 4))
    assert tuple(w.shape) == (0, 4)


# ---------------------------------------------------------------- truncated normal
def _truncated_moments(mean, std, a, b):
    """Mean and standard deviation of N(mean, std**2) truncated to [a, b]."""

    def phi(z):
        return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)

    def cdf(z):
        return 0.5 * (1 + math.erf(z / math.sqrt(2)))

    al, be = (a - mean) / std, (b - mean) / std
    z = cdf(be) - cdf(al)
    m = mean + std * (phi(al) - phi(be)) / z
    var = std**2 * (1 + (al * phi(al) - be * phi(be)) / z - ((phi(al) - phi(be)) / z) ** 2)
    return m, math.sqrt(var)


@pytest.mark.parametrize("mean, std, a, b", [(0, 1, -2, 2), (0.5, 0.02, 0.46, 0.54),
                                             (0, 1, -0.5, 3), (1, 2, -10, 10)])  # fmt: skip
def test_trunc_normal(mean, std, a, b):
    ember.manual_seed(3)
    v = values(init.trunc_normal_(empty(200, 500, dtype=ember.float64), mean, std, a, b))
    assert v.min() >= a and v.max() <= b
    m, s = _truncated_moments(mean, std, a, b)
    assert abs(v.mean() - m) < 0.01 * s and abs(v.std() / s - 1) < 0.01


def test_trunc_normal_errors():
    with pytest.raises(ValueError, match=r"trunc_normal_: expected a < b, received a=2, b=-2"):
        init.trunc_normal_(ember.empty(3), a=2, b=-2)
    with pytest.raises(ValueError, match="too little to sample by rejection"):
        init.trunc_normal_(ember.empty(3), mean=0, std=1, a=10, b=11)
    w = init.trunc_normal_(ember.empty(3), mean=0.5, std=0, a=0, b=1)
    assert (values(w) == 0.5).all()


# ---------------------------------------------------------------- orthogonal and sparse
@pytest.mark.parametrize("shape", [(20, 50), (50, 20), (30, 30), (8, 2, 3, 3)])
def test_orthogonal(shape, gain=1.5):
    ember.manual_seed(4)
    w = values(init.orthogonal_(empty(*shape, dtype=ember.float64), gain=gain))
    flat = w.reshape(shape[0], -1)
    gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, gain**2 * np.eye(len(gram)), atol=1e-12)


def test_orthogonal_is_random():
    ember.manual_seed(5)
    a = values(init.orthogonal_(ember.empty(4, 4)))
    b = values(init.orthogonal_(ember.empty(4, 4)))
    assert not np.allclose(a, b)
    assert values(init.orthogonal_(ember.empty(0, 3))).size == 0


def test_sparse():
    ember.manual_seed(6)
    w = values(init.sparse_(ember.empty(100, 300, dtype=ember.float64), sparsity=0.25, std=0.1))
    zeros_per_column = (w == 0).sum(axis=0)
    assert (zeros_per_column == 25).all()
    nonzero = w[w != 0]
    assert abs(nonzero.std() / 0.1 - 1) < 0.02 and abs(nonzero.mean()) < 0.002
