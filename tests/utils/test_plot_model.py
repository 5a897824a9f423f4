"""`plot_model` / `model_to_dot`: drawn without Graphviz, checked as images, SVG and DOT."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

import lamina
from lamina import layers
from lamina.utils import model_to_dot, plot_model
from lamina.utils.graph_layout import layout
from tests.utils.toy_models import multi_io_model, nested_model, seed_model, subclassed_model


def _rgb(hex_colour):
    return tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))


def _image(path):
    with Image.open(path) as image:
        return image.convert("RGB"), image.size


def test_seed_model_png_is_drawn_and_grows_with_shapes(tmp_path):
    plain, shapes = tmp_path / "plain.png", tmp_path / "shapes.png"
    assert plot_model(seed_model(), to_file=str(plain), dpi=96) is None  # no IPython here
    plot_model(seed_model(), to_file=shapes, show_shapes=True, dpi=96)
    image, size = _image(plain)
    _, shapes_size = _image(shapes)
    assert shapes_size[1] > size[1] and shapes_size[0] >= size[0]
    pixels = np.asarray(image).reshape(-1, 3)
    not_white = np.any(pixels != 255, axis=1).mean()
    assert 0.1 < not_white < 0.9
    colours = {tuple(p) for p in pixels[:: max(1, len(pixels) // 20000)]}
    assert _rgb("#dcefd5") in colours  # InputLayer title
    assert _rgb("#d6e4f5") in colours  # Dense titles


def test_dpi_scales_the_image(tmp_path):
    plot_model(seed_model(), to_file=tmp_path / "a.png", dpi=72)
    plot_model(seed_model(), to_file=tmp_path / "b.png", dpi=144)
    (_, small), (_, large) = _image(tmp_path / "a.png"), _image(tmp_path / "b.png")
    assert abs(large[0] / small[0] - 2) < 0.15 and abs(large[1] / small[1] - 2) < 0.15


def test_multi_input_multi_output_png_places_inputs_side_by_side(tmp_path):
    model = multi_io_model()
    path = tmp_path / "multi.png"
    plot_model(model, to_file=path, show_shapes=True, show_layer_activations=True, dpi=96)
    _, size = _image(path)
    chain_path = tmp_path / "chain.png"
    plot_model(seed_model(), to_file=chain_path, show_shapes=True, show_layer_activations=True, dpi=96)
    _, chain_size = _image(chain_path)
    assert size[0] > 1.5 * chain_size[0]  # two inputs and two heads on one rank each


def test_rankdir_lr_is_wider_than_tall(tmp_path):
    plot_model(seed_model(), to_file=tmp_path / "tb.png", dpi=96)
    plot_model(seed_model(), to_file=tmp_path / "lr.png", rankdir="LR", dpi=96)
    (_, tb), (_, lr) = _image(tmp_path / "tb.png"), _image(tmp_path / "lr.png")
    assert lr[0] > 2 * lr[1] and lr[0] > tb[0] and tb[1] > lr[1]


def test_svg_is_xml_with_names_and_shapes(tmp_path):
    path = tmp_path / "model.svg"
    plot_model(multi_io_model(), to_file=path, show_shapes=True, show_dtype=True, show_trainable=True)
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    texts = [t.text for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for name in ("a (InputLayer)", "b (InputLayer)", "shared (Dense)", "concat (Pair)", "head (Dense)"):
        assert name in texts
    assert "Input shape: [(None, 5), (None, 5)]" in texts and "Output shape: (None, 10)" in texts
    assert "Output dtype: float32" in texts and "Trainable: True" in texts
    # shared -> concat is called twice but drawn as one arrow.
    assert len(root.findall(".//{http://www.w3.org/2000/svg}g[@class='edge']")) == 5


def test_pdf_and_jpeg(tmp_path):
    plot_model(seed_model(), to_file=tmp_path / "model.pdf", dpi=72)
    assert (tmp_path / "model.pdf").read_bytes().startswith(b"%PDF")
    plot_model(seed_model(), to_file=tmp_path / "model.jpg", dpi=72)
    assert _image(tmp_path / "model.jpg")[1][0] > 50


def test_unknown_extension_and_rankdir_errors(tmp_path):
    with pytest.raises(ValueError, match=r"\.png, \.jpg, \.jpeg, \.svg and \.pdf.*Received: to_file=.*model\.gif"):
        plot_model(seed_model(), to_file=str(tmp_path / "model.gif"))
    with pytest.raises(ValueError, match="Received: rankdir='XY'"):
        plot_model(seed_model(), to_file=str(tmp_path / "m.png"), rankdir="XY")


def test_dot_source_has_every_layer_and_edge():
    dot = model_to_dot(multi_io_model(), show_shapes=True).to_string()
    assert dot.startswith('digraph "two_in_shared" {') and dot.rstrip().endswith("}")
    nodes = set(re.findall(r'^  "(\w+)" \[label=', dot, flags=re.M))
    assert nodes == {"a", "b", "shared", "concat", "head", "aux"}
    edges = set(re.findall(r'^  "(\w+)" -> "(\w+)";', dot, flags=re.M))
    assert edges == {("a", "shared"), ("b", "shared"), ("shared", "concat"), ("concat", "head"), ("concat", "aux")}
    assert 'rankdir="TB"' in dot and "Output shape: (None, 10)" in dot


def test_nested_model_as_one_box_or_as_a_cluster(tmp_path):
    model = nested_model()
    collapsed = model_to_dot(model)
    assert set(collapsed.boxes) == {"x", "inner", "top"} and collapsed.edges == [("x", "inner"), ("inner", "top")]
    expanded = model_to_dot(model, expand_nested=True)
    assert set(expanded.boxes) == {"x", "inner_in", "a", "b", "top"}
    assert expanded.edges == [("inner_in", "a"), ("a", "b"), ("x", "inner_in"), ("b", "top")]
    assert expanded.clusters == {"inner": (None, ["inner_in", "a", "b"], "inner (Functional)")}
    assert 'subgraph "cluster_inner" {' in expanded.to_string()
    path = tmp_path / "nested.png"
    plot_model(model, to_file=path, expand_nested=True, dpi=96)
    assert _image(path)[1][1] > _image(_plot(model, tmp_path / "flat.png"))[1][1]


def _plot(model, path):
    plot_model(model, to_file=path, dpi=96)
    return path


def test_sequential_and_subclassed_models():
    seq = lamina.Sequential([layers.Dense(4, name="d1"), layers.Dense(2, name="d2")])
    with pytest.raises(ValueError, match="This model has not yet been built"):
        model_to_dot(seq)
    seq.build((None, 3))
    dot = model_to_dot(seq, show_shapes=True)
    assert list(dot.boxes)[1:] == ["d1", "d2"] and len(dot.edges) == 2
    assert dot.boxes["d2"][0][-1] == "Output shape: (None, 2)"
    sub = model_to_dot(subclassed_model(), show_layer_names=False)
    assert list(sub.boxes.values()) == [(["TwoDense"], "#fbe5c8")] and sub.edges == []


def test_frozen_layer_has_grey_title_with_show_trainable():
    model = seed_model()
    model.get_layer("hidden").trainable = False
    dot = model_to_dot(model, show_trainable=True)
    assert dot.boxes["hidden"] == (["hidden (Dense)", "Trainable: False"], "#e2e2e2")
    assert dot.boxes["output"][1] == "#d6e4f5"


def test_dot_graph_create_and_write(tmp_path):
    dot = model_to_dot(seed_model(), dpi=72)
    assert dot.create(format="svg").startswith(b"<?xml")
    assert dot.create(format="png").startswith(b"\x89PNG")
    dot.write(tmp_path / "g.dot")
    assert (tmp_path / "g.dot").read_text() == dot.to_string()


def test_layout_reduces_crossings_and_keeps_clusters_apart():
    # Two chains whose second ranks start in crossed order: barycenter sorting uncrosses them.
    sizes = {n: (40, 20) for n in ["a", "b", "y", "x"]}
    result = layout(sizes, [("a", "x"), ("b", "y")])
    assert (result.boxes["a"][0] < result.boxes["b"][0]) == (result.boxes["x"][0] < result.boxes["y"][0])
    # A cluster's frame contains its members and no other box.
    sizes = {n: (40, 20) for n in ["i", "p", "q", "r", "o"]}
    clustered = layout(sizes, [("i", "p"), ("p", "q"), ("i", "r"), ("q", "o"), ("r", "o")],
                       clusters={"c": (None, ["p", "q"])}, cluster_labels={"c": (30, 10)})
    fx, fy, fw, fh = clustered.clusters["c"]
    for n, (x, y, w, h) in clustered.boxes.items():
        inside = fx <= x and x + w <= fx + fw and fy <= y and y + h <= fy + fh
        overlaps = x < fx + fw and fx < x + w and y < fy + fh and fy < y + h
        assert inside if n in ("p", "q") else not overlaps
