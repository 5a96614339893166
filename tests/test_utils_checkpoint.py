"""Activation checkpointing: the same outputs and gradients as without it (dropout included,
with the RNG state preserved), fewer saved arrays, and the parameters' gradients whatever
the way the function reaches them."""

import numpy as np
import pytest
import torch

import ember
from ember import nn
from ember.utils.checkpoint import checkpoint, checkpoint_sequential
from tests.oracle import rand


def _block():
    return nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Dropout(0.5), nn.Linear(16, 16),
                         nn.ReLU(), nn.Linear(16, 3))  # fmt: skip


def _grads(model, x):
    return [p.grad.numpy().copy() for p in model.parameters()] + [x.grad.numpy().copy()]


def _run(model, x, use_ckpt, **kw):
    model.zero_grad()
    x.grad = None
    ember.manual_seed(11)
    y = checkpoint(model, x, **kw) if use_ckpt else model(x)
    (y * y).sum().backward()
    return y.detach().numpy().copy(), _grads(model, x)


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_same_outputs_and_gradients_with_dropout(use_reentrant):
    ember.manual_seed(0)
    model = _block()
    x = ember.randn(5, 4, requires_grad=True)
    y0, g0 = _run(model, x, False)
    y1, g1 = _run(model, x, True, use_reentrant=use_reentrant)
    np.testing.assert_array_equal(y0, y1)
    for a, b in zip(g0, g1):
        np.testing.assert_array_equal(a, b)


def test_gradients_match_torch_checkpoint():
    torch.manual_seed(0)
    tm = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    em = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 2)).double()
    tm.double()
    em.load_state_dict(tm.state_dict())
    x = rand(3, 4)
    tx = torch.tensor(x, requires_grad=True)
    ex = ember.tensor(x, requires_grad=True)
    import torch.utils.checkpoint as tcp

    tcp.checkpoint(tm, tx, use_reentrant=False).pow(2).sum().backward()
    checkpoint(em, ex).pow(2).sum().backward()
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    for tp, ep in zip(tm.parameters(), em.parameters()):
        np.testing.assert_allclose(ep.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_rng_state_is_restored_for_the_recomputation():
    ember.manual_seed(0)
    model = _block()
    x = ember.randn(5, 4, requires_grad=True)
    _, g0 = _run(model, x, False)
    # without preserving the state, the recomputation draws other dropout masks
    _, g1 = _run(model, x, True, preserve_rng_state=False)
    assert not all(np.array_equal(a, b) for a, b in zip(g0, g1))
    # and the generator goes on after backward as it would without checkpointing
    ember.manual_seed(3)
    checkpoint(model, x).sum().backward()
    after = ember.rand(3).numpy()
    ember.manual_seed(3)
    model(x).sum().backward()
    np.testing.assert_array_equal(after, ember.rand(3).numpy())


def _saved_arrays(y):
    """The arrays the graph behind ``y`` keeps for backward, and its nodes."""
    nodes, seen, stack, arrays = 0, set(), [y.grad_fn], 0
    while stack:
        n = stack.pop()
        if n is None or id(n) in seen:
            continue
        seen.add(id(n))
        nodes += 1
        for s in getattr(n, "_saved", None) or ():
            if type(s) is tuple:  # an array: (data, counter, version, source)
                arrays += s[0].size
        stack.extend(e[0] for e in getattr(n, "next_edges", ()) if e is not None)
    return nodes, arrays


def test_activations_are_not_kept():
    ember.manual_seed(0)
    model = nn.Sequential(*[nn.Sequential(nn.Linear(32, 32), nn.Tanh()) for _ in range(4)])
    x = ember.randn(64, 32, requires_grad=True)
    _plain_nodes, plain_saved = _saved_arrays(model(x))
    y = checkpoint(model, x)
    ckpt_nodes, ckpt_saved = _saved_arrays(y)
    # one node for the block (plus the leaves' accumulators), and only the input and the
    # (shared, not copied) parameters saved: none of the 4 * 64 * 32 activations
    assert ckpt_nodes == 1 + 1 + 8
    params = sum(p.numel() for p in model.parameters())
    assert ckpt_saved == x.numel() + params
    assert plain_saved >= ckpt_saved - params + 4 * 64 * 32
    y.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_parameters_get_gradients_when_the_input_does_not_require_grad():
    ember.manual_seed(0)
    model = _block()
    x = ember.randn(5, 4, requires_grad=True)
    _, g0 = _run(model, x, False)
    model.zero_grad()
    ember.manual_seed(11)
    checkpoint(model, x.detach()).pow(2).sum().backward()
    for a, p in zip(g0, model.parameters()):
        np.testing.assert_array_equal(a, p.grad.numpy())


def test_reentrant_without_inputs_requiring_grad_warns():
    model = nn.Linear(3, 2)
    with pytest.warns(UserWarning, match="none of the inputs requires grad"):
        y = checkpoint(model, ember.randn(2, 3), use_reentrant=True)
    assert not y.requires_grad


def test_autograd_grad_reaches_parameters_of_a_bound_method_and_closures():
    ember.manual_seed(0)
    lin = nn.Linear(3, 3)
    w = ember.randn(3, requires_grad=True)

    def f(x):  # lin and w reached through the closure
        return lin(x).tanh() * w

    x = ember.randn(2, 3)
    ref = ember.autograd.grad(f(x).sum(), [lin.weight, w])
    got = ember.autograd.grad(checkpoint(f, x).sum(), [lin.weight, w])
    for a, b in zip(ref, got):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    ref = ember.autograd.grad(lin.forward(x).sum(), [lin.bias])
    got = ember.autograd.grad(checkpoint(lin.forward, x).sum(), [lin.bias])
    np.testing.assert_allclose(ref[0].numpy(), got[0].numpy())


def test_tuple_outputs_kwargs_and_second_order():
    x = ember.tensor(rand(3, 2), requires_grad=True)
    y = ember.tensor(rand(3, 2), requires_grad=True)

    def f(a, b, scale=1.0):
        return (a * b).sin() * scale, a.exp()

    out1, out2 = f(x, y, scale=2.0)
    ref = ember.autograd.grad((out1.sum() + out2.sum()), [x, y], create_graph=True)
    ref2 = ember.autograd.grad(ref[0].sum(), [x, y])
    c1, c2 = checkpoint(f, x, y, scale=2.0)
    np.testing.assert_array_equal(c1.detach().numpy(), out1.detach().numpy())
    got = ember.autograd.grad((c1.sum() + c2.sum()), [x, y], create_graph=True)
    got2 = ember.autograd.grad(got[0].sum(), [x, y])
    for a, b in zip(ref + ref2, got + got2):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)


