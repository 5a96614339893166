"""Checkpoints: train a model on the digits 0-4 and save a full checkpoint; load it and go on
training where it stopped; then reuse the trained features for a new task (all ten digits)
by replacing the classifier head and training only the head.

    python examples/finetune_from_checkpoint.py            # about 20 s on a CPU
    python examples/finetune_from_checkpoint.py --steps 4  # a quick check

Needs scikit-learn for the digits (pip install "ember[digits]").
"""

import argparse
import os
import tempfile

import ember
from ember import nn
from ember.data.datasets import Digits
from ember.models import SmallCNN
from ember.train import Trainer, load_checkpoint, save_checkpoint


def digits(train: bool, classes=range(10)):
    ds = Digits(train=train)
    x = ember.from_numpy(ds.data).unsqueeze(1)
    y = ember.tensor(ds.targets)
    keep = ember.tensor([t in classes for t in ds.targets])
    return x[keep], y[keep]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--steps",
        type=int,
        default=int(os.environ.get("EMBER_EXAMPLE_STEPS", "0")),
        help="optimizer steps per stage (0: a few epochs each)",
    )
    args = p.parse_args()
    limit = {"max_steps": args.steps} if args.steps else {}
    ember.manual_seed(0)
    folder = tempfile.mkdtemp()

    # 1. Train on the digits 0-4 and save everything needed to resume.
    x5, y5 = digits(True, range(5))
    model = SmallCNN(num_classes=5)
    opt = ember.optim.Adam(model.parameters(), lr=3e-3)
    trainer = Trainer(model, opt, "cross_entropy", metrics=["accuracy"])
    trainer.fit((x5, y5), epochs=3, verbose=0, **limit)
    path = os.path.join(folder, "digits0-4.safetensors")
    save_checkpoint(path, model, opt, epoch=3)
    acc5 = trainer.evaluate(digits(False, range(5)))["accuracy"]
    print(f"stage 1: digits 0-4, test accuracy {acc5:.2%}; checkpoint {path}")

    # 2. A new process would do this: rebuild, restore model and optimizer, keep training.
    model = SmallCNN(num_classes=5)
    opt = ember.optim.Adam(model.parameters(), lr=3e-3)
    info = load_checkpoint(path, model, opt)
    trainer = Trainer(model, opt, "cross_entropy", metrics=["accuracy"])
    trainer.fit((x5, y5), epochs=info["epoch"] + 2, initial_epoch=info["epoch"], verbose=0, **limit)
    acc5 = trainer.evaluate(digits(False, range(5)))["accuracy"]
    print(f"stage 2: resumed from epoch {info['epoch']}, test accuracy {acc5:.2%}")

    # 3. New head for ten classes; the convolutional features stay frozen.
    model.classifier[-1] = nn.Linear(model.classifier[-1].in_features, 10)
    model.features.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    opt = ember.optim.Adam(trainable, lr=3e-3)
    trainer = Trainer(model, opt, "cross_entropy", metrics=["accuracy"])
    trainer.fit(digits(True), epochs=5, verbose=0, **limit)
    acc10 = trainer.evaluate(digits(False))["accuracy"]
    n = sum(p.numel() for p in trainable)
    print(f"stage 3: new 10-class head ({n:,} trainable parameters), test accuracy {acc10:.2%}")


if __name__ == "__main__":
    main()
