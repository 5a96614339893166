"""ember.save / ember.load: the safetensors format written with NumPy alone.

Round trips of every structure and dtype, interop both ways with the safetensors library,
one test per kind of corrupt file (each reads its message), crash safety of the atomic
write, and a check that nothing under ember/ imports pickle."""

import io
import json
import math
import os
import pathlib
import re

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

import ember
from ember.io import SafetensorsError, serialization

EMBER_DIR = pathlib.Path(ember.__file__).parent
NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32",
         "float64"]  # fmt: skip


def sample(name, shape=(2, 3), seed=0):
    rng = np.random.default_rng(seed)
    d = getattr(ember, name)
    if name == "bool":
        return ember.tensor(rng.random(shape) > 0.5)
    if d.is_floating_point:
        return ember.tensor(rng.standard_normal(shape) * 100, dtype=d)
    info = np.iinfo(d.np)
    return ember.tensor(rng.integers(info.min, info.max, shape, endpoint=True, dtype=d.np))


def as_np(t):
    a = t.detach().numpy()
    return a.view(np.uint16) if a.dtype.kind == "V" else a  # compare bfloat16 bit for bit


def same_tensor(a, b):
    assert isinstance(a, ember.Tensor) and isinstance(b, ember.Tensor)
    assert a.dtype is b.dtype and a.shape == b.shape
    np.testing.assert_array_equal(as_np(a), as_np(b))


def same(a, b):
    """Deep equality that also checks types: tuple vs list, int vs float vs bool."""
    assert type(a) is type(b), f"{type(a).__name__} != {type(b).__name__}"
    if isinstance(a, ember.Tensor):
        same_tensor(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b
        if isinstance(a, float):
            assert math.copysign(1, a) == math.copysign(1, b)


def round_trip(obj, tmp_path, **kw):
    path = tmp_path / "obj.safetensors"
    ember.save(obj, path)
    return ember.load(path, **kw)


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(), (0,), (2, 0, 3), (5,), (2, 3, 4)])
def test_every_dtype_and_shape_round_trips(name, shape, tmp_path):
    t = sample(name, shape)
    same(round_trip(t, tmp_path), t)
    same(round_trip({"t": t}, tmp_path), {"t": t})


@pytest.mark.parametrize("name", NAMES)
def test_non_contiguous_tensors_round_trip(name, tmp_path):
    base = sample(name, (4, 6))
    views = {
        "transposed": ember.from_numpy(base.numpy().T),
        "strided": ember.from_numpy(base.numpy()[::2, 1::3]),
        "negative": ember.from_numpy(base.numpy()[::-1]),
    }
    out = round_trip(views, tmp_path)
    for k, v in views.items():
        assert not v.numpy().flags.c_contiguous
        same_tensor(out[k], v)


STRUCTURES = {
    "tensor": lambda: ember.arange(6.0).reshape(2, 3),
    "flat dict": lambda: {"weight": ember.ones(2, 3), "bias": ember.zeros(3, dtype=ember.int32)},
    "empty dict": dict,
    "empty list": list,
    "empty tuple": lambda: (),
    "list": lambda: [ember.ones(2), ember.zeros(1)],
    "tuple": lambda: (ember.ones(2), 3, "x"),
    "numbers": lambda: [
        1,
        1.0,
        True,
        False,
        0,
        -0.0,
        2**70,
        1e-300,
        float("inf"),
        float("-inf"),
        float("nan"),
    ],
    "scalars alone": lambda: 3,
    "float alone": lambda: 2.5,
    "none alone": lambda: None,
    "str alone": lambda: "hello",
    "strings": lambda: {"name": "ember", "unicode": "héllo ✓", "empty": "", "quote": '"}'},
    "nested": lambda: {
        "model": {"layer.0": {"w": ember.randn(2, 2), "b": None}, "layers": [ember.ones(1)]},
        "optim": {
            "state": {"0": {"step": 3, "lr": 0.1}},
            "groups": [{"params": [0, 1], "nesterov": False}],
        },
        "epoch": 7,
        "history": ([1.5, 2.5], (None, "done")),
    },
    "metadata key": lambda: {"__metadata__": ember.ones(2), "x": ember.zeros(1)},
    "colliding names": lambda: {"a.b": ember.ones(1), "a": {"b": ember.zeros(1)}},
    "non-tensor values in dict": lambda: {"w": ember.ones(2), "step": 10},
    "deep": lambda: [[[[[[ember.ones(1), {"k": (1, [2.0, (True,)])}]]]]]],
}


