"""The layer walkthroughs of seeds 000, 001, 003 and 004, run as written with lamina imports.

Each test keeps the seed's code (tf.keras -> lamina, ``tf.constant`` -> ``lamina.constant``,
``tf.nn.relu`` -> ``torch.relu``, ``tf.random.*`` -> ``lamina.random.*``) and asserts what the
seed prints. Typos in the seeds that would fail in TensorFlow too (``Dense(unit=...)``, an
unassigned attribute, ``call(x)`` without ``self``) are corrected and marked.
"""

import numpy as np
import pytest
import torch

import lamina
from lamina.backend import clear_session


def _np(x):
    return np.asarray(lamina.ops.convert_to_numpy(x)) if not isinstance(x, np.ndarray) else x


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---- seed 000: "keras 뽀개기 (1) Layer란?" -------------------------------------------------------

def test_seed000_dense_forward_is_relu_of_affine_map():
    from lamina.layers import Dense

    hidden_layer = Dense(3, activation="relu", name="hidden")
    output_layer = Dense(1, activation="sigmoid", name="output")
    assert "Dense" in repr(hidden_layer) and "Dense" in str(output_layer)

    x = lamina.constant([[1, 2]], "float32")
    out = hidden_layer(x)
    assert tuple(out.shape) == (1, 3) and out.dtype == torch.float32

    W_h, b_h = hidden_layer.weights
    assert (W_h.name, W_h.path, W_h.shape) == ("kernel", "hidden/kernel", (2, 3))
    assert (b_h.path, b_h.shape) == ("hidden/bias", (3,)) and b_h.numpy().tolist() == [0.0, 0.0, 0.0]
    manual = torch.relu(x @ W_h + b_h)
    torch.testing.assert_close(out, manual)
    np.testing.assert_allclose(_np(out), np.maximum(_np(x) @ W_h.numpy() + b_h.numpy(), 0), rtol=1e-6)


def test_seed000_build_creates_and_recreates_weights():
    from lamina.layers import Dense

    output_layer = Dense(1, activation="sigmoid", name="output")
    assert output_layer.weights == []

    output_layer.build((None, 3))
    W_o, b_o = output_layer.weights
    assert W_o.shape == (3, 1) and b_o.shape == (1,)

    output_layer.build((None, 5))  # Keras 2 behaviour shown by the seed: new weights
    W_o, b_o = output_layer.weights
    assert W_o.shape == (5, 1) and b_o.shape == (1,) and b_o.numpy().tolist() == [0.0]
    assert len(output_layer.weights) == 2


def test_seed000_first_call_creates_weights():
    from lamina.layers import Dense

    output_layer = Dense(1, activation="sigmoid", name="output")
    assert output_layer.weights == []  # "Before call :  []"
    x = lamina.constant([[1, 3, 2]], "float32")
    output_layer(x)
    kernel, bias = output_layer.weights  # "After call :  [kernel (3, 1), bias (1,)]"
    assert (kernel.path, kernel.shape, bias.path, bias.shape) == ("output/kernel", (3, 1), "output/bias", (1,))


def _bce_loss_np(params, inputs, y_true, eps=1e-7):
    """Sum over the batch of Keras's binary_crossentropy of the seed's 2-layer net, in float64."""
    w1, b1, w2, b2 = params
    p = _sigmoid(np.maximum(inputs @ w1 + b1, 0) @ w2 + b2)
    p = np.clip(p, eps, 1 - eps)
    return float(np.sum(-np.mean(y_true * np.log(p) + (1 - y_true) * np.log(1 - p), axis=-1)))


