"""GradientTape: TensorFlow semantics over torch autograd, checked against finite differences."""

import numpy as np
import pytest
import torch

import lamina
from lamina.backend.tape import GradientTape
from lamina.backend.variable import Variable


def _fd_grad(f, x, eps=1e-6):
    """Central finite differences of the scalar function ``f`` at the float64 array ``x``."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[index] = eps
        grad[index] = (f(x + step) - f(x - step)) / (2 * eps)
    return grad


def test_gradient_of_variables_matches_finite_differences():
    rng = np.random.default_rng(0)
    w0, x0 = rng.normal(size=(3, 2)), rng.normal(size=(4, 3))
    w = Variable(w0, dtype="float64")
    x = torch.tensor(x0)
    with GradientTape() as tape:
        loss = torch.tanh(x @ w).pow(2).sum()
    grad = tape.gradient(loss, w)
    expected = _fd_grad(lambda wv: np.sum(np.tanh(x0 @ wv) ** 2), w0)
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-6, atol=1e-8)


def test_watched_tensor_gradient_and_restored_afterwards():
    x0 = np.array([1.0, 2.0, 3.0])
    x = torch.tensor(x0)
    with GradientTape() as tape:
        tape.watch(x)
        y = torch.sin(x) * x
    grad = tape.gradient(y, x)  # non-scalar target: gradient of its sum
    expected = _fd_grad(lambda v: np.sum(np.sin(v) * v), x0)
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-6)
    assert not x.requires_grad  # back to a plain tensor
    x.numpy()


def test_unwatched_tensor_and_unconnected_sources_give_none_or_zeros():
    v = Variable([1.0, 2.0])
    other = Variable([5.0])
    x = torch.ones(2)
    with GradientTape(persistent=True) as tape:
        y = (v * 3).sum()
    assert tape.gradient(y, x) is None
    assert tape.gradient(y, other) is None
    zeros = tape.gradient(y, [other, x], unconnected_gradients="zero")
    assert torch.equal(zeros[0], torch.zeros(1)) and torch.equal(zeros[1], torch.zeros(2))
    with pytest.raises(ValueError, match="unconnected_gradients"):
        tape.gradient(y, v, unconnected_gradients="zeros")


def test_non_trainable_variable_gives_none_and_integer_tensor_is_not_watched():
    frozen = Variable([1.0, 2.0], trainable=False)
    counts = torch.tensor([1, 2])
    with GradientTape() as tape:
        with pytest.warns(UserWarning, match="floating"):
            tape.watch(counts)
        y = (frozen * 2).sum() + counts.sum()
    assert tape.gradient(y, [frozen, counts]) == [None, None]


def test_explicitly_watched_non_trainable_variable_gets_gradient():
    frozen = Variable([1.0, 2.0], trainable=False)
    with GradientTape() as tape:
        tape.watch(frozen)
        y = (frozen * frozen).sum()
    assert tape.gradient(y, frozen).tolist() == [2.0, 4.0]
    assert not frozen.value.requires_grad  # still non-trainable afterwards


def test_nested_structure_of_sources_is_preserved():
    a, b, c = Variable(1.0), Variable(2.0), Variable(3.0)
    with GradientTape() as tape:
        y = a * b * c
    grads = tape.gradient(y, {"x": [a, (b,)], "y": c})
    assert set(grads) == {"x", "y"}
    assert isinstance(grads["x"], list) and isinstance(grads["x"][1], tuple)
    assert [float(grads["x"][0]), float(grads["x"][1][0]), float(grads["y"])] == [6.0, 3.0, 2.0]


def test_non_persistent_tape_raises_on_second_use():
    v = Variable(2.0)
    with GradientTape() as tape:
        y = v * v
    tape.gradient(y, v)
    with pytest.raises(RuntimeError, match="A non-persistent GradientTape can only be used to compute one set"):
        tape.gradient(y, v)
    with pytest.raises(RuntimeError, match="non-persistent"):
        tape.jacobian(y, v)


def test_persistent_tape_allows_many_calls():
    v = Variable(3.0)
    with GradientTape(persistent=True) as tape:
        y = v * v
        z = y * v
    assert float(tape.gradient(y, v)) == 6.0
    assert float(tape.gradient(z, v)) == 27.0
    assert float(tape.gradient(z, v)) == 27.0


def test_output_gradients_weight_the_target():
    v = Variable([1.0, 2.0])
    with GradientTape() as tape:
        y = v * v
    grad = tape.gradient(y, v, output_gradients=torch.tensor([10.0, 1.0]))
    assert grad.tolist() == [20.0, 4.0]


def test_list_of_targets_is_summed():
    v = Variable(2.0)
    with GradientTape() as tape:
        y1, y2 = v * 3, v * v
    assert float(tape.gradient([y1, y2], v)) == 7.0


def test_watch_accessed_variables_false_only_explicit_variables():
    a, b = Variable(2.0), Variable(5.0)
    with GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = a * b
    grads = tape.gradient(y, [a, b])
    assert float(grads[0]) == 5.0 and grads[1] is None
    assert tape.watched_variables() == (a,)


def test_watched_variables_lists_variables_used_inside_the_tape():
    a, b, unused = Variable(2.0, name="a"), Variable(5.0, name="b"), Variable(1.0, name="c")
    before = unused * 2  # computed before the tape: not recorded by it
    with GradientTape() as tape:
        y = a * b
    watched = tape.watched_variables()
    assert [v.name for v in watched] == ["a", "b"]
    assert before is not None and y is not None


def test_stop_recording_excludes_operations():
    v = Variable(3.0)
    with GradientTape() as tape:
        y = v * v
        with tape.stop_recording():
            z = v * 10
        total = y + z
    assert float(tape.gradient(total, v)) == 6.0
    with pytest.raises(ValueError, match="must be recording"):
        with tape.stop_recording():
            pass


def test_reset_allows_reuse_of_non_persistent_tape():
    v = Variable(3.0)
    with GradientTape() as tape:
        v * v  # recorded, then forgotten by reset()
        tape.reset()
        z = v * 4
    assert float(tape.gradient(z, v)) == 4.0
    tape.reset()
    with tape:
        w = v * v * v
    assert float(tape.gradient(w, v)) == 27.0


def test_nested_tapes_give_second_derivative():
    x = torch.tensor(2.0, dtype=torch.float64)
    with GradientTape() as outer:
        outer.watch(x)
        with GradientTape() as inner:
            inner.watch(x)
            y = x ** 3
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    assert float(dy.detach()) == 12.0 and float(d2y) == 12.0


def test_jacobian_matches_finite_differences():
    rng = np.random.default_rng(1)
    m0, x0 = rng.normal(size=(2, 3)), rng.normal(size=(3,))
    m = Variable(m0, dtype="float64")
    x = torch.tensor(x0)
    with GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = torch.tanh(m @ x)
    jac_x, jac_m = tape.jacobian(y, [x, m])
    assert tuple(jac_x.shape) == (2, 3) and tuple(jac_m.shape) == (2, 2, 3)
    for i in range(2):
        expected = _fd_grad(lambda v, i=i: np.tanh(m0 @ v)[i], x0)
        np.testing.assert_allclose(jac_x[i].numpy(), expected, rtol=1e-6, atol=1e-9)
        expected_m = _fd_grad(lambda mv, i=i: np.tanh(mv @ x0)[i], m0)
        np.testing.assert_allclose(jac_m[i].numpy(), expected_m, rtol=1e-6, atol=1e-9)
    other = torch.ones(4)
    assert tape.jacobian(y, other) is None
    assert tuple(tape.jacobian(y, other, unconnected_gradients="zero").shape) == (2, 4)


def test_batch_jacobian_matches_per_example_jacobians():
    rng = np.random.default_rng(2)
    x0, w0 = rng.normal(size=(4, 3)), rng.normal(size=(3, 2))
    x = torch.tensor(x0)
    w = torch.tensor(w0)
    with GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = torch.sigmoid(x @ w)
    jac = tape.batch_jacobian(y, x)
    assert tuple(jac.shape) == (4, 2, 3)
    for b in range(4):
        for i in range(2):
            expected = _fd_grad(lambda v, b=b, i=i: (1 / (1 + np.exp(-(v @ w0))))[i], x0[b])
            np.testing.assert_allclose(jac[b, i].numpy(), expected, rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="Need first dimension of target shape"):
        tape.batch_jacobian(y, torch.ones(3, 3))


def test_gradcheck_through_tape():
    # gradcheck drives torch.autograd directly; the tape must return the same gradient.
    x = torch.randn(5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: (t.exp() * t).sum(), (x,))
    with GradientTape() as tape:
        y = (x.exp() * x).sum()
    grad = tape.gradient(y, x)
    torch.testing.assert_close(grad, (x.exp() * (x + 1)).detach())


def test_bad_source_and_watch_types_raise_clear_errors():
    v = Variable(1.0)
    with GradientTape(persistent=True) as tape:
        y = v * 2
        with pytest.raises(ValueError, match="not a tensor or a Variable"):
            tape.watch(np.ones(2))
    with pytest.raises(TypeError, match="Received: source=3"):
        tape.gradient(y, 3)
    with pytest.raises(TypeError, match="target must be a tensor"):
        tape.gradient("loss", v)


def test_public_name_and_layer_weights():
    assert lamina.GradientTape is GradientTape

    class Scale(lamina.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

        def call(self, x):
            return x * self.w

    layer = Scale()
    x = torch.tensor([[1.0, 2.0]])
    with lamina.GradientTape() as tape:
        y = layer(x).sum()
    (grad,) = tape.gradient(y, layer.trainable_weights)
    assert grad.tolist() == [1.0, 2.0]
    assert tape.watched_variables() == (layer.w,)


def test_watched_variables_follow_layer_order_and_feed_gradient():
    from lamina.layers import Dense

    layers = [Dense(4, activation="relu"), Dense(2)]
    x = torch.randn(3, 5)
    with lamina.GradientTape() as tape:
        y = layers[1](layers[0](x))
        loss = (y * y).sum()
    watched = tape.watched_variables()
    assert [v.path for v in watched] == [v.path for v in layers[0].weights + layers[1].weights]
    grads = tape.gradient(loss, watched)
    assert [tuple(g.shape) for g in grads] == [(5, 4), (4,), (4, 2), (2,)]
