"""Legacy (tf.keras 2) weights files: the seed-002 h5py structure, round trips, clear mismatch errors."""

import contextlib
import io

import h5py
import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.saving.errors import WeightsMismatchError

from .conftest import mlp, nested, predict, randomize, sample, sequential


def seed_002_listing(path, root=None):
    """The loop of seed 002, printing names and shapes (values differ between writers)."""
    out = io.StringIO()
    with h5py.File(path, "r") as f, contextlib.redirect_stdout(out):
        top = f[root] if root else f
        for group in top.values():
            for layer, weight in group.items():
                print("layer name :", layer)
                for key, value in weight.items():
                    print(key, ": ", value[:].shape)
            print()
    return out.getvalue()


def test_seed_002_structure_matches_tf_keras_weights_file(tmp_path):
    model = mlp()
    model.save_weights(tmp_path / "weights.h5")
    ours = seed_002_listing(tmp_path / "weights.h5")
    assert ours == seed_002_listing(sample("tfk_mlp_functional_weights.h5"))
    assert "layer name : hidden\nbias:0 :  (8,)\nkernel:0 :  (4, 8)\n" in ours


def test_seed_002_structure_matches_tf_keras_model_file(tmp_path):
    model = mlp()
    model.save(tmp_path / "model.h5")
    ours = seed_002_listing(tmp_path / "model.h5", "model_weights")
    assert ours == seed_002_listing(sample("tfk_mlp_functional.h5"), "model_weights")


