"""`run_layer_test`: the one harness every layer test goes through.

One call builds a layer by calling it on data and checks, in order:

1. the output shape (and dtype);
2. the weights: trainable/non-trainable counts, names, shapes, and Keras order
   (trainable first, then non-trainable), and that torch sees the same parameters;
3. ``compute_output_shape`` against the eager output (full shape and unknown batch);
4. ``get_config`` -> JSON -> ``from_config``: equal configs, equal outputs after
   ``set_weights``;
5. a ``get_weights``/``set_weights`` round trip;
6. a training step (loss = sum of squares of the outputs, torch autograd, manual SGD)
   that changes every trainable weight, no non-trainable one, and lowers the loss;
7. masking, when the layer supports it;
8. float64: ``dtype='float64'`` gives float64 weights and outputs that match float32;
9. gradients against finite differences: in float64, the autograd gradient of a random
   projection of the outputs, with respect to the input and to every trainable weight,
   matches central differences along random directions;
10. unknown constructor arguments raise a `TypeError` naming the class;
11. the symbolic call: ``Input`` -> layer gives the eager output shape with a ``None`` batch;
12. the ``.keras`` round trip: ``Input`` -> layer as a functional model, saved and loaded
    back (``safe_mode`` on), predicts the same.
"""

import json

import numpy as np
import torch

_FLOATS = ("float16", "bfloat16", "float32", "float64")


def run_layer_test(
    layer_cls,
    init_kwargs=None,
    input_shape=None,
    input_data=None,
    input_dtype="float32",
    call_kwargs=None,
    expected_output_shape=None,
    expected_output_dtype=None,
    expected_output=None,
    expected_num_trainable_weights=None,
    expected_num_non_trainable_weights=None,
    expected_weight_names=None,
    expected_weight_shapes=None,
    supports_masking=None,
    input_mask=None,
    expected_mask=None,
    deterministic=True,
    run_training_check=True,
    run_float64_check=True,
    run_symbolic_check=True,
    run_gradient_check=True,
    run_saving_check=True,
    custom_objects=None,
    float64_init_kwargs=None,
    rtol=1e-5,
    atol=1e-6,
):
    """Builds ``layer_cls(**init_kwargs)`` on data and runs every generic layer check.

    Args:
        layer_cls: the layer class.
        init_kwargs: constructor arguments.
        input_shape: shape (or list of shapes) of random input data; ignored when
            ``input_data`` is given.
        input_data: the input (array/tensor, or a list of them).
        input_dtype: dtype of generated data; integer dtypes draw from ``[0, 10)``.
        call_kwargs: extra keyword arguments for every call (e.g. ``training``).
        expected_output_shape: the eager output shape (a tuple, or a list of tuples).
        expected_output_dtype: defaults to the layer's compute dtype.
        expected_output: the expected output values (compared with ``rtol``/``atol``).
        expected_num_trainable_weights, expected_num_non_trainable_weights: weight counts.
        expected_weight_names: short names of ``layer.weights``, in order.
        expected_weight_shapes: shapes of ``layer.weights``, in order.
        supports_masking: the expected ``supports_masking``; when true, a mask
            (``input_mask`` or a random one over the input shape without its last
            axis) is attached to the input and the output must carry a mask.
        expected_mask: the expected output mask (default: the input mask passes through
            unless the layer defines ``compute_mask``).
        deterministic: whether two calls with the same weights give the same output.
        run_training_check, run_float64_check, run_symbolic_check, run_gradient_check,
            run_saving_check: switch off checks that do not apply (say why in the test).
            The finite-difference check needs the float64 check and a deterministic layer.
        float64_init_kwargs: constructor arguments for the float64 variant, for wrappers
            whose inner layer (or cell, or module) keeps its own dtype: pass a float64 one.
        custom_objects: classes the ``.keras`` round trip needs to load (test-local
            layers); ``layer_cls`` itself is always passed.

    Returns:
        ``(layer, output)``: the built layer and its first output, for further checks.
    """
    init_kwargs = dict(init_kwargs or {})
    call_kwargs = dict(call_kwargs or {})
    if input_data is None:
        if input_shape is None:
            raise ValueError("run_layer_test needs `input_shape` or `input_data`.")
        input_data = _random_inputs(input_shape, input_dtype)
    inputs = _to_tensors(input_data)

    layer = layer_cls(**init_kwargs)
    assert not layer.weights or layer.built, "weights were created before the layer was built"
    output = layer(_clone(inputs), **call_kwargs)
    assert layer.built, f"{layer_cls.__name__} is not built after its first call"
    assert repr(layer).startswith(f"<{layer_cls.__name__} name={layer.name}"), repr(layer)

    _check_output(layer, output, expected_output_shape, expected_output_dtype, expected_output, rtol, atol)
    _check_weights(layer, expected_num_trainable_weights, expected_num_non_trainable_weights,
                   expected_weight_names, expected_weight_shapes)
    _check_compute_output_shape(layer, inputs, output)
    _check_config_round_trip(layer, inputs, output, call_kwargs, deterministic, rtol, atol)
    _check_weights_round_trip(layer)
    if run_training_check:
        _check_training_step(layer, inputs, call_kwargs, deterministic)
    if supports_masking is not None:
        assert bool(layer.supports_masking) == bool(supports_masking), (
            f"{layer_cls.__name__}.supports_masking is {layer.supports_masking}, expected {supports_masking}"
        )
        if supports_masking:
            _check_masking(layer, inputs, call_kwargs, input_mask, expected_mask)
    if run_float64_check:
        kwargs64 = init_kwargs if float64_init_kwargs is None else float64_init_kwargs
        layer64 = _check_float64(layer_cls, kwargs64, layer, inputs, output, call_kwargs, deterministic)
        if run_gradient_check and deterministic:
            _check_finite_differences(layer64, inputs, call_kwargs)
    _check_unknown_kwargs(layer_cls, init_kwargs)
    if run_symbolic_check:
        _check_symbolic_call(layer, inputs, output)
    if run_saving_check:
        _check_saving_round_trip(layer, inputs, call_kwargs, deterministic,
                                 {layer_cls.__name__: layer_cls, **(custom_objects or {})})
    return layer, output


