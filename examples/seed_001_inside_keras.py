"""Seed 001, "인사이드 tf 케라스" (Inside TensorFlow: tf.keras), run with lamina.

    python examples/seed_001_inside_keras.py                 # full sizes, saves into seed_001_output/
    python examples/seed_001_inside_keras.py --quick --out /tmp/s1

What the talk walks through, with ``tf`` replaced by ``lamina`` / ``torch``:

1. a ``Linear`` layer written two ways: variables made in ``__init__`` (input size given up front),
   then the Keras way with a lazy ``build``;
2. ``ComputeSum``: non-trainable state updated with ``assign_add`` (prints 1, then 2);
3. ``MLPBlock``: layers nested in a layer, weights created by the first call;
4. ``add_loss`` inside ``call``; ``layer.losses`` is reset at every call;
5. a ``training`` flag that switches a batch-normalization sketch between batch and moving statistics;
6. a hand-written training loop (``GradientTape`` + ``optimizer.apply_gradients``);
7. the same block as a ``Model`` subclass with ``compile`` / ``fit`` / ``evaluate`` / ``save``;
8. the functional "mnist_model" (784 -> 64 -> 64 -> 10), trained here on generated data.

The seed's code has a few typos that TensorFlow would reject too (a missing ``= ...``, ``super(MLPBlock,
self)`` inside ``MLP``, ``self.linear1`` vs ``self.linear_1``); they are fixed and marked ``# seed typo``.
"""

import argparse
import os

import numpy as np
import torch

import lamina
from lamina import layers
from lamina.layers import Layer
from lamina.ops import convert_to_numpy as to_numpy


class LinearEager(Layer):
    """The first ``Linear``: weights created in ``__init__``, so ``input_dim`` must be given."""

    def __init__(self, units=32, input_dim=32):
        super().__init__()
        self.w = lamina.Variable(initial_value=lamina.initializers.RandomNormal()(shape=(input_dim, units)),
                                 trainable=True)
        self.b = lamina.Variable(initial_value=lamina.initializers.Zeros()(shape=(units,)), trainable=True)

    def call(self, inputs):
        return torch.matmul(inputs, self.w) + self.b


class Linear(Layer):
    """The Keras-style ``Linear``: the input size is read from the first input, in ``build``."""

    def __init__(self, units=32, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="random_normal", trainable=True)

    def call(self, inputs):
        return torch.matmul(inputs, self.w) + self.b

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class ComputeSum(Layer):
    """Keeps a running total of its inputs in a non-trainable variable."""

    def __init__(self, input_dim):
        super().__init__()
        self.total = lamina.Variable(initial_value=torch.zeros(()), trainable=False)

    def call(self, inputs):
        self.total.assign_add(lamina.ops.sum(inputs, axis=0))
        return inputs


class MLPBlock(Layer):
    """Three ``Linear`` layers; no weights exist until the first call."""

    def __init__(self):  # the seed does not call super().__init__(); lamina accepts that as tf.keras 2 did
        self.linear_1 = Linear(32)
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = torch.relu(x)
        x = self.linear_2(x)
        x = torch.relu(x)
        return self.linear_3(x)


class SparseLinear(Layer):
    """``Linear`` that adds an activity penalty with ``add_loss`` ("학습 중 모델 내부에서 loss 계산")."""

    def __init__(self, units=32, activation_sparsity_l2=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.activation_sparsity_l2 = activation_sparsity_l2  # seed typo: the "= ..." was missing

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1], self.units), initializer="random_normal", trainable=True)
        self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True)

    def call(self, inputs):
        output = torch.matmul(inputs, self.w)
        self.add_loss(lamina.ops.sum(output) * self.activation_sparsity_l2)
        return output + self.b


