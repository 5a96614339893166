"""MultiheadAttention and the Transformer's layers against PyTorch.

As in test_nn_rnn, each oracle check runs the layer in both libraries with its parameters
replaced by the same arrays, so ``check`` compares outputs and the gradients of the inputs,
of float masks and of every parameter. Layers with dropout run in eval mode there; the
train-mode dropout is tested by its properties.
"""

import copy
import math

import numpy as np
import pytest
import torch

import ember
from ember import nn
from tests.oracle import check, check_raises, rand

E, H = 4, 2  # embed_dim, num_heads: head_dim 2

# Bool padding masks beside float attention masks warn (in both libraries; tested below), as
# does torch's TransformerEncoder about its nested-tensor fast path, which ember lacks.
pytestmark = [
    pytest.mark.filterwarnings("ignore:.*mismatched.*:UserWarning"),
    pytest.mark.filterwarnings("ignore:.*have different dtypes.*:UserWarning"),
    pytest.mark.filterwarnings("ignore:enable_nested_tensor is True:UserWarning"),
]


def _param_arrays(torch_layer, dtype=np.float64):
    names = [n for n, _ in torch_layer.named_parameters()]
    return names, [rand(*p.shape, dtype=dtype) * 0.7 for _, p in torch_layer.named_parameters()]


def _call(m, layer, names, params, *args, **kwargs):
    if m is torch:
        return torch.func.functional_call(layer, dict(zip(names, params)), args, kwargs)
    for name, p in zip(names, params):
        mod, _, leaf = name.rpartition(".")
        layer.get_submodule(mod)._parameters[leaf] = p
    return layer(*args, **kwargs)


def _dtype(m, npdtype):
    return m.float64 if npdtype == np.float64 else m.float32


def check_layer(make, run, data, dtype=np.float64, **check_kw):
    """``make(m)`` builds the layer, ``run(m, layer, call, *data)`` calls it through
    ``call(*args, **kwargs)``; the parameters are arrays passed after ``data``."""
    names, params = _param_arrays(make(torch), dtype)
    n = len(params)

    def f(m, *a):
        layer = make(m)
        return run(m, lambda *args, **kw: _call(m, layer, names, a[-n:], *args, **kw), *a[:-n])

    check(f, *data, *params, **check_kw)


def _mha(dtype=np.float64, **kw):
    return lambda m: m.nn.MultiheadAttention(E, H, dtype=_dtype(m, dtype), **kw)


def _weights_out(out):
    y, w = out
    return [y] if w is None else [y, w]


def _seq(length, n, d=E, batch_first=False, dtype=np.float64):
    return rand(n, length, d, dtype=dtype) if batch_first else rand(length, n, d, dtype=dtype)


def _padding(n, s):
    kpm = np.zeros((n, s), dtype=bool)
    kpm[0, -1] = True
    kpm[-1, 0] = True
    return kpm


def _tail_padding(n, s):
    # For causal masks: with the first key padded, row 0 would be fully masked, which
    # PyTorch's scaled_dot_product_attention turns into zeros and its need_weights path
    # (and ember) into NaN.
    kpm = np.zeros((n, s), dtype=bool)
    kpm[0, -1] = True
    return kpm


def _bool_mask(length, s):
    mask = np.zeros((length, s), dtype=bool)
    # With _padding, never a whole row: that gives NaN in both libraries.
    mask[0, 1] = True
    mask[-1, 0] = True
    return mask


# ---------------------------------------------------------------- MultiheadAttention
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("average", [True, False])
def test_mha_self_attention_with_bool_masks(batch_first, need_weights, average):
    L, N = 3, 2
    x = _seq(L, N, batch_first=batch_first)
    check_layer(
        _mha(batch_first=batch_first),
        lambda m, call, x, am, kpm: _weights_out(
            call(
                x,
                x,
                x,
                key_padding_mask=kpm,
                attn_mask=am,
                need_weights=need_weights,
                average_attn_weights=average,
            )
        ),
        (x, _bool_mask(L, L), _padding(N, L)),
        gradcheck=batch_first and need_weights and average,
    )


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("kind", ["float2d", "float3d", "bool3d", "float_kpm", "float_both"])
def test_mha_masks(need_weights, kind):
    L, S, N = 3, 5, 2
    masks = {
        "float2d": (rand(L, S), None),
        "float3d": (rand(N * H, L, S), None),
        "bool3d": (np.broadcast_to(_bool_mask(L, S), (N * H, L, S)).copy(), None),
        "float_kpm": (None, rand(N, S)),
        "float_both": (rand(L, S), rand(N, S)),
    }[kind]
    data = (_seq(L, N), _seq(S, N), *[mk for mk in masks if mk is not None])

    def run(m, call, q, kv, *ms):
        it = iter(ms)
        am = next(it) if masks[0] is not None else None
        kpm = next(it) if masks[1] is not None else None
        return _weights_out(
            call(q, kv, kv, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights)
        )

    check_layer(_mha(), run, data, gradcheck=kind == "float_both")


