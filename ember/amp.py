"""Mixed precision: ``autocast`` runs chosen ops in float16/bfloat16, ``GradScaler`` keeps
float16 gradients from underflowing.

Inside ``with ember.autocast("cpu", dtype=ember.bfloat16):`` the ops listed below run in a
lower precision, or in float32, whatever the dtype of their inputs, as under PyTorch's
``torch.autocast`` (its op lists, for the ops ember has):

=================  ============================================================================
policy             ops
=================  ============================================================================
low precision      matmul (and ``@``), mm, bmm, einsum, linear, conv1d, conv2d,
                   conv_transpose1d, conv_transpose2d, scaled_dot_product_attention
float32            cross_entropy, nll_loss, mse_loss, l1_loss, smooth_l1_loss, huber_loss,
                   binary_cross_entropy(_with_logits), kl_div; on the CPU also reflect and
                   replicate ``pad``; on CUDA also softmax, log_softmax, layer_norm, group_norm
widest input type  dot (CUDA)
float32 inside     layer_norm, group_norm (CPU) and batch_norm: computed in float32, the result
                   has the input's dtype (as PyTorch's kernels do for low-precision inputs)
=================  ============================================================================

Only floating tensors of a lower or single precision are cast: float64 tensors and integer
tensors are left alone. The casts are differentiable, so gradients come back to the
parameters in the parameters' own dtype. Every other op runs in the dtype of its inputs.
Call ``backward()`` outside the ``autocast`` block, as in PyTorch.

A float16 forward can make gradients too small for float16 (they flush to 0); ``GradScaler``
multiplies the loss by a large factor before backward, divides the gradients by it again
before the optimizer step, skips steps whose gradients overflowed, and adapts the factor::

    scaler = ember.amp.GradScaler()
    for x, y in loader:
        optimizer.zero_grad()
        with ember.autocast("cpu", dtype=ember.float16):
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
        scaler.step(optimizer)      # skipped (with a warning) if a gradient is inf or nan
        scaler.update()
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from ember import backend, dtypes
from ember.tensor import Tensor

__all__ = [
    "GradScaler",
    "autocast",
    "autocast_args",
    "get_autocast_dtype",
    "is_autocast_enabled",
]


class _State:
    """Autocast's state. ``on`` is the one attribute an op reads when autocast is off."""

    __slots__ = ("cache", "depth", "dtypes", "on")

    def __init__(self):
        self.on = False
        self.dtypes = {}  # device type ('cpu', 'cuda') -> the low-precision dtype
        self.cache = {}  # (id(param), dtype, grad mode) -> (param, version, cast)
        self.depth = 0


state = _State()

_LOW, _FP32, _PROMOTE, _FP32_KEEP = "low", "fp32", "promote", "fp32_keep"

_LOW_OPS = (
    "matmul", "mm", "bmm", "einsum", "linear", "conv1d", "conv2d", "conv_transpose1d",
    "conv_transpose2d", "scaled_dot_product_attention",
)  # fmt: skip
_FP32_LOSSES = (
    "cross_entropy", "nll_loss", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
)  # fmt: skip
_POLICY = {
    "cpu": {
        **dict.fromkeys(_LOW_OPS, _LOW),
        **dict.fromkeys(_FP32_LOSSES, _FP32),
        "reflect_pad": _FP32,
        "replicate_pad": _FP32,
        "layer_norm": _FP32_KEEP,
        "group_norm": _FP32_KEEP,
        "batch_norm": _FP32_KEEP,
    },
    "cuda": {
        **dict.fromkeys(_LOW_OPS, _LOW),
        **dict.fromkeys(_FP32_LOSSES, _FP32),
        "softmax": _FP32,
        "log_softmax": _FP32,
        "layer_norm": _FP32,
        "group_norm": _FP32,
        "batch_norm": _FP32_KEEP,
        "dot": _PROMOTE,
    },
}
_DEFAULT_DTYPE = {"cpu": "bfloat16", "cuda": "float16"}


