"""Creation functions against PyTorch: dtype inference, shapes, values; memory sharing with
NumPy and through DLPack; and the errors for bad arguments."""

import numpy as np
import pytest
import torch

import ember
from tests.oracle import TORCH_TO_NAME, check_raises

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _np(x):
    x = x.detach()
    if isinstance(x, torch.Tensor):
        return (x.float() if x.dtype == torch.bfloat16 else x).numpy()
    a = x.numpy()
    return a.astype(np.float32) if a.dtype.kind == "V" else a


def same(f, exact=True):
    """f(ember) and f(torch) give tensors of one dtype, shape and (if deterministic) values."""
    e, t = f(ember), f(torch)
    assert e.dtype.name == TORCH_TO_NAME[t.dtype], f"dtype {e.dtype} != {t.dtype}"
    assert tuple(e.shape) == tuple(t.shape), f"shape {tuple(e.shape)} != {tuple(t.shape)}"
    assert e.requires_grad == t.requires_grad
    if exact:
        np.testing.assert_array_equal(_np(e), _np(t))
    return e, t


# ---------------------------------------------------------------- tensor / as_tensor
@pytest.mark.parametrize(
    "make",
    [lambda m: m.tensor([[1.0, 2.0], [3.0, 4.0]]),
     lambda m: m.tensor(2.5),
     lambda m: m.tensor(7),
     lambda m: m.tensor([]),
     lambda m: m.tensor([[]]),
     lambda m: m.tensor([[1, 2, 3]], dtype=m.float64),
     lambda m: m.tensor([1.7, -2.7], dtype=m.int32),
     lambda m: m.tensor([0.5, 0.0], dtype=m.bool),
     lambda m: m.tensor([1.5, 2.25], dtype=m.bfloat16),
     lambda m: m.tensor([1.5, 2.25], dtype=m.float16),
     lambda m: m.tensor([1e300]),  # overflows to inf, as in torch
     lambda m: m.tensor(np.array([300, -1]), dtype=m.uint8),  # arrays are cast (wrap)
     lambda m: m.tensor(np.arange(6.0).reshape(2, 3).T),
     lambda m: m.tensor([m.tensor(1.0), m.tensor(2.0)]),
     lambda m: m.tensor(m.tensor([1, 2], dtype=m.int16)),
     lambda m: m.tensor([1.0, 2.0], requires_grad=True),
     lambda m: m.tensor([1, 2], dtype=m.float64, requires_grad=True),
     lambda m: m.as_tensor([1, 2]),
     lambda m: m.as_tensor([1, 2], dtype=m.float16),
     lambda m: m.as_tensor(3.0),
     lambda m: m.as_tensor(np.array([1.0, 2.0], dtype=np.float32), dtype=m.float64)],
)  # fmt: skip
def test_tensor_matches_torch(make):
    same(make)


def test_tensor_copies_its_data():
    a = np.array([1.0, 2.0])
    t = ember.tensor(a)
    a[0] = 100.0
    assert t.tolist() == [1.0, 2.0]
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = ember.tensor(x)
    assert not y.requires_grad and y.is_leaf
    y._data[0] = 5.0
    assert x.tolist() == [1.0, 2.0]


def test_as_tensor_shares_memory_when_it_can():
    a = np.zeros(3, dtype=np.float32)
    t = ember.as_tensor(a)
    a[0] = 1.0
    assert t.tolist() == [1.0, 0.0, 0.0]
    t2 = ember.as_tensor(a, dtype=ember.float32, device="cpu")
    a[1] = 2.0
    assert t2.tolist() == [1.0, 2.0, 0.0]
    t3 = ember.as_tensor(a, dtype=ember.float64)  # a different dtype must copy
    a[2] = 3.0
    assert t3.tolist() == [1.0, 2.0, 0.0] and t3.dtype is ember.float64
    x = ember.ones(2)
    assert ember.as_tensor(x) is x


@pytest.mark.parametrize(
    "make,match",
    [(lambda m: m.tensor([[1, 2], [3]]), "uneven lengths"),
     (lambda m: m.tensor("abc"), "received str"),
     (lambda m: m.tensor(None), "received NoneType"),
     (lambda m: m.tensor([1, "a"]), "received str"),
     (lambda m: m.tensor(1 + 2j) if m is ember else m.tensor("x"), "received complex"),
     (lambda m: m.tensor([2**63]), "9223372036854775808 cannot be converted to ember.int64"),
     (lambda m: m.tensor([2**70]), "too large"),
     (lambda m: m.tensor([-1, 256], dtype=m.uint8), "-1 cannot be converted to ember.uint8"),
     (lambda m: m.tensor([128], dtype=m.int8), "128 cannot be converted to ember.int8"),
     (lambda m: m.tensor([2.0**70], dtype=m.int64), "cannot be converted to ember.int64"),
     (lambda m: m.tensor([1.0], dtype="float128") if m is ember else m.tensor(["x"]),
      "supported: bool")],
)  # fmt: skip
def test_tensor_errors(make, match):
    check_raises(make, match=match)


