"""Shape ops against PyTorch: values, dtypes, gradients (and second order), views, errors."""

import re

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember
from tests.oracle import check, check_raises, rand

# (id, op, input shape): each runs in float64 with gradcheck and gradgrad, and in float32.
UNARY = [
    ("reshape", lambda m, x: x.reshape(4, 3), (3, 4)),
    ("reshape_fn_tuple", lambda m, x: m.reshape(x, (2, -1)), (3, 4)),
    ("reshape_0d", lambda m, x: x.reshape(1, 1), ()),
    ("reshape_to_0d", lambda m, x: x.reshape(()), (1,)),
    ("reshape_empty", lambda m, x: x.reshape(3, 0, 2), (0, 6)),
    ("reshape_noncontig", lambda m, x: x.t().reshape(-1), (3, 4)),
    ("view", lambda m, x: x.view(2, 6), (3, 4)),
    ("view_minus1", lambda m, x: x.view(-1), (2, 3, 2)),
    ("view_transposed_ok", lambda m, x: x.t().view(4, 3, 1), (3, 4)),
    ("view_0d", lambda m, x: x.view(1), ()),
    ("view_empty", lambda m, x: x.view(0, 3), (3, 0)),
    ("flatten", lambda m, x: x.flatten(), (2, 3, 2)),
    ("flatten_mid", lambda m, x: m.flatten(x, 1, 2), (2, 3, 2, 2)),
    ("flatten_neg", lambda m, x: x.flatten(-2), (2, 3, 2)),
    ("flatten_0d", lambda m, x: x.flatten(), ()),
    ("flatten_empty", lambda m, x: x.flatten(0, 1), (0, 3, 2)),
    ("unflatten", lambda m, x: x.unflatten(1, (2, 3)), (2, 6)),
    ("unflatten_infer", lambda m, x: m.unflatten(x, -1, (-1, 2)), (2, 6)),
    ("permute", lambda m, x: x.permute(2, 0, 1), (2, 3, 4)),
    ("permute_tuple_neg", lambda m, x: m.permute(x, (-1, 0, 1)), (2, 3, 4)),
    ("permute_0d", lambda m, x: m.permute(x, ()), ()),
    ("permute_empty", lambda m, x: x.permute(1, 0), (0, 3)),
    ("transpose", lambda m, x: x.transpose(0, 2), (2, 3, 4)),
    ("transpose_same", lambda m, x: m.transpose(x, 1, -2), (2, 3, 4)),
    ("transpose_0d", lambda m, x: x.transpose(0, -1), ()),
    ("swapaxes", lambda m, x: m.swapaxes(x, 0, 1), (2, 3)),
    ("swapdims", lambda m, x: x.swapdims(-1, 0), (2, 3, 4)),
    ("t", lambda m, x: x.t(), (2, 3)),
    ("t_1d", lambda m, x: m.t(x), (3,)),
    ("t_0d", lambda m, x: x.t(), ()),
    ("T", lambda m, x: x.T, (2, 3)),
    ("mT", lambda m, x: x.mT, (2, 3, 4)),
    ("mH", lambda m, x: x.mH, (3, 4)),
    ("movedim", lambda m, x: x.movedim(0, -1), (2, 3, 4)),
    ("movedim_tuple", lambda m, x: m.movedim(x, (0, 1), (2, 0)), (2, 3, 4)),
    ("moveaxis", lambda m, x: m.moveaxis(x, 1, 0), (2, 3)),
    ("squeeze_all", lambda m, x: x.squeeze(), (1, 3, 1, 2)),
    ("squeeze_dim", lambda m, x: x.squeeze(2), (1, 3, 1, 2)),
    ("squeeze_dim_not1", lambda m, x: x.squeeze(1), (1, 3, 1, 2)),
    ("squeeze_tuple", lambda m, x: m.squeeze(x, (0, -2)), (1, 3, 1, 2)),
    ("squeeze_0d", lambda m, x: x.squeeze(0), ()),
    ("squeeze_empty", lambda m, x: x.squeeze(), (0, 1)),
    ("unsqueeze", lambda m, x: x.unsqueeze(1), (2, 3)),
    ("unsqueeze_neg", lambda m, x: m.unsqueeze(x, -1), (2, 3)),
    ("unsqueeze_0d", lambda m, x: x.unsqueeze(0), ()),
    ("expand", lambda m, x: x.expand(2, 3, 4), (3, 1)),
    ("expand_minus1", lambda m, x: x.expand(-1, 4), (3, 1)),
    ("expand_0d", lambda m, x: x.expand(2, 3), ()),
    ("expand_empty", lambda m, x: x.expand(0, 3), (1, 3)),
    ("expand_as", lambda m, x: x.expand_as(m.zeros(2, 3, 4, dtype=m.float64)), (3, 1)),
    ("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3)), (3,)),
    ("repeat", lambda m, x: x.repeat(2, 3), (2, 3)),
    ("repeat_more_dims", lambda m, x: x.repeat(2, 1, 2), (2, 3)),
    ("repeat_0d", lambda m, x: x.repeat(3), ()),
    ("repeat_zero", lambda m, x: x.repeat(0, 2), (2, 3)),
    ("repeat_empty", lambda m, x: x.repeat(2, 2), (0, 3)),
    ("tile", lambda m, x: m.tile(x, (2,)), (2, 3)),
    ("tile_more_dims", lambda m, x: x.tile((2, 1, 2)), (2, 3)),
    ("split_int", lambda m, x: x.split(2), (5, 2)),
    ("split_list", lambda m, x: m.split(x, [1, 0, 3], dim=1), (2, 4)),
    ("split_empty", lambda m, x: m.split(x, 2), (0, 3)),
    ("chunk", lambda m, x: x.chunk(3, 1), (2, 5)),
    ("chunk_exact", lambda m, x: m.chunk(x, 2), (4, 2)),
    ("chunk_fewer", lambda m, x: m.chunk(x, 4), (6,)),
    ("chunk_empty", lambda m, x: m.chunk(x, 3), (0,)),
    ("narrow", lambda m, x: x.narrow(1, 1, 2), (2, 4)),
    ("narrow_neg_start", lambda m, x: m.narrow(x, 0, -2, 2), (3, 2)),
    ("narrow_empty", lambda m, x: m.narrow(x, 0, 3, 0), (3, 2)),
    ("unbind", lambda m, x: x.unbind(1), (2, 3)),
    ("flip", lambda m, x: x.flip(0), (3, 2)),
    ("flip_dims", lambda m, x: m.flip(x, (0, -1)), (3, 2, 2)),
    ("flip_0d", lambda m, x: m.flip(x, ()), ()),
    ("fliplr", lambda m, x: m.fliplr(x), (2, 3)),
    ("flipud", lambda m, x: x.flipud(), (3, 2)),
    ("roll", lambda m, x: x.roll(1, 0), (3, 2)),
    ("roll_tuple", lambda m, x: m.roll(x, (1, -3), (1, 0)), (3, 4)),
    ("roll_flat", lambda m, x: m.roll(x, 5), (3, 4)),
    ("roll_empty", lambda m, x: m.roll(x, 1, 0), (0, 2)),
    ("tril", lambda m, x: x.tril(), (3, 4)),
    ("tril_diag", lambda m, x: m.tril(x, -1), (2, 3, 3)),
    ("triu", lambda m, x: m.triu(x), (4, 3)),
    ("triu_diag", lambda m, x: x.triu(diagonal=2), (2, 3, 4)),
    ("tri_empty", lambda m, x: x.triu(), (0, 3)),
    ("contiguous", lambda m, x: x.t().contiguous(), (2, 3)),
    ("contiguous_self", lambda m, x: x.contiguous() * 1, (2, 3)),
]


@pytest.mark.parametrize("f,shape", [c[1:] for c in UNARY], ids=[c[0] for c in UNARY])
def test_unary_float64(f, shape):
    check(f, rand(*shape), gradgrad=True)


@pytest.mark.parametrize("f,shape", [c[1:] for c in UNARY], ids=[c[0] for c in UNARY])
def test_unary_float32(f, shape):
    check(f, rand(*shape, dtype=np.float32))


def test_int_tensors_keep_dtype():
    x = np.arange(12).reshape(3, 4)
    check(lambda m, x: x.t().reshape(2, 6).flip(0).roll(1, 1), x)
    check(lambda m, x: m.cat([x, x.tril()], 1).split(3, 1), x)


CAT = [
    ("dim0", [(2, 3), (1, 3), (3, 3)], 0),
    ("dim1", [(2, 3), (2, 1)], 1),
    ("neg_dim", [(2, 3, 2), (2, 3, 1)], -1),
    ("one", [(2, 3)], 0),
    ("empty_part", [(0, 3), (2, 3)], 0),
    ("skip_1d_empty", [(0,), (2, 3), (0,)], 1),
    ("all_1d_empty", [(0,), (0,)], 0),
    ("1d", [(2,), (3,)], 0),
]


@pytest.mark.parametrize("shapes,dim", [c[1:] for c in CAT], ids=[c[0] for c in CAT])
def test_cat(shapes, dim):
    xs = [rand(*s) for s in shapes]
    check(lambda m, xs: m.cat(xs, dim), xs, gradgrad=True)
    check(lambda m, xs: m.concat(xs, dim=dim), [x.astype(np.float32) for x in xs])


def test_cat_aliases_and_tuple():
    check(lambda m, a, b: m.concatenate((a, b), axis=1), rand(2, 1), rand(2, 3), gradgrad=True)


def test_cat_promotes_dtypes():
    check(lambda m, a, b: m.cat([a, b]), rand(2, 3, dtype=np.float32), rand(1, 3))
    check(lambda m, a, b: m.cat([a, b], 1), rand(2, 1), np.arange(6).reshape(2, 3))
    check(lambda m, a, b: m.cat([a, b]), np.arange(3, dtype=np.int32), np.arange(2))
    check(lambda m, a, b: m.cat([a, b]), np.array([True]), np.arange(2, dtype=np.int32))
    # the skipped empty tensor still takes part in the promotion
    check(lambda m, a, b: m.cat([a, b], 1), rand(0), rand(2, 3, dtype=np.float32))


def test_cat_skipped_empty_tensor_gets_empty_gradient():
    e = ember.zeros(0, requires_grad=True)
    x = ember.ones(2, 3, requires_grad=True)
    ember.cat([e, x, e], 1).sum().backward()
    assert e.grad is not None and e.grad.shape == (0,)
    assert x.grad.tolist() == [[1.0] * 3] * 2


STACK = [((2, 3), 0), ((2, 3), 2), ((2, 3), -1), ((), 0), ((0, 2), 1)]


@pytest.mark.parametrize("shape,dim", STACK)
def test_stack(shape, dim):
    xs = [rand(*shape) for _ in range(3)]
    check(lambda m, xs: m.stack(xs, dim), xs, gradgrad=True)
    check(lambda m, xs: m.stack(xs, dim=dim), [x.astype(np.float32) for x in xs])


def test_stack_promotes():
    check(lambda m, a, b: m.stack([a, b]), np.arange(2, dtype=np.int32), rand(2))


@pytest.mark.parametrize("shapes", [[(3,), (2,)], [(2, 3), (2, 1)], [(), ()]])
def test_hstack(shapes):
    check(lambda m, xs: m.hstack(xs), [rand(*s) for s in shapes], gradgrad=True)


@pytest.mark.parametrize("shapes", [[(3,), (3,)], [(2, 3), (1, 3)], [(), ()]])
def test_vstack(shapes):
    check(lambda m, xs: m.vstack(xs), [rand(*s) for s in shapes], gradgrad=True)


# ---------------------------------------------------------------- views
def test_views_share_memory_and_version():
    x = ember.zeros(3, 4)
    views = {
        "reshape": x.reshape(4, 3), "view": x.view(12), "transpose": x.t(), "permute": x.permute(1, 0),
        "expand": x.unsqueeze(0).expand(2, 3, 4), "narrow": x.narrow(0, 1, 2), "split": x.split(2)[0],
        "chunk": x.chunk(2, 1)[1], "squeeze": x.unsqueeze(1).squeeze(1), "flatten": x.flatten(),
        "getitem": x[1], "unbind": x.unbind(0)[1], "T": x.T, "movedim": x.movedim(0, 1),
    }  # fmt: skip
    with ember.no_grad():
        x[1, 2] = 5.0
    for name, v in views.items():
        assert float(v.max().item()) == 5.0, name
        assert v._version == x._version == 1, name
    copies = {"flip": x.flip(0), "roll": x.roll(1), "repeat": x.repeat(1, 1), "triu": x.triu(),
              "cat": ember.cat([x]), "contiguous": x.t().contiguous()}  # fmt: skip
    x.mul_(0)
    for name, c in copies.items():
        assert float(c.sum().item()) == 5.0, name
        assert c._version == 0, name


def test_view_changes_show_in_base():
    x = ember.zeros(2, 3)
    v = x.view(6)
    v.add_(1)
    assert x.tolist() == [[1.0] * 3] * 2
    assert x._version == v._version == 1


def test_contiguous_returns_self_when_contiguous():
    x = ember.zeros(2, 3)
    assert x.contiguous() is x and x.is_contiguous()
    y = x.t()
    assert not y.is_contiguous()
    z = y.contiguous()
    assert z.is_contiguous() and z is not y and z.shape == (3, 2)


def test_saved_view_changed_in_place_is_detected():
    # a view shares its base's version counter, so autograd notices a change through it
    x = ember.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 1
    z = y * y
    with ember.no_grad():
        y.view(3).add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        z.sum().backward()


# ---------------------------------------------------------------- property tests
shapes = st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_cat_split_round_trip(data):
    shape = data.draw(shapes)
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    n = shape[dim]
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=3)))
    sizes = [b - a for a, b in zip([0] + cuts, cuts + [n])]
    x = rand(*shape)
    check(lambda m, x: m.cat(m.split(x, sizes, dim), dim), x, gradcheck=False)
    check(lambda m, x: m.split(x, sizes, dim), x, gradcheck=False)
    e = ember.tensor(x)
    assert np.array_equal(ember.cat(e.split(sizes, dim), dim).numpy(), x)
    if n:
        size = data.draw(st.integers(1, n))
        check(lambda m, x: x.split(size, dim), x, gradcheck=False)
        assert np.array_equal(ember.cat(e.chunk(size, dim), dim).numpy(), x)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_stack_unbind_round_trip(data):
    shape = data.draw(shapes)
    dim = data.draw(st.integers(-len(shape) - 1, len(shape)))
    xs = [rand(*shape) for _ in range(data.draw(st.integers(1, 3)))]
    check(lambda m, xs: m.stack(xs, dim).unbind(dim), xs, gradcheck=False)
    y = ember.stack([ember.tensor(x) for x in xs], dim)
    for a, b in zip(y.unbind(dim), xs):
        assert np.array_equal(a.numpy(), b)