def test_mha_distinct_query_key_value():
    L, S, N = 3, 4, 2
    check_layer(
        _mha(),
        lambda m, call, q, k, v: _weights_out(call(q, k, v)),
        (_seq(L, N), _seq(S, N), _seq(S, N)),
    )


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_kdim_vdim(need_weights):
    L, S, N = 3, 4, 2
    check_layer(
        _mha(kdim=3, vdim=5, batch_first=True),
        lambda m, call, q, k, v, kpm: _weights_out(
            call(q, k, v, key_padding_mask=kpm, need_weights=need_weights)
        ),
        (_seq(L, N, batch_first=True), _seq(S, N, 3, True), _seq(S, N, 5, True), _padding(N, S)),
        gradcheck=need_weights,
    )


@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_bias_kv_and_zero_attn(need_weights):
    L, S, N = 3, 4, 2
    check_layer(
        _mha(add_bias_kv=True, add_zero_attn=True),
        lambda m, call, q, kv, am, kpm: _weights_out(
            call(q, kv, kv, attn_mask=am, key_padding_mask=kpm, need_weights=need_weights)
        ),
        (_seq(L, N), _seq(S, N), _bool_mask(L, S), _padding(N, S)),
        gradcheck=need_weights,
    )


def test_mha_without_bias():
    x = _seq(3, 2)
    check_layer(_mha(bias=False), lambda m, call, x: _weights_out(call(x, x, x)), (x,))


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("average", [True, False])
def test_mha_unbatched(need_weights, average):
    L, S = 3, 4
    check_layer(
        _mha(),
        lambda m, call, q, kv, am, kpm: _weights_out(
            call(
                q,
                kv,
                kv,
                attn_mask=am,
                key_padding_mask=kpm,
                need_weights=need_weights,
                average_attn_weights=average,
            )
        ),
        (rand(L, E), rand(S, E), rand(H, L, S), _padding(1, S)[0]),
        gradcheck=False,
    )


@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("with_padding", [False, True])
def test_mha_is_causal_hint(need_weights, with_padding):
    L, N = 4, 2
    causal = np.triu(np.ones((L, L), dtype=bool), 1)
    data = (_seq(L, N), causal) + ((_tail_padding(N, L),) if with_padding else ())
    check_layer(
        _mha(),
        lambda m, call, x, am, *kpm: _weights_out(
            call(
                x,
                x,
                x,
                attn_mask=am,
                key_padding_mask=kpm[0] if kpm else None,
                need_weights=need_weights,
                is_causal=True,
            )
        ),
        data,
        gradcheck=False,
    )


def test_mha_float32_and_second_order():
    x = _seq(3, 2, dtype=np.float32)
    check_layer(
        _mha(np.float32),
        lambda m, call, x, am: _weights_out(call(x, x, x, attn_mask=am)),
        (x, rand(3, 3, dtype=np.float32)),
        dtype=np.float32,
    )
    check_layer(
        _mha(),
        lambda m, call, q, kv: _weights_out(call(q, kv, kv)),
        (_seq(2, 2), _seq(3, 2)),
        gradcheck=False,
        gradgrad=True,
    )


