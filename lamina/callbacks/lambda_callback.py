"""`LambdaCallback`: a callback made of plain functions.

>>> import numpy as np, lamina
>>> from lamina import layers
>>> model = lamina.Sequential([lamina.Input((2,)), layers.Dense(1)])
>>> model.compile(optimizer="sgd", loss="mse")
>>> seen = []
>>> record = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
>>> _ = model.fit(np.ones((4, 2)), np.zeros((4, 1)), epochs=2, verbose=0, callbacks=[record])
>>> seen
[0, 1]
"""

from lamina.callbacks.callback import Callback


class LambdaCallback(Callback):
    """Callback for creating simple, custom callbacks on-the-fly.

    Each argument is a function called at that point, with the hook's arguments:
    ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``, ``on_train_begin(logs)``,
    ``on_train_end(logs)``, ``on_train_batch_begin(batch, logs)``, ``on_train_batch_end(batch, logs)``.
    Any other hook (``on_test_begin=...``, ``on_predict_batch_end=...``) can be passed by keyword.

    Args:
        on_epoch_begin: called at the beginning of every epoch.
        on_epoch_end: called at the end of every epoch.
        on_train_begin: called at the beginning of training.
        on_train_end: called at the end of training.
        on_train_batch_begin: called at the beginning of every training batch.
        on_train_batch_end: called at the end of every training batch.
        **kwargs: other hooks (or attributes) set on the callback.
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        hooks = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
                 "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin,
                 "on_train_batch_end": on_train_batch_end}
        for name, function in hooks.items():
            if function is not None:
                if not callable(function):
                    raise TypeError(f"LambdaCallback argument `{name}` must be callable. "
                                    f"Received: {name}={function!r}")
                setattr(self, name, function)