# ---- data helpers ---------------------------------------------------------------------------------

def _is_shape(value):
    return isinstance(value, (tuple, list)) and all(isinstance(d, (int, type(None))) for d in value)


def _random_inputs(input_shape, dtype):
    if not _is_shape(input_shape):
        return [_random_inputs(s, dtype) for s in input_shape]
    generator = torch.Generator().manual_seed(1234)
    shape = tuple(input_shape)
    if dtype in _FLOATS:
        return torch.randn(shape, generator=generator, dtype=torch.float64).to(getattr(torch, dtype))
    return torch.randint(0, 10, shape, generator=generator).to(getattr(torch, dtype))


def _to_tensors(data):
    """An array/tensor, or a list of them (several inputs); nested number lists are one array."""
    if isinstance(data, (list, tuple)) and data and all(isinstance(d, (np.ndarray, torch.Tensor)) for d in data):
        return [_to_tensors(d) for d in data]
    if isinstance(data, torch.Tensor):
        return data
    return torch.as_tensor(np.asarray(data))


def _clone(inputs):
    if isinstance(inputs, list):
        return [_clone(x) for x in inputs]
    return inputs.clone()


def _flat(outputs):
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    if isinstance(outputs, dict):
        outputs = list(outputs.values())
    return [t for out in outputs for t in _flat(out)]


def _shapes(outputs):
    if isinstance(outputs, torch.Tensor):
        return tuple(outputs.shape)
    return [_shapes(out) for out in outputs]


def _map(fn, inputs):
    return [_map(fn, x) for x in inputs] if isinstance(inputs, list) else fn(inputs)


def _assert_close(actual, expected, rtol, atol, what):
    for a, e in zip(_flat(actual), _flat(expected), strict=True):
        expected = e.detach().cpu().double().numpy() if isinstance(e, torch.Tensor) else np.asarray(e, np.float64)
        np.testing.assert_allclose(a.detach().cpu().double().numpy(), expected, rtol=rtol, atol=atol, err_msg=what)


# ---- checks -----------------------------------------------------------------------------------------

def _check_output(layer, output, expected_shape, expected_dtype, expected_output, rtol, atol):
    if expected_shape is not None:
        shape = _shapes(output)
        expected = tuple(expected_shape) if _is_shape(expected_shape) else [tuple(s) for s in expected_shape]
        assert shape == expected, f"output shape {shape}, expected {expected}"
    dtype = expected_dtype or layer.compute_dtype
    for out in _flat(output):
        if out.is_floating_point() or expected_dtype is not None:
            assert str(out.dtype).removeprefix("torch.") == dtype, f"output dtype {out.dtype}, expected {dtype}"
    if expected_output is not None:
        _assert_close(output, _flat(_to_tensors(expected_output)), rtol, atol, "output values")


