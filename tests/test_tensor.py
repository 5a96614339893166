"""Tensor metadata and conversions against PyTorch: shape, size, dtype, device, autograd
state, item/numpy/tolist, to() and the dtype shortcuts, detach/clone, repr, Python
protocols, and the "cuda" device without CuPy."""

import numpy as np
import pytest
import torch

import ember
from ember.errors import EmberIndexError
from tests.oracle import TORCH_TO_NAME, check, check_raises, rand

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

SHAPES = [(), (0,), (3,), (2, 3), (2, 0, 4), (1, 2, 1, 3)]
NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64"]  # fmt: skip


def pair(data, dtype=None):
    """The same data as an ember and a torch tensor; ``dtype`` by name."""
    if dtype is None:
        return ember.tensor(data), torch.tensor(data)
    return ember.tensor(data, dtype=getattr(ember, dtype)), torch.tensor(
        data, dtype=getattr(torch, dtype)
    )


# ---------------------------------------------------------------- metadata
@pytest.mark.parametrize("shape", SHAPES)
def test_shape_size_ndim_numel_match_torch(shape):
    e, t = ember.zeros(shape), torch.zeros(shape)
    assert e.shape == tuple(t.shape) and e.size() == tuple(t.size())
    assert e.ndim == t.ndim and e.dim() == t.dim()
    assert e.numel() == t.numel() and e.nelement() == t.nelement()
    for d in range(-e.ndim, e.ndim):
        assert e.size(d) == t.size(d)
    assert e.element_size() == t.element_size()


@pytest.mark.parametrize("shape,dim", [((2, 3), 2), ((2, 3), -3), ((4,), 1), ((), 0), ((), -1)])
def test_size_of_a_dim_out_of_range(shape, dim):
    with pytest.raises(IndexError):
        torch.zeros(shape).size(dim)
    with pytest.raises(EmberIndexError, match=f"size: dim {dim}"):
        ember.zeros(shape).size(dim)


def test_size_dim_must_be_an_int():
    check_raises(lambda m: m.zeros(2, 3).size(1.0), match="size: dim must be an int")


@pytest.mark.parametrize("name", NAMES)
def test_dtype_device_and_flags_match_torch(name):
    e, t = ember.zeros(2, dtype=getattr(ember, name)), torch.zeros(2, dtype=getattr(torch, name))
    assert e.dtype.name == TORCH_TO_NAME[t.dtype]
    assert e.is_floating_point() == t.is_floating_point()
    assert e.element_size() == t.element_size()
    assert e.device == ember.device("cpu") and str(e.device) == str(t.device) == "cpu"
    assert repr(e.device) == repr(t.device)
    assert not e.is_cuda and not e.requires_grad and e.is_leaf and e.grad is None


