"""ember.nn layers: multi-head attention and the Transformer's encoder and decoder.

Parameter names, shapes, initialisation, masks and return values are PyTorch's, so state
dicts move between the two unchanged. As in PyTorch, a bool mask marks with True the
positions that may *not* be attended (the opposite of ``F.scaled_dot_product_attention``'s
bool mask); a float mask is added to the attention scores.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings

from ember import creation, dtypes
from ember.nn import functional as F
from ember.nn import init
from ember.nn.module import Module
from ember.nn.modules._utils import check_like, check_tensor_input, positive_int, shape_of
from ember.nn.modules.container import ModuleList
from ember.nn.modules.dropout import Dropout
from ember.nn.modules.linear import Linear
from ember.nn.modules.normalization import LayerNorm
from ember.nn.parameter import Parameter
from ember.ops.linalg import matmul
from ember.ops.shape import cat
from ember.tensor import Tensor

__all__ = [
    "MultiheadAttention",
    "Transformer",
    "TransformerDecoder",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerEncoderLayer",
]


class NonDynamicallyQuantizableLinear(Linear):
    """The output projection of MultiheadAttention: a Linear under PyTorch's class name, so
    that the two print alike."""


# ---------------------------------------------------------------- masks
def _float_mask(mask, name: str, dtype) -> Tensor | None:
    """A bool mask (True = masked) as a float mask of ``dtype`` with -inf where it is True;
    a float mask as it is (it may carry a gradient, as in PyTorch)."""
    if mask is None:
        return None
    check_tensor_input(mask, name)
    if mask.dtype is dtypes.bool_:
        zeros = creation.zeros(*mask.shape, dtype=dtype, device=mask.device)
        return zeros.masked_fill(mask, float("-inf"))
    if not mask.is_floating_point():
        raise RuntimeError(
            f"expected {name} of dtype bool or floating point, received {mask.dtype.name}"
        )
    if mask.dtype is not dtype:
        raise RuntimeError(
            f"expected a float {name} of the query's dtype {dtype.name} (or a bool mask), "
            f"received {mask.dtype.name}"
        )
    return mask


def _warn_mixed(mask, other, name, other_name):
    if mask is not None and other is not None and mask.dtype is not other.dtype:
        warnings.warn(
            f"{name} ({mask.dtype.name}) and {other_name} ({other.dtype.name}) have different "
            "dtypes; PyTorch deprecates this: use the same type for both",
            stacklevel=4,
        )


def _causal_mask(size: int, dtype=None, device=None) -> Tensor:
    return creation.full((size, size), float("-inf"), dtype=dtype, device=device).triu(1)


def _seq_len(name: str, src, batch_first: bool) -> int:
    check_tensor_input(src, name)
    if src.ndim not in (2, 3):
        raise RuntimeError(
            f"expected {name} of 3 dims (batched) or 2 dims (unbatched), received shape "
            f"{shape_of(src)}"
        )
    return src.shape[0] if src.ndim == 2 else src.shape[1 if batch_first else 0]


def _detect_is_causal(mask, is_causal, size) -> bool:
    """``is_causal`` if given; else whether ``mask`` is the causal mask of ``size``."""
    if is_causal is not None or mask is None:
        return bool(is_causal)
    if tuple(mask.shape) != (size, size):
        return False
    mask = _float_mask(mask, "mask", mask.dtype if mask.is_floating_point() else dtypes.float32)
    return bool((mask == _causal_mask(size, mask.dtype, mask.device)).all())


# ---------------------------------------------------------------- multi-head attention
class MultiheadAttention(Module):
    """Attention of ``num_heads`` heads over learned projections of query, key and value:
    ``out_proj(concat_h(softmax(q_h k_h^T / sqrt(head_dim) + mask) v_h))``.

    Args: embed_dim, num_heads (must divide embed_dim), dropout=0.0 (on the attention
    weights, in training), bias=True, add_bias_kv=False (learned bias_k, bias_v appended to
    the keys and values), add_zero_attn=False (a zero key and value appended), kdim, vdim
    (sizes of key and value; default embed_dim), batch_first=False.

    Shapes: query (L, N, E) ((N, L, E) with batch_first; (L, E) unbatched), key (S, N, kdim),
    value (S, N, vdim); key_padding_mask (N, S), True or -inf where a key is padding;
    attn_mask (L, S) or (N * num_heads, L, S), bool (True = may not attend) or float (added).
    Returns (attn_output (L, N, E), attn_weights (N, L, S) averaged over the heads, or
    (N, num_heads, L, S) with average_attn_weights=False, or None with need_weights=False).

    Example::

        mha = nn.MultiheadAttention(64, 8, batch_first=True)
        out, weights = mha(x, x, x)  # x: (N, L, 64) -> (N, L, 64), (N, L, L)
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        positive_int(embed_dim, "embed_dim")
        positive_int(num_heads, "num_heads")
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim must be divisible by num_heads, received "
                f"embed_dim={embed_dim}, num_heads={num_heads}"
            )
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, numbers.Real)
            or not (0 <= dropout <= 1)
        ):
            raise ValueError(
                f"MultiheadAttention: dropout must be a probability in [0, 1], received {dropout!r}"
            )
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        positive_int(self.kdim, "kdim")
        positive_int(self.vdim, "vdim")
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads

        def param(*shape):
            return Parameter(creation.empty(*shape, dtype=dtype, device=device))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = param(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = param(embed_dim, embed_dim)
            self.k_proj_weight = param(embed_dim, self.kdim)
            self.v_proj_weight = param(embed_dim, self.vdim)
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = param(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(
            embed_dim, embed_dim, bias=bias, device=device, dtype=dtype
        )
        if add_bias_kv:
            self.bias_k, self.bias_v = param(1, 1, embed_dim), param(1, 1, embed_dim)
        else:
            self.register_parameter("bias_k", None)
            self.register_parameter("bias_v", None)
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # PyTorch's: Xavier-uniform projections, zero biases, Xavier-normal bias_k/bias_v;
        # out_proj.weight keeps Linear's default.
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _layer_name(self) -> str:
        # PyTorch's repr shows no configuration; errors are clearer with it.
        return f"MultiheadAttention(embed_dim={self.embed_dim}, num_heads={self.num_heads})"

    # ------------------------------------------------------------- checks
    def _check(self, query, key, value, key_padding_mask, attn_mask):
        for name, t in (("query", query), ("key", key), ("value", value)):
            check_tensor_input(t, name)
        if query.ndim not in (2, 3):
            raise RuntimeError(
                f"expected query of 3 dims (batched) or 2 dims (unbatched), received shape "
                f"{shape_of(query)}"
            )
        batched = query.ndim == 3
        if key.ndim != query.ndim or value.ndim != query.ndim:
            raise RuntimeError(
                f"expected key and value of {query.ndim} dims like the query of shape "
                f"{shape_of(query)}, received shapes {shape_of(key)} and {shape_of(value)}"
            )
        for name, t, size, what in (
            ("query", query, self.embed_dim, "embed_dim"),
            ("key", key, self.kdim, "kdim"),
            ("value", value, self.vdim, "vdim"),
        ):
            if t.shape[-1] != size:
                raise RuntimeError(
                    f"expected {name} of size {size} in its last dimension ({what}), received "
                    f"shape {shape_of(t)}"
                )
            check_like(t, self.out_proj.weight)
        if shape_of(key)[:-1] != shape_of(value)[:-1]:
            raise RuntimeError(
                f"expected key and value with the same sequence length and batch size, received "
                f"shapes {shape_of(key)} and {shape_of(value)}"
            )
        if batched:
            b = 0 if self.batch_first else 1
            if key.shape[b] != query.shape[b]:
                raise RuntimeError(
                    f"expected query and key with the same batch size (dim {b}), received shapes "
                    f"{shape_of(query)} and {shape_of(key)}"
                )
        if key_padding_mask is not None:
            check_tensor_input(key_padding_mask, "key_padding_mask")
            n = query.shape[0 if self.batch_first else 1] if batched else None
            s = key.shape[1 if self.batch_first else 0] if batched else key.shape[0]
            want = (n, s) if batched else (s,)
            if shape_of(key_padding_mask) != want:
                raise RuntimeError(
                    f"expected key_padding_mask of shape {want} ({'N, S' if batched else 'S'}), "
                    f"received {shape_of(key_padding_mask)}"
                )
        if attn_mask is not None:
            check_tensor_input(attn_mask, "attn_mask")
            if batched:
                n = query.shape[0 if self.batch_first else 1]
                length = query.shape[1 if self.batch_first else 0]
                s = key.shape[1 if self.batch_first else 0]
            else:
                n, length, s = 1, query.shape[0], key.shape[0]
            ok = ((length, s), (n * self.num_heads, length, s))
            if shape_of(attn_mask) not in ok:
                raise RuntimeError(
                    f"expected attn_mask of shape {ok[0]} (L, S) or {ok[1]} "
                    f"(N * num_heads, L, S), received {shape_of(attn_mask)}"
                )
        return batched

    # ------------------------------------------------------------- forward
    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple:
        """Returns (attn_output, attn_weights or None); see the class docstring for shapes.
        is_causal is a hint that attn_mask is the causal mask (it still must be given)."""
        batched = self._check(query, key, value, key_padding_mask, attn_mask)
        _warn_mixed(key_padding_mask, attn_mask, "key_padding_mask", "attn_mask")
        kpm = _float_mask(key_padding_mask, "key_padding_mask", query.dtype)
        if is_causal and attn_mask is None:
            raise RuntimeError(
                "is_causal=True is a hint that attn_mask is the causal mask, which must be "
                "given too (Transformer.generate_square_subsequent_mask(L) makes it)"
            )
        if is_causal and kpm is None and not need_weights:
            mask = None  # scaled_dot_product_attention's own causal mask serves
        else:
            mask = _float_mask(attn_mask, "attn_mask", query.dtype)
            is_causal = False

        self_attn, kv_same = query is key and key is value, key is value
        # Work time-major (L, N, E), as PyTorch does, so (N * num_heads) is one batch dim.
        if not batched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            kpm = kpm.unsqueeze(0) if kpm is not None else None
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        q, k, v = self._project(query, key, value, self_attn, kv_same)

        length, n, e = query.shape
        h, hd = self.num_heads, self.head_dim
        if mask is not None and mask.ndim == 2:
            mask = mask.unsqueeze(0)
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(1, n, e)])
            v = cat([v, self.bias_v.expand(1, n, e)])
            mask, kpm = _pad_last(mask), _pad_last(kpm)
        q = q.reshape(length, n * h, hd).transpose(0, 1)
        k = k.reshape(k.shape[0], n * h, hd).transpose(0, 1)
        v = v.reshape(v.shape[0], n * h, hd).transpose(0, 1)
        if self.add_zero_attn:
            zeros = creation.zeros(n * h, 1, hd, dtype=k.dtype, device=k.device)
            k, v = cat([k, zeros], 1), cat([v, zeros], 1)
            mask, kpm = _pad_last(mask), _pad_last(kpm)
        s = k.shape[1]
        if kpm is not None:
            kpm = kpm.reshape(n, 1, 1, s).expand(n, h, 1, s).reshape(n * h, 1, s)
            mask = kpm if mask is None else mask + kpm
        p = self.dropout if self.training else 0.0

        if need_weights:
            scores = matmul(q * math.sqrt(1.0 / hd), k.transpose(1, 2))
            if mask is not None:
                scores = scores + mask
            weights = F.softmax(scores, -1)
            if p > 0:
                weights = F.dropout(weights, p)
            out = matmul(weights, v).transpose(0, 1).reshape(length * n, e)
            weights = weights.reshape(n, h, length, s)
            if average_attn_weights:
                weights = weights.mean(1)
        else:
            if mask is not None:
                mask = mask.unsqueeze(0) if mask.shape[0] == 1 else mask.reshape(n, h, -1, s)
            q, k, v = (t.reshape(n, h, -1, hd) for t in (q, k, v))
            out = F.scaled_dot_product_attention(q, k, v, mask, p, is_causal)
            out = out.permute(2, 0, 1, 3).reshape(length * n, e)
            weights = None
        out = F.linear(out, self.out_proj.weight, self.out_proj.bias).reshape(length, n, e)
        if not batched:
            out = out.squeeze(1)
            weights = weights.squeeze(0) if weights is not None else None
        elif self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _project(self, query, key, value, self_attn, kv_same):
        e, b = self.embed_dim, self.in_proj_bias

        def rows(t, i, j):  # rows i*e:j*e of the packed weight or bias
            return None if t is None else t[i * e : j * e]

        if not self._qkv_same_embed_dim:
            return (
                F.linear(query, self.q_proj_weight, rows(b, 0, 1)),
                F.linear(key, self.k_proj_weight, rows(b, 1, 2)),
                F.linear(value, self.v_proj_weight, rows(b, 2, 3)),
            )
        w = self.in_proj_weight
        if self_attn:  # one product for all three
            return F.linear(query, w, b).split(e, -1)
        q = F.linear(query, rows(w, 0, 1), rows(b, 0, 1))
        if kv_same:  # encoder-decoder attention: one product for key and value
            k, v = F.linear(key, rows(w, 1, 3), rows(b, 1, 3)).split(e, -1)
            return q, k, v
        return (
            q,
            F.linear(key, rows(w, 1, 2), rows(b, 1, 2)),
            F.linear(value, rows(w, 2, 3), rows(b, 2, 3)),
        )


