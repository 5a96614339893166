"""Module: the base of every layer and model, as in PyTorch.

Assigning a Parameter, a Module or a registered buffer as an attribute registers it, so
``parameters()``, ``state_dict()``, ``to()`` and ``train()/eval()`` find everything, with
PyTorch's dotted names (``features.0.weight``).
"""

from __future__ import annotations

import weakref
from collections import OrderedDict, namedtuple

import numpy as np

from ember import backend, dtypes
from ember.autograd.grad_mode import no_grad
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


class _HookHandle:
    def __init__(self, hooks: dict, key):
        self._hooks, self._key = hooks, key

    def remove(self):
        self._hooks.pop(self._key, None)


class Module:
    """Base class of layers and models: subclass it, create sub-layers and Parameters in
    ``__init__`` and compute in ``forward``::

        class MLP(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc1 = nn.Linear(784, 128)
                self.fc2 = nn.Linear(128, 10)

            def forward(self, x):
                return self.fc2(self.fc1(x).relu())
    """

    _hook_id = 0

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()
        d["_forward_hooks"] = OrderedDict()
        d["_forward_pre_hooks"] = OrderedDict()
        d["_owner"] = None  # (weakref to the parent, name in it): the layer's path in errors

    # ------------------------------------------------------------- registration
    def __setattr__(self, name: str, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise RuntimeError(
                f"{type(self).__name__}: call super().__init__() before assigning attributes "
                f"(while setting {name!r})"
            )
        params, modules, buffers = d["_parameters"], d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            self._forget(name, keep="_parameters")
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name, keep="_modules")
            modules[name] = value
            value.__dict__["_owner"] = (weakref.ref(self), name)
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} to parameter "
                    f"{name!r}; expected an nn.Parameter or None"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} to submodule "
                    f"{name!r}; expected an nn.Module or None"
                )
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{type(self).__name__}: cannot assign {type(value).__name__} to buffer "
                    f"{name!r}; expected a Tensor or None"
                )
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name, keep=None):
        """Remove ``name`` from every store but ``keep``, where assigning it again keeps its
        place (and so the order of named_parameters and state_dict), as in PyTorch."""
        d = self.__dict__
        for store in ("_parameters", "_modules", "_buffers"):
            if store != keep:
                d[store].pop(name, None)
        d.pop(name, None)
        d["_non_persistent"].discard(name)

    def __getattr__(self, name: str):
        d = self.__dict__
        for store in ("_parameters", "_buffers", "_modules"):
            if store in d and name in d[store]:
                return d[store][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str):
        d = self.__dict__
        if any(name in d[s] for s in ("_parameters", "_buffers", "_modules")):
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        d = self.__dict__
        return sorted(
            set(super().__dir__()) | set(d["_parameters"]) | set(d["_buffers"]) | set(d["_modules"])
        )

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, a declared but absent parameter such as a missing bias)."""
        _check_name(self, name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: expected an nn.Parameter or None for {name!r}, received "
                f"{type(param).__name__}"
            )
        self._forget(name, keep="_parameters")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Register a tensor that is state but not a parameter (running means, say); it moves
        with ``to()`` and, if persistent, is part of ``state_dict()``."""
        _check_name(self, name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer: expected a Tensor or None for {name!r}, received "
                f"{type(tensor).__name__}"
            )
        self._forget(name, keep="_buffers")
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        _check_name(self, name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"add_module: expected an nn.Module for {name!r}, received {type(module).__name__}"
            )
        self._forget(name, keep="_modules")
        self._modules[name] = module
        if module is not None:
            module.__dict__["_owner"] = (weakref.ref(self), name)

    register_module = add_module

    # ------------------------------------------------------------- calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks:
            for hook in tuple(self._forward_pre_hooks.values()):
                r = hook(self, args)
                if r is not None:
                    args = r if isinstance(r, tuple) else (r,)
        try:
            out = self.forward(*args, **kwargs)
        except (TypeError, ValueError, RuntimeError) as e:
            raise _in_layer(e, self) from None
        if self._forward_hooks:
            for hook in tuple(self._forward_hooks.values()):
                r = hook(self, args, out)
                if r is not None:
                    out = r
        return out

    def register_forward_hook(self, hook):
        """Call ``hook(module, inputs, output)`` after each forward; a returned value replaces
        the output. Returns a handle with ``remove()``."""
        Module._hook_id += 1
        self._forward_hooks[Module._hook_id] = hook
        return _HookHandle(self._forward_hooks, Module._hook_id)

    def register_forward_pre_hook(self, hook):
        """Call ``hook(module, inputs)`` before each forward; a returned value replaces the inputs."""
        Module._hook_id += 1
        self._forward_pre_hooks[Module._hook_id] = hook
        return _HookHandle(self._forward_pre_hooks, Module._hook_id)

    def path(self) -> str:
        """This module's dotted name from the root model (``features.3``), '' for the root."""
        names, m = [], self
        while m._owner is not None:
            parent, name = m._owner[0](), m._owner[1]
            if parent is None or parent._modules.get(name) is not m:
                break
            names.append(name)
            m = parent
        return ".".join(reversed(names))

    # ------------------------------------------------------------- traversal
    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        memo = set() if memo is None else memo
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(
                    memo, f"{prefix}.{name}" if prefix else name, remove_duplicate
                )

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and id(m) not in seen:
                seen.add(id(m))
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, store, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = (
            self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
            if recurse
            else [(prefix, self)]
        )
        for mod_prefix, m in mods:
            for name, v in m.__dict__[store].items():
                if v is None or (remove_duplicate and id(v) in seen):
                    continue
                seen.add(id(v))
                yield (f"{mod_prefix}.{name}" if mod_prefix else name), v

    def named_parameters(
        self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True
    ):
        """(name, Parameter) pairs with PyTorch's dotted names; shared parameters once."""
        return self._named_members("_parameters", prefix, recurse, remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True, remove_duplicate: bool = True):
        return self._named_members("_buffers", prefix, recurse, remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def get_submodule(self, target: str) -> Module:
        m = self
        for part in target.split(".") if target else []:
            if part not in m._modules or m._modules[part] is None:
                raise AttributeError(
                    f"get_submodule: {type(m).__name__} has no submodule {part!r} (in {target!r})"
                )
            m = m._modules[part]
        return m

    def get_parameter(self, target: str) -> Parameter:
        mod, _, name = target.rpartition(".")
        m = self.get_submodule(mod)
        if name not in m._parameters:
            raise AttributeError(f"get_parameter: {type(m).__name__} has no parameter {name!r}")
        return m._parameters[name]

    # ------------------------------------------------------------- modes and state
    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active, batch norm uses batch statistics) here and below."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: expected mode to be a bool, received {mode!r}")
        self.__dict__["training"] = mode
        for m in self.children():  # through train(), so that subclasses may override it
            m.train(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode; same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters (to None, or to zeros)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad = p.grad.detach()
                p.grad._data[...] = 0

    def apply(self, fn) -> Module:
        """Call ``fn(module)`` on every submodule (children first) and on this module."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs) -> Module:
        """Move parameters and buffers to a device and/or convert the floating ones to a dtype,
        in place (the Parameter objects stay the same, so optimizers keep working)."""
        device, dtype = _to_args(args, kwargs)
        with no_grad():
            for m in self.modules():
                for store in ("_parameters", "_buffers"):
                    for t in m.__dict__[store].values():
                        if t is None:
                            continue
                        _convert(t, device, dtype)
                        if t.grad is not None:
                            _convert(t.grad, device, dtype)
        return self

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self, device=None) -> Module:
        return self.to("cuda" if device is None else device)

    def float(self) -> Module:
        return self.to(dtypes.float32)

    def double(self) -> Module:
        return self.to(dtypes.float64)

    def half(self) -> Module:
        return self.to(dtypes.float16)

    def bfloat16(self) -> Module:
        return self.to(dtypes.bfloat16)

    def state_dict(
        self, destination=None, prefix: str = "", keep_vars: bool = False
    ) -> OrderedDict:
        """Parameters and persistent buffers by dotted name, as PyTorch names them."""
        out = OrderedDict() if destination is None else destination
        for name, p in self._parameters.items():
            if p is not None:
                out[prefix + name] = p if keep_vars else p.detach()
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                out[prefix + name] = b if keep_vars else b.detach()
        for name, m in self._modules.items():
            if m is not None:
                m.state_dict(out, prefix + name + ".", keep_vars)
        return out

    def load_state_dict(self, state_dict, strict: bool = True, assign: bool = False):
        """Copy parameters and buffers from ``state_dict`` (ember Tensors, NumPy arrays, or any
        array with ``__array__`` / ``__dlpack__``, e.g. from a PyTorch model's state_dict).
        With ``strict``, missing and unexpected keys are an error; mis-shaped values always
        are. The error lists every offending key. Returns (missing_keys, unexpected_keys)."""
        if not hasattr(state_dict, "keys"):
            raise TypeError(
                f"load_state_dict: expected a dict, received {type(state_dict).__name__}"
            )
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mis_shaped = []
        for k, t in own.items():
            if k in state_dict:
                shape = tuple(getattr(state_dict[k], "shape", ()))
                if shape != tuple(t.shape):
                    mis_shaped.append(
                        f"{k}: the checkpoint has shape {shape}, the model {tuple(t.shape)}"
                    )
        problems = []
        if mis_shaped:
            problems.append("size mismatch for " + "; ".join(mis_shaped))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise RuntimeError(
                f"load_state_dict: cannot load into {type(self).__name__}: " + ". ".join(problems)
            )
        with no_grad():
            for k, t in own.items():
                if k in state_dict:
                    src = _as_array(state_dict[k], t)
                    t._data[...] = src
                    t._vc[0] += 1
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------- printing
    def extra_repr(self) -> str:
        """The configuration shown between the parentheses of the repr; layers override it."""
        return ""

    def _layer_name(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"

    def __repr__(self):
        extra = self.extra_repr()
        extra_lines = extra.split("\n") if extra else []
        child_lines = []
        for name, m in self._modules.items():
            child = repr(m).replace("\n", "\n  ")
            child_lines.append(f"({name}): {child}")
        lines = extra_lines + child_lines
        if not lines:
            return f"{type(self).__name__}()"
        if len(extra_lines) == 1 and not child_lines:  # one line, as most layers print
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    # ------------------------------------------------------------- copying
    def __getstate__(self):
        state = self.__dict__.copy()
        state["_owner"] = None  # a weak reference to the parent, which sets it again
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        for name, m in self._modules.items():
            if m is not None:
                m.__dict__["_owner"] = (weakref.ref(self), name)


def _check_name(module, name, kind):
    if not isinstance(name, str):
        raise TypeError(
            f"register_{kind}: the name must be a string, received {type(name).__name__}"
        )
    if not name or "." in name:
        raise KeyError(
            f"register_{kind}: the name must be non-empty and contain no '.', received {name!r}"
        )
    if hasattr(type(module), name):
        raise KeyError(
            f"register_{kind}: {name!r} is already an attribute of {type(module).__name__}"
        )


def _in_layer(e: Exception, layer: Module) -> Exception:
    """The same error, its message prefixed with the layer's path and configuration; inner
    layers prefix first, outer ones leave it alone."""
    if getattr(e, "_ember_layer", False):
        return e
    path = layer.path()
    where = f"{path} ({layer._layer_name()})" if path else layer._layer_name()
    try:
        new = type(e)(f"{where}: {e}")
    except Exception:  # noqa: BLE001 - an exception type with another constructor
        return e
    new._ember_layer = True
    return new.with_traceback(e.__traceback__)


def _to_args(args, kwargs):
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"Module.to: unexpected arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, (str, backend.Device)):
            device = a
        else:
            dtype = a
    device = backend.as_device(device) if device is not None else None
    dtype = dtypes.as_dtype(dtype) if dtype is not None else None
    if dtype is not None and not dtype.is_floating_point:
        raise TypeError(f"Module.to: expected a floating-point dtype, received {dtype}")
    return device, dtype


def _convert(t: Tensor, device, dtype):
    arr = t._data
    if dtype is not None and t.is_floating_point() and arr.dtype != dtype.np:
        arr = arr.astype(dtype.np)
    if device is not None:
        arr = backend.to_device(arr, device)
    if arr is not t._data:
        t._data = arr


def _as_array(value, like: Tensor):
    if isinstance(value, Tensor):
        arr = value._data
    elif backend.is_array(value):
        arr = value
    elif hasattr(value, "__dlpack__") and not hasattr(value, "requires_grad"):
        arr = backend.from_dlpack(value)
    else:  # e.g. a torch tensor: through NumPy
        src = value.detach().cpu() if hasattr(value, "detach") else value
        if hasattr(src, "dtype") and "bfloat16" in str(src.dtype):
            src = src.float()
        arr = np.asarray(src)
    arr = backend.to_device(arr, like.device)
    return arr.astype(like._data.dtype, copy=False)
