"""Built-in datasets. Nothing here downloads: each reads files you already have, or data that
ships with Python or with scikit-learn.

* ``MNIST`` and ``FashionMNIST``: the IDX files (plain or .gz), torchvision's layout.
* ``CIFAR10``: the binary version's ``data_batch_1.bin`` … ``test_batch.bin``.
* ``Digits``: scikit-learn's 8x8 handwritten digits (``pip install ember[digits]``).
* ``PythonSourceText``: a character-level corpus made of the Python standard library's source.

Images come as NumPy arrays in file layout, (H, W) or (H, W, C) uint8 (where torchvision
gives PIL images): pass ``transform=transforms.ToTensor()`` to get (C, H, W) float tensors.
Labels are Python ints.
"""

from __future__ import annotations

import functools
import gzip
import os
import sysconfig
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import numpy as np

from ember.data.dataset import Dataset

__all__ = [
    "CIFAR10",
    "MNIST",
    "DatasetFormatError",
    "DatasetNotFoundError",
    "Digits",
    "FashionMNIST",
    "PythonSourceText",
    "read_idx",
]


class DatasetNotFoundError(FileNotFoundError, RuntimeError):
    """The files a dataset reads are not where it looked (the message says which and where).
    Both a FileNotFoundError and, as torchvision's "Dataset not found", a RuntimeError."""


class DatasetFormatError(ValueError):
    """A dataset file is not in the expected format (wrong magic number, size or values)."""


def _no_download(name: str, download: bool) -> None:
    if download:
        raise ValueError(
            f"{name}: ember never downloads datasets; download=True is not supported. Fetch the "
            "files yourself and pass the folder that holds them as root"
        )


def _apply(transform, target_transform, img, target):
    if transform is not None:
        img = transform(img)
    if target_transform is not None:
        target = target_transform(target)
    return img, target


