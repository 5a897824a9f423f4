"""`TerminateOnNaN`: stops ``fit`` at the batch whose loss is NaN or infinite.

>>> import numpy as np, lamina
>>> from lamina import layers
>>> model = lamina.Sequential([lamina.Input((1,)), layers.Dense(1)])
>>> model.compile(optimizer="sgd", loss="mse")
>>> x = np.array([[1.0], [2.0], [np.nan], [4.0]])
>>> history = model.fit(x, np.zeros((4, 1)), batch_size=1, epochs=3, shuffle=False, verbose=0,
...                     callbacks=[TerminateOnNaN()])
Batch 2: Invalid loss, terminating training
>>> history.epoch
[0]
"""

import math

from lamina.callbacks.callback import Callback


class TerminateOnNaN(Callback):
    """Callback that terminates training when a NaN (or infinite) loss is encountered.

    The check reads the batch's ``loss`` log (a device scalar), so it costs one host
    synchronisation per training batch.
    """

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = float(loss)
        if math.isnan(loss) or math.isinf(loss):
            print(f"Batch {batch}: Invalid loss, terminating training", flush=True)
            self.model.stop_training = True
