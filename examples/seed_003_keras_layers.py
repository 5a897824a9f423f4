"""Seed 003, "Keras 레이어(keras.layers)": the methods every layer has, a few core layers, a custom layer.

    python examples/seed_003_keras_layers.py
    python examples/seed_003_keras_layers.py --quick

The notes, with ``keras`` replaced by ``lamina``:

1. ``get_weights`` / ``set_weights`` / ``get_config``, and re-creating a layer with ``from_config`` or
   ``layers.deserialize({'class_name': ..., 'config': ...})``;
2. ``layer.input`` / ``output`` / ``input_shape`` / ``output_shape`` for a layer called once, and
   ``get_input_at`` / ``get_output_at`` / ``get_input_shape_at`` / ``get_output_shape_at`` for a shared one;
3. ``Dense`` (``activation(dot(input, kernel) + bias)``, also on inputs of rank > 2), ``Flatten``,
   ``Input`` (``shape``, ``batch_shape``, ``name``, ``dtype``) and ``Embedding`` (``mask_zero``,
   ``input_length``);
4. the custom ``MyLayer`` with ``build`` / ``call`` / ``compute_output_shape``.
"""

import argparse

import numpy as np

import lamina
from lamina import layers
from lamina.layers import Dense, Embedding, Flatten, Input, Layer
from lamina.models import Model
from lamina.ops import convert_to_numpy as to_numpy


class MyLayer(Layer):
    """The seed's custom layer: ``x @ kernel`` with ``output_dim`` outputs and no bias."""

    def __init__(self, output_dim, **kwargs):
        self.output_dim = output_dim
        super().__init__(**kwargs)

    def build(self, input_shape):
        # a trainable weight for this layer
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[1], self.output_dim),
                                      initializer="uniform", trainable=True)
        super().build(input_shape)  # sets self.built = True

    def call(self, x):
        return lamina.ops.dot(x, self.kernel)  # the seed writes tf.dot, which does not exist (K.dot in Keras 2)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="accepted for uniformity; the notes are tiny")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    lamina.utils.set_random_seed(args.seed)
    facts = {}

    # -- 1. weights and configs --------------------------------------------------------------------
    layer = Dense(32)
    layer.build((None, 16))
    weights = layer.get_weights()  # a list of NumPy arrays
    print("get_weights:", [w.shape for w in weights])
    assert [w.shape for w in weights] == [(16, 32), (32,)]
    layer.set_weights([np.full((16, 32), 0.5), np.arange(32.0)])  # same shapes as get_weights
    np.testing.assert_array_equal(layer.get_weights()[1], np.arange(32.0))

    config = layer.get_config()
    reconstructed_layer = Dense.from_config(config)
    assert reconstructed_layer.get_config() == config
    layer2 = layers.deserialize({"class_name": layer.__class__.__name__, "config": config})
    assert type(layer2) is Dense and layer2.get_config() == config
    print("from_config / deserialize give the same config:", config["units"], config["activation"])
    facts["dense_config_keys"] = sorted(config)

    # -- 2. inputs and outputs of a layer, and of a shared layer ---------------------------------------
    a = Input(shape=(8,), name="a")
    dense = Dense(4, name="dense_once")
    out = dense(a)
    print(dense.input, dense.output, dense.input_shape, dense.output_shape)
    assert dense.input is a and dense.output is out
    assert (tuple(dense.input_shape), tuple(dense.output_shape)) == ((None, 8), (None, 4))

    shared = Dense(3, name="shared")
    x1, x2 = Input(shape=(5,), name="x1"), Input(shape=(5,), name="x2")
    y1, y2 = shared(x1), shared(x2)  # two calls: two nodes
    assert len(shared.inbound_nodes) == 2
    for node_index, (x, y) in enumerate(((x1, y1), (x2, y2))):
        assert shared.get_input_at(node_index) is x and shared.get_output_at(node_index) is y
        assert tuple(shared.get_input_shape_at(node_index)) == (None, 5)
        assert tuple(shared.get_output_shape_at(node_index)) == (None, 3)
    print("shared layer nodes:", [shared.get_output_at(i) for i in range(2)])
    facts["shared_nodes"] = len(shared.inbound_nodes)

    # -- 3. Dense, Flatten, Input, Embedding ---------------------------------------------------------------
    dense = Dense(3, activation="relu")
    batch = np.random.default_rng(args.seed).normal(size=(2, 4, 6)).astype("float32")  # rank 3: (batch, ..., input_dim)
    y = to_numpy(dense(batch))
    kernel, bias = dense.get_weights()
    np.testing.assert_allclose(y, np.maximum(batch @ kernel + bias, 0), rtol=1e-5, atol=1e-6)
    assert y.shape == (2, 4, 3)  # (batch_size, ..., units)

    assert tuple(Flatten()(batch).shape) == (2, 24)  # the batch axis is kept

    fixed = Input(batch_shape=(10, 32), name="ten_vectors", dtype="float32")
    assert tuple(fixed.shape) == (10, 32)
    a, b = Input(shape=(32,)), Input(shape=(32,))
    c = layers.Add()([Dense(8)(a), Dense(8)(b)])
    two_inputs = Model(inputs=[a, b], outputs=c)  # Keras 1 wrote Model(input=[a, b], output=c)
    assert len(two_inputs.inputs) == 2

    embedding = Embedding(input_dim=30, output_dim=2)
    vectors = to_numpy(embedding(np.array([[4], [20]])))  # [[4], [20]] -> [[0.25, 0.1], [0.6, -0.2]]-like
    table = embedding.embeddings.numpy()
    np.testing.assert_array_equal(vectors[:, 0], table[[4, 20]])
    print("Embedding [[4], [20]] ->", vectors.tolist())
    masked = Embedding(input_dim=30, output_dim=2, mask_zero=True)
    mask = to_numpy(masked.compute_mask(np.array([[0, 3, 0, 7]])))
    assert mask.tolist() == [[False, True, False, True]]  # index 0 is padding
    with_length = Embedding(input_dim=30, output_dim=2, input_length=6)  # Keras 2 argument, still accepted
    flat = Flatten()(with_length(Input(shape=(6,), dtype="int32")))
    assert tuple(flat.shape) == (None, 12)
    facts["embedding_shape"] = vectors.shape

    # -- 4. a custom layer -------------------------------------------------------------------------------
    my_layer = MyLayer(4)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    y = to_numpy(my_layer(x))
    kernel = my_layer.kernel.numpy()
    assert kernel.shape == (3, 4) and np.abs(kernel).max() <= 0.05  # 'uniform' is U(-0.05, 0.05)
    np.testing.assert_allclose(y, x @ kernel, rtol=1e-6)
    assert my_layer.compute_output_shape((None, 3)) == (None, 4)
    symbolic = MyLayer(4)(Input(shape=(3,)))  # shape inference uses compute_output_shape
    assert tuple(symbolic.shape) == (None, 4)
    print("MyLayer:", y.shape, "symbolic:", symbolic)
    facts["my_layer_output_shape"] = tuple(symbolic.shape)
    return facts


if __name__ == "__main__":
    main()