def test_autograd_state_matches_torch():
    for m in (ember, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 2
        assert x.requires_grad and x.is_leaf and x.grad_fn is None and x.grad is None
        assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
        y.sum().backward()
        assert x.grad.tolist() == [2.0, 2.0] and y.grad is None
        z = m.tensor([1.0]) * 2
        assert not z.requires_grad and z.is_leaf


@pytest.mark.parametrize(
    "f,match",
    [(lambda m: m.tensor([1, 2]).requires_grad_(), "only tensors of floating-point dtype"),
     (lambda m: setattr(m.tensor([1.0], requires_grad=True) * 2, "requires_grad", False),
      "requires_grad can only be changed on leaf tensors")],
)  # fmt: skip
def test_requires_grad_errors(f, match):
    check_raises(f, match=match)


# ---------------------------------------------------------------- conversions
@pytest.mark.parametrize("name", NAMES)
def test_item_and_tolist_match_torch(name):
    data = [[1.5, -2.0, 0.0], [3.25, 4.0, 1.0]] if name not in ("bool", "uint8") else [[1, 0, 1]]
    e, t = pair(data, dtype=name)
    assert e.tolist() == t.tolist()
    for i in range(len(data)):
        for j in range(len(data[0])):
            a, b = e.tolist()[i][j], t.tolist()[i][j]
            assert type(a) is type(b)
    one_e, one_t = pair([[data[0][0]]], dtype=name)
    assert one_e.item() == one_t.item() and type(one_e.item()) is type(one_t.item())
    assert ember.tensor(7).tolist() == 7 and ember.tensor(2.5).item() == 2.5


@pytest.mark.parametrize("shape", [(2,), (0,), (2, 3)])
def test_item_of_many_elements_raises(shape):
    n = int(np.prod(shape))
    check_raises(lambda m: m.zeros(shape).item(), match=f"a tensor with {n} elements cannot")


def test_numpy_shares_memory_and_refuses_tensors_that_require_grad():
    x = ember.zeros(3)
    a = x.numpy()
    a[1] = 5.0
    assert x.tolist() == [0.0, 5.0, 0.0] and a.dtype == np.float32
    check_raises(lambda m: m.ones(2, requires_grad=True).numpy(), match="detach().numpy()")
    w = ember.ones(2, requires_grad=True)
    w.detach().numpy()[0] = 3.0
    assert w.tolist() == [3.0, 1.0]
    assert w.numpy(force=True).tolist() == [3.0, 1.0]


@pytest.mark.parametrize("src", NAMES)
@pytest.mark.parametrize("dst", NAMES)
def test_to_dtype_matches_torch(src, dst):
    data = [[0.0, 1.0, 2.5], [-1.75, 100.0, 7.0]] if src not in ("bool", "uint8") else [[0, 1, 1]]
    e, t = pair(data, dtype=src)
    eo, to = e.to(getattr(ember, dst)), t.to(getattr(torch, dst))
    assert eo.dtype.name == TORCH_TO_NAME[to.dtype]
    en = eo.float().numpy() if dst == "bfloat16" else eo.numpy()
    np.testing.assert_array_equal(en, to.float().numpy() if dst == "bfloat16" else to.numpy())


@pytest.mark.parametrize(
    "method", ["float", "double", "half", "bfloat16", "int", "long", "short", "char", "byte",
               "bool"],
)  # fmt: skip
def test_dtype_shortcuts_match_torch(method):
    e, t = pair([[1.7, -2.7, 0.0], [100.0, 0.5, 3.0]])
    eo, to = getattr(e, method)(), getattr(t, method)()
    assert eo.dtype.name == TORCH_TO_NAME[to.dtype]
    np.testing.assert_array_equal(eo.float().numpy(), to.float().numpy())


def test_to_forms_match_torch():
    forms = [
        lambda m, x: x.to(dtype=m.int32),
        lambda m, x: x.to("cpu"),
        lambda m, x: x.to(m.device("cpu")),
        lambda m, x: x.to("cpu", m.float16),
        lambda m, x: x.to(device="cpu", dtype=m.float64),
        lambda m, x: x.to(m.tensor([1], dtype=m.int16)),
        lambda m, x: x.to(float),
        lambda m, x: x.to(int),
        lambda m, x: x.to(bool),
        lambda m, x: x.type(m.float64),
    ]
    for f in forms:
        e, t = pair([1.5, -2.0])
        eo, to = f(ember, e), f(torch, t)
        assert eo.dtype.name == TORCH_TO_NAME[to.dtype]
        assert eo.tolist() == to.tolist()


def test_to_returns_self_unless_something_changes_or_copy_is_asked():
    for m in (ember, torch):
        x = m.ones(2)
        assert x.to(m.float32) is x and x.to("cpu") is x and x.float() is x
        y = x.to(m.float32, copy=True)
        assert y is not x
        with m.no_grad():
            y.mul_(5)
        assert x.tolist() == [1.0, 1.0]


def test_to_is_differentiable():
    # finite differences through a float32 cast are too coarse, so no gradcheck here
    check(lambda m, x: x.to(m.float32) * 2, rand(3), gradcheck=False)
    check(lambda m, x: x.to(m.float64) * x, rand(2, 3), gradgrad=True)
    check(lambda m, x: x.double() * x, rand(2, 3, dtype=np.float32))
    check(lambda m, x: x.half().float(), rand(4, dtype=np.float32), rtol=1e-3, atol=1e-3)


def test_to_errors():
    check_raises(lambda m: m.ones(2).to("gpu"), match="expected 'cpu', 'cuda' or 'cuda:N'")
    check_raises(lambda m: m.ones(2).to(dtype="nope"), match="expected a dtype")
    check_raises(lambda m: m.ones(2).to(m.float64, unknown=1), match="unexpected arguments")


@pytest.mark.parametrize("name", NAMES)
def test_type_names_match_torch(name):
    e, t = ember.zeros(2, dtype=getattr(ember, name)), torch.zeros(2, dtype=getattr(torch, name))
    assert e.type() == t.type().replace("torch.", "ember.")
    legacy = t.type()
    assert e.type(legacy.replace("torch.", "ember.")).dtype is e.dtype
    assert e.float().type(legacy).dtype is e.dtype


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("name", ["bool", "int32", "float16", "float64"])
def test_dims_numel_and_kind_queries_match_torch(shape, name):
    e, t = ember.zeros(shape, dtype=getattr(ember, name)), torch.zeros(shape, dtype=getattr(torch, name))  # fmt: skip
    assert e.ndimension() == t.ndimension()
    assert ember.numel(e) == torch.numel(t) and e.nelement() == t.nelement()
    assert ember.is_floating_point(e) == torch.is_floating_point(t) == e.is_floating_point()
    assert ember.is_complex(e) == torch.is_complex(t) == e.is_complex()


@pytest.mark.parametrize("data", [[0.0], 1.5, [[0]], True, [[[False]]], -3])
def test_is_nonzero_matches_torch(data):
    e, t = pair(data)
    assert ember.is_nonzero(e) == torch.is_nonzero(t) == e.is_nonzero()


@pytest.mark.parametrize(
    "f,match",
    [(lambda m: m.is_nonzero(m.tensor([])), "is_nonzero: expected a tensor with one element, received one with no elements"),
     (lambda m: m.tensor([1, 2]).is_nonzero(), "received one with 2 elements"),
     (lambda m: m.numel([1, 2]), "numel: expected input to be a Tensor, received list"),
     (lambda m: m.is_floating_point(1.0), "is_floating_point: expected input to be a Tensor, received float"),
     (lambda m: m.is_complex(np.zeros(2)), "is_complex: expected input to be a Tensor, received ndarray"),
     (lambda m: m.zeros(2).type_as(3), "type_as: expected other to be a Tensor, received int")],
)  # fmt: skip
def test_query_errors(f, match):
    check_raises(f, match=match)


@pytest.mark.parametrize("src", ["bool", "int64", "float32"])
@pytest.mark.parametrize("dst", ["uint8", "int32", "float16", "float64"])
def test_type_as_matches_torch(src, dst):
    e, t = pair([[1.7, -2.7, 0.0]] if src != "bool" else [[1, 0, 1]], dtype=src)
    eo = e.type_as(ember.zeros(1, dtype=getattr(ember, dst)))
    to = t.type_as(torch.zeros(1, dtype=getattr(torch, dst)))
    assert eo.dtype.name == TORCH_TO_NAME[to.dtype]
    np.testing.assert_array_equal(eo.float().numpy(), to.float().numpy())


def test_type_as_returns_self_when_nothing_changes_and_is_differentiable():
    x = ember.ones(2)
    assert x.type_as(ember.zeros(3)) is x
    check(lambda m, x, y: x.type_as(y) * y, rand(3), rand(3, dtype=np.float32))


# ---------------------------------------------------------------- detach / clone
def test_detach_shares_data_and_drops_the_graph():
    for m in (ember, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        y = x * 3
        d = y.detach()
        assert not d.requires_grad and d.is_leaf and d.grad_fn is None
        d.add_(1)
        assert y.tolist() == [4.0, 7.0]
        assert d._version == y._version  # one version counter: autograd sees the change


def test_clone_copies_and_keeps_the_gradient_path():
    check(lambda m, x: x.clone() * 2, rand(2, 3), gradgrad=True)
    check(lambda m, x: x.clone(), rand(3, dtype=np.float32))
    for m in (ember, torch):
        x = m.tensor([1.0, 2.0], requires_grad=True)
        c = x.clone()
        assert c.requires_grad and not c.is_leaf
        with m.no_grad():
            c.mul_(10)
        assert x.tolist() == [1.0, 2.0]
        n = m.tensor([1, 2]).clone()
        assert n.dtype == (m.int64) and not n.requires_grad


# ---------------------------------------------------------------- repr
REPRS = [
    lambda m: m.tensor([1.0, 2.0]),
    lambda m: m.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]),
    lambda m: m.tensor([1.5, 2.0], dtype=m.float64),
    lambda m: m.tensor([1, 2], dtype=m.int32),
    lambda m: m.tensor([1, -100000], dtype=m.int32),
    lambda m: m.tensor([1, 2]),
    lambda m: m.tensor([True, False]),
    lambda m: m.tensor([1, 2], dtype=m.uint8),
    lambda m: m.tensor(3.5),
    lambda m: m.tensor(3),
    lambda m: m.tensor(True),
    lambda m: m.tensor(-0.0),
    lambda m: m.tensor(100.0),
    lambda m: m.tensor(1e-5),
    lambda m: m.tensor(float("inf")),
    lambda m: m.tensor(1.5, dtype=m.float64),
    lambda m: m.tensor([]),
    lambda m: m.zeros(2, 0),
    lambda m: m.zeros(2, 0, 3),
    lambda m: m.zeros(0, dtype=m.int64),
    lambda m: m.zeros(0, 2, dtype=m.float64),
    lambda m: m.zeros(3),
    lambda m: m.tensor([1.5, 2.25], dtype=m.float16),
    lambda m: m.tensor([1.5, 2.25], dtype=m.bfloat16),
    lambda m: m.tensor([[1e-5, 1.0], [2.0, 3.0]], dtype=m.float16),
    lambda m: m.tensor([1e-5, 1.0]),
    lambda m: m.tensor([1e-4, 1.0]),
    lambda m: m.tensor([1e10, 1.0]),
    lambda m: m.tensor([1e8, 2.0]),
    lambda m: m.tensor([1.0, 1000.0]),
    lambda m: m.tensor([1.0, 1001.0]),
    lambda m: m.tensor([1.5, 1000.0]),
    lambda m: m.tensor([123456.7, 1.5]),
    lambda m: m.tensor([0.1, 2.25, -3.0]),
    lambda m: m.tensor([1.0, -2.0, 300.0]),
    lambda m: m.tensor([0.5, 0.0]),
    lambda m: m.tensor([0.0, float("nan")]),
    lambda m: m.tensor([float("nan"), 1.5, float("inf")]),
    lambda m: m.tensor([float("nan"), 1.0, float("-inf")]),
    lambda m: m.tensor([-0.0, 1.0]),
    lambda m: m.tensor([0.123456789], dtype=m.float64),
    lambda m: m.arange(24).reshape(2, 3, 4),
    lambda m: m.arange(30.0).reshape(1, 30),
    lambda m: m.arange(2000),
    lambda m: m.arange(2000.0),
    lambda m: m.arange(1200.0).reshape(2, 600),
    lambda m: m.arange(3000).reshape(1000, 3),
    lambda m: m.arange(10000).reshape(10, 10, 100),
    lambda m: m.tensor([True] * 1001),
    lambda m: m.tensor(np.random.default_rng(0).standard_normal((3, 30)).astype(np.float32)),
    lambda m: m.tensor(np.random.default_rng(1).standard_normal((4, 5, 6))),
    lambda m: m.tensor([1.0, 2.0], requires_grad=True),
    lambda m: m.tensor([1.0, 2.0], dtype=m.float64, requires_grad=True),
    lambda m: m.tensor([1.0, 2.0], requires_grad=True) * 2,
    lambda m: m.tensor([1.0, 2.0], requires_grad=True).clone(),
    lambda m: m.tensor(np.random.default_rng(2).standard_normal(30) * 3, requires_grad=True) * 2,
]