def _check_weights(layer, num_trainable, num_non_trainable, names, shapes):
    weights = layer.weights
    trainable, non_trainable = layer.trainable_weights, layer.non_trainable_weights
    assert [id(w) for w in weights] == [id(w) for w in trainable + non_trainable], (
        "weights are not ordered trainable first, then non-trainable"
    )
    if num_trainable is not None:
        assert len(trainable) == num_trainable, f"{len(trainable)} trainable weights, expected {num_trainable}"
    if num_non_trainable is not None:
        assert len(non_trainable) == num_non_trainable, (
            f"{len(non_trainable)} non-trainable weights, expected {num_non_trainable}"
        )
    if names is not None:
        assert [w.name for w in weights] == list(names), f"weight names {[w.name for w in weights]}"
    if shapes is not None:
        assert [w.shape for w in weights] == [tuple(s) for s in shapes], f"weight shapes {[w.shape for w in weights]}"
    for w in weights:
        assert w.path.startswith(f"{layer.name}/"), f"weight path {w.path!r} not under {layer.name!r}"
        assert w.value.requires_grad == (w.trainable and w.value.is_floating_point())
    # torch sees exactly the same state (decision 2 of DESIGN.md).
    assert {id(p) for p in layer.parameters()} == {id(w.value) for w in weights}, "torch parameters differ"
    assert layer.count_params() == sum(int(np.prod(w.shape)) for w in weights)


def _check_compute_output_shape(layer, inputs, output):
    if isinstance(output, dict):
        return
    full = _map(lambda x: tuple(x.shape), inputs)
    expected = _shapes(output)
    computed = _normalize_shapes(layer.compute_output_shape(full))
    assert computed == expected, f"compute_output_shape({full}) = {computed}, eager output shape {expected}"
    unknown_batch = _map(lambda x: (None,) + tuple(x.shape[1:]) if x.dim() else (), inputs)
    computed = _normalize_shapes(layer.compute_output_shape(unknown_batch))
    _assert_shapes_compatible(computed, expected, f"compute_output_shape({unknown_batch})")


def _normalize_shapes(shapes):
    if _is_shape(shapes):
        return tuple(shapes)
    return [_normalize_shapes(s) for s in shapes]


def _assert_shapes_compatible(computed, expected, what):
    """``computed`` equals ``expected`` except for ``None`` in place of the batch size."""
    if _is_shape(computed) and not (expected and isinstance(expected, list)):
        assert len(computed) == len(expected), f"{what} = {computed}, eager {expected}"
        assert computed[0] in (None, expected[0]), f"{what} = {computed}, eager {expected}"
        assert tuple(computed[1:]) == tuple(expected[1:]), f"{what} = {computed}, eager {expected}"
        return
    for c, e in zip(computed, expected, strict=True):
        _assert_shapes_compatible(c, e, what)


def _check_config_round_trip(layer, inputs, output, call_kwargs, deterministic, rtol, atol):
    config = layer.get_config()
    if getattr(type(layer), "_config_has_trainable", True):
        assert list(config)[:3] == ["name", "trainable", "dtype"], f"config starts with {list(config)[:3]}"
    else:  # a Keras quirk (SpatialDropout): no `trainable` in the config
        assert "trainable" not in config and {"name", "dtype"} <= set(config), f"config keys {list(config)}"
    # Configs go to JSON files: they must survive a JSON round trip unchanged in meaning.
    restored = json.loads(json.dumps(config))
    clone = type(layer).from_config(restored)
    assert _jsonable(clone.get_config()) == _jsonable(config), "from_config(get_config()) changed the config"
    assert clone.get_config() == type(layer).from_config(config).get_config()
    clone_out = clone(_clone(inputs), **call_kwargs)
    clone.set_weights(layer.get_weights())
    if deterministic:
        _assert_close(clone(_clone(inputs), **call_kwargs), _flat(output), 1e-6, 1e-6,
                      "output after from_config + set_weights")
    else:
        assert _shapes(clone_out) == _shapes(output)


def _jsonable(config):
    return json.loads(json.dumps(config))


def _check_weights_round_trip(layer):
    original = layer.get_weights()
    assert len(original) == len(layer.weights)
    changed = [np.asarray(w + 1 if w.dtype.kind in "fiu" else w) for w in original]
    layer.set_weights(changed)
    for value, variable, expected in zip(layer.get_weights(), layer.weights, changed):
        np.testing.assert_array_equal(value, expected)
        np.testing.assert_array_equal(variable.numpy(), expected)
    layer.set_weights(original)
    for value, expected in zip(layer.get_weights(), original):
        np.testing.assert_array_equal(value, expected)


def _loss(layer, inputs, call_kwargs):
    outputs = _flat(layer(_clone(inputs), **call_kwargs))
    return sum((out.to(torch.float64) ** 2).sum() for out in outputs if out.is_floating_point())