def _pad_last(mask):
    """One more (unmasked) key position for a mask, if there is one."""
    return None if mask is None else F.pad(mask, (0, 1))


# ---------------------------------------------------------------- encoder and decoder
def _activation(layer: str, activation):
    """PyTorch's activation argument: 'relu', 'gelu' or a callable (a function or a Module)."""
    named = {"relu": F.relu, "gelu": F.gelu}
    if isinstance(activation, str) and activation in named:
        return named[activation]
    if callable(activation) and not isinstance(activation, str):
        return activation
    raise ValueError(
        f"{layer}: activation must be 'relu', 'gelu' or a callable, received {activation!r}"
    )


def _check_src(name: str, x, d_model: int) -> None:
    check_tensor_input(x, name)
    if x.ndim not in (2, 3) or x.shape[-1] != d_model:
        raise RuntimeError(
            f"expected {name} of 3 dims (batched) or 2 dims (unbatched) with size {d_model} "
            f"in the last (d_model), received shape {shape_of(x)}"
        )


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward block, each with a residual connection and layer
    norm: ``x = norm1(x + sa(x)); x = norm2(x + ff(x))``, or with ``norm_first``
    ``x = x + sa(norm1(x)); x = x + ff(norm2(x))``; ff is
    ``linear2(dropout(activation(linear1(x))))``.

    Args: d_model, nhead, dim_feedforward=2048, dropout=0.1, activation='relu' ('gelu' or a
    callable), layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True.
    Shapes: src (S, N, E) ((N, S, E) with batch_first; (S, E) unbatched); src_mask (S, S)
    or (N * nhead, S, S); src_key_padding_mask (N, S). Returns the same shape as src.

    Example::

        layer = nn.TransformerEncoderLayer(d_model=64, nhead=4, batch_first=True)
        y = layer(ember.randn(8, 10, 64))
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation("TransformerEncoderLayer", activation)

    def forward(
        self,
        src: Tensor,
        src_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool = False,
    ) -> Tensor:
        _check_src("src", src, self.self_attn.embed_dim)
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerDecoderLayer(Module):
    """Self-attention over the target, attention to the encoder's output (``memory``, by
    ``multihead_attn``) and a feed-forward block, each with a residual connection and layer
    norm (norm1, norm2, norm3; before each block with ``norm_first``).

    Args as TransformerEncoderLayer. Shapes: tgt (T, N, E), memory (S, N, E) (batch first
    with batch_first; unbatched (T, E), (S, E)); tgt_mask (T, T), memory_mask (T, S);
    tgt_key_padding_mask (N, T), memory_key_padding_mask (N, S). Returns tgt's shape.

    Example::

        layer = nn.TransformerDecoderLayer(d_model=64, nhead=4)
        y = layer(tgt, memory)  # tgt: (T, N, 64), memory: (S, N, 64)
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **kw
        )
        self.multihead_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first, bias=bias, **kw
        )
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation("TransformerDecoderLayer", activation)

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool = False,
        memory_is_causal: bool = False,
    ) -> Tensor:
        d_model = self.self_attn.embed_dim
        _check_src("tgt", tgt, d_model)
        _check_src("memory", memory, d_model)
        x = tgt
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), tgt_mask, tgt_key_padding_mask, tgt_is_causal)
            x = x + self._mha_block(
                self.norm2(x), memory, memory_mask, memory_key_padding_mask, memory_is_causal
            )
            x = x + self._ff_block(self.norm3(x))
        else:
            x = self.norm1(x + self._sa_block(x, tgt_mask, tgt_key_padding_mask, tgt_is_causal))
            x = self.norm2(
                x
                + self._mha_block(x, memory, memory_mask, memory_key_padding_mask, memory_is_causal)
            )
            x = self.norm3(x + self._ff_block(x))
        return x

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(
            x,
            x,
            x,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout1(x)

    def _mha_block(self, x, mem, attn_mask, key_padding_mask, is_causal):
        x = self.multihead_attn(
            x,
            mem,
            mem,
            attn_mask=attn_mask,
            key_padding_mask=key_padding_mask,
            is_causal=is_causal,
            need_weights=False,
        )[0]
        return self.dropout2(x)

    def _ff_block(self, x):
        return self.dropout3(self.linear2(self.dropout(self.activation(self.linear1(x)))))


def _clones(layer: Module, num_layers: int, owner: str) -> ModuleList:
    if not isinstance(layer, Module):
        raise TypeError(
            f"{owner}: expected a layer (an nn.Module), received {type(layer).__name__}"
        )
    positive_int(num_layers, "num_layers")
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (deep copies: each has its own
    parameters, in ``layers``), followed by ``norm`` if given.

    enable_nested_tensor and mask_check are accepted for PyTorch's signature; ember has no
    nested tensors, so padded positions of the output hold computed values (PyTorch's fast
    path, taken in inference without gradients, fills them with 0).

    Example::

        layer = nn.TransformerEncoderLayer(d_model=64, nhead=4)
        encoder = nn.TransformerEncoder(layer, num_layers=6)
        y = encoder(ember.randn(10, 8, 64))
    """

    def __init__(
        self,
        encoder_layer: Module,
        num_layers: int,
        norm: Module | None = None,
        enable_nested_tensor: bool = True,
        mask_check: bool = True,
    ) -> None:
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(
        self,
        src: Tensor,
        mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        is_causal: bool | None = None,
    ) -> Tensor:
        """src (S, N, E) (or batch first, or (S, E)); mask (S, S); src_key_padding_mask (N, S).
        is_causal: a hint that mask is causal; None looks at the mask."""
        first = self.layers[0]
        batch_first = first.self_attn.batch_first if hasattr(first, "self_attn") else False
        is_causal = _detect_is_causal(mask, is_causal, _seq_len("src", src, batch_first))
        x = src
        for layer in self.layers:
            x = layer(
                x, src_mask=mask, is_causal=is_causal, src_key_padding_mask=src_key_padding_mask
            )
        return self.norm(x) if self.norm is not None else x


