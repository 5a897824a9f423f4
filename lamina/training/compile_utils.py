"""The losses and metrics given to ``compile``, matched to a model's outputs.

``loss`` and ``metrics`` may be one object for every output, a list in output
order, or a dict keyed by output name, as in Keras. Strings are resolved as
Keras resolves them (``'accuracy'`` becomes binary, categorical or sparse
categorical accuracy from the loss and the output shape).
"""

import torch


def _output_names(model, count):
    names = getattr(model, "output_names", None)
    if names and len(names) == count:
        return list(names)
    return [f"output_{i + 1}" for i in range(count)]


def _flatten(structure):
    if structure is None:
        return []
    if isinstance(structure, (list, tuple)):
        return list(structure)
    if isinstance(structure, dict):
        return list(structure.values())
    return [structure]


def _per_output(spec, names, what):
    """``spec`` spread over the outputs: a list with one entry (or None) per output name."""
    if spec is None:
        return [None] * len(names)
    if isinstance(spec, dict):
        unknown = set(spec) - set(names)
        if unknown:
            raise ValueError(
                f"The `{what}` dict has keys {sorted(unknown)} that are not output names of the model. "
                f"Output names: {names}"
            )
        return [spec.get(name) for name in names]
    if isinstance(spec, (list, tuple)) and len(names) > 1 and len(spec) == len(names) and what == "loss":
        return list(spec)
    if isinstance(spec, (list, tuple)) and what == "metrics" and len(names) > 1 and len(spec) == len(names) \
            and all(entry is None or isinstance(entry, (list, tuple)) for entry in spec):
        return list(spec)  # one list of metrics per output: [["accuracy"], ["mae"]]
    if isinstance(spec, (list, tuple)) and what == "loss":
        if len(spec) != len(names):
            raise ValueError(
                f"`loss` is a list of {len(spec)} entries but the model has {len(names)} outputs {names}. "
                "Pass one loss per output, a dict keyed by output name, or a single loss for every output."
            )
        return list(spec)
    return [spec] * len(names)


