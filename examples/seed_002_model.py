"""Seed 002, "keras 뽀개기 (2) 모형을 구성하기, Model": building and inspecting models, run with lamina.

    python examples/seed_002_model.py                         # writes into seed_002_output/
    python examples/seed_002_model.py --quick --out /tmp/s2

The walkthrough, with ``tensorflow.keras`` replaced by ``lamina``:

1. ``Input((2,))`` is a symbolic tensor; calling layers on it builds a graph; ``Model(inputs, output)``;
2. ``summary()`` and ``plot_model(show_shapes=True)`` (a PNG in the output folder, no Graphviz needed);
3. two models built on the same tensors share their layers and weights; ``clone_model`` copies instead;
4. ``get_layer``, ``layer.output``, ``model.get_config()``;
5. ``trainable``: ``trainable_variables`` / ``non_trainable_variables``;
6. calling the model; ``training=True/False`` with a ``Dropout`` model;
7. ``to_json`` / ``to_yaml``;
8. ``save_weights("weights.h5")`` and ``save("model.h5")``, read back with ``h5py`` exactly as the
   seed does (``attrs['model_config']`` and ``model_weights``).
"""

import argparse
import json
import os

import h5py
import numpy as np

import lamina
from lamina.layers import Dense, Dropout, Input
from lamina.models import Model, clone_model
from lamina.ops import convert_to_numpy as to_numpy
from lamina.utils import plot_model


