"""The model zoo against PyTorch twins: the same parameter names, the same outputs, and the
same training trajectory (losses over 50 optimizer steps in float64) from the same start."""

import math

import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import ember
import ember.optim
from ember import config, models
from ember.models._sampling import next_token


# ---------------------------------------------------------------------------- torch twins
class TorchLeNet5(tnn.Module):
    def __init__(self, num_classes=10, in_channels=1, input_size=32):
        super().__init__()
        self.conv1 = tnn.Conv2d(in_channels, 6, 5, padding=2 if input_size == 28 else 0)
        self.conv2 = tnn.Conv2d(6, 16, 5)
        self.fc1 = tnn.Linear(400, 120)
        self.fc2 = tnn.Linear(120, 84)
        self.fc3 = tnn.Linear(84, num_classes)

    def forward(self, x):
        x = TF.max_pool2d(TF.relu(self.conv1(x)), 2)
        x = TF.max_pool2d(TF.relu(self.conv2(x)), 2)
        x = TF.relu(self.fc1(x.flatten(1)))
        return self.fc3(TF.relu(self.fc2(x)))


class TorchCharLSTM(tnn.Module):
    def __init__(self, vocab_size, embed_dim, hidden_size, num_layers):
        super().__init__()
        self.embed = tnn.Embedding(vocab_size, embed_dim)
        self.lstm = tnn.LSTM(embed_dim, hidden_size, num_layers, batch_first=True)
        self.drop = tnn.Dropout(0.0)
        self.head = tnn.Linear(hidden_size, vocab_size)

    def forward(self, idx):
        return self.head(self.drop(self.lstm(self.embed(idx))[0]))


class TorchAttention(tnn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.n_head = n_head
        self.c_attn = tnn.Linear(d, 3 * d)
        self.c_proj = tnn.Linear(d, d)
        self.resid_dropout = tnn.Dropout(0.0)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = (
            t.reshape(B, T, self.n_head, C // self.n_head).transpose(1, 2)
            for t in self.c_attn(x).split(C, dim=2)
        )
        y = TF.scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).reshape(B, T, C)))