# ---------------------------------------------------------------------------- IDX (MNIST)
_IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def read_idx(path: str | os.PathLike, op: str = "read_idx") -> np.ndarray:
    """Read an IDX file (plain, or gzip-compressed if its name ends in .gz) into an array.

    The format: two zero bytes, a type code (0x08 for uint8), the number of dims, each dim as
    a big-endian int32, then the values in C order. Raises DatasetFormatError (a ValueError)
    naming the file when the header or the size is wrong.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            raw = fh.read()
    except (OSError, EOFError) as e:  # gzip.BadGzipFile is an OSError
        raise DatasetFormatError(f"{op}: cannot read {path}: {e}") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        raise DatasetFormatError(
            f"{op}: {path} is not an IDX file: its magic number is 0x{raw[:4].hex()}, expected "
            "0x0000TTNN (type TT in 08-0E, NN dims)"
        )
    dtype, ndim = _IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetFormatError(f"{op}: {path} is truncated: its header needs {header} bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise DatasetFormatError(
            f"{op}: {path} has {len(raw)} bytes, but its header (shape {shape}, "
            f"{dtype.itemsize}-byte values) says {expected}"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def _find(name: str, folders: list[Path], stems: list[str], suffixes) -> list[Path]:
    """For each stem, the first of ``folder/stem+suffix`` that exists, or a clear error."""
    found, missing = [], []
    for stem in stems:
        hits = [f / (stem + s) for f in folders for s in suffixes if (f / (stem + s)).is_file()]
        if hits:
            found.append(hits[0])
        else:
            missing.append(stem)
    if missing:
        where = " or ".join(str(f) for f in folders)
        alts = " or ".join(repr(s) for s in suffixes if s)
        also = f" (optionally ending in {alts})" if alts else ""
        raise DatasetNotFoundError(
            f"{name}: cannot find {', '.join(missing)}{also} in {where}. ember never downloads; "
            f"put the dataset's files in one of those folders"
        )
    return found


class MNIST(Dataset):
    """The MNIST handwritten digits, read from the four IDX files.

    root: a folder holding ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte`` (each plain or ``.gz``),
    directly or in ``root/MNIST/raw`` (torchvision's layout).
    train: the 60,000 training images, else the 10,000 test images.

    ``ds[i]`` is ``(image, label)``: a (28, 28) uint8 array (after ``transform``) and an int
    (after ``target_transform``). ``ds.data`` is a uint8 tensor (N, 28, 28), ``ds.targets``
    an int64 tensor (N,).

    Example::

        ds = MNIST("~/data", train=True, transform=transforms.ToTensor())
        x, y = ds[0]  # x: float32 (1, 28, 28) in [0, 1]
    """

    classes: ClassVar[list[str]] = [
        "0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
        "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine",
    ]  # fmt: skip

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ):
        from ember.creation import from_numpy

        name = type(self).__name__
        _no_download(name, download)
        self.root = Path(os.path.expanduser(root))
        self.train = train
        self.transform, self.target_transform = transform, target_transform
        split = "train" if train else "t10k"
        folders = [self.root, self.root / name / "raw"]
        images_path, labels_path = _find(
            name,
            folders,
            [f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"],
            ("", ".gz"),
        )
        images, labels = read_idx(images_path, name), read_idx(labels_path, name)
        if images.dtype != np.uint8 or images.ndim != 3:
            raise DatasetFormatError(
                f"{name}: {images_path} should hold uint8 images (N, H, W), but holds "
                f"{images.dtype} of shape {images.shape}"
            )
        if labels.dtype != np.uint8 or labels.ndim != 1:
            raise DatasetFormatError(
                f"{name}: {labels_path} should hold uint8 labels (N,), but holds {labels.dtype} "
                f"of shape {labels.shape}"
            )
        if len(images) != len(labels):
            raise DatasetFormatError(
                f"{name}: {images_path} holds {len(images)} images but {labels_path} holds "
                f"{len(labels)} labels"
            )
        if labels.size and labels.max() >= len(self.classes):
            raise DatasetFormatError(
                f"{name}: {labels_path} holds label {labels.max()}, but there are only "
                f"{len(self.classes)} classes"
            )
        self.data = from_numpy(images)
        self.targets = from_numpy(labels.astype(np.int64))

    def __getitem__(self, index: int):
        img = self.data._data[index]
        target = int(self.targets._data[index])
        return _apply(self.transform, self.target_transform, img, target)

    def __len__(self) -> int:
        return self.data.shape[0]

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST: MNIST's file format and sizes, pictures of clothes. Looks in
    ``root`` and ``root/FashionMNIST/raw``."""

    classes: ClassVar[list[str]] = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]  # fmt: skip


# ---------------------------------------------------------------------------- CIFAR-10
class CIFAR10(Dataset):
    """CIFAR-10, read from the binary version's batches.

    root: a folder holding ``data_batch_1.bin`` … ``data_batch_5.bin`` (train) and
    ``test_batch.bin`` (test), directly or in ``root/cifar-10-batches-bin`` (where
    ``cifar-10-binary.tar.gz`` unpacks). Each record is one label byte and 3072 pixel bytes:
    the red, green and blue 32x32 planes.

    ``ds[i]`` is ``(image, label)``: a (32, 32, 3) uint8 array and an int; ``ds.data`` is the
    uint8 array (N, 32, 32, 3), ``ds.targets`` a list of ints.
    """

    classes: ClassVar[list[str]] = [
        "airplane", "automobile", "bird", "cat", "deer",
        "dog", "frog", "horse", "ship", "truck",
    ]  # fmt: skip
    train_list: ClassVar[list[str]] = [f"data_batch_{i}.bin" for i in range(1, 6)]
    test_list: ClassVar[list[str]] = ["test_batch.bin"]
    _RECORD = 1 + 3 * 32 * 32

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        download: bool = False,
    ):
        name = type(self).__name__
        _no_download(name, download)
        self.root = Path(os.path.expanduser(root))
        self.train = train
        self.transform, self.target_transform = transform, target_transform
        folders = [self.root, self.root / "cifar-10-batches-bin"]
        files = self.train_list if train else self.test_list
        paths = _find(name, folders, [f.removesuffix(".bin") for f in files], (".bin",))
        images, labels = [], []
        for path in paths:
            raw = np.fromfile(path, dtype=np.uint8)
            if raw.size == 0 or raw.size % self._RECORD:
                raise DatasetFormatError(
                    f"{name}: {path} has {raw.size} bytes, not a whole number of {self._RECORD}-"
                    "byte records (1 label byte + 3x32x32 pixel bytes); is it the binary version?"
                )
            records = raw.reshape(-1, self._RECORD)
            if records[:, 0].max() >= len(self.classes):
                raise DatasetFormatError(
                    f"{name}: {path} holds label {records[:, 0].max()}, but there are only "
                    f"{len(self.classes)} classes; is it the binary version of CIFAR-10?"
                )
            labels.append(records[:, 0])
            images.append(records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        self.data = np.ascontiguousarray(np.concatenate(images))
        self.targets = np.concatenate(labels).astype(np.int64).tolist()

    def __getitem__(self, index: int):
        return _apply(self.transform, self.target_transform, self.data[index], self.targets[index])

    def __len__(self) -> int:
        return len(self.data)

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}


