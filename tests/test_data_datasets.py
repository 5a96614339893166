"""ember.data.datasets: the MNIST/Fashion-MNIST and CIFAR-10 readers on small synthetic files,
their errors for missing and corrupt files, scikit-learn's digits and the text corpus."""

import gzip
import struct
import sys

import numpy as np
import pytest

import ember
from ember.data import DataLoader, transforms
from ember.data.datasets import (
    CIFAR10,
    MNIST,
    DatasetFormatError,
    DatasetNotFoundError,
    Digits,
    FashionMNIST,
    PythonSourceText,
    read_idx,
)


# ---------------------------------------------------------------- IDX files
def idx_bytes(arr: np.ndarray, code=0x08) -> bytes:
    header = bytes([0, 0, code, arr.ndim]) + b"".join(struct.pack(">i", d) for d in arr.shape)
    return header + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write(path, data: bytes, gz=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)


def fake_mnist(folder, split="train", n=5, gz=False, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    write(folder / f"{split}-images-idx3-ubyte", idx_bytes(images), gz)
    write(folder / f"{split}-labels-idx1-ubyte", idx_bytes(labels), gz)
    return images, labels


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("layout", ["root", "torchvision"])
def test_mnist_reads_idx_files(tmp_path, gz, layout):
    folder = tmp_path if layout == "root" else tmp_path / "MNIST" / "raw"
    images, labels = fake_mnist(folder, "train", 5, gz, seed=1)
    test_images, test_labels = fake_mnist(folder, "t10k", 3, gz, seed=2)
    ds = MNIST(tmp_path)
    assert len(ds) == 5 and ds.data.dtype == ember.uint8 and ds.targets.dtype == ember.int64
    np.testing.assert_array_equal(ds.data.numpy(), images)
    assert ds.targets.tolist() == labels.tolist()
    img, target = ds[2]
    assert img.dtype == np.uint8 and img.shape == (28, 28) and np.array_equal(img, images[2])
    assert type(target) is int and target == labels[2]
    test = MNIST(str(tmp_path), train=False)
    assert len(test) == 3 and np.array_equal(test.data.numpy(), test_images)
    assert test.targets.tolist() == test_labels.tolist()


def test_mnist_transforms_and_loader(tmp_path):
    images, labels = fake_mnist(tmp_path, n=4)
    ds = MNIST(tmp_path, transform=transforms.ToTensor(), target_transform=lambda y: y + 100)
    x, y = ds[1]
    assert tuple(x.shape) == (1, 28, 28) and x.dtype == ember.float32
    np.testing.assert_allclose(x.numpy()[0], images[1] / 255, rtol=1e-6)
    assert y == labels[1] + 100
    xb, yb = next(iter(DataLoader(ds, batch_size=4)))
    assert tuple(xb.shape) == (4, 1, 28, 28) and yb.tolist() == (labels + 100).tolist()


def test_fashion_mnist_reads_its_own_folder(tmp_path):
    images, _ = fake_mnist(tmp_path / "FashionMNIST" / "raw", gz=True)
    ds = FashionMNIST(tmp_path)
    assert np.array_equal(ds.data.numpy(), images)
    assert ds.classes[9] == "Ankle boot" and ds.class_to_idx["Trouser"] == 1
    with pytest.raises(DatasetNotFoundError, match="MNIST/raw"):
        MNIST(tmp_path)  # MNIST does not read Fashion-MNIST's folder


def test_missing_mnist_names_the_files_and_folders(tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        MNIST(tmp_path)
    msg = str(info.value)
    assert "train-images-idx3-ubyte" in msg and "train-labels-idx1-ubyte" in msg
    assert str(tmp_path) in msg and str(tmp_path / "MNIST" / "raw") in msg and ".gz" in msg
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, RuntimeError)
    fake_mnist(tmp_path, "train")
    with pytest.raises(DatasetNotFoundError, match="t10k-images-idx3-ubyte, t10k-labels"):
        MNIST(tmp_path, train=False)
    with pytest.raises(ValueError, match="never downloads"):
        MNIST(tmp_path, download=True)


def test_corrupt_mnist_files_are_named(tmp_path):
    _, labels = fake_mnist(tmp_path, n=3)
    img_path = tmp_path / "train-images-idx3-ubyte"
    lab_path = tmp_path / "train-labels-idx1-ubyte"
    good = img_path.read_bytes()
    img_path.write_bytes(b"\x12\x34" + good[2:])
    with pytest.raises(
        DatasetFormatError, match=r"not an IDX file: its magic number is 0x12340803"
    ):
        MNIST(tmp_path)
    img_path.write_bytes(good[:-5])
    with pytest.raises(DatasetFormatError, match=r"has 2363 bytes, but its header .* says 2368"):
        MNIST(tmp_path)
    img_path.write_bytes(good)
    lab_path.write_bytes(idx_bytes(labels[:2]))
    with pytest.raises(DatasetFormatError, match="holds 3 images but .* holds 2 labels"):
        MNIST(tmp_path)
    lab_path.write_bytes(idx_bytes(np.array([1, 2, 12], np.uint8)))
    with pytest.raises(DatasetFormatError, match="label 12"):
        MNIST(tmp_path)
    lab_path.write_bytes(idx_bytes(labels.reshape(3, 1)))
    with pytest.raises(DatasetFormatError, match=r"uint8 labels \(N,\)"):
        MNIST(tmp_path)
    lab_path.unlink()
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    with pytest.raises(DatasetFormatError, match="cannot read"):
        MNIST(tmp_path)
    assert isinstance(DatasetFormatError("x"), ValueError)


def test_read_idx_other_types(tmp_path):
    a = np.arange(-6, 6, dtype=np.int32).reshape(3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(a, code=0x0C))
    out = read_idx(tmp_path / "a")
    assert out.dtype == np.int32 and np.array_equal(out, a)
    f = np.linspace(0, 1, 5)
    (tmp_path / "f").write_bytes(idx_bytes(f, code=0x0E))
    np.testing.assert_array_equal(read_idx(tmp_path / "f"), f)


# ---------------------------------------------------------------- CIFAR-10
def fake_cifar(folder, names, n=2, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name in names:
        labels = rng.integers(0, 10, n, dtype=np.uint8)
        planes = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)  # R, G, B planes
        records = np.concatenate([labels[:, None], planes.reshape(n, -1)], axis=1)
        (folder / name).write_bytes(records.tobytes())
        out.append((labels, planes))
    return out


@pytest.mark.parametrize("sub", ["", "cifar-10-batches-bin"])
def test_cifar10_reads_binary_batches(tmp_path, sub):
    folder = tmp_path / sub if sub else tmp_path
    train = fake_cifar(folder, [f"data_batch_{i}.bin" for i in range(1, 6)], n=2, seed=1)
    (test,) = fake_cifar(folder, ["test_batch.bin"], n=3, seed=2)
    ds = CIFAR10(tmp_path)
    assert len(ds) == 10 and ds.data.shape == (10, 32, 32, 3) and ds.data.dtype == np.uint8
    labels, planes = train[2]  # data_batch_3: samples 4 and 5
    img, target = ds[5]
    assert target == labels[1] and type(target) is int
    # pixel (row 7, col 9) of the green plane is channel 1 of the HWC image
    assert img[7, 9, 1] == planes[1, 1, 7, 9]
    np.testing.assert_array_equal(img, planes[1].transpose(1, 2, 0))
    t = CIFAR10(tmp_path, train=False, transform=transforms.ToTensor())
    x, y = t[0]
    assert tuple(x.shape) == (3, 32, 32) and y == test[0][0]
    np.testing.assert_allclose(x.numpy(), test[1][0] / 255, rtol=1e-6)
    assert t.classes[y] == CIFAR10.classes[y] and ds.class_to_idx["truck"] == 9


def test_cifar10_errors(tmp_path):
    fake_cifar(tmp_path, ["data_batch_1.bin", "data_batch_2.bin"])
    with pytest.raises(DatasetNotFoundError) as info:
        CIFAR10(tmp_path)
    msg = str(info.value)
    assert "data_batch_3, data_batch_4, data_batch_5" in msg and "'.bin'" in msg
    assert str(tmp_path / "cifar-10-batches-bin") in msg
    fake_cifar(tmp_path, ["test_batch.bin"])
    (tmp_path / "test_batch.bin").write_bytes(b"\x00" * 3074)
    with pytest.raises(DatasetFormatError, match="3074 bytes, not a whole number of 3073-byte"):
        CIFAR10(tmp_path, train=False)
    (tmp_path / "test_batch.bin").write_bytes(b"\x0b" + b"\x00" * 3072)
    with pytest.raises(DatasetFormatError, match="label 11"):
        CIFAR10(tmp_path, train=False)


# ---------------------------------------------------------------- digits
@pytest.fixture(scope="module")
def sklearn_digits():
    from sklearn.datasets import load_digits

    return load_digits()


def test_digits_shapes_labels_and_values(sklearn_digits):
    train, test = Digits(), Digits(train=False)
    assert len(train) + len(test) == 1797 and len(test) == round(1797 * 0.2)
    img, label = train[0]
    assert img.shape == (8, 8) and img.dtype == np.float32 and type(label) is int
    assert 0 <= img.min() and img.max() <= 1 and set(train.targets) == set(range(10))
    # every sample is one of scikit-learn's, divided by 16, with its label
    rows = {
        (tuple(x.ravel()), int(y))
        for x, y in zip((sklearn_digits.images / 16).astype(np.float32), sklearn_digits.target)
    }
    got = [(tuple(x.ravel()), y) for x, y in zip(train.data, train.targets)]
    got += [(tuple(x.ravel()), y) for x, y in zip(test.data, test.targets)]
    assert set(got) == rows and len(got) == 1797
    x, _ = Digits(train=False, transform=transforms.ToTensor())[0]
    assert tuple(x.shape) == (1, 8, 8)


def test_digits_split_is_deterministic():
    a, b = Digits(train=False, seed=1), Digits(train=False, seed=1)
    assert np.array_equal(a.data, b.data) and a.targets == b.targets
    assert not np.array_equal(a.data, Digits(train=False, seed=2).data)
    assert len(Digits(train=False, test_fraction=0.5)) == 898  # round(898.5), half to even
    with pytest.raises(ValueError, match="test_fraction"):
        Digits(test_fraction=1.0)


def test_digits_without_scikit_learn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"pip install ember\[digits\]"):
        Digits()


