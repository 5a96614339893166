"""A GPT: a decoder-only transformer language model (Radford et al., 2018-2019).

Pre-LayerNorm blocks (x + attn(ln_1(x)), then x + mlp(ln_2(x))), causal self-attention
through ``F.scaled_dot_product_attention(is_causal=True)``, a GELU MLP four times as wide as
the model, learned position embeddings, and a final LayerNorm. Parameter names follow the
GPT-2 layout popularised by nanoGPT (``transformer.wte``, ``transformer.h.0.attn.c_attn``,
``lm_head`` …), with torch.nn.Linear's (out, in) weight layout.
"""

from __future__ import annotations

import math

from ember import nn
from ember.autograd.grad_mode import no_grad
from ember.creation import arange, tensor
from ember.dtypes import int64
from ember.models._sampling import as_ids, check_sampling_args, next_token
from ember.nn import functional as F
from ember.ops.shape import cat
from ember.tensor import Tensor


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t sees positions 0..t only."""

    def __init__(self, d_model: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        if d_model % n_head:
            raise ValueError(
                f"CausalSelfAttention: d_model={d_model} must be divisible by n_head={n_head}"
            )
        self.n_head = n_head
        self.dropout = dropout
        self.c_attn = nn.Linear(d_model, 3 * d_model)  # query, key and value in one
        self.c_proj = nn.Linear(d_model, d_model)
        self.resid_dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        q, k, v = (
            t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            for t in self.c_attn(x).split(C, dim=2)
        )
        y = F.scaled_dot_product_attention(
            q, k, v, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )
        y = y.transpose(1, 2).reshape(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    """Linear to 4 x d_model, GELU, linear back, dropout."""

    def __init__(self, d_model: int, dropout: float = 0.0):
        super().__init__()
        self.c_fc = nn.Linear(d_model, 4 * d_model)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * d_model, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """One pre-LayerNorm decoder block."""

    def __init__(self, d_model: int, n_head: int, dropout: float = 0.0):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_head, dropout)
        self.ln_2 = nn.LayerNorm(d_model)
        self.mlp = MLP(d_model, dropout)

    def forward(self, x: Tensor) -> Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """A decoder-only transformer over a vocabulary of ``vocab_size`` tokens.

    Args:
        vocab_size: number of distinct tokens.
        block_size: the longest context (positions have learned embeddings up to it).
        n_layer, n_head, d_model: depth, attention heads, and width (d_model divisible by
            n_head).
        dropout: on the embeddings, the attention weights and each residual branch.
        tie_weights: the output head shares the token embedding's weight (as GPT-2); both
            ``transformer.wte.weight`` and ``lm_head.weight`` appear in the state_dict, as
            in PyTorch. False gives the head its own weight.
        vocab: optional, the characters in id order, so that ``generate`` takes text.

    Initialisation is GPT-2's: weights N(0, 0.02), biases 0, and the projections that
    write into the residual stream (``c_proj``) N(0, 0.02 / sqrt(2 n_layer)).

    Shapes: input (N, T) int64 token ids with T <= block_size; output logits
    (N, T, vocab_size).

    Example::

        model = GPT(vocab_size=96, block_size=64, n_layer=2, n_head=4, d_model=64)
        logits = model(ember.randint(0, 96, (4, 64)))          # (4, 64, 96)
    """

    def __init__(self, vocab_size: int, block_size: int = 128, n_layer: int = 4,
                 n_head: int = 4, d_model: int = 128, dropout: float = 0.0,
                 tie_weights: bool = True, vocab: str | None = None):  # fmt: skip
        super().__init__()
        if vocab is not None and len(vocab) != vocab_size:
            raise ValueError(
                f"GPT: vocab has {len(vocab)} characters but vocab_size is {vocab_size}"
            )
        if d_model % n_head:
            raise ValueError(f"GPT: d_model={d_model} must be divisible by n_head={n_head}")
        self.vocab = vocab
        self.block_size = block_size
        self.transformer = nn.ModuleDict(
            {
                "wte": nn.Embedding(vocab_size, d_model),
                "wpe": nn.Embedding(block_size, d_model),
                "drop": nn.Dropout(dropout),
                "h": nn.ModuleList([Block(d_model, n_head, dropout) for _ in range(n_layer)]),
                "ln_f": nn.LayerNorm(d_model),
            }
        )
        self.lm_head = nn.Linear(d_model, vocab_size, bias=False)
        if tie_weights:
            self.lm_head.weight = self.transformer.wte.weight
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * n_layer))
            elif name.endswith(".weight") and p.ndim == 2:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith(".bias") and ".ln_" not in name:
                nn.init.zeros_(p)

    def forward(self, idx: Tensor) -> Tensor:
        if idx.ndim != 2:
            raise ValueError(f"expected token ids of shape (N, T), received {tuple(idx.shape)}")
        T = idx.shape[1]
        if T > self.block_size:
            raise ValueError(
                f"a sequence of {T} tokens is longer than block_size={self.block_size}"
            )
        tr = self.transformer
        pos = arange(T, dtype=int64, device=idx.device)
        x = tr.drop(tr.wte(idx) + tr.wpe(pos))
        for block in tr.h:
            x = block(x)
        return self.lm_head(tr.ln_f(x))

    def generate(self, prompt, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, generator=None, vocab: str | None = None):  # fmt: skip
        """Continue ``prompt`` by ``max_new_tokens`` sampled tokens, each conditioned on at
        most the last ``block_size`` tokens. Arguments and result as
        ``CharLSTM.generate``: token ids (T,) or (B, T) give an int64 tensor (B, T + new);
        a string (with a vocab) gives a string."""
        check_sampling_args("GPT.generate", max_new_tokens, temperature, top_k,
                            self.lm_head.out_features)  # fmt: skip
        vocab = vocab if vocab is not None else self.vocab
        ids, is_text = as_ids("GPT.generate", prompt, vocab, self.lm_head.weight.device)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                for _ in range(max_new_tokens):
                    logits = self(ids[:, -self.block_size :])
                    nxt = next_token(logits[:, -1], temperature, top_k, generator)
                    ids = cat([ids, tensor(nxt[:, None], dtype=int64, device=ids.device)], 1)
        finally:
            self.train(was_training)
        if is_text:
            return "".join(vocab[i] for i in ids[0].tolist())
        return ids
