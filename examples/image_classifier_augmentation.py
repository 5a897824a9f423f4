"""An image classifier with data augmentation inside the model, on the digits shipped with lamina.

    python examples/image_classifier_augmentation.py                 # 16x16 inputs, 30 epochs, ~96 % accuracy
    python examples/image_classifier_augmentation.py --quick         # a few seconds
    python examples/image_classifier_augmentation.py --size 8 --no-flip --out run1

The 8x8 UCI digits (values 0-16) are upscaled inside the model with ``Resizing`` (``--size 8`` keeps them
as they are). Augmentation layers (``RandomFlip``, ``RandomRotation``, ``RandomZoom``) are the first
layers of the model: they change the images only while training (``fit``, or ``training=True``) and
pass them through unchanged in ``evaluate`` / ``predict``, so the saved model needs no separate
preprocessing code. Digits are not mirror-symmetric: the horizontal flip makes the task harder (the CNN
learns both orientations of each digit) and is there to show the layer; ``--no-flip`` leaves it out.
"""

import argparse
import os

import numpy as np

import lamina
from lamina import layers


def build_model(size, flip=True, seed=0):
    """Augmentation -> Rescaling -> two Conv2D/MaxPooling blocks -> Flatten -> softmax over 10 digits."""
    augmentation = [layers.RandomFlip("horizontal", seed=seed)] if flip else []
    augmentation += [layers.RandomRotation(0.05, fill_mode="constant", seed=seed),
                     layers.RandomZoom(0.1, fill_mode="constant", seed=seed)]
    augment = lamina.Sequential(augmentation, name="augment")

    inputs = lamina.Input((8, 8, 1), name="digit")
    x = inputs
    if size != 8:
        x = layers.Resizing(size, size, name="upscale")(x)  # bilinear upscaling, inside the model
    x = augment(x)
    x = layers.Rescaling(1.0 / 16.0, name="rescale")(x)  # pixel values 0-16 -> 0-1
    for filters in (16, 32):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.2)(x)
    outputs = layers.Dense(10, activation="softmax", name="classes")(x)
    return lamina.Model(inputs, outputs, name="augmented_cnn")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="600 training images, 4 epochs (a few seconds)")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, default=16, help="side of the images the CNN sees (8 = as shipped)")
    parser.add_argument("--no-flip", dest="flip", action="store_false", help="leave RandomFlip out")
    parser.add_argument("--out", default=None, help="if given, save the model and its plot in this folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = 4 if args.quick else args.epochs
    lamina.utils.set_random_seed(args.seed)

    (x_train, y_train), (x_test, y_test) = lamina.datasets.digits.load_data()
    x_train = x_train[..., None].astype("float32")  # (n, 8, 8, 1): channels last
    x_test = x_test[..., None].astype("float32")
    if args.quick:
        x_train, y_train = x_train[:600], y_train[:600]
    print(f"digits: {len(x_train)} training and {len(x_test)} test images")

    model = build_model(args.size, flip=args.flip, seed=args.seed)
    model.summary()

    # augmentation is active only in training mode
    augment = model.get_layer("augment")
    sample = x_test[:4] if args.size == 8 else lamina.ops.convert_to_numpy(model.get_layer("upscale")(x_test[:4]))
    unchanged = lamina.ops.convert_to_numpy(augment(sample, training=False))
    changed = lamina.ops.convert_to_numpy(augment(sample, training=True))
    assert np.array_equal(unchanged, sample) and not np.allclose(changed, sample)
    print("augmentation: identity with training=False, random changes with training=True")

    model.compile(optimizer=lamina.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=args.batch_size, epochs=epochs, validation_split=0.1,
                        verbose=0 if args.quick else "auto")
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"test accuracy {accuracy:.4f}, loss {loss:.4f}")

    predictions = model.predict(x_test[:8], verbose=0)
    assert np.array_equal(predictions, model.predict(x_test[:8], verbose=0))  # inference is deterministic
    print("predicted:", predictions.argmax(axis=-1).tolist(), "true:", y_test[:8].tolist())

    if args.out:
        os.makedirs(args.out, exist_ok=True)
        model.save(os.path.join(args.out, "augmented_cnn.keras"))
        lamina.utils.plot_model(model, to_file=os.path.join(args.out, "augmented_cnn.png"), show_shapes=True,
                                expand_nested=True)
        print("saved the model and its plot in", args.out)
    return {"accuracy": float(accuracy), "loss": float(loss), "history": history.history}


if __name__ == "__main__":
    main()