def test_attributes_and_types_follow_tf_keras(tmp_path):
    mlp().save_weights(tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5", "r") as f, h5py.File(sample("tfk_mlp_functional_weights.h5"), "r") as ref:
        assert sorted(f.attrs) == sorted(ref.attrs)
        assert list(f.attrs["layer_names"]) == list(ref.attrs["layer_names"])
        for name in ("hidden", "out", "x", "top_level_model_weights"):
            assert list(f[name].attrs["weight_names"]) == list(ref[name].attrs["weight_names"])
        assert f["x"].attrs["weight_names"].dtype == np.float64  # empty list: float64 (0,), as tf.keras
        assert h5py.check_string_dtype(f.attrs.get_id("layer_names").get_type().dtype).encoding == "ascii"


@pytest.mark.parametrize("build", [mlp, sequential, nested])
def test_round_trip_gives_identical_predictions(tmp_path, build, x4):
    model = randomize(build())
    model.save_weights(tmp_path / "w.h5")
    fresh = build()
    fresh.load_weights(tmp_path / "w.h5")
    np.testing.assert_array_equal(predict(fresh, x4), predict(model, x4))


def test_sequential_lists_no_input_layer_and_nested_model_flattens(tmp_path):
    sequential().save_weights(tmp_path / "s.h5")
    nested().save_weights(tmp_path / "n.h5")
    with h5py.File(tmp_path / "s.h5") as s, h5py.File(tmp_path / "n.h5") as n:
        assert list(s.attrs["layer_names"]) == ["hidden", "out"]
        assert list(n["encoder"].attrs["weight_names"]) == ["sub_dense/kernel:0", "sub_dense/bias:0"]


def test_frozen_layers_change_the_stored_order(tmp_path):
    """Legacy order is trainable then non-trainable at save time (spec §3.2)."""
    inputs = lamina.Input((4,), name="i")
    sub_in = lamina.Input((4,))
    first, second = layers.Dense(3, name="d"), layers.Dense(3, name="e")
    sub = lamina.Model(sub_in, second(first(sub_in)), name="sub")
    first.trainable = False
    model = lamina.Model(inputs, sub(inputs))
    model.save_weights(tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5") as f:
        assert list(f["sub"].attrs["weight_names"]) == ["e/kernel:0", "e/bias:0", "d/kernel:0", "d/bias:0"]


def test_mismatch_error_lists_every_layer_and_assigns_nothing(tmp_path):
    mlp().save_weights(tmp_path / "w.h5")
    inputs = lamina.Input((5,), name="x")
    other = lamina.Model(inputs, layers.Dense(3, name="out")(layers.Dense(7, name="hidden")(inputs)))
    before = [w.copy() for w in other.get_weights()]
    with pytest.raises(WeightsMismatchError) as info:
        other.load_weights(tmp_path / "w.h5")
    message = str(info.value)
    assert "Layer 'hidden' weight shape mismatch" in message and "(4, 8) vs model (5, 7)" in message
    assert "Layer 'out' weight shape mismatch" in message and "(8, 3) vs model (7, 3)" in message
    assert "2 problem(s)" in message and "nothing was assigned" in message
    for old, new in zip(before, other.get_weights()):
        np.testing.assert_array_equal(old, new)


def test_layer_count_mismatch(tmp_path):
    mlp().save_weights(tmp_path / "w.h5")
    inputs = lamina.Input((4,))
    single = lamina.Model(inputs, layers.Dense(3)(inputs))
    with pytest.raises(WeightsMismatchError, match=r"Layer count mismatch: the model has 1 layers with weights"):
        single.load_weights(tmp_path / "w.h5")


def test_skip_mismatch_loads_what_fits(tmp_path, x4):
    source = randomize(mlp())
    source.save_weights(tmp_path / "w.h5")
    inputs = lamina.Input((4,), name="x")
    target = lamina.Model(inputs, layers.Dense(2, name="out")(layers.Dense(8, name="hidden")(inputs)))
    with pytest.warns(UserWarning, match="Layer 'out' weight shape mismatch"):
        target.load_weights(tmp_path / "w.h5", skip_mismatch=True)
    np.testing.assert_array_equal(target.get_layer("hidden").kernel.numpy(), source.get_layer("hidden").kernel.numpy())


def test_by_name_pairs_layers_by_name(tmp_path):
    source = randomize(mlp())
    source.save_weights(tmp_path / "w.h5")
    inputs = lamina.Input((4,), name="y")
    target = lamina.Model(inputs, layers.Dense(5, name="new")(layers.Dense(8, name="hidden")(inputs)))
    target.load_weights(tmp_path / "w.h5", by_name=True)
    np.testing.assert_array_equal(target.get_layer("hidden").kernel.numpy(), source.get_layer("hidden").kernel.numpy())


def test_unbuilt_subclassed_model_is_refused(tmp_path):
    class Net(lamina.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    built = Net()
    built(np.ones((1, 3), "float32"))
    built.save_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match="has not created its variables yet"):
        Net().load_weights(tmp_path / "w.h5")


def test_wrong_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"must end in `.weights.h5`.*Received: filepath=.*w.bin"):
        mlp().save_weights(tmp_path / "w.bin")


def _discretization_model(tmp_path, summary, boundaries_in_config=None):
    """A tf.keras 2-style weights file of ``Input -> Dense -> Discretization`` whose sketch is ``summary``."""
    inputs = lamina.Input((3,))
    dense = layers.Dense(3, name="dense")
    cut = layers.Discretization(bin_boundaries=boundaries_in_config, num_bins=None if boundaries_in_config else 4,
                                name="cut")
    model = lamina.Model(inputs, cut(dense(inputs)))
    model.save_weights(tmp_path / "w.h5")
    with h5py.File(tmp_path / "w.h5", "r+") as f:  # what tf.keras 2 writes for an adapted layer
        f["cut"].attrs["weight_names"] = [b"cut/summary:0"]
        f["cut"].create_dataset("cut/summary:0", data=summary)
    return model


def test_tf_keras_discretization_sketch_gives_its_boundaries(tmp_path):
    values = np.sort(np.random.default_rng(0).normal(size=60)).astype("float32")
    summary = np.stack([values, np.ones(60, "float32")])
    model = _discretization_model(tmp_path, summary)
    weights = model.get_weights()
    model.layers[1].set_weights([np.zeros_like(w) for w in model.layers[1].get_weights()])
    model.load_weights(tmp_path / "w.h5")
    # tf.keras 2: the sketch compressed to num_bins = 4, its last point dropped (Keras 3 adapt does the same).
    reference = layers.Discretization(num_bins=4)
    reference.adapt(values)
    assert model.layers[2].bin_boundaries == pytest.approx(reference.bin_boundaries)
    assert model.layers[2].bin_boundaries == pytest.approx(np.quantile(values, [0.25, 0.5, 0.75]), abs=0.05)
    for got, expected in zip(model.get_weights(), weights):  # the Dense before it still lines up
        np.testing.assert_array_equal(got, expected)


def test_boundaries_in_the_config_win_over_a_sketch(tmp_path):
    summary = np.stack([np.linspace(-1, 1, 20), np.ones(20)]).astype("float32")
    model = _discretization_model(tmp_path, summary, boundaries_in_config=[0.0, 5.0])
    model.load_weights(tmp_path / "w.h5")
    assert model.layers[2].bin_boundaries == [0.0, 5.0]


@pytest.mark.parametrize("summary", [np.ones((3, 5), "float32"), np.array([[0.0, np.nan], [1.0, 1.0]], "float32"),
                                     np.array([[0.0, 1.0], [1.0, -1.0]], "float32")])
def test_bad_tf_keras_sketch_is_refused_and_nothing_changes(tmp_path, summary):
    model = _discretization_model(tmp_path, summary)
    before = model.get_weights()
    model.layers[1].set_weights([w + 1 for w in before])
    with pytest.raises(WeightsMismatchError, match="Layer 'cut'.*summary"):
        model.load_weights(tmp_path / "w.h5")
    assert model.layers[2].bin_boundaries is None
    for got, expected in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, expected + 1)