def test_seed000_gradient_tape_step_updates_every_weight_by_minus_lr_grad():
    from lamina.layers import Dense

    inputs = lamina.constant([[0.2, 0.5], [0.3, 0.6], [0.1, -.3]], "float32")
    hidden_layer = Dense(3, activation="relu", name="hidden")
    output_layer = Dense(1, activation="sigmoid", name="output")
    x = hidden_layer(inputs)
    x = output_layer(x)
    assert tuple(x.shape) == (3, 1) and bool(((x > 0) & (x < 1)).all())

    y_true = lamina.constant([[1.], [0.], [1.]], "float32")
    with lamina.GradientTape() as tape:
        z = hidden_layer(inputs)
        y_pred = output_layer(z)
        loss = lamina.losses.binary_crossentropy(y_true, y_pred)
    assert tuple(loss.shape) == (3,)

    weights = hidden_layer.weights + output_layer.weights
    assert [w.path for w in weights] == ["hidden/kernel", "hidden/bias", "output/kernel", "output/bias"]
    before = [w.numpy().copy() for w in weights]

    grads = tape.gradient(loss, weights)
    lr = 1e-1
    for weight, grad in zip(weights, grads):
        weight.assign(weight - lr * grad)

    # every weight moved by exactly -lr * grad (the seed prints the moved values)
    for w, old, g in zip(weights, before, grads):
        np.testing.assert_allclose(w.numpy(), old - lr * _np(g), rtol=1e-6, atol=1e-7)
    assert not np.allclose(weights[3].numpy(), before[3])  # output bias left zero

    # the gradient of the (summed) loss, against central finite differences in float64
    params = [b.astype(np.float64) for b in before]
    data, labels = _np(inputs).astype(np.float64), _np(y_true).astype(np.float64)
    for index, grad in enumerate(grads):
        expected = np.zeros_like(params[index])
        for pos in np.ndindex(params[index].shape):
            plus = [p.copy() for p in params]
            minus = [p.copy() for p in params]
            plus[index][pos] += 1e-6
            minus[index][pos] -= 1e-6
            expected[pos] = (_bce_loss_np(plus, data, labels) - _bce_loss_np(minus, data, labels)) / 2e-6
        np.testing.assert_allclose(_np(grad), expected, rtol=1e-3, atol=1e-5)


def test_seed000_dense_get_config():
    from lamina.layers import Dense

    hidden_layer = Dense(3, activation="relu", name="hidden")
    output_layer = Dense(1, activation="sigmoid", name="output")
    seed_keys = {"name", "trainable", "dtype", "units", "activation", "use_bias", "kernel_initializer",
                 "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                 "kernel_constraint", "bias_constraint"}
    for layer, units, activation in ((hidden_layer, 3, "relu"), (output_layer, 1, "sigmoid")):
        config = layer.get_config()
        # Keras 3 leaves out activity_regularizer when it is None and adds quantization_config
        # (None); every other seed key is there.
        assert seed_keys - {"activity_regularizer"} <= set(config) <= seed_keys | {"quantization_config"}
        assert config["name"] == layer.name and config["trainable"] is True and config["dtype"] == "float32"
        assert (config["units"], config["activation"], config["use_bias"]) == (units, activation, True)
        assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
        assert config["kernel_initializer"]["config"]["seed"] is None
        assert config["bias_initializer"]["class_name"] == "Zeros"
        assert config["bias_initializer"]["config"] == {}
        for key in ("kernel_regularizer", "bias_regularizer", "kernel_constraint", "bias_constraint"):
            assert config[key] is None
        assert config.get("activity_regularizer") is None


class MyLayer(lamina.layers.Layer):  # seed 000, In[18]
    def __init__(self, num_units, **kwargs):
        self.num_units = num_units
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[1], self.num_units), name="kernel")
        self.b = self.add_weight(shape=(self.num_units,), initializer="zeros", name="bias")
        super().build(input_shape)

    def call(self, inputs):
        return torch.relu(inputs @ self.w + self.b)

    def get_config(self):
        config = super().get_config()
        config.update({"num_units": self.num_units})
        return config


