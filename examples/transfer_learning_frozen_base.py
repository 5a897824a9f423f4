"""Transfer learning: train a base, freeze it, train a new head, then fine-tune everything gently.

    python examples/transfer_learning_frozen_base.py           # 10 + 6 + 4 epochs
    python examples/transfer_learning_frozen_base.py --quick   # a few seconds

On the digits shipped with lamina:

1. **pre-train** a convolutional ``base`` with a head for the digits 0-4;
2. **freeze** it (``base.trainable = False``) and put a **new head** on it for the digits 5-9, which the
   base has never seen; only the head's two weights are trainable, and the base's weights are checked to
   be bit-for-bit unchanged after training the head;
3. **fine-tune**: unfreeze the base, ``compile`` again (needed for ``trainable`` to take effect in ``fit``)
   with a 10x lower learning rate, and train a little more.

The base is called with ``training=False`` inside the new model, so layers that behave differently in
training (here ``Dropout``) stay in inference mode even while fine-tuning, as Keras's guide recommends.
"""

import argparse

import numpy as np

import lamina
from lamina import layers


def build_base():
    """8x8x1 image -> 64 features."""
    return lamina.Sequential([
        lamina.Input((8, 8, 1)),
        layers.Rescaling(1.0 / 16.0),
        layers.Conv2D(16, 3, padding="same", activation="relu", name="conv_1"),
        layers.Conv2D(32, 3, padding="same", activation="relu", name="conv_2"),
        layers.MaxPooling2D(name="pool"),
        layers.Flatten(name="flatten"),
        layers.Dropout(0.2, name="dropout"),
        layers.Dense(64, activation="relu", name="features"),
    ], name="base")


def with_head(base, name):
    """``base`` (in inference mode) followed by a new 5-way softmax head."""
    inputs = lamina.Input((8, 8, 1), name="image")
    features = base(inputs, training=False)
    outputs = layers.Dense(5, activation="softmax", name=f"{name}_head")(features)
    return lamina.Model(inputs, outputs, name=name)


def split(x, y, low):
    """The images of the digits ``low`` .. ``low + 4``, with labels shifted to 0-4."""
    keep = (y >= low) & (y < low + 5)
    return x[keep], (y[keep] - low).astype("int64")


def weights_of(layer):
    return [w.numpy().copy() for w in layer.weights]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer epochs (a few seconds)")
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--head-epochs", type=int, default=6)
    parser.add_argument("--finetune-epochs", type=int, default=4)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    pre_epochs, head_epochs, fine_epochs = (3, 3, 1) if args.quick else (
        args.pretrain_epochs, args.head_epochs, args.finetune_epochs)
    lamina.utils.set_random_seed(args.seed)
    verbose = 0 if args.quick else 2

    (x_train, y_train), (x_test, y_test) = lamina.datasets.digits.load_data()
    x_train, x_test = x_train[..., None].astype("float32"), x_test[..., None].astype("float32")
    old_train, old_test = split(x_train, y_train, 0), split(x_test, y_test, 0)  # digits 0-4
    new_train, new_test = split(x_train, y_train, 5), split(x_test, y_test, 5)  # digits 5-9
    facts = {}

    # -- 1. pre-train the base on the digits 0-4 ---------------------------------------------------
    base = build_base()
    pretrain = with_head(base, "pretrain")
    pretrain.compile(optimizer=lamina.optimizers.Adam(args.learning_rate), loss="sparse_categorical_crossentropy",
                     metrics=["accuracy"])
    pretrain.fit(*old_train, batch_size=32, epochs=pre_epochs, verbose=verbose)
    facts["pretrain_accuracy"] = float(pretrain.evaluate(*old_test, verbose=0)[1])
    print(f"1. base + head on digits 0-4: test accuracy {facts['pretrain_accuracy']:.4f}")

    # -- 2. freeze the base, train a new head on the digits 5-9 --------------------------------------------
    base.trainable = False  # every weight of the base moves to non_trainable_weights
    model = with_head(base, "transfer")
    model.summary()
    facts["trainable_weights"] = len(model.trainable_weights)
    facts["non_trainable_weights"] = len(model.non_trainable_weights)
    print(f"2. frozen base: {facts['trainable_weights']} trainable weights (the new head's kernel and bias), "
          f"{facts['non_trainable_weights']} non-trainable (the base's)")
    assert facts["trainable_weights"] == 2 and facts["non_trainable_weights"] == len(base.weights) == 6
    head = model.get_layer("transfer_head")
    assert all(any(w is h for h in head.weights) for w in model.trainable_weights)

    before = weights_of(base)
    head_before = weights_of(head)
    model.compile(optimizer=lamina.optimizers.Adam(args.learning_rate), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(*new_train, batch_size=32, epochs=head_epochs, verbose=verbose)
    facts["base_unchanged"] = all(np.array_equal(a, b) for a, b in zip(before, weights_of(base)))
    facts["head_changed"] = not all(np.array_equal(a, b) for a, b in zip(head_before, weights_of(head)))
    assert facts["base_unchanged"] and facts["head_changed"]
    facts["head_accuracy"] = float(model.evaluate(*new_test, verbose=0)[1])
    print(f"   new head on digits 5-9: test accuracy {facts['head_accuracy']:.4f}; base weights unchanged")

    # -- 3. fine-tune everything with a low learning rate -------------------------------------------------
    base.trainable = True
    model.compile(optimizer=lamina.optimizers.Adam(args.learning_rate / 10), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])  # compile again so that fit sees the new trainable weights
    assert len(model.trainable_weights) == 2 + len(base.weights)
    model.fit(*new_train, batch_size=32, epochs=fine_epochs, verbose=verbose)
    moved = [float(np.abs(a - b).max()) for a, b in zip(before, weights_of(base))]
    facts["finetune_accuracy"] = float(model.evaluate(*new_test, verbose=0)[1])
    facts["largest_base_change"] = max(moved)
    assert facts["largest_base_change"] > 0
    print(f"3. fine-tuned: test accuracy {facts['finetune_accuracy']:.4f}; "
          f"largest change of a base weight {facts['largest_base_change']:.2e}")
    return facts


if __name__ == "__main__":
    main()
