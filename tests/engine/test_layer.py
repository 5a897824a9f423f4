import numpy as np
import pytest
import torch

import lamina
from lamina.backend.naming import reset_names
from lamina.engine.layer import Layer
from tests.engine.toy_layers import Linear, Noisy


def test_unique_snake_case_names():
    reset_names()

    class MyLayer(Layer):
        def call(self, x):
            return x

    assert [MyLayer().name for _ in range(3)] == ["my_layer", "my_layer_1", "my_layer_2"]
    assert MyLayer(name="custom").name == "custom"


def test_unknown_kwargs_are_rejected_with_the_class_name():
    with pytest.raises(TypeError, match=r"Unrecognized keyword arguments passed to Linear: \{'unitz': 3\}"):
        Linear(3, unitz=3)


def test_lazy_build_on_first_call_and_weight_paths():
    layer = Linear(4, name="hidden")
    assert layer.weights == [] and not layer.built
    y = layer(np.ones((2, 3)))
    assert y.shape == (2, 4) and y.dtype == torch.float32  # float64 NumPy input cast to floatx
    assert [w.path for w in layer.weights] == ["hidden/kernel", "hidden/bias"]
    assert layer.built and layer.count_params() == 16


def test_rebuild_recreates_weights_for_a_new_shape():
    layer = Linear(1)
    layer.build((None, 3))
    assert [w.shape for w in layer.weights] == [(3, 1), (1,)]
    layer.build((None, 5))
    assert [w.shape for w in layer.weights] == [(5, 1), (1,)]
    assert len(list(layer.parameters())) == 2


def test_attributes_before_super_init_and_no_super_init():
    class Block(Layer):
        def __init__(self):  # no super().__init__(), as in the seed's MLPBlock
            self.first = Linear(3)
            self.second = Linear(1)

        def call(self, x):
            return self.second(torch.relu(self.first(x)))

    block = Block()
    assert block.weights == []
    block(torch.ones(2, 4))
    assert [w.shape for w in block.weights] == [(4, 3), (3,), (3, 1), (1,)]
    assert len(block.state_dict()) == 4


def test_tracks_variables_in_lists_and_dicts_and_orders_trainable_first():
    class Holder(Layer):
        def __init__(self):
            super().__init__()
            self.stats = lamina.Variable([0.0], trainable=False, name="stats")
            self.pieces = [Linear(2), {"inner": Linear(1)}]

        def call(self, x):
            return self.pieces[1]["inner"](self.pieces[0](x))

    holder = Holder()
    holder(torch.ones(1, 3))
    names = [w.name for w in holder.weights]
    assert names == ["kernel", "bias", "kernel", "bias", "stats"]
    assert [w.name for w in holder.non_trainable_weights] == ["stats"]
    holder.trainable = False
    assert holder.trainable_weights == [] and len(holder.non_trainable_weights) == 5
    assert not any(p.requires_grad for p in holder.parameters())


def test_set_weights_checks_count_and_shapes():
    layer = Linear(2, name="dense_x")
    layer(torch.ones(1, 3))
    with pytest.raises(ValueError, match="weight list of length 1, but the layer was expecting 2 weights"):
        layer.set_weights([np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"shape \(3, 2\) is not compatible with provided weight shape \(2, 2\)"):
        layer.set_weights([np.zeros((2, 2)), np.zeros(2)])
    layer.set_weights([np.ones((3, 2)), np.ones(2)])
    np.testing.assert_array_equal(layer(torch.ones(1, 3)).detach().numpy(), [[4.0, 4.0]])


def test_add_loss_resets_on_each_top_level_call():
    class Sparse(Layer):
        def call(self, x):
            self.add_loss(x.sum() * 1e-3)
            return x

    class Outer(Layer):
        def __init__(self):
            super().__init__()
            self.inner = Sparse()

        def call(self, x):
            return self.inner(self.inner(x))

    outer = Outer()
    outer(torch.ones(1, 2))
    assert len(outer.losses) == 2
    outer(torch.ones(1, 2))
    assert len(outer.losses) == 2
    assert float(outer.losses[0]) == pytest.approx(2e-3)


def test_training_flag_propagates_to_sublayers():
    class Outer(Layer):
        def __init__(self):
            super().__init__()
            self.noisy = Noisy()

        def call(self, x, training=None):
            return self.noisy(x)

    outer = Outer()
    x = torch.zeros(1)
    assert float(outer(x)) == 0.0
    assert float(outer(x, training=True)) == 1.0
    assert float(outer(x, training=False)) == 0.0


def test_masks_travel_on_tensors():
    class MakeMask(Layer):
        def call(self, x):
            return x

        def compute_mask(self, inputs, previous_mask=None):
            return inputs != 0

    class UseMask(Layer):
        def call(self, x, mask=None):
            return x * mask

    x = torch.tensor([[1.0, 0.0, 2.0]])
    masked = MakeMask()(x)
    assert torch.equal(masked._keras_mask, torch.tensor([[True, False, True]]))
    assert torch.equal(UseMask()(masked), torch.tensor([[1.0, 0.0, 2.0]]))


def test_input_spec_errors_name_the_layer():
    class NeedsRank3(Layer):
        def __init__(self):
            super().__init__(name="needs_rank3")
            self.input_spec = lamina.InputSpec(ndim=3)

        def call(self, x):
            return x

    with pytest.raises(ValueError, match='Input 0 of layer "needs_rank3" is incompatible with the layer: '
                                         r"expected ndim=3, found ndim=2. Full shape received: \(1, 2\)"):
        NeedsRank3()(torch.ones(1, 2))


def test_forward_delegates_and_module_interop():
    layer = Linear(3)
    torch_model = torch.nn.Sequential(layer, torch.nn.ReLU())
    out = torch_model(torch.ones(2, 4))
    assert out.shape == (2, 3)
    assert set(dict(torch_model.named_parameters())) == {"0.kernel", "0.bias"}


def test_base_get_config_and_from_config():
    layer = Linear(5, name="lin", trainable=False)
    config = layer.get_config()
    assert config == {"name": "lin", "trainable": False, "dtype": "float32", "units": 5}
    assert Linear.from_config(config).get_config() == config


def test_get_config_required_for_layers_with_arguments():
    class NoConfig(Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

    with pytest.raises(NotImplementedError, match="must override `get_config"):
        NoConfig(2).get_config()


def test_compute_output_shape_by_abstract_execution():
    layer = Linear(7)
    assert layer.compute_output_shape((None, 3)) == (None, 7)