# ---------------------------------------------------------------------------- digits
class Digits(Dataset):
    """scikit-learn's 1,797 handwritten digits (8x8 pixels), bundled with scikit-learn.

    train: the training part of a split made by ``seed``, else the test part (a
    ``test_fraction`` of the samples, rounded). The split is a seeded permutation, the same
    on every run and machine for the same arguments.

    ``ds[i]`` is ``(image, label)``: an (8, 8) float32 array in [0, 1] (the 0..16 ink
    levels divided by 16) and an int. ``transforms.ToTensor()`` makes it (1, 8, 8).
    Needs scikit-learn: ``pip install ember[digits]``.
    """

    classes: ClassVar[list[str]] = [str(i) for i in range(10)]

    def __init__(
        self,
        train: bool = True,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        test_fraction: float = 0.2,
        seed: int = 0,
    ):
        try:
            from sklearn.datasets import load_digits
        except ImportError as e:
            raise ImportError(
                "Digits needs scikit-learn, which ships the digits data: "
                "pip install ember[digits]  (or: pip install scikit-learn)"
            ) from e
        if isinstance(test_fraction, bool) or not 0 < test_fraction < 1:
            raise ValueError(f"Digits: test_fraction must be in (0, 1), received {test_fraction!r}")
        bunch = load_digits()
        images = (bunch.images / 16.0).astype(np.float32)
        labels = bunch.target.astype(np.int64)
        order = np.random.default_rng(seed).permutation(len(labels))
        n_test = round(len(labels) * test_fraction)
        keep = np.sort(order[n_test:] if train else order[:n_test])
        self.train = train
        self.transform, self.target_transform = transform, target_transform
        self.data = images[keep]
        self.targets = labels[keep].tolist()

    def __getitem__(self, index: int):
        return _apply(self.transform, self.target_transform, self.data[index], self.targets[index])

    def __len__(self) -> int:
        return len(self.data)


# ---------------------------------------------------------------------------- text
# The vocabulary: index 0 stands for any character outside it (tabs, non-ASCII …).
UNKNOWN = "\ufffd"
VOCAB = UNKNOWN + "\n" + "".join(chr(c) for c in range(32, 127))


_SKIPPED_FOLDERS = {"site-packages", "dist-packages", "__pycache__"}


def _python_files(folder: str):
    """The .py files under ``folder``, depth first, each folder's entries sorted by name;
    third-party packages (site-/dist-packages) are left out."""
    with os.scandir(folder) as it:
        entries = sorted(it, key=lambda e: e.name)
    for e in entries:
        if e.is_dir(follow_symlinks=False):
            if e.name not in _SKIPPED_FOLDERS:
                yield from _python_files(e.path)
        elif e.name.endswith(".py") and e.is_file():
            yield e.path


