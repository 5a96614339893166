"""A first taste of ember: fit a tiny two-layer network to y = sin(x) with autodiff and
plain SGD, printing the loss as it falls."""

from __future__ import annotations

import ember


def main(steps: int = 300, lr: float = 0.1, seed: int = 0) -> float:
    ember.manual_seed(seed)
    x = ember.linspace(-3, 3, 256).reshape(-1, 1)
    y = ember.sin(x)
    w1 = (ember.randn(1, 32) * 0.5).requires_grad_()
    b1 = ember.zeros(32, requires_grad=True)
    w2 = (ember.randn(32, 1) * 0.2).requires_grad_()
    b2 = ember.zeros(1, requires_grad=True)
    params = [w1, b1, w2, b2]
    print("ember demo: fitting y = sin(x) with a 1-32-1 tanh network, full-batch SGD")
    for step in range(steps + 1):
        pred = ember.tanh(x @ w1 + b1) @ w2 + b2
        loss = ((pred - y) ** 2).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with ember.no_grad():
            for p in params:
                p -= lr * p.grad
        if step % 50 == 0:
            print(f"step {step:4d}  loss {loss.item():.5f}")
    return loss.item()


if __name__ == "__main__":
    main()