# ---------------------------------------------------------------- errors
def test_view_of_non_viewable_raises():
    err = check_raises(lambda m, x: x.t().view(-1), rand(3, 4), match="view")
    assert ".reshape(...)" in str(err)


ERRORS = [
    ("reshape_bad", lambda m, x: x.reshape(5, 2), (3, 4), "reshape: shape (5, 2) is invalid"),
    ("reshape_two_infer", lambda m, x: x.reshape(-1, -1), (3, 4), "only one dimension can be -1"),
    ("reshape_float", lambda m, x: x.reshape(2.0, 6), (3, 4), "sizes must be ints"),
    ("view_bad", lambda m, x: x.view(5), (3, 4), "view: shape (5,) is invalid"),
    ("flatten_order", lambda m, x: x.flatten(1, 0), (3, 4), "start_dim (1) cannot come after"),
    ("flatten_dim", lambda m, x: x.flatten(3), (3, 4), "flatten: dim 3 is out of range"),
    ("unflatten", lambda m, x: x.unflatten(1, (3, 2)), (3, 4), "don't multiply up"),
    ("permute_len", lambda m, x: x.permute(0), (3, 4), "permute: expected 2 dims"),
    ("permute_repeat", lambda m, x: x.permute(0, 0), (3, 4), "repeat a dimension"),
    ("transpose_dim", lambda m, x: x.transpose(0, 2), (3, 4), "transpose: dim 2 is out of range"),
    ("t_3d", lambda m, x: x.t(), (2, 3, 4), "t: expects a tensor with <= 2 dimensions"),
    ("mT_1d", lambda m, x: x.mT, (3,), "mT: only supported on matrices"),
    ("movedim_len", lambda m, x: x.movedim((0, 1), 0), (3, 4), "movedim: source (2 dims)"),
    ("squeeze_dim", lambda m, x: x.squeeze(2), (3, 1), "squeeze: dim 2 is out of range"),
    ("unsqueeze_dim", lambda m, x: x.unsqueeze(3), (3, 1), "unsqueeze: dim 3 is out of range"),
    ("expand_size", lambda m, x: x.expand(3, 5), (3, 4), "cannot be expanded to 5"),
    ("expand_fewer", lambda m, x: x.expand(4), (3, 4), "must be at least the number"),
    ("expand_new_minus1", lambda m, x: x.expand(-1, 3, 4), (3, 4), "-1 is not allowed"),
    ("repeat_fewer", lambda m, x: x.repeat(2), (3, 4), "repeat: the number of repeats (1)"),
    ("repeat_negative", lambda m, x: x.repeat(-1, 2), (3, 4), "repeats must be non-negative"),
    ("split_sum", lambda m, x: x.split([2, 2]), (5,), "must be non-negative and sum exactly to 5"),
    ("split_zero", lambda m, x: x.split(0), (5,), "split_size must be positive"),
    ("split_0d", lambda m, x: m.split(x, 1), (), "cannot split a 0-d"),
    ("chunk_zero", lambda m, x: x.chunk(0), (5,), "greater than 0, received 0"),
    ("narrow_start", lambda m, x: x.narrow(0, 5, 0), (3, 4), "narrow: start 5 is out of range"),
    ("narrow_length", lambda m, x: x.narrow(0, 2, 2), (3, 4), "start (2) + length (2) exceeds"),
    ("flip_repeat", lambda m, x: x.flip(0, 0), (3, 4), "flip: dims (0, 0) repeat"),
    ("flip_dim", lambda m, x: x.flip(2), (3, 4), "flip: dim 2 is out of range"),
    ("fliplr_1d", lambda m, x: m.fliplr(x), (3,), "fliplr: input must have at least 2 dims"),
    ("roll_align", lambda m, x: x.roll((1, 2), 0), (3, 4), "roll: shifts and dims must align"),
    ("roll_flat_tuple", lambda m, x: x.roll((1, 2)), (3, 4), "with dims=None, expected one shift"),
    ("tril_1d", lambda m, x: x.tril(), (3,), "tril: input tensor must have at least 2 dimensions"),
    ("triu_0d", lambda m, x: m.triu(x), (), "triu: input tensor must have at least 2 dimensions"),
    ("unbind_0d", lambda m, x: x.unbind(), (), "unbind: cannot unbind a 0-d tensor"),
]


