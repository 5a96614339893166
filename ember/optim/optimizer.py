"""Optimizer: the base class of ember's optimizers, with PyTorch's ``param_groups``,
per-parameter ``state`` and ``state_dict`` layout.

An optimizer holds a list of parameter groups, each a dict with the group's ``"params"``
and its own copy of every option (``"lr"``, ``"momentum"`` …, filled in from the
optimizer's defaults). ``state[p]`` holds what the optimizer keeps for parameter ``p``
between steps (``"step"``, ``"momentum_buffer"``, ``"exp_avg"`` … with PyTorch's names).

A subclass gives its defaults to ``Optimizer.__init__``, checks its options in
``_check_options(group)`` and updates one parameter in ``_update(x, g, state, group)``,
where ``x`` and ``g`` are the raw arrays of the parameter and its gradient: the update is
plain in-place array arithmetic, done without recording a graph.
"""

from __future__ import annotations

import copy
import itertools
import numbers
import warnings
from collections import defaultdict

import numpy as np

from ember import backend
from ember.autograd.grad_mode import enable_grad, no_grad
from ember.tensor import Tensor

__all__ = ["Optimizer", "required"]


class _Required:
    """The default of an option that every parameter group must set itself."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


class Optimizer:
    """Base class of all optimizers.

    Args:
        params: an iterable of Tensors, of ``(name, Tensor)`` pairs (as given by
            ``model.named_parameters()``), or of dicts, each a parameter group
            ``{"params": [...], "lr": ..., ...}`` with options of its own.
        defaults: the options (``lr`` …) of groups that do not set them.

    Example::

        opt = ember.optim.SGD(
            [{"params": model.body.parameters()}, {"params": model.head.parameters(), "lr": 1e-3}],
            lr=1e-2, momentum=0.9,
        )
        loss.backward(); opt.step(); opt.zero_grad()
    """

    def __init__(self, params, defaults: dict):
        name = type(self).__name__
        self.defaults = defaults
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{name}: params argument given to the optimizer should be an iterable of "
                f"Tensors or dicts, but got a Tensor of shape {tuple(params.shape)}; pass "
                "[tensor] or model.parameters()"
            )
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(
                f"{name}: params argument given to the optimizer should be an iterable of "
                f"Tensors or dicts, but got {type(params).__name__}"
            ) from None
        if not groups:
            raise ValueError(f"{name}: optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters, with options of its own (the optimizer's defaults
        fill in the rest): e.g. to train layers that were frozen until now."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}: param_group must be a dict, but got {type(param_group)}")
        if "params" not in param_group:
            raise ValueError(f"{name}: param_group must have a 'params' entry")
        params = param_group["params"]
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: optimizer parameters need to be organized in ordered collections, "
                "but the ordering of tensors in sets will change between runs. Please use a "
                "list instead."
            )
        else:
            params = list(params)
        tensors, names = [], []
        for p in params:
            if isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str):
                names.append(p[0])
                p = p[1]
            tensors.append(p)
        if names and len(names) != len(tensors):
            raise ValueError(
                f"{name}: all optimizer params should be with/without names. Some param names "
                "are missing"
            )
        for p in tensors:
            if not isinstance(p, Tensor):
                raise TypeError(
                    f"{name}: optimizer can only optimize Tensors, but one of the params is "
                    f"{type(p).__name__}"
                )
            if not (p.is_leaf or p._retains_grad):
                raise ValueError(
                    f"{name}: can't optimize a non-leaf Tensor (one computed by ops); optimize "
                    "the leaves it was computed from, or .detach() it and set requires_grad"
                )
        param_group["params"] = tensors
        if names:
            param_group["param_names"] = names
        for key, default in self.defaults.items():
            if default is required and key not in param_group:
                raise ValueError(
                    f"{name}: parameter group didn't specify a value of required optimization "
                    f"parameter {key}"
                )
            param_group.setdefault(key, default)
        self._check_options(param_group)

        ids = [id(p) for p in tensors]
        if len(set(ids)) != len(ids):
            warnings.warn(
                f"{name}: optimizer contains a parameter group with duplicate parameters",
                stacklevel=3,
            )
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for g in self.param_groups:
            if ("param_names" in g) != ("param_names" in param_group):
                with_names = "with names" if "param_names" in param_group else "without names"
                raise ValueError(
                    f"{name}: all optimizer param groups should be with/without names. cannot "
                    f"add param group {with_names} to the optimizer"
                )
        if not seen.isdisjoint(ids):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)
        self._init_state(param_group)

    def _check_options(self, group: dict) -> None:
        """Raise ValueError for an option out of range (subclasses)."""

    def _init_state(self, group: dict) -> None:
        """Create the state of a new group's parameters, for optimizers that do so eagerly."""

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized parameters: to None (the default), or to
        zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if g.grad_fn is not None:
                    g.detach_()
                else:
                    g._requires_grad = False
                g._data.fill(0)
                g._vc[0] += 1

    def step(self, closure=None):
        """Update every parameter that has a gradient (those whose ``.grad`` is None are
        skipped).

        Args:
            closure: optional; a function that clears the gradients, computes the loss,
                calls ``backward`` and returns the loss. It runs first, with gradients
                enabled, and its loss is returned.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        name = type(self).__name__
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    g = p.grad
                    if g is None:
                        continue
                    if g._data.shape != p._data.shape:
                        raise RuntimeError(
                            f"{name}.step: a parameter of shape {tuple(p.shape)} has a "
                            f"gradient of shape {tuple(g.shape)}; they must be equal"
                        )
                    state = self.state.get(p)
                    if state is None:
                        state = {}
                    self._update(p._data, g._data, state, group)
                    if state:  # as PyTorch: no entry for a parameter without state
                        self.state[p] = state
                    p._vc[0] += 1
        return loss

    def _update(self, x, g, state: dict, group: dict) -> None:
        """Update parameter array ``x`` in place from its gradient array ``g`` (subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # ------------------------------------------------------------------ state dict
    def state_dict(self) -> dict:
        """The optimizer's state as a dict, in PyTorch's layout::

            {"state": {"0": {"step": 3.0, "exp_avg": Tensor, ...}, ...},
             "param_groups": [{"lr": 0.01, ..., "params": [0, 1, 2]}, ...]}

        Parameters are numbered in the order of the groups; ``state`` holds the ones that
        have state. It holds the optimizer's own tensors (not copies), and only tensors,
        numbers, strings, tuples, lists and dicts, so ``ember.save`` can write it.

        The state's keys are the parameter indices as strings (``"0"``, ``"1"`` …), since
        ``ember.save`` stores dicts with string keys only; ``load_state_dict`` accepts
        integer keys too, so a PyTorch optimizer's state dict loads as well.
        """
        index: dict[int, int] = {}
        start = 0
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start):
                index.setdefault(id(p), i)
            packed["params"] = [index[id(p)] for p in group["params"]]
            start += len(packed["params"])
            groups.append(packed)
        state = {
            (_state_key(index[id(k)]) if isinstance(k, Tensor) else k): v
            for k, v in self.state.items()
            if not isinstance(k, Tensor) or id(k) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the state saved by ``state_dict()`` (also after ``ember.save`` and
        ``ember.load``), so that training goes on exactly where it stopped. The parameters
        are matched by position: the optimizer must have the same groups, of the same
        sizes. Tensors in the state are copied to each parameter's device (and dtype)."""
        name = type(self).__name__
        if (
            not isinstance(state_dict, dict)
            or not isinstance(state_dict.get("state"), dict)
            or not isinstance(state_dict.get("param_groups"), (list, tuple))
        ):
            got = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__
            raise TypeError(
                f"{name}.load_state_dict: expected a dict with 'state' (a dict) and "
                f"'param_groups' (a list), as optimizer.state_dict() returns; received {got}"
            )
        groups = self.param_groups
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        if len(groups) != len(saved_groups):
            raise ValueError(
                f"{name}.load_state_dict: loaded state dict has a different number of "
                f"parameter groups: {len(saved_groups)}, but the optimizer has {len(groups)}"
            )
        for i, (g, s) in enumerate(zip(groups, saved_groups)):
            if len(g["params"]) != len(s["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: loaded state dict contains a parameter group "
                    f"that doesn't match the size of optimizer's group: group {i} has "
                    f"{len(s['params'])} parameters in the state dict and "
                    f"{len(g['params'])} in the optimizer"
                )
        by_index = {
            _index(i): p
            for i, p in zip(
                itertools.chain.from_iterable(s["params"] for s in saved_groups),
                itertools.chain.from_iterable(g["params"] for g in groups),
            )
        }
        state: defaultdict = defaultdict(dict)
        for key, value in state_dict["state"].items():
            p = by_index.get(_index(key))
            if p is None:
                state[key] = value
                continue
            if not isinstance(value, dict):
                raise TypeError(
                    f"{name}.load_state_dict: the state of parameter {key} must be a dict, "
                    f"received {type(value).__name__}"
                )
            state[p] = {k: _state_value(name, key, k, v, p) for k, v in value.items()}
        for g, s in zip(groups, saved_groups):
            s["params"] = g["params"]
            if "param_names" in g and "param_names" not in s:
                s["param_names"] = g["param_names"]
            for k, v in self.defaults.items():
                s.setdefault(k, v)
        self.state = state
        self.param_groups = saved_groups

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {group[k]}" for k in sorted(group) if k != "params"]
        return "\n".join(lines) + "\n)"


def _state_key(i: int) -> str:
    return str(i)


def _index(key):
    """A parameter's index from a state-dict key: an int, or an int written as a string."""
    if isinstance(key, str) and key.isdigit():
        return int(key)
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        return int(key)
    return key


def _state_value(opt: str, index, key, value, p: Tensor):
    """A loaded state entry for parameter ``p``: tensors become ember tensors of its device
    (and dtype, when floating) with memory of their own; 'step' becomes a Python number."""
    if key == "step":
        return float(value.item() if hasattr(value, "item") else value)
    if isinstance(value, dict):
        return {k: _state_value(opt, index, k, v, p) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_state_value(opt, index, None, v, p) for v in value)
    if not (isinstance(value, Tensor) or backend.is_array(value) or hasattr(value, "detach")):
        return value
    if isinstance(value, Tensor):
        arr = value._data
    elif backend.is_array(value):
        arr = value
    else:  # e.g. a torch tensor
        arr = np.asarray(value.detach().cpu())
    if arr.ndim and arr.shape != p._data.shape:
        raise ValueError(
            f"{opt}.load_state_dict: the state '{key}' of parameter {index} has shape "
            f"{tuple(arr.shape)}, but the parameter has shape {tuple(p.shape)}"
        )
    arr = backend.to_device(arr, p.device)
    if p.is_floating_point() and arr.dtype.kind in "fV":
        arr = arr.astype(p._data.dtype, copy=False)
    xp = backend.get_array_module(arr)
    return Tensor._make(xp.array(arr, copy=True))


# ---------------------------------------------------------------------- update helpers
def _effective_grad(x, g, weight_decay: float, maximize: bool, xp):
    """``(-g if maximize else g) + weight_decay * x``, as a new array unless it is ``g``
    itself (the caller must then not change it: it is the parameter's ``.grad``)."""
    if weight_decay == 0:
        return xp.negative(g) if maximize else g
    d = xp.multiply(x, weight_decay)
    if maximize:
        d -= g
    else:
        d += g
    return d


def _lerp_(a, b, weight: float, xp) -> None:
    """``a += weight * (b - a)`` in place, in the form torch.lerp uses for this weight."""
    t = xp.subtract(b, a)
    if abs(weight) < 0.5:
        t *= weight
        a += t
    else:
        t *= 1 - weight
        xp.subtract(b, t, out=a)


def _zeros_state(x) -> Tensor:
    return Tensor._make(backend.get_array_module(x).zeros_like(x))


def _check_nonnegative(opt: str, what: str, value, label: str | None = None) -> None:
    _check_number(opt, what, value)
    if not 0.0 <= value:
        raise ValueError(
            f"{opt}: Invalid {label or what + ' value'}: {value} (expected {what} >= 0)"
        )


def _check_number(opt: str, what: str, value) -> None:
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{opt}: expected {what} to be a number, received {value!r}")