@pytest.mark.parametrize("name", list(STRUCTURES))
def test_every_structure_round_trips_with_its_types(name, tmp_path):
    obj = STRUCTURES[name]()
    same(round_trip(obj, tmp_path), obj)


def test_the_same_tensor_twice_is_stored_once_and_comes_back_shared(tmp_path):
    w = ember.randn(3, 3)
    obj = {"encoder": w, "decoder": [w], "other": w.clone()}
    out = round_trip(obj, tmp_path)
    same(out, obj)
    assert out["encoder"] is out["decoder"][0] and out["other"] is not out["encoder"]
    header = read_header(tmp_path / "obj.safetensors")
    assert len([k for k in header if k != "__metadata__"]) == 2


def test_loaded_tensors_are_plain_writable_leaves(tmp_path):
    x = ember.ones(2, 3, requires_grad=True) * 2  # saves the data only
    out = round_trip({"x": x}, tmp_path)["x"]
    assert not out.requires_grad and out.is_leaf and out.grad_fn is None
    out.numpy()[0, 0] = 5.0  # writable, its own memory
    assert out.numpy().flags.writeable and out.numpy().flags.aligned
    assert x.tolist()[0][0] == 2.0


def test_paths_and_file_objects(tmp_path):
    obj = {"a": ember.ones(2), "n": [1, 2.5]}
    for path in (str(tmp_path / "s.safetensors"), tmp_path / "p.safetensors"):
        ember.save(obj, path)
        same(ember.load(path), obj)
    buf = io.BytesIO()
    ember.save(obj, buf)
    buf.seek(0)
    same(ember.load(buf), obj)
    with open(tmp_path / "f.safetensors", "wb") as fh:
        ember.save(obj, fh)
    with open(tmp_path / "f.safetensors", "rb") as fh:
        same(ember.load(fh), obj)
    assert ember.load(tmp_path / "f.safetensors", map_location="cpu")["a"].device.type == "cpu"
    out = ember.load(tmp_path / "f.safetensors", map_location=ember.device("cpu"))
    same(out, obj)


def test_file_layout_follows_the_format(tmp_path):
    obj = {"h": ember.ones(3, dtype=ember.float16), "d": ember.ones(1, dtype=ember.float64),
           "b": ember.ones(5, dtype=ember.bool)}  # fmt: skip
    path = tmp_path / "x.safetensors"
    ember.save(obj, path)
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    assert n % 8 == 0 and raw[8:9] == b"{"
    header = json.loads(raw[8 : 8 + n])
    assert set(raw[8 : 8 + n][len(raw[8 : 8 + n].rstrip()) :]) <= {ord(" ")}  # space padding
    assert "__metadata__" not in header  # a flat dict needs no structure
    assert list(header) == ["h", "d", "b"]
    assert header["h"] == {
        "dtype": "F16",
        "shape": [3],
        "data_offsets": header["h"]["data_offsets"],
    }
    for v in header.values():
        b, e = v["data_offsets"]
        itemsize = {"F16": 2, "F64": 8, "BOOL": 1}[v["dtype"]]
        assert b % itemsize == 0 and e - b == itemsize * math.prod(v["shape"])
    assert max(v["data_offsets"][1] for v in header.values()) == len(raw) - 8 - n
    assert np.frombuffer(raw[8 + n + header["d"]["data_offsets"][0] :][:8], "<f8")[0] == 1.0


