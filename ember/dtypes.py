"""ember's dtypes and PyTorch's type-promotion rules."""

from __future__ import annotations

import numpy as np

try:  # bfloat16 has no NumPy dtype of its own; ml_dtypes (an optional extra) provides one.
    import ml_dtypes as _ml_dtypes
except ImportError:
    _ml_dtypes = None

_BOOL, _INT, _FLOAT = 0, 1, 2


class dtype:
    """A tensor element type: ``ember.float32``, ``ember.int64``, ``ember.bool`` …"""

    __slots__ = ("_np", "_rank", "category", "is_signed", "itemsize", "name")

    def __init__(self, name, np_dtype, category, itemsize, is_signed, rank):
        self.name = name
        self._np = np_dtype
        self.category = category
        self.itemsize = itemsize
        self.is_signed = is_signed
        self._rank = rank

    @property
    def is_floating_point(self) -> bool:
        return self.category == _FLOAT

    @property
    def np(self):
        """The NumPy dtype that stores this type."""
        if self._np is None:
            raise TypeError(
                f"dtype {self.name}: needs the ml_dtypes package, which is not installed; "
                "install it with `pip install ember[bfloat16]` (or `pip install ml_dtypes`)"
            )
        return self._np

    @property
    def is_complex(self) -> bool:
        return False

    def __repr__(self):
        return f"ember.{self.name}"

    def __reduce__(self):
        # pickled (by multiprocessing, say) as a reference to the module-level object
        return "bool_" if self.name == "bool" else self.name


bool_ = dtype("bool", np.dtype(np.bool_), _BOOL, 1, False, 0)
uint8 = dtype("uint8", np.dtype(np.uint8), _INT, 1, False, 1)
int8 = dtype("int8", np.dtype(np.int8), _INT, 1, True, 1)
int16 = dtype("int16", np.dtype(np.int16), _INT, 2, True, 2)
int32 = dtype("int32", np.dtype(np.int32), _INT, 4, True, 3)
int64 = dtype("int64", np.dtype(np.int64), _INT, 8, True, 4)
float16 = dtype("float16", np.dtype(np.float16), _FLOAT, 2, True, 1)
bfloat16 = dtype(
    "bfloat16", np.dtype(_ml_dtypes.bfloat16) if _ml_dtypes else None, _FLOAT, 2, True, 1
)
float32 = dtype("float32", np.dtype(np.float32), _FLOAT, 4, True, 2)
float64 = dtype("float64", np.dtype(np.float64), _FLOAT, 8, True, 3)

ALL = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64)
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update(
    {
        "float": float32, "double": float64, "half": float16, "long": int64, "int": int32,
        "short": int16, "bool_": bool_,
    }
)  # fmt: skip
_BY_NP = {d._np: d for d in ALL if d._np is not None}

_default_float = float32


def get_default_dtype() -> dtype:
    """The dtype of floating-point tensors created without one (float32 unless changed)."""
    return _default_float


def set_default_dtype(d) -> None:
    """Set the dtype of floating-point tensors created without one: float32 or float64."""
    global _default_float
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"set_default_dtype: expected a floating-point dtype, received {d}")
    _default_float = d


def as_dtype(d) -> dtype:
    """Turn an ember dtype, a NumPy dtype, a Python type or a name into an ember dtype.

    Python's ``float`` means float64 and ``int`` int64, as in PyTorch."""
    if isinstance(d, dtype):
        return d
    if d is float:
        return float64
    if d is int:
        return int64
    if d is bool:
        return bool_
    if isinstance(d, str) and d in _BY_NAME:
        return _BY_NAME[d]
    try:
        npd = np.dtype(d)
    except TypeError:
        npd = None
    if npd is not None and npd in _BY_NP:
        return _BY_NP[npd]
    raise TypeError(
        f"expected a dtype such as ember.float32, received {d!r}; "
        f"supported: {', '.join(x.name for x in ALL)}"
    )


def from_numpy_dtype(npd) -> dtype:
    try:
        return _BY_NP[np.dtype(npd)]
    except KeyError:
        raise TypeError(
            f"NumPy dtype {np.dtype(npd)} has no ember equivalent; "
            f"supported: {', '.join(x.name for x in ALL)}"
        ) from None


