"""Image transforms with torchvision's names and semantics (``torchvision.transforms``).

Two image layouts, as torchvision:

* a NumPy array is an image as it comes from a file: (H, W) or (H, W, C), usually uint8
  (what ember's datasets return; ``ToTensor`` also takes PIL images). ``ToTensor`` turns it
  into a tensor.
* an ember Tensor is (..., C, H, W), usually float: what ``ToTensor`` returns.

RandomCrop and RandomHorizontalFlip take both and return the same kind; Normalize takes
tensors. The random transforms draw from ember's default generator (as torchvision draws
from torch's), so ``ember.manual_seed`` makes them repeatable, and each DataLoader worker,
seeded on its own, draws its own numbers.

Example::

    from ember.data import transforms as T

    augment = T.Compose([
        T.RandomCrop(28, padding=2),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        T.Normalize((0.1307,), (0.3081,)),
    ])
    x = augment(uint8_image_28x28)  # float32 tensor (1, 28, 28)
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np

from ember import dtypes
from ember.backend import get_array_module
from ember.tensor import Tensor

__all__ = [
    "Compose",
    "Lambda",
    "Normalize",
    "RandomCrop",
    "RandomHorizontalFlip",
    "ToTensor",
]


def _is_pil(img) -> bool:
    return type(img).__module__.startswith("PIL.") and hasattr(img, "getbands")


def _image_kind(img, op: str) -> str:
    if isinstance(img, Tensor):
        if img.ndim < 2:
            raise ValueError(
                f"{op}: expected a tensor image of shape (..., H, W), received shape "
                f"{tuple(img.shape)}"
            )
        return "tensor"
    if isinstance(img, np.ndarray):
        if img.ndim not in (2, 3):
            raise ValueError(
                f"{op}: expected a NumPy image of shape (H, W) or (H, W, C), received shape "
                f"{img.shape}"
            )
        return "array"
    raise TypeError(
        f"{op}: expected an ember Tensor (..., C, H, W) or a NumPy array (H, W[, C]), received "
        f"{type(img).__name__}"
    )


def _size_hw(img, kind: str) -> tuple[int, int]:
    if kind == "tensor":
        return img.shape[-2], img.shape[-1]
    return img.shape[0], img.shape[1]


class Compose:
    """Apply transforms one after the other: ``Compose([RandomCrop(24), ToTensor()])``."""

    def __init__(self, transforms: Sequence[Callable]):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def __repr__(self) -> str:
        lines = [f"    {t}" for t in self.transforms]
        return f"{type(self).__name__}(\n" + "".join(line + "\n" for line in lines) + ")"


class Lambda:
    """A function as a transform: ``Lambda(lambda x: x * 2)``."""

    def __init__(self, lambd: Callable):
        if not callable(lambd):
            raise TypeError(
                f"Lambda: argument lambd should be callable, got {type(lambd).__name__!r}"
            )
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ToTensor:
    """A NumPy (or PIL) image (H, W[, C]) -> a tensor (C, H, W).

    uint8 images are scaled to [0, 1] in the default float dtype; other dtypes keep their
    values and dtype (as torchvision). An (H, W) image gets one channel: (1, H, W).
    """

    def __call__(self, pic) -> Tensor:
        from ember.creation import from_numpy

        if _is_pil(pic):
            mode = pic.mode
            pic = np.array(pic, copy=True)
            if mode == "1":
                pic = pic.astype(np.uint8) * 255  # 1-bit images: True is white
        if not isinstance(pic, np.ndarray):
            raise TypeError(
                f"ToTensor: pic should be a NumPy array or PIL image, received {type(pic).__name__}"
            )
        if pic.ndim not in (2, 3):
            raise ValueError(
                f"ToTensor: pic should be 2 or 3 dimensional (H, W[, C]), received shape "
                f"{pic.shape}"
            )
        if pic.ndim == 2:
            pic = pic[:, :, None]
        chw = np.ascontiguousarray(pic.transpose(2, 0, 1))
        if chw.dtype == np.uint8:
            d = dtypes.get_default_dtype()
            return from_numpy((chw / np.float64(255)).astype(d.np))
        return from_numpy(chw)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Normalize:
    """``(x - mean) / std`` per channel of a tensor image (..., C, H, W).

    mean, std: one number per channel (a sequence of length C, or of length 1 for all).

    Example: ``Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))`` maps [0, 1] to [-1, 1].
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float], inplace: bool = False):
        self.mean = mean
        self.std = std
        self.inplace = inplace

    def __call__(self, tensor: Tensor) -> Tensor:
        from ember.creation import as_tensor

        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"Normalize: expected a tensor image (..., C, H, W), received "
                f"{type(tensor).__name__}; apply ToTensor first"
            )
        if not tensor.is_floating_point():
            raise TypeError(f"Normalize: input tensor should be a float tensor, got {tensor.dtype}")
        if tensor.ndim < 3:
            raise ValueError(
                f"Normalize: expected a tensor image of shape (..., C, H, W), received shape "
                f"{tuple(tensor.shape)}"
            )
        mean = as_tensor(_floats(self.mean, "mean"), dtype=tensor.dtype, device=tensor.device)
        std = as_tensor(_floats(self.std, "std"), dtype=tensor.dtype, device=tensor.device)
        c = tensor.shape[-3]
        for name, v in (("mean", mean), ("std", std)):
            if v.numel() not in (1, c):
                raise ValueError(
                    f"Normalize: {name} has {v.numel()} values, but the image has {c} channels"
                )
        if bool((std == 0).any()):
            raise ValueError(
                f"Normalize: std evaluated to zero after conversion to {tensor.dtype}, "
                f"leading to division by zero (std={self.std})"
            )
        mean, std = mean.reshape(-1, 1, 1), std.reshape(-1, 1, 1)
        if self.inplace:
            return tensor.sub_(mean).div_(std)
        return (tensor - mean) / std

    def __repr__(self) -> str:
        return f"{type(self).__name__}(mean={self.mean}, std={self.std})"


