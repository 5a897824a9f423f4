"""Assets in .keras archives: lookup vocabularies written and read where Keras 3 puts them."""

import os
import zipfile

import numpy as np
import pytest

import lamina
from lamina.saving.errors import FileFormatError

SAMPLES = os.path.join(os.path.dirname(__file__), "samples")


def test_keras3_adapted_string_lookup_vocabulary_is_read_from_assets():
    model = lamina.models.load_model(os.path.join(SAMPLES, "k3_stringlookup_adapted.keras"))
    assert model.layers[-1].get_vocabulary() == ["[UNK]", "y", "z", "x"]
    np.testing.assert_array_equal(model(np.array([["x"], ["y"], ["never seen"]])).numpy(), [[3], [1], [0]])


def test_text_vectorization_vocabulary_round_trips_through_assets(tmp_path):
    vectorize = lamina.layers.TextVectorization(max_tokens=10)
    vectorize.adapt(["a b c", "a b", "a"])
    inputs = lamina.Input((1,), dtype="string")
    model = lamina.Model(inputs, vectorize(inputs))
    path = tmp_path / "tv.keras"
    model.save(path)
    assert "assets/layers/text_vectorization/_lookup_layer/vocabulary.txt" in zipfile.ZipFile(path).namelist()
    loaded = lamina.models.load_model(path)
    assert loaded.layers[-1].get_vocabulary() == ["", "[UNK]", "a", "b", "c"]
    texts = np.array([["c a"], ["b z"]])
    np.testing.assert_array_equal(loaded(texts).numpy(), model(texts).numpy())


def test_asset_names_that_escape_their_folder_are_refused(tmp_path):
    source = os.path.join(SAMPLES, "k3_stringlookup_adapted.keras")
    hostile = tmp_path / "hostile.keras"
    with zipfile.ZipFile(source) as original, zipfile.ZipFile(hostile, "w") as out:
        for info in original.infolist():
            data = original.read(info)
            name = info.filename.replace("vocabulary.txt", "../../escape.txt")
            out.writestr(name, data)
    with pytest.raises(FileFormatError, match="unsafe asset name"):
        lamina.models.load_model(hostile)
    assert not (tmp_path / "escape.txt").exists()
