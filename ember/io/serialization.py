"""Saving and loading tensors in the safetensors format, written by ember with NumPy alone.

A safetensors file is::

    8 bytes          the length N of the header, an unsigned little-endian integer
    N bytes          a JSON object, padded with spaces:
                     {"__metadata__": {str: str},
                      name: {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, …}
    the rest         the tensors' raw little-endian bytes; offsets count from the end of
                     the header, and the tensors cover the data exactly, without gaps

A flat ``dict`` of str -> Tensor is written with its keys as the tensor names, so that any
safetensors reader loads it directly. Anything else (a Tensor, nested dicts, lists and
tuples of Tensors, Python numbers, strings and None) is flattened into named tensors plus
a JSON description of the nesting, stored in ``__metadata__["ember.structure"]``, from which
``load`` rebuilds the same structure and types.

Nothing here uses pickle: loading a file never runs code from it. A file written by another
program loads as a dict of name -> Tensor. bfloat16 ("BF16") tensors need the ml_dtypes
package (ember's bfloat16 is its NumPy dtype); without it, loading one raises an error that
says to install it rather than silently changing the dtype.

Only the data is saved: ``requires_grad`` and the graph are not (load gives plain leaves).
"""

from __future__ import annotations

import itertools
import json
import os
import uuid

import numpy as np

from ember import backend, dtypes
from ember.tensor import Tensor

__all__ = ["SafetensorsError", "load", "save"]

STRUCTURE_KEY = "ember.structure"
MAX_HEADER_BYTES = 100_000_000  # a larger header is a corrupt length, not a real header

_CODE_TO_DTYPE = {
    "BOOL": dtypes.bool_, "U8": dtypes.uint8, "I8": dtypes.int8, "I16": dtypes.int16,
    "I32": dtypes.int32, "I64": dtypes.int64, "F16": dtypes.float16, "BF16": dtypes.bfloat16,
    "F32": dtypes.float32, "F64": dtypes.float64,
}  # fmt: skip
_DTYPE_TO_CODE = {d.name: code for code, d in _CODE_TO_DTYPE.items()}
# Valid in safetensors, but ember has no dtype for them.
_UNSUPPORTED_CODES = {
    "U16", "U32", "U64", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F4", "F6_E2M3", "F6_E3M2", "C64",
    "C128",
}  # fmt: skip


class SafetensorsError(ValueError):
    """A file that is not a valid safetensors file, or whose contents ember cannot rebuild."""


# ---------------------------------------------------------------------------- saving
def save(obj, f) -> None:
    """Save a Tensor, or dicts/lists/tuples of Tensors, numbers, strings and None, to a
    safetensors file.

    Args:
        obj: what to save. A flat ``dict`` of str -> Tensor is written with its keys as the
            tensor names (readable by ``safetensors.numpy.load_file``); other structures
            come back from ``ember.load`` with the same nesting and types.
        f: a path (str or os.PathLike), or a binary file object open for writing.

    The file is written to a temporary file in the same folder and then renamed over
    ``f``, so a failure part-way never leaves a half-written file behind.

    Example::

        ember.save({"weight": w, "bias": b}, "layer.safetensors")
        state = ember.load("layer.safetensors")
    """
    tensors, structure = _flatten(obj)
    header, arrays = _header(tensors, structure)
    if hasattr(f, "write") and not isinstance(f, (str, bytes, os.PathLike)):
        _write(f, header, arrays)
        return
    try:
        path = os.fsdecode(os.fspath(f))
    except TypeError:
        raise TypeError(
            f"save: expected a path (str or os.PathLike) or a binary file object, "
            f"received {type(f).__name__}"
        ) from None
    _atomic_write(path, header, arrays)


_FLAT = object()  # the structure of a flat dict of str -> Tensor: its keys are the names


