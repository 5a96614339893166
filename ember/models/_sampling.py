"""Picking the next token from a language model's logits: temperature, top-k, sampling.

Shared by the char-LSTM and the GPT. The draw uses an ember Generator (or the default
one), so a seeded generator gives the same text every time.
"""

from __future__ import annotations

import numbers

import numpy as np

from ember.random import _rng
from ember.tensor import Tensor


def check_sampling_args(op: str, max_new_tokens, temperature, top_k, vocab_size: int):
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, numbers.Integral) \
            or max_new_tokens < 0:  # fmt: skip
        raise ValueError(f"{op}: expected max_new_tokens >= 0, received {max_new_tokens!r}")
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) \
            or not temperature >= 0:  # fmt: skip
        raise ValueError(f"{op}: expected temperature >= 0 (0: greedy), received {temperature!r}")
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral) or top_k < 1
    ):
        raise ValueError(f"{op}: expected top_k to be None or an int >= 1, received {top_k!r}")


def next_token(logits: Tensor, temperature: float, top_k: int | None, generator) -> np.ndarray:
    """One token id per row of ``logits`` (B, V): argmax when temperature is 0, else a draw
    from softmax(logits / temperature) restricted to the ``top_k`` largest logits."""
    z = np.asarray(logits.detach().cpu().numpy(), dtype=np.float64)
    if temperature == 0:
        return z.argmax(axis=-1)
    z = z / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = np.partition(z, -top_k, axis=-1)[:, -top_k][:, None]
        z = np.where(z < kth, -np.inf, z)
    z = z - z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    cdf = np.cumsum(p, axis=-1)
    u = _rng(generator).random(z.shape[0]) * cdf[:, -1]
    # Rows of the CDF are non-decreasing: the first index whose CDF exceeds u.
    ids = (cdf <= u[:, None]).sum(axis=-1)
    return np.minimum(ids, z.shape[-1] - 1)


def as_ids(op: str, prompt, vocab, device):
    """(ids as an int64 (B, T) Tensor, whether the prompt was text)."""
    from ember.creation import tensor
    from ember.dtypes import int64

    if isinstance(prompt, str):
        if vocab is None:
            raise ValueError(
                f"{op}: a text prompt needs the vocabulary: pass vocab= (a string of the "
                "characters, in id order) or set model.vocab"
            )
        lookup = {c: i for i, c in enumerate(vocab)}
        missing = sorted({c for c in prompt if c not in lookup})
        if missing:
            raise ValueError(f"{op}: the prompt has characters outside the vocabulary: {missing}")
        ids = [[lookup[c] for c in prompt]]
        return tensor(ids, dtype=int64, device=device), True
    if isinstance(prompt, Tensor):
        ids = prompt
    else:
        ids = tensor(prompt, dtype=int64, device=device)
    if ids.dtype.is_floating_point or ids.dtype.name == "bool":
        raise TypeError(f"{op}: expected integer token ids, received dtype {ids.dtype.name}")
    if ids.ndim == 1:
        ids = ids.unsqueeze(0)
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise ValueError(
            f"{op}: expected a non-empty prompt of token ids, shape (T,) or (B, T), received "
            f"shape {tuple(ids.shape)}"
        )
    return ids.to(device), False
