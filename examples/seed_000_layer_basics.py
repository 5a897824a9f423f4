"""Seed 000, "keras 뽀개기 (1) Layer란?": what a Keras layer is, run with lamina.

    python examples/seed_000_layer_basics.py          # prints each step of the walkthrough
    python examples/seed_000_layer_basics.py --quick  # the same (the walkthrough is already tiny)

The walkthrough, step by step, with ``tensorflow.keras`` replaced by ``lamina``:

1. a ``Dense`` layer is a function: ``hidden_layer(x)`` equals ``relu(x @ W + b)``;
2. weights are lazy: an unbuilt layer has ``weights == []``; ``build((None, 3))`` creates them,
   and ``build((None, 5))`` again re-creates them at the new size (tf.keras 2 behaviour);
3. the first call builds the layer from the shape of its input;
4. one gradient-descent step with ``GradientTape`` and ``Variable.assign``;
5. ``get_config()`` lists the hyper-parameters;
6. a custom ``MyLayer`` with ``build`` / ``call`` / ``get_config``.

Every fact the write-up prints is checked with an ``assert``; ``main`` returns them in a dict.
"""

import argparse

import numpy as np
import torch

import lamina
from lamina.layers import Dense, Layer
from lamina.ops import convert_to_numpy as to_numpy  # torch tensor (with or without grad) -> NumPy


class MyLayer(Layer):
    """The seed's custom layer: ``relu(inputs @ w + b)`` with ``num_units`` outputs."""

    def __init__(self, num_units, **kwargs):
        self.num_units = num_units
        super().__init__(**kwargs)

    def build(self, input_shape):
        # the weights are defined here, once the input size is known
        self.w = self.add_weight(shape=(input_shape[1], self.num_units), name="kernel")
        self.b = self.add_weight(shape=(self.num_units,), initializer="zeros", name="bias")
        super().build(input_shape)

    def call(self, inputs):
        # the computation
        return torch.relu(inputs @ self.w + self.b)

    def get_config(self):
        # the hyper-parameters, so that the layer can be re-created from its config
        config = super().get_config()
        config.update({"num_units": self.num_units})
        return config


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="accepted for uniformity; the walkthrough is tiny")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=1e-1, help="learning rate of the hand-written step")
    args = parser.parse_args(argv)
    lamina.utils.set_random_seed(args.seed)
    facts = {}

    # -- 1. a layer is a function of its input and its weights --------------------------------------------
    hidden_layer = Dense(3, activation="relu", name="hidden")
    output_layer = Dense(1, activation="sigmoid", name="output")
    print(hidden_layer)
    print(output_layer)

    x = lamina.constant([[1, 2]], "float32")
    y = hidden_layer(x)
    print(y)
    W_h, b_h = hidden_layer.weights
    print("W : ", W_h)
    print("b : ", b_h)
    manual = torch.relu(x @ W_h + b_h)  # what the layer computes inside
    torch.testing.assert_close(y, manual)
    assert (W_h.path, W_h.shape, b_h.shape) == ("hidden/kernel", (2, 3), (3,))
    facts["forward_equals_relu_affine"] = True

    # -- 2. weights are created by build(input_shape) --------------------------------------------------
    print("output_layer.weights before build:", output_layer.weights)
    assert output_layer.weights == []
    output_layer.build((None, 3))  # input shape (None, 3)
    W_o, b_o = output_layer.weights
    print("W : ", W_o)
    print("b : ", b_o)
    assert W_o.shape == (3, 1) and b_o.shape == (1,)
    output_layer.build((None, 5))  # a bigger input gives bigger weights
    W_o, b_o = output_layer.weights
    print("W : ", W_o)
    assert W_o.shape == (5, 1) and len(output_layer.weights) == 2
    facts["rebuilt_kernel_shape"] = W_o.shape

    # -- 3. ... or, as usual, by the first call --------------------------------------------------------
    output_layer = Dense(1, activation="sigmoid", name="output")
    print("Before call : ", output_layer.weights)
    output_layer(lamina.constant([[1, 3, 2]], "float32"))
    print("After call : ", output_layer.weights)
    assert [w.shape for w in output_layer.weights] == [(3, 1), (1,)]

    # -- 4. a forward pass through two layers, then one gradient-descent step --------------------------
    inputs = lamina.constant([[0.2, 0.5], [0.3, 0.6], [0.1, -.3]], "float32")
    hidden_layer = Dense(3, activation="relu", name="hidden")
    output_layer = Dense(1, activation="sigmoid", name="output")
    forward = output_layer(hidden_layer(inputs))
    print("forward pass:", forward)
    assert tuple(forward.shape) == (3, 1)

    y_true = lamina.constant([[1.], [0.], [1.]], "float32")  # labels
    with lamina.GradientTape() as tape:
        z = hidden_layer(inputs)
        y_pred = output_layer(z)
        loss = lamina.losses.binary_crossentropy(y_true, y_pred)
    weights = hidden_layer.weights + output_layer.weights
    before = [w.numpy().copy() for w in weights]
    grads = tape.gradient(loss, weights)  # back-propagation
    for weight, grad in zip(weights, grads):  # W := W - lr * dL/dW
        weight.assign(weight - args.lr * grad)
    for weight, old, grad in zip(weights, before, grads):
        np.testing.assert_allclose(weight.numpy(), old - args.lr * to_numpy(grad), rtol=1e-6, atol=1e-7)
    print("updated weights:", weights)
    facts["updated_paths"] = [w.path for w in weights]

    # -- 5. the hyper-parameters ---------------------------------------------------------------------
    config = hidden_layer.get_config()
    print(config)
    assert (config["name"], config["units"], config["activation"], config["use_bias"]) == ("hidden", 3, "relu", True)
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert config["bias_initializer"]["class_name"] == "Zeros"
    facts["hidden_config"] = config

    # -- 6. a custom layer ------------------------------------------------------------------------------
    lamina.backend.clear_session()  # fresh automatic names, so the layer is called "my_layer" as in the seed
    my_dense_layer = MyLayer(5)
    x = lamina.constant([[1., 2., 3.]], "float32")
    out = my_dense_layer(x)
    print(out)
    w, b = my_dense_layer.weights
    np.testing.assert_allclose(to_numpy(out), np.maximum(to_numpy(x) @ w.numpy() + b.numpy(), 0), rtol=1e-6)
    my_config = my_dense_layer.get_config()
    print(my_config)
    assert my_config == {"name": "my_layer", "trainable": True, "dtype": "float32", "num_units": 5}
    assert MyLayer.from_config(my_config).num_units == 5
    facts["my_layer_config"] = my_config
    return facts


if __name__ == "__main__":
    main()
