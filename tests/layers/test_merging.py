"""Merging layers against NumPy: element-wise ops with Keras broadcasting, Concatenate, Dot, masks, errors."""

import numpy as np
import pytest
import torch

from lamina import layers
from tests.layers.harness import run_layer_test

RNG = np.random.default_rng(0)
ELEMENTWISE = [
    (layers.Add, layers.add, lambda xs: sum(xs)),
    (layers.Multiply, layers.multiply, lambda xs: np.prod(np.stack(np.broadcast_arrays(*xs)), axis=0)),
    (layers.Average, layers.average, lambda xs: sum(xs) / len(xs)),
    (layers.Maximum, layers.maximum, lambda xs: np.maximum.reduce(np.broadcast_arrays(*xs))),
    (layers.Minimum, layers.minimum, lambda xs: np.minimum.reduce(np.broadcast_arrays(*xs))),
]


def _x(*shape):
    return RNG.standard_normal(shape)


def _t(a):
    return torch.as_tensor(a, dtype=torch.float32)


# ---- harness -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cls", [layers.Add, layers.Subtract, layers.Multiply, layers.Average, layers.Maximum,
                                 layers.Minimum])
def test_elementwise_harness(cls):
    run_layer_test(cls, input_shape=[(2, 3, 4), (2, 3, 4)], expected_output_shape=(2, 3, 4),
                   expected_num_trainable_weights=0, supports_masking=True)


@pytest.mark.parametrize("axis, output_shape", [(-1, (2, 3, 9)), (1, (2, 6, 4))])
def test_concatenate_harness(axis, output_shape):
    shapes = [(2, 3, 4), (2, 3, 5)] if axis == -1 else [(2, 3, 4), (2, 3, 4)]
    mask = torch.tensor([[True, False, True], [False, False, True]])
    # Keras: the unmasked input counts as all-True; the concatenated mask is reduced with any() over the last axis
    ones = torch.ones(2, 3, dtype=torch.bool)
    expected = ones if axis == -1 else torch.cat([mask, ones], dim=1)
    run_layer_test(layers.Concatenate, {"axis": axis}, input_shape=shapes, expected_output_shape=output_shape,
                   supports_masking=True, input_mask=mask, expected_mask=expected)


@pytest.mark.parametrize("kwargs, shapes, output_shape", [
    ({"axes": 1}, [(2, 3), (2, 3)], (2, 1)),
    ({"axes": (2, 2), "normalize": True}, [(2, 3, 4), (2, 5, 4)], (2, 3, 5)),
    ({"axes": [1, 2]}, [(2, 3, 4), (2, 5, 3)], (2, 4, 5)),
])
def test_dot_harness(kwargs, shapes, output_shape):
    run_layer_test(layers.Dot, kwargs, input_shape=shapes, expected_output_shape=output_shape, supports_masking=True,
                   expected_mask=None)


# ---- values against NumPy ------------------------------------------------------------------------------

@pytest.mark.parametrize("cls, fn, reference", ELEMENTWISE)
@pytest.mark.parametrize("shapes", [[(2, 3, 4)] * 3, [(2, 3, 4), (2, 1, 4)], [(2, 4), (2, 3, 4)],
                                    [(2, 5, 1), (2, 1, 4), (2, 4)]])
def test_elementwise_against_numpy(cls, fn, reference, shapes):
    xs = [_x(*s) for s in shapes]
    # Keras: lower-rank inputs get size-1 axes after the batch axis, then NumPy broadcasting.
    top = max(len(s) for s in shapes)
    aligned = [x.reshape(x.shape[:1] + (1,) * (top - x.ndim) + x.shape[1:]) for x in xs]
    expected = reference(aligned)
    for layer_call in (cls(), fn):
        out = layer_call([_t(x) for x in xs])
        np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert cls().compute_output_shape([(None,) + s[1:] for s in shapes]) == (None,) + expected.shape[1:]


def test_subtract_against_numpy_and_needs_two_inputs():
    a, b = _x(2, 3), _x(2, 3)
    np.testing.assert_allclose(layers.subtract([_t(a), _t(b)]).numpy(), a - b, rtol=1e-6)
    with pytest.raises(ValueError, match=r"`Subtract` layer should be called on exactly 2 inputs"):
        layers.Subtract()([_t(a), _t(b), _t(a)])


