"""A functional model with two inputs, shared layers and two outputs, each with its own loss and metrics.

    python examples/functional_multi_input.py                    # 12 epochs, writes into multi_input_output/
    python examples/functional_multi_input.py --quick --out /tmp/multi

The task, on pairs of the digits shipped with lamina: given two images ``image_a`` and ``image_b``,

* ``same_digit``: are they the same digit? (sigmoid, binary cross-entropy, accuracy and AUC), and
* ``digit_sum``: what is the sum of the two digits? (linear, mean squared error, mean absolute error).

Both images go through the same ``encoder`` layers (a siamese network: one set of weights, called twice).
``compile`` takes dicts keyed by output name for ``loss``, ``metrics`` and ``loss_weights``; ``fit`` takes
dicts keyed by input and output name. ``summary()`` and ``plot_model`` show the shared layers once.
"""

import argparse
import os

import numpy as np

import lamina
from lamina import layers


def make_pairs(images, digits, n, seed):
    """``n`` pairs of images, half of them of the same digit, with both targets."""
    rng = np.random.default_rng(seed)
    by_digit = [np.flatnonzero(digits == d) for d in range(10)]
    first = rng.integers(0, len(images), size=n)
    second = rng.integers(0, len(images), size=n)
    same = rng.random(n) < 0.5
    second[same] = [rng.choice(by_digit[digits[i]]) for i in first[same]]  # force half the pairs to match
    inputs = {"image_a": images[first], "image_b": images[second]}
    targets = {"same_digit": (digits[first] == digits[second]).astype("float32")[:, None],
               "digit_sum": (digits[first] + digits[second]).astype("float32")[:, None]}
    return inputs, targets


def build_model(hidden=64):
    image_a = lamina.Input((8, 8), name="image_a")
    image_b = lamina.Input((8, 8), name="image_b")

    # shared layers: created once, called on both inputs
    flatten = layers.Flatten(name="flatten")
    rescale = layers.Rescaling(1.0 / 16.0, name="rescale")
    encode_1 = layers.Dense(hidden, activation="relu", name="encoder_1")
    encode_2 = layers.Dense(hidden, activation="relu", name="encoder_2")
    code_a = encode_2(encode_1(rescale(flatten(image_a))))
    code_b = encode_2(encode_1(rescale(flatten(image_b))))

    # "same digit?" looks at how the two codes differ; "sum" looks at both codes side by side
    difference = lamina.ops.abs(layers.Subtract(name="difference")([code_a, code_b]))  # ops work on graph tensors
    same_digit = layers.Dense(1, activation="sigmoid", name="same_digit")(
        layers.Dense(32, activation="relu", name="compare")(difference))
    both = layers.Concatenate(name="both_codes")([code_a, code_b])
    digit_sum = layers.Dense(1, name="digit_sum")(layers.Dense(32, activation="relu", name="add")(both))
    return lamina.Model(inputs=[image_a, image_b], outputs=[same_digit, digit_sum], name="digit_pairs")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2000 pairs, 4 epochs (a few seconds)")
    parser.add_argument("--pairs", type=int, default=8000)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--sum-weight", type=float, default=0.05,
                        help="loss weight of digit_sum (its MSE is on a larger scale than the cross-entropy)")
    parser.add_argument("--out", default="multi_input_output", help="folder for the model and its plot")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    pairs, epochs = (2000, 4) if args.quick else (args.pairs, args.epochs)
    lamina.utils.set_random_seed(args.seed)

    (x_train, y_train), (x_test, y_test) = lamina.datasets.digits.load_data()
    train_inputs, train_targets = make_pairs(x_train.astype("float32"), y_train, pairs, args.seed)
    test_inputs, test_targets = make_pairs(x_test.astype("float32"), y_test, pairs // 4, args.seed + 1)

    model = build_model()
    model.summary()
    os.makedirs(args.out, exist_ok=True)
    png = os.path.join(args.out, "digit_pairs.png")
    lamina.utils.plot_model(model, to_file=png, show_shapes=True, show_layer_names=True)
    print("wrote", png)

    # the encoder's weights exist once although it is called on both images
    encoder_weights = model.get_layer("encoder_1").weights + model.get_layer("encoder_2").weights
    assert len(model.get_layer("encoder_1").inbound_nodes) == 2
    assert sum(1 for w in model.weights if any(w is e for e in encoder_weights)) == 4

    model.compile(
        optimizer=lamina.optimizers.Adam(2e-3),
        loss={"same_digit": "binary_crossentropy", "digit_sum": "mse"},
        loss_weights={"same_digit": 1.0, "digit_sum": args.sum_weight},
        metrics={"same_digit": ["accuracy", lamina.metrics.AUC(name="auc")], "digit_sum": ["mae"]},
    )
    history = model.fit(train_inputs, train_targets, batch_size=64, epochs=epochs, validation_split=0.1,
                        verbose=0 if args.quick else "auto")
    results = model.evaluate(test_inputs, test_targets, verbose=0, return_dict=True)
    for name, value in results.items():
        print(f"{name:>26}: {value:.4f}")

    # the total loss is the weighted sum of the two output losses
    weighted = results["same_digit_loss"] + args.sum_weight * results["digit_sum_loss"]
    assert abs(results["loss"] - weighted) < 1e-3 * max(1.0, weighted), (results["loss"], weighted)

    same_probability, predicted_sum = model.predict({"image_a": test_inputs["image_a"][:5],
                                                     "image_b": test_inputs["image_b"][:5]}, verbose=0)
    for i in range(5):
        print(f"pair {i}: same={same_probability[i, 0]:.2f} (true {int(test_targets['same_digit'][i, 0])}), "
              f"sum={predicted_sum[i, 0]:.1f} (true {int(test_targets['digit_sum'][i, 0])})")
    path = os.path.join(args.out, "digit_pairs.keras")
    model.save(path)
    reloaded = lamina.models.load_model(path)
    again = reloaded.predict({"image_a": test_inputs["image_a"][:5], "image_b": test_inputs["image_b"][:5]},
                             verbose=0)
    np.testing.assert_allclose(again[1], predicted_sum, rtol=1e-5, atol=1e-5)
    print(f"saved {path}; the reloaded model gives the same predictions")
    return {**results, "history": history.history, "plot": png, "model_path": path}


if __name__ == "__main__":
    main()
