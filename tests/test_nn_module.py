"""nn.Module and the containers against PyTorch: registration, traversal order and names,
state_dict and load_state_dict (from a PyTorch model), modes, apply, zero_grad, to(),
hooks, repr, copying, and the layer path that errors carry."""

import copy
import re
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from tests.oracle import rand


def lib_of(m):
    return m.__name__


def make_net(m):
    """The same nested model, written once, for ember (``m=ember``) or PyTorch."""
    nn = m.nn

    class Block(nn.Module):
        def __init__(self, c_in, c_out):
            super().__init__()
            self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
            self.bn = nn.BatchNorm2d(c_out)
            self.register_buffer("scale", m.ones(c_out))
            self.register_buffer("cache", m.zeros(2), persistent=False)
            self.alpha = nn.Parameter(m.full((1,), 0.5))
            self.note = "a plain attribute"

        def forward(self, x):
            y = self.bn(self.conv(x)).relu()
            return y * self.scale.reshape(1, -1, 1, 1) * self.alpha

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(Block(2, 4), nn.MaxPool2d(2), Block(4, 4))
            self.head = nn.ModuleDict({"fc": nn.Linear(16, 3), "drop": nn.Dropout(0.5)})
            self.extras = nn.ModuleList([nn.Linear(3, 3), nn.Linear(3, 3), nn.Tanh()])

        def forward(self, x):
            x = self.features(x).flatten(1)
            x = self.head["fc"](self.head["drop"](x))
            for layer in self.extras:
                x = layer(x)
            return x

    return Net()


def twin_nets():
    t = make_net(torch).double()
    e = make_net(ember).double()
    e.load_state_dict(t.state_dict())
    return e, t


def names(pairs):
    return [n for n, _ in pairs]


def close(e, t, rtol=1e-7, atol=1e-9, what=""):
    te = t.detach().numpy() if isinstance(t, torch.Tensor) else t
    np.testing.assert_allclose(e.detach().numpy(), te, rtol=rtol, atol=atol, err_msg=what)


# ---------------------------------------------------------------- registration and traversal
def test_names_and_order_match_torch():
    e, t = make_net(ember), make_net(torch)
    assert names(e.named_parameters()) == names(t.named_parameters())
    assert names(e.named_buffers()) == names(t.named_buffers())
    assert names(e.named_modules()) == names(t.named_modules())
    assert names(e.named_children()) == names(t.named_children())
    assert [type(x).__name__ for x in e.modules()] == [type(x).__name__ for x in t.modules()]
    assert list(e.state_dict()) == list(t.state_dict())
    assert names(e.named_parameters(prefix="net")) == names(t.named_parameters(prefix="net"))
    assert names(e.named_parameters(recurse=False)) == names(t.named_parameters(recurse=False))
    for (n, pe), (_, pt) in zip(e.state_dict().items(), t.state_dict().items()):
        assert tuple(pe.shape) == tuple(pt.shape), n
    assert e.get_submodule("features.2.bn") is e.features[2].bn
    assert e.get_parameter("head.fc.weight") is e.head["fc"].weight
    with pytest.raises(AttributeError, match="has no submodule 'nope'"):
        e.get_submodule("features.nope")


def test_setattr_registers_and_replaces():
    e, t = make_net(ember).features[0], make_net(torch).features[0]
    assert "alpha" in dict(e.named_parameters()) and e.note == "a plain attribute"
    assert "note" not in e.state_dict()
    for m in (e, t):
        m.alpha = None  # a declared but absent parameter
    assert names(e.named_parameters()) == names(t.named_parameters())
    assert e.alpha is None
    for lib, m in ((ember, e), (torch, t)):
        m.extra = lib.nn.Linear(2, 2)  # a new child goes last
        del m.conv
    assert names(e.named_modules()) == names(t.named_modules())
    assert list(e.state_dict()) == list(t.state_dict())
    with pytest.raises(TypeError):
        t.bn.weight = torch.ones(4)
    with pytest.raises(TypeError, match="cannot assign Tensor to parameter 'weight'; expected an "
                       "nn.Parameter or None"):  # fmt: skip
        e.bn.weight = ember.ones(4)
    with pytest.raises(TypeError, match="cannot assign str to buffer 'scale'"):
        e.scale = "big"
    e.scale = ember.full((4,), 2.0)  # a tensor may replace a buffer
    assert e.state_dict()["scale"].numpy().tolist() == [2.0] * 4