def test_concatenate_against_numpy():
    a, b, c = _x(2, 3, 4), _x(2, 3, 1), _x(2, 3, 2)
    np.testing.assert_allclose(layers.concatenate([_t(a), _t(b), _t(c)]).numpy(), np.concatenate([a, b, c], -1),
                               rtol=1e-6)
    np.testing.assert_allclose(layers.Concatenate(axis=1)([_t(a), _t(a)]).numpy(), np.concatenate([a, a], 1),
                               rtol=1e-6)
    assert layers.Concatenate(axis=1).compute_output_shape([(None, 3, 4), (None, None, 4)]) == (None, None, 4)


def _batch_dot_reference(x, y, ax, ay):
    out = np.stack([np.tensordot(x[i], y[i], axes=(ax - 1, ay - 1)) for i in range(x.shape[0])])
    return out.reshape(-1, 1) if out.ndim == 1 else out


@pytest.mark.parametrize("shapes, axes", [([(3, 4), (3, 4)], 1), ([(3, 4, 5), (3, 5, 2)], (2, 1)),
                                          ([(3, 4, 5), (3, 6, 4)], (1, 2)), ([(3, 2, 4, 5), (3, 5, 3, 2)], (3, 1)),
                                          ([(3, 4), (3, 4, 6)], (1, 1)), ([(3, 4, 5), (3, 4, 5)], -1)])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_against_numpy(shapes, axes, normalize):
    x, y = _x(*shapes[0]), _x(*shapes[1])
    ax, ay = (axes, axes) if isinstance(axes, int) else axes
    ax, ay = ax % x.ndim, ay % y.ndim
    xr, yr = x, y
    if normalize:  # Keras: x * min(1 / sqrt(sum(x^2)), 1 / epsilon) along the contracted axis
        xr = x / np.maximum(np.sqrt((x ** 2).sum(ax, keepdims=True)), 1e-7)
        yr = y / np.maximum(np.sqrt((y ** 2).sum(ay, keepdims=True)), 1e-7)
    expected = _batch_dot_reference(xr, yr, ax, ay)
    layer = layers.Dot(axes=axes, normalize=normalize)
    out = layer([_t(x), _t(y)])
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)
    assert layer.compute_output_shape(shapes) == expected.shape


def test_dot_normalize_gives_cosine_similarity_and_gradients():
    x = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    y = torch.randn(4, 6, dtype=torch.float64, requires_grad=True)
    layer = layers.Dot(axes=1, normalize=True, dtype="float64")
    expected = torch.nn.functional.cosine_similarity(x, y, dim=1).unsqueeze(1)
    np.testing.assert_allclose(layer([x, y]).detach().numpy(), expected.detach().numpy(), rtol=1e-10)
    assert torch.autograd.gradcheck(lambda a, b: layer([a, b]), (x, y))
    assert torch.autograd.gradcheck(lambda a, b: layers.Concatenate(dtype="float64")([a, b]), (x, y))
    assert torch.autograd.gradcheck(lambda a, b: layers.Maximum(dtype="float64")([a, b]), (x, y))


# ---- masks -----------------------------------------------------------------------------------------------

def _masked(array, mask):
    t = _t(array)
    t._keras_mask = torch.as_tensor(mask)
    return t


def test_add_mask_is_or_of_masks_and_none_if_one_is_missing():
    m1, m2 = np.array([[1, 0, 0], [1, 1, 0]], bool), np.array([[0, 1, 0], [1, 0, 0]], bool)
    a, b = _x(2, 3, 4), _x(2, 3, 4)
    out = layers.Add()([_masked(a, m1), _masked(b, m2)])
    np.testing.assert_array_equal(out._keras_mask.numpy(), m1 | m2)
    np.testing.assert_allclose(out.numpy(), a + b, rtol=1e-6, atol=1e-6)
    assert getattr(layers.Add()([_masked(a, m1), _t(b)]), "_keras_mask", None) is None
    assert layers.Add().compute_mask([a, b], None) is None


@pytest.mark.parametrize("cls, op", [(layers.Maximum, np.maximum), (layers.Minimum, np.minimum)])
def test_maximum_minimum_ignore_masked_entries(cls, op):
    m1, m2 = np.array([[1, 0, 0, 1]], bool), np.array([[0, 1, 0, 1]], bool)
    a, b = _x(1, 4, 3), _x(1, 4, 3)
    out = cls()([_masked(a, m1), _masked(b, m2)])
    e1, e2 = m1[..., None], m2[..., None]
    # masked entries take the other input's value; where both are masked the op applies to both
    x = np.where(e2, b, a)
    y = np.where(e1, a, x)
    expected = op(y, x)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(out._keras_mask.numpy(), m1 | m2)