# ---------------------------------------------------------------- filled tensors
@pytest.mark.parametrize(
    "make",
    [lambda m: m.zeros(2, 3),
     lambda m: m.zeros((2, 3)),
     lambda m: m.zeros([2, 3], dtype=m.int32),
     lambda m: m.zeros(()),
     lambda m: m.zeros(0, 3),
     lambda m: m.zeros(2, dtype=m.bool),
     lambda m: m.zeros(2, dtype=m.bfloat16),
     lambda m: m.zeros(2, 2, requires_grad=True),
     lambda m: m.ones(2, 3, dtype=m.int8),
     lambda m: m.ones(4, dtype=m.float64, requires_grad=True),
     lambda m: m.ones(1, 0, 2),
     lambda m: m.full((2, 3), 3),
     lambda m: m.full((2,), 3.5),
     lambda m: m.full((2,), True),
     lambda m: m.full((), 2),
     lambda m: m.full((0, 3), 1.5),
     lambda m: m.full([2, 2], 3, dtype=m.float16),
     lambda m: m.full((2,), 2.7, dtype=m.int64),
     lambda m: m.full((2,), -1, dtype=m.uint8),  # wraps, as in torch
     lambda m: m.full((2,), m.tensor(2.5)),
     lambda m: m.full((3,), float("inf"), dtype=m.float16),
     lambda m: m.full((2,), 1.5, requires_grad=True),
     lambda m: m.eye(3),
     lambda m: m.eye(2, 4),
     lambda m: m.eye(4, 2, dtype=m.int64),
     lambda m: m.eye(3, dtype=m.bool),
     lambda m: m.eye(0),
     lambda m: m.eye(3, 0),
     lambda m: m.eye(2, requires_grad=True)],
)  # fmt: skip
def test_filled_matches_torch(make):
    same(make)


@pytest.mark.parametrize(
    "make",
    [lambda m: m.empty(2, 3), lambda m: m.empty((4,), dtype=m.int16), lambda m: m.empty(()),
     lambda m: m.empty(0, dtype=m.float64), lambda m: m.empty(2, requires_grad=True)],
)  # fmt: skip
def test_empty_matches_torch_in_dtype_and_shape(make):
    same(make, exact=False)


@pytest.mark.parametrize(
    "make,match",
    [(lambda m: m.zeros(-1), "sizes must be non-negative"),
     (lambda m: m.ones(2, -2), "sizes must be non-negative"),
     (lambda m: m.zeros(2.5), "sizes must be ints"),
     (lambda m: m.empty((2, "a")), "sizes must be ints"),
     (lambda m: m.zeros(dtype=m.float32), "missing the size"),
     (lambda m: m.zeros(2, dtype=m.int64, requires_grad=True), "only tensors of floating-point"),
     (lambda m: m.full((2,), None), "fill_value must be a number"),
     (lambda m: m.full((2,), 300, dtype=m.uint8), "cannot be converted to ember.uint8"),
     (lambda m: m.full((2,), -256, dtype=m.uint8), "cannot be converted to ember.uint8"),
     (lambda m: m.full((2,), 2.0**31, dtype=m.int32), "cannot be converted to ember.int32"),
     (lambda m: m.full((2,), float("nan"), dtype=m.int32), "cannot be converted to ember.int32"),
     (lambda m: m.full((2,), 70000, dtype=m.float16), "cannot be converted to ember.float16"),
     (lambda m: m.full((2,), 1, requires_grad=True), "only tensors of floating-point"),
     (lambda m: m.eye(-1), "sizes must be non-negative"),
     (lambda m: m.eye(2.0), "sizes must be ints")],
)  # fmt: skip
def test_filled_errors(make, match):
    check_raises(make, match=match)


# ---------------------------------------------------------------- ranges
@pytest.mark.parametrize(
    "make",
    [lambda m: m.arange(5),
     lambda m: m.arange(2, 9, 3),
     lambda m: m.arange(-3, 3, 2),
     lambda m: m.arange(5, 0, -1),
     lambda m: m.arange(5, -6, -3),
     lambda m: m.arange(0),
     lambda m: m.arange(3, 3),
     lambda m: m.arange(0, 5, 10),
     lambda m: m.arange(5.0),
     lambda m: m.arange(0.5, 3),
     lambda m: m.arange(0, 2.5),
     lambda m: m.arange(0, 1, 0.25),
     lambda m: m.arange(1, -1, -0.25),
     lambda m: m.arange(-0.5, -3, -0.5),
     lambda m: m.arange(5, dtype=m.float32),
     lambda m: m.arange(0, 10, 3, dtype=m.float64),
     lambda m: m.arange(0.5, 5.5, dtype=m.int64),
     lambda m: m.arange(0, 10, 2, dtype=m.int8),
     lambda m: m.arange(-5, 0, dtype=m.uint8),
     lambda m: m.arange(0, 2, 0.5, dtype=m.float16),
     lambda m: m.arange(0, 2**40, 2**38),
     lambda m: m.arange(2**60, 2**60 + 3),  # exact beyond 2**53
     lambda m: m.arange(m.tensor(4)),
     lambda m: m.arange(3.0, requires_grad=True)],
)  # fmt: skip
def test_arange_matches_torch(make):
    same(make)