# ---------------------------------------------------------------- interop with safetensors
@pytest.mark.parametrize("name", [n for n in NAMES if n != "bfloat16"])
def test_ember_files_load_in_safetensors_numpy(name, tmp_path):
    obj = {"x": sample(name, (3, 2)), "scalar": sample(name, ()), "empty": sample(name, (0, 2))}
    path = tmp_path / "e.safetensors"
    ember.save(obj, path)
    loaded = safetensors.numpy.load_file(str(path))
    assert sorted(loaded) == sorted(obj)
    for k, v in obj.items():
        np.testing.assert_array_equal(loaded[k], v.numpy())
        assert loaded[k].dtype == v.numpy().dtype


@pytest.mark.parametrize("name", NAMES)
def test_ember_files_load_in_safetensors_torch(name, tmp_path):
    obj = {"x": sample(name, (3, 2)), "y": sample(name, (4,), seed=1)}
    path = tmp_path / "e.safetensors"
    ember.save(obj, path)
    loaded = safetensors.torch.load_file(str(path))
    for k, v in obj.items():
        t = loaded[k]
        assert str(t.dtype) == f"torch.{name}"
        if name == "bfloat16":
            np.testing.assert_array_equal(t.view(torch.int16).numpy().view(np.uint16), as_np(v))
        else:
            np.testing.assert_array_equal(t.numpy(), v.numpy())


def test_nested_ember_files_are_valid_for_safetensors(tmp_path):
    obj = STRUCTURES["nested"]()
    path = tmp_path / "n.safetensors"
    ember.save(obj, path)
    loaded = safetensors.numpy.load_file(str(path))
    np.testing.assert_array_equal(loaded["model.layer.0.w"], obj["model"]["layer.0"]["w"].numpy())
    with safetensors.safe_open(str(path), "np") as f:
        assert serialization.STRUCTURE_KEY in f.metadata()


@pytest.mark.parametrize("name", [n for n in NAMES if n != "bfloat16"])
def test_safetensors_numpy_files_load_in_ember(name, tmp_path):
    arrays = {"a": sample(name, (2, 3)).numpy(), "b": sample(name, ()).numpy(),
              "c": sample(name, (0,)).numpy()}  # fmt: skip
    path = tmp_path / "np.safetensors"
    safetensors.numpy.save_file(arrays, str(path), metadata={"format": "np"})
    out = ember.load(path)
    assert isinstance(out, dict) and sorted(out) == sorted(arrays)
    for k, a in arrays.items():
        assert out[k].dtype.name == name
        np.testing.assert_array_equal(out[k].numpy(), a)


@pytest.mark.parametrize("name", NAMES)
def test_safetensors_torch_files_load_in_ember(name, tmp_path):
    rng = torch.Generator().manual_seed(0)
    dt = getattr(torch, name)
    if dt.is_floating_point:
        t = torch.randn(3, 4, generator=rng).to(dt)
    elif dt == torch.bool:
        t = torch.rand(3, 4, generator=rng) > 0.5
    else:
        t = torch.randint(0, 100, (3, 4), generator=rng).to(dt)
    tensors = {"t": t, "t_T": t.t().contiguous(), "zero_d": t[0, 0].clone()}
    path = tmp_path / "pt.safetensors"
    safetensors.torch.save_file(tensors, str(path))
    out = ember.load(path)
    for k, v in tensors.items():
        assert out[k].dtype.name == name and out[k].shape == tuple(v.shape)
        if name == "bfloat16":
            np.testing.assert_array_equal(
                as_np(out[k]), v.view(torch.int16).numpy().view(np.uint16)
            )
            np.testing.assert_array_equal(out[k].float().numpy(), v.float().numpy())
        else:
            np.testing.assert_array_equal(out[k].numpy(), v.numpy())


def test_bfloat16_without_ml_dtypes_says_to_install_it(tmp_path, monkeypatch):
    path = tmp_path / "bf.safetensors"
    safetensors.torch.save_file({"w": torch.ones(2, dtype=torch.bfloat16)}, str(path))
    monkeypatch.setattr(ember.bfloat16, "_np", None)
    with pytest.raises(RuntimeError, match="tensor 'w' is bfloat16, which needs the ml_dtypes"):
        ember.load(path)


