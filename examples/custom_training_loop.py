"""A training loop written by hand: GradientTape, optimizer.apply_gradients and metric objects.

    python examples/custom_training_loop.py                       # 10 epochs on the shipped digits
    python examples/custom_training_loop.py --quick               # a few seconds
    python examples/custom_training_loop.py --function            # train/test steps through lamina.function
    python examples/custom_training_loop.py --function --compile-backend eager   # trace only, no code generation

What ``fit`` does for you, spelled out (the structure of Keras's "writing a training loop from scratch"):
for each epoch, shuffle; for each batch, run the model under ``lamina.GradientTape`` with
``training=True``, add the layers' regularization losses (``model.losses``), take the gradients of the
trainable weights and ``optimizer.apply_gradients``; keep running numbers in metric objects with
``update_state`` / ``result`` / ``reset_state``. ``--function`` wraps the model's forward pass and loss in
``lamina.function`` (the ``tf.function`` counterpart, on ``torch.compile``): same results, compiled.
"""

import argparse

import numpy as np

import lamina
from lamina import layers


def build_model():
    """A small MLP with an L2 penalty on the hidden kernel (it shows up in ``model.losses``)."""
    return lamina.Sequential([
        lamina.Input((64,)),
        layers.Rescaling(1.0 / 16.0),
        layers.Dense(64, activation="relu", kernel_regularizer=lamina.regularizers.L2(1e-4), name="hidden"),
        layers.Dropout(0.1),
        layers.Dense(10, name="logits"),  # logits: the loss applies the softmax
    ], name="digits_mlp")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 epochs (a few seconds)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--function", action="store_true", help="compile the steps with lamina.function")
    parser.add_argument("--compile-backend", default=None,
                        help="torch.compile backend for --function ('inductor' by default; 'eager' traces only)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    epochs = 3 if args.quick else args.epochs
    lamina.utils.set_random_seed(args.seed)

    (x_train, y_train), (x_val, y_val) = lamina.datasets.digits.load_data()
    x_train, x_val = x_train.reshape(-1, 64).astype("float32"), x_val.reshape(-1, 64).astype("float32")
    y_train, y_val = y_train.astype("int64"), y_val.astype("int64")

    model = build_model()
    optimizer = lamina.optimizers.Adam(learning_rate=args.learning_rate)
    loss_fn = lamina.losses.SparseCategoricalCrossentropy(from_logits=True)
    train_loss = lamina.metrics.Mean(name="loss")
    train_accuracy = lamina.metrics.SparseCategoricalAccuracy(name="accuracy")
    val_accuracy = lamina.metrics.SparseCategoricalAccuracy(name="val_accuracy")

    def forward_and_loss(x, y):
        logits = model(x, training=True)  # Dropout is active
        loss = loss_fn(y, logits)
        loss = loss + sum(model.losses)  # the L2 penalty of the hidden kernel
        return logits, loss

    def predict_logits(x):
        return model(x, training=False)  # Dropout is a no-op

    if args.function:
        # Compile the model's computation, as fit(jit_compile=True) does; the optimizer update and the
        # metric updates stay eager (the optimizer reads its step count on the host, which would make
        # torch.compile recompile at every step).
        options = {"backend": args.compile_backend} if args.compile_backend else {}
        forward_and_loss = lamina.function(forward_and_loss, **options)
        predict_logits = lamina.function(predict_logits, **options)

    def train_step(x, y):
        with lamina.GradientTape() as tape:
            logits, loss = forward_and_loss(x, y)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        train_loss.update_state(loss)
        train_accuracy.update_state(y, logits)
        return loss

    def test_step(x, y):
        val_accuracy.update_state(y, predict_logits(x))

    rng = np.random.default_rng(args.seed)
    history = {"loss": [], "accuracy": [], "val_accuracy": []}
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        step_losses = []
        # drop the last partial batch so that every step has the same shapes (one compiled graph)
        for start in range(0, len(order) - args.batch_size + 1, args.batch_size):
            batch = order[start:start + args.batch_size]
            loss = train_step(lamina.convert_to_tensor(x_train[batch]), lamina.convert_to_tensor(y_train[batch]))
            step_losses.append(float(lamina.ops.convert_to_numpy(loss)))
        for start in range(0, len(x_val), 120):
            window = slice(start, start + 120)
            test_step(lamina.convert_to_tensor(x_val[window]), lamina.convert_to_tensor(y_val[window]))

        # result() is the running value over the epoch: here the mean of the step losses
        np.testing.assert_allclose(float(train_loss.result()), np.mean(step_losses), rtol=1e-4)
        for metric in (train_loss, train_accuracy, val_accuracy):
            history[metric.name].append(float(metric.result()))
            metric.reset_state()  # start the next epoch from zero
        print(f"epoch {epoch + 1}/{epochs}: loss {history['loss'][-1]:.4f}, accuracy {history['accuracy'][-1]:.4f}, "
              f"val_accuracy {history['val_accuracy'][-1]:.4f}")

    assert float(train_accuracy.result()) == 0.0  # reset_state() cleared it
    assert history["loss"][-1] < history["loss"][0]
    return {"accuracy": history["accuracy"][-1], "val_accuracy": history["val_accuracy"][-1], "history": history,
            "iterations": int(lamina.ops.convert_to_numpy(optimizer.iterations))}


if __name__ == "__main__":
    main()
