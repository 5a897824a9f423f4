"""The Keras 3 object-graph walk that names every group of a ``.weights.h5`` file.

Keras 3 does not store layer names in weight paths: it walks the model's
attributes and writes each object's own variables under the first path that
reaches it (spec §7.1). Models list ``layers`` first; then attributes in sorted
order (public names before ``_private`` ones), skipping those a bare `Layer` has;
containers key their elements by snake_case class name, made unique with
``_1``, ``_2``, ... The compiled optimizer is the model's ``optimizer`` attribute.

>>> import lamina
>>> from lamina import layers
>>> inputs = lamina.Input((4,), name="x")
>>> hidden = layers.Dense(8, name="hidden")(inputs)
>>> model = lamina.Model(inputs, layers.Dense(3, name="out")(hidden), name="mlp")
>>> [(path, obj.name) for path, obj in walk(model)]
[('', 'mlp'), ('layers/input_layer', 'x'), ('layers/dense', 'hidden'), ('layers/dense_1', 'out')]
"""

import functools

from lamina.backend.naming import class_snake_name


def _is_layer(obj):
    from lamina.engine.layer import Layer

    return isinstance(obj, Layer)


def _is_optimizer(obj):
    return hasattr(obj, "variables") and hasattr(obj, "apply") and hasattr(obj, "learning_rate") \
        and not _is_layer(obj)


@functools.cache
def _baseline_attributes():
    """Attribute names of a bare lamina `Layer` and `Model` (Keras skips what its base classes have)."""
    from lamina.engine.layer import Layer
    from lamina.engine.model import Model

    # Built without __init__ so that no default name (``model``, ``layer``) is consumed.
    names = set(dir(Layer.__new__(Layer))) | set(dir(Model.__new__(Model)))
    names.discard("optimizer")
    return frozenset(names)


def own_variables(obj):
    """Variables a layer stores in its own ``vars`` group: trainable then non-trainable, as created.

    Freezing a layer does not change this order (unlike the legacy format).
    """
    if not _is_layer(obj):
        return list(obj.variables)
    if hasattr(obj, "_keras_own_variables"):  # a layer whose Keras twin also lists others' variables
        return obj._keras_own_variables()
    variables = list(obj._variables)
    declared = [getattr(v, "_declared_trainable", v.trainable) for v in variables]
    return [v for v, t in zip(variables, declared) if t] + [v for v, t in zip(variables, declared) if not t]


def _container_members(obj):
    """Ids of layers held in list/tuple/dict attributes (torch also registers them under their names)."""
    ids = set()
    for value in vars(obj).values():
        if isinstance(value, (list, tuple, dict)):
            for item in (value.values() if isinstance(value, dict) else value):
                if _is_layer(item):
                    ids.add(id(item))
    return ids


def _children(obj):
    """``(attribute, value)`` pairs in Keras's walk order."""
    from lamina.engine.functional import Functional
    from lamina.engine.sequential import Sequential

    if isinstance(obj, (Functional, Sequential)):
        yield "layers", list(obj.layers)
    if not _is_layer(obj):
        return
    skip = _baseline_attributes()
    in_containers = _container_members(obj)
    graph_layers = {id(layer) for layer in obj.layers} if isinstance(obj, (Functional, Sequential)) else set()
    candidates = {}
    for name, value in vars(obj).items():
        if name not in ("_modules", "_parameters", "_buffers"):
            candidates[name] = value
    for name, module in obj._modules.items():
        registered_by_tracking = id(module) in in_containers and name.rstrip("_") == getattr(module, "name", None)
        if registered_by_tracking or id(module) in graph_layers:
            continue
        candidates.setdefault(name, module)
    # Keras walks ``dir()``, so a public property returning a sublayer (MultiHeadAttention's
    # ``query_dense``) names it before its private attribute does.
    for name in dir(type(obj)):
        if isinstance(getattr(type(obj), name, None), property) and name not in skip and not name.startswith("_"):
            try:
                value = getattr(obj, name)
            except Exception:  # a property that needs state the object does not have yet
                continue
            if _is_layer(value):
                candidates.setdefault(name, value)
    for name in sorted(candidates, key=lambda n: (n.startswith("_"), n)):
        if name.startswith("__") or name in skip:
            continue
        value = candidates[name]
        if name == "optimizer" and _is_optimizer(value):
            yield name, value
        elif _is_layer(value) or isinstance(value, (list, tuple, dict)):
            yield name, value


def walk(model):
    """``(path, object)`` for every object that owns a ``vars`` group, in write order.

    ``path`` is ``''`` for the model itself, then e.g. ``'layers/dense'``, ``'optimizer'``.
    """
    visited = set()
    out = []

    def visit(obj, path):
        if id(obj) in visited:
            return
        visited.add(id(obj))
        out.append((path, obj))
        for attribute, value in _children(obj):
            child_path = f"{path}/{attribute}" if path else attribute
            if isinstance(value, (list, tuple, dict)):
                visit_container(value, child_path)
            else:
                visit(value, child_path)

    def visit_container(container, path, depth=0):
        used = {}
        items = container.values() if isinstance(container, dict) else container
        for item in items:
            if _is_layer(item) or _is_optimizer(item):
                key = class_snake_name(type(item))
            elif isinstance(item, (list, tuple, dict)) and depth < 4:
                key = "container"
            else:
                continue
            if key in used:
                used[key] += 1
                key = f"{key}_{used[key]}"
            else:
                used[key] = 0
            if isinstance(item, (list, tuple, dict)):
                visit_container(item, f"{path}/{key}", depth + 1)
            else:
                visit(item, f"{path}/{key}")

    visit(model, "")
    return out