def test_setattr_before_init_and_bad_registrations():
    class Early(ember.nn.Module):
        def __init__(self):
            self.fc = ember.nn.Linear(2, 2)
            super().__init__()

    with pytest.raises(RuntimeError, match=r"Early: call super\(\).__init__\(\) before assigning"):
        Early()
    m = ember.nn.Linear(2, 2)
    with pytest.raises(KeyError, match="must be non-empty and contain no '.'"):
        m.register_buffer("a.b", ember.ones(1))
    with pytest.raises(KeyError, match="'forward' is already an attribute of Linear"):
        m.register_buffer("forward", ember.ones(1))
    with pytest.raises(TypeError, match="register_buffer: expected a Tensor or None for 'x'"):
        m.register_buffer("x", np.ones(2))
    with pytest.raises(TypeError, match="register_parameter: expected an nn.Parameter or None"):
        m.register_parameter("p", ember.ones(2))


def test_buffers_persistent_or_not():
    e, t = make_net(ember), make_net(torch)
    assert "features.0.cache" in names(e.named_buffers())
    assert "features.0.cache" not in e.state_dict()
    assert names(e.named_buffers()) == names(t.named_buffers())
    e.double()
    assert e.features[0].cache.dtype is ember.float64  # non-persistent buffers move too
    assert e.features[0].bn.num_batches_tracked.dtype is ember.int64  # integers stay


def test_shared_parameters_counted_once():
    def tied(m):
        class Tied(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.enc = m.nn.Linear(4, 4)
                self.dec = m.nn.Linear(4, 4)
                self.dec.weight = self.enc.weight
                self.again = self.enc  # the same module under two names

            def forward(self, x):
                return self.dec(self.enc(x).tanh())

        return Tied()

    e, t = tied(ember), tied(torch).double()
    e.double()
    assert names(e.named_parameters()) == names(t.named_parameters())
    assert len(list(e.parameters())) == len(list(t.parameters())) == 3
    assert names(e.named_modules()) == names(t.named_modules())
    assert list(e.state_dict()) == list(t.state_dict())  # the state_dict keeps every name
    e.load_state_dict(t.state_dict())
    x = rand(3, 4)
    ye, yt = e(ember.tensor(x)), t(torch.from_numpy(x))
    close(ye, yt)
    ye.sum().backward()
    yt.sum().backward()
    # the shared weight collects the gradient of both uses
    close(e.enc.weight.grad, t.enc.weight.grad)
    assert e.dec.weight is e.enc.weight


# ---------------------------------------------------------------- state_dict
def test_load_torch_state_dict_gives_the_same_outputs():
    e, t = twin_nets()
    x = rand(2, 2, 4, 4)
    e.eval(), t.eval()
    close(e(ember.tensor(x)), t(torch.from_numpy(x)), what="eval")
    # training mode: batch statistics; dropout differs between the libraries, so drop it
    e.head["drop"].p = t.head["drop"].p = 0.0
    e.train(), t.train()
    xe, xt = ember.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ye, yt = e(xe), t(xt)
    close(ye, yt, what="train")
    ye.sum().backward()
    yt.sum().backward()
    close(xe.grad, xt.grad, what="input grad")
    for (n, pe), (_, pt) in zip(e.named_parameters(), t.named_parameters()):
        close(pe.grad, pt.grad, what=n)
    for (n, be), (_, bt) in zip(e.named_buffers(), t.named_buffers()):
        close(be, bt, what=n)
    # and back: PyTorch loads ember's state_dict (as NumPy)
    t2 = make_net(torch).double()
    t2.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in e.state_dict().items()})
    t2.eval(), e.eval()
    close(e(ember.tensor(x)), t2(torch.from_numpy(x)), what="torch from ember")


def test_state_dict_values_are_detached_and_shared():
    e = ember.nn.Linear(3, 2)
    sd = e.state_dict()
    assert not sd["weight"].requires_grad
    with ember.no_grad():
        e.weight.fill_(1.0)
    assert (sd["weight"].numpy() == 1).all()  # a view of the parameter, as in PyTorch
    assert e.state_dict(keep_vars=True)["weight"] is e.weight