def _check_training_step(layer, inputs, call_kwargs, deterministic):
    trainable = layer.trainable_weights
    non_trainable = layer.non_trainable_weights
    _check_input_gradient(layer, inputs, call_kwargs)
    if not trainable:
        return
    loss = _loss(layer, inputs, call_kwargs)
    grads = torch.autograd.grad(loss, [w.value for w in trainable], allow_unused=True)
    missing = [w.path for w, g in zip(trainable, grads) if g is None]
    assert not missing, f"no gradient reaches trainable weights {missing}"
    frozen = [w.numpy().copy() for w in non_trainable]
    before = [w.numpy().copy() for w in trainable]
    norm = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
    assert float(norm) > 0, "all gradients are zero"
    step = 1e-3 / float(norm)  # a small step of fixed length: the loss must go down
    for w, g in zip(trainable, grads):
        w.assign_sub(step * g)
    for w, old in zip(trainable, before):
        assert not np.array_equal(w.numpy(), old), f"trainable weight {w.path} did not change"
    for w, old in zip(non_trainable, frozen):
        np.testing.assert_array_equal(w.numpy(), old, err_msg=f"non-trainable weight {w.path} changed")
    if deterministic:
        with torch.no_grad():
            new_loss = float(_loss(layer, inputs, call_kwargs))
        assert new_loss < float(loss.detach()), f"loss did not decrease: {float(loss.detach())} -> {new_loss}"


def _check_input_gradient(layer, inputs, call_kwargs):
    first = inputs[0] if isinstance(inputs, list) else inputs
    if not first.is_floating_point():
        return
    x = first.clone().requires_grad_(True)
    outputs = [o for o in _flat(layer(x if not isinstance(inputs, list) else [x] + _clone(inputs[1:]), **call_kwargs))
               if o.is_floating_point()]
    if not outputs:
        return
    (grad,) = torch.autograd.grad(sum((o.double() ** 2).sum() for o in outputs), [x], allow_unused=True)
    assert grad is not None, "no gradient reaches the input"
    assert bool(torch.isfinite(grad).all()), "non-finite input gradient"


def _check_masking(layer, inputs, call_kwargs, input_mask, expected_mask):
    first = inputs[0] if isinstance(inputs, list) else inputs
    if input_mask is None:
        generator = torch.Generator().manual_seed(7)
        input_mask = torch.rand(tuple(first.shape[:-1]), generator=generator) > 0.3
    input_mask = torch.as_tensor(np.asarray(input_mask)) if not isinstance(input_mask, torch.Tensor) else input_mask
    x = first.clone()
    x._keras_mask = input_mask
    output = layer(x if not isinstance(inputs, list) else [x] + _clone(inputs[1:]), **call_kwargs)
    mask = getattr(_flat(output)[0], "_keras_mask", None)
    if expected_mask is None and not _defines_compute_mask(layer):
        expected_mask = input_mask
    if expected_mask is not None:
        assert mask is not None, f"{type(layer).__name__} dropped the input mask"
        np.testing.assert_array_equal(np.asarray(mask.cpu()), np.asarray(expected_mask), err_msg="output mask")


def _defines_compute_mask(layer):
    from lamina.engine.layer import Layer

    return type(layer).compute_mask is not Layer.compute_mask


def _check_float64(layer_cls, init_kwargs, layer, inputs, output, call_kwargs, deterministic):
    layer64 = layer_cls(**{"dtype": "float64", **init_kwargs})
    inputs64 = _map(lambda x: x.double() if x.is_floating_point() else x, inputs)
    output64 = layer64(_clone(inputs64), **call_kwargs)
    for out in _flat(output64):
        if out.is_floating_point():
            assert out.dtype == torch.float64, f"dtype='float64' gave a {out.dtype} output"
    for w in layer64.weights:
        if w.value.is_floating_point():
            assert w.dtype == "float64", f"dtype='float64' gave a {w.dtype} weight {w.path}"
    if deterministic:
        layer64.set_weights(layer.get_weights())  # the training check may have moved the weights: recompute
        _assert_close(layer64(_clone(inputs64), **call_kwargs), _flat(layer(_clone(inputs), **call_kwargs)), 1e-4, 1e-4,
                      "float64 output against float32 output")
    return layer64


