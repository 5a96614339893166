"""The array backends: NumPy on the CPU, CuPy on NVIDIA GPUs.

This is the only module that knows CuPy exists. Everything else asks it for
``xp``, the array module that holds a given array (Chainer's idea: one piece of
code runs on both).
"""

from __future__ import annotations

import numpy as np

try:  # the context variable that np.errstate sets (NumPy >= 2)
    from numpy._core._ufunc_config import _extobj_contextvar as np_errstate

    with np.errstate(all="ignore"):
        IGNORE_FP_ERRORS = np_errstate.get()  # NumPy's settings object for "ignore everything"
except ImportError:  # pragma: no cover - an older or a reorganised NumPy: np.errstate itself
    np_errstate = IGNORE_FP_ERRORS = None

try:  # CuPy is optional; without it the "cuda" device raises a clear error.
    import cupy as _cupy
except Exception:  # noqa: BLE001 - a broken CuPy install must not break ember on CPU
    _cupy = None


class Device:
    """Where a tensor lives: ``Device("cpu")``, ``Device("cuda")``, ``Device("cuda:1")``."""

    __slots__ = ("index", "type")

    def __init__(self, spec: str | Device = "cpu", index: int | None = None):
        if isinstance(spec, Device):
            self.type, self.index = spec.type, spec.index
            return
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string like 'cpu' or 'cuda:0', received {spec!r}")
        kind, _, num = spec.partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', received {spec!r}")
        if num:
            if not num.isdigit():
                raise ValueError(f"device: expected a device index after ':', received {spec!r}")
            index = int(num)
        if kind == "cuda" and index is None:
            index = 0
        self.type = kind
        self.index = index if kind == "cuda" else None

    def __eq__(self, other):
        if isinstance(other, str):
            other = Device(other)
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self):
        return (
            f"device(type='{self.type}'"
            + ("" if self.index is None else f", index={self.index}")
            + ")"
        )


CPU = Device("cpu")


def as_device(device) -> Device:
    if device is None:
        return CPU
    if isinstance(device, Device):
        return device
    if isinstance(device, int):
        return Device("cuda", device)
    return Device(device)


def cuda_available() -> bool:
    if _cupy is None:
        return False
    try:
        return _cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 - no driver, no device
        return False


def device_count() -> int:
    return _cupy.cuda.runtime.getDeviceCount() if cuda_available() else 0


def _require_cuda(device: Device):
    if _cupy is None:
        raise RuntimeError(
            f"device {device}: CuPy is not installed, so ember cannot use NVIDIA GPUs. "
            "Install the CuPy build for your CUDA version, e.g. `pip install cupy-cuda12x`, "
            "or use device='cpu'."
        )
    n = device_count()
    if device.index >= n:
        raise RuntimeError(f"device {device}: only {n} CUDA device(s) are visible")


def array_module(device: Device):
    """The array module (``numpy`` or ``cupy``) for a device."""
    if device.type == "cpu":
        return np
    _require_cuda(device)
    return _cupy


def get_array_module(x):
    """The array module that holds array ``x``."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        return _cupy
    return np


def device_of(x) -> Device:
    if type(x) is np.ndarray or _cupy is None or not isinstance(x, _cupy.ndarray):
        return CPU
    return Device("cuda", x.device.id)


def to_device(x, device: Device):
    """Copy array ``x`` to ``device`` (no copy when it is already there)."""
    src = device_of(x)
    if src == device:
        return x
    if device.type == "cpu":
        return _cupy.asnumpy(x)
    _require_cuda(device)
    with _cupy.cuda.Device(device.index):
        return _cupy.asarray(x)


def use_device(device: Device):
    """A context manager that makes ``device`` current for new arrays."""
    if device.type == "cuda":
        return _cupy.cuda.Device(device.index)
    return _NullContext()


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def is_array(x) -> bool:
    return isinstance(x, np.ndarray) or (_cupy is not None and isinstance(x, _cupy.ndarray))


def from_dlpack(obj):
    """Import any object with ``__dlpack__`` as a NumPy or CuPy array, without a copy."""
    dev_type, _ = obj.__dlpack_device__()
    if int(dev_type) == 1:  # kDLCPU
        return np.from_dlpack(obj)
    if int(dev_type) in (2, 13):  # kDLCUDA, kDLCUDAManaged
        if _cupy is None:
            raise RuntimeError(
                "from_dlpack: the array lives on a CUDA device but CuPy is not installed"
            )
        return _cupy.from_dlpack(obj)
    raise RuntimeError(f"from_dlpack: unsupported DLPack device type {int(dev_type)}")


def versions() -> dict:
    out = {"numpy": np.__version__}
    out["cupy"] = getattr(_cupy, "__version__", None)
    return out


# ---------------------------------------------------------------- host memory
# A training step frees and allocates the same large arrays every time. glibc hands blocks
# above its mmap threshold back to the OS on free and trims the heap's free top, so every step
# faults its temporaries in again (page faults and zeroing: a tenth to a third of a CNN or GPT
# step). Raising the mmap threshold and the trim threshold keeps freed blocks in the heap for
# the next step to reuse: a caching allocator in two calls. The peak resident memory is the
# same; memory freed after the peak stays with the process.
HOST_MMAP_THRESHOLD = 32 << 20  # glibc's largest accepted value (HEAP_MAX_SIZE / 2)
HOST_TRIM_THRESHOLD = 1 << 30
_MALLOC_VARS = (
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
    "MALLOC_MMAP_MAX_",
)


def tune_host_allocator(environ=None) -> bool:
    """Keep freed host memory for reuse (glibc only); returns whether it did.

    Skipped where the user chose: ``EMBER_HOST_ALLOCATOR=system``, or malloc settings of
    their own (``MALLOC_*_`` variables or ``glibc.malloc`` tunables)."""
    import ctypes
    import os

    env = os.environ if environ is None else environ
    if env.get("EMBER_HOST_ALLOCATOR", "reuse") == "system":
        return False
    if any(k in env for k in _MALLOC_VARS) or "glibc.malloc" in env.get("GLIBC_TUNABLES", ""):
        return False
    try:
        libc = os.confstr("CS_GNU_LIBC_VERSION") or ""
    except (ValueError, OSError, AttributeError):  # not a glibc system
        return False
    if not libc.startswith("glibc"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # from glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, HOST_MMAP_THRESHOLD)) and bool(
        mallopt(m_trim_threshold, HOST_TRIM_THRESHOLD)
    )


host_allocator_tuned = tune_host_allocator()