@functools.lru_cache(maxsize=4)
def _stdlib_corpus(folder: str, max_chars: int) -> np.ndarray:
    """The encoded text of the .py files under ``folder``, in ``_python_files`` order, cut at
    ``max_chars`` characters."""
    table = np.zeros(0x110000, dtype=np.uint8)  # every other code point -> 0, UNKNOWN
    for i, ch in enumerate(VOCAB[1:], start=1):
        table[ord(ch)] = i
    parts, total = [], 0
    for path in _python_files(folder):
        try:
            with open(path, "rb") as fh:
                text = fh.read().decode("utf-8", errors="replace")
        except OSError:
            continue  # an unreadable file is skipped, as if absent
        parts.append(text[: max_chars - total])
        total += len(parts[-1])
        if total >= max_chars:
            break
    codes = np.frombuffer("".join(parts).encode("utf-32-le"), dtype=np.uint32)
    return table[codes].astype(np.int64)


class PythonSourceText(Dataset):
    """Character-level language modelling on the Python standard library's own source.

    The corpus: the ``.py`` files under ``sysconfig.get_paths()['stdlib']`` (or ``root``),
    visited depth first with each folder's entries sorted by name (site-packages and
    dist-packages left out), concatenated and cut at ``max_chars``; the same for the same
    Python installation and arguments. The first ``1 - val_fraction`` of
    it is the 'train' split, the rest 'val'.

    The vocabulary (``ds.vocab``, 97 characters): index 0 is ``UNKNOWN`` ('\\ufffd'),
    standing for any character outside it (tab, carriage return, non-ASCII), then newline,
    then the printable ASCII characters ' ' … '~'.

    ``ds[i]`` is ``(input, target)``, two int64 tensors of shape (seq_len,): the i-th
    non-overlapping window of the split and the same window shifted by one character.

    Example::

        ds = PythonSourceText(seq_len=64)
        x, y = ds[0]
        ds.decode(x)  # the first 64 characters of the corpus
    """

    vocab = VOCAB

    def __init__(
        self,
        seq_len: int,
        split: str = "train",
        val_fraction: float = 0.1,
        max_chars: int = 4_000_000,
        root: str | os.PathLike | None = None,
    ):
        if isinstance(seq_len, bool) or not isinstance(seq_len, int) or seq_len < 1:
            raise ValueError(
                f"PythonSourceText: seq_len must be a positive int, received {seq_len!r}"
            )
        if split not in ("train", "val"):
            raise ValueError(
                f"PythonSourceText: split must be 'train' or 'val', received {split!r}"
            )
        if isinstance(val_fraction, bool) or not 0 < val_fraction < 1:
            raise ValueError(
                f"PythonSourceText: val_fraction must be in (0, 1), received {val_fraction!r}"
            )
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 2:
            raise ValueError(
                f"PythonSourceText: max_chars must be an int >= 2, received {max_chars!r}"
            )
        folder = os.fspath(root) if root is not None else sysconfig.get_paths()["stdlib"]
        corpus = _stdlib_corpus(os.path.abspath(folder), max_chars)
        if corpus.size == 0:
            raise DatasetNotFoundError(f"PythonSourceText: found no .py files under {folder}")
        cut = round(corpus.size * (1 - val_fraction))
        self.data = corpus[:cut] if split == "train" else corpus[cut:]
        self.seq_len, self.split = seq_len, split
        self.stoi = {ch: i for i, ch in enumerate(self.vocab)}
        self.root = folder
        if len(self) == 0:
            raise ValueError(
                f"PythonSourceText: the {split!r} split has {self.data.size} characters, too few "
                f"for one window of seq_len={seq_len}; raise max_chars or lower seq_len"
            )

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        """Characters -> indices (characters outside the vocabulary -> 0)."""
        return [self.stoi.get(ch, 0) for ch in text]

    def decode(self, indices) -> str:
        """Indices (a list or an int tensor) -> text."""
        if hasattr(indices, "tolist"):
            indices = indices.tolist()
        return "".join(self.vocab[i] for i in indices)

    def __len__(self) -> int:
        return max(0, (self.data.size - 1) // self.seq_len)

    def __getitem__(self, index: int):
        from ember.creation import from_numpy

        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"PythonSourceText: index {index} is out of range for length {n}")
        start = index * self.seq_len
        chunk = self.data[start : start + self.seq_len + 1]
        return from_numpy(chunk[:-1].copy()), from_numpy(chunk[1:].copy())
