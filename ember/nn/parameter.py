"""Parameter: a tensor that a Module registers as one of its learnable weights."""

from __future__ import annotations

from ember.tensor import Tensor


class Parameter(Tensor):
    """A leaf tensor that requires grad (by default) and that a Module registers when it is
    assigned as an attribute: ``self.weight = nn.Parameter(ember.randn(3, 4))``.
    It shares memory with the tensor it is made from."""

    __slots__ = ()

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True):
        if data is None:
            from ember.creation import empty

            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter: expected a Tensor, received {type(data).__name__}")
        Tensor._init(self, data._data, False, None, 0)
        self._vc = data._vc
        if requires_grad:
            self.requires_grad = True

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    __str__ = __repr__

    def __deepcopy__(self, memo):
        # as PyTorch: a new Parameter with a copy of the data (not of .grad)
        if id(self) not in memo:
            memo[id(self)] = type(self)(self.detach().clone(), self.requires_grad)
        return memo[id(self)]

    def __reduce_ex__(self, proto):
        raise TypeError("Parameter: ember does not pickle tensors; use ember.save")
