"""Image preprocessing and augmentation layers against NumPy references."""

import json

import numpy as np
import pytest
import torch

from lamina import layers
from lamina.layers.preprocessing_augment import affine_transform
from tests.layers.harness import run_layer_test

RNG = np.random.default_rng(0)


def _images(*shape):
    return RNG.uniform(0, 255, shape).astype("float32")


def _np_resize(image, out_h, out_w, interpolation):
    """TF's resize (half-pixel centers, no antialias) of an (H, W, C) image, written independently."""
    in_h, in_w = image.shape[:2]

    def axis(out_size, in_size):
        src = (np.arange(out_size) + 0.5) * (in_size / out_size)
        if interpolation == "nearest":
            return np.minimum(np.floor(src), in_size - 1).astype(int), None, None
        src = src - 0.5
        low = np.floor(src)
        frac = src - low
        return np.clip(low, 0, in_size - 1).astype(int), np.clip(low + 1, 0, in_size - 1).astype(int), frac

    y0, y1, fy = axis(out_h, in_h)
    x0, x1, fx = axis(out_w, in_w)
    if interpolation == "nearest":
        return image[y0][:, x0]
    top = image[y0][:, x0] * (1 - fx)[None, :, None] + image[y0][:, x1] * fx[None, :, None]
    bottom = image[y1][:, x0] * (1 - fx)[None, :, None] + image[y1][:, x1] * fx[None, :, None]
    return top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]


# ---- Rescaling / Resizing / CenterCrop ---------------------------------------------------------------------

def test_rescaling_harness_and_values():
    layer, out = run_layer_test(layers.Rescaling, {"scale": 0.5, "offset": -1.0}, input_shape=(2, 3, 4),
                                expected_output_shape=(2, 3, 4), expected_num_trainable_weights=0,
                                supports_masking=True)
    x = _images(2, 3)
    np.testing.assert_allclose(layer(x).numpy(), x * 0.5 - 1.0, rtol=1e-6)
    assert layers.Rescaling(1 / 255)(np.full((1, 2), 255, dtype="uint8")).dtype == torch.float32
    per_channel = layers.Rescaling([1.0, 2.0])
    np.testing.assert_allclose(per_channel(np.ones((1, 2), "float32")).numpy(), [[1.0, 2.0]])
    assert per_channel.get_config()["scale"] == [1.0, 2.0]


@pytest.mark.parametrize("interpolation", ["bilinear", "nearest"])
@pytest.mark.parametrize("size", [(3, 5), (11, 7), (4, 4), (1, 9)])
def test_resizing_matches_numpy_half_pixel_reference(interpolation, size):
    x = _images(2, 6, 5, 3)
    out = layers.Resizing(*size, interpolation=interpolation)(x).numpy()
    expected = np.stack([_np_resize(img.astype("float64"), *size, interpolation) for img in x])
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-3)


def test_resizing_harness_channels_first_and_unbatched():
    run_layer_test(layers.Resizing, {"height": 3, "width": 2}, input_shape=(2, 5, 4, 3),
                   expected_output_shape=(2, 3, 2, 3), expected_num_trainable_weights=0)
    x = _images(2, 3, 6, 5)
    first = layers.Resizing(3, 4, data_format="channels_first")(x).numpy()
    last = layers.Resizing(3, 4)(x.transpose(0, 2, 3, 1)).numpy()
    np.testing.assert_allclose(first, last.transpose(0, 3, 1, 2), rtol=1e-6)
    assert layers.Resizing(3, 4)(x[0]).shape == (3, 4, 5)


def test_resizing_crop_and_pad_to_aspect_ratio():
    x = _images(1, 4, 8, 1)
    cropped = layers.Resizing(2, 2, crop_to_aspect_ratio=True)(x).numpy()
    np.testing.assert_allclose(cropped[0], _np_resize(x[0, :, 2:6].astype("float64"), 2, 2, "bilinear"), rtol=1e-5)
    padded = layers.Resizing(8, 8, pad_to_aspect_ratio=True, fill_value=-1.0)(x).numpy()
    expected = np.full((8, 8, 1), -1.0)
    expected[2:6] = x[0]
    np.testing.assert_allclose(padded[0], expected, rtol=1e-6)