def _floats(v, what):
    if isinstance(v, numbers.Real):
        return [float(v)]
    try:
        return [float(x) for x in v]
    except (TypeError, ValueError):
        raise TypeError(
            f"Normalize: {what} should be a sequence of numbers, received {v!r}"
        ) from None


def _pad_widths(padding, op: str) -> tuple[int, int, int, int]:
    """torchvision's padding argument -> (left, top, right, bottom)."""
    if isinstance(padding, numbers.Integral) and not isinstance(padding, bool):
        p = int(padding)
        return p, p, p, p
    if isinstance(padding, Sequence) and all(
        isinstance(p, numbers.Integral) and not isinstance(p, bool) for p in padding
    ):
        if len(padding) == 1:
            return (int(padding[0]),) * 4
        if len(padding) == 2:
            return int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])
        if len(padding) == 4:
            return tuple(int(p) for p in padding)
    raise ValueError(
        f"{op}: padding must be an int or a sequence of 1, 2 or 4 ints (left, top, right, bottom), "
        f"received {padding!r}"
    )


_NP_PAD_MODES = {
    "constant": "constant",
    "edge": "edge",
    "reflect": "reflect",
    "symmetric": "symmetric",
}


def _pad(img, kind, padding, fill, padding_mode, op):
    """Pad the H and W dims of an image by (left, top, right, bottom)."""
    left, top, right, bottom = padding
    if min(padding) < 0:
        raise ValueError(f"{op}: padding must be non-negative, received {padding}")
    arr = img._data if kind == "tensor" else img
    xp = get_array_module(arr)
    widths = [(0, 0)] * arr.ndim
    h_dim, w_dim = (arr.ndim - 2, arr.ndim - 1) if kind == "tensor" else (0, 1)
    widths[h_dim], widths[w_dim] = (top, bottom), (left, right)
    mode = _NP_PAD_MODES[padding_mode]
    if mode == "reflect" and (
        max(top, bottom) >= arr.shape[h_dim] or max(left, right) >= arr.shape[w_dim]
    ):
        raise ValueError(
            f"{op}: reflect padding {padding} must be smaller than the image size "
            f"{(arr.shape[h_dim], arr.shape[w_dim])}"
        )
    if mode != "constant":
        out = xp.pad(arr, widths, mode=mode)
    elif isinstance(fill, Sequence) and not isinstance(fill, str):
        if kind == "tensor" or arr.ndim != 3 or len(fill) != arr.shape[2]:
            raise ValueError(
                f"{op}: a fill per channel ({fill!r}) needs an (H, W, C) NumPy image with "
                f"{len(fill)} channels, received {type(img).__name__} of shape {tuple(arr.shape)}"
            )
        out = xp.stack(
            [xp.pad(arr[..., c], widths[:2], constant_values=f) for c, f in enumerate(fill)], -1
        )
    else:
        out = xp.pad(arr, widths, constant_values=fill)
    return Tensor._make(out) if kind == "tensor" else out


