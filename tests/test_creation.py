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