@pytest.mark.parametrize("f,shape,match", [c[1:] for c in ERRORS], ids=[c[0] for c in ERRORS])
def test_errors(f, shape, match):
    check_raises(f, rand(*shape), match=match)


def test_dim_errors_are_index_errors():
    with pytest.raises(IndexError):
        ember.zeros(3).transpose(0, 1)
    with pytest.raises(IndexError, match="narrow: start -4"):
        ember.zeros(3).narrow(0, -4, 1)


CAT_ERRORS = [
    ("sizes", lambda m, a, b: m.cat([a, b]), (2, 2), (2, 3), "cat: sizes of tensors must match except in dimension 0: expected size 2 but got size 3 for tensor number 1"),
    ("ndim", lambda m, a, b: m.cat([a, b]), (2, 2), (2, 2, 1), "cat: tensors must have the same number of dimensions"),
    ("zero_dim", lambda m, a, b: m.cat([a, b]), (2,), (), "zero-dimensional tensor (at position 1)"),
    ("dim_range", lambda m, a, b: m.cat([a, b], 2), (2, 2), (2, 2), "cat: dim 2 is out of range"),
    ("stack_sizes", lambda m, a, b: m.stack([a, b]), (2, 2), (2, 3), "stack: expects each tensor to be equal size, but got (2, 2) at entry 0 and (2, 3) at entry 1"),
    ("stack_dim", lambda m, a, b: m.stack([a, b], 3), (2, 2), (2, 2), "stack: dim 3 is out of range"),
]  # fmt: skip


