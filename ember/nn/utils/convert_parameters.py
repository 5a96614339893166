"""Between a model's parameters and one flat vector: ``parameters_to_vector`` and
``vector_to_parameters``, as in PyTorch."""

from __future__ import annotations

from ember.ops.shape import cat
from ember.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _check(params, op: str) -> list:
    if isinstance(params, Tensor):
        raise TypeError(
            f"{op}: expected an iterable of Tensors (e.g. model.parameters()), received a "
            "single Tensor; wrap it in a list"
        )
    params = list(params)
    device = None
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(
                f"{op}: expected Tensors, but one of the parameters is a {type(p).__name__}"
            )
        if device is None:
            device = p.device
        elif p.device != device:
            raise TypeError(
                f"{op}: Found two parameters on different devices ({device} and {p.device}), "
                "this is currently not supported."
            )
    return params


def parameters_to_vector(parameters) -> Tensor:
    """All the parameters flattened and joined into one 1-D tensor (differentiable).

    Example: ``vec = parameters_to_vector(model.parameters())`` has ``sum(p.numel())``
    elements.
    """
    params = _check(parameters, "parameters_to_vector")
    if not params:
        raise ValueError("parameters_to_vector: expected at least one parameter, received none")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy slices of the 1-D tensor ``vec`` into the parameters' data, in order (the
    inverse of ``parameters_to_vector``); not recorded by autograd.

    Example: ``vector_to_parameters(vec, model.parameters())``
    """
    op = "vector_to_parameters"
    if not isinstance(vec, Tensor):
        raise TypeError(f"{op}: expected a Tensor, but got: {type(vec).__name__}")
    params = _check(parameters, op)
    total = sum(p.numel() for p in params)
    if vec.ndim != 1 or vec.numel() != total:
        raise ValueError(
            f"{op}: expected a 1-D tensor of {total} elements (the parameters' total), "
            f"received shape {tuple(vec.shape)}"
        )
    flat = vec.detach()
    start = 0
    for p in params:
        n = p.numel()
        p.data = flat[start : start + n].reshape(p.shape)
        start += n