class TransformerDecoder(Module):
    """A stack of ``num_layers`` copies of ``decoder_layer`` (in ``layers``), followed by
    ``norm`` if given.

    Example::

        layer = nn.TransformerDecoderLayer(d_model=64, nhead=4)
        decoder = nn.TransformerDecoder(layer, num_layers=6)
        y = decoder(tgt, memory)
    """

    def __init__(self, decoder_layer: Module, num_layers: int, norm: Module | None = None) -> None:
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers = num_layers
        self.norm = norm

    def forward(
        self,
        tgt: Tensor,
        memory: Tensor,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        first = self.layers[0]
        batch_first = first.self_attn.batch_first if hasattr(first, "self_attn") else False
        tgt_is_causal = _detect_is_causal(
            tgt_mask, tgt_is_causal, _seq_len("tgt", tgt, batch_first)
        )
        x = tgt
        for layer in self.layers:
            x = layer(
                x,
                memory,
                tgt_mask=tgt_mask,
                memory_mask=memory_mask,
                tgt_key_padding_mask=tgt_key_padding_mask,
                memory_key_padding_mask=memory_key_padding_mask,
                tgt_is_causal=tgt_is_causal,
                memory_is_causal=memory_is_causal,
            )
        return self.norm(x) if self.norm is not None else x


class Transformer(Module):
    """The encoder-decoder Transformer of "Attention Is All You Need": a TransformerEncoder
    and a TransformerDecoder, each with a final LayerNorm; every weight matrix is drawn
    Xavier-uniform, as in PyTorch.

    Shapes: src (S, N, E), tgt (T, N, E) (batch first with batch_first); masks as in the
    encoder and decoder. Returns (T, N, E).

    Example::

        model = nn.Transformer(d_model=64, nhead=4, num_encoder_layers=2, num_decoder_layers=2)
        mask = nn.Transformer.generate_square_subsequent_mask(9)
        out = model(ember.randn(10, 8, 64), ember.randn(9, 8, 64), tgt_mask=mask)
    """

    def __init__(
        self,
        d_model: int = 512,
        nhead: int = 8,
        num_encoder_layers: int = 6,
        num_decoder_layers: int = 6,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation="relu",
        custom_encoder: Module | None = None,
        custom_decoder: Module | None = None,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device=None,
        dtype=None,
    ) -> None:
        super().__init__()
        kw = {"device": device, "dtype": dtype}
        args = (
            d_model,
            nhead,
            dim_feedforward,
            dropout,
            activation,
            layer_norm_eps,
            batch_first,
            norm_first,
            bias,
        )
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(*args, **kw),
                num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw),
            )
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(*args, **kw),
                num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw),
            )
        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def forward(
        self,
        src: Tensor,
        tgt: Tensor,
        src_mask: Tensor | None = None,
        tgt_mask: Tensor | None = None,
        memory_mask: Tensor | None = None,
        src_key_padding_mask: Tensor | None = None,
        tgt_key_padding_mask: Tensor | None = None,
        memory_key_padding_mask: Tensor | None = None,
        src_is_causal: bool | None = None,
        tgt_is_causal: bool | None = None,
        memory_is_causal: bool = False,
    ) -> Tensor:
        check_tensor_input(src, "src")
        check_tensor_input(tgt, "tgt")
        if src.ndim == 3 and tgt.ndim == 3:
            b = 0 if self.batch_first else 1
            if src.shape[b] != tgt.shape[b]:
                raise RuntimeError(
                    f"expected src and tgt with the same batch size (dim {b}), received shapes "
                    f"{shape_of(src)} and {shape_of(tgt)}"
                )
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise RuntimeError(
                f"expected src and tgt with {self.d_model} features (d_model) in the last dim, "
                f"received shapes {shape_of(src)} and {shape_of(tgt)}"
            )
        memory = self.encoder(
            src, mask=src_mask, src_key_padding_mask=src_key_padding_mask, is_causal=src_is_causal
        )
        return self.decoder(
            tgt,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=tgt_is_causal,
            memory_is_causal=memory_is_causal,
        )

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None) -> Tensor:
        """The (sz, sz) causal mask: -inf above the diagonal (future positions), 0 elsewhere."""
        return _causal_mask(sz, dtype, device)