def test_mha_dropout_in_training_drops_attention_weights():
    mha = nn.MultiheadAttention(E, H, dropout=0.5).double()
    x = ember.tensor(_seq(6, 3))
    _, w_eval = mha.eval()(x, x, x, average_attn_weights=False)
    ember.manual_seed(0)
    y1, w_train = mha.train()(x, x, x, average_attn_weights=False)
    w_eval, w_train = w_eval.detach().numpy(), w_train.detach().numpy()
    kept = w_train != 0
    assert 0.3 < kept.mean() < 0.7
    np.testing.assert_allclose(w_train[kept], 2 * w_eval[kept], rtol=1e-12)
    ember.manual_seed(0)
    y2, _ = mha(x, x, x, average_attn_weights=False)
    np.testing.assert_array_equal(y1.detach().numpy(), y2.detach().numpy())
    ember.manual_seed(0)  # the need_weights=False path drops too
    y3, _ = mha(x, x, x, need_weights=False)
    assert not np.allclose(y3.detach().numpy(), mha.eval()(x, x, x)[0].detach().numpy())


@pytest.mark.parametrize(
    "kw", [{}, {"kdim": 3, "vdim": 5, "bias": False}, {"add_bias_kv": True, "batch_first": True}]
)
def test_mha_state_dict_repr_and_load(kw):
    t = torch.nn.MultiheadAttention(E, H, **kw).double()
    e = nn.MultiheadAttention(E, H, **kw).double()
    assert list(e.state_dict()) == list(t.state_dict())
    assert repr(e) == repr(t)
    e.load_state_dict(t.state_dict())
    bf = kw.get("batch_first", False)
    q, k, v = (
        _seq(3, 2, E, bf),
        _seq(4, 2, kw.get("kdim", E), bf),
        _seq(4, 2, kw.get("vdim", E), bf),
    )
    ye, we = e(ember.tensor(q), ember.tensor(k), ember.tensor(v))
    yt, wt = t(torch.tensor(q), torch.tensor(k), torch.tensor(v))
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(we.detach().numpy(), wt.detach().numpy(), rtol=1e-7, atol=1e-12)


def test_mha_default_init():
    ember.manual_seed(0)
    e = 64
    mha = nn.MultiheadAttention(e, 4, add_bias_kv=True)
    w = mha.in_proj_weight.detach().numpy()
    bound = math.sqrt(6 / (e + 3 * e))  # Xavier-uniform of a (3e, e) matrix
    assert w.min() >= -bound and w.max() <= bound and w.max() > 0.95 * bound
    np.testing.assert_allclose(w.std(), bound / math.sqrt(3), rtol=0.05)
    assert not mha.in_proj_bias.detach().numpy().any()
    assert not mha.out_proj.bias.detach().numpy().any()
    assert np.abs(mha.out_proj.weight.detach().numpy()).max() <= 1 / math.sqrt(e)
    bk = np.concatenate([mha.bias_k.detach().numpy().ravel(), mha.bias_v.detach().numpy().ravel()])
    np.testing.assert_allclose(bk.std(), 1 / math.sqrt(e), rtol=0.25)  # Xavier-normal
    sep = nn.MultiheadAttention(e, 4, kdim=16)
    assert sep.in_proj_weight is None and tuple(sep.k_proj_weight.shape) == (e, 16)
    assert np.abs(sep.k_proj_weight.detach().numpy()).max() <= math.sqrt(6 / (e + 16))


# ---------------------------------------------------------------- encoder and decoder layers
def _enc_layer(dtype=np.float64, **kw):
    def make(m):
        act = kw.get("activation", "relu")
        args = {**kw, "activation": act(m) if callable(act) else act}
        return m.nn.TransformerEncoderLayer(E, H, 8, dtype=_dtype(m, dtype), **args).eval()

    return make


def _dec_layer(**kw):
    return lambda m: m.nn.TransformerDecoderLayer(E, H, 8, dtype=m.float64, **kw).eval()


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer(norm_first, activation, batch_first):
    S, N = 3, 2
    check_layer(
        _enc_layer(norm_first=norm_first, activation=activation, batch_first=batch_first),
        lambda m, call, x, mask, kpm: call(x, src_mask=mask, src_key_padding_mask=kpm),
        (_seq(S, N, batch_first=batch_first), _bool_mask(S, S), _padding(N, S)),
        gradcheck=not batch_first and activation == "gelu",
    )