# ---------------------------------------------------------------- corrupt files
def read_header(path):
    raw = pathlib.Path(path).read_bytes()
    n = int.from_bytes(raw[:8], "little")
    return json.loads(raw[8 : 8 + n])


def write_file(path, header, data=b"", raw_header=None):
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    path.write_bytes(len(h).to_bytes(8, "little") + h + data)
    return path


def tensor_entry(dtype="F32", shape=(2,), offsets=(0, 8)):
    return {"dtype": dtype, "shape": list(shape), "data_offsets": list(offsets)}


CORRUPT = {
    "too short": (lambda p: p.write_bytes(b"\x01\x02\x03"), "3 bytes long, too short"),
    "empty file": (lambda p: p.write_bytes(b""), "0 bytes long, too short"),
    "header longer than file": (
        lambda p: p.write_bytes((1000).to_bytes(8, "little") + b'{"a": 1}'),
        "header length 1000 is larger than the file (16 bytes)",
    ),
    "header over the limit": (
        lambda p: p.write_bytes((2**40).to_bytes(8, "little") + b"{}"),
        f"header length {2**40} is over the 100000000-byte limit",
    ),
    "text file": (
        lambda p: p.write_text("hello, this is a text file, not tensors\n" * 3),
        "not a safetensors file, or the file is corrupt",
    ),
    "invalid json": (lambda p: write_file(p, None, raw_header=b'{"a": [1, 2'), "not valid JSON"),
    "not utf-8": (lambda p: write_file(p, None, raw_header=b'{"\xff\xfe": 1}'), "not valid JSON"),
    "not an object": (
        lambda p: write_file(p, None, raw_header=b"[1, 2, 3]"),
        "not a safetensors file: its header is not a JSON object",
    ),
    "duplicate key": (
        lambda p: write_file(
            p,
            None,
            b"\0" * 8,
            raw_header=b'{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a": {}}',
        ),
        "the key 'a' appears twice",
    ),
    "unknown dtype": (
        lambda p: write_file(p, {"w": tensor_entry("F7")}, b"\0" * 8),
        "tensor 'w' has unknown dtype 'F7'",
    ),
    "unsupported dtype": (
        lambda p: write_file(p, {"w": tensor_entry("U32")}, b"\0" * 8),
        "tensor 'w' has dtype U32, which ember does not support",
    ),
    "bad entry": (
        lambda p: write_file(p, {"w": {"dtype": "F32", "shape": [2]}}, b"\0" * 8),
        "header entry of tensor 'w' must be an object with exactly the keys",
    ),
    "bad shape": (
        lambda p: write_file(p, {"w": tensor_entry(shape=(-2,))}, b"\0" * 8),
        "tensor 'w' has shape [-2], expected a list of non-negative integers",
    ),
    "bad offsets": (
        lambda p: write_file(p, {"w": tensor_entry(offsets=(8, 0))}, b"\0" * 8),
        "tensor 'w' has data_offsets [8, 0], expected [begin, end]",
    ),
    "offsets of three": (
        lambda p: write_file(p, {"w": tensor_entry(offsets=(0, 4, 8))}, b"\0" * 8),
        "expected [begin, end]",
    ),
    "size mismatch": (
        lambda p: write_file(p, {"w": tensor_entry(shape=(3,), offsets=(0, 8))}, b"\0" * 8),
        "tensor 'w' has data_offsets [0, 8] (8 bytes), which do not match its shape [3] and",
    ),
    "out of bounds": (
        lambda p: write_file(
            p, {"a": tensor_entry(), "b": tensor_entry(offsets=(16, 24))}, b"\0" * 16
        ),
        "tensor 'b' has data_offsets [16, 24], out of bounds: only 16 bytes of data",
    ),
    "overlap": (
        lambda p: write_file(
            p, {"a": tensor_entry(), "b": tensor_entry(offsets=(4, 12))}, b"\0" * 12
        ),
        "the data of tensors 'a' [0, 8] and 'b' [4, 12] overlap",
    ),
    "gap": (
        lambda p: write_file(
            p, {"a": tensor_entry(), "b": tensor_entry(offsets=(12, 20))}, b"\0" * 20
        ),
        "bytes 8 to 12 of the data belong to no tensor (before tensor 'b')",
    ),
    "trailing bytes": (
        lambda p: write_file(p, {"a": tensor_entry()}, b"\0" * 11),
        "3 bytes after the last tensor's data belong to no tensor",
    ),
    "bad metadata": (
        lambda p: write_file(p, {"__metadata__": {"k": 1}}),
        "__metadata__ must be a JSON object of strings to strings",
    ),
    "structure not json": (
        lambda p: write_file(p, {"__metadata__": {serialization.STRUCTURE_KEY: "[{"}}),
        "the metadata 'ember.structure' is not valid JSON",
    ),
    "structure names a missing tensor": (
        lambda p: write_file(
            p,
            {
                "__metadata__": {serialization.STRUCTURE_KEY: '[{"tensor": "gone"}]'},
                "w": tensor_entry(),
            },
            b"\0" * 8,
        ),
        "refers to tensor 'gone', which is not in the file",
    ),
    "structure with an unknown entry": (
        lambda p: write_file(p, {"__metadata__": {serialization.STRUCTURE_KEY: '{"set": [1]}'}}),
        'holds an unknown entry {"set": [1]}',
    ),
}