@pytest.mark.parametrize(
    "f,sa,sb,match", [c[1:] for c in CAT_ERRORS], ids=[c[0] for c in CAT_ERRORS]
)
def test_cat_errors(f, sa, sb, match):
    check_raises(f, rand(*sa), rand(*sb), match=match)


def test_cat_argument_errors():
    check_raises(lambda m: m.cat([]), match="cat: expected a non-empty list")
    check_raises(lambda m, a: m.cat(a), rand(2), match="cat: expected a list or tuple of Tensors")
    check_raises(lambda m, a: m.cat([a, 1.0]), rand(2), match="received float at position 1")
    check_raises(lambda m: m.stack([]), match="stack: expected a non-empty list")


# ---------------------------------------------------------------- new shape ops
NEW_UNARY = [
    ("ravel", lambda m, x: x.ravel(), (2, 3)),
    ("ravel_noncontig", lambda m, x: m.ravel(x.t()), (2, 3)),
    ("ravel_0d", lambda m, x: m.ravel(x), ()),
    ("ravel_empty", lambda m, x: x.ravel(), (0, 3)),
    ("rot90", lambda m, x: m.rot90(x), (2, 3)),
    ("rot90_k2", lambda m, x: x.rot90(2), (2, 3)),
    ("rot90_k3_dims", lambda m, x: m.rot90(x, 3, (2, 0)), (2, 3, 4)),
    ("rot90_neg_k", lambda m, x: x.rot90(-5, [1, 0]), (2, 3)),
    ("rot90_k0", lambda m, x: m.rot90(x, 0), (2, 3)),
    ("rot90_neg_dims", lambda m, x: m.rot90(x, 1, (-1, -3)), (2, 3, 4)),
    ("rot90_empty", lambda m, x: m.rot90(x), (0, 3)),
    ("tensor_split_sections", lambda m, x: m.tensor_split(x, 3), (7, 2)),
    ("tensor_split_more_sections", lambda m, x: x.tensor_split(9, dim=0), (7,)),
    ("tensor_split_dim", lambda m, x: x.tensor_split(2, 1), (2, 5)),
    ("tensor_split_indices", lambda m, x: m.tensor_split(x, [-2, 3, 1, 10, 20]), (7,)),
    ("tensor_split_neg_indices", lambda m, x: m.tensor_split(x, (-9, -10)), (7,)),
    ("tensor_split_indices_dim", lambda m, x: x.tensor_split([1, 3], dim=-1), (2, 5)),
    ("tensor_split_no_indices", lambda m, x: m.tensor_split(x, []), (3,)),
    ("tensor_split_empty", lambda m, x: m.tensor_split(x, 2), (0, 4)),
    ("tensor_split_tensor_sections", lambda m, x: m.tensor_split(x, m.tensor(2)), (5,)),
    ("tensor_split_tensor_indices", lambda m, x: m.tensor_split(x, m.tensor([2, 4])), (7,)),
    ("repeat_interleave_flat", lambda m, x: m.repeat_interleave(x, 2), (2, 3)),
    ("repeat_interleave_dim", lambda m, x: x.repeat_interleave(3, dim=1), (2, 3)),
    ("repeat_interleave_neg_dim", lambda m, x: x.repeat_interleave(2, -2), (2, 3, 2)),
    ("repeat_interleave_zero", lambda m, x: m.repeat_interleave(x, 0, 1), (2, 3)),
    ("repeat_interleave_0d", lambda m, x: m.repeat_interleave(x, 3), ()),
    ("repeat_interleave_empty", lambda m, x: m.repeat_interleave(x, 2, 0), (0, 3)),
    ("repeat_interleave_tensor", lambda m, x: m.repeat_interleave(x, m.tensor([1, 0, 2]), dim=1), (2, 3)),
    ("repeat_interleave_tensor_int32", lambda m, x: x.repeat_interleave(m.tensor([2, 1], dtype=m.int32), 0), (2, 3)),
    ("repeat_interleave_tensor_flat", lambda m, x: m.repeat_interleave(x, m.tensor([1, 2, 1, 0, 3, 1])), (2, 3)),
    ("repeat_interleave_tensor_one", lambda m, x: m.repeat_interleave(x, m.tensor([2]), dim=1), (2, 3)),
    ("repeat_interleave_tensor_0d", lambda m, x: m.repeat_interleave(x, m.tensor(2), dim=0), (2, 3)),
    ("repeat_interleave_output_size", lambda m, x: m.repeat_interleave(x, 2, 1, output_size=6), (2, 3)),
    ("atleast_1d", lambda m, x: m.atleast_1d(x), ()),
    ("atleast_1d_same", lambda m, x: m.atleast_1d(x), (2, 3)),
    ("atleast_2d_0d", lambda m, x: m.atleast_2d(x), ()),
    ("atleast_2d_1d", lambda m, x: m.atleast_2d(x), (3,)),
    ("atleast_2d_3d", lambda m, x: m.atleast_2d(x), (2, 3, 1)),
    ("atleast_3d_0d", lambda m, x: m.atleast_3d(x), ()),
    ("atleast_3d_1d", lambda m, x: m.atleast_3d(x), (3,)),
    ("atleast_3d_2d", lambda m, x: m.atleast_3d(x), (2, 3)),
    ("atleast_3d_empty", lambda m, x: m.atleast_3d(x), (0,)),
    ("broadcast_tensors_one", lambda m, x: m.broadcast_tensors(x), (2, 3)),
]  # fmt: skip


