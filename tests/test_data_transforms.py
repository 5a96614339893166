"""ember.data.transforms: torchvision's ToTensor, Normalize, RandomCrop, RandomHorizontalFlip,
Compose and Lambda, against hand-computed results and torch's padding."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import ember
from ember.data import transforms as T


def image(h=4, w=5, c=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (h, w, c), dtype=np.uint8)


# ---------------------------------------------------------------- ToTensor
def test_to_tensor_uint8_hwc_to_float_chw_in_0_1():
    a = image()
    x = T.ToTensor()(a)
    assert x.dtype == ember.float32 and tuple(x.shape) == (3, 4, 5)
    expected = torch.from_numpy(a).permute(2, 0, 1).float() / 255
    np.testing.assert_allclose(x.numpy(), expected.numpy(), rtol=1e-7, atol=0)
    assert x.numpy()[1, 2, 3] == np.float32(a[2, 3, 1] / 255)


def test_to_tensor_hw_and_other_dtypes():
    a = np.array([[0, 255], [51, 102]], dtype=np.uint8)
    x = T.ToTensor()(a)
    assert tuple(x.shape) == (1, 2, 2)
    np.testing.assert_allclose(x.numpy()[0], [[0, 1], [0.2, 0.4]], rtol=1e-6)
    f = np.arange(6, dtype=np.float64).reshape(2, 3)  # not uint8: values and dtype kept
    y = T.ToTensor()(f)
    assert y.dtype == ember.float64 and y.numpy().tolist() == [f.tolist()]


def test_to_tensor_follows_the_default_dtype():
    ember.set_default_dtype(ember.float64)
    assert T.ToTensor()(image()).dtype == ember.float64


def test_to_tensor_takes_pil_images():
    from PIL import Image

    a = image(c=3)
    np.testing.assert_array_equal(T.ToTensor()(Image.fromarray(a)).numpy(), T.ToTensor()(a).numpy())
    bits = Image.fromarray(np.array([[0, 255]], dtype=np.uint8)).convert("1")
    assert T.ToTensor()(bits).numpy().tolist() == [[[0.0, 1.0]]]


def test_to_tensor_errors():
    with pytest.raises(ValueError, match=r"2 or 3 dimensional.*\(1, 2, 2, 3\)"):
        T.ToTensor()(np.zeros((1, 2, 2, 3), np.uint8))
    with pytest.raises(TypeError, match="NumPy array or PIL image, received list"):
        T.ToTensor()([[1, 2]])


# ---------------------------------------------------------------- Normalize
def test_normalize_per_channel():
    x = np.random.default_rng(1).random((3, 2, 2))
    mean, std = (0.1, 0.2, 0.3), (0.5, 0.25, 2.0)
    y = T.Normalize(mean, std)(ember.tensor(x))
    expected = (x - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    assert y.dtype == ember.float64
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12)
    one = T.Normalize((0.5,), (0.5,))(ember.tensor(x, dtype=ember.float32))
    assert one.dtype == ember.float32
    np.testing.assert_allclose(one.numpy(), (x - 0.5) / 0.5, rtol=1e-6)
    batch = T.Normalize(mean, std)(ember.tensor(np.stack([x, x])))  # (N, C, H, W)
    np.testing.assert_allclose(batch.numpy()[1], expected, rtol=1e-12)


def test_normalize_is_differentiable_and_inplace_writes_the_input():
    x = ember.tensor(np.ones((1, 2, 2)), requires_grad=True)
    T.Normalize((0.5,), (0.25,))(x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.full((1, 2, 2), 4.0))
    z = ember.ones(1, 2, 2)
    out = T.Normalize((0.5,), (0.25,), inplace=True)(z)
    assert out is z and z.numpy().tolist() == [[[2.0, 2.0], [2.0, 2.0]]]


def test_normalize_errors():
    with pytest.raises(TypeError, match="float tensor"):
        T.Normalize((0.5,), (0.5,))(ember.ones(1, 2, 2, dtype=ember.int64))
    with pytest.raises(ValueError, match=r"\(\.\.\., C, H, W\).*\(2, 2\)"):
        T.Normalize((0.5,), (0.5,))(ember.ones(2, 2))
    with pytest.raises(ValueError, match="std evaluated to zero"):
        T.Normalize((0.5,), (0.0,))(ember.ones(1, 2, 2))
    with pytest.raises(ValueError, match="mean has 2 values, but the image has 3 channels"):
        T.Normalize((0.5, 0.5), (1.0,))(ember.ones(3, 2, 2))
    with pytest.raises(TypeError, match="apply ToTensor first"):
        T.Normalize((0.5,), (0.5,))(np.ones((1, 2, 2)))


# ---------------------------------------------------------------- RandomCrop
def unique_image(h, w):
    return np.arange(h * w, dtype=np.int64).reshape(h, w)


def test_random_crop_is_a_window_repeatable_and_covers_all_positions():
    a = unique_image(5, 6)
    crop = T.RandomCrop((3, 4))
    corners = set()
    for s in range(60):
        ember.manual_seed(s)
        out = crop(a)
        ember.manual_seed(s)
        assert np.array_equal(crop(a), out)
        i, j = divmod(int(out[0, 0]), 6)
        assert np.array_equal(out, a[i : i + 3, j : j + 4])
        corners.add((i, j))
    assert corners == {(i, j) for i in range(3) for j in range(3)}


def test_random_crop_tensor_and_array_layouts_agree():
    a = image(6, 7, 3)
    x = ember.tensor(a.transpose(2, 0, 1).copy())  # (C, H, W)
    ember.manual_seed(2)
    from_array = T.RandomCrop(4, padding=1)(a)
    ember.manual_seed(2)
    from_tensor = T.RandomCrop(4, padding=1)(x)
    assert from_array.shape == (4, 4, 3) and tuple(from_tensor.shape) == (3, 4, 4)
    np.testing.assert_array_equal(from_tensor.numpy(), from_array.transpose(2, 0, 1))
    assert T.RandomCrop(2)(ember.zeros(5, 3, 6, 6)).shape == (5, 3, 2, 2)  # (..., H, W)


def test_random_crop_of_the_full_size_is_the_image_and_draws_nothing():
    a = image(4, 4)
    state = ember.get_rng_state()
    assert np.array_equal(T.RandomCrop(4)(a), a)
    assert np.array_equal(ember.get_rng_state().numpy(), state.numpy())


@pytest.mark.parametrize(
    "mode,torch_mode", [("constant", "constant"), ("edge", "replicate"), ("reflect", "reflect")]
)
def test_random_crop_padding_modes_match_torch_pad(mode, torch_mode):
    x = np.random.default_rng(3).random((2, 3, 4))
    # left 1, top 2, right 2, bottom 1; a crop of the padded size keeps all of it
    crop = T.RandomCrop((6, 7), padding=(1, 2, 2, 1), padding_mode=mode, fill=0)
    out = crop(ember.tensor(x))
    expected = TF.pad(torch.tensor(x)[None], (1, 2, 2, 1), mode=torch_mode)[0]
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_random_crop_symmetric_padding_and_fill_by_hand():
    row = np.array([[1, 2, 3]], dtype=np.uint8)
    out = T.RandomCrop((1, 7), padding=(2, 0), padding_mode="symmetric")(row)
    assert out.tolist() == [[2, 1, 1, 2, 3, 3, 2]]
    out = T.RandomCrop((1, 7), padding=(2, 0), padding_mode="reflect")(row)
    assert out.tolist() == [[3, 2, 1, 2, 3, 2, 1]]
    out = T.RandomCrop((3, 5), padding=1, fill=9)(row)
    assert out.tolist() == [[9] * 5, [9, 1, 2, 3, 9], [9] * 5]
    rgb = np.zeros((1, 1, 3), dtype=np.uint8)
    out = T.RandomCrop(3, padding=1, fill=(1, 2, 3))(rgb)
    assert out[0, 0].tolist() == [1, 2, 3] and out[1, 1].tolist() == [0, 0, 0]


def test_random_crop_pad_if_needed_pads_both_sides_as_torchvision():
    a = np.arange(1, 7, dtype=np.int64).reshape(3, 2)
    crop = T.RandomCrop((5, 4), pad_if_needed=True)
    corners = set()
    for s in range(40):
        ember.manual_seed(s)
        out = crop(a)  # padded by 2 on every side to 7 x 6, then cropped
        assert out.shape == (5, 4) and out.sum() == 21  # every window holds the whole image
        r, c = np.argwhere(out == 1)[0]
        assert np.array_equal(out[r : r + 3, c : c + 2], a)
        corners.add((int(r), int(c)))
    # the image's top-left lands at (2 - i, 2 - j) for the window (i, j), i, j in 0..2
    assert corners == {(r, c) for r in range(3) for c in range(3)}


def test_random_crop_errors_and_repr():
    with pytest.raises(
        ValueError, match=r"required crop size \(5, 5\) is larger than input image size \(3, 4\)"
    ):
        T.RandomCrop(5)(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="size should be a positive int"):
        T.RandomCrop(0)
    with pytest.raises(ValueError, match="padding_mode"):
        T.RandomCrop(2, padding_mode="wrap")
    with pytest.raises(ValueError, match="padding must be an int or a sequence"):
        T.RandomCrop(2, padding=(1, 2, 3))
    with pytest.raises(ValueError, match="reflect padding"):
        T.RandomCrop(2, padding=3, padding_mode="reflect")(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="received list"):
        T.RandomCrop(2)([[0, 1]])
    assert repr(T.RandomCrop(3, padding=4)) == "RandomCrop(size=(3, 3), padding=4)"


# ---------------------------------------------------------------- RandomHorizontalFlip
def test_horizontal_flip_layouts_and_probability():
    a = image(2, 3, 3)
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(a), a[:, ::-1])
    x = ember.tensor(a.transpose(2, 0, 1).copy())
    np.testing.assert_array_equal(
        T.RandomHorizontalFlip(p=1.0)(x).numpy(), a[:, ::-1].transpose(2, 0, 1)
    )
    assert T.RandomHorizontalFlip(p=0.0)(a) is a
    flip = T.RandomHorizontalFlip()
    flips = [bool((flip(a) != a).any()) for _ in range(200)]
    assert 70 < sum(flips) < 130
    ember.manual_seed(4)
    first = [bool((flip(a) != a).any()) for _ in range(20)]
    ember.manual_seed(4)
    assert first == [bool((flip(a) != a).any()) for _ in range(20)]
    with pytest.raises(ValueError, match="probability"):
        T.RandomHorizontalFlip(p=1.5)
    assert repr(T.RandomHorizontalFlip()) == "RandomHorizontalFlip(p=0.5)"


# ---------------------------------------------------------------- Compose, Lambda
def test_compose_applies_in_order_and_prints_like_torchvision():
    pipeline = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,)), T.Lambda(lambda x: x * 2)])
    a = np.array([[0, 255]], dtype=np.uint8)
    assert pipeline(a).numpy().tolist() == [[[-2.0, 2.0]]]
    assert repr(pipeline) == (
        "Compose(\n    ToTensor()\n    Normalize(mean=(0.5,), std=(0.5,))\n    Lambda()\n)"
    )
    with pytest.raises(TypeError, match="should be callable"):
        T.Lambda(3)
