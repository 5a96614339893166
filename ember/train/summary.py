"""``ember.summary``: a table of a model's layers, their output shapes and parameter counts.

It runs one forward pass on zeros (in eval mode, without gradients) with hooks on every
layer, as torchinfo does. ``input_shape`` includes the batch dimension, as in torchinfo
(``summary(model, (1, 3, 32, 32))``); ``batch_dim=0`` adds a batch of 1 in front of a
shape given without one (``summary(model, (3, 32, 32), batch_dim=0)``).

Each row: the layer's path in the model and its type, its output shape, and the number of
parameters it holds itself (those of its sub-layers are on their own rows; ``--`` for none).
The totals count every parameter once (shared ones too): trainable ones require grad.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ember import dtypes
from ember.autograd.grad_mode import no_grad
from ember.tensor import Tensor

__all__ = ["LayerInfo", "ModelSummary", "summary"]


@dataclass
class LayerInfo:
    """One row of the summary: a call of a layer."""

    name: str  # the layer's path ('' for the model itself)
    type: str
    depth: int
    output_shape: list | None = None
    num_params: int = 0  # the layer's own parameters (not its sub-layers')
    trainable: bool = True


@dataclass
class ModelSummary:
    """What ``summary`` returns: the rows and totals; ``str()`` gives the table."""

    layers: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    param_bytes: int = 0
    buffer_bytes: int = 0
    input_shapes: list = field(default_factory=list)

    def table(self) -> str:
        rows = []
        for r in self.layers:
            label = r.type if not r.name else f"{r.name} ({r.type})"
            shape = "--" if r.output_shape is None else _show(r.output_shape)
            count = f"{r.num_params:,}" if r.num_params else "--"
            rows.append(("  " * r.depth + label, shape, count))
        heads = ("Layer (type)", "Output shape", "Param #")
        widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
                  for i, h in enumerate(heads)]  # fmt: skip
        a, b, c = widths
        fmt = f"{{:<{a}}}  {{:<{b}}}  {{:>{c}}}"
        rule = "=" * (sum(widths) + 4)
        lines = [rule, fmt.format(*heads), rule]
        lines += [fmt.format(*row) for row in rows]
        mb = 1024 * 1024
        lines += [
            rule,
            f"Total params: {self.total_params:,}",
            f"Trainable params: {self.trainable_params:,}",
            f"Non-trainable params: {self.non_trainable_params:,}",
            f"Params size (MB): {self.param_bytes / mb:.2f}",
            f"Buffers size (MB): {self.buffer_bytes / mb:.2f}",
            rule,
        ]
        return "\n".join(lines)

    def __str__(self):
        return self.table()

    __repr__ = __str__


def _show(shape) -> str:
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return ", ".join(_show(s) for s in shape)
    return "[" + ", ".join(str(n) for n in shape) + "]"


def _shape_of(out):
    if isinstance(out, Tensor):
        return list(out.shape)
    if isinstance(out, (tuple, list)):
        shapes = [_shape_of(o) for o in out]
        shapes = [s for s in shapes if s is not None]
        return shapes or None
    return None


def summary(model, input_shape=None, dtype=None, device=None, *, batch_dim=None,
            input_data=None, verbose: int = 1) -> ModelSummary:  # fmt: skip
    """Print (with ``verbose=1``) and return a summary of ``model``'s layers.

    Args:
        model: an ``nn.Module``.
        input_shape: the shape of the input, batch dimension included (``(1, 784)``); a
            list of shapes for a model that takes several inputs.
        dtype: the input's dtype; by default that of the model's first floating-point
            parameter (float32 for a model without one). Use ``ember.int64`` for token ids.
        device: the input's device; by default the model's.
        batch_dim: insert a batch dimension of size 1 at this index of each shape.
        input_data: a Tensor (or a tuple of them) to run instead of zeros.
        verbose: 1 prints the table, 0 only returns it.

    Returns a ``ModelSummary``: ``layers`` (rows with name, type, depth, output_shape,
    num_params), ``total_params``, ``trainable_params``, ``non_trainable_params``; its
    ``str()`` is the table.

    Example::

        ember.summary(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)), (1, 4))
    """
    from ember.creation import zeros
    from ember.nn.module import Module

    if not isinstance(model, Module):
        raise TypeError(f"summary: expected an nn.Module, received {type(model).__name__}")
    params = list(model.parameters())
    if input_data is None:
        if input_shape is None:
            raise ValueError("summary: give input_shape (batch dim included) or input_data")
        shapes = _shapes(input_shape)
        if batch_dim is not None:
            shapes = [s[:batch_dim] + (1,) + s[batch_dim:] for s in shapes]
        if dtype is None:
            floats = [p.dtype for p in params if p.is_floating_point()]
            dtype = floats[0] if floats else dtypes.get_default_dtype()
        if device is None:
            device = params[0].device if params else None
        inputs = tuple(zeros(*s, dtype=dtype, device=device) for s in shapes)
    else:
        inputs = input_data if isinstance(input_data, tuple) else (input_data,)

    rows = []
    handles = []
    open_rows = {}

    def pre(module, args):
        path = paths.get(id(module), "")
        row = LayerInfo(
            name=path, type=type(module).__name__, depth=path.count(".") + 1 if path else 0,
            num_params=sum(p.numel() for p in module._parameters.values() if p is not None),
            trainable=all(p.requires_grad for p in module._parameters.values() if p is not None),
        )  # fmt: skip
        rows.append(row)
        open_rows.setdefault(id(module), []).append(row)

    def post(module, args, out):
        stack = open_rows.get(id(module))
        if stack:
            stack.pop().output_shape = _shape_of(out)

    paths = {}
    for name, m in model.named_modules():
        paths.setdefault(id(m), name)
        handles.append(m.register_forward_pre_hook(pre))
        handles.append(m.register_forward_hook(post))
    was_training = model.training
    model.eval()
    try:
        with no_grad():
            model(*inputs)
    except (TypeError, ValueError, RuntimeError) as e:
        shapes = [tuple(t.shape) for t in inputs]
        raise type(e)(f"summary: the forward pass on inputs of shape {shapes} failed: {e}") from e
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)

    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    result = ModelSummary(
        layers=rows,
        total_params=total,
        trainable_params=trainable,
        non_trainable_params=total - trainable,
        param_bytes=sum(p.numel() * p.element_size() for p in params),
        buffer_bytes=sum(b.numel() * b.element_size() for b in model.buffers()),
        input_shapes=[list(t.shape) for t in inputs],
    )
    if verbose:
        print(result.table())
    return result


def _shapes(input_shape) -> list:
    def is_shape(s):
        return isinstance(s, (tuple, list)) and all(
            isinstance(n, int) and not isinstance(n, bool) for n in s
        )

    if is_shape(input_shape):
        return [tuple(input_shape)]
    if isinstance(input_shape, (tuple, list)) and input_shape and all(map(is_shape, input_shape)):
        return [tuple(s) for s in input_shape]
    raise TypeError(
        f"summary: expected input_shape to be a tuple of ints (batch dim included) or a list "
        f"of such tuples, received {input_shape!r}"
    )