@pytest.mark.parametrize("case", list(CORRUPT))
def test_corrupt_files_raise_a_clear_error(case, tmp_path):
    make, message = CORRUPT[case]
    path = tmp_path / "bad.safetensors"
    make(path)
    with pytest.raises(SafetensorsError) as info:
        ember.load(path)
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(f"load: '{path}': ")
    assert message in str(info.value), str(info.value)


def test_a_truncated_file(tmp_path):
    path = tmp_path / "t.safetensors"
    ember.save({"w": ember.ones(10), "b": ember.ones(3)}, path)
    raw = path.read_bytes()
    path.write_bytes(raw[:-5])
    with pytest.raises(SafetensorsError, match="the file is truncated: its header describes 52 "
                       "bytes of tensor data, but only 47 bytes follow the header"):  # fmt: skip
        ember.load(path)
    n = int.from_bytes(raw[:8], "little")
    path.write_bytes(raw[: 8 + n // 2])  # cut inside the header
    with pytest.raises(SafetensorsError, match="is larger than the file"):
        ember.load(path)


def test_a_missing_file(tmp_path):
    path = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError, match="load: no such file: '.*nope.safetensors'"):
        ember.load(path)


def test_files_in_other_formats_are_named(tmp_path):
    zipped = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, zipped)
    with pytest.raises(SafetensorsError, match="not a safetensors file: it looks like a zip"):
        ember.load(zipped)
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(SafetensorsError, match="not a safetensors file: it looks like a pickle "
                       "file; ember never loads pickles"):  # fmt: skip
        ember.load(legacy)
    npy = tmp_path / "a.npy"
    np.save(npy, np.ones(3))
    with pytest.raises(SafetensorsError, match="it looks like a NumPy .npy file"):
        ember.load(npy)


def test_a_file_object_must_be_seekable(tmp_path):
    class Stream:
        name = "stream"

        def read(self, n=-1):
            return b""

    with pytest.raises(TypeError, match="load: 'stream': the file object must be seekable"):
        ember.load(Stream())


# ---------------------------------------------------------------- errors on save / load
@pytest.mark.parametrize(
    "obj,exc,match",
    [({1: ember.ones(1)}, TypeError, "dict keys must be str, received the int key 1"),
     ({"a": {2.5: 1}}, TypeError, "received the float key 2.5 at 'a'"),
     ({"a": {1, 2}}, TypeError, "cannot save set at 'a'"),
     ([np.ones(2)], TypeError, "cannot save ndarray at '0'; expected Tensors"),
     (object(), TypeError, "cannot save object at the top level"),
     ({"c": 1 + 2j}, TypeError, "cannot save complex at 'c'"),
     ({"b": b"bytes"}, TypeError, "cannot save bytes at 'b'")],
)  # fmt: skip
def test_save_rejects_what_it_cannot_store(obj, exc, match, tmp_path):
    with pytest.raises(exc, match=re.escape(match)):
        ember.save(obj, tmp_path / "x.safetensors")
    assert not list(tmp_path.iterdir())  # nothing written


