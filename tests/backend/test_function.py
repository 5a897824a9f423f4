"""lamina.function: torch.compile with TensorFlow's tf.function surface; results equal eager."""

import pytest
import torch

import lamina
from lamina.backend import config
from lamina.backend.function import Function, function


class _CountingBackend:
    """A torch.compile backend that runs the captured graph as is and counts compilations."""

    def __init__(self):
        self.graphs = 0

    def __call__(self, graph_module, example_inputs):
        self.graphs += 1
        return graph_module.forward


class _Linear(lamina.layers.Layer):
    """A layer building its weight lazily without initializers (kept independent of them)."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        generator = torch.Generator().manual_seed(0)
        self.w = lamina.Variable(torch.randn(input_shape[-1], self.units, generator=generator), name="w")

    def call(self, x):
        return torch.tanh(x @ self.w)


@pytest.fixture(autouse=True)
def _restore_eager_flag():
    yield
    config.run_functions_eagerly(False)


def test_inductor_compiled_function_matches_eager():
    def mlp(x, w1, w2):
        return torch.relu(x @ w1) @ w2 + 1.0

    compiled = function(mlp)  # default backend: inductor
    x, w1, w2 = torch.randn(4, 3), torch.randn(3, 5), torch.randn(5, 2)
    expected = mlp(x, w1, w2)
    torch.testing.assert_close(compiled(x, w1, w2), expected)  # first call: eager
    torch.testing.assert_close(compiled(x, w1, w2), expected, rtol=1e-5, atol=1e-6)  # compiled
    assert compiled._compiled is not None


def test_decorator_with_and_without_arguments():
    backend = _CountingBackend()

    @lamina.function
    def plain(x):
        return x + 1

    @lamina.function(backend=backend, reduce_retracing=True)
    def configured(x):
        return x * 3

    assert isinstance(plain, Function) and plain.__name__ == "plain"
    assert configured._compile_options["dynamic"] is True
    x = torch.arange(3.0)
    for _ in range(3):
        assert configured(x).tolist() == [0.0, 3.0, 6.0]
    assert configured(torch.ones(5)).tolist() == [3.0] * 5  # shape-generic: no new graph
    assert backend.graphs == 1


def test_compiled_layer_matches_eager_with_gradients():
    backend = _CountingBackend()
    layer = _Linear(4)
    compiled = lamina.function(layer, backend=backend)
    x = torch.randn(6, 3)
    first = compiled(x)  # builds the layer eagerly
    assert [tuple(w.shape) for w in layer.weights] == [(3, 4)]
    with lamina.GradientTape() as tape:
        y = compiled(x).sum()
    grad_compiled = tape.gradient(y, layer.w)
    with lamina.GradientTape() as tape:
        y_eager = layer(x).sum()
    grad_eager = tape.gradient(y_eager, layer.w)
    assert backend.graphs == 1
    torch.testing.assert_close(first, layer(x))
    torch.testing.assert_close(y, y_eager)
    torch.testing.assert_close(grad_compiled, grad_eager)


def test_aot_eager_backend_sees_assigned_weights():
    layer = _Linear(2)
    compiled = lamina.function(layer, backend="aot_eager")
    x = torch.randn(2, 3)
    compiled(x)
    compiled(x)
    layer.w.assign(torch.zeros(3, 2))
    assert torch.equal(compiled(x), torch.zeros(2, 2))


def test_run_functions_eagerly_and_jit_compile_false_run_python_each_call():
    calls = []

    def traced(x):
        calls.append(1)
        return x * 2

    backend = _CountingBackend()
    compiled = function(traced, backend=backend)
    config.run_functions_eagerly(True)
    assert config.functions_run_eagerly() is True
    for _ in range(3):
        compiled(torch.ones(2))
    assert len(calls) == 3 and compiled._compiled is None and backend.graphs == 0
    config.run_functions_eagerly(False)
    assert config.functions_run_eagerly() is False

    calls.clear()
    eager = function(traced, jit_compile=False)
    for _ in range(3):
        assert eager(torch.ones(2)).tolist() == [2.0, 2.0]
    assert len(calls) == 3 and eager._compiled is None


def test_method_decoration_binds_per_instance():
    backend = _CountingBackend()

    class Model:
        def __init__(self, scale):
            self.scale = scale

        @lamina.function(backend=backend)
        def apply(self, x):
            return x * self.scale

    a, b = Model(2.0), Model(3.0)
    assert a.apply is a.apply and a.apply is not b.apply
    x = torch.ones(2)
    for _ in range(2):
        assert a.apply(x).tolist() == [2.0, 2.0]
        assert b.apply(x).tolist() == [3.0, 3.0]
    assert isinstance(Model.apply, Function)


def test_bad_arguments_raise_clear_errors():
    with pytest.raises(TypeError, match="expects a callable"):
        function(3)
    with pytest.raises(ValueError, match="Received: jit_compile='yes'"):
        function(lambda x: x, jit_compile="yes")
    with pytest.raises(TypeError, match="Unrecognized keyword arguments passed to lamina.function"):
        function(lambda x: x, experimental_bogus=True)


def test_public_names():
    assert lamina.function is function
    assert lamina.config.run_functions_eagerly is config.run_functions_eagerly
