"""A character-level language model: embedding, LSTM, linear head over the vocabulary."""

from __future__ import annotations

from ember import nn
from ember.autograd.grad_mode import no_grad
from ember.creation import tensor
from ember.dtypes import int64
from ember.models._sampling import as_ids, check_sampling_args, next_token
from ember.ops.shape import cat
from ember.tensor import Tensor


class CharLSTM(nn.Module):
    """Predict the next character from the ones before it.

    Args:
        vocab_size: number of distinct tokens (characters).
        embed_dim: size of each token's embedding.
        hidden_size: the LSTM's hidden size.
        num_layers: stacked LSTM layers.
        dropout: dropout between LSTM layers and before the head.
        vocab: optional, the characters in id order (``vocab[i]`` is token i), so that
            ``generate`` takes and returns text.

    Shapes: input (N, T) int64 token ids; output logits (N, T, vocab_size).
    Parameters: ``embed.weight``, ``lstm.weight_ih_l0`` … (as torch.nn.LSTM),
    ``head.weight``, ``head.bias``.

    Example::

        model = CharLSTM(vocab_size=96, embed_dim=32, hidden_size=128)
        logits = model(ember.randint(0, 96, (4, 50)))          # (4, 50, 96)
        ids = model.generate(ember.tensor([[5, 7]]), max_new_tokens=20, top_k=10)
    """

    def __init__(self, vocab_size: int, embed_dim: int = 64, hidden_size: int = 256,
                 num_layers: int = 2, dropout: float = 0.0, vocab: str | None = None):  # fmt: skip
        super().__init__()
        if vocab is not None and len(vocab) != vocab_size:
            raise ValueError(
                f"CharLSTM: vocab has {len(vocab)} characters but vocab_size is {vocab_size}"
            )
        self.vocab = vocab
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.lstm = nn.LSTM(embed_dim, hidden_size, num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)  # fmt: skip
        self.drop = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, idx: Tensor, state=None) -> Tensor:
        """Logits (N, T, vocab_size) for token ids (N, T); ``state`` is an LSTM (h, c) to
        start from (zeros if None)."""
        return self.forward_with_state(idx, state)[0]

    def forward_with_state(self, idx: Tensor, state=None):
        """(logits, (h, c)): the logits and the LSTM state after the last position, to
        continue from."""
        out, state = self.lstm(self.embed(idx), state)
        return self.head(self.drop(out)), state

    def generate(self, prompt, max_new_tokens: int, temperature: float = 1.0,
                 top_k: int | None = None, generator=None, vocab: str | None = None):  # fmt: skip
        """Continue ``prompt`` by ``max_new_tokens`` sampled tokens.

        prompt: token ids, (T,) or (B, T) (a list or an int64 tensor), or a string when the
            model has a ``vocab`` (or ``vocab`` is given).
        temperature: divides the logits; below 1 is more conservative, 0 always takes the
            most likely token.
        top_k: sample only among the k most likely tokens.
        generator: an ``ember.Generator`` for reproducible samples.

        Returns the prompt followed by the new tokens: an int64 tensor (B, T + new), or a
        string for a string prompt. The model is evaluated in eval mode (no dropout) and
        left in the mode it was in.
        """
        check_sampling_args("CharLSTM.generate", max_new_tokens, temperature, top_k,
                            self.head.out_features)  # fmt: skip
        vocab = vocab if vocab is not None else self.vocab
        ids, is_text = as_ids("CharLSTM.generate", prompt, vocab, self.head.weight.device)
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                out = [ids]
                logits, state = self.forward_with_state(ids)
                for _ in range(max_new_tokens):
                    nxt = next_token(logits[:, -1], temperature, top_k, generator)
                    step = tensor(nxt[:, None], dtype=int64, device=ids.device)
                    out.append(step)
                    logits, state = self.forward_with_state(step, state)
        finally:
            self.train(was_training)
        seq = cat(out, dim=1)
        if is_text:
            return "".join(vocab[i] for i in seq[0].tolist())
        return seq
