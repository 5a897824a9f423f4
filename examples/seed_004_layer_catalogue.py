"""Seed 004, "keras.layers" notes: a catalogue of the common layers, run with lamina.

    python examples/seed_004_layer_catalogue.py
    python examples/seed_004_layer_catalogue.py --quick

The notes, with ``tensorflow.keras`` replaced by ``lamina`` and ``tf.random`` by ``lamina.random``:

1. ``Dense`` shapes (``get_weights`` gives ``W (10, 3)``, ``B (3,)``), cascaded ``Dense`` layers, a list of them;
2. ``Activation('softmax')`` and the other activation names;
3. ``Conv2D`` on a 7x7 grayscale image (valid padding gives 5x5) and its ``get_weights`` shapes;
4. the seed's NumPy loop ("unused tf.Conv2D") computing the same convolution window by window,
   compared with ``Conv2D`` holding the same kernel;
5. ``MaxPooling2D`` / ``AveragePooling2D`` / ``GlobalAveragePooling2D`` and ``Flatten``;
6. ``ConvLayer``, a custom layer made of Conv2D -> Activation -> MaxPooling2D;
7. functional ``Input`` -> Flatten -> Dense model, the ``TestModel`` subclass, and the
   Conv2D -> BatchNormalization -> Activation block.

Seed typos that TensorFlow rejects too (``Dense(unit=...)``, ``Cov2D``, ``tensorflow.feras``, ``def call(x)``)
are fixed. The YOLOv1 snippet needs ImageNet weights from the network and is left out; ``get`` in the
activation list is a function, not an activation name.
"""

import argparse

import numpy as np

import lamina
from lamina.layers import (
    Activation,
    AveragePooling2D,
    BatchNormalization,
    Conv2D,
    Dense,
    Flatten,
    GlobalAveragePooling2D,
    Input,
    Layer,
    MaxPooling2D,
)
from lamina.models import Model
from lamina.ops import convert_to_numpy as to_numpy


class ConvLayer(Layer):
    """Conv2D (same padding) -> relu -> 2x2 max pooling, as one layer."""

    def __init__(self, filters, kernel_size):
        super().__init__()
        self.conv = Conv2D(filters=filters, kernel_size=kernel_size, padding="same")
        self.conv_act = Activation("relu")
        self.conv_pool = MaxPooling2D(pool_size=2, strides=2)

    def call(self, x):
        x = self.conv(x)
        x = self.conv_act(x)
        x = self.conv_pool(x)
        return x


class TestModel(Model):
    """The seed's subclassed model: Flatten -> Dense(10, sigmoid) -> Dense(20, sigmoid)."""

    def __init__(self):
        super().__init__()
        self.flatten = Flatten()
        self.dense1 = Dense(units=10, activation="sigmoid")
        self.dense2 = Dense(units=20, activation="sigmoid")

    def call(self, x):  # the seed writes call(x), without self
        x = self.flatten(x)
        x = self.dense1(x)
        x = self.dense2(x)
        return x


