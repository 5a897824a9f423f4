"""A real training run: a small CNN on the UCI digits that ship with lamina."""

import lamina
from lamina import layers


def test_cnn_learns_the_shipped_digits():
    lamina.utils.set_random_seed(1)
    (x_train, y_train), (x_test, y_test) = lamina.datasets.digits.load_data()
    x_train, x_test = x_train[..., None] / 16.0, x_test[..., None] / 16.0
    model = lamina.Sequential([
        lamina.Input((8, 8, 1)),
        layers.Conv2D(16, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=lamina.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x_train, y_train, batch_size=32, epochs=6, validation_split=0.1, verbose=0)
    assert history.history["accuracy"][-1] > history.history["accuracy"][0]
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy > 0.93  # held-out accuracy of this 6-epoch run (about 0.96 here)
