"""A training loop written by hand, the PyTorch way: nn.Module, DataLoader, an optimizer and
a learning-rate schedule, with ember's callbacks (a CSV log and early stopping) called by hand.

    python examples/pytorch_style_loop.py             # about 20 s on a CPU
    python examples/pytorch_style_loop.py --steps 5   # a quick check

Needs scikit-learn for the digits (pip install "ember[digits]").
"""

import argparse
import os
import tempfile

import ember
import ember.nn.functional as F
from ember import nn
from ember.data import DataLoader, TensorDataset
from ember.data.datasets import Digits
from ember.train import CallbackList, CSVLogger, EarlyStopping


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.fc = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))


def loader(train: bool, batch_size: int, shuffle: bool) -> DataLoader:
    ds = Digits(train=train)
    x = ember.from_numpy(ds.data).unsqueeze(1)  # (N, 1, 8, 8) in [0, 1]
    y = ember.tensor(ds.targets)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle)


def evaluate(model, data) -> tuple[float, float]:
    model.eval()
    total_loss, correct, n = 0.0, 0, 0
    with ember.no_grad():
        for x, y in data:
            out = model(x)
            total_loss += F.cross_entropy(out, y, reduction="sum").item()
            correct += (out.argmax(1) == y).sum().item()
            n += len(y)
    model.train()
    return total_loss / n, correct / n


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument(
        "--steps",
        type=int,
        default=int(os.environ.get("EMBER_EXAMPLE_STEPS", "0")),
        help="stop after this many optimizer steps (0: train all epochs)",
    )
    args = p.parse_args()

    ember.manual_seed(0)
    train, test = loader(True, 32, shuffle=True), loader(False, 256, shuffle=False)
    model = Net()
    opt = ember.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)

    log = os.path.join(tempfile.mkdtemp(), "log.csv")
    callbacks = CallbackList(
        [CSVLogger(log), EarlyStopping(monitor="val_loss", patience=3)], model=model, optimizer=opt
    )
    callbacks.on_train_begin()
    step = 0
    for epoch in range(args.epochs):
        callbacks.on_epoch_begin(epoch)
        running, seen = 0.0, 0
        for i, (x, y) in enumerate(train):
            callbacks.on_train_batch_begin(i)
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            running, seen = running + loss.item() * len(y), seen + len(y)
            callbacks.on_train_batch_end(i, {"loss": loss.detach(), "size": len(y)})
            step += 1
            if args.steps and step >= args.steps:
                break
        sched.step()
        val_loss, val_acc = evaluate(model, test)
        logs = {
            "loss": running / seen,
            "val_loss": val_loss,
            "val_accuracy": val_acc,
            "lr": opt.param_groups[0]["lr"],
        }
        print(
            f"epoch {epoch + 1}: loss {logs['loss']:.4f}  val_loss {val_loss:.4f}  "
            f"val_accuracy {val_acc:.2%}"
        )
        callbacks.on_epoch_end(epoch, logs)
        if callbacks.stop_training or (args.steps and step >= args.steps):
            break
    callbacks.on_train_end()
    _, acc = evaluate(model, test)
    print(f"{step} steps; test accuracy {acc:.2%}; epoch log in {log}")


if __name__ == "__main__":
    main()