def test_recomputation_runs_under_the_forward_autocast():
    ember.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    x = ember.randn(3, 4)
    with ember.autocast("cpu"):
        y = model(x)
    y.float().sum().backward()
    ref = [p.grad.numpy().copy() for p in model.parameters()]
    model.zero_grad()
    with ember.autocast("cpu"):
        y = checkpoint(model, x)
    assert y.dtype is ember.bfloat16
    y.float().sum().backward()  # outside autocast, as usual
    for a, p in zip(ref, model.parameters()):
        np.testing.assert_array_equal(a, p.grad.numpy())


def test_checkpoint_sequential_matches():
    ember.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(5)])
    x = ember.randn(2, 4, requires_grad=True)
    model(x).pow(2).sum().backward()
    ref = _grads(model, x)
    model.zero_grad()
    x.grad = None
    y = checkpoint_sequential(model, 3, x)
    y.pow(2).sum().backward()
    for a, b in zip(ref, _grads(model, x)):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_in_place_change_of_a_saved_input_is_an_error():
    model = nn.Linear(3, 2)
    x = ember.randn(2, 3, requires_grad=True)
    y = checkpoint(model, x)
    with ember.no_grad():
        model.weight.mul_(2)
    with pytest.raises(RuntimeError, match="changed by an in-place operation"):
        y.sum().backward()


def test_under_no_grad_it_just_runs():
    model = nn.Linear(3, 2)
    with ember.no_grad():
        y = checkpoint(model, ember.randn(2, 3))
    assert y.grad_fn is None and not y.requires_grad


def test_errors():
    with pytest.raises(TypeError, match="function or module"):
        checkpoint(3, ember.randn(2))
    with pytest.raises(TypeError, match="must return a Tensor"):
        checkpoint(lambda a: a.sum().item(), ember.randn(2, requires_grad=True))
    with pytest.raises(ValueError, match="at most one segment per function"):
        checkpoint_sequential([nn.Linear(2, 2)], 2, ember.randn(1, 2))
