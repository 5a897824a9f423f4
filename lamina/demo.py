"""The main demo: train a small CNN on the handwritten digits that ship with lamina.

    python -m lamina.demo                       # 20 epochs, about a minute on a 2-core CPU
    python -m lamina.demo --epochs 3 --out run1 # quicker, other output folder

It trains with the progress bar, prints the held-out accuracy, saves the model as
``digits_cnn.keras``, draws ``model.png`` (plot_model) and ``training_curves.png``,
then reloads the saved file and checks that its predictions are identical.
No network is used: the data (UCI optical digits, 8x8) is inside the package.
"""

import argparse
import os
import sys

import numpy as np

import lamina
from lamina import layers

#: The accuracy the default run must reach on the held-out digits.
ACCURACY_THRESHOLD = 0.95


def build_model():
    """Input 8x8x1 -> Rescaling -> two Conv2D blocks -> Dense softmax over 10 digits."""
    inputs = lamina.Input((8, 8, 1), name="digit")
    x = layers.Rescaling(1.0 / 16.0, name="rescale")(inputs)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv1")(x)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(x)
    x = layers.MaxPooling2D(name="pool")(x)
    x = layers.Conv2D(64, 3, padding="same", activation="relu", name="conv3")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    x = layers.Dropout(0.2, name="dropout")(x)
    outputs = layers.Dense(10, activation="softmax", name="classes")(x)
    return lamina.Model(inputs, outputs, name="digits_cnn")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train a CNN on the digits shipped with lamina.")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default="lamina_demo_output", help="folder for the model and the plots")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", default="auto", help="0, 1, 2 or auto (as Keras)")
    args = parser.parse_args(argv)
    verbose = args.verbose if args.verbose == "auto" else int(args.verbose)

    lamina.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = lamina.datasets.digits.load_data()
    x_train = x_train[..., None].astype("float32")
    x_test = x_test[..., None].astype("float32")
    print(f"digits: {len(x_train)} training and {len(x_test)} held-out images of 8x8 pixels")

    model = build_model()
    model.summary()
    model.compile(optimizer=lamina.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs, validation_split=0.1,
                        verbose=verbose)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"held-out accuracy: {accuracy:.4f} (loss {loss:.4f})")

    os.makedirs(args.out, exist_ok=True)
    model_path = os.path.join(args.out, "digits_cnn.keras")
    model.save(model_path)
    lamina.utils.plot_model(model, to_file=os.path.join(args.out, "model.png"), show_shapes=True)
    curves = os.path.join(args.out, "training_curves.png")
    try:
        lamina.utils.plot_history(history, to_file=curves)
    except ImportError as error:  # matplotlib is optional
        curves = f"(skipped: {error})"

    reloaded = lamina.models.load_model(model_path)
    same = np.array_equal(model.predict(x_test, verbose=0), reloaded.predict(x_test, verbose=0))
    print(f"saved {model_path}; reloaded model gives identical predictions: {same}")
    print(f"wrote {os.path.join(args.out, 'model.png')} and {curves}")
    if not same:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