# ---------------------------------------------------------------------------- autocast
class autocast:
    """Run the ops of a block (or a decorated function) in mixed precision.

    Args:
        device_type: 'cpu' or 'cuda': autocast applies to ops whose tensors are there.
        dtype: ``ember.float16`` or ``ember.bfloat16``; by default bfloat16 on the CPU and
            float16 on CUDA, as in PyTorch.
        enabled: False turns autocast off inside the block (e.g. for a part that needs
            float32 inside a larger autocast block).
        cache_enabled: keep the low-precision copy of each parameter for the rest of the
            block, so a weight used many times (an RNN's, tied embeddings) is cast once.

    Example::

        with ember.autocast("cpu", dtype=ember.bfloat16):
            logits = model(x)                    # Linear/Conv run in bfloat16
            loss = F.cross_entropy(logits, y)    # the loss in float32
        loss.backward()                          # parameters' gradients in float32
    """

    def __init__(self, device_type: str = "cpu", dtype=None, enabled: bool = True,
                 cache_enabled: bool | None = None):  # fmt: skip
        if isinstance(device_type, backend.Device):
            device_type = device_type.type
        if device_type not in _POLICY:
            raise ValueError(
                f"autocast: expected device_type 'cpu' or 'cuda', received {device_type!r}"
            )
        dt = dtypes.as_dtype(_DEFAULT_DTYPE[device_type] if dtype is None else dtype)
        if dt not in (dtypes.float16, dtypes.bfloat16):
            raise ValueError(
                f"autocast: expected dtype ember.float16 or ember.bfloat16, received {dt}"
            )
        dt.np  # noqa: B018 - a clear error now when bfloat16 needs ml_dtypes
        if not isinstance(enabled, bool):
            raise TypeError(f"autocast: expected enabled to be a bool, received {enabled!r}")
        self.device_type, self.fast_dtype, self.enabled = device_type, dt, enabled
        self.cache_enabled = True if cache_enabled is None else bool(cache_enabled)
        self._saved = []

    def __enter__(self):
        self._saved.append((dict(state.dtypes), state.cache))
        if self.enabled:
            state.dtypes[self.device_type] = self.fast_dtype
        else:
            state.dtypes.pop(self.device_type, None)
        state.on = bool(state.dtypes)
        state.depth += 1
        if not self.cache_enabled:
            state.cache = None
        elif state.cache is None:
            state.cache = {}
        return self

    def __exit__(self, *exc):
        prev, cache = self._saved.pop()
        state.dtypes = prev
        state.on = bool(prev)
        state.depth -= 1
        # the cached casts belong to this forward pass; the next one sees updated weights
        state.cache = {} if state.depth == 0 else cache
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with autocast(self.device_type, self.fast_dtype, self.enabled, self.cache_enabled):
                return fn(*args, **kwargs)

        return wrapper


def is_autocast_enabled(device_type: str = "cpu") -> bool:
    """Whether autocast is on for ``device_type`` here."""
    return device_type in state.dtypes


def get_autocast_dtype(device_type: str = "cpu"):
    """The low-precision dtype autocast uses for ``device_type`` (its default when off)."""
    return state.dtypes.get(device_type) or dtypes.as_dtype(_DEFAULT_DTYPE[device_type])


def _snapshot():
    """Autocast's settings now, for ``ember.utils.checkpoint`` to recompute under them."""
    return dict(state.dtypes)


class _Restored:
    """Autocast's settings set to a snapshot for a block (without the cast cache)."""

    def __init__(self, snapshot):
        self.snapshot = snapshot

    def __enter__(self):
        self.prev = (state.dtypes, state.on, state.cache)
        state.dtypes, state.on, state.cache = dict(self.snapshot), bool(self.snapshot), None
        return self

    def __exit__(self, *exc):
        state.dtypes, state.on, state.cache = self.prev
        return False


def _device_type(args) -> str | None:
    for a in args:
        if isinstance(a, Tensor):
            return "cpu" if type(a._data) is np.ndarray else backend.device_of(a._data).type
    return None


_LOWER = None  # (float16, bfloat16, float32): the dtypes autocast may cast (never float64)


def _castable():
    global _LOWER
    if _LOWER is None:
        _LOWER = (dtypes.float16, dtypes.bfloat16, dtypes.float32)
    return _LOWER