@pytest.mark.parametrize("f,shape", [c[1:] for c in NEW_UNARY], ids=[c[0] for c in NEW_UNARY])
def test_new_unary_float64(f, shape):
    check(f, rand(*shape), gradgrad=True)


@pytest.mark.parametrize("f,shape", [c[1:] for c in NEW_UNARY], ids=[c[0] for c in NEW_UNARY])
def test_new_unary_float32_and_int(f, shape):
    check(f, rand(*shape, dtype=np.float32))
    check(f, np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape))


def test_repeat_interleave_of_counts_alone():
    check(lambda m, r: m.repeat_interleave(r), np.array([1, 2, 0, 3]))
    check(lambda m, r: m.repeat_interleave(r), np.array([2, 1], dtype=np.int32))
    check(lambda m, r: m.repeat_interleave(r, output_size=3), np.array([1, 2]))
    check(lambda m, r: m.repeat_interleave(r), np.zeros(0, dtype=np.int64))


@pytest.mark.parametrize("fn", ["atleast_1d", "atleast_2d", "atleast_3d"])
def test_atleast_nd_of_several_tensors(fn):
    xs = [rand(), rand(3), rand(2, 3), rand(2, 1, 3)]
    check(lambda m, *xs: getattr(m, fn)(*xs), *xs, gradgrad=True)
    check(lambda m, *xs: getattr(m, fn)(list(xs)), *xs)
    check(lambda m, x: getattr(m, fn)([x]), rand(2))  # a list of one gives a tuple of one
    assert getattr(ember, fn)() == ()