def read_weights_file(f, root=None):
    """The seed's loop over an open h5py file: ``{layer name: {weight name: array}}``, printed as it goes."""
    found = {}
    top = f[root] if root else f
    for group in top.values():
        for layer, weight in group.items():
            print("layer name :", layer)
            found[layer] = {}
            for key, value in weight.items():
                print(key, ": ", value[:])
                found[layer][key] = value[:]
        print()
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="accepted for uniformity; the walkthrough is tiny")
    parser.add_argument("--out", default="seed_002_output", help="folder for model.png, weights.h5 and model.h5")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    lamina.utils.set_random_seed(args.seed)
    lamina.backend.clear_session()  # automatic names start again at input_1, model, ... as in the seed
    os.makedirs(args.out, exist_ok=True)
    facts = {}

    # -- 1. Input, layers called on symbolic tensors, Model ---------------------------------------------
    hidden_layer = Dense(3, activation="relu", name="hidden")
    output_layer = Dense(1, activation="sigmoid", name="output")
    inputs = Input((2,))
    print(inputs)
    hidden = hidden_layer(inputs)
    output = output_layer(hidden)
    print(hidden, output)
    assert (tuple(inputs.shape), tuple(hidden.shape), tuple(output.shape)) == ((None, 2), (None, 3), (None, 1))

    model = Model(inputs, output)
    # -- 2. summary and plot ---------------------------------------------------------------------------
    model.summary()
    assert model.count_params() == 13  # 2*3+3 + 3*1+1, "Total params: 13"
    png = os.path.join(args.out, "model.png")
    plot_model(model, to_file=png, show_shapes=True)
    with open(png, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    print("wrote", png)
    facts["plot"] = png

    # -- 3. shared layers and weights, clone_model ---------------------------------------------------
    model_1 = Model(inputs, output)
    model_2 = Model(inputs, output)
    for w1, w2 in zip(model_1.weights, model_2.weights):
        print(f"{w1.name} :", id(w1) == id(w2))
    assert all(w1 is w2 for w1, w2 in zip(model_1.weights, model_2.weights))
    W = model_1.weights[0]
    W.assign_add(np.ones((2, 3)))  # changes model_2 too: it is the same variable
    print(W)
    print(model_2.weights[0])
    np.testing.assert_array_equal(model_2.weights[0].numpy(), W.numpy())

    model_3 = clone_model(model_1)  # same architecture, new weights
    assert [w.shape for w in model_3.weights] == [w.shape for w in model_1.weights]
    assert not any(w3 is w1 for w3, w1 in zip(model_3.weights, model_1.weights))
    facts["shared_weights"] = True

    # -- 4. get_layer, layer.output, get_config ----------------------------------------------------------
    inputs = Input((2,))
    hidden = Dense(3, activation="relu", name="hidden")(inputs)
    output = Dense(1, activation="sigmoid", name="output")(hidden)
    model = Model(inputs, output)
    layer = model.get_layer("hidden")
    layer = model.get_layer("output")
    print(layer.output)
    assert layer.output is output
    config = model.get_config()
    print(config)
    # automatic names count as in tf.keras 2: the seed's fourth model is "model_3", its second Input "input_2"
    assert config["name"] == "model_3"
    assert [entry["name"] for entry in config["layers"]] == ["input_2", "hidden", "output"]
    assert [entry["class_name"] for entry in config["layers"]] == ["InputLayer", "Dense", "Dense"]
    facts["config_layers"] = [entry["name"] for entry in config["layers"]]

    # -- 5. trainable ------------------------------------------------------------------------------------
    model.trainable = True
    print(model.trainable_variables)
    assert len(model.trainable_variables) == 4 and model.non_trainable_variables == []
    model.trainable = False
    print(model.trainable_variables)
    print(model.non_trainable_variables)
    assert model.trainable_variables == [] and len(model.non_trainable_variables) == 4

    # -- 6. calling the model; the training phase ---------------------------------------------------
    input_values = lamina.constant([[0.5, 0.7], [0.3, 0.2], [0.1, -.9]], "float32")
    y_pred = model(input_values)
    print(y_pred)
    assert tuple(y_pred.shape) == (3, 1)

    inputs_d = Input((10,))
    dropout = Dropout(0.5)(inputs_d)
    dropout_model = Model(inputs_d, dropout)
    xs = np.ones([1, 10], np.float32)
    dropped = to_numpy(dropout_model(xs, training=True))
    kept = to_numpy(dropout_model(xs, training=False))
    print("training=True :", dropped)
    print("training=False:", kept)
    assert set(np.unique(dropped)) <= {0.0, 2.0}  # dropped units are 0, the rest scaled by 1 / (1 - 0.5)
    np.testing.assert_array_equal(kept, xs)
    facts["dropout_values"] = sorted(set(np.unique(dropped).tolist()))

    # -- 7. the architecture as text -----------------------------------------------------------------
    as_yaml = model.to_yaml()
    as_json = model.to_json()
    print(as_json)
    assert json.loads(as_json)["class_name"] in ("Functional", "Model")
    assert '"trainable": false' in as_json  # the model was frozen above
    restored = lamina.models.model_from_json(as_json)
    assert [w.shape for w in restored.weights] == [w.shape for w in model.weights]
    assert lamina.models.model_from_yaml(as_yaml).get_config() == restored.get_config()

    # -- 8. weights and whole models in .h5 files --------------------------------------------------------
    weights_path = os.path.join(args.out, "weights.h5")
    model.save_weights(weights_path)
    with h5py.File(weights_path) as f:
        stored = read_weights_file(f)
    # each layer's group holds "<weight>:0" datasets with the values of that layer
    for name in ("hidden", "output"):
        kernel, bias = model.get_layer(name).get_weights()
        np.testing.assert_array_equal(stored[name]["kernel:0"], kernel)
        np.testing.assert_array_equal(stored[name]["bias:0"], bias)
    facts["weights_h5_layers"] = list(stored)

    model_path = os.path.join(args.out, "model.h5")
    model.save(model_path)
    with h5py.File(model_path) as f:
        print("model의 configuration 정보 :")
        model_config = json.loads(f.attrs["model_config"])
        print(model_config)
        print("\n\n")
        print("model의 weight 정보 : ")
        stored_in_model = read_weights_file(f, "model_weights")
    assert [entry["class_name"] for entry in model_config["config"]["layers"]] == ["InputLayer", "Dense", "Dense"]
    assert {k: {n: v.tolist() for n, v in d.items()} for k, d in stored_in_model.items()} == \
        {k: {n: v.tolist() for n, v in d.items()} for k, d in stored.items()}
    reloaded = lamina.models.load_model(model_path)
    np.testing.assert_allclose(to_numpy(reloaded(input_values)), to_numpy(y_pred), rtol=1e-6)
    facts["model_config_class"] = model_config["class_name"]
    return facts


if __name__ == "__main__":
    main()
