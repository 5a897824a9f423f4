"""`model.summary()` / `print_summary`: the tf.keras 2 table, line by line."""

import numpy as np
import pytest

import lamina
from lamina import layers
from lamina.utils import summary
from lamina.utils.summary import print_summary, readable_size
from tests.utils.toy_models import Counter, TwoDense, multi_io_model, nested_model, seed_model, subclassed_model

# The Keras 2 walkthrough's output (seed 002), trailing spaces as tf.keras prints them.
SEED_SUMMARY = [
    'Model: "model"',
    "_" * 65,
    "Layer (type)                 Output Shape              Param #   ",
    "=" * 65,
    "input_1 (InputLayer)         [(None, 2)]               0         ",
    "_" * 65,
    "hidden (Dense)               (None, 3)                 9         ",
    "_" * 65,
    "output (Dense)               (None, 1)                 4         ",
    "=" * 65,
    "Total params: 13",
    "Trainable params: 13",
    "Non-trainable params: 0",
    "_" * 65,
]


def lines_of(model, **kwargs):
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return lines


def test_seed_model_summary_is_the_keras_text(capsys):
    model = seed_model()
    assert lines_of(model) == SEED_SUMMARY
    model.summary()
    assert capsys.readouterr().out.splitlines() == SEED_SUMMARY


def test_print_fn_receives_each_line_once():
    calls = []
    print_summary(seed_model(), print_fn=lambda line: calls.append(line))
    assert len(calls) == len(SEED_SUMMARY) and all("\n" not in line for line in calls)


def test_multi_input_model_has_connected_to_column():
    lines = lines_of(multi_io_model())
    assert all(len(line) == 98 for line in lines[1:-4])
    header = ("Layer (type)", "Output Shape", "Param #", "Connected to")
    assert lines[2] == "".join(text.ljust(width) for text, width in zip(header, (32, 21, 12, 33)))
    body = lines[4:-5]
    expected = [
        ("a (InputLayer)", "[(None, 4)]", "0", ""),
        None,
        ("b (InputLayer)", "[(None, 4)]", "0", ""),
        None,
        ("shared (Dense)", "(None, 5)", "25", "a[0][0]"),
        ("", "", "", "b[0][0]"),
        None,
        ("concat (Pair)", "(None, 10)", "0", "shared[0][0]"),
        ("", "", "", "shared[1][0]"),
        None,
        ("head (Dense)", "(None, 1)", "11", "concat[0][0]"),
        None,
        ("aux (Dense)", "(None, 2)", "22", "concat[0][0]"),
    ]
    assert len(body) == len(expected)
    for line, fields in zip(body, expected):
        if fields is None:
            assert line == "_" * 98
        else:
            assert line == fields[0].ljust(32) + fields[1].ljust(21) + fields[2].ljust(12) + fields[3].ljust(33)
    assert lines[-4:] == ["Total params: 58", "Trainable params: 58", "Non-trainable params: 0", "_" * 98]


def test_nested_model_collapsed_and_expanded():
    model = nested_model()
    collapsed = lines_of(model)
    assert collapsed[6] == "inner (Functional)".ljust(29) + "(None, 3)".ljust(26) + "21".ljust(10)
    assert not any("inner_in" in line for line in collapsed)
    expanded = lines_of(model, expand_nested=True)
    start = expanded.index(collapsed[6])
    assert expanded[start + 1:start + 8] == [
        "|" + "\u00af" * 63 + "|",
        "|" + "inner_in (InputLayer)".ljust(28) + "[(None, 2)]".ljust(26) + "0".ljust(9) + "|",
        "|" + "_" * 63 + "|",
        "|" + "a (Dense)".ljust(28) + "(None, 3)".ljust(26) + "9".ljust(9) + "|",
        "|" + "_" * 63 + "|",
        "|" + "b (Dense)".ljust(28) + "(None, 3)".ljust(26) + "12".ljust(9) + "|",
        "\u00af" * 65,
    ]
    assert all(len(line) == 65 for line in expanded[1:-4])
    assert expanded[-4:] == collapsed[-4:] == ["Total params: 25", "Trainable params: 25", "Non-trainable params: 0",
                                               "_" * 65]


def test_sequential_built_and_unbuilt():
    model = lamina.Sequential([layers.Dense(4, name="d1"), layers.Dense(2, name="d2")], name="seq")
    with pytest.raises(ValueError, match="This model has not yet been built"):
        model.summary()
    model.build((None, 3))
    assert lines_of(model) == [
        'Model: "seq"', "_" * 65,
        "Layer (type)                 Output Shape              Param #   ", "=" * 65,
        "d1 (Dense)                   (None, 4)                 16        ", "_" * 65,
        "d2 (Dense)                   (None, 2)                 10        ", "=" * 65,
        "Total params: 26", "Trainable params: 26", "Non-trainable params: 0", "_" * 65,
    ]