def test_save_rejects_an_object_that_contains_itself(tmp_path):
    loop = [ember.ones(1)]
    loop.append(loop)
    with pytest.raises(ValueError, match="the object at '1' contains itself"):
        ember.save(loop, tmp_path / "x.safetensors")


def test_save_and_load_reject_bad_targets(tmp_path):
    with pytest.raises(TypeError, match="save: expected a path"):
        ember.save({}, 3)
    with pytest.raises(TypeError, match="load: expected a path"):
        ember.load(3)
    with pytest.raises(FileNotFoundError, match="the folder '.*no_such_dir' does not exist"):
        ember.save({}, tmp_path / "no_such_dir" / "x.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_bytes_paths(tmp_path):
    path = os.fsencode(tmp_path / "b.safetensors")
    ember.save([ember.ones(1)], path)
    same(ember.load(path), [ember.ones(1)])
    assert [p.name for p in tmp_path.iterdir()] == ["b.safetensors"]


@pytest.mark.skipif(ember.cuda.is_available(), reason="checks the error shown without CuPy")
def test_map_location_cuda_without_cupy(tmp_path):
    ember.save({"a": ember.ones(1)}, tmp_path / "a.safetensors")
    with pytest.raises(RuntimeError, match="CuPy is not installed"):
        ember.load(tmp_path / "a.safetensors", map_location="cuda")
    with pytest.raises(ValueError, match="expected 'cpu', 'cuda' or 'cuda:N'"):
        ember.load(tmp_path / "a.safetensors", map_location="tpu")


# ---------------------------------------------------------------- crash safety
def test_a_failure_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    old = {"w": ember.arange(4.0)}
    ember.save(old, path)
    before = path.read_bytes()

    def failing_write(fh, header, arrays):
        fh.write(len(header).to_bytes(8, "little"))
        fh.write(header)
        raise OSError("disk full")

    monkeypatch.setattr(serialization, "_write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        ember.save({"w": ember.zeros(1000)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]  # no temp file left
    same(ember.load(path), old)


def test_an_interrupt_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    ember.save({"w": ember.ones(2)}, path)
    before = path.read_bytes()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(serialization.os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ember.save({"w": ember.zeros(3)}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.safetensors"]


def test_a_failed_rename_leaves_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "new.safetensors"

    def no_replace(src, dst):
        raise PermissionError("read-only folder")

    monkeypatch.setattr(serialization.os, "replace", no_replace)
    with pytest.raises(PermissionError):
        ember.save({"w": ember.ones(2)}, path)
    assert list(tmp_path.iterdir()) == []


def test_saving_overwrites_and_uses_the_umask(tmp_path):
    path = tmp_path / "x.safetensors"
    ember.save({"a": ember.ones(1)}, path)
    ember.save({"b": ember.zeros(2)}, path)
    assert list(ember.load(path)) == ["b"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ---------------------------------------------------------------- no pickle, no safetensors
def test_nothing_under_ember_imports_pickle_or_safetensors():
    pattern = re.compile(
        r"^\s*(import|from)\s+(pickle|cPickle|_pickle|dill|cloudpickle|joblib|safetensors)\b"
        r"|allow_pickle\s*=\s*True|torch\.load\(|np\.load\(",
        re.MULTILINE,
    )
    # The DataLoader pickles batches in memory between itself and its own worker processes
    # (as multiprocessing queues do); no file is ever read with pickle.
    ipc = {EMBER_DIR / "data" / "_worker.py", EMBER_DIR / "data" / "dataloader.py"}
    files = sorted(f for f in EMBER_DIR.rglob("*.py") if f not in ipc)
    assert len(files) > 10
    offenders = [str(f) for f in files if pattern.search(f.read_text(encoding="utf-8"))]
    assert offenders == []
