"""The Keras 2 schema of legacy ``.h5`` files speaks tf.keras 2's argument names.

The expected configs are what tf_keras 2.21.0 writes for the same layers (its ``get_config()``
for the defaults), so that tf.keras 2 can rebuild the layers from lamina's files.
"""

import lamina
from lamina import layers
from lamina.saving.functional_config import keras2_layer_config


def test_leaky_relu_writes_alpha():
    config = keras2_layer_config(layers.LeakyReLU(negative_slope=0.2, name="leaky"))
    assert config == {"name": "leaky", "trainable": True, "dtype": "float32", "alpha": 0.2}
    assert layers.LeakyReLU.from_config(config).negative_slope == 0.2  # and lamina reads it back


def test_layer_normalization_drops_rms_scaling_only_at_its_default():
    assert "rms_scaling" not in keras2_layer_config(layers.LayerNormalization())
    assert keras2_layer_config(layers.LayerNormalization(rms_scaling=True))["rms_scaling"] is True


def test_zero_padding_1d_has_no_data_format():
    config = keras2_layer_config(layers.ZeroPadding1D(1, name="pad"))
    assert config == {"name": "pad", "trainable": True, "dtype": "float32", "padding": [1, 1]}


def test_dense_lists_activity_regularizer_where_tf_keras_does():
    keys = ["name", "trainable", "dtype", "units", "activation", "use_bias", "kernel_initializer", "bias_initializer",
            "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"]
    assert list(keras2_layer_config(layers.Dense(3))) == keys
    config = keras2_layer_config(layers.Dense(3, activity_regularizer="l2"))
    assert list(config) == keys and config["activity_regularizer"]["class_name"] == "L2"
    assert "quantization_config" not in config


def test_multi_head_attention_carries_its_build_shapes():
    query, value = lamina.Input((5, 4)), lamina.Input((6, 4))
    attention = layers.MultiHeadAttention(2, 3)
    attention(query, value)
    config = keras2_layer_config(attention)
    assert (config["query_shape"], config["value_shape"], config["key_shape"]) == ([None, 5, 4], [None, 6, 4],
                                                                                 [None, 6, 4])
    rebuilt = layers.MultiHeadAttention.from_config({**config, "softmax_robust_masking": False})
    assert rebuilt.built and [w.shape for w in rebuilt.weights] == [w.shape for w in attention.weights]