def numpy_conv_loop(test_image, w, b, kernel_size=3, stride=1, filters=8):
    """The seed's window-by-window convolution (valid padding), one kernel ``w`` copied to every filter."""
    batch_size, H, W = test_image.shape[:3]
    valid_idx = int((kernel_size - 1) / 2)  # no padding: windows start at the kernel's half-width
    H_conved = int((H - kernel_size) / stride) + 1
    W_conved = int((W - kernel_size) / stride) + 1
    conved_images = []
    for _ in range(filters):
        per_image = []
        for batch_idx in range(batch_size):
            conved = np.zeros(shape=(H_conved, W_conved))
            for cov_r_idx, r_idx in enumerate(range(valid_idx, H - valid_idx, stride)):
                for cov_c_idx, c_idx in enumerate(range(valid_idx, W - valid_idx, stride)):
                    receptive_field = test_image[batch_idx, r_idx - valid_idx:r_idx + valid_idx + 1,
                                                 c_idx - valid_idx:c_idx + valid_idx + 1, -1:]
                    conved[cov_r_idx, cov_c_idx] = np.sum(receptive_field.squeeze() * w) + b[0]
            per_image.append(conved)
        conved_images.append(np.stack(per_image))
    return np.stack(conved_images, axis=3)  # (batch, H_conved, W_conved, filters)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller batches (the notes are tiny anyway)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    lamina.utils.set_random_seed(args.seed)
    facts = {}

    # -- 1. Dense ------------------------------------------------------------------------------------
    for N in (1, 8):  # N: minibatch size
        n_feature = 10
        X = lamina.random.normal(shape=(N, n_feature))
        dense = Dense(units=3, activation="sigmoid")  # 3 neurons (the seed writes unit=)
        Y = dense(X)
        W, B = dense.get_weights()
        print("X:", tuple(X.shape), "W:", W.shape, "B:", B.shape, "Y:", tuple(Y.shape))
        assert (W.shape, B.shape, tuple(Y.shape)) == ((10, 3), (3,), (N, 3))
        np.testing.assert_allclose(to_numpy(Y), sigmoid(to_numpy(X) @ W + B), rtol=1e-5)

    N, n_feature = 4, 10
    X = lamina.random.normal(shape=(N, n_feature))
    n_neurons = [3, 5, 8]
    dense1 = Dense(units=n_neurons[0], activation="sigmoid")
    dense2 = Dense(units=n_neurons[1], activation="sigmoid")
    dense3 = Dense(units=n_neurons[2], activation="sigmoid")
    A1 = dense1(X)
    A2 = dense2(A1)
    Y = dense3(A2)
    shapes = [tuple(t.shape) for t in (X, A1, A2, Y)]
    print("cascaded:", shapes)
    assert shapes == [(4, 10), (4, 3), (4, 5), (4, 8)]
    (W1, B1), (W2, B2), (W3, B3) = dense1.get_weights(), dense2.get_weights(), dense3.get_weights()
    assert [W1.shape, W2.shape, W3.shape] == [(10, 3), (3, 5), (5, 8)]
    assert [B1.shape, B2.shape, B3.shape] == [(3,), (5,), (8,)]

    dense_layers = [Dense(units=n_neuron, activation="relu") for n_neuron in [10, 20, 30, 40, 50, 60, 70]]
    for dense in dense_layers:  # each layer takes the previous output
        X = dense(X)
    assert tuple(X.shape) == (4, 70)
    facts["cascaded_shapes"] = shapes

    # -- 2. Activation -------------------------------------------------------------------------------
    X = lamina.random.uniform(shape=(1, 5), minval=-10, maxval=10)
    softmax_value = to_numpy(Activation("softmax")(X))
    np.testing.assert_allclose(softmax_value.sum(), 1.0, rtol=1e-6)
    x = to_numpy(X)
    for name, reference in (("sigmoid", sigmoid(x)), ("linear", x), ("relu", np.maximum(x, 0)),
                            ("swish", x * sigmoid(x))):
        np.testing.assert_allclose(to_numpy(Activation(name)(X)), reference, rtol=1e-5, atol=1e-6)
    assert to_numpy(Activation("gelu")(X)).shape == (1, 5)
    print("softmax:", softmax_value)

    # -- 3. Conv2D on a 7x7 image ------------------------------------------------------------------
    h_image, w_image = 7, 7
    test_image = lamina.random.normal(mean=0, stddev=1, shape=(1, w_image, h_image, 1))  # one grayscale image
    conv = Conv2D(filters=1, kernel_size=3, strides=1, padding="valid")
    conved = conv(test_image)
    w, b = conv.get_weights()
    print("Conv2D:", tuple(conved.shape), "kernel", w.shape, "bias", b.shape)
    assert tuple(conved.shape) == (1, 5, 5, 1)  # (7 - 3) / 1 + 1 = 5
    assert (w.shape, b.shape) == ((3, 3, 1, 1), (1,))
    facts["conv_weight_shapes"] = (w.shape, b.shape)

    # -- 4. the same convolution as a NumPy loop --------------------------------------------------------
    batch_size, filters, kernel_size = (2, 8, 3)
    test_image = to_numpy(lamina.random.normal(mean=0, stddev=1, shape=(batch_size, 7, 7, 1)))
    w = to_numpy(lamina.random.normal(mean=0, stddev=1, shape=(kernel_size, kernel_size)))
    b = to_numpy(lamina.random.normal(mean=0, stddev=1, shape=(1,)))
    looped = numpy_conv_loop(test_image, w, b, kernel_size=kernel_size, filters=filters)
    conv = Conv2D(filters=filters, kernel_size=kernel_size, padding="valid")
    conv.build((None, 7, 7, 1))
    conv.set_weights([np.repeat(w[:, :, None, None], filters, axis=3), np.repeat(b, filters)])
    conved = to_numpy(conv(test_image))
    print("NumPy loop:", looped.shape, "Conv2D:", conved.shape, "max difference:", np.abs(looped - conved).max())
    assert looped.shape == conved.shape == (2, 5, 5, 8)
    np.testing.assert_allclose(conved, looped, rtol=1e-5, atol=1e-5)
    facts["loop_max_difference"] = float(np.abs(looped - conved).max())

    # -- 5. pooling and Flatten ----------------------------------------------------------------------
    test_image = lamina.random.normal(mean=0, stddev=1, shape=(1, 7, 7, 1))
    image = to_numpy(test_image)[0, :, :, 0]
    maxpooled = MaxPooling2D(pool_size=2, strides=2)(test_image)
    avepooled = AveragePooling2D(pool_size=2, strides=2)(test_image)
    blocks = image[:6, :6].reshape(3, 2, 3, 2)  # valid padding drops the 7th row and column
    np.testing.assert_allclose(to_numpy(maxpooled)[0, :, :, 0], blocks.max(axis=(1, 3)), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(avepooled)[0, :, :, 0], blocks.mean(axis=(1, 3)), rtol=1e-5)
    pooled = GlobalAveragePooling2D()(test_image)  # one value per channel
    np.testing.assert_allclose(to_numpy(pooled)[0, 0], image.mean(), rtol=1e-5)
    print("pooling:", tuple(maxpooled.shape), tuple(avepooled.shape), tuple(pooled.shape))
    facts["pooled_shapes"] = [tuple(maxpooled.shape), tuple(avepooled.shape), tuple(pooled.shape)]

    feature_map = lamina.random.normal(mean=0, stddev=1, shape=(1, 11, 11, 128))
    flattened = Flatten()(feature_map)
    print("Flatten:", tuple(flattened.shape))  # (1, 15488) = 11 * 11 * 128
    assert tuple(flattened.shape) == (1, 15488)

    # -- 6. a custom layer of layers -------------------------------------------------------------------
    batch = 2 if args.quick else 16
    out = ConvLayer(8, 3)(lamina.random.normal(shape=(batch, 8, 8, 3)))
    assert tuple(out.shape) == (batch, 4, 4, 8) and bool((out >= 0).all())
    print("ConvLayer:", tuple(out.shape))

    # -- 7. functional and subclassed models; Conv2D -> BatchNormalization -> Activation -------------------
    INPUT_SIZE_W, INPUT_SIZE_H = 6, 5
    input_tensor = Input(shape=(INPUT_SIZE_W, INPUT_SIZE_H))
    x = Flatten()(input_tensor)
    x = Dense(units=10, activation="sigmoid")(x)
    output = Dense(units=20, activation="sigmoid")(x)
    model = Model(inputs=input_tensor, outputs=output)
    data = np.zeros((batch, 6, 5), "float32")
    assert tuple(model(data).shape) == (batch, 20)
    sub = TestModel()
    assert tuple(sub(data).shape) == (batch, 20) and len(sub.weights) == 4

    inputs = Input(shape=(8, 8, 3))
    x = Conv2D(filters=32, kernel_size=3, padding="same")(inputs)  # the seed writes filter=32
    x = BatchNormalization()(x)
    x = Activation("relu")(x)
    block = Model(inputs, x)
    block.summary()
    assert tuple(x.shape) == (None, 8, 8, 32)
    bn = block.layers[2]
    assert [w.shape for w in bn.weights] == [(32,)] * 4 and len(bn.non_trainable_weights) == 2  # moving stats
    facts["bn_block_params"] = block.count_params()
    assert facts["bn_block_params"] == 3 * 3 * 3 * 32 + 32 + 4 * 32
    return facts


if __name__ == "__main__":
    main()