def test_multiply_masked_entries_count_as_one():
    m1, m2 = np.array([[1, 0, 0]], bool), np.array([[0, 1, 0]], bool)
    a, b = _x(1, 3, 2), _x(1, 3, 2)
    out = layers.Multiply()([_masked(a, m1), _masked(b, m2)])
    a1, b1 = np.where(m1[..., None], a, 1.0), np.where(m2[..., None], b, 1.0)
    expected = np.where((m1 | m2)[..., None], a1 * b1, 0.0)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-6)
    np.testing.assert_array_equal(out._keras_mask.numpy(), m1 | m2)
    only_first = layers.Multiply()([_masked(a, m1), _t(b)])
    np.testing.assert_allclose(only_first.numpy(), np.where(m1[..., None], a, 1.0) * b, rtol=1e-6)


def test_concatenate_masks_as_keras():
    m1 = np.array([[1, 0, 1]], bool)
    a, b = _x(1, 3, 2), _x(1, 3, 4)
    out = layers.Concatenate(axis=-1)([_masked(a, m1), _t(b)])
    np.testing.assert_array_equal(out._keras_mask.numpy(), np.ones((1, 3), bool))  # unmasked input is all-True
    out = layers.Concatenate(axis=1)([_masked(a, m1), _t(a)])
    np.testing.assert_array_equal(out._keras_mask.numpy(), np.concatenate([m1, np.ones((1, 3), bool)], 1))
    assert getattr(layers.Concatenate()([_t(a), _t(b)]), "_keras_mask", None) is None


# ---- errors and configs ------------------------------------------------------------------------------------

def test_merge_errors_name_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"A merge layer should be called on a list of inputs\. Layer 'plus'"):
        layers.Add(name="plus")(torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"Inputs have incompatible shapes.*\(3,\) and \(4,\)"):
        layers.Add()([torch.ones(2, 3), torch.ones(2, 4)])
    with pytest.raises(ValueError, match=r"Cannot merge tensors with different batch sizes"):
        layers.Add()([torch.ones(2, 3), torch.ones(3, 3)])
    with pytest.raises(ValueError, match=r"requires inputs with matching shapes except for the concatenation axis"):
        layers.Concatenate(axis=1)([torch.ones(2, 3, 4), torch.ones(2, 3, 5)])
    with pytest.raises(ValueError, match=r"`Dot` layer should be called on a list of 2 inputs"):
        layers.Dot(axes=1)([torch.ones(2, 3)] * 3)
    with pytest.raises(ValueError, match=r"Incompatible input shapes.*axis values 3 \(at axis 1\) != 4"):
        layers.Dot(axes=1)([torch.ones(2, 3), torch.ones(2, 4)])
    with pytest.raises(ValueError, match=r"axis 0"):
        layers.Dot(axes=0)([torch.ones(2, 3), torch.ones(2, 3)])
    with pytest.raises(TypeError, match=r"axes=.*'a'"):
        layers.Dot(axes="a")
    with pytest.raises(ValueError, match=r"two elements"):
        layers.Dot(axes=(1, 2, 3))
    with pytest.raises(ValueError, match=r"`mask` of layer .* should be a list"):
        layers.Add().compute_mask([torch.ones(1)], torch.ones(1))


def test_configs_are_keras():
    assert list(layers.Add(name="a").get_config()) == ["name", "trainable", "dtype"]
    assert layers.Concatenate(axis=1).get_config()["axis"] == 1
    config = layers.Dot(axes=(1, 2), normalize=True).get_config()
    assert (config["axes"], config["normalize"]) == ([1, 2], True)
    assert list(config)[3:] == ["axes", "normalize"]
    assert layers.Dot.from_config({**config, "axes": [1, 2]}).axes == [1, 2]


def test_functional_forms_pass_layer_kwargs():
    out = layers.dot([torch.ones(2, 3), torch.ones(2, 3) * 2], axes=1, normalize=True, name="cos")
    np.testing.assert_allclose(out.numpy(), np.ones((2, 1)), rtol=1e-6)
    assert layers.concatenate([torch.ones(1, 2, 3)] * 2, axis=1).shape == (1, 4, 3)


def test_symbolic_merge_in_a_functional_model():
    import lamina

    a, b = lamina.Input((3,)), lamina.Input((3,))
    out = layers.Concatenate()([layers.Add()([a, b]), layers.Subtract()([a, b])])
    assert out.shape == (None, 6)