def _cast(t: Tensor, to):
    from ember.autograd.grad_mode import state as grad_state
    from ember.ops.elementwise import to_dtype

    cache = state.cache
    # As PyTorch: weights (leaves that require grad) are cast once per autocast block.
    if cache is None or not (t._requires_grad and t.grad_fn is None and t._base is None):
        return to_dtype(t, to)
    key = (id(t), to, grad_state.enabled)
    hit = cache.get(key)
    if hit is not None:
        src, version, cast = hit
        node = cast.grad_fn
        if src is t and version == t._vc[0] and (node is None or not node._freed):
            return cast
    cast = to_dtype(t, to)
    cache[key] = (t, t._vc[0], cast)
    return cast


def autocast_args(op: str, *args) -> tuple:
    """The arguments of ``op`` cast as autocast's policy for it says (unchanged when autocast
    is off for their device, or the op has no policy). Ops call it first thing::

        if _amp.on:
            input, weight, bias = autocast_args("linear", input, weight, bias)
    """
    device = _device_type(args)
    low = state.dtypes.get(device)
    if low is None:
        return args
    policy = _POLICY[device].get(op)
    if policy is None or policy is _FP32_KEEP:
        return args
    lower = _castable()
    if policy is _LOW:
        to, eligible = low, lower
    elif policy is _FP32:
        to, eligible = dtypes.float32, lower[:2]
    else:  # _PROMOTE: to the widest floating type among the tensors
        floats = [a.dtype for a in args if isinstance(a, Tensor) and a.dtype.is_floating_point]
        if not floats:
            return args
        to = floats[0]
        for d in floats[1:]:
            to = dtypes.promote_types(to, d)
        eligible = lower
    return tuple(
        _cast(a, to) if isinstance(a, Tensor) and a.dtype in eligible and a.dtype is not to else a
        for a in args
    )


def autocast_norm(op: str, fn, input: Tensor, *args, **kwargs):
    """Run a normalisation ``fn(input, *args)`` as autocast says: in float32 for low-precision
    inputs, the result cast back to the input's dtype where the policy keeps it (CPU),
    left in float32 where it does not (CUDA)."""
    device = _device_type((input,))
    low = state.dtypes.get(device)
    policy = _POLICY.get(device, {}).get(op)
    if low is None or policy is None or input.dtype not in _castable()[:2]:
        with _Restored({}):
            return fn(input, *args, **kwargs)
    dtype, f32, low2 = input.dtype, dtypes.float32, _castable()[:2]
    # batch_norm's running statistics are updated in place: they must not be copies
    fixed = 2 if op == "batch_norm" else 0
    args = args[:fixed] + tuple(
        _cast(a, f32) if isinstance(a, Tensor) and a.dtype in low2 else a for a in args[fixed:]
    )
    kwargs = {
        k: _cast(v, f32) if isinstance(v, Tensor) and v.dtype in low2 else v
        for k, v in kwargs.items()
    }
    with _Restored({}):
        y = fn(_cast(input, f32), *args, **kwargs)
    return y.to(dtype) if policy is _FP32_KEEP else y


# ---------------------------------------------------------------------------- GradScaler
_READY, _UNSCALED, _STEPPED = 0, 1, 2