def test_load_state_dict_strict_errors_list_every_key():
    e, t = make_net(ember), make_net(torch)
    sd = {k: v.clone() for k, v in t.state_dict().items()}
    del sd["head.fc.bias"]
    sd["head.fc.extra"] = torch.ones(1)
    sd["extras.0.weight"] = torch.ones(2, 3)
    with pytest.raises(RuntimeError):
        t.load_state_dict(sd)
    with pytest.raises(RuntimeError) as info:
        e.load_state_dict(sd)
    msg = str(info.value)
    assert msg.startswith("load_state_dict: cannot load into Net: ")
    assert ("size mismatch for extras.0.weight: the checkpoint has shape (2, 3), the model "
            "(3, 3)") in msg  # fmt: skip
    assert "missing keys: head.fc.bias" in msg
    assert "unexpected keys: head.fc.extra" in msg
    # a wrong shape is an error even when not strict, as in PyTorch
    with pytest.raises(RuntimeError):
        t.load_state_dict(sd, strict=False)
    with pytest.raises(RuntimeError, match="size mismatch for extras.0.weight"):
        e.load_state_dict(sd, strict=False)


def test_load_state_dict_non_strict_returns_the_keys():
    e, t = make_net(ember), make_net(torch)
    sd = dict(t.state_dict())
    del sd["head.fc.bias"], sd["features.0.bn.running_var"]
    sd["other.weight"] = torch.ones(2)
    result_t = make_net(torch).load_state_dict(sd, strict=False)
    result_e = e.load_state_dict(sd, strict=False)
    assert result_e.missing_keys == result_t.missing_keys
    assert result_e.unexpected_keys == result_t.unexpected_keys
    close(e.head["fc"].weight, t.head["fc"].weight)  # the keys present were loaded
    with pytest.raises(TypeError, match="load_state_dict: expected a dict, received list"):
        e.load_state_dict([1, 2])


# ---------------------------------------------------------------- modes, apply, grads, to()
def test_train_eval_propagate():
    e, t = make_net(ember), make_net(torch)
    assert e.eval() is e
    t.eval()
    assert [m.training for m in e.modules()] == [m.training for m in t.modules()]
    assert not any(m.training for m in e.modules())
    e.features.train()  # a part of the model only
    t.features.train()
    assert [m.training for m in e.modules()] == [m.training for m in t.modules()]
    e.train()
    assert all(m.training for m in e.modules())
    drop = e.head["drop"]
    x = ember.ones(4, 16)
    assert (drop(x).numpy() == 0).any()
    e.eval()
    assert (drop(x).numpy() == 1).all()


def test_apply_visits_children_first():
    seen_e, seen_t = [], []
    make_net(ember).apply(lambda m: seen_e.append(type(m).__name__))
    make_net(torch).apply(lambda m: seen_t.append(type(m).__name__))
    assert seen_e == seen_t
    net = make_net(ember)

    def init_linear(m):
        if isinstance(m, ember.nn.Linear):
            ember.nn.init.zeros_(m.weight)

    assert net.apply(init_linear) is net
    assert all((m.weight.detach().numpy() == 0).all() for m in net.extras if hasattr(m, "weight"))


def test_zero_grad():
    e, _ = twin_nets()
    e(ember.tensor(rand(2, 2, 4, 4))).sum().backward()
    grads = {n: p.grad for n, p in e.named_parameters()}
    assert all(g is not None for g in grads.values())
    e.zero_grad(set_to_none=False)
    for n, p in e.named_parameters():
        assert p.grad is not None and tuple(p.grad.shape) == tuple(p.shape), n
        assert (p.grad.numpy() == 0).all()
    e.zero_grad()
    assert all(p.grad is None for p in e.parameters())


def test_requires_grad_freezes():
    e = make_net(ember)
    e.features.requires_grad_(False)
    assert not any(p.requires_grad for p in e.features.parameters())
    assert all(p.requires_grad for p in e.head.parameters())