def test_resizing_config_and_errors():
    config = layers.Resizing(3, 4, name="r").get_config()
    assert list(config) == ["name", "trainable", "dtype", "height", "width", "interpolation", "crop_to_aspect_ratio",
                            "pad_to_aspect_ratio", "fill_mode", "fill_value", "antialias", "data_format"]
    assert json.loads(json.dumps(config)) == config
    with pytest.raises(ValueError, match="Received: interpolation='cubic'"):
        layers.Resizing(2, 2, interpolation="cubic")
    with pytest.raises(ValueError, match="Received: height=0"):
        layers.Resizing(0, 2)
    with pytest.raises(ValueError, match="Only one of"):
        layers.Resizing(2, 2, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True)
    with pytest.raises(ValueError, match=r"Received: inputs.shape=\(4, 4\)"):
        layers.Resizing(2, 2)(np.zeros((4, 4), "float32"))


def test_center_crop():
    x = _images(2, 7, 6, 3)
    run_layer_test(layers.CenterCrop, {"height": 3, "width": 4}, input_data=x, expected_output_shape=(2, 3, 4, 3),
                   expected_output=x[:, 2:5, 1:5], expected_num_trainable_weights=0)
    small = layers.CenterCrop(8, 4)(x).numpy()  # taller than the input: crop to aspect ratio, then resize
    expected = np.stack([_np_resize(img[:, 1:4].astype("float64"), 8, 4, "bilinear") for img in x])  # 7x3 window
    np.testing.assert_allclose(small, expected, rtol=1e-5, atol=1e-3)
    assert layers.CenterCrop(2, 2, name="c").get_config()["data_format"] == "channels_last"


# ---- augmentation --------------------------------------------------------------------------------------------

AUGMENTERS = [
    (layers.RandomFlip, {}),
    (layers.RandomRotation, {"factor": 0.2}),
    (layers.RandomZoom, {"height_factor": 0.3}),
    (layers.RandomTranslation, {"height_factor": 0.2, "width_factor": 0.3}),
    (layers.RandomContrast, {"factor": 0.5}),
]


@pytest.mark.parametrize("cls, kwargs", AUGMENTERS)
def test_augmentation_identity_at_inference_and_seeded(cls, kwargs):
    x = _images(4, 8, 8, 3)
    np.testing.assert_array_equal(cls(**kwargs, seed=1)(x, training=False).numpy(), x)
    a = cls(**kwargs, seed=3)
    b = cls(**kwargs, seed=3)
    out_a, out_b = a(x, training=True), b(x, training=True)
    np.testing.assert_array_equal(out_a.numpy(), out_b.numpy())
    assert not np.array_equal(out_a.numpy(), x), "training=True left every image unchanged"
    assert not np.array_equal(a(x).numpy(), out_a.numpy()), "the random stream did not advance"
    run_layer_test(cls, {**kwargs, "seed": 5}, input_data=x, expected_output_shape=x.shape,
                   expected_num_trainable_weights=0, deterministic=False)
    config = a.get_config()
    assert config["seed"] == 3 and json.loads(json.dumps(config)) == config


@pytest.mark.parametrize("mode, axes", [("horizontal", [1]), ("vertical", [0]), ("horizontal_and_vertical", [0, 1])])
def test_random_flip_flips_exactly(mode, axes):
    x = _images(16, 4, 5, 2)
    out = layers.RandomFlip(mode, seed=0)(x).numpy()
    flipped = [np.array_equal(o, np.flip(img, axes)) for o, img in zip(out, x)]
    kept = [np.array_equal(o, img) for o, img in zip(out, x)]
    assert all(f or k for f, k in zip(flipped, kept)) and any(flipped) and any(kept)
    with pytest.raises(ValueError, match="Received: mode='diagonal'"):
        layers.RandomFlip("diagonal")


@pytest.mark.parametrize("turns, factor", [(1, 0.25), (-1, -0.25), (2, 0.5)])
def test_random_rotation_by_quarter_turns_matches_rot90(turns, factor):
    x = _images(2, 6, 6, 3)
    out = layers.RandomRotation((factor, factor), seed=0)(x).numpy()
    np.testing.assert_allclose(out, np.rot90(x, turns, axes=(1, 2)), atol=1e-3)
    nearest = layers.RandomRotation((factor, factor), interpolation="nearest")(x).numpy()
    np.testing.assert_array_equal(nearest, np.rot90(x, turns, axes=(1, 2)))


