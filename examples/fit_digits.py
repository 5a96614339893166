"""Keras-style training with ember.train.Trainer: fit with validation, early stopping and a
best-model checkpoint, then evaluate and predict.

    python examples/fit_digits.py             # about 30 s on a CPU
    python examples/fit_digits.py --steps 5   # a quick check

Needs scikit-learn for the digits (pip install "ember[digits]").
"""

import argparse
import os
import tempfile

import ember
from ember.data import DataLoader, TensorDataset, random_split
from ember.data.datasets import Digits
from ember.models import SmallCNN
from ember.train import EarlyStopping, ModelCheckpoint, Trainer


def tensors(train: bool):
    ds = Digits(train=train)
    return ember.from_numpy(ds.data).unsqueeze(1), ember.tensor(ds.targets)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument(
        "--steps",
        type=int,
        default=int(os.environ.get("EMBER_EXAMPLE_STEPS", "0")),
        help="stop after this many optimizer steps (0: train all epochs)",
    )
    args = p.parse_args()

    ember.manual_seed(0)
    full = TensorDataset(*tensors(train=True))
    train_ds, val_ds = random_split(full, [0.9, 0.1], generator=ember.Generator().manual_seed(0))
    train = DataLoader(train_ds, batch_size=32, shuffle=True)
    val = DataLoader(val_ds, batch_size=256)

    model = SmallCNN(num_classes=10, in_channels=1, input_size=8)
    ember.summary(model, (1, 1, 8, 8))
    opt = ember.optim.Adam(model.parameters(), lr=3e-3)
    sched = ember.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    trainer = Trainer(model, opt, "cross_entropy", metrics=["accuracy"], scheduler=sched)

    best = os.path.join(tempfile.mkdtemp(), "best.safetensors")
    history = trainer.fit(
        train,
        epochs=args.epochs,
        validation_data=val,
        verbose=2,
        max_steps=args.steps or None,
        callbacks=[
            EarlyStopping(patience=4, restore_best_weights=True),
            ModelCheckpoint(best, monitor="val_accuracy", save_best_only=True),
        ],
    )
    print(f"trained {len(history.history['loss'])} epoch(s); best model saved to {best}")

    x_test, y_test = tensors(train=False)
    result = trainer.evaluate((x_test, y_test), batch_size=256)
    print(f"test accuracy {result['accuracy']:.2%} (loss {result['loss']:.4f})")
    pred = trainer.predict(x_test[:10]).argmax(1)
    print(f"predicted {pred.tolist()}\nactual    {y_test[:10].tolist()}")


if __name__ == "__main__":
    main()