# ---------------------------------------------------------------- Python source text
def small_tree(root):
    (root / "pkg").mkdir()
    (root / "site-packages").mkdir()
    (root / "b.py").write_text("b = 2\n")
    (root / "a.py").write_text("a\t= 'é'\n")
    (root / "pkg" / "c.py").write_text("c = 3\n")
    (root / "site-packages" / "x.py").write_text("third party\n")
    (root / "notes.txt").write_text("not python\n")


def test_python_source_text_corpus_order_vocab_and_windows(tmp_path):
    small_tree(tmp_path)
    ds = PythonSourceText(seq_len=4, root=tmp_path, val_fraction=0.25)
    # a.py, b.py, then pkg/c.py; site-packages and non-.py files are left out; tab and é
    # are outside the vocabulary
    text = "a\t= 'é'\nb = 2\nc = 3\n"
    corpus = "".join(ch if ch in ds.vocab else "\ufffd" for ch in text)
    assert ds.vocab_size == 97 and ds.vocab[0] == "\ufffd" and ds.vocab[1] == "\n"
    assert ds.encode("a\t") == [ds.vocab.index("a"), 0]
    cut = round(len(corpus) * 0.75)
    assert ds.decode(ds.data.tolist()) == corpus[:cut]
    assert len(ds) == (cut - 1) // 4
    x, y = ds[1]
    assert x.dtype == ember.int64 and tuple(x.shape) == (4,) == tuple(y.shape)
    assert ds.decode(x) == corpus[4:8] and ds.decode(y) == corpus[5:9]
    assert ds.decode(ds[-1][0]) == ds.decode(ds[len(ds) - 1][0])
    val = PythonSourceText(seq_len=2, split="val", root=tmp_path, val_fraction=0.25)
    assert val.decode(val.data.tolist()) == corpus[cut:]
    with pytest.raises(IndexError, match="out of range"):
        ds[len(ds)]