def test_to_dtype_keeps_parameter_identity():
    e = make_net(ember)
    e(ember.randn(2, 2, 4, 4)).sum().backward()
    before = {n: p for n, p in e.named_parameters()}
    assert e.to(ember.float64) is e
    for n, p in e.named_parameters():
        assert p is before[n], n
        assert p.dtype is ember.float64 and p.grad.dtype is ember.float64
        assert isinstance(p, ember.nn.Parameter) and p.requires_grad
    assert e.features[0].bn.running_mean.dtype is ember.float64
    assert e.features[0].bn.num_batches_tracked.dtype is ember.int64
    e.float()
    assert all(p.dtype is ember.float32 for p in e.parameters())
    e.to(dtype=ember.float64, device="cpu")
    assert all(p.dtype is ember.float64 for p in e.parameters())
    e.to(ember.zeros(1, dtype=ember.float32))  # like a tensor: its dtype and device
    assert all(p.dtype is ember.float32 for p in e.parameters())
    with pytest.raises(TypeError, match="Module.to: expected a floating-point dtype, received"):
        e.to(ember.int64)


# ---------------------------------------------------------------- hooks
def test_forward_hooks_and_pre_hooks_as_torch():
    results = {}
    ref = None
    for lib in (torch, ember):
        net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2)).double()
        if lib is torch:
            ref = net
        else:
            net.load_state_dict(ref.state_dict())
        calls = []

        def pre(module, args, calls=calls):
            calls.append(("pre", type(module).__name__, tuple(args[0].shape)))
            return args[0] * 2  # a value replaces the inputs

        def post(module, args, output, calls=calls):
            calls.append(("post", type(module).__name__, tuple(output.shape)))
            return output + 1  # and replaces the output

        h1 = net[0].register_forward_pre_hook(pre)
        h2 = net[2].register_forward_hook(post)
        x = np.linspace(-1, 1, 6).reshape(2, 3)
        y = net(lib.tensor(x))
        h1.remove()
        h2.remove()
        y2 = net(lib.tensor(x))
        results[lib.__name__] = (calls, y.detach().numpy(), y2.detach().numpy())
    (ce, ye, ye2), (ct, yt, yt2) = results["ember"], results["torch"]
    assert ce == ct == [("pre", "Linear", (2, 3)), ("post", "Linear", (2, 2))]
    np.testing.assert_allclose(ye, yt, rtol=1e-7)
    np.testing.assert_allclose(ye2, yt2, rtol=1e-7)  # removed hooks are not called
    assert not np.allclose(ye, ye2)


def test_hook_order_and_none_results():
    m = ember.nn.Identity()
    order = []
    m.register_forward_hook(lambda mod, a, out: order.append(1))
    m.register_forward_hook(lambda mod, a, out: order.append(2))
    x = ember.ones(2)
    assert m(x) is x  # hooks returning None leave the output alone
    assert order == [1, 2]