def test_subclassed_model_shows_the_shapes_its_layers_were_built_for():
    lines = lines_of(subclassed_model())  # called once on a batch of 1, as Keras 3 shows it
    assert lines[0] == 'Model: "two_dense"'
    assert lines[4] == "first (Dense)".ljust(29) + "(1, 4)".ljust(26) + "16".ljust(10)
    assert lines[6] == "second (Dense)".ljust(29) + "(1, 2)".ljust(26) + "10".ljust(10)
    assert lines[-4:-1] == ["Total params: 26", "Trainable params: 26", "Non-trainable params: 0"]


def test_subclassed_model_summary_after_build():
    model = TwoDense(name="built_two_dense")
    model.build((None, 3))  # tf.keras 2: build runs call on symbolic inputs, creating every weight
    lines = lines_of(model)
    assert lines[4] == "first (Dense)".ljust(29) + "(None, 4)".ljust(26) + "16".ljust(10)
    assert lines[6] == "second (Dense)".ljust(29) + "(None, 2)".ljust(26) + "10".ljust(10)
    assert lines[-4] == "Total params: 26"


def test_non_trainable_params_frozen_layer_and_trainable_column():
    inputs = lamina.Input((3,), name="x")
    frozen = layers.Dense(2, name="frozen")
    frozen.trainable = False
    model = lamina.Model(inputs, Counter(name="counter")(frozen(inputs)), name="m")
    lines = lines_of(model, show_trainable=True)
    # frozen: 3*2+2 = 8 non-trainable; counter: 2 trainable (bias) + 2 non-trainable (count).
    assert lines[-4:] == ["Total params: 12", "Trainable params: 2", "Non-trainable params: 10", "_" * 76]
    assert lines[2] == "Layer (type)".ljust(29) + "Output Shape".ljust(26) + "Param #".ljust(10) + "Trainable".ljust(11)
    assert lines[6] == "frozen (Dense)".ljust(29) + "(None, 2)".ljust(26) + "8".ljust(10) + "N".ljust(11)
    assert lines[8] == "counter (Counter)".ljust(29) + "(None, 2)".ljust(26) + "4".ljust(10) + "Y".ljust(11)


def test_layer_range_limits_rows_and_validates():
    model = multi_io_model()
    rows = [line.split(" ")[0] for line in lines_of(model, layer_range=("shared", "head"))[4:-5]
            if line and line[0] not in "_ "]
    assert rows == ["shared", "concat", "head"]
    with pytest.raises(ValueError, match=r"Passed layer_names do not match.*Received: layer_range=\['nope', 'head'\]"):
        model.summary(layer_range=("nope", "head"))
    with pytest.raises(ValueError, match="list or tuple of two layer names"):
        model.summary(layer_range=("shared",))
    with pytest.raises(ValueError, match="only strings"):
        model.summary(layer_range=(0, 2))


def test_line_length_and_positions():
    lines = lines_of(seed_model(), line_length=80, positions=[0.5, 0.8, 1.0])
    assert all(len(line) == 80 for line in lines[1:10])
    assert lines[6] == "hidden (Dense)".ljust(40) + "(None, 3)".ljust(24) + "9".ljust(16)
    absolute = lines_of(seed_model(), line_length=40, positions=[20, 32, 40])
    assert absolute[6] == "hidden (Dense)".ljust(20) + "(None, 3)".ljust(12) + "9".ljust(8)
    # Fields longer than their column are cut, leaving one space before the next column.
    cut = lines_of(seed_model(), positions=[10, 55, 65])
    assert cut[4] == "input_1 (" + " " + "[(None, 2)]".ljust(45) + "0".ljust(10)


def test_byte_sizes_keras3_style(monkeypatch):
    monkeypatch.setattr(summary, "SHOW_BYTE_SIZES", True)
    assert lines_of(seed_model())[-4:-1] == [
        "Total params: 13 (52.00 B)", "Trainable params: 13 (52.00 B)", "Non-trainable params: 0 (0.00 B)"]
    assert readable_size(1384) == "1.35 KB" and readable_size(3 * 1024 ** 2) == "3.00 MB"


def test_thousands_separator_in_totals():
    inputs = lamina.Input((100,))
    model = lamina.Model(inputs, layers.Dense(100, name="wide")(inputs))
    lines = lines_of(model)
    assert lines[6].startswith("wide (Dense)") and "10100" in lines[6]
    assert lines[-4] == "Total params: 10,100"


def test_eager_call_of_functional_model_keeps_summary():
    model = seed_model()
    model(np.ones((2, 2), dtype="float32"))
    assert lines_of(model) == SEED_SUMMARY
