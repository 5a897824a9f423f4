"""to_categorical and normalize against NumPy references and Keras's documented behaviour."""

import numpy as np
import pytest
import torch

from lamina.utils import normalize, to_categorical


def _one_hot_reference(labels, num_classes):
    labels = np.asarray(labels)
    out = np.zeros(labels.shape + (num_classes,))
    for index in np.ndindex(labels.shape):
        out[index + (labels[index],)] = 1.0
    return out


def test_to_categorical_keras_example():
    out = to_categorical([0, 1, 2, 3], num_classes=4)
    np.testing.assert_array_equal(out, np.eye(4))
    assert out.dtype == np.float64


@pytest.mark.parametrize("shape", [(5,), (5, 1), (2, 3), (2, 3, 1), (1,), (1, 1)])
def test_to_categorical_shapes(shape):
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, size=shape)
    out = to_categorical(labels, num_classes=4)
    squeezed = shape[:-1] if len(shape) > 1 and shape[-1] == 1 else shape
    assert out.shape == squeezed + (4,)
    np.testing.assert_array_equal(out, _one_hot_reference(labels.reshape(squeezed), 4))


def test_to_categorical_infers_num_classes_and_accepts_lists_and_floats():
    assert to_categorical([2, 0]).shape == (2, 3)
    np.testing.assert_array_equal(to_categorical(np.array([1.0, 0.0])), [[0, 1], [1, 0]])
    assert to_categorical(3, num_classes=5).tolist() == [0, 0, 0, 1, 0]  # a scalar gives one row


def test_to_categorical_out_of_range_raises():
    with pytest.raises(IndexError):
        to_categorical([0, 5], num_classes=3)


def test_to_categorical_tensor_input():
    x = torch.tensor([[1], [0], [2]])
    out = to_categorical(x, num_classes=3)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32 and out.shape == (3, 3)
    np.testing.assert_array_equal(out.numpy(), np.eye(3)[[1, 0, 2]])
    with pytest.raises(ValueError, match=r"Class indices must be in \[0, 2\)"):
        to_categorical(torch.tensor([0, 2]), num_classes=2)
    with pytest.raises(TypeError, match="integer class indices"):
        to_categorical(torch.tensor([0.5]))


@pytest.mark.parametrize("order", [1, 2, np.inf])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_normalize_numpy_against_reference(order, axis):
    x = np.random.default_rng(1).normal(size=(3, 4))
    norm = np.linalg.norm(x, ord=order, axis=axis, keepdims=True)
    np.testing.assert_allclose(normalize(x, axis=axis, order=order), x / norm, rtol=1e-12)


def test_normalize_zero_rows_stay_zero():
    x = np.array([[0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(normalize(x), [[0.0, 0.0], [0.6, 0.8]])


def test_normalize_tensor_uses_epsilon_floor():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0]], dtype=torch.float64)
    out = normalize(x)
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), [[0.6, 0.8], [0.0, 0.0]], rtol=1e-12)
    assert torch.autograd.gradcheck(lambda t: normalize(t), (torch.randn(2, 3, dtype=torch.float64,
                                                                         requires_grad=True),))