class CompileLoss:
    """Computes the (weighted) sum of per-output losses and remembers each part."""

    def __init__(self, loss, loss_weights=None):
        self.loss = loss
        self.loss_weights = loss_weights
        self.built = False

    def build(self, model, y_pred):
        from lamina import losses

        flat_pred = _flatten(y_pred)
        self.names = _output_names(model, len(flat_pred))
        objects = _per_output(self.loss, self.names, "loss")
        self.losses = [None if spec is None else _as_loss(losses, spec) for spec in objects]
        weights = self.loss_weights
        if weights is None:
            self.weights = [1.0] * len(self.names)
        elif isinstance(weights, dict):
            self.weights = [float(weights.get(name, 1.0)) for name in self.names]
        else:
            weights = list(weights) if isinstance(weights, (list, tuple)) else [weights] * len(self.names)
            if len(weights) != len(self.names):
                raise ValueError(f"`loss_weights` has {len(weights)} entries for {len(self.names)} outputs.")
            self.weights = [float(w) for w in weights]
        self.loss_names = [getattr(fn, "name", getattr(fn, "__name__", "loss")) for fn in self.losses]
        self.built = True

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Returns ``(total, [per-output loss or None])``."""
        flat_pred = _flatten(y_pred)
        if isinstance(y_true, dict) and not isinstance(y_pred, dict):
            flat_true = [y_true.get(name) for name in self.names]
        else:
            flat_true = _flatten(y_true) if len(flat_pred) > 1 else [y_true]
        if len(flat_true) != len(flat_pred):
            raise ValueError(
                f"The model has {len(flat_pred)} outputs but {len(flat_true)} targets were given."
            )
        flat_sw = _flatten(sample_weight) if len(flat_pred) > 1 and isinstance(sample_weight, (list, tuple, dict)) \
            else [sample_weight] * len(flat_pred)
        total = None
        parts = []
        for fn, weight, yt, yp, sw in zip(self.losses, self.weights, flat_true, flat_pred, flat_sw):
            if fn is None or yt is None:
                parts.append(None)
                continue
            value = fn(yt, yp, sample_weight=sw) if sw is not None else fn(yt, yp)
            parts.append(value)
            value = value * weight if weight != 1.0 else value
            total = value if total is None else total + value
        return total, parts


def _as_loss(losses, spec):
    """A `Loss` object (reducing over the batch) for a name, a function or a Loss."""
    loss = losses.get(spec)
    if isinstance(loss, losses.Loss):
        return loss
    name = spec if isinstance(spec, str) else getattr(loss, "__name__", "loss")
    return losses.LossFunctionWrapper(loss, name=name)


class CompileMetrics:
    """Stateful metrics per output; names prefixed by the output name for multi-output models."""

    def __init__(self, metrics=None, weighted_metrics=None, loss=None):
        self.metrics_spec = metrics
        self.weighted_spec = weighted_metrics
        self.loss_spec = loss
        self.built = False
        self.metrics = []  # (output index, metric, weighted)

    def build(self, model, y_true, y_pred):
        from lamina import metrics as metrics_module

        flat_pred = _flatten(y_pred)
        names = _output_names(model, len(flat_pred))
        flat_true = _flatten(y_true) if len(flat_pred) > 1 else [y_true]
        losses = _per_output(self.loss_spec, names, "loss") if self.loss_spec is not None else [None] * len(names)
        entries = []
        for spec, weighted in ((self.metrics_spec, False), (self.weighted_spec, True)):
            per_output = _per_output(spec, names, "metrics")
            for index, output_metrics in enumerate(per_output):
                if output_metrics is None:
                    continue
                for identifier in output_metrics if isinstance(output_metrics, (list, tuple)) else [output_metrics]:
                    if identifier is None:
                        continue
                    metric = _resolve_metric(metrics_module, identifier, losses[index],
                                             flat_true[index] if index < len(flat_true) else None, flat_pred[index])
                    metric._base_name = metric.name
                    entries.append((index, metric, weighted))
        # As Keras: a weighted metric is named "weighted_<name>" only when an unweighted metric of the same
        # output has its name; multi-output names are prefixed with the output name ("out_b_weighted_mse").
        unweighted = {(index, metric.name) for index, metric, weighted in entries if not weighted}
        for index, metric, weighted in entries:
            if weighted and (index, metric.name) in unweighted:
                metric.name = f"weighted_{metric.name}"
            if len(names) > 1:
                metric.name = f"{names[index]}_{metric.name}"
        self.metrics = entries
        self.built = True

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.metrics:
            return
        flat_pred = _flatten(y_pred)
        flat_true = _flatten(y_true) if len(flat_pred) > 1 else [y_true]
        flat_sw = _flatten(sample_weight) if isinstance(sample_weight, (list, tuple)) else [sample_weight] * len(
            flat_pred)
        with torch.no_grad():
            for index, metric, weighted in self.metrics:
                yt = flat_true[index]
                if yt is None:
                    continue
                sw = flat_sw[index] if weighted else None
                metric.update_state(yt, flat_pred[index].detach(), sample_weight=sw)

    def reset_state(self):
        for _, metric, _ in self.metrics:
            metric.reset_state()


def _resolve_metric(metrics_module, identifier, loss, y_true, y_pred):
    if isinstance(identifier, str) and identifier in ("accuracy", "acc", "crossentropy", "ce"):
        from lamina.metrics.resolution import resolve_accuracy

        true_shape = tuple(y_true.shape) if y_true is not None else None
        return resolve_accuracy(identifier, loss, true_shape, tuple(y_pred.shape))
    metric = metrics_module.get(identifier)
    if isinstance(identifier, str):
        if not hasattr(metric, "update_state"):
            metric = metrics_module.MeanMetricWrapper(metric, name=identifier)
        else:
            metric.name = identifier
    elif not hasattr(metric, "update_state"):
        metric = metrics_module.MeanMetricWrapper(metric, name=getattr(metric, "__name__", "metric"))
    return metric