class GradScaler:
    """Scale the loss so that float16 gradients do not underflow; unscale them before the
    optimizer step; skip steps whose gradients overflowed; adapt the scale.

    Args:
        init_scale: the first scale factor.
        growth_factor: the scale is multiplied by it after ``growth_interval`` steps in a row
            without an overflow.
        backoff_factor: the scale is multiplied by it after a step whose gradients overflowed.
        growth_interval: see growth_factor.
        enabled: False makes every method a pass-through (``scale(loss)`` returns ``loss``,
            ``step`` just calls ``optimizer.step()``), so one loop serves both precisions.
        device: accepted for PyTorch's ``torch.amp.GradScaler("cuda")`` spelling (a device
            may also be the first positional argument); the scale follows the loss's device.

    After each ``step()``, ``step_skipped`` tells whether the step was skipped, and
    ``skipped_steps`` counts the skipped steps so far.
    """

    def __init__(self, init_scale: float = 2.0**16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000, enabled: bool = True,
                 device=None):  # fmt: skip
        if isinstance(init_scale, (str, backend.Device)):  # GradScaler("cuda"), as torch.amp
            init_scale = 2.0**16
        for name, v in (("init_scale", init_scale), ("growth_factor", growth_factor),
                        ("backoff_factor", backoff_factor)):  # fmt: skip
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TypeError(f"GradScaler: expected {name} to be a number, received {v!r}")
        if not init_scale > 0:
            raise ValueError(f"GradScaler: expected init_scale > 0, received {init_scale}")
        if not growth_factor > 1.0:
            raise ValueError(f"GradScaler: expected growth_factor > 1.0, received {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(
                f"GradScaler: expected 0 < backoff_factor < 1.0, received {backoff_factor}"
            )
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, int):
            raise TypeError(
                f"GradScaler: expected growth_interval to be an int, received {growth_interval!r}"
            )
        if growth_interval <= 0:
            raise ValueError(
                f"GradScaler: expected growth_interval > 0, received {growth_interval}"
            )
        self._enabled = bool(enabled)
        self._init_scale = float(np.float32(init_scale))
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = growth_interval
        self._scale = None  # set by the first scale(): a float32 value kept as a Python float
        self._growth_tracker = 0
        self._per_optimizer = {}
        self._n_steps = 0
        self.skipped_steps = 0
        self.step_skipped = False

    # -------------------------------------------------------------------- the loop
    def scale(self, outputs):
        """``outputs`` (a Tensor, or a list/tuple of them) multiplied by the scale."""
        if not self._enabled:
            return outputs
        if self._scale is None:
            self._scale = self._init_scale
        s = self._scale

        def apply(v):
            if isinstance(v, Tensor):
                return v * s
            if isinstance(v, (list, tuple)):
                return type(v)(apply(x) for x in v)
            raise TypeError(
                f"GradScaler.scale: expected a Tensor or a list/tuple of Tensors, received "
                f"{type(v).__name__}"
            )

        return apply(outputs)

    def _state(self, optimizer):
        return self._per_optimizer.setdefault(id(optimizer), {"stage": _READY, "found": None})

    def _require_scale(self, name):
        if self._scale is None:
            raise RuntimeError(
                f"GradScaler.{name}: no scale yet; call scaler.scale(loss) (and backward on "
                "it) earlier in the iteration"
            )

    def unscale_(self, optimizer) -> None:
        """Divide the gradients of ``optimizer``'s parameters by the scale, in place, and note
        whether any is inf or nan. Call it before changing gradients (clipping, say); at most
        once per optimizer between two ``update()`` calls."""
        if not self._enabled:
            return
        self._require_scale("unscale_")
        st = self._state(optimizer)
        if st["stage"] == _UNSCALED:
            raise RuntimeError(
                "GradScaler.unscale_: already called on this optimizer since the last update()"
            )
        if st["stage"] == _STEPPED:
            raise RuntimeError("GradScaler.unscale_: called after step(); call update() first")
        inv = np.float32(1.0 / np.float64(np.float32(self._scale)))
        found = None
        for group in optimizer.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if g.dtype is dtypes.float16:
                    raise ValueError(
                        "GradScaler.unscale_: the gradients are float16; keep the parameters "
                        "in float32 (autocast casts them for the forward) and let GradScaler "
                        "unscale float32 gradients"
                    )
                arr = g._data
                xp = backend.get_array_module(arr)
                with np.errstate(all="ignore"):
                    if arr.dtype.kind == "f":
                        arr *= arr.dtype.type(inv)
                    else:  # bfloat16 (ml_dtypes): through float32
                        arr[...] = (arr.astype(np.float32) * inv).astype(arr.dtype)
                bad = ~xp.isfinite(arr).all()
                found = bad if found is None else (found | bad)
                g._vc[0] += 1
        st["found"] = found if found is not None else False
        st["any_grad"] = found is not None
        st["stage"] = _UNSCALED

    def step(self, optimizer, *args, **kwargs):
        """``unscale_(optimizer)`` if not done yet, then ``optimizer.step()`` unless a gradient
        is inf or nan; then the step is skipped, with a warning. Returns what
        ``optimizer.step()`` returned (None when skipped)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError(
                "GradScaler.step: a closure is not supported while GradScaler is enabled"
            )
        self._require_scale("step")
        st = self._state(optimizer)
        if st["stage"] == _STEPPED:
            raise RuntimeError("GradScaler.step: already called since the last update()")
        if st["stage"] == _READY:
            self.unscale_(optimizer)
        if not st.get("any_grad"):
            raise RuntimeError(
                "GradScaler.step: none of the optimizer's parameters has a gradient; call "
                "backward on scaler.scale(loss) first"
            )
        self._n_steps += 1
        st["stage"] = _STEPPED
        if bool(st["found"]):
            self.step_skipped = True
            self.skipped_steps += 1
            new = float(np.float32(self._scale * self._backoff_factor))
            warnings.warn(
                f"GradScaler: skipped step {self._n_steps}: gradients overflowed (scale "
                f"{self._scale} -> {new})",
                stacklevel=2,
            )
            return None
        self.step_skipped = False
        return optimizer.step(*args, **kwargs)

    def update(self, new_scale=None) -> None:
        """Adapt the scale: back off after an overflow, grow after ``growth_interval`` good
        steps in a row; or set it to ``new_scale``. Call it once per iteration, after
        ``step``."""
        if not self._enabled:
            return
        self._require_scale("update")
        if new_scale is not None:
            value = new_scale.item() if isinstance(new_scale, Tensor) else new_scale
            self._scale = float(np.float32(value))
        else:
            checked = [st for st in self._per_optimizer.values() if st["stage"] != _READY]
            if not checked:
                raise RuntimeError(
                    "GradScaler.update: no gradients were checked since the last update(); "
                    "call scaler.step(optimizer) (or unscale_) first"
                )
            if any(bool(st["found"]) for st in checked):
                self._scale = float(np.float32(self._scale * self._backoff_factor))
                self._growth_tracker = 0
            else:
                good = self._growth_tracker + 1
                if good == self._growth_interval:
                    grown = np.float32(self._scale * self._growth_factor)
                    if np.isfinite(grown):
                        self._scale = float(grown)
                    self._growth_tracker = 0
                else:
                    self._growth_tracker = good
        self._per_optimizer = {}

    # -------------------------------------------------------------------- state
    def get_scale(self) -> float:
        """The current scale (1.0 when disabled)."""
        if not self._enabled:
            return 1.0
        return self._init_scale if self._scale is None else self._scale

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def is_enabled(self) -> bool:
        return self._enabled

    def state_dict(self) -> dict:
        """The scale and its bookkeeping, with PyTorch's keys (empty when disabled)."""
        if not self._enabled:
            return {}
        return {
            "scale": self.get_scale(),
            "growth_factor": self._growth_factor,
            "backoff_factor": self._backoff_factor,
            "growth_interval": self._growth_interval,
            "_growth_tracker": self._growth_tracker,
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict()`` returned (PyTorch's GradScaler state dicts too)."""
        if not self._enabled:
            return
        if not state_dict:
            raise RuntimeError(
                "GradScaler.load_state_dict: the state dict is empty; was it saved from a "
                "disabled GradScaler?"
            )
        missing = {"scale", "growth_factor", "backoff_factor", "growth_interval",
                   "_growth_tracker"} - set(state_dict)  # fmt: skip
        if missing:
            raise KeyError(f"GradScaler.load_state_dict: missing keys {sorted(missing)}")
        scale = state_dict["scale"]
        scale = scale.item() if isinstance(scale, Tensor) else scale
        self._init_scale = float(np.float32(scale))
        self._scale = self._init_scale
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])

    def __repr__(self):
        return (
            f"GradScaler(scale={self.get_scale()}, growth_factor={self._growth_factor}, "
            f"backoff_factor={self._backoff_factor}, growth_interval={self._growth_interval}, "
            f"enabled={self._enabled})"
        )