@pytest.mark.parametrize("activation", [lambda m: m.nn.functional.silu, lambda m: m.nn.GELU()])
def test_encoder_layer_callable_activation_float_mask(activation):
    check_layer(
        _enc_layer(activation=activation, norm_first=True),
        lambda m, call, x, mask: call(x, src_mask=mask),
        (_seq(3, 2), rand(3, 3)),
        gradcheck=False,
    )


def test_encoder_layer_unbatched_causal_and_float32():
    S = 4
    causal = np.triu(np.ones((S, S), dtype=bool), 1)
    check_layer(
        _enc_layer(),
        lambda m, call, x, mask: call(x, src_mask=mask, is_causal=True),
        (rand(S, E), causal),
        gradcheck=False,
    )
    check_layer(
        _enc_layer(np.float32),
        lambda m, call, x, kpm: call(x, src_key_padding_mask=kpm),
        (_seq(3, 2, dtype=np.float32), _padding(2, 3)),
        dtype=np.float32,
    )


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_decoder_layer(norm_first, activation):
    T, S, N = 3, 4, 2
    causal = np.triu(np.ones((T, T), dtype=bool), 1)
    check_layer(
        _dec_layer(norm_first=norm_first, activation=activation),
        lambda m, call, tgt, mem, tm, mm, tkpm, mkpm: call(
            tgt,
            mem,
            tgt_mask=tm,
            memory_mask=mm,
            tgt_key_padding_mask=tkpm,
            memory_key_padding_mask=mkpm,
            tgt_is_causal=True,
        ),
        (_seq(T, N), _seq(S, N), causal, rand(T, S), _tail_padding(N, T), _padding(N, S)),
        gradcheck=norm_first and activation == "relu",
    )


def test_decoder_layer_batch_first_unmasked():
    check_layer(
        _dec_layer(batch_first=True),
        lambda m, call, tgt, mem: call(tgt, mem),
        (_seq(3, 2, batch_first=True), _seq(2, 2, batch_first=True)),
        gradcheck=False,
    )


# ---------------------------------------------------------------- stacks
def _encoder(norm):
    def make(m):
        layer = m.nn.TransformerEncoderLayer(E, H, 8, dtype=m.float64)
        ln = m.nn.LayerNorm(E, dtype=m.float64) if norm else None
        kw = {"enable_nested_tensor": False} if m is torch else {}
        return m.nn.TransformerEncoder(layer, 2, ln, **kw).eval()

    return make


def _decoder(m):
    layer = m.nn.TransformerDecoderLayer(E, H, 8, norm_first=True, dtype=m.float64)
    return m.nn.TransformerDecoder(layer, 2, m.nn.LayerNorm(E, dtype=m.float64)).eval()


@pytest.mark.parametrize("norm", [False, True])
def test_encoder_stack(norm):
    S, N = 4, 2
    causal = np.triu(np.full((S, S), -np.inf), 1)  # detected as causal (is_causal=None)
    check_layer(
        _encoder(norm),
        lambda m, call, x, kpm: call(x, mask=m.tensor(causal), src_key_padding_mask=kpm),
        (_seq(S, N), _tail_padding(N, S)),
        gradcheck=False,
    )


def test_decoder_stack():
    T, S, N = 3, 4, 2
    check_layer(
        _decoder,
        lambda m, call, tgt, mem, tm: call(tgt, mem, tgt_mask=tm),
        (_seq(T, N), _seq(S, N), rand(T, T)),
        gradcheck=False,
    )


def test_transformer():
    def make(m):
        return m.nn.Transformer(E, H, 1, 1, 8, dtype=m.float64).eval()

    def run(m, call, src, tgt):
        mask = m.nn.Transformer.generate_square_subsequent_mask(3, dtype=m.float64)
        return call(src, tgt, tgt_mask=mask)

    check_layer(make, run, (_seq(4, 2), _seq(3, 2)), gradcheck=False)


def test_generate_square_subsequent_mask():
    e = nn.Transformer.generate_square_subsequent_mask(4).numpy()
    t = torch.nn.Transformer.generate_square_subsequent_mask(4).numpy()
    np.testing.assert_array_equal(e, t)
    assert e.dtype == np.float32