def promote_types(a: dtype, b: dtype) -> dtype:
    """The smallest dtype both ``a`` and ``b`` convert to safely (torch.promote_types).

    Example: ``ember.promote_types(ember.uint8, ember.int8)`` is ``ember.int16``."""
    if not isinstance(a, dtype) or not isinstance(b, dtype):
        raise TypeError(
            f"promote_types: expected two dtypes, received {type(a).__name__} and "
            f"{type(b).__name__}"
        )
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == _FLOAT:
        if a._rank == b._rank:  # float16 with bfloat16
            return float32
        return a if a._rank > b._rank else b
    if a.category == _INT:
        if a is uint8 or b is uint8:
            other = b if a is uint8 else a
            return int16 if other is int8 else other
        return a if a._rank > b._rank else b
    return a


def _scalar_dtype(x) -> dtype:
    if isinstance(x, (bool, np.bool_)):
        return bool_
    if isinstance(x, (int, np.integer)):
        return int64
    if isinstance(x, (float, np.floating)):
        return _default_float
    raise TypeError(f"result_type: expected tensors or Python numbers, received {type(x).__name__}")


def _combine(higher, lower):
    if higher is None:
        return lower
    if lower is None or higher.category == _FLOAT:
        return higher
    if higher is bool_ or lower.category == _FLOAT:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> dtype:
    """PyTorch's result type: tensors with dimensions outrank 0-d tensors, which outrank
    Python numbers; a lower class only matters when it is of a higher category
    (bool < integer < floating), e.g. int32 tensor + 2.5 -> float32, float16 tensor + 2.5 -> float16.
    """
    dim = zero = wrapped = None
    for x in operands:
        d = getattr(x, "dtype", None)
        if isinstance(d, dtype):
            if x.ndim:
                dim = d if dim is None else promote_types(dim, d)
            else:
                zero = d if zero is None else promote_types(zero, d)
        else:
            d = _scalar_dtype(x)
            wrapped = d if wrapped is None else promote_types(wrapped, d)
    return _combine(dim, _combine(zero, wrapped))


# (bits, significand bits including the implicit one, largest exponent) of each float dtype
_FLOAT_FORMAT = {
    "float16": (16, 11, 15), "bfloat16": (16, 8, 127), "float32": (32, 24, 127),
    "float64": (64, 53, 1023),
}  # fmt: skip


class finfo:
    """The numerical limits of a floating-point dtype, as ``torch.finfo``: ``bits``, ``eps``
    (the gap from 1.0 to the next value), ``max``, ``min``, ``tiny`` and ``smallest_normal``
    (the smallest positive normal number), ``resolution`` (10 ** -decimal digits) and
    ``dtype`` (its name). Without an argument, the default dtype's.

    Example: ``ember.finfo(ember.float16).max`` is 65504.0.
    """

    __slots__ = ("bits", "dtype", "eps", "max", "min", "resolution", "smallest_normal", "tiny")

    def __init__(self, type=None):
        d = get_default_dtype() if type is None else as_dtype(type)
        if d.name not in _FLOAT_FORMAT:
            raise TypeError(
                f"finfo: expected a floating-point dtype, received {d}; use ember.iinfo for "
                "integer dtypes"
            )
        bits, digits, emax = _FLOAT_FORMAT[d.name]
        self.bits = bits
        self.eps = 2.0 ** (1 - digits)
        self.max = (2.0 - self.eps) * 2.0**emax
        self.min = -self.max
        self.tiny = self.smallest_normal = 2.0 ** (1 - emax)
        self.resolution = 10.0 ** -int((digits - 1) * 0.30102999566398120)  # log10(2)
        self.dtype = d.name

    def __repr__(self):
        return (
            f"finfo(resolution={self.resolution:g}, min={self.min:g}, max={self.max:g}, "
            f"eps={self.eps:g}, smallest_normal={self.smallest_normal:g}, tiny={self.tiny:g}, "
            f"dtype={self.dtype})"
        )


class iinfo:
    """The numerical limits of an integer dtype, as ``torch.iinfo``: ``bits``, ``min``, ``max``
    and ``dtype`` (its name). Example: ``ember.iinfo(ember.uint8).max`` is 255."""

    __slots__ = ("bits", "dtype", "max", "min")

    def __init__(self, type):
        d = as_dtype(type)
        if d.category != _INT:
            raise TypeError(
                f"iinfo: expected an integer dtype, received {d}; use ember.finfo for "
                "floating-point dtypes (ember.bool has no iinfo)"
            )
        self.bits = 8 * d.itemsize
        self.min = -(2 ** (self.bits - 1)) if d.is_signed else 0
        self.max = 2 ** (self.bits - (1 if d.is_signed else 0)) - 1
        self.dtype = d.name

    def __repr__(self):
        return f"iinfo(min={float(self.min):g}, max={float(self.max):g}, dtype={self.dtype})"