class SketchBatchNormalization(Layer):
    """The seed's batch-normalization sketch: the ``training`` argument picks the statistics."""

    def build(self, input_shape):
        dim = input_shape[-1]
        self.gamma = self.add_weight(shape=(dim,), initializer="ones", trainable=True)
        self.beta = self.add_weight(shape=(dim,), initializer="zeros", trainable=True)
        self.var = self.add_weight(shape=(dim,), initializer="ones", trainable=False)
        self.mean = self.add_weight(shape=(dim,), initializer="zeros", trainable=False)  # seed typo: trainable=True

    def call(self, inputs, training=False):
        if training:
            axes = list(range(inputs.dim() - 1))
            mean, var = lamina.ops.mean(inputs, axis=axes), lamina.ops.var(inputs, axis=axes)
            normalized = (inputs - mean) / var  # the seed divides by the variance, as written
            self.var.assign(self.var * 0.9 + var * 0.1)
            self.mean.assign(self.mean * 0.9 + mean * 0.1)
        else:
            normalized = (inputs - self.mean) / self.var
        return normalized * self.gamma + self.beta


class MLP(lamina.Model):
    """The seed's ``MLP``: the same three ``Linear`` layers, as a ``Model`` (so it can fit and save)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)  # seed typo: super(MLPBlock, self)
        self.linear_1 = Linear(32)  # seed typo: self.linear1, but call() reads self.linear_1
        self.linear_2 = Linear(32)
        self.linear_3 = Linear(1)

    def call(self, inputs):
        x = self.linear_1(inputs)
        x = torch.relu(x)
        x = self.linear_2(x)
        x = torch.relu(x)
        return self.linear_3(x)


def make_binary_data(n, features, seed):
    """Points in ``features`` dimensions, labelled by the sign of a fixed linear function."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x @ rng.normal(size=(features, 1)) > 0).astype("float32")
    return x, y


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples and epochs (a few seconds)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--out", default="seed_001_output", help="folder for the saved MLP")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = 4 if args.quick else args.epochs
    n = 256 if args.quick else 2048
    lamina.utils.set_random_seed(args.seed)
    facts = {}

    # -- 1. Linear, two ways ------------------------------------------------------------------------------
    x = torch.ones((2, 2))
    linear_layer = LinearEager(4, input_dim=2)
    y = linear_layer(x)  # does call(x)
    assert tuple(y.shape) == (2, 4) and len(linear_layer.trainable_weights) == 2

    linear_layer = Linear(32)  # input shape unknown at construction
    assert linear_layer.weights == []
    y = linear_layer(x)  # does build(x.shape) followed by call(x)
    assert [w.shape for w in linear_layer.weights] == [(2, 32), (32,)]
    print("Linear(32) built on its first call:", linear_layer.weights[0])

    # -- 2. non-trainable state -----------------------------------------------------------------------
    x = torch.ones((1, 1))
    my_sum = ComputeSum(1)
    my_sum(x)
    print(my_sum.total)  # 1
    first = float(my_sum.total)
    my_sum(x)
    print(my_sum.total)  # 2
    assert (first, float(my_sum.total)) == (1.0, 2.0)
    assert my_sum.trainable_weights == [] and len(my_sum.non_trainable_weights) == 1
    facts["compute_sum"] = [first, float(my_sum.total)]

    # -- 3. nested layers ------------------------------------------------------------------------------
    mlp = MLPBlock()
    assert mlp.weights == []
    y = mlp(torch.ones(size=(3, 64)))  # the first call to the mlp will create the weights
    assert tuple(y.shape) == (3, 1)
    facts["mlp_block_weight_shapes"] = [w.shape for w in mlp.weights]
    assert facts["mlp_block_weight_shapes"] == [(64, 32), (32,), (32, 32), (32,), (32, 1), (1,)]
    print("MLPBlock weights after the first call:", facts["mlp_block_weight_shapes"])

    # -- 4. add_loss ---------------------------------------------------------------------------------
    sparse = SparseLinear(32)
    sparse(torch.ones((2, 4)))
    print(sparse.losses)  # list with one scalar tensor
    sparse(torch.full((3, 4), 2.0))
    print(sparse.losses)  # still one scalar tensor: reset at every call
    assert len(sparse.losses) == 1
    expected = float((np.full((3, 4), 2.0) @ sparse.w.numpy()).sum() * 1e-3)
    np.testing.assert_allclose(float(to_numpy(sparse.losses[0])), expected, rtol=1e-5)

    # -- 5. the training flag ------------------------------------------------------------------------
    data = np.array([[1.0, 2.0], [3.0, 6.0]], dtype="float32")
    bn = SketchBatchNormalization()
    np.testing.assert_allclose(to_numpy(bn(data)), data)  # inference: moving statistics still 0 and 1
    trained = bn(data, training=True)  # training: batch statistics, and the moving ones move
    np.testing.assert_allclose(to_numpy(trained), (data - data.mean(0)) / data.var(0), rtol=1e-6)
    np.testing.assert_allclose(bn.mean.numpy(), 0.1 * data.mean(0), rtol=1e-6)
    print("moving mean after one training call:", bn.mean.numpy())

    # -- 6. a hand-written training loop ------------------------------------------------------------
    x_data, y_data = make_binary_data(n, 8, args.seed)
    batch = 32
    datasets = [(x_data[i:i + batch], y_data[i:i + batch]) for i in range(0, n, batch)]
    linear_layer = Linear(1)
    loss_fn = lamina.losses.BinaryCrossentropy(from_logits=True)
    optimizer = lamina.optimizers.Adam(learning_rate=0.05)
    first_loss = last_loss = None
    for _ in range(epochs):
        for x, y in datasets:
            with lamina.GradientTape() as tape:
                logits = linear_layer(x)  # logits for this minibatch
                loss_value = loss_fn(y, logits)  # loss value for this minibatch
                loss_value += sum(linear_layer.losses)  # (empty here; SparseLinear would add its penalty)
            grads = tape.gradient(loss_value, linear_layer.trainable_weights)
            optimizer.apply_gradients(zip(grads, linear_layer.trainable_weights))
            last_loss = float(to_numpy(loss_value))
            first_loss = last_loss if first_loss is None else first_loss
    print(f"custom loop: loss {first_loss:.4f} -> {last_loss:.4f}")
    assert last_loss < first_loss
    facts["custom_loop_loss"] = (first_loss, last_loss)

    # -- 7. a Model subclass: compile / fit / evaluate / save ----------------------------------------------
    mlp = MLP()
    mlp.compile(optimizer=lamina.optimizers.Adam(), loss=lamina.losses.BinaryCrossentropy(from_logits=True))
    history = mlp.fit(x_data, y_data, batch_size=batch, epochs=epochs, verbose=0)
    loss = mlp.evaluate(x_data, y_data, verbose=0)
    print(f"MLP: fit losses {[round(v, 4) for v in history.history['loss']]}, evaluate loss {loss:.4f}")
    assert history.history["loss"][-1] < history.history["loss"][0]
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "mlp.keras")  # Keras 3 needs the extension (the seed writes 'filename')
    mlp.save(path)
    restored = lamina.models.load_model(path, custom_objects={"MLP": MLP, "Linear": Linear})
    np.testing.assert_allclose(restored.predict(x_data[:16], verbose=0), mlp.predict(x_data[:16], verbose=0),
                               rtol=1e-6, atol=1e-6)
    print(f"saved {path} and reloaded it: same predictions")
    facts["mlp_eval_loss"] = float(loss)
    facts["mlp_path"] = path

    # -- 8. the functional API -----------------------------------------------------------------------
    inputs = lamina.Input(shape=(784,), name="img")
    x = layers.Dense(64, activation="relu")(inputs)
    x = layers.Dense(64, activation="relu")(x)
    outputs = layers.Dense(10, activation="softmax")(x)
    model = lamina.Model(inputs=inputs, outputs=outputs, name="mnist_model")
    # generated "images": 10 class prototypes plus noise, so the model has something to learn
    rng = np.random.default_rng(args.seed)
    prototypes = rng.uniform(size=(10, 784)).astype("float32")
    labels = rng.integers(0, 10, size=n)
    images = prototypes[labels] + 0.5 * rng.normal(size=(n, 784)).astype("float32")
    y = model(images[:5])  # autogenerated 'call'
    assert tuple(y.shape) == (5, 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images, labels, batch_size=batch, epochs=max(2, epochs // 2), verbose=0)
    _, accuracy = model.evaluate(images, labels, verbose=0)
    print(f"mnist_model on generated data: accuracy {accuracy:.3f}")
    facts["mnist_model_accuracy"] = float(accuracy)
    return facts


if __name__ == "__main__":
    main()