def test_new_views_share_memory_and_version():
    x = ember.zeros(3)
    views = [ember.atleast_2d(x), ember.atleast_3d(x), x.ravel(), x.tensor_split(2)[1],
             ember.meshgrid(x, ember.zeros(2), indexing="ij")[0],
             ember.broadcast_tensors(x, ember.zeros(2, 1))[0]]  # fmt: skip
    with ember.no_grad():
        x[2] = 5.0
    for v in views:
        assert float(v.max().item()) == 5.0 and v._version == x._version == 1
    copies = [ember.rot90(x.reshape(1, 3), 0), x.repeat_interleave(1),
              x.repeat_interleave(ember.tensor([1, 1, 1]))]  # fmt: skip
    x.mul_(0)
    for c in copies:
        assert float(c.max().item()) == 5.0 and c._version == 0


MESHGRID = [[(2,), (3,)], [(2,), (3,), (4,)], [(), (3,)], [(3,)], [(0,), (2,)], [(2,), ()]]


@pytest.mark.parametrize("indexing", ["ij", "xy"])
@pytest.mark.parametrize("shapes", MESHGRID, ids=str)
def test_meshgrid(shapes, indexing):
    xs = [rand(*s) for s in shapes]
    check(lambda m, *xs: m.meshgrid(*xs, indexing=indexing), *xs, gradgrad=True)
    f32 = [x.astype(np.float32) for x in xs]
    check(lambda m, *xs: m.meshgrid(list(xs), indexing=indexing), *f32)
    check(lambda m, *xs: m.meshgrid(*xs, indexing=indexing), *[np.arange(x.size) for x in xs])