# ---------------------------------------------------------------- repr
def test_repr_of_nested_model_equals_torch():
    e, t = make_net(ember), make_net(torch)
    assert repr(e) == repr(t)
    assert "(0-1): 2 x Linear(in_features=3, out_features=3, bias=True)" in repr(e)

    def custom(m):
        class WithExtra(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.inner = m.nn.ReLU()

            def extra_repr(self):
                return "size=3,\nmode=fast"

        class Bare(m.nn.Module):
            def extra_repr(self):
                return "a\nb"

        return m.nn.Sequential(WithExtra(), Bare(), m.nn.ModuleList(), m.nn.ModuleDict())

    assert repr(custom(ember)) == repr(custom(torch))


# ---------------------------------------------------------------- the layer path in errors
def test_error_deep_in_a_sequential_names_the_layer_path():
    def model(m):
        class Net(m.nn.Module):
            def __init__(self):
                super().__init__()
                self.features = m.nn.Sequential(
                    m.nn.Conv2d(3, 8, 3), m.nn.Conv2d(16, 8, 3, padding=1), m.nn.ReLU()
                )
                self.classifier = m.nn.Linear(8, 2)

            def forward(self, x):
                return self.classifier(self.features(x).mean((2, 3)))

        return Net()

    with pytest.raises(RuntimeError):
        model(torch)(torch.randn(2, 3, 6, 6))
    with pytest.raises(RuntimeError) as info:
        model(ember)(ember.randn(2, 3, 6, 6))
    assert str(info.value) == (
        "features.1 (Conv2d(16, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))): "
        "expected input with 16 channels (in_channels) in dim 1, received shape (2, 8, 4, 4)"
    )
    # the root layer has no path, only its configuration
    with pytest.raises(RuntimeError, match=re.escape(
            "Linear(in_features=8, out_features=2, bias=True): expected input with last "
            "dimension 8 (in_features), received shape (2, 5)")):  # fmt: skip
        ember.nn.Linear(8, 2)(ember.randn(2, 5))


def test_error_path_inside_containers_and_custom_blocks():
    net = make_net(ember)
    with pytest.raises(RuntimeError, match=re.escape(
            "features.0.conv (Conv2d(2, 4, kernel_size=(3, 3), stride=(1, 1), "
            "padding=(1, 1))): expected input with 2 channels")):  # fmt: skip
        net(ember.randn(1, 3, 4, 4))
    with pytest.raises(RuntimeError, match=re.escape("head.fc (Linear(")):
        net(ember.randn(1, 2, 6, 6))  # flattens to 36 features instead of 16


# ---------------------------------------------------------------- copying
def test_deepcopy_is_independent_and_keeps_paths():
    e, _ = twin_nets()
    c = copy.deepcopy(e)
    pe, pc = dict(e.named_parameters()), dict(c.named_parameters())
    assert list(pe) == list(pc)
    for n, p in pe.items():
        assert pc[n] is not p and isinstance(pc[n], ember.nn.Parameter)
        np.testing.assert_array_equal(pc[n].detach().numpy(), p.detach().numpy())
    with ember.no_grad():
        c.head["fc"].weight.fill_(0.0)
    assert not (e.head["fc"].weight.detach().numpy() == 0).all()
    with pytest.raises(RuntimeError, match=re.escape("features.0.conv (Conv2d(")):
        c(ember.randn(1, 3, 4, 4))


# ---------------------------------------------------------------- Sequential
def seqs(*names):
    """A Sequential of Linear layers (n -> n, told apart by in_features) in both libraries."""
    return [lib.nn.Sequential(*[lib.nn.Linear(n, n) for n in names]) for lib in (ember, torch)]


def same_layout(e, t):
    """The same keys in the same order, holding layers of the same sizes."""
    assert list(e._modules) == list(t._modules)
    assert [m.in_features for m in e] == [m.in_features for m in t]


def test_sequential_indexing_and_slices():
    e, t = seqs(1, 2, 3, 4)
    assert len(e) == 4 and e[0].in_features == 1 and e[-1].in_features == 4
    assert e[-4] is e[0]
    for sl in (slice(1, 3), slice(None, None, 2), slice(-2, None), slice(3, 1)):
        se, st = e[sl], t[sl]
        assert isinstance(se, ember.nn.Sequential)
        same_layout(se, st)  # a slice keeps the original names, as in PyTorch
        assert list(se.state_dict()) == list(st.state_dict())
    assert [m.in_features for m in e] == [1, 2, 3, 4]
    with pytest.raises(IndexError):
        t[4]
    with pytest.raises(IndexError, match="Sequential: index 4 is out of range for 4 modules"):
        e[4]
    with pytest.raises(IndexError, match="index -5 is out of range"):
        e[-5]
    with pytest.raises(TypeError, match="Sequential indices must be integers or slices"):
        e["0"]


def test_sequential_from_ordered_dict_and_forward():
    e = ember.nn.Sequential(OrderedDict([("fc", ember.nn.Linear(3, 2)), ("act", ember.nn.ReLU())]))
    t = torch.nn.Sequential(OrderedDict([("fc", torch.nn.Linear(3, 2)), ("act", torch.nn.ReLU())]))
    assert repr(e) == repr(t) and list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict(t.state_dict())
    x = rand(4, 3, dtype=np.float32)
    close(e(ember.tensor(x)), t(torch.from_numpy(x)), rtol=1e-6, atol=1e-7)
    assert e.fc is e[0]


def test_sequential_editing_matches_torch():
    e, t = seqs(1, 2, 3)
    for lib, s in ((ember, e), (torch, t)):
        s.append(lib.nn.Linear(4, 4))
        s.insert(1, lib.nn.Linear(5, 5))
        s.insert(-1, lib.nn.Linear(6, 6))
        s.extend([lib.nn.Linear(7, 7)])
        s[0] = lib.nn.Linear(8, 8)
    same_layout(e, t)
    assert [m.in_features for m in e] == [8, 5, 2, 3, 6, 4, 7]
    for s in (e, t):
        del s[2]
        del s[-1]
        del s[0:2]
    same_layout(e, t)  # renumbered "0", "1", … after each deletion
    assert e.pop(0).in_features == t.pop(0).in_features
    same_layout(e, t)
    assert e[0].path() == "0"  # the path follows the renumbering
    with pytest.raises(IndexError, match="Sequential.insert: index 9 is out of range"):
        e.insert(9, ember.nn.ReLU())


def test_sequential_delete_renames_named_layers_as_torch():
    def named(lib):
        n = lib.nn
        return n.Sequential(OrderedDict(a=n.Linear(1, 1), b=n.Linear(2, 2), c=n.Linear(3, 3)))

    e, t = named(ember), named(torch)
    del e[0]
    del t[0]
    same_layout(e, t)


def test_sequential_add_and_multiply():
    e1, t1 = seqs(1, 2)
    e2, t2 = seqs(3)
    same_layout(e1 + e2, t1 + t2)
    e1 += e2
    t1 += t2
    same_layout(e1, t1)
    same_layout(e2 * 3, t2 * 3)
    assert (e2 * 2)[0] is (e2 * 2)[1]  # the same layer twice, not copies
    with pytest.raises(TypeError, match="Sequential: can only add another Sequential"):
        e1 + [ember.nn.ReLU()]
    with pytest.raises(ValueError, match="Sequential: expected a positive count, received 0"):
        e1 * 0


# ---------------------------------------------------------------- ModuleList
def lists(*sizes):
    return [lib.nn.ModuleList([lib.nn.Linear(n, n) for n in sizes]) for lib in (ember, torch)]


def test_module_list():
    e, t = lists(1, 2, 3)
    assert len(e) == 3 and e[-1].in_features == 3 and [m.in_features for m in e] == [1, 2, 3]
    se, st = e[1:], t[1:]
    assert isinstance(se, ember.nn.ModuleList)
    same_layout(se, st)  # a slice is renumbered
    for lib, m in ((ember, e), (torch, t)):
        m.append(lib.nn.Linear(4, 4))
        m.extend([lib.nn.Linear(5, 5), lib.nn.Linear(6, 6)])
        m.insert(1, lib.nn.Linear(7, 7))
        m[0] = lib.nn.Linear(8, 8)
        m += [lib.nn.Linear(9, 9)]
        del m[2]
        del m[-2:]
    same_layout(e, t)
    assert list(e.state_dict()) == list(t.state_dict())
    same_layout(e + se, t + st)
    assert e.pop(1).in_features == 7
    assert repr(e) == repr(t.__class__([t[0], *list(t)[2:]]))
    with pytest.raises(IndexError, match="ModuleList: index 10 is out of range"):
        e[10]
    with pytest.raises(TypeError, match="ModuleList.extend: expected an iterable of modules"):
        e.extend(ember.nn.ReLU())
    with pytest.raises(TypeError, match="add_module: expected an nn.Module"):
        e.append("relu")


def test_module_list_parameters_belong_to_the_model():
    class Tower(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = ember.nn.ModuleList(ember.nn.Linear(2, 2) for _ in range(3))

    assert names(Tower().named_parameters())[:2] == ["blocks.0.weight", "blocks.0.bias"]
    assert len(list(Tower().parameters())) == 6


# ---------------------------------------------------------------- ModuleDict
def test_module_dict():
    def build(lib):
        n = lib.nn
        d = n.ModuleDict({"b": n.Linear(1, 1), "a": n.Linear(2, 2)})
        d["c"] = n.Linear(3, 3)
        d.update([("d", n.Linear(4, 4)), ("a", n.Linear(5, 5))])
        d.update(OrderedDict(e=n.Linear(6, 6)))
        return d

    e, t = build(ember), build(torch)
    assert list(e.keys()) == list(t.keys()) == ["b", "a", "c", "d", "e"]
    assert list(e) == list(t) and len(e) == len(t) == 5
    assert [m.in_features for m in e.values()] == [m.in_features for m in t.values()]
    assert [k for k, _ in e.items()] == list(e.keys())
    assert "c" in e and "z" not in e
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t)
    assert e.pop("c").in_features == 3 and "c" not in e
    del e["b"]
    assert list(e) == ["a", "d", "e"]
    with pytest.raises(KeyError):
        e["zzz"]
    with pytest.raises(ValueError, match="element 0 of the sequence should be a \\(key, module\\)"):
        e.update([ember.nn.ReLU()])
    e.clear()
    assert len(e) == 0 and list(e.parameters()) == []
