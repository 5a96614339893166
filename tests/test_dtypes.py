"""dtypes: the full type-promotion table against PyTorch, dtype inference, the default dtype."""

import itertools
import pickle  # only to check that dtypes survive multiprocessing's pickling

import numpy as np
import pytest
import torch

import ember
from tests.oracle import TORCH_TO_NAME

pytestmark = pytest.mark.filterwarnings("ignore:Creating a tensor from a list of numpy:UserWarning")
NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64"]  # fmt: skip
PAIRS = list(itertools.product(NAMES, NAMES))
SCALARS = [True, False, 0, 3, -7, 2.5, -0.0, 1e300]


def E(name):
    return getattr(ember, name)


def T(name):
    return getattr(torch, name)


@pytest.mark.parametrize("a,b", PAIRS)
def test_promote_types_matches_torch(a, b):
    assert ember.promote_types(E(a), E(b)).name == TORCH_TO_NAME[torch.promote_types(T(a), T(b))]


@pytest.mark.parametrize("a,b", PAIRS)
@pytest.mark.parametrize("shapes", [((2,), (3, 1)), ((2,), ()), ((), (2,)), ((), ())])
def test_result_type_tensors_matches_torch(a, b, shapes):
    sa, sb = shapes
    e = ember.result_type(ember.zeros(sa, dtype=E(a)), ember.zeros(sb, dtype=E(b)))
    t = torch.result_type(torch.zeros(sa, dtype=T(a)), torch.zeros(sb, dtype=T(b)))
    assert e.name == TORCH_TO_NAME[t]


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("shape", [(2,), ()])
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_result_type_tensor_and_python_number_matches_torch(a, shape, default):
    ember.set_default_dtype(E(default))
    torch.set_default_dtype(T(default))
    try:
        for s in SCALARS:
            et, tt = ember.zeros(shape, dtype=E(a)), torch.zeros(shape, dtype=T(a))
            assert ember.result_type(et, s).name == TORCH_TO_NAME[torch.result_type(tt, s)], s
            assert ember.result_type(s, et).name == TORCH_TO_NAME[torch.result_type(s, tt)], s
    finally:
        torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("a,b", list(itertools.product(SCALARS, SCALARS)))
def test_result_type_two_python_numbers_matches_torch(a, b):
    assert ember.result_type(a, b).name == TORCH_TO_NAME[torch.result_type(a, b)]


def test_result_type_of_three_operands_ranks_dims_then_zero_dim_then_numbers():
    # torch.result_type takes two operands; torch.add's dtypes give the same rule for three
    x = ember.zeros(2, dtype=ember.int8)
    z = ember.zeros((), dtype=ember.int64)
    assert ember.result_type(x, z, 1) is ember.int8
    assert ember.result_type(x, z, 1.5) is ember.float32
    assert ember.result_type(x, ember.zeros((), dtype=ember.float64), 1) is ember.float64
    tx, tz = torch.zeros(2, dtype=torch.int8), torch.zeros((), dtype=torch.float64)
    assert (tx + tz + 1).dtype == torch.float64


def test_promotion_is_symmetric_and_idempotent():
    for a, b in PAIRS:
        assert ember.promote_types(E(a), E(b)) is ember.promote_types(E(b), E(a))
        assert ember.promote_types(E(a), E(a)) is E(a)


def test_promote_types_rejects_non_dtypes():
    with pytest.raises(TypeError, match="promote_types: expected two dtypes"):
        ember.promote_types(ember.float32, "float64")


def test_result_type_rejects_strings():
    with pytest.raises(TypeError, match="result_type: expected tensors or Python numbers"):
        ember.result_type(ember.zeros(2), "a")


@pytest.mark.parametrize("name", NAMES)
def test_dtype_attributes_match_torch(name):
    e, t = E(name), T(name)
    assert e.is_floating_point == t.is_floating_point
    assert e.is_signed == t.is_signed
    assert e.itemsize == t.itemsize
    assert e.is_complex is False
    assert repr(e) == repr(t).replace("torch.", "ember.")


def test_dtype_aliases_are_the_same_objects_as_in_torch():
    for alias, name in [("float", "float32"), ("double", "float64"), ("half", "float16"),
                        ("long", "int64"), ("int", "int32"), ("short", "int16")]:  # fmt: skip
        assert getattr(ember, alias) is E(name)
        assert getattr(torch, alias) is T(name)


@pytest.mark.parametrize(
    "data",
    [1.5, 2, True, [1.0, 2.0], [1, 2], [True, False], [1, 2.5], [True, 2], [True, 2.5], [[1], [2]],
     [], np.float64(1.5), np.float32(1.5), np.float16(1.5), np.int32(3), np.uint8(3),
     np.bool_(True), [np.float64(1.5), 2.0], [np.float32(1.5), 2.5], [np.int32(1), 2],
     [np.float16(1.5), 2], [np.uint8(1), np.int8(2)], [[np.float64(1)], [2]],
     np.array([1, 2], dtype=np.int16), np.array([1.5], dtype=np.float64), np.array(True),
     np.zeros((2, 0), dtype=np.int8), [np.array([1, 2], dtype=np.int16), [3, 4]]],
    ids=repr,
)  # fmt: skip
@pytest.mark.parametrize("default", ["float32", "float64"])
def test_tensor_dtype_inference_matches_torch(data, default):
    ember.set_default_dtype(E(default))
    torch.set_default_dtype(T(default))
    try:
        t = torch.tensor(data)
        e = ember.tensor(data)
    finally:
        torch.set_default_dtype(torch.float32)
    assert e.dtype.name == TORCH_TO_NAME[t.dtype]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_array_equal(e.numpy(), t.numpy())


