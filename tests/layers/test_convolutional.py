"""Convolution layers: Conv1D-3D, Conv*Transpose, SeparableConv*, DepthwiseConv*.

Numbers are checked against NumPy loops written here from the TensorFlow definitions
('same' padding with the odd pixel after, transposed convolution as the gradient of a
convolution) and against the `torch.nn` modules holding the permuted weights.
"""

import itertools
import json
import math

import numpy as np
import pytest
import torch

import lamina
from lamina import layers
from tests.layers.harness import run_layer_test

RNG = np.random.default_rng(0)


def _x(*shape):
    return RNG.standard_normal(shape).astype("float32")


def _to_last(x):
    return np.moveaxis(x, 1, -1)


def _to_first(x):
    return np.moveaxis(x, -1, 1)


# ---- NumPy references (channels_last) ---------------------------------------------------------------

def _tf_same_pads(size, effective, stride):
    total = max((math.ceil(size / stride) - 1) * stride + effective - size, 0)
    return total // 2, total - total // 2


def np_conv(x, kernel, strides, padding, dilation, groups=1):
    """``x`` (N, *spatial, C), ``kernel`` (*k, C // groups, F), one output position at a time."""
    rank = x.ndim - 2
    effective = [(k - 1) * d + 1 for k, d in zip(kernel.shape[:rank], dilation)]
    if padding == "same":
        pads = [_tf_same_pads(n, e, s) for n, e, s in zip(x.shape[1:-1], effective, strides)]
    elif padding == "causal":
        pads = [(effective[0] - 1, 0)]
    else:
        pads = [(0, 0)] * rank
    x = np.pad(x.astype(np.float64), [(0, 0), *pads, (0, 0)])
    sizes = [(n - e) // s + 1 for n, e, s in zip(x.shape[1:-1], effective, strides)]
    cin, filters = kernel.shape[-2], kernel.shape[-1]
    per_group = filters // groups
    out = np.zeros((x.shape[0], *sizes, filters))
    for index in itertools.product(*map(range, sizes)):
        window = x[(slice(None),) + tuple(slice(i * s, i * s + e, d) for i, s, e, d in
                                          zip(index, strides, effective, dilation))]
        for g in range(groups):
            w = kernel[..., g * per_group:(g + 1) * per_group].astype(np.float64)
            part = window[..., g * cin:(g + 1) * cin]
            out[(slice(None), *index, slice(g * per_group, (g + 1) * per_group))] = np.tensordot(
                part, w, axes=(list(range(1, rank + 2)), list(range(rank + 1))))
    return out


def np_conv_transpose(x, kernel, strides, padding, output_padding, dilation):
    """TF transposed convolution: scatter each input pixel, then crop as the gradient of a 'same'/'valid' conv."""
    rank = x.ndim - 2
    k = kernel.shape[:rank]
    effective = [(kk - 1) * d + 1 for kk, d in zip(k, dilation)]
    lengths, starts = [], []
    for i, (n, e, s) in enumerate(zip(x.shape[1:-1], effective, strides)):
        op = None if output_padding is None else output_padding[i]
        if op is None:
            length = n * s + max(e - s, 0) if padding == "valid" else n * s
        else:
            length = (n - 1) * s + e - 2 * (e // 2 if padding == "same" else 0) + op
        lengths.append(length)
        starts.append(0 if padding == "valid" else max((n - 1) * s + e - length, 0) // 2)
    full = np.zeros((x.shape[0], *[st + ln + e for st, ln, e in zip(starts, lengths, effective)], kernel.shape[-2]))
    for index in itertools.product(*map(range, x.shape[1:-1])):
        pixel = x[(slice(None), *index)].astype(np.float64)  # (N, C)
        for kidx in itertools.product(*map(range, k)):
            pos = tuple(i * s + j * d for i, s, j, d in zip(index, strides, kidx, dilation))
            full[(slice(None), *pos)] += pixel @ kernel[kidx].astype(np.float64).T
    return full[(slice(None), *[slice(st, st + ln) for st, ln in zip(starts, lengths)])]


# ---- harness --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs, shape, out_shape, weights", [
    (layers.Conv1D, {"filters": 4, "kernel_size": 3}, (2, 8, 3), (2, 6, 4), [(3, 3, 4), (4,)]),
    (layers.Conv1D, {"filters": 4, "kernel_size": 2, "padding": "causal", "dilation_rate": 2}, (2, 7, 3), (2, 7, 4),
     [(2, 3, 4), (4,)]),
    (layers.Conv1D, {"filters": 4, "kernel_size": 3, "data_format": "channels_first"}, (2, 3, 8), (2, 4, 6),
     [(3, 3, 4), (4,)]),
    (layers.Conv2D, {"filters": 4, "kernel_size": 3, "padding": "same", "strides": 2}, (2, 7, 6, 2), (2, 4, 3, 4),
     [(3, 3, 2, 4), (4,)]),
    (layers.Conv2D, {"filters": 4, "kernel_size": (2, 3), "groups": 2, "data_format": "channels_first"},
     (2, 4, 5, 6), (2, 4, 4, 4), [(2, 3, 2, 4), (4,)]),
    (layers.Conv3D, {"filters": 2, "kernel_size": 2, "padding": "same"}, (1, 3, 4, 3, 2), (1, 3, 4, 3, 2),
     [(2, 2, 2, 2, 2), (2,)]),
    (layers.Conv3D, {"filters": 2, "kernel_size": 2, "data_format": "channels_first"}, (1, 2, 3, 4, 3),
     (1, 2, 2, 3, 2), [(2, 2, 2, 2, 2), (2,)]),
])
def test_conv_harness(cls, kwargs, shape, out_shape, weights):
    run_layer_test(cls, {**kwargs, "activation": "tanh"}, input_shape=shape, expected_output_shape=out_shape,
                   expected_num_trainable_weights=2, expected_num_non_trainable_weights=0,
                   expected_weight_names=["kernel", "bias"], expected_weight_shapes=weights, supports_masking=False)


@pytest.mark.parametrize("cls, kwargs, shape, out_shape, weights", [
    (layers.Conv1DTranspose, {"filters": 3, "kernel_size": 3, "strides": 2}, (2, 4, 2), (2, 9, 3),
     [(3, 3, 2), (3,)]),
    (layers.Conv2DTranspose, {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 3, 4, 2),
     (2, 6, 8, 3), [(3, 3, 3, 2), (3,)]),
    (layers.Conv2DTranspose, {"filters": 3, "kernel_size": 2, "strides": 2, "output_padding": 1,
                              "data_format": "channels_first"}, (2, 2, 3, 3), (2, 3, 7, 7), [(2, 2, 3, 2), (3,)]),
    (layers.Conv3DTranspose, {"filters": 2, "kernel_size": 2, "strides": 2}, (1, 2, 2, 3, 2), (1, 4, 4, 6, 2),
     [(2, 2, 2, 2, 2), (2,)]),
])
def test_conv_transpose_harness(cls, kwargs, shape, out_shape, weights):
    run_layer_test(cls, kwargs, input_shape=shape, expected_output_shape=out_shape,
                   expected_weight_names=["kernel", "bias"], expected_weight_shapes=weights, supports_masking=False)


@pytest.mark.parametrize("cls, kwargs, shape, out_shape, names, weights", [
    (layers.DepthwiseConv1D, {"kernel_size": 3, "depth_multiplier": 2}, (2, 6, 3), (2, 4, 6),
     ["depthwise_kernel", "bias"], [(3, 3, 2), (6,)]),
    (layers.DepthwiseConv2D, {"kernel_size": 2, "padding": "same", "data_format": "channels_first"}, (2, 3, 5, 4),
     (2, 3, 5, 4), ["depthwise_kernel", "bias"], [(2, 2, 3, 1), (3,)]),
    (layers.SeparableConv1D, {"filters": 4, "kernel_size": 3, "padding": "same"}, (2, 6, 3), (2, 6, 4),
     ["depthwise_kernel", "pointwise_kernel", "bias"], [(3, 3, 1), (1, 3, 4), (4,)]),
    (layers.SeparableConv2D, {"filters": 4, "kernel_size": 3, "depth_multiplier": 2, "strides": 2}, (2, 7, 7, 2),
     (2, 3, 3, 4), ["depthwise_kernel", "pointwise_kernel", "bias"], [(3, 3, 2, 2), (1, 1, 4, 4), (4,)]),
])
def test_depthwise_and_separable_harness(cls, kwargs, shape, out_shape, names, weights):
    run_layer_test(cls, kwargs, input_shape=shape, expected_output_shape=out_shape, expected_weight_names=names,
                   expected_weight_shapes=weights, supports_masking=False)


def test_conv_without_bias_with_penalties():
    layer, _ = run_layer_test(layers.Conv2D, {"filters": 2, "kernel_size": 2, "use_bias": False,
                                              "kernel_regularizer": "l2", "activity_regularizer": "l1",
                                              "kernel_constraint": "non_neg"},
                              input_shape=(2, 4, 4, 3), expected_weight_names=["kernel"])
    assert len(layer.losses) == 2


# ---- numerics against NumPy loops --------------------------------------------------------------------

CONV_CASES = [
    # rank, kernel, strides, padding, dilation, groups, spatial
    (1, (3,), (1,), "valid", (1,), 1, (9,)),
    (1, (4,), (2,), "same", (1,), 1, (9,)),
    (1, (3,), (1,), "causal", (2,), 1, (8,)),
    (2, (3, 3), (1, 1), "valid", (1, 1), 1, (7, 7)),
    (2, (2, 4), (1, 1), "same", (1, 1), 1, (5, 6)),  # even kernels: the odd pad goes after
    (2, (3, 2), (2, 3), "same", (1, 1), 2, (7, 8)),
    (2, (3, 3), (1, 1), "same", (2, 1), 1, (7, 6)),
    (2, (3, 3), (2, 2), "valid", (1, 1), 4, (9, 8)),
    (3, (2, 3, 2), (1, 2, 1), "same", (1, 1, 1), 1, (3, 5, 4)),
]


@pytest.mark.parametrize("rank, kernel, strides, padding, dilation, groups, spatial", CONV_CASES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_matches_numpy(rank, kernel, strides, padding, dilation, groups, spatial, data_format):
    cls = {1: layers.Conv1D, 2: layers.Conv2D, 3: layers.Conv3D}[rank]
    layer = cls(8, kernel, strides=strides, padding=padding, dilation_rate=dilation, groups=groups,
                data_format=data_format, bias_initializer="random_normal")
    x = _x(2, *spatial, 4)
    out = layer(x if data_format == "channels_last" else _to_first(x)).detach().numpy()
    kernel_value, bias = layer.get_weights()
    expected = np_conv(x, kernel_value, strides, padding, dilation, groups) + bias
    np.testing.assert_allclose(out if data_format == "channels_last" else _to_last(out), expected,
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("rank, kernel, strides, padding, dilation, groups, spatial", CONV_CASES)
def test_conv_compute_output_shape_matches_eager(rank, kernel, strides, padding, dilation, groups, spatial):
    cls = {1: layers.Conv1D, 2: layers.Conv2D, 3: layers.Conv3D}[rank]
    layer = cls(8, kernel, strides=strides, padding=padding, dilation_rate=dilation, groups=groups)
    out = layer(_x(2, *spatial, 4))
    assert layer.compute_output_shape((None, *spatial, 4)) == (None, *out.shape[1:])


def test_conv2d_matches_torch_module_with_permuted_weights():
    layer = layers.Conv2D(6, (3, 5), strides=(2, 1), dilation_rate=1, groups=3, padding="valid",
                          bias_initializer="random_normal")
    x = _x(3, 9, 11, 6)
    out = layer(x)
    kernel, bias = layer.get_weights()
    module = torch.nn.Conv2d(6, 6, (3, 5), stride=(2, 1), groups=3)
    with torch.no_grad():
        module.weight.copy_(torch.as_tensor(kernel).permute(3, 2, 0, 1))
        module.bias.copy_(torch.as_tensor(bias))
    expected = module(torch.as_tensor(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


TRANSPOSE_CASES = [
    # rank, kernel, strides, padding, output_padding, dilation, spatial
    (1, (3,), (2,), "valid", None, (1,), (4,)),
    (1, (2,), (3,), "valid", None, (1,), (4,)),  # stride > kernel: Keras pads to max(k, s)
    (1, (3,), (2,), "same", None, (1,), (5,)),
    (1, (4,), (2,), "same", 1, (1,), (3,)),
    (1, (3,), (1,), "same", None, (2,), (5,)),
    (2, (3, 3), (2, 2), "same", (1, 1), (1, 1), (3, 4)),
    (2, (2, 3), (2, 1), "valid", (1, 0), (1, 1), (3, 3)),
    (2, (4, 4), (2, 2), "same", None, (1, 1), (3, 3)),
    (2, (3, 3), (3, 2), "same", (2, 0), (1, 1), (2, 3)),
    (3, (2, 3, 2), (2, 1, 2), "same", None, (1, 1, 1), (2, 3, 2)),
]


@pytest.mark.parametrize("rank, kernel, strides, padding, output_padding, dilation, spatial", TRANSPOSE_CASES)
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_conv_transpose_matches_numpy(rank, kernel, strides, padding, output_padding, dilation, spatial, data_format):
    cls = {1: layers.Conv1DTranspose, 2: layers.Conv2DTranspose, 3: layers.Conv3DTranspose}[rank]
    layer = cls(3, kernel, strides=strides, padding=padding, output_padding=output_padding, dilation_rate=dilation,
                data_format=data_format, bias_initializer="random_normal")
    x = _x(2, *spatial, 2)
    out = layer(x if data_format == "channels_last" else _to_first(x)).detach().numpy()
    kernel_value, bias = layer.get_weights()
    op = None if output_padding is None else ((output_padding,) * rank if isinstance(output_padding, int)
                                              else output_padding)
    expected = np_conv_transpose(x, kernel_value, strides, padding, op, dilation) + bias
    np.testing.assert_allclose(out if data_format == "channels_last" else _to_last(out), expected,
                               rtol=1e-4, atol=1e-5)
    shape = (None, *spatial, 2) if data_format == "channels_last" else (None, 2, *spatial)
    assert layer.compute_output_shape(shape) == (None, *out.shape[1:])


def test_conv_transpose_matches_torch_module_with_output_padding():
    layer = layers.Conv2DTranspose(4, 3, strides=2, output_padding=1, padding="valid",
                                   bias_initializer="random_normal")
    x = _x(2, 4, 5, 3)
    out = layer(x)
    kernel, bias = layer.get_weights()
    module = torch.nn.ConvTranspose2d(3, 4, 3, stride=2, output_padding=1)
    with torch.no_grad():
        module.weight.copy_(torch.as_tensor(kernel).permute(3, 2, 0, 1))
        module.bias.copy_(torch.as_tensor(bias))
    expected = module(torch.as_tensor(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("padding, strides, dilation, multiplier", [("valid", 1, 1, 1), ("same", 2, 1, 2),
                                                                    ("same", 1, 2, 3)])
@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_depthwise_conv2d_matches_numpy(padding, strides, dilation, multiplier, data_format):
    layer = layers.DepthwiseConv2D((3, 2), strides=strides, padding=padding, dilation_rate=dilation,
                                   depth_multiplier=multiplier, data_format=data_format,
                                   bias_initializer="random_normal")
    x = _x(2, 7, 6, 3)
    out = layer(x if data_format == "channels_last" else _to_first(x)).detach().numpy()
    kernel, bias = layer.get_weights()
    # channel c, multiplier m -> output channel c * multiplier + m: a grouped conv with one input per group
    grouped = kernel.reshape(3, 2, 1, 3 * multiplier)
    expected = np_conv(x, grouped, (strides,) * 2, padding, (dilation,) * 2, groups=3) + bias
    np.testing.assert_allclose(out if data_format == "channels_last" else _to_last(out), expected,
                               rtol=1e-4, atol=1e-5)


def test_depthwise_conv1d_matches_torch_grouped_conv():
    layer = layers.DepthwiseConv1D(3, depth_multiplier=2, bias_initializer="random_normal")
    x = _x(2, 9, 4)
    out = layer(x)
    kernel, bias = layer.get_weights()  # (3, 4, 2)
    module = torch.nn.Conv1d(4, 8, 3, groups=4)
    with torch.no_grad():
        module.weight.copy_(torch.as_tensor(kernel).reshape(3, 8).T.unsqueeze(1))
        module.bias.copy_(torch.as_tensor(bias))
    torch.testing.assert_close(out, module(torch.as_tensor(x).transpose(1, 2)).transpose(1, 2), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("rank", [1, 2])
def test_separable_conv_is_depthwise_then_pointwise(rank):
    cls = {1: layers.SeparableConv1D, 2: layers.SeparableConv2D}[rank]
    layer = cls(5, 3, padding="same", strides=2, depth_multiplier=2, bias_initializer="random_normal")
    x = _x(2, *(7,) * rank, 3)
    out = layer(x).detach().numpy()
    depthwise, pointwise, bias = layer.get_weights()
    grouped = depthwise.reshape(*(3,) * rank, 1, 6)
    middle = np_conv(x, grouped, (2,) * rank, "same", (1,) * rank, groups=3)
    expected = np_conv(middle, pointwise, (1,) * rank, "valid", (1,) * rank) + bias
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-5)


def test_channels_first_equals_channels_last():
    last = layers.Conv2D(4, 3, padding="same", strides=2)
    first = layers.Conv2D(4, 3, padding="same", strides=2, data_format="channels_first")
    x = _x(2, 7, 8, 3)
    out_last = last(x)
    first(_to_first(x))
    first.set_weights(last.get_weights())
    torch.testing.assert_close(first(torch.as_tensor(_to_first(x))).permute(0, 2, 3, 1), out_last)


# ---- gradients ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, kwargs, shape", [
    (layers.Conv2D, {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same", "groups": 2}, (2, 5, 4, 2)),
    (layers.Conv1D, {"filters": 2, "kernel_size": 3, "padding": "causal", "dilation_rate": 2}, (2, 6, 2)),
    (layers.Conv2DTranspose, {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same",
                              "output_padding": 1}, (1, 3, 2, 2)),
    (layers.SeparableConv2D, {"filters": 2, "kernel_size": 2, "padding": "same", "depth_multiplier": 2},
     (1, 3, 4, 2)),
    (layers.DepthwiseConv2D, {"kernel_size": 2, "data_format": "channels_first"}, (1, 2, 3, 4)),
])
@pytest.mark.parametrize("activation", ["tanh", "relu"])  # relu runs in place on the conv's output
def test_gradients_match_finite_differences(cls, kwargs, shape, activation):
    layer = cls(**kwargs, dtype="float64", bias_initializer="random_normal", activation=activation)
    x = torch.randn(*shape, dtype=torch.float64, requires_grad=True)
    layer(x)
    weights = [w.value for w in layer.trainable_weights]
    assert torch.autograd.gradcheck(lambda x, *w: layer(x), (x, *weights))


def test_kernel_updates_are_seen_by_the_next_call():
    # The channels-last kernel copy is made per call: an optimizer step must change the output.
    layer = layers.Conv2D(2, 3)
    x = _x(1, 5, 5, 3)
    before = layer(x).detach().clone()
    layer.kernel.assign(layer.kernel.numpy() * 2)
    torch.testing.assert_close(layer(x), before * 2)


# ---- configs ----------------------------------------------------------------------------------------------

CONV_KEYS = ["name", "trainable", "dtype", "filters", "kernel_size", "strides", "padding", "data_format",
             "dilation_rate", "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer",
             "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"]


def test_conv_config_keys_are_keras_3():
    config = layers.Conv2D(4, 3, name="c").get_config()
    assert list(config) == CONV_KEYS
    assert config["kernel_size"] == (3, 3) and config["strides"] == (1, 1) and config["padding"] == "valid"
    assert config["data_format"] == "channels_last" and config["activation"] == "linear"
    assert json.loads(json.dumps(config))["kernel_size"] == [3, 3]
    transpose = layers.Conv2DTranspose(4, 3).get_config()  # Keras 3.15.1: output_padding after padding
    keys = [k for k in CONV_KEYS if k != "groups"]
    assert list(transpose) == keys[:7] + ["output_padding"] + keys[7:] and transpose["output_padding"] is None
    assert layers.Conv2DTranspose(4, 3, strides=2, output_padding=1).get_config()["output_padding"] == (1, 1)
    assert list(layers.DepthwiseConv2D(3).get_config())[3:] == [
        "depth_multiplier", "kernel_size", "strides", "padding", "data_format", "dilation_rate", "activation",
        "use_bias", "depthwise_initializer", "bias_initializer", "depthwise_regularizer", "bias_regularizer",
        "activity_regularizer", "depthwise_constraint", "bias_constraint"]
    assert list(layers.SeparableConv2D(2, 3).get_config())[3:] == [
        "depth_multiplier", "filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
        "activation", "use_bias", "depthwise_initializer", "pointwise_initializer", "bias_initializer",
        "depthwise_regularizer", "pointwise_regularizer", "bias_regularizer", "activity_regularizer",
        "depthwise_constraint", "pointwise_constraint", "bias_constraint"]


def test_conv_reads_a_keras_3_config():
    config = {"name": "conv2d", "trainable": True, "dtype": {"module": "keras", "class_name": "DTypePolicy",
                                                             "config": {"name": "float32"}, "registered_name": None},
              "filters": 8, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
              "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1, "activation": "relu",
              "use_bias": True, "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                                       "config": {"seed": None}, "registered_name": None},
              "bias_initializer": {"module": "keras.initializers", "class_name": "Zeros", "config": {},
                                   "registered_name": None},
              "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
              "kernel_constraint": None, "bias_constraint": None}
    layer = layers.deserialize({"module": "keras.layers", "class_name": "Conv2D", "config": config,
                                "registered_name": None})
    assert layer.kernel_size == (3, 3) and layer(_x(1, 5, 5, 2)).shape == (1, 5, 5, 8)
    assert layers.Convolution2D is layers.Conv2D


# ---- errors ---------------------------------------------------------------------------------------------

def test_wrong_rank_names_the_layer():
    layer = layers.Conv2D(2, 3, name="my_conv")
    with pytest.raises(ValueError, match=r'"my_conv".*rank 4.*Received: input_shape=\(1, 7, 7\)'):
        layer(_x(1, 7, 7))
    layer(_x(1, 7, 7, 1))
    with pytest.raises(ValueError, match='Input 0 of layer "my_conv" is incompatible.*expected ndim=4, found ndim=5'):
        layer(_x(1, 7, 7, 1, 1))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 1"):
        layer(_x(1, 7, 7, 3))


@pytest.mark.parametrize("kwargs, message", [
    ({"padding": "full"}, r"`padding` argument of Conv2D must be one of \('valid', 'same'\). Received: padding='full'"),
    ({"padding": "causal"}, r"Received: padding='causal'"),
    ({"groups": 3}, r"filters of Conv2D must be evenly divisible by the number of groups. Received: groups=3"),
    ({"groups": 0}, r"Received: groups=0"),
    ({"kernel_size": (3, 0)}, r"`kernel_size` argument of Conv2D .* Received: kernel_size=\(3, 0\)"),
    ({"strides": 2, "dilation_rate": 2}, r"Received: strides=\(2, 2\) and dilation_rate=\(2, 2\)"),
    ({"filters": 0}, r"Received: filters=0"),
])
def test_invalid_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        layers.Conv2D(**{"filters": 4, "kernel_size": 3, **kwargs})


def test_groups_must_divide_input_channels_and_input_must_cover_the_kernel():
    with pytest.raises(ValueError, match=r"input channels must be evenly divisible .* groups=2, input channels=3"):
        layers.Conv2D(4, 3, groups=2, name="g")(_x(1, 5, 5, 3))
    with pytest.raises(ValueError, match=r"output size would be negative.*input_shape=\(1, 2, 5, 1\)"):
        layers.Conv2D(4, 3)(_x(1, 2, 5, 1))
    with pytest.raises(ValueError, match=r"`output_padding` of Conv2DTranspose must be smaller than `strides`"):
        layers.Conv2DTranspose(4, 3, strides=2, output_padding=2)
    with pytest.raises(TypeError, match="Conv2D.*not_an_argument"):
        layers.Conv2D(4, 3, not_an_argument=1)


# ---- the seed-004 walkthrough ---------------------------------------------------------------------------

def test_seed004_conv2d_on_a_7x7_image():
    image = _x(1, 7, 7, 1)
    conv = layers.Conv2D(filters=1, kernel_size=3, strides=1, padding="valid")
    conved = conv(image)
    assert tuple(conved.shape) == (1, 5, 5, 1)
    w, b = conv.get_weights()
    assert w.shape == (3, 3, 1, 1) and b.shape == (1,)
    manual = np.array([[np.sum(image[0, r:r + 3, c:c + 3, 0] * w[:, :, 0, 0]) + b[0] for c in range(5)]
                       for r in range(5)])
    np.testing.assert_allclose(conved.detach().numpy()[0, :, :, 0], manual, rtol=1e-5, atol=1e-6)


def test_seed004_conv_batchnorm_activation_block():
    inputs = lamina.Input(shape=(8, 8, 3))
    x = layers.Conv2D(filters=32, kernel_size=3, padding="same")(inputs)
    x = layers.BatchNormalization()(x)
    outputs = layers.Activation("relu")(x)
    assert tuple(outputs.shape) == (None, 8, 8, 32)
    model = lamina.Model(inputs, outputs)
    out = model(_x(2, 8, 8, 3))
    assert tuple(out.shape) == (2, 8, 8, 32) and bool((out >= 0).all())
    assert [w.name for w in model.weights] == ["kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance"]


def test_seed004_custom_conv_layer():
    class ConvLayer(layers.Layer):
        def __init__(self, filters, kernel_size):
            super().__init__()
            self.conv = layers.Conv2D(filters=filters, kernel_size=kernel_size, padding="same")
            self.conv_act = layers.Activation("relu")
            self.conv_pool = layers.MaxPooling2D(pool_size=2, strides=2)

        def call(self, x):
            return self.conv_pool(self.conv_act(self.conv(x)))

    layer = ConvLayer(8, 3)
    x = _x(2, 8, 8, 3)
    out = layer(x)
    assert tuple(out.shape) == (2, 4, 4, 8) and bool((out >= 0).all())
    kernel, bias = layer.conv.get_weights()
    conv = np.maximum(np_conv(x, kernel, (1, 1), "same", (1, 1)) + bias, 0)
    np.testing.assert_allclose(out.detach().numpy(), conv.reshape(2, 4, 2, 4, 2, 8).max(axis=(2, 4)), rtol=1e-4,
                               atol=1e-5)
    assert [w.path for w in layer.weights] == [f"{layer.conv.name}/kernel", f"{layer.conv.name}/bias"]