def _check_finite_differences(layer, inputs, call_kwargs, directions=2, eps=1e-6):
    """Autograd against central differences, in float64, for the input and each trainable weight.

    The scalar is ``sum(R * output)`` for a fixed random ``R`` (so every output element
    counts), and each tensor is probed along random unit directions: ``grad . v`` must equal
    ``(f(t + eps v) - f(t - eps v)) / (2 eps)``. Two evaluations per direction keep this cheap
    for any weight size, and a wrong gradient in any element shows up in a random direction.
    """
    inputs = _map(lambda x: x.double() if x.is_floating_point() else x, inputs)
    generator = torch.Generator().manual_seed(99)
    with torch.no_grad():
        reference = _flat(layer(_clone(inputs), **call_kwargs))
    projections = [torch.randn(o.shape, generator=generator, dtype=torch.float64) if o.is_floating_point() else None
                   for o in reference]

    def scalar(layer_inputs):
        outputs = _flat(layer(layer_inputs, **call_kwargs))
        return sum((o.double() * r).sum() for o, r in zip(outputs, projections, strict=True) if r is not None)

    first_is_float = (inputs[0] if isinstance(inputs, list) else inputs).is_floating_point()
    probes = [("input", None)] if first_is_float else []
    probes += [(w.path, w) for w in layer.trainable_weights if w.value.is_floating_point()]
    for what, variable in probes:
        for _ in range(directions):
            if variable is None:
                base = (inputs[0] if isinstance(inputs, list) else inputs).clone()
                direction = torch.randn(base.shape, generator=generator, dtype=torch.float64)

                def at(t, base=base):
                    return scalar([t] + _clone(inputs[1:]) if isinstance(inputs, list) else t)

                point = base.clone().requires_grad_(True)
                (grad,) = torch.autograd.grad(at(point), [point])
            else:
                base = variable.value.detach().clone()
                direction = torch.randn(base.shape, generator=generator, dtype=torch.float64)

                def at(t, variable=variable):
                    with torch.no_grad():
                        variable.value.copy_(t)
                    return scalar(_clone(inputs))

                (grad,) = torch.autograd.grad(at(base), [variable.value])
            direction /= direction.norm()
            analytic = float((grad.double() * direction).sum())
            with torch.no_grad():
                numeric = float(at(base + eps * direction) - at(base - eps * direction)) / (2 * eps)
            if variable is not None:
                with torch.no_grad():
                    variable.value.copy_(base)
            assert abs(analytic - numeric) <= 1e-5 + 1e-4 * abs(numeric), (
                f"{type(layer).__name__}: gradient of {what} along a random direction is {analytic}, "
                f"finite differences give {numeric}"
            )


def _check_unknown_kwargs(layer_cls, init_kwargs):
    try:
        layer_cls(**init_kwargs, not_a_keras_argument=1)
    except TypeError as error:
        assert layer_cls.__name__ in str(error) and "not_a_keras_argument" in str(error), str(error)
    else:
        raise AssertionError(f"{layer_cls.__name__} accepted an unknown keyword argument")


def _check_symbolic_call(layer, inputs, output):
    """``Input`` -> layer: the KerasTensor has the eager output shape, batch unknown."""
    import lamina

    symbolic_inputs = _map(lambda x: lamina.Input(shape=tuple(x.shape[1:]),
                                                  dtype=str(x.dtype).removeprefix("torch.")), inputs)
    symbolic_output = layer(symbolic_inputs)
    computed = _normalize_shapes(_map(lambda t: tuple(t.shape), symbolic_output if isinstance(symbolic_output, list)
                                      else symbolic_output))
    _assert_shapes_compatible(computed, _shapes(output), "symbolic output shape")


def _check_saving_round_trip(layer, inputs, call_kwargs, deterministic, custom_objects):
    """``Input`` -> layer as a functional model; ``.keras`` save and load; the same predictions."""
    import os
    import tempfile

    import lamina

    if isinstance(inputs, dict) or call_kwargs.get("training"):
        return  # a functional model is called without per-call arguments
    symbolic_inputs = _map(lambda x: lamina.Input(shape=tuple(x.shape[1:]),
                                                  dtype=str(x.dtype).removeprefix("torch.")), inputs)
    model = lamina.Model(symbolic_inputs, layer(symbolic_inputs, **call_kwargs))
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        loaded = lamina.models.load_model(path, custom_objects=custom_objects)
    assert type(loaded.layers[-1]) is type(layer), f"loaded {type(loaded.layers[-1]).__name__}"
    assert _jsonable(loaded.layers[-1].get_config()) == _jsonable(layer.get_config()), "config changed in .keras"
    for saved, restored in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(restored.numpy(), saved.numpy(), err_msg=f"weight {saved.path} after .keras")
    if deterministic:
        with torch.no_grad():
            _assert_close(loaded(_clone(inputs)), _flat(model(_clone(inputs))), 1e-6, 1e-6,
                          "predictions after the .keras round trip")
