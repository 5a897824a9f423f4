import numpy as np
import pytest
import torch

import lamina


def test_value_dtype_and_repr():
    v = lamina.Variable([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], name="kernel")
    assert v.shape == (2, 3) and v.dtype == "float32" and v.name == "kernel"
    assert repr(v).startswith("<Variable path=kernel, shape=(2, 3), dtype=float32, value=[[1. 2. 3.]")
    assert isinstance(v.value, torch.nn.Parameter) and v.value.requires_grad


def test_assign_family_accepts_arrays_tensors_and_variables():
    v = lamina.Variable(np.zeros((2,), np.float32))
    v.assign(np.array([1.0, 2.0]))
    v.assign_add(torch.tensor([1.0, 1.0]))
    v.assign_sub(lamina.Variable([0.5, 0.5]))
    np.testing.assert_allclose(v.numpy(), [1.5, 2.5])
    v.assign_add(1.0)  # scalars broadcast
    np.testing.assert_allclose(v.numpy(), [2.5, 3.5])


def test_assign_wrong_shape_is_a_clear_error():
    v = lamina.Variable(np.zeros((2, 3), np.float32), name="kernel")
    with pytest.raises(ValueError, match=r"Expected shape \(2, 3\). Received: value.shape=\(3, 2\)"):
        v.assign(np.zeros((3, 2)))


def test_size_one_axes_are_squeezed_on_assign():
    v = lamina.Variable(0.0, trainable=False)
    v.assign_add(torch.ones(1))
    assert float(v) == 1.0


def test_operators_and_torch_functions():
    v = lamina.Variable([[1.0, 2.0]])
    x = torch.ones(2, 1)
    assert torch.equal(v @ x, torch.tensor([[3.0]]))
    assert torch.equal(torch.matmul(v, x), torch.tensor([[3.0]]))
    assert torch.equal(1 - v, torch.tensor([[0.0, -1.0]]))
    assert torch.equal(v ** 2, torch.tensor([[1.0, 4.0]]))
    assert torch.equal(v > 1.5, torch.tensor([[False, True]]))
    assert torch.equal(-v, torch.tensor([[-1.0, -2.0]]))
    assert v[0, 1].item() == 2.0
    np.testing.assert_array_equal(np.asarray(v), [[1.0, 2.0]])


def test_trainable_maps_to_requires_grad():
    v = lamina.Variable([1.0])
    v.trainable = False
    assert not v.value.requires_grad
    v.trainable = True
    assert v.value.requires_grad
    counter = lamina.Variable(0, dtype="int64", trainable=True)
    assert not counter.value.requires_grad  # integers never require grad


def test_constraint_applied_on_request():
    v = lamina.Variable([-1.0, 2.0], constraint=lambda w: torch.clamp(w, min=0.0))
    v.apply_constraint()
    np.testing.assert_array_equal(v.numpy(), [0.0, 2.0])


def test_initializer_requires_shape():
    with pytest.raises(ValueError, match="the `shape` argument must be specified"):
        lamina.Variable(lambda shape, dtype=None: torch.zeros(shape))


def test_numpy_returns_a_copy():
    v = lamina.Variable([1.0, 2.0])
    snapshot = v.numpy()
    v.assign([5.0, 6.0])
    np.testing.assert_array_equal(snapshot, [1.0, 2.0])
