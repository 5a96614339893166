"""A character-level LSTM trained on Python's own standard library source, then asked to
write some Python.

    python examples/char_rnn.py               # a few minutes on a CPU
    python examples/char_rnn.py --steps 3     # a quick check
"""

import argparse
import os

import ember
import ember.nn.functional as F
from ember.data import DataLoader
from ember.data.datasets import PythonSourceText
from ember.models import CharLSTM
from ember.train import Trainer


def lm_loss(logits, target):  # (N, T, V) against (N, T)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--steps",
        type=int,
        default=int(os.environ.get("EMBER_EXAMPLE_STEPS", "0")) or 600,
        help="optimizer steps",
    )
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--chars", type=int, default=300, help="characters to generate")
    args = p.parse_args()

    ember.manual_seed(0)
    train_ds = PythonSourceText(seq_len=args.seq_len, split="train", max_chars=500_000)
    val_ds = PythonSourceText(seq_len=args.seq_len, split="val", max_chars=500_000)
    train = DataLoader(train_ds, batch_size=32, shuffle=True)
    val = DataLoader(val_ds, batch_size=64)

    model = CharLSTM(
        train_ds.vocab_size, embed_dim=32, hidden_size=128, num_layers=1, vocab=train_ds.vocab
    )
    opt = ember.optim.Adam(model.parameters(), lr=5e-3)
    trainer = Trainer(model, opt, lm_loss, max_grad_norm=1.0)
    epochs = -(-args.steps // len(train))
    trainer.fit(train, epochs=epochs, max_steps=args.steps, verbose=2)
    val_loss = trainer.evaluate(val)["loss"]
    print(
        f"{trainer.global_step} steps; validation loss {val_loss:.3f} "
        f"(perplexity {ember.tensor(val_loss).exp().item():.2f})"
    )

    text = model.generate(
        "def ", args.chars, temperature=0.8, top_k=10, generator=ember.Generator().manual_seed(0)
    )
    print("sample:")
    print(text)


if __name__ == "__main__":
    main()