def _flatten(obj):
    """Name the tensors in ``obj``; returns {name: Tensor} and the JSON structure (_FLAT
    for a flat dict of str -> Tensor)."""
    if (
        type(obj) is dict
        and all(type(k) is str and isinstance(v, Tensor) for k, v in obj.items())
        and "__metadata__" not in obj
    ):
        return dict(obj), _FLAT
    tensors = {}
    names_by_id = {}
    active = set()

    def name_for(t, path):
        if id(t) in names_by_id:  # the same Tensor twice (tied weights) is stored once
            return names_by_id[id(t)]
        name = path or "tensor"
        n = 1
        while name in tensors or name == "__metadata__":
            name, n = f"{path or 'tensor'}#{n}", n + 1
        tensors[name] = t
        names_by_id[id(t)] = name
        return name

    def enc(x, path):
        if isinstance(x, Tensor):
            return {"tensor": name_for(x, path)}
        if x is None or isinstance(x, (bool, int, float, str)):
            if type(x) not in (type(None), bool, int, float, str):  # IntEnum, float subclasses
                raise TypeError(f"save: cannot save {type(x).__name__} at {_where(path)}")
            return x
        if isinstance(x, (dict, list, tuple)):
            if type(x) not in (dict, list, tuple):
                raise TypeError(
                    f"save: cannot save {type(x).__name__} at {_where(path)}; convert it to a "
                    "plain dict, list or tuple first"
                )
            if id(x) in active:
                raise ValueError(f"save: the object at {_where(path)} contains itself")
            active.add(id(x))
            if type(x) is dict:
                for k in x:
                    if type(k) is not str:
                        raise TypeError(
                            f"save: dict keys must be str, received the {type(k).__name__} "
                            f"key {k!r} at {_where(path)}"
                        )
                out = {"dict": [[k, enc(v, _join(path, k))] for k, v in x.items()]}
            else:
                items = [enc(v, _join(path, str(i))) for i, v in enumerate(x)]
                out = items if type(x) is list else {"tuple": items}
            active.discard(id(x))
            return out
        hint = "; make it a tensor with ember.from_numpy" if isinstance(x, np.ndarray) else ""
        raise TypeError(
            f"save: cannot save {type(x).__name__} at {_where(path)}; expected Tensors, dicts, "
            f"lists, tuples, Python numbers, strings or None{hint}"
        )

    structure = enc(obj, "")
    return tensors, structure


def _join(path, key):
    return f"{path}.{key}" if path else key


def _where(path):
    return f"'{path}'" if path else "the top level"


def _header(tensors, structure):
    """The header bytes (padded to a multiple of 8) and the arrays in the order of the data."""
    arrays = {}
    for name, t in tensors.items():
        a = backend.to_device(t._data, backend.CPU)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        arrays[name] = a if a.flags.c_contiguous else a.copy()  # not ascontiguousarray: 0-d
    # Wider types first keeps each tensor's data aligned to its item size (as the
    # safetensors library does), so memory-mapping readers need no copies.
    order = sorted(arrays, key=lambda n: -arrays[n].dtype.itemsize)
    offsets, pos = {}, 0
    for name in order:
        offsets[name] = (pos, pos + arrays[name].nbytes)
        pos += arrays[name].nbytes
    header = {}
    if structure is not _FLAT:
        header["__metadata__"] = {STRUCTURE_KEY: json.dumps(structure, separators=(",", ":"))}
    for name, t in tensors.items():
        header[name] = {
            "dtype": _DTYPE_TO_CODE[t.dtype.name],
            "shape": list(arrays[name].shape),
            "data_offsets": list(offsets[name]),
        }
    raw = json.dumps(header, separators=(",", ":"), allow_nan=False).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    return raw, [arrays[n] for n in order]


def _write(fh, header, arrays):
    fh.write(len(header).to_bytes(8, "little"))
    fh.write(header)
    for a in arrays:
        if a.size:
            # a flat uint8 view of the contiguous array writes its bytes without a copy
            fh.write(memoryview(a.reshape(-1).view(np.uint8)))