def test_seed000_custom_layer_and_its_config():
    clear_session()  # names are process-global counters: start from a fresh naming state
    my_dense_layer = MyLayer(5)
    x = lamina.constant([[1., 2., 3.]], "float32")
    out = my_dense_layer(x)
    assert tuple(out.shape) == (1, 5) and bool((out >= 0).all())
    w, b = my_dense_layer.weights
    np.testing.assert_allclose(_np(out), np.maximum(_np(x) @ w.numpy() + b.numpy(), 0), rtol=1e-6)
    assert my_dense_layer.get_config() == {"name": "my_layer", "trainable": True, "dtype": "float32", "num_units": 5}


# ---- seed 001: "인사이드 tf 케라스" ----------------------------------------------------------------

def test_seed001_linear_with_variables_in_init():
    class Linear(lamina.layers.Layer):
        def __init__(self, units=32, input_dim=32):
            super().__init__()
            self.w = lamina.Variable(
                initial_value=lamina.initializers.RandomNormal()(shape=(input_dim, units)), trainable=True)
            self.b = lamina.Variable(initial_value=lamina.initializers.Zeros()(shape=(units,)), trainable=True)

        def call(self, inputs):
            return torch.matmul(inputs, self.w) + self.b

    x = torch.ones((2, 2))
    linear_layer = Linear(4, input_dim=2)
    y = linear_layer(x)
    assert tuple(y.shape) == (2, 4)
    assert [tuple(w.shape) for w in linear_layer.trainable_weights] == [(2, 4), (4,)]
    np.testing.assert_allclose(_np(y), np.ones((2, 2)) @ linear_layer.w.numpy() + linear_layer.b.numpy(), rtol=1e-6)


class Linear(lamina.layers.Layer):  # seed 001, the Keras-style Linear
    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)

    def call(self, inputs):
        return torch.matmul(inputs, self.w) + self.b


def test_seed001_linear_builds_on_first_call():
    x = torch.ones((2, 2))
    linear_layer = Linear(32)
    assert linear_layer.weights == []
    y = linear_layer(x)
    assert tuple(y.shape) == (2, 32)
    assert [tuple(w.shape) for w in linear_layer.weights] == [(2, 32), (32,)]


def test_seed001_compute_sum_prints_1_then_2():
    class ComputeSum(lamina.layers.Layer):
        def __init__(self, input_dim):
            super().__init__()
            self.total = lamina.Variable(initial_value=torch.zeros(()), trainable=False)

        def call(self, inputs):
            self.total.assign_add(lamina.ops.sum(inputs, axis=0))
            return inputs

    x = torch.ones((1, 1))
    my_sum = ComputeSum(1)
    my_sum(x)
    assert float(my_sum.total) == 1.0  # print(my_sum.total) #1
    my_sum(x)
    assert float(my_sum.total) == 2.0  # print(my_sum.total) #2
    assert my_sum.trainable_weights == [] and my_sum.non_trainable_weights == [my_sum.total]


def test_seed001_mlp_block_without_super_init_creates_weights_on_first_call():
    class MLPBlock(lamina.layers.Layer):
        def __init__(self):  # no super().__init__(), as in the seed
            self.linear_1 = Linear(32)
            self.linear_2 = Linear(32)
            self.linear_3 = Linear(1)

        def call(self, inputs):
            x = self.linear_1(inputs)
            x = torch.relu(x)
            x = self.linear_2(x)
            x = torch.relu(x)
            return self.linear_3(x)

    mlp = MLPBlock()
    assert mlp.weights == []
    y = mlp(torch.ones(size=(3, 64)))  # the first call to the mlp will create the weights
    assert tuple(y.shape) == (3, 1)
    assert [tuple(w.shape) for w in mlp.weights] == [(64, 32), (32,), (32, 32), (32,), (32, 1), (1,)]
    assert len(mlp.trainable_weights) == 6


