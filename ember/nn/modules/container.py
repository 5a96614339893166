"""ember.nn containers: Sequential, ModuleList, ModuleDict.

Their children are registered under string keys ("0", "1", … or the names given), which
become the middle of the state_dict keys (``features.0.weight``) and of the layer paths in
error messages, as in PyTorch.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from ember.errors import EmberIndexError
from ember.nn.module import Module
from ember.nn.modules._utils import is_int

if TYPE_CHECKING:  # typing.Self is Python 3.11+
    from typing import Self

__all__ = ["ModuleDict", "ModuleList", "Sequential"]


def _index(container: Module, idx) -> int:
    """``idx`` (possibly negative) as a position in ``container``, or an IndexError."""
    if not is_int(idx):
        raise TypeError(
            f"{type(container).__name__} indices must be integers or slices, received "
            f"{type(idx).__name__}"
        )
    n = len(container)
    if not -n <= idx < n:
        raise EmberIndexError(
            f"{type(container).__name__}: index {idx} is out of range for {n} modules"
        )
    return operator.index(idx) % n


def _renumber(container: Module, modules) -> None:
    """Register ``modules`` as the container's children "0", "1", … in that order."""
    modules = list(modules)
    container._modules.clear()
    for i, m in enumerate(modules):
        container.add_module(str(i), m)


class Sequential(Module):
    """Modules called one after the other, each on the output of the previous one.

    Give them as arguments (named "0", "1", …) or as one OrderedDict of names to modules.

    Example::

        model = nn.Sequential(
            nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10)
        )
        logits = model(ember.randn(32, 1, 28, 28))  # (32, 10)
        model[1]            # the first Linear; model[-1] the last; model[1:3] a Sequential
    """

    def __init__(self, *args) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            # PyTorch keeps the original names in a slice
            return type(self)(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(self, idx)]

    def __setitem__(self, idx, module: Module) -> None:
        key = list(self._modules)[_index(self, idx)]
        self.add_module(key, module)

    def __delitem__(self, idx) -> None:
        keys = list(self._modules)
        doomed = keys[idx] if isinstance(idx, slice) else [keys[_index(self, idx)]]
        for key in doomed:
            del self._modules[key]
        # as PyTorch does, what remains is renumbered "0", "1", … (names given are lost)
        _renumber(self, self._modules.values())

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __add__(self, other: Sequential) -> Sequential:
        if not isinstance(other, Sequential):
            raise TypeError(
                f"Sequential: can only add another Sequential, received {type(other).__name__}"
            )
        return Sequential(*self, *other)

    def __iadd__(self, other: Sequential) -> Self:
        if not isinstance(other, Sequential):
            raise TypeError(
                f"Sequential: can only add another Sequential, received {type(other).__name__}"
            )
        return self.extend(other)

    def __mul__(self, count: int) -> Sequential:
        """The modules repeated ``count`` times (the same module objects, not copies)."""
        if not is_int(count):
            raise TypeError(f"Sequential: can only multiply by an int, received {count!r}")
        if count <= 0:
            raise ValueError(f"Sequential: expected a positive count, received {count}")
        return Sequential(*(list(self) * count))

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end (named by its position); returns self."""
        self.add_module(str(len(self)), module)
        return self

    def insert(self, index: int, module: Module) -> Sequential:
        """Insert ``module`` before position ``index`` (which may be negative or len(self));
        the modules are renumbered. Returns self."""
        if not isinstance(module, Module):
            raise TypeError(
                f"Sequential.insert: expected an nn.Module, received {type(module).__name__}"
            )
        n = len(self)
        if not is_int(index) or not -n <= index <= n:
            raise EmberIndexError(
                f"Sequential.insert: index {index} is out of range for {n} modules"
            )
        modules = list(self._modules.values())
        modules.insert(index, module)
        _renumber(self, modules)
        return self

    def extend(self, sequential: Iterable[Module]) -> Sequential:
        """Append each module of ``sequential``; returns self."""
        for module in sequential:
            self.append(module)
        return self

    def pop(self, key: int | slice):
        """Remove and return the module (or Sequential of modules) at ``key``."""
        value = self[key]
        del self[key]
        return value

    def forward(self, input):
        for module in self:
            input = module(input)
        return input


class ModuleList(Module):
    """A list of modules, registered (named "0", "1", …) so that their parameters belong to
    the model; it has no forward of its own.

    Example::

        self.blocks = nn.ModuleList([nn.Linear(64, 64) for _ in range(4)])
        for block in self.blocks:
            x = block(x).relu()
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return self._modules[str(_index(self, idx))]

    def __setitem__(self, idx: int, module: Module) -> None:
        self.add_module(str(_index(self, idx)), module)

    def __delitem__(self, idx) -> None:
        modules = list(self._modules.values())
        if isinstance(idx, slice):
            del modules[idx]
        else:
            del modules[_index(self, idx)]
        _renumber(self, modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __iadd__(self, modules: Iterable[Module]) -> Self:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each module of ``modules``; returns self."""
        if not isinstance(modules, Iterable):
            raise TypeError(
                f"ModuleList.extend: expected an iterable of modules, received "
                f"{type(modules).__name__}"
            )
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before position ``index``, as ``list.insert`` does."""
        modules = list(self._modules.values())
        modules.insert(index, module)
        _renumber(self, modules)

    def pop(self, key: int | slice):
        value = self[key]
        del self[key]
        return value

    def __repr__(self) -> str:
        # PyTorch prints a run of equal children once: "(0-2): 3 x Linear(...)"
        reprs = [repr(m) for m in self]
        if not reprs:
            return f"{type(self).__name__}()"
        runs = []  # [first, last, text]
        for i, r in enumerate(reprs):
            if runs and runs[-1][2] == r:
                runs[-1][1] = i
            else:
                runs.append([i, i, r])
        lines = []
        for first, last, text in runs:
            text = text.replace("\n", "\n  ")
            if first == last:
                lines.append(f"({first}): {text}")
            else:
                lines.append(f"({first}-{last}): {last - first + 1} x {text}")
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"


class ModuleDict(Module):
    """A dict of modules, registered under their keys (in insertion order); it has no
    forward of its own.

    Example::

        self.heads = nn.ModuleDict({"class": nn.Linear(64, 10), "box": nn.Linear(64, 4)})
        out = {name: head(features) for name, head in self.heads.items()}
    """

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(key)
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        if key not in self._modules:
            raise KeyError(key)
        del self._modules[key]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key) -> bool:
        return key in self._modules

    def clear(self) -> None:
        self._modules.clear()

    def pop(self, key: str) -> Module:
        value = self[key]
        del self[key]
        return value

    def keys(self):
        return self._modules.keys()

    def items(self):
        return self._modules.items()

    def values(self):
        return self._modules.values()

    def update(self, modules) -> None:
        """Add the (key, module) pairs of a mapping, or of an iterable of pairs, in order."""
        if isinstance(modules, (Mapping, ModuleDict)):
            for key, module in modules.items():
                self[key] = module
            return
        if not isinstance(modules, Iterable):
            raise TypeError(
                f"ModuleDict.update: expected a mapping or an iterable of (key, module) pairs, "
                f"received {type(modules).__name__}"
            )
        for i, pair in enumerate(modules):
            if not isinstance(pair, Iterable) or isinstance(pair, (str, Module)) or len(pair) != 2:
                raise ValueError(
                    f"ModuleDict.update: element {i} of the sequence should be a (key, module) "
                    f"pair, received {pair!r}"
                )
            self[pair[0]] = pair[1]