@pytest.mark.filterwarnings("ignore:torch.meshgrid:UserWarning")
def test_meshgrid_without_indexing_warns_and_means_ij():
    with pytest.warns(UserWarning, match="meshgrid: in an upcoming release it will be required"):
        check(lambda m, a, b: m.meshgrid(a, b), rand(2), rand(3))


BROADCAST = [[(2, 1), (3,)], [(2, 1, 3), (4, 1), ()], [(0, 1), (3,)], [(3,)], [(1,), (1, 1)]]


@pytest.mark.parametrize("shapes", BROADCAST, ids=str)
def test_broadcast_tensors(shapes):
    xs = [rand(*s) for s in shapes]
    check(lambda m, *xs: m.broadcast_tensors(*xs), *xs, gradgrad=True)
    assert ember.broadcast_shapes(*shapes) == tuple(torch.broadcast_shapes(*shapes))


def test_broadcast_tensors_keep_dtypes_and_shapes_take_ints():
    check(lambda m, a, b: m.broadcast_tensors(a, b), rand(2, 1, dtype=np.float32), np.arange(3))
    assert ember.broadcast_tensors() == ()
    for shapes in [((2, 1), 3, ()), (), ([2, 1], (3,)), (0, (1,)), ((5, 1, 4), (2, 1))]:
        assert ember.broadcast_shapes(*shapes) == tuple(torch.broadcast_shapes(*shapes)), shapes


@pytest.mark.parametrize("shapes", [[(3,), (3, 2), (3,)], [(), (1, 2)], [(2, 0), (2,)], [(3,)]], ids=str)  # fmt: skip
def test_column_stack(shapes):
    check(lambda m, xs: m.column_stack(xs), [rand(*s) for s in shapes], gradgrad=True)


@pytest.mark.parametrize("shapes", [[(3,), (1, 3, 2)], [(), ()], [(2, 3), (2, 3)], [(2, 3, 1), (2, 3, 2)]], ids=str)  # fmt: skip
def test_dstack(shapes):
    check(lambda m, xs: m.dstack(xs), [rand(*s) for s in shapes], gradgrad=True)


def test_stacks_promote():
    check(lambda m, a, b: m.column_stack([a, b]), rand(3, dtype=np.float32), np.arange(3))
    check(lambda m, a, b: m.dstack((a, b)), rand(2, dtype=np.float32), rand(2))