class SparseLinear(lamina.layers.Layer):  # seed 001, "학습 중 모델 내부에서 loss 계산"
    def __init__(self, units=32, activation_sparsity_l2=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation_sparsity_l2 = activation_sparsity_l2  # the seed forgets "= ..."

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        output = torch.matmul(inputs, self.w)
        self.add_loss(lamina.ops.sum(output) * self.activation_sparsity_l2)
        return output + self.b


def test_seed001_add_loss_is_reset_at_every_call():
    linear_layer = SparseLinear(32)
    x1, x2 = torch.ones((2, 4)), torch.full((3, 4), 2.0)
    linear_layer(x1)
    assert len(linear_layer.losses) == 1  # list with one scalar tensor
    np.testing.assert_allclose(_np(linear_layer.losses[0]), (x1.numpy() @ linear_layer.w.numpy()).sum() * 1e-3,
                               rtol=1e-5)
    linear_layer(x2)
    assert len(linear_layer.losses) == 1  # gets reset with every new call
    assert tuple(linear_layer.losses[0].shape) == ()
    np.testing.assert_allclose(_np(linear_layer.losses[0]), (x2.numpy() @ linear_layer.w.numpy()).sum() * 1e-3,
                               rtol=1e-5)

    # the seed's training step: main loss + the layer's losses, differentiated with a tape
    loss_fn = lamina.losses.BinaryCrossentropy(from_logits=True)
    y = torch.ones((2, 32))
    with lamina.GradientTape() as tape:
        logits = linear_layer(x1)
        loss_value = loss_fn(y, logits)
        loss_value += sum(linear_layer.losses)
    grads = tape.gradient(loss_value, linear_layer.trainable_weights)
    assert [tuple(g.shape) for g in grads] == [(4, 32), (32,)]


def test_seed001_batch_normalization_training_flag():
    class BatchNormalization(lamina.layers.Layer):  # the seed's sketch, typos fixed
        def build(self, input_shape):
            dim = input_shape[-1]
            self.gamma = self.add_weight(shape=(dim,), initializer="ones", trainable=True)
            self.beta = self.add_weight(shape=(dim,), initializer="zeros", trainable=True)
            self.var = self.add_weight(shape=(dim,), initializer="ones", trainable=False)
            self.mean = self.add_weight(shape=(dim,), initializer="zeros", trainable=False)

        def call(self, inputs, training=False):
            if training:
                axes = list(range(inputs.dim() - 1))
                mean, var = lamina.ops.mean(inputs, axis=axes), lamina.ops.var(inputs, axis=axes)
                normalized = (inputs - mean) / var
                self.var.assign(self.var * 0.9 + var * 0.1)
                self.mean.assign(self.mean * 0.9 + mean * 0.1)
            else:
                normalized = (inputs - self.mean) / self.var
            return normalized * self.gamma + self.beta

    data = np.array([[1.0, 2.0], [3.0, 6.0]], dtype="float32")
    bn = BatchNormalization()
    inference = bn(data)
    np.testing.assert_allclose(_np(inference), data)  # moving stats still 0 / 1
    trained = bn(data, training=True)
    mean, var = data.mean(axis=0), data.var(axis=0)
    np.testing.assert_allclose(_np(trained), (data - mean) / var, rtol=1e-6)
    np.testing.assert_allclose(bn.mean.numpy(), 0.1 * mean, rtol=1e-6)
    np.testing.assert_allclose(bn.var.numpy(), 0.9 + 0.1 * var, rtol=1e-6)
    assert [w.shape for w in bn.non_trainable_weights] == [(2,), (2,)]


def test_seed001_functional_mnist_model():
    from lamina import layers

    inputs = lamina.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = lamina.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    y = model(np.random.default_rng(0).normal(size=(5, 784)).astype("float32"))
    assert tuple(y.shape) == (5, 10)
    np.testing.assert_allclose(_np(y).sum(axis=-1), np.ones(5), rtol=1e-5)


# ---- seed 003: "Keras 레이어(keras.layers)" ----------------------------------------------------

def test_seed003_weights_and_config_round_trip():
    from lamina.layers import Dense

    layer = Dense(32)
    layer.build((None, 8))
    weights = layer.get_weights()
    assert [w.shape for w in weights] == [(8, 32), (32,)]
    layer.set_weights([np.ones((8, 32)), np.full((32,), 2.0)])
    assert layer.get_weights()[1].tolist() == [2.0] * 32

    config = layer.get_config()
    reconstructed_layer = Dense.from_config(config)
    assert reconstructed_layer.get_config() == config
    layer2 = lamina.layers.deserialize({"class_name": layer.__class__.__name__, "config": config})
    assert type(layer2) is Dense and layer2.get_config() == config


def test_seed003_custom_layer_with_compute_output_shape():
    class MyLayer3(lamina.layers.Layer):
        def __init__(self, output_dim, **kwargs):
            self.output_dim = output_dim
            super().__init__(**kwargs)

        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[1], self.output_dim),
                                          initializer="uniform", trainable=True)
            super().build(input_shape)

        def call(self, x):
            return lamina.ops.dot(x, self.kernel)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], self.output_dim)

    layer = MyLayer3(4)
    x = np.arange(6, dtype="float32").reshape(2, 3)
    y = layer(x)
    assert tuple(y.shape) == (2, 4) and layer.compute_output_shape((None, 3)) == (None, 4)
    kernel = layer.kernel.numpy()
    assert kernel.shape == (3, 4) and np.abs(kernel).max() <= 0.05  # Keras 2 'uniform': U(-0.05, 0.05)
    np.testing.assert_allclose(_np(y), x @ kernel, rtol=1e-6)
    symbolic = MyLayer3(4)(lamina.Input(shape=(3,)))
    assert tuple(symbolic.shape) == (None, 4)