@pytest.mark.parametrize("make", REPRS)
def test_repr_matches_torch(make):
    assert repr(make(ember)) == repr(make(torch)).replace("torch.", "ember.")
    assert str(make(ember)) == str(make(torch)).replace("torch.", "ember.")


@pytest.mark.parametrize("make", [lambda m: m.tensor([1.5, 2.0]), lambda m: m.tensor([1, 2]),
                                  lambda m: m.tensor([1.5], dtype=m.float32)])  # fmt: skip
def test_repr_with_float64_default_matches_torch(make):
    ember.set_default_dtype(ember.float64)
    torch.set_default_dtype(torch.float64)
    try:
        assert repr(make(ember)) == repr(make(torch)).replace("torch.", "ember.")
    finally:
        torch.set_default_dtype(torch.float32)


def test_repr_of_a_users_function_output():
    class Twice(ember.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, gy):
            return gy * 2

    y = Twice.apply(ember.ones(2, requires_grad=True))
    assert repr(y) == "tensor([2., 2.], grad_fn=<TwiceBackward>)"


# ---------------------------------------------------------------- Python protocols
def test_len_and_iteration_match_torch():
    e, t = pair([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert len(e) == len(t) == 2
    assert [r.tolist() for r in e] == [r.tolist() for r in t]
    assert [r.tolist() for r in ember.arange(3)] == [0, 1, 2]
    assert len(ember.zeros(0, 2)) == 0 and list(ember.zeros(0, 2)) == []
    check_raises(lambda m: len(m.tensor(1.0)), match="len() of a 0-d tensor")
    check_raises(lambda m: iter(m.tensor(1.0)), match="iteration over a 0-d tensor")


def test_number_conversions_match_torch():
    for data in ([2.5], 7, [[-3.7]], True, [0.0]):
        e, t = pair(data)
        assert bool(e) == bool(t) and float(e) == float(t) and int(e) == int(t)
    e, t = pair(5)
    assert [10, 11, 12, 13, 14, 15][e] == [10, 11, 12, 13, 14, 15][t]
    assert e.__index__() == 5


@pytest.mark.parametrize(
    "f,match",
    [(lambda m: bool(m.tensor([0.0, 1.0])), "with 2 elements is ambiguous"),
     (lambda m: bool(m.tensor([])), "with 0 elements is ambiguous"),
     (lambda m: float(m.tensor([2.5, 1.0])), "a tensor with 2 elements cannot"),
     (lambda m: int(m.zeros(0)), "a tensor with 0 elements cannot"),
     (lambda m: [1, 2][m.tensor(1.0)], "only integer tensors of a single element"),
     (lambda m: [1, 2][m.tensor([0, 1])], "only integer tensors of a single element")],
)  # fmt: skip
def test_number_conversion_errors(f, match):
    check_raises(f, match=match)


# ---------------------------------------------------------------- devices
def test_device_objects_match_torch():
    for spec in ("cpu", "cuda:1"):
        assert repr(ember.device(spec)) == repr(torch.device(spec))
        assert str(ember.device(spec)) == str(torch.device(spec))
    assert ember.device("cuda", 1) == ember.device("cuda:1")
    assert ember.device("cuda").type == "cuda"
    check_raises(lambda m: m.device("tpu"), match="expected 'cpu', 'cuda' or 'cuda:N'")
    check_raises(lambda m: m.device("cuda:x"), match="expected a device index")


@pytest.mark.skipif(ember.cuda.is_available(), reason="checks the error shown without CuPy")
@pytest.mark.parametrize(
    "f",
    [lambda: ember.zeros(2, device="cuda"),
     lambda: ember.tensor([1.0], device="cuda:0"),
     lambda: ember.ones(2).to("cuda"),
     lambda: ember.ones(2).cuda(),
     lambda: ember.ones(2).to(ember.device("cuda")),
     lambda: ember.arange(3, device="cuda"),
     lambda: ember.randn(2, device="cuda"),
     lambda: ember.randint(3, (2,), device="cuda"),
     lambda: ember.randperm(3, device="cuda"),
     lambda: ember.full((2,), 1.0, device="cuda"),
     lambda: ember.zeros_like(ember.ones(2), device="cuda")],
)  # fmt: skip
def test_cuda_without_cupy_says_how_to_install_it(f):
    with pytest.raises(RuntimeError, match="CuPy is not installed") as info:
        f()
    assert "pip install cupy-cuda12x" in str(info.value)
    assert not ember.cuda.is_available() and ember.cuda.device_count() == 0


def test_deepcopy_leaf_copies_data_and_grad_and_refuses_non_leaf():
    import copy

    x = ember.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    y = copy.deepcopy(x)
    assert y is not x and y.requires_grad and y.is_leaf
    y.detach()._data[0] = 5.0
    assert x.tolist() == [1.0, 2.0] and y.grad.tolist() == [2.0, 2.0]
    (y * 3).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]
    with pytest.raises(RuntimeError, match="leaves"):
        copy.deepcopy(x * 2)


def test_pickle_keeps_data_and_requires_grad_and_leaves_the_graph_behind():
    import pickle

    def round_trips(m):
        x = m.tensor([1.0, -2.0, 3.0], dtype=m.float64, requires_grad=True)
        y = x * 2  # x is now part of a graph
        y.sum().backward()
        out = []
        for t in (x, y, m.arange(4), x.detach()[1:]):
            u = pickle.loads(pickle.dumps(t))
            out.append((u.tolist(), str(u.dtype), u.requires_grad, u.is_leaf, u.grad is None))
        return out

    assert round_trips(ember) == [
        (v, str(dt).replace("torch.", "ember."), *rest) for v, dt, *rest in round_trips(torch)
    ]
