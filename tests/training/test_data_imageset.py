"""ImageSet.batch(): shapes, range, determinism, augmentation, stratified classes; stacked()."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from texgen.errors import RequestError
from trainer.data import ImageSet


def _signed(img: np.ndarray) -> np.ndarray:
    return (img.astype(np.float32) / 127.5 - 1)[None]


@pytest.fixture(scope="module")
def textures() -> ImageSet:
    """Three real CC0 textures of different sizes, one class each."""
    images = [
        _signed(skimage.data.gravel()),
        _signed(skimage.data.brick()[:300, :200]),
        _signed(skimage.data.grass()[:64]),
    ]
    return ImageSet(images, np.array([0, 1, 2]), ("gravel", "brick", "grass"), "test", "CC0")


def test_batch_shapes_range_and_labels(textures):
    batch, labels = textures.batch(np.random.default_rng(0), 16, 48)
    assert batch.shape == (16, 1, 48, 48) and batch.dtype == np.float32
    assert batch.min() >= -1 and batch.max() <= 1 and batch.std() > 0.05
    assert labels.shape == (16,) and labels.dtype == np.int64


def test_each_crop_comes_from_its_labelled_image(textures):
    batch, labels = textures.batch(np.random.default_rng(1), 24, 32, augment=False)
    for crop, label in zip(batch, labels):
        source = textures.images[label][0]
        corners = np.argwhere(source[: source.shape[0] - 31, : source.shape[1] - 31] == crop[0, 0, 0])
        assert any(np.array_equal(source[y : y + 32, x : x + 32], crop[0]) for y, x in corners)


def test_same_rng_state_gives_the_same_batches(textures):
    a = np.random.default_rng(7)
    first = textures.batch(a, 8, 32)
    state = a.bit_generator.state  # what a checkpoint stores
    second = textures.batch(a, 8, 32)
    b = np.random.default_rng(7)
    assert all(np.array_equal(x, y) for x, y in zip(first, textures.batch(b, 8, 32)))
    resumed = np.random.default_rng()
    resumed.bit_generator.state = state
    assert all(np.array_equal(x, y) for x, y in zip(second, textures.batch(resumed, 8, 32)))
    assert not np.array_equal(first[0], second[0])


def test_augment_gives_all_eight_flips_and_quarter_turns():
    img = np.arange(16, dtype=np.float32).reshape(1, 4, 4) / 15 * 2 - 1  # no symmetry at all
    data = ImageSet([img], np.zeros(1), (), "ramp", "none")
    expected = {np.rot90(m, k).tobytes() for m in (img[0], img[0][:, ::-1]) for k in range(4)}
    assert len(expected) == 8
    batch, _ = data.batch(np.random.default_rng(0), 200, 4)
    seen = {crop[0].tobytes() for crop in batch}
    assert seen == expected
    plain, _ = data.batch(np.random.default_rng(0), 50, 4, augment=False)
    assert (plain == img).all()


def test_augment_flips_mirrors_but_never_turns():
    img = np.arange(16, dtype=np.float32).reshape(1, 4, 4) / 15 * 2 - 1
    data = ImageSet([img], np.zeros(1), (), "ramp", "none")
    flips = {m.tobytes() for m in (img[0], img[0][::-1], img[0][:, ::-1], img[0][::-1, ::-1])}
    batch, _ = data.batch(np.random.default_rng(0), 200, 4, augment="flips")
    assert {crop[0].tobytes() for crop in batch} == flips
    for legacy, same in ((True, "all"), (False, "none")):
        a, _ = data.batch(np.random.default_rng(3), 20, 4, augment=legacy)
        b, _ = data.batch(np.random.default_rng(3), 20, 4, augment=same)
        assert np.array_equal(a, b)
    with pytest.raises(RequestError, match="augment 'sideways' is not one of all, flips, none"):
        data.batch(np.random.default_rng(0), 2, 4, augment="sideways")


def test_augment_per_class():
    img = np.arange(16, dtype=np.float32).reshape(1, 4, 4) / 15 * 2 - 1
    flips = {m.tobytes() for m in (img[0], img[0][::-1], img[0][:, ::-1], img[0][::-1, ::-1])}
    turns = {np.rot90(m, k).tobytes() for m in (img[0], img[0][:, ::-1]) for k in range(4)}
    data = ImageSet([img, img.copy()], np.array([0, 1]), ("grass", "brick"), "ramps", "none")
    for augment, want in [
        ("all,brick:flips", {0: turns, 1: flips}),
        ("brick:flips", {0: turns, 1: flips}),
        ("none, grass:ALL", {0: turns, 1: {img[0].tobytes()}}),
        ("grass:none,brick:none", {0: {img[0].tobytes()}, 1: {img[0].tobytes()}}),
    ]:
        batch, labels = data.batch(np.random.default_rng(0), 400, 4, augment=augment)
        for label, expected in want.items():
            assert {crop[0].tobytes() for crop in batch[labels == label]} == expected, augment
    for augment, pattern in [
        ("all,stone:flips", "class\\(es\\) stone that the data set lacks: its classes are grass, brick"),
        ("all,none", "two modes for every class"),
        ("brick:flips,brick:all", "names class 'brick' twice"),
        (":flips", "names no class"),
        ("brick:sideways", ": 'sideways' is not one of all, flips, none"),
    ]:
        with pytest.raises(RequestError, match=pattern):
            data.batch(np.random.default_rng(0), 2, 4, augment=augment)
    one = ImageSet([img], np.zeros(1), (), "ramp", "none")
    with pytest.raises(RequestError, match="it has no classes \\(train with --conditional\\)"):
        one.batch(np.random.default_rng(0), 2, 4, augment="brick:flips")


def test_crop_positions_cover_the_image():
    img = np.linspace(-1, 1, 36, dtype=np.float32).reshape(1, 6, 6)
    data = ImageSet([img], np.zeros(1), (), "ramp", "none")
    batch, _ = data.batch(np.random.default_rng(0), 300, 4, augment=False)
    assert len({float(crop[0, 0, 0]) for crop in batch}) == 9  # 3 x 3 top-left corners


def test_classes_are_stratified_not_proportional():
    images = [np.full((3, 8, 8), v, np.float32) for v in np.linspace(-1, 1, 10)]
    data = ImageSet(images, np.array([0] * 9 + [1]), ("common", "rare"), "x", "none")
    _, labels = data.batch(np.random.default_rng(0), 4000, 8)
    assert abs(np.mean(labels) - 0.5) < 0.03  # proportional picking would give 0.1
    unconditional = ImageSet(images, np.zeros(10), (), "x", "none")
    batch, labels = unconditional.batch(np.random.default_rng(0), 4000, 8)
    assert not labels.any() and abs(np.mean(batch[:, 0, 0, 0] == 1.0) - 0.1) < 0.02


def test_every_crop_position_is_equally_likely_across_image_sizes():
    """A big image holds more crops than a small one and is picked in proportion, within each
    class (the bundled terrain: a 344x403 DEM beside a 91x120 one)."""
    big, small = np.full((1, 40, 40), -1.0, np.float32), np.full((1, 12, 12), 1.0, np.float32)
    data = ImageSet([big, small], np.zeros(2), (), "x", "none")
    batch, _ = data.batch(np.random.default_rng(0), 20000, 8)
    share = 25 / (33 * 33 + 25)  # 5 x 5 positions in the small one, 33 x 33 in the big one
    assert abs(np.mean(batch[:, 0, 0, 0] == 1.0) - share) < 0.005
    mid = np.full((1, 20, 20), 0.0, np.float32)
    classes = ImageSet([big, small, mid], np.array([0, 0, 1]), ("a", "b"), "x", "none")
    batch, labels = classes.batch(np.random.default_rng(1), 20000, 8)
    assert abs(np.mean(labels) - 0.5) < 0.02  # classes stay stratified
    assert (batch[labels == 1, 0, 0, 0] == 0).all()  # the only image of class b
    assert abs(np.mean(batch[labels == 0, 0, 0, 0] == 1.0) - share) < 0.007


def test_stacked_only_when_sizes_match(textures):
    assert textures.stacked() is None
    same = ImageSet([np.zeros((3, 8, 8), np.float32), np.ones((3, 8, 8), np.float32)], np.zeros(2), (), "x", "none")
    stacked = same.stacked()
    assert stacked.shape == (2, 3, 8, 8) and stacked[1].all() and not stacked[0].any()


def test_crop_larger_than_an_image_is_a_request_error(textures):
    with pytest.raises(RequestError, match="crop 65 does not fit the smallest image .64 px.*between 1 and 64"):
        textures.batch(np.random.default_rng(0), 2, 65)


def test_inconsistent_sets_are_rejected():
    with pytest.raises(ValueError, match="labels for"):
        ImageSet([np.zeros((3, 4, 4), np.float32)], np.zeros(2), (), "x", "none")
    with pytest.raises(ValueError, match="channels"):
        ImageSet([np.zeros((3, 4, 4), np.float32), np.zeros((1, 4, 4), np.float32)], np.zeros(2), (), "x", "none")
    with pytest.raises(ValueError, match="classes without images cannot be sampled: b"):
        ImageSet([np.zeros((3, 4, 4), np.float32)], np.array([0]), ("a", "b"), "x", "none")
    with pytest.raises(ValueError, match="labels must lie"):
        ImageSet([np.zeros((3, 4, 4), np.float32)], np.array([1]), (), "x", "none")