def test_seed003_layer_input_output_and_embedding_flatten_shapes():
    from lamina.layers import Dense, Embedding, Flatten, Input

    inp = Input(shape=(6,), dtype="int32")
    embedding = Embedding(input_dim=100, output_dim=8)
    emb = embedding(inp)
    assert tuple(emb.shape) == (None, 6, 8)
    dense = Dense(3)
    out = dense(Flatten()(emb))
    assert dense.output is out and tuple(dense.input.shape) == (None, 48)
    values = embedding(np.array([[4, 20, 0, 1, 2, 3]]))
    np.testing.assert_allclose(_np(values)[0, 0], embedding.embeddings.numpy()[4])


# ---- seed 004: keras.layers notes ---------------------------------------------------------------

@pytest.mark.parametrize("N", [1, 8])
def test_seed004_dense_shapes(N):
    from lamina.layers import Dense

    n_feature = 10
    X = lamina.random.normal(shape=(N, n_feature))
    n_neuron = 3
    dense = Dense(units=n_neuron, activation="sigmoid")  # the seed writes "unit="
    Y = dense(X)
    W, B = dense.get_weights()
    assert (tuple(X.shape), W.shape, B.shape, tuple(Y.shape)) == ((N, 10), (10, 3), (3,), (N, 3))
    np.testing.assert_allclose(_np(Y), _sigmoid(_np(X) @ W + B), rtol=1e-5)