def test_random_translation_and_fill_modes():
    x = np.arange(5, dtype="float32").reshape(1, 1, 5, 1)
    expected = {"constant": [9, 9, 0, 1, 2], "nearest": [0, 0, 0, 1, 2], "wrap": [3, 4, 0, 1, 2],
                "reflect": [1, 0, 0, 1, 2]}
    for mode, values in expected.items():
        layer = layers.RandomTranslation(0.0, (0.4, 0.4), fill_mode=mode, fill_value=9.0)
        np.testing.assert_allclose(layer(x)[0, 0, :, 0].numpy(), values, err_msg=mode)
    with pytest.raises(ValueError, match="Received: fill_mode='mirror'"):
        layers.RandomTranslation(0.1, 0.1, fill_mode="mirror")


def test_affine_transform_bilinear_against_numpy():
    image = torch.tensor(_images(1, 1, 5, 6)).double()
    matrix = torch.tensor([[0.9, 0.2, 0.3, -0.1, 1.1, 0.4]], dtype=torch.float64)
    out = affine_transform(image, matrix, "bilinear", "nearest").numpy()[0, 0]
    img = image.numpy()[0, 0]
    for y in range(5):
        for x in range(6):
            sx, sy = 0.9 * x + 0.2 * y + 0.3, -0.1 * x + 1.1 * y + 0.4
            x0, y0 = int(np.floor(sx)), int(np.floor(sy))
            fx, fy = sx - x0, sy - y0

            def px(i, j):
                return img[min(max(j, 0), 4), min(max(i, 0), 5)]

            ref = (px(x0, y0) * (1 - fx) + px(x0 + 1, y0) * fx) * (1 - fy) + \
                  (px(x0, y0 + 1) * (1 - fx) + px(x0 + 1, y0 + 1) * fx) * fy
            np.testing.assert_allclose(out[y, x], ref, rtol=1e-10)
    assert torch.autograd.gradcheck(lambda im: affine_transform(im, matrix, "bilinear", "reflect"),
                                    (image.clone().requires_grad_(True),))


def test_random_zoom_scales_about_the_center():
    x = _images(1, 9, 9, 1)
    out = layers.RandomZoom((-0.5, -0.5), interpolation="nearest")(x).numpy()  # zoom in 2x
    np.testing.assert_array_equal(out[0, 4, 4], x[0, 4, 4])
    np.testing.assert_array_equal(out[0, 4, 6], x[0, 4, 5])
    with pytest.raises(ValueError, match="height_factor"):
        layers.RandomZoom((-1.5, 0.2))


def test_random_contrast_reference():
    x = _images(3, 4, 4, 2)
    layer = layers.RandomContrast((0.5, 0.5), seed=2)
    out = layer(x).numpy()
    mean = x.mean(axis=(1, 2), keepdims=True)
    factors = ((out - mean) / (x - mean)).reshape(3, -1)
    unclipped = (out > 0) & (out < 255)
    for f, keep in zip(factors, unclipped.reshape(3, -1)):
        assert np.ptp(f[keep]) < 1e-3 and 0.5 <= f[keep][0] <= 1.5
    np.testing.assert_array_equal(np.clip(out, 0, 255), out)
    with pytest.raises(ValueError, match="Received: factor=1.5"):
        layers.RandomContrast(1.5)


def test_random_crop_training_and_inference():
    x = _images(2, 8, 9, 1)
    out = layers.RandomCrop(4, 5, seed=1)(x).numpy()
    matches = [(t, left) for t in range(5) for left in range(5) if np.array_equal(out, x[:, t:t + 4, left:left + 5])]
    assert len(matches) == 1, "one crop location for the whole batch"
    inference = layers.RandomCrop(4, 5)(x, training=False).numpy()
    # The largest 4:5 window of an 8x9 image is 7x9, starting at row int((8 - 7) / 2) = 0.
    expected = np.stack([_np_resize(img[0:7].astype("float64"), 4, 5, "bilinear") for img in x])
    np.testing.assert_allclose(inference, expected, rtol=1e-5, atol=1e-3)
    layer, _ = run_layer_test(layers.RandomCrop, {"height": 3, "width": 3, "seed": 0}, input_shape=(2, 6, 6, 2),
                              expected_output_shape=(2, 3, 3, 2), deterministic=False)
    assert layer.get_config()["height"] == 3
