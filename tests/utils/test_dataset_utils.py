"""timeseries/image/text datasets and split_dataset: NumPy references, Keras's rules, fit integration."""

import numpy as np
import pytest
import torch
from PIL import Image

import lamina
from lamina.utils import (
    image_dataset_from_directory,
    split_dataset,
    text_dataset_from_directory,
    timeseries_dataset_from_array,
)


def _windows_reference(data, targets, length, stride, rate, start, end):
    start = start or 0
    end = len(data) if end is None else end
    xs, ys = [], []
    s = start
    while s + (length - 1) * rate < end and (targets is None or s - start < len(targets)):
        xs.append([data[s + j * rate] for j in range(length)])
        if targets is not None:
            ys.append(targets[s])
        s += stride
    return np.array(xs), np.array(ys)


@pytest.mark.parametrize("length,stride,rate,start,end,batch", [
    (3, 1, 1, None, None, 4), (4, 2, 3, None, None, 3), (5, 3, 2, 2, 18, 2), (2, 7, 1, 1, None, None),
])
def test_timeseries_windows_against_reference(length, stride, rate, start, end, batch):
    data = np.arange(20 * 2, dtype="float32").reshape(20, 2)
    targets = np.arange(20) * 10
    ds = timeseries_dataset_from_array(data, targets, length, sequence_stride=stride, sampling_rate=rate,
                                       batch_size=batch, start_index=start, end_index=end)
    ref_x, ref_y = _windows_reference(data, targets, length, stride, rate, start, end)
    if batch is None:
        xs, ys = zip(*ds)
        got_x, got_y = torch.stack(xs).numpy(), torch.stack(ys).numpy()
        assert len(ds) == len(ref_x)
    else:
        batches = list(ds)
        assert len(ds) == len(batches) == -(-len(ref_x) // batch)
        assert all(len(x) == batch for x, _ in batches[:-1])
        got_x = torch.cat([x for x, _ in batches]).numpy()
        got_y = torch.cat([y for _, y in batches]).numpy()
    np.testing.assert_array_equal(got_x, ref_x)
    np.testing.assert_array_equal(got_y, ref_y)


def test_timeseries_keras_docstring_example():
    # Keras: data 0..99, sequence_length=10, sampling_rate=2 -> first window [0, 2, ..., 18].
    ds = timeseries_dataset_from_array(np.arange(100), None, sequence_length=10, sampling_rate=2, batch_size=128)
    first = next(iter(ds))
    assert first.shape == (82, 10)
    np.testing.assert_array_equal(first[0].numpy(), np.arange(0, 20, 2))


def test_timeseries_shuffle_is_a_seeded_permutation_per_epoch():
    data = np.arange(30)
    ds = timeseries_dataset_from_array(data, data, 3, batch_size=5, shuffle=True, seed=7)
    epoch1 = torch.cat([y for _, y in ds]).tolist()
    epoch2 = torch.cat([y for _, y in ds]).tolist()
    assert sorted(epoch1) == sorted(epoch2) == list(range(28))
    assert epoch1 != epoch2  # a new order each epoch
    again = timeseries_dataset_from_array(data, data, 3, batch_size=5, shuffle=True, seed=7)
    assert torch.cat([y for _, y in again]).tolist() == epoch1
    for x, y in ds:  # windows still start at their targets
        np.testing.assert_array_equal(x[:, 0].numpy(), y.numpy())


@pytest.mark.parametrize("kwargs,message", [
    ({"start_index": -1}, "`start_index` must be 0 or greater. Received: start_index=-1"),
    ({"start_index": 10}, "`start_index` must be lower than the length of the data"),
    ({"start_index": 5, "end_index": 4}, "`end_index` must be higher than `start_index`"),
    ({"end_index": 10}, "`end_index` must be lower than the length of the data"),
    ({"sampling_rate": 0}, "`sampling_rate` must be higher than 0. Received: sampling_rate=0"),
    ({"sequence_stride": 10}, "`sequence_stride` must be lower than the length of the data"),
])
def test_timeseries_errors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        timeseries_dataset_from_array(np.arange(10), None, 2, **kwargs)


@pytest.mark.parametrize("left,right,sizes", [
    (None, None, (5, 5)), (0.8, None, (8, 2)), (None, 3, (7, 3)), (3, 2, (3, 2)), (0.25, 0.25, (2, 2)),
])
def test_split_dataset_sizes(left, right, sizes):
    x = np.arange(10)
    a, b = split_dataset((x, x * 2), left_size=left, right_size=right)
    assert (len(a), len(b)) == sizes
    left_x = [int(s[0]) for s in a]
    right_x = [int(s[0]) for s in b]
    assert left_x == list(range(sizes[0]))
    assert right_x == list(range(10 - sizes[1], 10))  # Keras takes the right part from the end
    assert all(int(s[1]) == 2 * int(s[0]) for s in a)


def test_split_dataset_shuffle_matches_keras_order():
    x = np.arange(20)
    a, b = split_dataset(x, left_size=15, shuffle=True, seed=3)
    order = np.arange(20)
    np.random.RandomState(3).shuffle(order)
    assert [int(v) for v in a] == order[:15].tolist()
    assert [int(v) for v in b] == order[15:].tolist()
    batched = a.batch(4)
    assert len(batched) == 4 and [len(v) for v in batched] == [4, 4, 4, 3]


def test_split_dataset_accepts_torch_datasets_and_batch_datasets():
    tds = torch.utils.data.TensorDataset(torch.arange(6.0), torch.arange(6))
    a, b = split_dataset(tds, right_size=2)
    assert len(a) == 4 and [int(s[1]) for s in b] == [4, 5]
    ds = timeseries_dataset_from_array(np.arange(12), np.arange(12), 2, batch_size=4)
    a, b = split_dataset(ds, left_size=0.5)
    assert len(a) + len(b) == 11


@pytest.mark.parametrize("kwargs,error,message", [
    ({"left_size": 0, "right_size": 0}, ValueError, "Both `left_size` and `right_size` are zero"),
    ({"left_size": 10}, ValueError, "`left_size` should be either a positive integer smaller than 10"),
    ({"right_size": 1.5}, ValueError, "`right_size` should be either a positive integer smaller than 10"),
    ({"left_size": 0.7, "right_size": 0.6}, ValueError, "is greater than 1"),
    ({"left_size": 6, "right_size": 6}, ValueError, "should be smaller than the 10"),
    ({"left_size": "half"}, TypeError, "Invalid `left_size` Type"),
    ({"left_size": 0.01}, ValueError, "Resulting left side dataset split will be empty"),
])
def test_split_dataset_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        split_dataset(np.arange(10), **kwargs)


def _image_tree(root, counts=(3, 2), size=(6, 4)):
    rng = np.random.default_rng(0)
    for c, count in enumerate(counts):
        folder = root / f"class_{'ab'[c]}"
        folder.mkdir(parents=True)
        for i in range(count):
            pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"img_{i}.png")
    (root / "class_a" / "notes.txt").write_text("not an image")
    (root / ".hidden").mkdir()