def test_seed004_cascaded_dense_layers():
    from lamina.layers import Dense

    N, n_feature = 4, 10
    X = lamina.random.normal(shape=(N, n_feature))
    n_neurons = [3, 5, 8]
    dense1 = Dense(units=n_neurons[0], activation="sigmoid")
    dense2 = Dense(units=n_neurons[1], activation="sigmoid")
    dense3 = Dense(units=n_neurons[2], activation="sigmoid")
    A1 = dense1(X)
    A2 = dense2(A1)
    Y = dense3(A2)
    assert [tuple(t.shape) for t in (X, A1, A2, Y)] == [(4, 10), (4, 3), (4, 5), (4, 8)]
    (W1, B1), (W2, B2), (W3, B3) = dense1.get_weights(), dense2.get_weights(), dense3.get_weights()
    assert [W1.shape, W2.shape, W3.shape] == [(10, 3), (3, 5), (5, 8)]
    assert [B1.shape, B2.shape, B3.shape] == [(3,), (5,), (8,)]

    X = lamina.random.normal(shape=(N, n_feature))
    dense_layers = [Dense(units=n_neuron, activation="relu") for n_neuron in [10, 20, 30, 40, 50, 60, 70]]
    for dense in dense_layers:
        X = dense(X)
    assert tuple(X.shape) == (4, 70)


@pytest.mark.parametrize("name", ["sigmoid", "gelu", "linear", "relu", "softmax", "swish"])
def test_seed004_activation_layer(name):
    from lamina.layers import Activation

    X = lamina.random.uniform(shape=(1, 5), minval=-10, maxval=10)
    value = _np(Activation(name)(X)).astype(np.float64)
    x = _np(X).astype(np.float64)
    from math import erf

    expected = {
        "sigmoid": _sigmoid(x),
        "gelu": 0.5 * x * (1 + np.vectorize(erf)(x / np.sqrt(2))),
        "linear": x,
        "relu": np.maximum(x, 0),
        "softmax": np.exp(x - x.max()) / np.exp(x - x.max()).sum(),
        "swish": x * _sigmoid(x),
    }[name]
    np.testing.assert_allclose(value, expected, rtol=1e-4, atol=1e-5)


def test_seed004_conv2d_valid_matches_manual_window_sum():
    from lamina.layers import Conv2D

    lamina.utils.set_random_seed(0)
    h_image, w_image = 7, 7
    test_image = lamina.random.normal(mean=0, stddev=1, shape=(1, w_image, h_image, 1))
    conv = Conv2D(filters=1, kernel_size=3, strides=1, padding="valid")
    conved = conv(test_image)
    assert tuple(conved.shape) == (1, 5, 5, 1)  # (7 - 3) / 1 + 1 = 5
    w, b = conv.get_weights()
    assert w.shape == (3, 3, 1, 1) and b.shape == (1,)
    image = _np(test_image)[0, :, :, 0]
    manual = np.array([[np.sum(image[r:r + 3, c:c + 3] * w[:, :, 0, 0]) + b[0] for c in range(5)] for r in range(5)])
    np.testing.assert_allclose(_np(conved)[0, :, :, 0], manual, rtol=1e-5, atol=1e-6)


def test_seed004_pooling_shapes_and_values():
    from lamina.layers import AveragePooling2D, GlobalAveragePooling2D, MaxPooling2D

    test_image = lamina.random.normal(mean=0, stddev=1, shape=(1, 7, 7, 1))
    image = _np(test_image)[0, :, :, 0]
    maxpooled = MaxPooling2D(pool_size=2, strides=2)(test_image)
    avepooled = AveragePooling2D(pool_size=2, strides=2)(test_image)
    assert tuple(maxpooled.shape) == tuple(avepooled.shape) == (1, 3, 3, 1)
    blocks = image[:6, :6].reshape(3, 2, 3, 2)
    np.testing.assert_allclose(_np(maxpooled)[0, :, :, 0], blocks.max(axis=(1, 3)), rtol=1e-6)
    np.testing.assert_allclose(_np(avepooled)[0, :, :, 0], blocks.mean(axis=(1, 3)), rtol=1e-5)
    pooled = GlobalAveragePooling2D()(test_image)
    assert tuple(pooled.shape) == (1, 1)
    np.testing.assert_allclose(_np(pooled)[0, 0], image.mean(), rtol=1e-5)