def test_encoder_clones_are_deep_copies():
    layer = nn.TransformerEncoderLayer(E, H, 8)
    enc = nn.TransformerEncoder(layer, 3)
    params = [list(m.parameters()) for m in enc.layers]
    originals = list(layer.parameters())
    ids = {id(p) for ps in params for p in ps}
    assert len(ids) == 3 * len(originals)  # every clone has its own Parameters
    assert not ids & {id(p) for p in originals}
    for ps in params:
        for p, q in zip(ps, originals):
            assert isinstance(p, nn.Parameter) and p.requires_grad
            np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    with ember.no_grad():
        enc.layers[0].linear1.weight.add_(1.0)
    assert not np.array_equal(
        enc.layers[0].linear1.weight.detach().numpy(), enc.layers[1].linear1.weight.detach().numpy()
    )
    # Gradients reach each clone's own parameters.
    enc(ember.randn(3, 2, E)).sum().backward()
    assert all(p.grad is not None for ps in params for p in ps)
    assert all(p.grad is None for p in originals)
    assert copy.deepcopy(enc.layers[0].self_attn).out_proj.weight is not params[0][2]


def test_state_dicts_and_reprs_match_torch():
    pairs = [
        lambda m: m.nn.TransformerEncoderLayer(E, H, 8, norm_first=True, bias=False),
        lambda m: m.nn.TransformerDecoderLayer(E, H, 8, activation="gelu"),
        lambda m: m.nn.TransformerEncoder(
            m.nn.TransformerEncoderLayer(E, H, 8), 2, m.nn.LayerNorm(E), enable_nested_tensor=False
        ),
        lambda m: m.nn.TransformerDecoder(m.nn.TransformerDecoderLayer(E, H, 8), 2),
        lambda m: m.nn.Transformer(E, H, 2, 1, 8),
    ]
    for make in pairs:
        e, t = make(ember), make(torch)
        assert list(e.state_dict()) == list(t.state_dict())
        assert repr(e) == repr(t)
    # Loading torch's weights gives torch's output through the ordinary module API.
    e, t = pairs[2](ember).double().eval(), pairs[2](torch).double().eval()
    e.load_state_dict(t.state_dict())
    x = _seq(3, 2)
    with torch.no_grad():
        yt = t(torch.tensor(x)).numpy()
    np.testing.assert_allclose(e(ember.tensor(x)).detach().numpy(), yt, rtol=1e-7, atol=1e-12)


def test_transformer_init_is_xavier():
    ember.manual_seed(0)
    model = nn.Transformer(16, 2, 1, 1, 32)
    w = model.encoder.layers[0].linear1.weight.detach().numpy()  # (32, 16)
    bound = math.sqrt(6 / (16 + 32))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound


def test_encoder_layer_dropout_in_training():
    layer = nn.TransformerEncoderLayer(E, H, 8, dropout=0.5).double()
    x = ember.tensor(_seq(5, 3))
    ember.manual_seed(0)
    y1 = layer(x).detach().numpy()
    ember.manual_seed(0)
    y2 = layer(x).detach().numpy()
    np.testing.assert_array_equal(y1, y2)
    y_eval = layer.eval()(x).detach().numpy()
    assert not np.allclose(y1, y_eval)
    # with p = 0 training and eval agree
    layer0 = nn.TransformerEncoderLayer(E, H, 8, dropout=0.0).double()
    np.testing.assert_array_equal(layer0(x).detach().numpy(), layer0.eval()(x).detach().numpy())


def test_mixed_mask_dtypes_warn():
    mha = nn.MultiheadAttention(E, H).double()
    x = ember.tensor(_seq(3, 2))
    with pytest.warns(UserWarning, match="key_padding_mask \\(bool\\) and attn_mask \\(float64\\)"):
        mha(
            x,
            x,
            x,
            key_padding_mask=ember.tensor(_padding(2, 3)),
            attn_mask=ember.zeros(3, 3).double(),
        )


# ---------------------------------------------------------------- errors
def _f32(*shape):
    return rand(*shape, dtype=np.float32)