class TorchMLP(tnn.Module):
    def __init__(self, d):
        super().__init__()
        self.c_fc = tnn.Linear(d, 4 * d)
        self.gelu = tnn.GELU()
        self.c_proj = tnn.Linear(4 * d, d)
        self.dropout = tnn.Dropout(0.0)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class TorchBlock(tnn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.ln_1 = tnn.LayerNorm(d)
        self.attn = TorchAttention(d, n_head)
        self.ln_2 = tnn.LayerNorm(d)
        self.mlp = TorchMLP(d)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TorchGPT(tnn.Module):
    def __init__(self, vocab_size, block_size, n_layer, n_head, d_model, tie_weights=True):
        super().__init__()
        self.transformer = tnn.ModuleDict(
            {
                "wte": tnn.Embedding(vocab_size, d_model),
                "wpe": tnn.Embedding(block_size, d_model),
                "drop": tnn.Dropout(0.0),
                "h": tnn.ModuleList([TorchBlock(d_model, n_head) for _ in range(n_layer)]),
                "ln_f": tnn.LayerNorm(d_model),
            }
        )
        self.lm_head = tnn.Linear(d_model, vocab_size, bias=False)
        if tie_weights:
            self.lm_head.weight = self.transformer.wte.weight

    def forward(self, idx):
        tr = self.transformer
        x = tr.drop(tr.wte(idx) + tr.wpe(torch.arange(idx.shape[1])))
        for block in tr.h:
            x = block(x)
        return self.lm_head(tr.ln_f(x))


class TorchBasicBlock(tnn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = tnn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU(inplace=True)
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + idt)


class TorchResNet18(tnn.Module):
    """torchvision.models.resnet18's structure, written out (torchvision is not installed)."""

    def __init__(self, num_classes=1000, stem="imagenet"):
        super().__init__()
        if stem == "imagenet":
            self.conv1 = tnn.Conv2d(3, 64, 7, 2, 3, bias=False)
            self.maxpool = tnn.MaxPool2d(3, 2, 1)
        else:
            self.conv1 = tnn.Conv2d(3, 64, 3, 1, 1, bias=False)
            self.maxpool = tnn.Identity()
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU(inplace=True)
        self.inplanes = 64
        for i, (planes, stride) in enumerate([(64, 1), (128, 2), (256, 2), (512, 2)], 1):
            down = None
            if stride != 1 or self.inplanes != planes:
                down = tnn.Sequential(
                    tnn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                    tnn.BatchNorm2d(planes),
                )
            blocks = [TorchBasicBlock(self.inplanes, planes, stride, down)]
            self.inplanes = planes
            blocks.append(TorchBasicBlock(planes, planes))
            setattr(self, f"layer{i}", tnn.Sequential(*blocks))
        self.avgpool = tnn.AdaptiveAvgPool2d((1, 1))
        self.fc = tnn.Linear(512, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def torch_vgg11(num_classes, batch_norm, avgpool_size, hidden):
    """torchvision.models.vgg11(_bn)'s structure, with its avgpool and width as options."""
    feats, c = [], 3
    for v in (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"):
        if v == "M":
            feats.append(tnn.MaxPool2d(2, 2))
            continue
        feats.append(tnn.Conv2d(c, v, 3, padding=1))
        if batch_norm:
            feats.append(tnn.BatchNorm2d(v))
        feats.append(tnn.ReLU(inplace=True))
        c = v
    model = tnn.Module()
    model.features = tnn.Sequential(*feats)
    model.avgpool = tnn.AdaptiveAvgPool2d((avgpool_size, avgpool_size))
    model.classifier = tnn.Sequential(
        tnn.Linear(512 * avgpool_size**2, hidden), tnn.ReLU(True), tnn.Dropout(),
        tnn.Linear(hidden, hidden), tnn.ReLU(True), tnn.Dropout(), tnn.Linear(hidden, num_classes),
    )  # fmt: skip
    model.forward = lambda x: model.classifier(model.avgpool(model.features(x)).flatten(1))
    return model


# ---------------------------------------------------------------------------- training parity
def _optimizers(name, lr):
    if name == "sgd":
        return (
            lambda ps: ember.optim.SGD(ps, lr=lr, momentum=0.9),
            lambda ps: torch.optim.SGD(ps, lr=lr, momentum=0.9),
        )
    return (
        lambda ps: ember.optim.Adam(ps, lr=lr),
        lambda ps: torch.optim.Adam(ps, lr=lr),
    )


def _train_both(ember_model, torch_model, batches, loss_of, opt_name, lr):
    torch.manual_seed(0)
    torch_model.double()
    ember_model.double()
    ember_model.load_state_dict(torch_model.state_dict())
    make_e, make_t = _optimizers(opt_name, lr)
    opt_e, opt_t = make_e(ember_model.parameters()), make_t(torch_model.parameters())
    losses_e, losses_t = [], []
    for x, y in batches:
        opt_t.zero_grad()
        loss_t = loss_of(TF, torch_model(torch.from_numpy(x)), torch.from_numpy(y))
        loss_t.backward()
        opt_t.step()
        losses_t.append(loss_t.item())
        opt_e.zero_grad()
        loss_e = loss_of(ember.nn.functional, ember_model(ember.from_numpy(x)), ember.from_numpy(y))
        loss_e.backward()
        opt_e.step()
        losses_e.append(loss_e.item())
    np.testing.assert_allclose(losses_e, losses_t, rtol=1e-6, atol=0)
    # The weights after 50 steps agree too, key by key.
    sd_t = torch_model.state_dict()
    for k, v in ember_model.state_dict().items():
        np.testing.assert_allclose(v.numpy(), sd_t[k].numpy(), rtol=1e-6, atol=1e-9, err_msg=k)
    assert losses_t[-1] < losses_t[0]  # it learned something: the comparison is not vacuous


def _cls_loss(F, logits, y):
    return F.cross_entropy(logits, y)


def _lm_loss(F, logits, y):
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


STEPS = 50


@pytest.mark.parametrize("opt_name,lr", [("sgd", 0.01), ("adam", 1e-3)])
def test_lenet5_trains_like_pytorch(opt_name, lr):
    rng = np.random.default_rng(0)
    data = [(rng.standard_normal((4, 1, 28, 28)), rng.integers(0, 10, 4)) for _ in range(5)]
    batches = [data[i % 5] for i in range(STEPS)]
    torch.manual_seed(1)
    _train_both(models.LeNet5(input_size=28), TorchLeNet5(input_size=28), batches, _cls_loss,
                opt_name, lr)  # fmt: skip


def _text_batches(vocab, batch, seq, rng):
    # A repeating pattern with a little noise: learnable, so the losses fall.
    corpus = rng.permutation(vocab)[np.arange(400) % vocab]
    noise = rng.random(400) < 0.1
    corpus[noise] = rng.integers(0, vocab, noise.sum())
    out = []
    for _ in range(STEPS):
        starts = rng.integers(0, len(corpus) - seq - 1, batch)
        x = np.stack([corpus[s : s + seq] for s in starts])
        y = np.stack([corpus[s + 1 : s + seq + 1] for s in starts])
        out.append((x, y))
    return out


@pytest.mark.parametrize("opt_name,lr", [("sgd", 0.1), ("adam", 3e-3)])
def test_char_lstm_trains_like_pytorch(opt_name, lr):
    batches = _text_batches(12, 3, 10, np.random.default_rng(1))
    torch.manual_seed(2)
    _train_both(models.CharLSTM(12, 8, 16, 2), TorchCharLSTM(12, 8, 16, 2), batches, _lm_loss,
                opt_name, lr)  # fmt: skip


@pytest.mark.parametrize("opt_name,lr", [("sgd", 0.1), ("adam", 3e-3)])
def test_gpt_trains_like_pytorch(opt_name, lr):
    batches = _text_batches(16, 2, 16, np.random.default_rng(2))
    torch.manual_seed(3)
    ember_model = models.GPT(16, block_size=16, n_layer=2, n_head=2, d_model=32)
    _train_both(ember_model, TorchGPT(16, 16, 2, 2, 32), batches, _lm_loss, opt_name, lr)


# ---------------------------------------------------------------------------- names and outputs
def _same_keys_and_shapes(ember_model, torch_model):
    sd_e, sd_t = ember_model.state_dict(), torch_model.state_dict()
    assert list(sd_e) == list(sd_t)
    for k in sd_t:
        assert tuple(sd_e[k].shape) == tuple(sd_t[k].shape), k


def _same_outputs(ember_model, torch_model, x, train):
    torch_model.double().train(train)
    ember_model.double().train(train)
    ember_model.load_state_dict(torch_model.state_dict())
    with torch.no_grad():
        y_t = torch_model(torch.from_numpy(x)).numpy()
    y_e = ember_model(ember.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(y_e, y_t, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("stem", ["imagenet", "cifar"])
def test_resnet18_has_torchvision_names(stem):
    _same_keys_and_shapes(models.resnet18(stem=stem), TorchResNet18(stem=stem))


def test_resnet18_known_torchvision_keys():
    keys = list(models.resnet18().state_dict())
    assert len(keys) == 122  # torchvision's resnet18 state_dict has 122 entries
    assert keys[:3] == ["conv1.weight", "bn1.weight", "bn1.bias"]
    for k in ["layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
              "layer2.0.downsample.1.running_var", "layer4.1.bn2.num_batches_tracked",
              "fc.weight", "fc.bias"]:  # fmt: skip
        assert k in keys
    assert "layer1.0.downsample.0.weight" not in keys


@pytest.mark.parametrize("train", [False, True])
def test_resnet18_cifar_matches_torch(train):
    torch.manual_seed(0)
    x = np.random.default_rng(0).standard_normal((2, 3, 16, 16))
    _same_outputs(models.resnet18(10, stem="cifar"), TorchResNet18(10, stem="cifar"), x, train)


@pytest.mark.parametrize("batch_norm", [False, True])
def test_vgg11_has_torchvision_names_and_outputs(batch_norm):
    torch.manual_seed(0)
    twin = torch_vgg11(10, batch_norm, avgpool_size=1, hidden=32)
    model = models.vgg11(10, batch_norm=batch_norm, avgpool_size=1, hidden=32)
    _same_keys_and_shapes(model, twin)
    x = np.random.default_rng(0).standard_normal((2, 3, 32, 32))
    _same_outputs(model, twin, x, train=False)


def test_vgg11_default_is_torchvision_sized():
    import inspect

    defaults = {k: p.default for k, p in inspect.signature(models.vgg11).parameters.items()}
    assert defaults["num_classes"] == 1000 and defaults["hidden"] == 4096
    assert defaults["avgpool_size"] == 7 and defaults["dropout"] == 0.5
    sd = models.vgg11(hidden=8).state_dict()  # the full 4096-wide head takes seconds to init
    assert tuple(sd["classifier.0.weight"].shape) == (8, 512 * 7 * 7)
    assert tuple(sd["classifier.6.weight"].shape) == (1000, 8)
    assert [k for k in sd if k.startswith("features.") and k.endswith("weight")][:2] == [
        "features.0.weight",
        "features.3.weight",
    ]
    sd_bn = models.vgg11(batch_norm=True, hidden=8).state_dict()
    assert "features.1.running_mean" in sd_bn and "features.4.weight" in sd_bn


def test_gpt_untied_and_tied_heads():
    tied = models.GPT(10, 8, 1, 2, 16)
    assert tied.lm_head.weight is tied.transformer.wte.weight
    assert "lm_head.weight" in tied.state_dict()
    assert sum(1 for _ in tied.parameters()) == len(list(tied.state_dict())) - 1
    untied = models.GPT(10, 8, 1, 2, 16, tie_weights=False)
    assert untied.lm_head.weight is not untied.transformer.wte.weight
    _same_keys_and_shapes(untied, TorchGPT(10, 8, 1, 2, 16, tie_weights=False))


def test_gpt_initialisation_is_gpt2s():
    ember.manual_seed(0)
    m = models.GPT(50, 16, n_layer=4, n_head=2, d_model=64)
    wte = m.transformer.wte.weight.detach().numpy()
    proj = m.transformer.h[0].mlp.c_proj.weight.detach().numpy()
    assert abs(wte.std() - 0.02) < 0.002
    assert abs(proj.std() - 0.02 / math.sqrt(8)) < 0.001
    assert not m.transformer.h[0].attn.c_attn.bias.detach().numpy().any()


@pytest.mark.parametrize(
    "make,shape,out",
    [
        (lambda: models.MLP(64, (32, 16), 10, dropout=0.1), (5, 1, 8, 8), (5, 10)),
        (lambda: models.SmallCNN(10, input_size=8), (5, 1, 8, 8), (5, 10)),
        (lambda: models.LeNet5(), (2, 1, 32, 32), (2, 10)),
        (lambda: models.LeNet5(10, in_channels=3), (2, 3, 32, 32), (2, 10)),
        (lambda: models.LeNet5(7, input_size=28, activation="tanh"), (2, 1, 28, 28), (2, 7)),
        (lambda: models.resnet18(10, stem="cifar"), (1, 3, 32, 32), (1, 10)),
        (lambda: models.resnet18(5), (1, 3, 64, 64), (1, 5)),
        (lambda: models.vgg11(10, True, avgpool_size=1, hidden=64), (1, 3, 32, 32), (1, 10)),
    ],
)
def test_image_model_output_shapes(make, shape, out):
    assert tuple(make()(ember.randn(*shape)).shape) == out


def test_text_model_output_shapes():
    idx = ember.randint(0, 11, (3, 7))
    assert tuple(models.CharLSTM(11, 4, 8, 1)(idx).shape) == (3, 7, 11)
    assert tuple(models.GPT(11, 8, 1, 1, 8)(idx).shape) == (3, 7, 11)


def test_model_argument_errors():
    with pytest.raises(ValueError, match="LeNet5: expected input_size 32"):
        models.LeNet5(input_size=8)
    with pytest.raises(ValueError, match="d_model=30 must be divisible by n_head=4"):
        models.GPT(10, 8, 1, 4, 30)
    with pytest.raises(ValueError, match="stem 'imagenet' or 'cifar'"):
        models.resnet18(stem="tiny")
    with pytest.raises(ValueError, match="hidden\\[1\\] to be a positive integer"):
        models.MLP(4, (3, 0), 2)
    with pytest.raises(ValueError, match="longer than block_size=8"):
        models.GPT(10, 8, 1, 2, 8)(ember.zeros(1, 9, dtype=ember.int64))


# ---------------------------------------------------------------------------- generation
@pytest.mark.parametrize("make", [lambda: models.CharLSTM(13, 8, 16, 1),
                                  lambda: models.GPT(13, 8, 1, 2, 16)])  # fmt: skip
def test_generate_is_deterministic_with_a_seeded_generator(make):
    m = make()
    prompt = [[1, 2, 3], [4, 5, 6]]
    a = m.generate(prompt, 12, temperature=0.9, top_k=5, generator=ember.Generator().manual_seed(7))
    b = m.generate(prompt, 12, temperature=0.9, top_k=5, generator=ember.Generator().manual_seed(7))
    c = m.generate(prompt, 12, temperature=0.9, top_k=5, generator=ember.Generator().manual_seed(8))
    assert tuple(a.shape) == (2, 15) and a.dtype == ember.int64
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist()
    assert a[:, :3].tolist() == prompt
    assert m.training  # generate leaves the mode it found
    greedy = m.generate(prompt, 6, temperature=0)
    assert m.generate(prompt, 6, top_k=1, generator=ember.Generator().manual_seed(1)).tolist() \
        == greedy.tolist()  # fmt: skip


@pytest.mark.parametrize("make", [lambda: models.CharLSTM(13, 8, 16, 1),
                                  lambda: models.GPT(13, 16, 1, 2, 16)])  # fmt: skip
def test_generate_respects_top_k(make):
    m = make().eval()
    out = m.generate([[3, 1], [2, 2], [0, 7]], 10, temperature=2.0, top_k=3,
                     generator=ember.Generator().manual_seed(0))  # fmt: skip
    # Causal models: the logits at position t of the whole sequence are those generation saw.
    logits = m(out[:, :-1]).detach().numpy()
    for b in range(out.shape[0]):
        for t in range(1, out.shape[1] - 1):
            top3 = set(np.argsort(logits[b, t])[-3:].tolist())
            assert out[b, t + 1].item() in top3


def test_next_token_top_k_and_temperature():
    rng = np.random.default_rng(0)
    z = rng.standard_normal((4000, 6))
    g = ember.Generator().manual_seed(0)
    ids = next_token(ember.from_numpy(z), 1.0, 2, g)
    top2 = np.argsort(z, axis=1)[:, -2:]
    assert (ids[:, None] == top2).any(axis=1).all()
    # With one fixed row, the frequencies follow softmax(z / T).
    row = np.array([[0.0, 1.0, 2.0]])
    draws = np.concatenate(
        [next_token(ember.from_numpy(row.repeat(1000, 0)), 0.5, None, g) for _ in range(4)]
    )
    p = np.exp(row[0] / 0.5) / np.exp(row[0] / 0.5).sum()
    freq = np.bincount(draws, minlength=3) / len(draws)
    assert np.abs(freq - p).max() < 0.02


def test_generate_text_with_a_vocab():
    vocab = "abcdefgh"
    m = models.CharLSTM(8, 4, 8, 1, vocab=vocab)
    text = m.generate("abc", 5, generator=ember.Generator().manual_seed(0))
    assert isinstance(text, str) and text.startswith("abc") and len(text) == 8
    assert set(text) <= set(vocab)
    with pytest.raises(ValueError, match="outside the vocabulary: \\['z'\\]"):
        m.generate("az", 2)
    with pytest.raises(ValueError, match="needs the vocabulary"):
        models.GPT(8, 8, 1, 1, 8).generate("ab", 2)
    with pytest.raises(ValueError, match="top_k to be None or an int >= 1"):
        m.generate("ab", 2, top_k=0)
    with pytest.raises(ValueError, match="temperature >= 0"):
        m.generate("ab", 2, temperature=-1.0)


# ---------------------------------------------------------------------------- presets
@pytest.mark.parametrize("name", config.preset_names())
def test_preset_configs_load_and_resolve(name):
    cfg = config.resolve(config.load(name))
    assert cfg["model"]["name"] in models.MODELS
    assert set(cfg) == {"model", "data", "solver", "run"}


def test_every_model_has_a_preset():
    presets = {config.resolve(config.load(n))["model"]["name"] for n in config.preset_names()}
    assert {"mlp", "small_cnn", "lenet5", "resnet18", "vgg11", "char_lstm", "gpt"} <= presets
