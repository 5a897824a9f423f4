"""`Callback`: hooks into ``fit``/``evaluate``/``predict``, and `CallbackList` that calls them.

>>> from lamina.callbacks import Callback
>>> class Count(Callback):
...     def on_epoch_end(self, epoch, logs=None):
...         self.last = epoch
>>> Count().params
{}
"""


class Callback:
    """Base class: override the hooks you need. ``self.model`` and ``self.params`` are set by the loop."""

    def __init__(self):
        self.params = {}
        self._model = None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self._model = model

    @property
    def model(self):
        return self._model

    # Every Keras hook, each a no-op by default.
    def on_batch_begin(self, batch, logs=None): pass
    def on_batch_end(self, batch, logs=None): pass
    def on_epoch_begin(self, epoch, logs=None): pass
    def on_epoch_end(self, epoch, logs=None): pass
    def on_train_batch_begin(self, batch, logs=None): self.on_batch_begin(batch, logs=logs)
    def on_train_batch_end(self, batch, logs=None): self.on_batch_end(batch, logs=logs)
    def on_test_batch_begin(self, batch, logs=None): pass
    def on_test_batch_end(self, batch, logs=None): pass
    def on_predict_batch_begin(self, batch, logs=None): pass
    def on_predict_batch_end(self, batch, logs=None): pass
    def on_train_begin(self, logs=None): pass
    def on_train_end(self, logs=None): pass
    def on_test_begin(self, logs=None): pass
    def on_test_end(self, logs=None): pass
    def on_predict_begin(self, logs=None): pass
    def on_predict_end(self, logs=None): pass


_HOOKS = [
    "on_epoch_begin", "on_epoch_end", "on_train_batch_begin", "on_train_batch_end", "on_test_batch_begin",
    "on_test_batch_end", "on_predict_batch_begin", "on_predict_batch_end", "on_train_begin", "on_train_end",
    "on_test_begin", "on_test_end", "on_predict_begin", "on_predict_end",
]


class CallbackList(Callback):
    """Calls every hook on each callback in order; adds `History` and `ProgbarLogger` as Keras does.

    Batch hooks are skipped entirely when no callback overrides them, so a plain ``fit``
    pays nothing per batch for the callback machinery.
    """

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        super().__init__()
        from lamina.callbacks.history import History
        from lamina.callbacks.progbar_logger import ProgbarLogger

        self.callbacks = list(callbacks or [])
        if add_progbar and not any(isinstance(c, ProgbarLogger) for c in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        if add_history and not any(isinstance(c, History) for c in self.callbacks):
            self.callbacks.append(History())
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)
        for hook in _HOOKS:
            overriding = [getattr(c, hook) for c in self.callbacks if _overrides(c, hook)]
            setattr(self, hook, _dispatcher(overriding, indexed="batch" in hook or "epoch" in hook))

    def set_params(self, params):
        self.params = params
        for callback in self.callbacks:
            callback.set_params(params)

    def set_model(self, model):
        self._model = model
        for callback in self.callbacks:
            callback.set_model(model)

    def needs_batch_logs(self, kind="train", in_fit=False):
        """Whether a callback has a batch hook of ``kind``. In fit's validation the progress bar's test hooks
        do nothing (it shows the training epoch), so they alone do not make the loop compute batch logs."""
        from lamina.callbacks.progbar_logger import ProgbarLogger

        return any((_overrides(c, f"on_{kind}_batch_end") or _overrides(c, f"on_{kind}_batch_begin"))
                   and not (in_fit and type(c) is ProgbarLogger) for c in self.callbacks)

    def __iter__(self):
        return iter(self.callbacks)


def _overrides(callback, hook):
    if hook in vars(callback):  # a hook set on the instance (LambdaCallback)
        return True
    method = getattr(type(callback), hook, None)
    base = getattr(Callback, hook)
    if method is base:
        if hook in ("on_train_batch_begin", "on_train_batch_end"):
            legacy = hook.replace("train_", "")
            return legacy in vars(callback) or getattr(type(callback), legacy) is not getattr(Callback, legacy)
        return False
    return True


def _dispatcher(methods, indexed):
    # As Keras, ``logs`` is always passed positionally: ``lambda logs: ...`` hooks work.
    if not methods:
        return _noop
    if indexed:
        def dispatch(index, logs=None):
            for method in methods:
                method(index, logs)
    else:
        def dispatch(logs=None):
            for method in methods:
                method(logs)
    return dispatch


def _noop(*args, **kwargs):
    return None