def test_mha_errors():
    check_raises(
        lambda m: m.nn.MultiheadAttention(4, 3),
        match="embed_dim must be divisible by num_heads, received embed_dim=4, num_heads=3",
    )
    mha = lambda m: m.nn.MultiheadAttention(4, 2)
    err = check_raises(
        lambda m, x: mha(m)(x, x, x),
        _f32(3, 2, 5),
        match="expected query of size 4 in its last dimension (embed_dim), "
        "received shape (3, 2, 5)",
    )
    assert str(err).startswith("MultiheadAttention(embed_dim=4, num_heads=2): ")
    check_raises(
        lambda m, q, k, v: mha(m)(q, k, v),
        _f32(3, 2, 4),
        _f32(5, 2, 4),
        _f32(4, 2, 4),
        match="expected key and value with the same sequence length and batch size",
    )
    check_raises(
        lambda m, q, k: mha(m)(q, k, k),
        _f32(3, 2, 4),
        _f32(5, 3, 4),
        match="expected query and key with the same batch size (dim 1)",
    )
    check_raises(
        lambda m, x: mha(m)(x, x, x),
        _f32(3, 4, 2, 4),
        match="expected query of 3 dims (batched) or 2 dims (unbatched)",
    )
    check_raises(
        lambda m, q, k: mha(m)(q, k, k),
        _f32(3, 2, 4),
        _f32(2, 4),
        match="expected key and value of 3 dims like the query",
    )
    x = _f32(3, 2, 4)
    check_raises(
        lambda m, x, am: mha(m)(x, x, x, attn_mask=am),
        x,
        _f32(2, 3),
        match="expected attn_mask of shape (3, 3) (L, S) or (4, 3, 3) (N * num_heads, "
        "L, S), received (2, 3)",
    )
    check_raises(
        lambda m, x, am: mha(m)(x, x, x, attn_mask=am), x, _f32(2, 3, 3), match="received (2, 3, 3)"
    )
    check_raises(
        lambda m, x, kpm: mha(m)(x, x, x, key_padding_mask=kpm),
        x,
        np.zeros((2, 4), dtype=bool),
        match="expected key_padding_mask of shape (2, 3) (N, S), received (2, 4)",
    )
    check_raises(
        lambda m, x, kpm: mha(m)(x, x, x, key_padding_mask=kpm),
        x,
        np.zeros((2, 3), dtype=np.int64),
        match="expected key_padding_mask of dtype bool or floating point, received int64",
    )
    check_raises(
        lambda m, x: mha(m)(x, x, x, is_causal=True),
        x,
        match="is_causal=True is a hint that attn_mask is the causal mask",
    )
    check_raises(
        lambda m, x, am: mha(m).double()(x, x, x, attn_mask=am),
        x.astype(np.float64),
        _f32(3, 3),
        match="expected a float attn_mask of the query's dtype float64",
    )
    check_raises(
        lambda m, x: mha(m)(x, x, x), x.astype(np.float64), match="expected input of dtype float32"
    )


def test_layer_errors():
    check_raises(
        lambda m: m.nn.TransformerEncoderLayer(4, 2, activation="tanh"),
        match="activation must be 'relu', 'gelu' or a callable, received 'tanh'",
    )
    check_raises(
        lambda m, x: m.nn.TransformerEncoderLayer(4, 2, 8)(x),
        _f32(3, 2, 6),
        match="expected src of 3 dims (batched) or 2 dims (unbatched) with size 4 in "
        "the last (d_model), received shape (3, 2, 6)",
    )
    check_raises(
        lambda m, t, s: m.nn.TransformerDecoderLayer(4, 2, 8)(t, s),
        _f32(3, 2, 4),
        _f32(3, 2, 5),
        match="expected memory of 3 dims",
    )
    model = lambda m: m.nn.Transformer(4, 2, 1, 1, 8)
    check_raises(
        lambda m, s, t: model(m)(s, t),
        _f32(3, 2, 4),
        _f32(3, 3, 4),
        match="expected src and tgt with the same batch size (dim 1)",
    )
    check_raises(
        lambda m, s, t: model(m)(s, t),
        _f32(3, 2, 4),
        _f32(3, 2, 6),
        match="expected src and tgt with 4 features (d_model)",
    )
    encoder = lambda m: m.nn.TransformerEncoder(m.nn.TransformerEncoderLayer(4, 2, 8), 2)
    check_raises(
        lambda m, x: encoder(m)(x),
        _f32(4),
        match="expected src of 3 dims (batched) or 2 dims (unbatched), received shape (4,)",
    )
