"""ember.nn layers: Embedding."""

from __future__ import annotations

from ember import creation
from ember.autograd.grad_mode import no_grad
from ember.errors import EmberIndexError
from ember.nn import functional as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.modules._utils import check_tensor_input, non_negative_int, shape_of
from ember.nn.parameter import Parameter
from ember.tensor import Tensor

__all__ = ["Embedding"]


class Embedding(Module):
    """A lookup table: row ``i`` of ``weight`` (num_embeddings, embedding_dim) is the vector
    of index ``i``. Input: integer indices of any shape; output: ``input.shape +
    (embedding_dim,)``. ``weight`` is drawn from N(0, 1).

    padding_idx: that row starts at zero and gets no gradient (a negative value counts from
    the end). max_norm: rows read whose ``norm_type``-norm exceeds it are rescaled in place.
    scale_grad_by_freq: divide each row's gradient by how often its index occurs in the batch.

    Example::

        emb = nn.Embedding(10000, 128, padding_idx=0)
        vectors = emb(ember.tensor([[1, 5, 0], [7, 2, 0]]))  # (2, 3, 128)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 max_norm: float | None = None, norm_type: float = 2.0,
                 scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight: Tensor | None = None, _freeze: bool = False, device=None,
                 dtype=None) -> None:  # fmt: skip
        super().__init__()
        self.num_embeddings = non_negative_int(num_embeddings, "num_embeddings")
        self.embedding_dim = non_negative_int(embedding_dim, "embedding_dim")
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                raise ValueError(
                    f"padding_idx must be within [-{num_embeddings}, {num_embeddings - 1}] "
                    f"(num_embeddings={num_embeddings}), received padding_idx={padding_idx}"
                )
            padding_idx %= num_embeddings
        if sparse:
            raise NotImplementedError(
                "Embedding: sparse gradients are not supported; use sparse=False"
            )
        self.padding_idx = padding_idx
        self.max_norm = max_norm
        self.norm_type = norm_type
        self.scale_grad_by_freq = scale_grad_by_freq
        self.sparse = sparse
        if _weight is None:
            weight = creation.empty((num_embeddings, embedding_dim), dtype=dtype, device=device)
            self.weight = Parameter(weight, requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ValueError(
                    f"the weight must have shape (num_embeddings, embedding_dim) = "
                    f"({num_embeddings}, {embedding_dim}), received {shape_of(_weight)}"
                )
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        self._fill_padding_idx_with_zero()

    def _fill_padding_idx_with_zero(self) -> None:
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx].fill_(0)

    def forward(self, input: Tensor) -> Tensor:
        check_tensor_input(input)
        if input.dtype.name not in ("int64", "int32"):
            raise RuntimeError(
                f"expected integer indices (int64 or int32), received {input.dtype.name} with "
                f"shape {shape_of(input)}; convert them with .long()"
            )
        if input.numel():
            lo, hi = int(input.min().item()), int(input.max().item())
            if lo < 0 or hi >= self.num_embeddings:
                raise EmberIndexError(
                    f"expected indices in [0, {self.num_embeddings - 1}] (num_embeddings="
                    f"{self.num_embeddings}), received index {lo if lo < 0 else hi}"
                )
        if input.device != self.weight.device:
            raise RuntimeError(
                f"expected indices on {self.weight.device} (the device of the layer's weight), "
                f"received indices on {input.device}"
            )
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)  # fmt: skip

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq is not False:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        if self.sparse is not False:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings: Tensor, freeze: bool = True,
                        padding_idx: int | None = None, max_norm: float | None = None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False,
                        sparse: bool = False) -> Embedding:  # fmt: skip
        """An Embedding whose weight is ``embeddings`` (2-D, shared, not copied); with
        ``freeze`` it gets no gradient. The padding row is left as it is.

        Example::

            emb = nn.Embedding.from_pretrained(ember.randn(100, 16), padding_idx=0)
        """
        if not isinstance(embeddings, Tensor) or embeddings.ndim != 2:
            got = (
                shape_of(embeddings)
                if isinstance(embeddings, Tensor)
                else type(embeddings).__name__
            )
            raise ValueError(
                f"Embedding.from_pretrained: expected a 2-D tensor (num_embeddings, "
                f"embedding_dim), received {got}"
            )
        rows, cols = embeddings.shape
        return cls(rows, cols, padding_idx=padding_idx, max_norm=max_norm, norm_type=norm_type,
                   scale_grad_by_freq=scale_grad_by_freq, sparse=sparse, _weight=embeddings,
                   _freeze=freeze)  # fmt: skip