class RandomCrop:
    """Crop a random ``size`` window (optionally after padding), as torchvision.

    size: an int (square) or (h, w). padding: an int, (left/right, top/bottom) or (left, top,
    right, bottom), applied first. pad_if_needed: pad images smaller than size (on both
    sides). fill: the constant for padding_mode 'constant' (a tuple per channel for (H, W, C)
    NumPy images). padding_mode: 'constant', 'edge', 'reflect' or 'symmetric'.

    The window's top-left corner is ``i = randint(0, h - th + 1)``, then
    ``j = randint(0, w - tw + 1)``, drawn from ember's default generator.
    """

    def __init__(
        self,
        size,
        padding=None,
        pad_if_needed: bool = False,
        fill=0,
        padding_mode: str = "constant",
    ):
        self.size = _crop_size(size)
        if padding is not None:
            _pad_widths(padding, "RandomCrop")
        if padding_mode not in _NP_PAD_MODES:
            raise ValueError(
                f"RandomCrop: padding_mode should be 'constant', 'edge', 'reflect' or "
                f"'symmetric', received {padding_mode!r}"
            )
        if not isinstance(fill, (numbers.Real, Sequence)) or isinstance(fill, str):
            raise TypeError(f"RandomCrop: fill should be a number or a sequence, received {fill!r}")
        self.padding = padding
        self.pad_if_needed = pad_if_needed
        self.fill = fill
        self.padding_mode = padding_mode

    @staticmethod
    def get_params(img, output_size: tuple[int, int]) -> tuple[int, int, int, int]:
        """The random window (i, j, h, w): top, left, height, width."""
        from ember.creation import randint

        h, w = _size_hw(img, _image_kind(img, "RandomCrop"))
        th, tw = output_size
        if h < th or w < tw:
            raise ValueError(
                f"RandomCrop: required crop size {(th, tw)} is larger than input image size "
                f"{(h, w)}; pass padding or pad_if_needed=True"
            )
        if h == th and w == tw:
            return 0, 0, h, w
        i = int(randint(0, h - th + 1, size=(1,)).item())
        j = int(randint(0, w - tw + 1, size=(1,)).item())
        return i, j, th, tw

    def __call__(self, img):
        kind = _image_kind(img, "RandomCrop")
        fill, mode = self.fill, self.padding_mode
        if self.padding is not None:
            img = _pad(img, kind, _pad_widths(self.padding, "RandomCrop"), fill, mode, "RandomCrop")
        h, w = _size_hw(img, kind)
        if self.pad_if_needed and w < self.size[1]:
            d = self.size[1] - w
            img = _pad(img, kind, (d, 0, d, 0), fill, mode, "RandomCrop")
        if self.pad_if_needed and h < self.size[0]:
            d = self.size[0] - h
            img = _pad(img, kind, (0, d, 0, d), fill, mode, "RandomCrop")
        i, j, th, tw = self.get_params(img, self.size)
        if kind == "tensor":
            return img[..., i : i + th, j : j + tw]
        return img[i : i + th, j : j + tw].copy()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size}, padding={self.padding})"


def _crop_size(size) -> tuple[int, int]:
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        size = (int(size), int(size))
    elif isinstance(size, Sequence) and len(size) == 1:
        size = (size[0], size[0])
    if (
        not isinstance(size, Sequence)
        or len(size) != 2
        or not all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool) and s > 0 for s in size
        )
    ):
        raise ValueError(
            f"RandomCrop: size should be a positive int or a sequence (h, w) of positive ints, "
            f"received {size!r}"
        )
    return int(size[0]), int(size[1])


class RandomHorizontalFlip:
    """Mirror the image left-right with probability ``p`` (drawn as ``ember.rand(1) < p``)."""

    def __init__(self, p: float = 0.5):
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0 <= p <= 1:
            raise ValueError(
                f"RandomHorizontalFlip: p should be a probability in [0, 1], received {p!r}"
            )
        self.p = p

    def __call__(self, img):
        from ember.creation import rand

        kind = _image_kind(img, "RandomHorizontalFlip")
        if rand(1).item() < self.p:
            return img.flip(-1) if kind == "tensor" else img[:, ::-1].copy()
        return img

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"