def test_image_dataset_labels_shapes_and_pixels(tmp_path, capsys):
    _image_tree(tmp_path)
    ds = image_dataset_from_directory(tmp_path, image_size=(4, 6), batch_size=2, shuffle=False)
    assert "Found 5 files belonging to 2 classes." in capsys.readouterr().out
    assert ds.class_names == ["class_a", "class_b"] and len(ds) == 3
    assert [p.rsplit("/", 2)[-2:] for p in ds.file_paths][:2] == [["class_a", "img_0.png"], ["class_a", "img_1.png"]]
    xs, ys = zip(*ds)
    x, y = torch.cat(xs), torch.cat(ys)
    assert x.shape == (5, 4, 6, 3) and x.dtype == torch.float32 and y.dtype == torch.int32
    assert y.tolist() == [0, 0, 0, 1, 1]
    np.testing.assert_array_equal(x[0].numpy(), np.asarray(Image.open(ds.file_paths[0]), dtype="float32"))


def test_image_dataset_modes_resize_and_channels_first(tmp_path):
    _image_tree(tmp_path)
    gray = image_dataset_from_directory(tmp_path, color_mode="grayscale", image_size=(2, 3), batch_size=None,
                                        shuffle=False, label_mode="categorical", data_format="channels_first",
                                        verbose=False)
    x, y = next(iter(gray))
    assert x.shape == (1, 2, 3) and y.tolist() == [1.0, 0.0]
    # bilinear resize by an integer factor = 2x2 block means (half-pixel centres, no antialiasing)
    source = np.asarray(Image.open(gray.file_paths[0]).convert("L"), dtype="float32")
    expected = source.reshape(2, 2, 3, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(x[0].numpy(), expected, rtol=1e-5)
    binary = image_dataset_from_directory(tmp_path, label_mode="binary", image_size=8, shuffle=False, verbose=False,
                                          color_mode="rgba", crop_to_aspect_ratio=True)
    x, y = next(iter(binary))
    assert x.shape == (5, 8, 8, 4) and y.shape == (5, 1) and y.dtype == torch.float32


def test_image_dataset_validation_split_matches_keras_rule(tmp_path):
    _image_tree(tmp_path, counts=(6, 4))
    train, val = image_dataset_from_directory(tmp_path, image_size=(4, 6), validation_split=0.3, subset="both",
                                              seed=5, verbose=False)
    assert len(train.file_paths) == 7 and len(val.file_paths) == 3
    order = sorted(train.file_paths + val.file_paths)
    np.random.RandomState(5).shuffle(order)
    assert train.file_paths == order[:7] and val.file_paths == order[7:]
    only_val = image_dataset_from_directory(tmp_path, image_size=(4, 6), validation_split=0.3, subset="validation",
                                            seed=5, verbose=False)
    assert only_val.file_paths == val.file_paths


def test_image_dataset_trains_a_model(tmp_path):
    _image_tree(tmp_path)
    ds = image_dataset_from_directory(tmp_path, image_size=(4, 6), batch_size=2, seed=1, verbose=False)
    inputs = lamina.Input((4, 6, 3))
    x = lamina.layers.Flatten()(inputs)
    model = lamina.Model(inputs, lamina.layers.Dense(2, activation="softmax")(x))
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = model.fit(ds, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2


@pytest.mark.parametrize("kwargs,message", [
    ({"labels": "bad"}, "`labels` argument should be a list/tuple"),
    ({"label_mode": "sparse"}, "`label_mode` argument must be one of"),
    ({"color_mode": "cmyk"}, "`color_mode` must be one of"),
    ({"image_size": (1, 2, 3)}, "Invalid `image_size` value"),
    ({"interpolation": "cubic"}, "Argument `interpolation` should be one of"),
    ({"validation_split": 0.2, "subset": "training"}, "you must provide a `seed` argument"),
    ({"validation_split": 1.5, "subset": "training", "seed": 1}, "`validation_split` must be between 0 and 1"),
    ({"subset": "training"}, "If `subset` is set, `validation_split` must be set"),
    ({"class_names": ["class_a", "zzz"]}, "did not match the names of the subdirectories"),
    ({"labels": [0, 1], "shuffle": False}, "Expected the lengths of `labels` to match"),
])
def test_image_dataset_errors(tmp_path, kwargs, message):
    _image_tree(tmp_path)
    with pytest.raises(ValueError, match=message):
        image_dataset_from_directory(tmp_path, verbose=False, **kwargs)


def test_image_dataset_binary_needs_two_classes(tmp_path):
    _image_tree(tmp_path)
    (tmp_path / "class_c").mkdir()
    with pytest.raises(ValueError, match="there must be exactly 2 class_names"):
        image_dataset_from_directory(tmp_path, label_mode="binary", verbose=False)


def _text_tree(root):
    texts = {"neg": ["bad movie", "awful"], "pos": ["great film", "loved it", "wonderful"]}
    for label, items in texts.items():
        (root / label).mkdir(parents=True)
        for i, text in enumerate(items):
            (root / label / f"{i}.txt").write_text(text, encoding="utf-8")
    (root / "pos" / "skip.md").write_text("ignored")
    return texts


def test_text_dataset(tmp_path):
    texts = _text_tree(tmp_path)
    ds = text_dataset_from_directory(tmp_path, batch_size=2, shuffle=False, verbose=False)
    assert ds.class_names == ["neg", "pos"] and len(ds) == 3
    xs, ys = zip(*ds)
    assert [t for batch in xs for t in batch] == texts["neg"] + texts["pos"]
    assert torch.cat(ys).tolist() == [0, 0, 1, 1, 1]
    short = text_dataset_from_directory(tmp_path, max_length=3, labels=None, shuffle=False, verbose=False)
    assert next(iter(short)).tolist() == ["bad", "awf", "gre", "lov", "won"]
    cat = text_dataset_from_directory(tmp_path, label_mode="categorical", class_names=["pos", "neg"], shuffle=False,
                                      verbose=False)
    _, y = next(iter(cat))
    assert y.tolist()[0] == [1.0, 0.0]  # class order follows class_names


def test_text_dataset_shuffle_with_seed_is_deterministic(tmp_path):
    _text_tree(tmp_path)
    a = text_dataset_from_directory(tmp_path, seed=9, verbose=False)
    b = text_dataset_from_directory(tmp_path, seed=9, verbose=False)
    assert a.file_paths == b.file_paths
    assert [t for batch, _ in a for t in batch] == [t for batch, _ in b for t in batch]