def test_python_source_text_from_the_stdlib_is_deterministic():
    a = PythonSourceText(seq_len=32, max_chars=50_000)
    b = PythonSourceText(seq_len=32, max_chars=50_000)
    assert len(a) == (45_000 - 1) // 32 and np.array_equal(a.data, b.data)
    v = PythonSourceText(seq_len=32, split="val", max_chars=50_000)
    assert v.data.size == 5_000
    x, y = a[10]
    assert np.array_equal(x.numpy()[1:], y.numpy()[:-1])
    text = a.decode(a.data.tolist())
    assert "import" in text and (a.data == 0).mean() < 0.01  # mostly ASCII Python
    xb, _ = next(iter(DataLoader(a, batch_size=8, shuffle=True)))
    assert tuple(xb.shape) == (8, 32) and xb.dtype == ember.int64


def test_python_source_text_errors(tmp_path):
    with pytest.raises(ValueError, match="seq_len"):
        PythonSourceText(seq_len=0)
    with pytest.raises(ValueError, match="split must be 'train' or 'val'"):
        PythonSourceText(seq_len=4, split="test")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetNotFoundError, match="no .py files"):
        PythonSourceText(seq_len=4, root=tmp_path / "empty")
    small_tree(tmp_path)
    with pytest.raises(ValueError, match="too few"):
        PythonSourceText(seq_len=100, root=tmp_path)