def test_seed004_flatten_keeps_the_batch_axis():
    from lamina.layers import Flatten

    feature_map = lamina.random.normal(mean=0, stddev=1, shape=(1, 11, 11, 128))
    flattened = Flatten()(feature_map)
    assert tuple(flattened.shape) == (1, 15488)  # 11 * 11 * 128
    np.testing.assert_array_equal(_np(flattened), _np(feature_map).reshape(1, -1))


def test_seed004_conv_layer_subclass_and_models():
    from lamina.layers import Activation, BatchNormalization, Conv2D, Dense, Flatten, Input, MaxPooling2D
    from lamina.models import Model

    class ConvLayer(lamina.layers.Layer):
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

    out = ConvLayer(8, 3)(lamina.random.normal(shape=(2, 8, 8, 3)))
    assert tuple(out.shape) == (2, 4, 4, 8) and bool((out >= 0).all())

    input_tensor = Input(shape=(6, 5))
    x = Flatten()(input_tensor)
    x = Dense(units=10, activation="sigmoid")(x)
    output = Dense(units=20, activation="sigmoid")(x)
    model = Model(inputs=input_tensor, outputs=output)
    assert tuple(model(np.zeros((3, 6, 5), "float32")).shape) == (3, 20)

    class TestModel(Model):
        def __init__(self):
            super().__init__()
            self.flatten = Flatten()
            self.dense1 = Dense(units=10, activation="sigmoid")
            self.dense2 = Dense(units=20, activation="sigmoid")

        def call(self, x):  # the seed writes call(x)
            x = self.flatten(x)
            x = self.dense1(x)
            x = self.dense2(x)
            return x

    sub = TestModel()
    assert tuple(sub(np.zeros((3, 6, 5), "float32")).shape) == (3, 20) and len(sub.weights) == 4

    inputs = Input(shape=(8, 8, 3))
    x = Conv2D(filters=32, kernel_size=3, padding="same")(inputs)
    x = BatchNormalization()(x)
    x = Activation("relu")(x)
    assert tuple(x.shape) == (None, 8, 8, 32)


def test_seed001_custom_training_loop_and_model_subclass_fit():
    # "학습": a hand-written loop with a tape and an optimizer, then the same block as a Model with fit.
    rng = np.random.default_rng(0)
    x_data = rng.normal(size=(64, 4)).astype("float32")
    y_data = (x_data[:, :1] > 0).astype("float32")
    datasets = [(x_data[i:i + 16], y_data[i:i + 16]) for i in range(0, 64, 16)]

    linear_layer = Linear(1)
    loss_fn = lamina.losses.BinaryCrossentropy(from_logits=True)
    optimizer = lamina.optimizers.Adam()
    for x, y in datasets:
        with lamina.GradientTape() as tape:
            logits = linear_layer(x)
            loss_value = loss_fn(y, logits)
        before = [w.numpy().copy() for w in linear_layer.trainable_weights]
        grads = tape.gradient(loss_value, linear_layer.trainable_weights)
        optimizer.apply_gradients(zip(grads, linear_layer.trainable_weights))
        assert all(not np.allclose(b, w.numpy()) for b, w in zip(before, linear_layer.trainable_weights))

    class MLP(lamina.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)  # the seed writes super(MLPBlock, self)
            self.linear_1 = Linear(32)
            self.linear_2 = Linear(32)
            self.linear_3 = Linear(1)

        def call(self, inputs):
            x = self.linear_1(inputs)
            x = torch.relu(x)
            x = self.linear_2(x)
            x = torch.relu(x)
            return self.linear_3(x)

    mlp = MLP()
    mlp.compile(optimizer=lamina.optimizers.Adam(), loss=lamina.losses.BinaryCrossentropy(from_logits=True))
    history = mlp.fit(x_data, y_data, batch_size=16, epochs=10, verbose=0)
    losses = history.history["loss"]
    assert len(losses) == 10 and losses[-1] < losses[0]
    loss = mlp.evaluate(x_data, y_data, verbose=0)
    assert np.isfinite(loss) and loss < losses[0]