def _atomic_write(path, header, arrays):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(
            f"save: cannot write '{path}': the folder '{folder}' does not exist"
        )
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{uuid.uuid4().hex[:12]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            _write(fh, header, arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)


def _fsync_dir(folder):
    """Make the rename itself durable (POSIX); not possible, and not needed, elsewhere."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


# ---------------------------------------------------------------------------- loading
def load(f, map_location=None):
    """Load what ``ember.save`` saved, or any safetensors file (as a dict name -> Tensor).

    Args:
        f: a path (str or os.PathLike), or a binary file object open for reading.
        map_location: the device to put the tensors on ('cpu', 'cuda', 'cuda:1', an
            ``ember.device``); the CPU when None.

    Raises FileNotFoundError for a missing file and ``SafetensorsError`` (a ValueError) that
    names the file and the problem for one that is not a valid safetensors file.

    Example: ``state = ember.load("model.safetensors", map_location="cuda")``
    """
    device = backend.as_device(map_location)
    if device.type != "cpu":
        backend.array_module(device)  # fail before reading when the device is unavailable
    if hasattr(f, "read") and not isinstance(f, (str, bytes, os.PathLike)):
        return _load(f, getattr(f, "name", "<file object>"), device)
    try:
        path = os.fsdecode(os.fspath(f))
    except TypeError:
        raise TypeError(
            f"load: expected a path (str or os.PathLike) or a binary file object, "
            f"received {type(f).__name__}"
        ) from None
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: '{path}'")
    with open(path, "rb") as fh:
        return _load(fh, path, device)


def _load(fh, name, device):
    def fail(what):
        raise SafetensorsError(f"load: '{name}': {what}")

    try:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(0)
    except (AttributeError, OSError):
        raise TypeError(f"load: '{name}': the file object must be seekable") from None
    head = fh.read(8)
    if len(head) < 8:
        fail(
            f"the file is {size} bytes long, too short to be a safetensors file (it needs at "
            "least 8 bytes for the header length)"
        )
    n = int.from_bytes(head, "little")
    kind = _sniff(head)
    # Only when the length is impossible: a real header length can begin with the same
    # bytes as another format's magic (e.g. 896 = b"\x80\x03", a pickle's first bytes).
    if kind and (n > MAX_HEADER_BYTES or 8 + n > size):
        fail(f"not a safetensors file: it looks like {kind}")
    if n > MAX_HEADER_BYTES:
        fail(
            f"the header length {n} is over the {MAX_HEADER_BYTES}-byte limit; this is not a "
            "safetensors file, or the file is corrupt"
        )
    if 8 + n > size:
        fail(
            f"the header length {n} is larger than the file ({size} bytes); the file is "
            "truncated or not a safetensors file"
        )
    raw = fh.read(n)
    if not raw.lstrip(b" \t\r\n").startswith(b"{"):
        fail("not a safetensors file: its header is not a JSON object")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        fail(f"the header is not valid JSON ({e})")

    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        fail("__metadata__ must be a JSON object of strings to strings")
    entries = {k: _entry(k, v, fail) for k, v in header.items()}
    data_size = size - 8 - n
    _check_layout(entries, data_size, fail)

    arrays = {}
    start = 8 + n
    for key, (d, shape, (b, e)) in sorted(entries.items(), key=lambda kv: kv[1][2]):
        arr = np.empty(shape, d.np)
        if e > b:
            fh.seek(start + b)
            got = fh.readinto(memoryview(arr.reshape(-1).view(np.uint8)))
            if got != e - b:
                fail(f"the file is truncated: the data of tensor '{key}' ends early")
        arrays[key] = arr
    tensors = {k: Tensor._make(backend.to_device(arrays[k], device)) for k in entries}

    if STRUCTURE_KEY not in metadata:
        return tensors
    try:
        structure = json.loads(metadata[STRUCTURE_KEY])
        return _rebuild(structure, tensors, fail)
    except (ValueError, RecursionError) as e:
        if isinstance(e, SafetensorsError):
            raise
        fail(f"the metadata '{STRUCTURE_KEY}' is not valid JSON or nests too deeply ({e})")


def _sniff(head: bytes):
    """Name well-known formats, for a clearer error than a nonsense header length."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "a zip archive (a file written by torch.save?)"
    if head[:1] == b"\x80" and head[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a pickle file; ember never loads pickles"
    if head.startswith(b"\x93NUMPY"):
        return "a NumPy .npy file (use numpy.load)"
    if head.startswith(b"\x89HDF"):
        return "an HDF5 file"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip file"
    return None


def _no_duplicates(pairs):
    out = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"the key {k!r} appears twice")
        out[k] = v
    return out


def _entry(key, info, fail):
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        fail(
            f"the header entry of tensor '{key}' must be an object with exactly the keys "
            f"dtype, shape and data_offsets, received {json.dumps(info)[:200]}"
        )
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if code in _UNSUPPORTED_CODES:
        fail(
            f"tensor '{key}' has dtype {code}, which ember does not support "
            f"(supported: {', '.join(_CODE_TO_DTYPE)})"
        )
    if code not in _CODE_TO_DTYPE:
        fail(f"tensor '{key}' has unknown dtype {code!r}; known: {', '.join(_CODE_TO_DTYPE)}")
    d = _CODE_TO_DTYPE[code]
    if d is dtypes.bfloat16 and dtypes.bfloat16._np is None:
        raise RuntimeError(
            f"load: tensor '{key}' is bfloat16, which needs the ml_dtypes package; install "
            "it with `pip install ml_dtypes`"
        )
    if not isinstance(shape, list) or not all(_is_uint(s) for s in shape):
        fail(f"tensor '{key}' has shape {shape!r}, expected a list of non-negative integers")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_uint(o) for o in offsets)
        or offsets[0] > offsets[1]
    ):
        fail(
            f"tensor '{key}' has data_offsets {offsets!r}, expected [begin, end] with "
            "0 <= begin <= end"
        )
    nbytes = int(np.prod(shape, dtype=object)) * d.itemsize
    if offsets[1] - offsets[0] != nbytes:
        fail(
            f"tensor '{key}' has data_offsets {offsets} ({offsets[1] - offsets[0]} bytes), "
            f"which do not match its shape {shape} and dtype {code} ({nbytes} bytes)"
        )
    return d, tuple(shape), tuple(offsets)