def test_lists_of_tensors_take_their_promoted_dtype():
    mk = [lambda m: [m.tensor(1, dtype=m.int32), m.tensor(2, dtype=m.int16)],
          lambda m: [m.tensor(1.5, dtype=m.float64)], lambda m: [m.tensor(1), 2.5]]  # fmt: skip
    for f in mk:
        assert ember.tensor(f(ember)).dtype.name == TORCH_TO_NAME[torch.tensor(f(torch)).dtype]


def test_default_dtype():
    assert ember.get_default_dtype() is ember.float32
    ember.set_default_dtype(ember.float64)
    assert ember.get_default_dtype() is ember.float64
    assert ember.tensor([1.5]).dtype is ember.float64
    assert ember.tensor([1]).dtype is ember.int64
    assert ember.zeros(2).dtype is ember.float64
    assert ember.arange(0.5, 2).dtype is ember.float64
    assert ember.rand(2).dtype is ember.float64
    assert (ember.tensor([1], dtype=ember.int32) * 2.5).dtype is ember.float64
    ember.set_default_dtype(ember.float32)
    assert ember.tensor([1.5]).dtype is ember.float32


def test_set_default_dtype_rejects_non_floats():
    with pytest.raises(TypeError, match="expected a floating-point dtype, received ember.int64"):
        ember.set_default_dtype(ember.int64)
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int64)


def test_python_types_as_dtypes_mean_what_they_mean_in_torch():
    for pytype in (float, int, bool):
        e = ember.zeros(2, dtype=pytype).dtype
        assert e.name == TORCH_TO_NAME[torch.zeros(2, dtype=pytype).dtype]
    assert ember.tensor([1, 2]).to(float).dtype is ember.float64  # not the default dtype


def test_unknown_dtype_names_the_supported_ones():
    with pytest.raises(TypeError, match="supported: bool, uint8"):
        ember.zeros(2, dtype="complex64")
    with pytest.raises(TypeError, match="from_numpy: NumPy dtype uint16 has no ember"):
        ember.from_numpy(np.zeros(2, dtype=np.uint16))


def test_dtypes_survive_pickling_by_reference():
    for name in NAMES:
        assert pickle.loads(pickle.dumps(E(name))) is E(name)


# ---------------------------------------------------------------- finfo / iinfo
FLOATS = ["float16", "bfloat16", "float32", "float64"]
INTS = ["uint8", "int8", "int16", "int32", "int64"]


@pytest.mark.parametrize("name", FLOATS)
def test_finfo_matches_torch(name):
    e, t = ember.finfo(E(name)), torch.finfo(T(name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution", "dtype"):
        assert getattr(e, attr) == getattr(t, attr), attr
        assert type(getattr(e, attr)) is type(getattr(t, attr)), attr
    assert repr(e) == repr(t)


def test_finfo_describes_the_dtype_it_names():
    for name in FLOATS:
        info, d = ember.finfo(E(name)), E(name)
        one = ember.tensor([1.0, info.eps, info.eps / 2, info.max], dtype=d)
        assert (one[0] + one[1]).item() > 1.0 and (one[0] + one[2]).item() == 1.0
        assert np.isinf((one[3] * 2).item()) and np.isfinite(one[3].item())


def test_finfo_without_a_dtype_follows_the_default_dtype_like_torch():
    assert ember.finfo().dtype == torch.finfo().dtype == "float32"
    ember.set_default_dtype(ember.float64)
    try:
        assert ember.finfo().eps == torch.finfo(torch.float64).eps
    finally:
        ember.set_default_dtype(ember.float32)
    assert ember.finfo(float).eps == torch.finfo(float).eps


@pytest.mark.parametrize("name", INTS)
def test_iinfo_matches_torch(name):
    e, t = ember.iinfo(E(name)), torch.iinfo(T(name))
    for attr in ("bits", "max", "min", "dtype"):
        assert getattr(e, attr) == getattr(t, attr), attr
        assert type(getattr(e, attr)) is type(getattr(t, attr)), attr
    assert repr(e) == repr(t)


@pytest.mark.parametrize(
    "f,match",
    [(lambda m: m.finfo(m.int32), "finfo: expected a floating-point dtype, received ember.int32"),
     (lambda m: m.finfo(m.bool), "finfo: expected a floating-point dtype, received ember.bool"),
     (lambda m: m.iinfo(m.float32), "iinfo: expected an integer dtype, received ember.float32"),
     (lambda m: m.iinfo(m.bool), "iinfo: expected an integer dtype, received ember.bool")],
)  # fmt: skip
def test_finfo_iinfo_errors(f, match):
    with pytest.raises(TypeError):
        f(torch)
    with pytest.raises(TypeError, match=match):
        f(ember)