def test_arange_float_steps_match_torch_closely():
    for args in [(0, 1, 0.1), (-1, 1, 0.3), (1, -1, -0.3), (0.1, 2.9, 0.7)]:
        e, t = same(lambda m: m.arange(*args), exact=False)  # noqa: B023
        np.testing.assert_allclose(_np(e), _np(t), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    "make,match",
    [(lambda m: m.arange(0, 5, 0), "step must be nonzero"),
     (lambda m: m.arange(0, 5, -1), "inconsistent with the step sign"),
     (lambda m: m.arange(5, 0), "inconsistent with the step sign"),
     (lambda m: m.arange(0, float("nan")), "end must be finite"),
     (lambda m: m.arange(0, float("inf")), "end must be finite"),
     (lambda m: m.arange(2, dtype=m.bool), "not supported for dtype ember.bool"),
     (lambda m: m.arange("a"), "end must be a number"),
     (lambda m: m.arange(5, requires_grad=True), "only tensors of floating-point")],
)  # fmt: skip
def test_arange_errors(make, match):
    check_raises(make, match=match)


@pytest.mark.parametrize(
    "make",
    [lambda m: m.linspace(0, 1, 5),
     lambda m: m.linspace(3, -1, 9),
     lambda m: m.linspace(0, 1, 1),
     lambda m: m.linspace(0, 1, 0),
     lambda m: m.linspace(-2, 2, 7, dtype=m.float64),
     lambda m: m.linspace(0, 10, 5, dtype=m.int64),
     lambda m: m.linspace(-5, 5, 4, dtype=m.int32),
     lambda m: m.linspace(0, 1, 5, dtype=m.float16),
     lambda m: m.linspace(m.tensor(0.0), m.tensor(1.0), 3),
     lambda m: m.linspace(0, 1, 3, requires_grad=True)],
)  # fmt: skip
def test_linspace_matches_torch(make):
    e, t = same(make, exact=False)
    np.testing.assert_allclose(_np(e), _np(t), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize(
    "make,match",
    [(lambda m: m.linspace(0, 1, -1), "steps must be non-negative"),
     (lambda m: m.linspace(0, 1, 2.0), "steps must be an int"),
     (lambda m: m.linspace(0, "a", 2), "end must be a number")],
)  # fmt: skip
def test_linspace_errors(make, match):
    check_raises(make, match=match)


# ---------------------------------------------------------------- *_like
@pytest.mark.parametrize(
    "make",
    [lambda m: m.zeros_like(m.tensor([1, 2], dtype=m.int32)),
     lambda m: m.zeros_like(m.tensor([1, 2], dtype=m.int32), dtype=m.float64),
     lambda m: m.zeros_like(m.tensor(1.5)),
     lambda m: m.ones_like(m.tensor([[1.0, 2.0]])),
     lambda m: m.ones_like(m.zeros(2, 0, dtype=m.float16)),
     lambda m: m.ones_like(m.tensor([1.0, 2.0]), requires_grad=True),
     lambda m: m.full_like(m.tensor([1, 2]), 2.7),
     lambda m: m.full_like(m.tensor([1.0, 2.0]), 2),
     lambda m: m.full_like(m.tensor([True, False]), 2),
     lambda m: m.full_like(m.tensor([1.0], dtype=m.float64), 0.5, dtype=m.float32),
     lambda m: m.zeros_like(m.tensor([1.0], requires_grad=True) * 2)],
)  # fmt: skip
def test_like_matches_torch(make):
    same(make)


@pytest.mark.parametrize(
    "make",
    [lambda m: m.empty_like(m.tensor([1, 2], dtype=m.int16)),
     lambda m: m.rand_like(m.tensor([[1.0, 2.0]], dtype=m.float64)),
     lambda m: m.rand_like(m.tensor([1.0]), dtype=m.float16),
     lambda m: m.randn_like(m.zeros(2, 3)),
     lambda m: m.randn_like(m.zeros((), dtype=m.bfloat16)),
     lambda m: m.randn_like(m.zeros(2), requires_grad=True),
     lambda m: m.randint_like(m.tensor([1.0, 2.0]), 5),
     lambda m: m.randint_like(m.tensor([[1, 2]], dtype=m.int32), 3, 5),
     lambda m: m.randint_like(m.zeros(3, dtype=m.uint8), 3, 5, dtype=m.int16)],
)  # fmt: skip
def test_like_of_random_or_empty_matches_torch_in_dtype_and_shape(make):
    same(make, exact=False)


@pytest.mark.parametrize(
    "make,match",
    [(lambda m: m.zeros_like([1, 2]), "expected a Tensor, received list"),
     (lambda m: m.full_like(np.zeros(2), 1), "expected a Tensor, received ndarray"),
     (lambda m: m.rand_like(m.tensor([1, 2])), "expected a floating-point dtype"),
     (lambda m: m.randn_like(m.tensor([True])), "expected a floating-point dtype"),
     (lambda m: m.randint_like(m.tensor([1]), 5, 2), "expected low < high")],
)  # fmt: skip
def test_like_errors(make, match):
    check_raises(make, match=match)


# ---------------------------------------------------------------- random creation
@pytest.mark.parametrize(
    "make",
    [lambda m: m.rand(2, 3),
     lambda m: m.rand((2, 3), dtype=m.float64),
     lambda m: m.rand(0, 3),
     lambda m: m.rand(()),
     lambda m: m.rand(4, requires_grad=True),
     lambda m: m.randn(3),
     lambda m: m.randn([2, 1], dtype=m.float16),
     lambda m: m.randn(2, dtype=m.bfloat16),
     lambda m: m.randint(10, (3,)),
     lambda m: m.randint(2, 10, (3, 2)),
     lambda m: m.randint(2, 10, [3]),
     lambda m: m.randint(-5, -2, (4,)),
     lambda m: m.randint(0, 3, (0,)),
     lambda m: m.randint(10, size=(3,)),
     lambda m: m.randint(high=3, size=(2,)),
     lambda m: m.randint(low=1, high=3, size=(2,)),
     lambda m: m.randint(0, 256, (5,), dtype=m.uint8),
     lambda m: m.randint(0, 2, (5,), dtype=m.bool),
     lambda m: m.randint(0, 10, (5,), dtype=m.float32),
     lambda m: m.randint(0, 10, (5,), dtype=m.float64, requires_grad=True),
     lambda m: m.randperm(5),
     lambda m: m.randperm(0),
     lambda m: m.randperm(5, dtype=m.int32),
     lambda m: m.randperm(256, dtype=m.uint8),
     lambda m: m.randperm(4, dtype=m.float32),
     lambda m: m.randperm(2049, dtype=m.float16)],
)  # fmt: skip
def test_random_creation_matches_torch_in_dtype_and_shape(make):
    same(make, exact=False)


@pytest.mark.parametrize(
    "make,match",
    [(lambda m: m.rand(-1), "sizes must be non-negative"),
     (lambda m: m.rand(2, dtype=m.int64), "expected a floating-point dtype"),
     (lambda m: m.randn(2, dtype=m.bool), "expected a floating-point dtype"),
     (lambda m: m.rand(2, generator=3), "expected an ember.Generator"),
     (lambda m: m.randint(10, 2, (3,)), "expected low < high"),
     (lambda m: m.randint(3, 3, (3,)), "expected low < high"),
     (lambda m: m.randint(10), "missing the size"),
     (lambda m: m.randint(0.5, 3.5, (3,)), "low must be an int"),
     (lambda m: m.randint(0, 3, (-1,)), "sizes must be non-negative"),
     (lambda m: m.randint(0, 1000, (3,), dtype=m.uint8), "does not fit dtype ember.uint8"),
     (lambda m: m.randint(-1, 2, (3,), dtype=m.uint8), "does not fit dtype ember.uint8"),
     (lambda m: m.randint(0, 3, (3,), dtype=m.bool), "does not fit dtype ember.bool"),
     (lambda m: m.randint(0, 2**70, (3,)), "does not fit dtype ember.int64"),
     (lambda m: m.randint(0, 3, (3,), requires_grad=True), "only tensors of floating-point"),
     (lambda m: m.randperm(-1), "n must be non-negative"),
     (lambda m: m.randperm(3.0), "n must be an int"),
     (lambda m: m.randperm(4, dtype=m.bool), "not supported for dtype ember.bool"),
     (lambda m: m.randperm(257, dtype=m.uint8), "too large for dtype ember.uint8"),
     (lambda m: m.randperm(2050, dtype=m.float16), "too large for dtype ember.float16"),
     (lambda m: m.randperm(3, requires_grad=True), "only tensors of floating-point")],
)  # fmt: skip
def test_random_creation_errors(make, match):
    check_raises(make, match=match)


def test_failed_random_call_leaves_the_generator_unchanged():
    ember.manual_seed(5)
    expected = ember.rand(3).tolist()
    ember.manual_seed(5)
    with pytest.raises(RuntimeError):
        ember.rand(3, device="cuda")
    assert ember.rand(3).tolist() == expected


# ---------------------------------------------------------------- NumPy and DLPack
def test_from_numpy_shares_memory_both_ways():
    a = np.arange(6.0).reshape(2, 3)
    t = ember.from_numpy(a)
    assert t.dtype is ember.float64 and t.shape == (2, 3)
    a[0, 0] = 100.0
    assert t.tolist()[0][0] == 100.0
    t.numpy()[1, 2] = -1.0
    assert a[1, 2] == -1.0
    with ember.no_grad():
        t.mul_(2)
    assert a[0, 0] == 200.0


@pytest.mark.parametrize("npdtype", [np.float16, np.float32, np.float64, np.int8, np.int16,
                                     np.int32, np.int64, np.uint8, np.bool_])  # fmt: skip
def test_from_numpy_keeps_the_dtype_like_torch(npdtype):
    a = np.zeros((2, 0, 3) if npdtype is np.int8 else (3,), dtype=npdtype)
    assert ember.from_numpy(a).dtype.name == TORCH_TO_NAME[torch.from_numpy(a).dtype]


def test_from_numpy_of_a_non_contiguous_view_shares_memory():
    a = np.arange(12.0).reshape(3, 4)
    v = a[:, ::2].T
    t = ember.from_numpy(v)
    assert t.shape == (2, 3) and t.tolist() == v.tolist()
    a[2, 2] = -5.0
    assert t.tolist()[1][2] == -5.0


def test_from_numpy_errors():
    with pytest.raises(TypeError, match="from_numpy: expected a numpy.ndarray, received list"):
        ember.from_numpy([1, 2])
    with pytest.raises(TypeError):
        torch.from_numpy([1, 2])
    with pytest.raises(TypeError, match="from_numpy: NumPy dtype complex64 has no ember"):
        ember.from_numpy(np.zeros(2, dtype=np.complex64))
    with pytest.raises(TypeError, match="from_numpy: NumPy dtype object has no ember"):
        ember.from_numpy(np.array(["a", 1], dtype=object))


def test_dlpack_torch_to_ember_shares_memory():
    src = torch.arange(6.0).reshape(2, 3)
    e = ember.from_dlpack(src)
    assert e.dtype is ember.float32 and e.shape == (2, 3)
    src[0, 1] = 50.0
    assert e.tolist()[0][1] == 50.0
    e.numpy()[1, 0] = -3.0
    assert src[1, 0].item() == -3.0
    nc = torch.arange(6).reshape(2, 3).t()  # strides survive
    assert ember.from_dlpack(nc).tolist() == nc.tolist()
    assert ember.from_dlpack(torch.tensor([True, False])).dtype is ember.bool


def test_dlpack_numpy_to_ember_shares_memory():
    a = np.arange(4, dtype=np.int32)
    e = ember.from_dlpack(a)
    assert e.dtype is ember.int32
    a[2] = 42
    assert e.tolist() == [0, 1, 42, 3]


def test_dlpack_ember_to_numpy_and_torch_share_memory():
    x = ember.arange(6.0).reshape(2, 3)
    n = np.from_dlpack(x)
    n[0, 0] = 7.0
    t = torch.from_dlpack(x)
    t[1, 2] = 9.0
    assert x.tolist() == [[7.0, 1.0, 2.0], [3.0, 4.0, 9.0]]
    assert t.dtype == torch.float32 and tuple(t.shape) == (2, 3)
    assert torch.from_dlpack(ember.tensor(3.5)).item() == 3.5
    assert tuple(torch.from_dlpack(ember.zeros(0, 3)).shape) == (0, 3)
    v = ember.from_numpy(np.arange(6.0).reshape(2, 3).T)  # non-contiguous
    assert torch.from_dlpack(v).tolist() == v.tolist()


def test_dlpack_errors():
    with pytest.raises(TypeError, match="from_dlpack: list does not implement __dlpack__"):
        ember.from_dlpack([1, 2])
    with pytest.raises(RuntimeError, match="from_dlpack: cannot import this Tensor"):
        ember.from_dlpack(torch.ones(2, dtype=torch.bfloat16))
    with pytest.raises(BufferError, match="requires grad"):
        torch.from_dlpack(ember.ones(2, requires_grad=True))
    with pytest.raises(BufferError):
        torch.from_dlpack(torch.ones(2, requires_grad=True))
    with pytest.raises(BufferError, match="bfloat16"):
        np.from_dlpack(ember.ones(2, dtype=ember.bfloat16))


# ---------------------------------------------------------------- logspace
@pytest.mark.parametrize(
    "make",
    [lambda m: m.logspace(0, 2, 3),
     lambda m: m.logspace(-3, 5, 17, dtype=m.float64),
     lambda m: m.logspace(1, -1.5, 7),
     lambda m: m.logspace(0, 2, 3, base=2),
     lambda m: m.logspace(0, 3, 4, base=0.5),
     lambda m: m.logspace(0, 2, 3, base=-2.0),
     lambda m: m.logspace(0, 2, 1),
     lambda m: m.logspace(0, 2, 0),
     lambda m: m.logspace(0, 50, 3, dtype=m.float16),  # beyond float16: inf
     lambda m: m.logspace(0, 1, 5, dtype=m.bfloat16),
     lambda m: m.logspace(m.tensor(0), m.tensor(2.0), 3),
     lambda m: m.logspace(0, 2, 3, requires_grad=True)],
)  # fmt: skip
def test_logspace_matches_torch(make):
    e, t = same(make, exact=False)
    rtol = 1e-2 if e.dtype in (ember.float16, ember.bfloat16) else 1e-6
    np.testing.assert_allclose(_np(e).astype(np.float64), _np(t), rtol=rtol)


@pytest.mark.parametrize(
    "make",
    [lambda m: m.logspace(0, 2, 3, dtype=m.int64),
     lambda m: m.logspace(0, 10, 5, dtype=m.int64),  # 10 ** 2.5 truncated
     lambda m: m.logspace(0, 10, 11, 2, dtype=m.int32),
     lambda m: m.logspace(-1, 2, 4, dtype=m.int64),
     lambda m: m.logspace(0.5, 2, 4, dtype=m.int64),  # start truncated to 0 first
     lambda m: m.logspace(0, 2, 5, base=2.5, dtype=m.int64),  # but not base
     lambda m: m.logspace(0, 7.5, 9, base=3, dtype=m.int16)],
)  # fmt: skip
def test_logspace_of_integers_matches_torch_exactly(make):
    same(make)


@pytest.mark.parametrize(
    "make,match",
    [(lambda m: m.logspace(0, 1, -1), "logspace: steps must be non-negative"),
     (lambda m: m.logspace(0, 1, 2.0), "logspace: steps must be an int"),
     (lambda m: m.logspace(0, "a", 2), "logspace: end must be a number"),
     (lambda m: m.logspace(0, 1, 2, base="e"), "logspace: base must be a number"),
     (lambda m: m.logspace(0, 1, 2, dtype=m.bool), "logspace: not supported for dtype ember.bool"),
     (lambda m: m.logspace(0, 1, 2, dtype=m.int64, requires_grad=True), "only tensors of floating-point")],
)  # fmt: skip
def test_logspace_errors(make, match):
    check_raises(make, match=match)


# ---------------------------------------------------------------- Tensor.new_*
def _f64(m):
    return m.tensor([1.0, 2.0], dtype=m.float64)


@pytest.mark.parametrize(
    "make",
    [lambda m: _f64(m).new_zeros(2, 3),
     lambda m: _f64(m).new_zeros((2, 3)),
     lambda m: _f64(m).new_zeros([2, 3], dtype=m.int32),
     lambda m: _f64(m).new_zeros(()),
     lambda m: _f64(m).new_zeros(0, 2, requires_grad=True),
     lambda m: m.tensor([1, 2], dtype=m.int16).new_ones(3),
     lambda m: m.tensor([True]).new_ones((2, 2)),
     lambda m: _f64(m).new_ones(2, dtype=m.float16, requires_grad=True),
     lambda m: _f64(m).new_full((2,), 3),  # the tensor's dtype, not the value's
     lambda m: _f64(m).new_full((2,), True),
     lambda m: m.tensor([1, 2]).new_full((2, 1), 2.5),
     lambda m: m.tensor([1, 2]).new_full([3], 2.5, dtype=m.float32),
     lambda m: _f64(m).new_tensor([1, 2]),
     lambda m: _f64(m).new_tensor([1, 2], dtype=m.int8),
     lambda m: _f64(m).new_tensor(3),
     lambda m: m.tensor([1, 2]).new_tensor([1.7, -2.7]),
     lambda m: m.tensor([1, 2]).new_tensor(True),
     lambda m: _f64(m).new_tensor(m.tensor([1, 2], dtype=m.int32)),
     lambda m: _f64(m).new_tensor([1.0, 2.0], requires_grad=True)],
)  # fmt: skip
def test_new_methods_match_torch(make):
    same(make)


@pytest.mark.parametrize(
    "make",
    [lambda m: _f64(m).new_empty(2, 3),
     lambda m: m.tensor([1, 2], dtype=m.uint8).new_empty((4,)),
     lambda m: _f64(m).new_empty((), dtype=m.bfloat16)],
)  # fmt: skip
def test_new_empty_matches_torch_in_dtype_and_shape(make):
    same(make, exact=False)


def test_new_tensor_copies_and_makes_a_leaf():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.new_tensor(x)
    assert y.is_leaf and not y.requires_grad
    with ember.no_grad():
        x.mul_(3)
    assert y.tolist() == [1.0, 2.0]


@pytest.mark.parametrize(
    "make,match",
    [(lambda m: _f64(m).new_zeros(), "new_zeros: missing the size"),
     (lambda m: _f64(m).new_ones(2.5), "new_ones: sizes must be ints"),
     (lambda m: _f64(m).new_empty((2, -1)), "new_empty: sizes must be non-negative"),
     (lambda m: _f64(m).new_full((2,), "a"), "new_full: fill_value must be a number"),
     (lambda m: m.tensor([1]).new_full((2,), 2**70), "new_full: fill_value 1180591620717411303424 cannot be converted to ember.int64"),
     (lambda m: m.tensor([1]).new_zeros(2, requires_grad=True), "only tensors of floating-point"),
     (lambda m: _f64(m).new_tensor("ab"), "tensor: expected numbers")],
)  # fmt: skip
def test_new_methods_errors(make, match):
    check_raises(make, match=match)


# ---------------------------------------------------------------- in-place random fills
FILLS = {  # name: (ember call, torch call), the same arguments
    "normal_": (lambda x, **k: x.normal_(2.0, 3.0, **k), lambda x: x.normal_(2.0, 3.0)),
    "uniform_": (lambda x, **k: x.uniform_(-1.0, 3.0, **k), lambda x: x.uniform_(-1.0, 3.0)),
    "log_normal_": (lambda x, **k: x.log_normal_(0.0, 0.5, **k), lambda x: x.log_normal_(0.0, 0.5)),
    "exponential_": (lambda x, **k: x.exponential_(2.0, **k), lambda x: x.exponential_(2.0)),
    "bernoulli_": (lambda x, **k: x.bernoulli_(0.3, **k), lambda x: x.bernoulli_(0.3)),
    "bernoulli_tensor": (
        lambda x, **k: x.bernoulli_(ember.tensor([0.1, 0.9]).expand(x.shape[0] // 2, 2).reshape(-1), **k),
        lambda x: x.bernoulli_(torch.tensor([0.1, 0.9]).expand(x.shape[0] // 2, 2).reshape(-1)),
    ),
    "random_to": (lambda x, **k: x.random_(10, **k), lambda x: x.random_(10)),
    "random_from_to": (lambda x, **k: x.random_(-3, 4, **k), lambda x: x.random_(-3, 4)),
    "random_": (lambda x, **k: x.random_(**k), lambda x: x.random_()),
}  # fmt: skip


def _moments(a):
    """Sample mean and variance, each with its standard error (from the sample's own
    moments, so the tolerance follows the sample size and the distribution's tails)."""
    a = np.asarray(a, np.float64)
    n, mean, var = a.size, a.mean(), a.var()
    m4 = ((a - mean) ** 4).mean()
    return (mean, np.sqrt(var / n)), (var, np.sqrt(max(m4 - var**2, 0.0) / n))


@pytest.mark.parametrize("name", list(FILLS))
def test_random_fills_match_the_distribution_of_torch(name):
    ember_fill, torch_fill = FILLS[name]
    n = 100_000
    ember.manual_seed(0)
    torch.manual_seed(0)
    e, t = ember.empty(n, dtype=ember.float64), torch.empty(n, dtype=torch.float64)
    assert ember_fill(e) is e and e._version == 1
    torch_fill(t)
    a, b = e.numpy(), t.numpy()
    if name == "log_normal_":  # compare the logarithms, whose moments are well behaved
        a, b = np.log(a), np.log(b)
    for (me, se), (mt, st) in zip(_moments(a), _moments(b)):
        assert abs(me - mt) < 6 * np.hypot(se, st), (name, me, mt)
    assert a.min() >= b.min() - 6 * b.std() and a.max() <= b.max() + 6 * b.std()
    if name.startswith(("random", "bernoulli")):  # integers, the same set of them
        assert np.all(a == np.round(a))
        if name != "random_":
            assert set(np.unique(a)) == set(np.unique(b))


@pytest.mark.parametrize(
    "name,dtype",
    [("uniform_", "float16"), ("uniform_", "bfloat16"), ("normal_", "float32"),
     ("exponential_", "float64"), ("bernoulli_", "bool"), ("bernoulli_", "int64"),
     ("random_from_to", "int8"), ("random_to", "uint8"), ("random_", "bool"),
     ("random_", "float16"), ("random_", "int16")],
)  # fmt: skip
def test_random_fills_keep_dtype_and_range_like_torch(name, dtype):
    ember_fill, torch_fill = FILLS[name]
    e = ember_fill(ember.zeros(20000, dtype=getattr(ember, dtype)))
    t = torch_fill(torch.zeros(20000, dtype=getattr(torch, dtype)))
    assert e.dtype.name == TORCH_TO_NAME[t.dtype] and tuple(e.shape) == tuple(t.shape)
    a, b = _np(e).astype(np.float64), _np(t).astype(np.float64)
    assert np.isfinite(a).all()
    if name.startswith(("uniform", "random")):
        # Bounded: both samples come within a few expected gaps (range / n) of the bounds.
        gap = 20 * (b.max() - b.min()) / b.size
        assert abs(a.min() - b.min()) <= gap and abs(a.max() - b.max()) <= gap
    if name == "uniform_":  # [-1, 3): rounding to a coarse dtype never reaches 3
        assert a.min() >= -1.0 and a.max() < 3.0


def test_random_fills_repeat_under_manual_seed_and_a_generator():
    for fill, _ in FILLS.values():
        ember.manual_seed(7)
        first = fill(ember.empty(50, dtype=ember.float64)).tolist()
        ember.manual_seed(7)
        assert fill(ember.empty(50, dtype=ember.float64)).tolist() == first
        g = ember.Generator().manual_seed(7)
        own = fill(ember.empty(50, dtype=ember.float64), generator=g).tolist()
        assert own == first  # the same seed, the same stream
        ember.manual_seed(7)
        fill(ember.empty(50, dtype=ember.float64), generator=ember.Generator().manual_seed(8))
        assert fill(ember.empty(50, dtype=ember.float64)).tolist() == first  # default untouched


def test_random_fills_write_views_in_place():
    x = ember.zeros(4, 6, dtype=ember.float64)
    x[:, ::2].uniform_(1.0, 2.0)
    assert (x[:, 1::2] == 0).all().item() and (x[:, ::2] >= 1).all().item()
    assert x._version == 1


@pytest.mark.parametrize("name", list(FILLS))
def test_random_fills_give_old_values_a_zero_gradient_like_torch(name):
    ember_fill, torch_fill = FILLS[name]
    grads = []
    for m, fill in ((ember, ember_fill), (torch, torch_fill)):
        leaf = m.ones(4, dtype=m.float64, requires_grad=True)
        y = leaf * 2
        fill(y)
        assert y.requires_grad and y.grad_fn is not None
        (y * 3).sum().backward()
        grads.append(_np(leaf.grad))
    np.testing.assert_array_equal(grads[0], grads[1])


@pytest.mark.parametrize(
    "make,match",
    [(lambda m: m.zeros(3, dtype=m.int64).normal_(), "normal_: expected a tensor of floating-point dtype, received ember.int64"),
     (lambda m: m.zeros(3).normal_(0.0, -1.0), "normal_: expected std >= 0, received std=-1.0"),
     (lambda m: m.zeros(3, dtype=m.int32).uniform_(), "uniform_: expected a tensor of floating-point dtype"),
     (lambda m: m.zeros(3).uniform_(2.0, 1.0), "uniform_: expected from <= to, received from=2.0, to=1.0"),
     (lambda m: m.zeros(3).uniform_(0.0, float("inf")), "uniform_: to must be finite"),
     (lambda m: m.zeros(3).exponential_(0.0), "exponential_: expected lambd > 0, received lambd=0.0"),
     (lambda m: m.zeros(3, dtype=m.int64).exponential_(), "exponential_: expected a tensor of floating-point dtype"),
     (lambda m: m.zeros(3).log_normal_(1.0, 0.0), "log_normal_: expected std > 0"),
     (lambda m: m.zeros(3).bernoulli_(2.0), "bernoulli_: expected p in [0, 1], received p=2.0"),
     (lambda m: m.zeros(3).bernoulli_(m.tensor([0.5, 2.0, 0.0])), "bernoulli_: expected p in [0, 1], received p=2.0"),
     (lambda m: m.zeros(3, 4).bernoulli_(m.full((2, 4), 0.5)), "bernoulli_: p of shape (2, 4) does not broadcast to the tensor's shape (3, 4)"),
     (lambda m: m.zeros(3).random_(5, 2), "random_: expected from < to, received from=5, to=2"),
     (lambda m: m.zeros(3).random_(0), "random_: expected from < to, received from=0, to=0"),
     (lambda m: m.zeros(3).random_(2.5), "random_: to must be an int"),
     (lambda m: m.zeros(3, dtype=m.uint8).random_(-1, 5), "random_: the range [-1, 4] does not fit dtype ember.uint8"),
     (lambda m: m.zeros(3, dtype=m.int8).random_(0, 200), "does not fit dtype ember.int8"),
     (lambda m: m.zeros(3, dtype=m.bool).random_(0, 3), "does not fit dtype ember.bool"),
     (lambda m: m.zeros(3).normal_(generator=3), "expected an ember.Generator"),
     (lambda m: m.zeros(3, requires_grad=True).normal_(), "normal_: a leaf tensor that requires grad")],
)  # fmt: skip
def test_random_fill_errors(make, match):
    check_raises(make, match=match)


def test_a_refused_random_fill_leaves_the_generator_unchanged():
    ember.manual_seed(5)
    expected = ember.rand(3).tolist()
    ember.manual_seed(5)
    with pytest.raises(RuntimeError):
        ember.zeros(2, requires_grad=True).uniform_()
    with pytest.raises(ValueError):
        ember.zeros(2).random_(3, 1)
    assert ember.rand(3).tolist() == expected