def _is_uint(x):
    return type(x) is int and x >= 0


def _check_layout(entries, data_size, fail):
    """The tensors must cover the data exactly: no overlaps, no gaps, nothing beyond."""
    spans = sorted((e[2], k) for k, e in entries.items())
    for (prev, pk), (cur, ck) in itertools.pairwise(spans):
        if cur[0] < prev[1]:
            fail(f"the data of tensors '{pk}' {list(prev)} and '{ck}' {list(cur)} overlap")
    end = spans[-1][0][1] if spans else 0
    if end > data_size:
        contiguous = spans[0][0][0] == 0 and all(
            a[1] == b[0] for (a, _), (b, _) in itertools.pairwise(spans)
        )
        if contiguous:
            fail(
                f"the file is truncated: its header describes {end} bytes of tensor data, "
                f"but only {data_size} bytes follow the header"
            )
        for (b, e), k in spans:
            if e > data_size:
                fail(
                    f"tensor '{k}' has data_offsets {[b, e]}, out of bounds: only "
                    f"{data_size} bytes of data follow the header"
                )
    pos = 0
    for (b, e), k in spans:
        if b > pos:
            fail(f"bytes {pos} to {b} of the data belong to no tensor (before tensor '{k}')")
        pos = max(pos, e)
    if pos < data_size:
        fail(f"{data_size - pos} bytes after the last tensor's data belong to no tensor")


def _rebuild(structure, tensors, fail):
    def dec(x):
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        if isinstance(x, list):
            return [dec(v) for v in x]
        if isinstance(x, dict) and len(x) == 1:
            ((tag, v),) = x.items()
            if tag == "tensor" and isinstance(v, str):
                if v not in tensors:
                    fail(
                        f"the metadata '{STRUCTURE_KEY}' refers to tensor '{v}', which is not in the file"
                    )
                return tensors[v]
            if tag == "tuple" and isinstance(v, list):
                return tuple(dec(i) for i in v)
            if tag == "dict" and isinstance(v, list):
                if not all(
                    isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) for p in v
                ):
                    fail(f"the metadata '{STRUCTURE_KEY}' holds a malformed dict")
                return {k: dec(i) for k, i in v}
        fail(f"the metadata '{STRUCTURE_KEY}' holds an unknown entry {json.dumps(x)[:200]}")

    return dec(structure)
