"""A small GPT (decoder-only transformer) trained character by character on Python's
standard library source, then sampled.

    python examples/gpt_python_source.py              # a few minutes on a CPU
    python examples/gpt_python_source.py --steps 3    # a quick check
"""

import argparse
import os

import ember
import ember.nn.functional as F
from ember.data import DataLoader
from ember.data.datasets import PythonSourceText
from ember.models import GPT


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--steps",
        type=int,
        default=int(os.environ.get("EMBER_EXAMPLE_STEPS", "0")) or 400,
        help="optimizer steps",
    )
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--chars", type=int, default=300, help="characters to generate")
    args = p.parse_args()

    ember.manual_seed(0)
    data = PythonSourceText(seq_len=args.block_size, split="train", max_chars=500_000)
    loader = DataLoader(data, batch_size=32, shuffle=True)
    model = GPT(
        data.vocab_size,
        block_size=args.block_size,
        n_layer=2,
        n_head=4,
        d_model=64,
        dropout=0.0,
        vocab=data.vocab,
    )
    print(f"GPT with {sum(p.numel() for p in model.parameters()):,} parameters")
    opt = ember.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
    sched = ember.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=args.steps)

    step = 0
    while step < args.steps:
        for x, y in loader:
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            ember.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            if step % 50 == 0 or step == args.steps:
                print(f"step {step}: loss {loss.item():.3f}")
            if step == args.steps:
                break

    text = model.generate(
        "def ", args.chars, temperature=0.8, top_k=10, generator=ember.Generator().manual_seed(0)
    )
    print(f"{step} steps; sample:")
    print(text)


if __name__ == "__main__":
    main()