NEW_ERRORS = [
    ("rot90_dims_len", lambda m, x: m.rot90(x, 1, (0,)), (2, 3), "rot90: expected 2 rotation dims, received dims=(0,)"),
    ("rot90_1d", lambda m, x: m.rot90(x), (3,), "rot90: expected a tensor with at least 2 dims, received shape (3,)"),
    ("rot90_same", lambda m, x: m.rot90(x, 1, (0, -2)), (2, 3), "rot90: expected two different rotation dims, received dim0=0 and dim1=-2"),
    ("rot90_k_float", lambda m, x: m.rot90(x, 1.5), (2, 3), "rot90: k must be an int, received 1.5"),
    ("rot90_dim_range", lambda m, x: m.rot90(x, 1, (0, 2)), (2, 3), "rot90: dim 2 is out of range"),
    ("tensor_split_zero", lambda m, x: m.tensor_split(x, 0), (5,), "tensor_split: number of sections must be greater than 0, received 0"),
    ("tensor_split_0d", lambda m, x: m.tensor_split(x, 2), (), "tensor_split: expected at least a 1-D tensor, received a 0-d tensor"),
    ("tensor_split_2d_tensor", lambda m, x: m.tensor_split(x, m.tensor([[2, 4]])), (5,), "tensor_split: expected indices_or_sections to be a 0-D or 1-D tensor, received shape (1, 2)"),
    ("tensor_split_float_tensor", lambda m, x: m.tensor_split(x, m.tensor([2.0])), (5,), "tensor_split: expected indices_or_sections to be an int64 tensor, received float32"),
    ("tensor_split_float", lambda m, x: m.tensor_split(x, 2.5), (5,), "tensor_split: expected indices_or_sections to be an int, a list of ints or an int64 tensor, received float"),
    ("repeat_interleave_negative", lambda m, x: m.repeat_interleave(x, -1), (2, 3), "repeat_interleave: repeats must be non-negative, received -1"),
    ("repeat_interleave_negative_tensor", lambda m, x: m.repeat_interleave(x, m.tensor([1, -2, 1]), dim=1), (2, 3), "repeat_interleave: repeats must be non-negative, received [1, -2, 1]"),
    ("repeat_interleave_count", lambda m, x: m.repeat_interleave(x, m.tensor([1, 2]), dim=1), (2, 3), "repeat_interleave: expected one repeat count for each of the 3 slices of dim 1, received 2 counts"),
    ("repeat_interleave_float", lambda m, x: m.repeat_interleave(x, m.tensor([1.0, 2.0, 1.0]), dim=1), (2, 3), "repeat_interleave: expected repeats of dtype int64 or int32, received float32"),
    ("repeat_interleave_2d", lambda m, x: m.repeat_interleave(x, m.tensor([[1, 2, 1]]), dim=1), (2, 3), "repeat_interleave: expected repeats to be a 0-D or 1-D tensor, received shape (1, 3)"),
    ("repeat_interleave_float_int", lambda m, x: m.repeat_interleave(x, 2.0, dim=1), (2, 3), "repeat_interleave: repeats must be an int or an int tensor, received 2.0"),
    ("repeat_interleave_output_size", lambda m, x: m.repeat_interleave(x, 2, dim=1, output_size=12), (2, 3), "repeat_interleave: output_size 12 does not match the size 6 of the result"),
    ("repeat_interleave_dim", lambda m, x: m.repeat_interleave(x, 2, dim=2), (2, 3), "repeat_interleave: dim 2 is out of range"),
    ("repeat_interleave_counts_float", lambda m, x: m.repeat_interleave(x), (3,), "repeat_interleave: expected repeats of dtype int64 or int32, received float64"),
    ("repeat_interleave_counts_0d", lambda m, x: m.repeat_interleave(x.long()), (), "repeat_interleave: expected the repeats alone to be a 1-D tensor, received shape ()"),
    ("meshgrid_2d", lambda m, x: m.meshgrid(x, x[0], indexing="ij"), (2, 2), "meshgrid: expected 0-D or 1-D tensors, received shape (2, 2) at position 0"),
    ("meshgrid_dtype", lambda m, x: m.meshgrid(x, x.float(), indexing="ij"), (2,), "meshgrid: expected all tensors to have the same dtype, received float64 at position 0 and float32 at position 1"),
    ("meshgrid_indexing", lambda m, x: m.meshgrid(x, x, indexing="ab"), (2,), "meshgrid: indexing must be 'ij' or 'xy', received 'ab'"),
    ("meshgrid_none", lambda m, x: m.meshgrid(indexing="ij"), (2,), "meshgrid: expected a non-empty list"),
    ("broadcast_tensors", lambda m, x: m.broadcast_tensors(x, x[:, :2]), (3, 3), "broadcast_tensors: cannot broadcast shapes (3, 3) and (3, 2): size 3 of dim -1 of the first does not match size 2 of the second"),
    ("column_stack_empty", lambda m, x: m.column_stack([]), (), "column_stack: expected a non-empty list"),
    ("column_stack_rows", lambda m, x: m.column_stack([x, x[:2]]), (3,), "cat: sizes of tensors must match except in dimension 1"),
    ("dstack_sizes", lambda m, x: m.dstack([x, x[:2]]), (3,), "cat: sizes of tensors must match except in dimension 2"),
    ("atleast_type", lambda m, x: m.atleast_2d(x, 1.0), (3,), "atleast_2d: expected tensor 1 to be a Tensor, received float"),
]  # fmt: skip


@pytest.mark.parametrize("f,shape,match", [c[1:] for c in NEW_ERRORS], ids=[c[0] for c in NEW_ERRORS])  # fmt: skip
def test_new_errors(f, shape, match):
    check_raises(f, rand(*shape), match=match)


def test_broadcast_shapes_errors():
    cases = [
        (((2, 1), (3, 4)), "broadcast_shapes: cannot broadcast shapes (2, 1) and (3, 4)"),
        (((2, -1),), "broadcast_shapes: sizes must be non-negative, received (2, -1)"),
    ]
    for shapes, match in cases:
        with pytest.raises(Exception):  # noqa: B017 - torch raises several types
            torch.broadcast_shapes(*shapes)
        with pytest.raises((TypeError, RuntimeError, ValueError), match=re.escape(match)):
            ember.broadcast_shapes(*shapes)
    # stricter than PyTorch, which accepts float sizes here
    with pytest.raises(TypeError, match="broadcast_shapes: sizes must be ints"):
        ember.broadcast_shapes((2, 1.0))
