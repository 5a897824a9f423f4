"""The Keras 2 schema of legacy ``.h5`` files speaks tf.keras 2's argument names.

The expected configs are what tf_keras 2.21.0 writes for the same layers (its ``get_config()``
for the defaults), so that tf.keras 2 can rebuild the layers from lamina's files.
"""

import pytest

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


def _conv_lstm_h5(path, keras_version):
    import h5py

    inputs = lamina.Input((3, 4, 4, 1))
    model = lamina.Model(inputs, layers.ConvLSTM2D(2, 2, recurrent_activation="hard_sigmoid")(inputs))
    with pytest.warns(UserWarning, match="tf.keras 2 computes"):  # the Keras 3 curve, written as Keras 3 does
        model.save(path)
    with h5py.File(path, "r+") as f:
        f.attrs["keras_version"] = keras_version
    return model


def test_tf_keras_files_keep_tf_keras_hard_sigmoid(tmp_path):
    import numpy as np

    x = np.random.default_rng(0).normal(size=(2, 3, 4, 4, 1)).astype("float32") * 3
    written = _conv_lstm_h5(tmp_path / "tf_keras.h5", "2.21.0")
    from_tf_keras = lamina.models.load_model(tmp_path / "tf_keras.h5")
    assert from_tf_keras.layers[1].cell.recurrent_activation is lamina.activations.hard_sigmoid_keras2
    assert not np.allclose(from_tf_keras.predict(x, verbose=0), written.predict(x, verbose=0))
    # The same config in a file Keras 3 (or lamina) wrote means Keras 3's curve.
    written = _conv_lstm_h5(tmp_path / "keras3.h5", "3.15.1")
    from_keras3 = lamina.models.load_model(tmp_path / "keras3.h5")
    assert from_keras3.layers[1].cell.recurrent_activation is lamina.activations.hard_sigmoid
    np.testing.assert_allclose(from_keras3.predict(x, verbose=0), written.predict(x, verbose=0), rtol=1e-6)
    # lamina's own files keep tf.keras 2's curve by its registered name, in both formats.
    for path in (tmp_path / "again.h5", tmp_path / "again.keras"):
        from_tf_keras.save(path)
        again = lamina.models.load_model(path)
        np.testing.assert_allclose(again.predict(x, verbose=0), from_tf_keras.predict(x, verbose=0), rtol=1e-6)


def test_tf_keras_json_keeps_tf_keras_hard_sigmoid():
    import json

    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, layers.Dense(2, activation="hard_sigmoid")(inputs))
    config = json.loads(model.to_json())
    assert lamina.models.model_from_json(json.dumps(config)).layers[1].activation is lamina.activations.hard_sigmoid
    config["keras_version"] = "2.21.0"  # what tf.keras 2's to_json() writes
    rebuilt = lamina.models.model_from_json(json.dumps(config))
    assert rebuilt.layers[1].activation is lamina.activations.hard_sigmoid_keras2


def test_keras3_hard_sigmoid_in_a_legacy_file_is_said(tmp_path):
    inputs = lamina.Input((4,))
    model = lamina.Model(inputs, layers.Dense(2, activation="hard_sigmoid", name="gate")(inputs))
    with pytest.warns(UserWarning, match="Layer 'gate'.*'hard_sigmoid'.*tf.keras 2 computes"):
        model.save(tmp_path / "m.h5")
    assert lamina.models.load_model(tmp_path / "m.h5").layers[1].activation is lamina.activations.hard_sigmoid
