"""CIFAR-100 source: a small archive in the exact official layout, read as the real one would be.

The class lists below are typed in from the official `meta` file (not imported from the code
under test), so a wrong index in trainer/data would fail here. Pixel content encodes the class
and the orientation: red falls from the top row down, blue rises left to right, green = 2 *
fine label; the test split is marked with green 250 so a train/test mix-up shows.
"""

from __future__ import annotations

import hashlib
import pickle
import tarfile

import numpy as np
import pytest

from texgen.errors import RequestError
from trainer.data import describe_spec, open_dataset
from trainer.data import cifar100 as cifar_module
from trainer.data.cifar100_names import COARSE_LABEL_NAMES, FINE_LABEL_NAMES

OFFICIAL_FINE = [
    "apple",
    "aquarium_fish",
    "baby",
    "bear",
    "beaver",
    "bed",
    "bee",
    "beetle",
    "bicycle",
    "bottle",
    "bowl",
    "boy",
    "bridge",
    "bus",
    "butterfly",
    "camel",
    "can",
    "castle",
    "caterpillar",
    "cattle",
    "chair",
    "chimpanzee",
    "clock",
    "cloud",
    "cockroach",
    "couch",
    "crab",
    "crocodile",
    "cup",
    "dinosaur",
    "dolphin",
    "elephant",
    "flatfish",
    "forest",
    "fox",
    "girl",
    "hamster",
    "house",
    "kangaroo",
    "keyboard",
    "lamp",
    "lawn_mower",
    "leopard",
    "lion",
    "lizard",
    "lobster",
    "man",
    "maple_tree",
    "motorcycle",
    "mountain",
    "mouse",
    "mushroom",
    "oak_tree",
    "orange",
    "orchid",
    "otter",
    "palm_tree",
    "pear",
    "pickup_truck",
    "pine_tree",
    "plain",
    "plate",
    "poppy",
    "porcupine",
    "possum",
    "rabbit",
    "raccoon",
    "ray",
    "road",
    "rocket",
    "rose",
    "sea",
    "seal",
    "shark",
    "shrew",
    "skunk",
    "skyscraper",
    "snail",
    "snake",
    "spider",
    "squirrel",
    "streetcar",
    "sunflower",
    "sweet_pepper",
    "table",
    "tank",
    "telephone",
    "television",
    "tiger",
    "tractor",
    "train",
    "trout",
    "tulip",
    "turtle",
    "wardrobe",
    "whale",
    "willow_tree",
    "wolf",
    "woman",
    "worm",
]
OFFICIAL_COARSE = [
    "aquatic_mammals",
    "fish",
    "flowers",
    "food_containers",
    "fruit_and_vegetables",
    "household_electrical_devices",
    "household_furniture",
    "insects",
    "large_carnivores",
    "large_man-made_outdoor_things",
    "large_natural_outdoor_scenes",
    "large_omnivores_and_herbivores",
    "medium_mammals",
    "non-insect_invertebrates",
    "people",
    "reptiles",
    "small_mammals",
    "trees",
    "vehicles_1",
    "vehicles_2",
]
# fine label -> (coarse label, train images in the fixture); the five scenes share coarse 10.
FIXTURE_CLASSES = {23: (10, 3), 33: (10, 5), 49: (10, 4), 60: (10, 3), 71: (10, 2), 0: (4, 3), 47: (17, 2)}


def _image_row(fine: int, green: int | None = None) -> np.ndarray:
    """One 3072-byte CIFAR row: 1024 red, 1024 green, 1024 blue, each 32x32 row-major."""
    y, x = np.mgrid[0:32, 0:32]
    red = 255 - 8 * y  # top row brightest
    green_plane = np.full((32, 32), 2 * fine if green is None else green)
    blue = 8 * x  # left column darkest
    return np.concatenate([red.ravel(), green_plane.ravel(), blue.ravel()]).astype(np.uint8)


def _split(test: bool) -> dict:
    rows, fine, coarse, names = [], [], [], []
    for label, (coarse_label, count) in FIXTURE_CLASSES.items():
        for k in range(1 if test else count):
            rows.append(_image_row(label, green=250 if test else None))
            fine.append(label)
            coarse.append(coarse_label)
            names.append(f"{OFFICIAL_FINE[label]}_s_{k:06d}.png")
    order = np.random.default_rng(3).permutation(len(rows))  # the real file is shuffled too
    return {
        "filenames": [names[i] for i in order],
        "batch_label": "testing batch 1 of 1" if test else "training batch 1 of 1",
        "fine_labels": [fine[i] for i in order],
        "coarse_labels": [coarse[i] for i in order],
        "data": np.stack([rows[i] for i in order]),
    }


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """(the .tar.gz, the extracted cifar-100-python folder) in the official layout."""
    root = tmp_path_factory.mktemp("cifar")
    folder = root / "extracted" / "cifar-100-python"
    folder.mkdir(parents=True)
    members = {
        "meta": {"fine_label_names": OFFICIAL_FINE, "coarse_label_names": OFFICIAL_COARSE},
        "train": _split(test=False),
        "test": _split(test=True),
    }
    for name, value in members.items():
        (folder / name).write_bytes(pickle.dumps(value, protocol=2))
    tgz = root / "cifar-100-python.tar.gz"
    with tarfile.open(tgz, "w:gz") as tar:
        tar.add(folder, arcname="cifar-100-python")
    return tgz, folder


def quiet(_msg: str) -> None:
    pass


def test_official_names_match_the_archive_meta():
    assert FINE_LABEL_NAMES == tuple(OFFICIAL_FINE)
    assert COARSE_LABEL_NAMES == tuple(OFFICIAL_COARSE)
    assert [OFFICIAL_FINE[i] for i in (23, 33, 49, 60, 71)] == ["cloud", "forest", "mountain", "plain", "sea"]
    assert OFFICIAL_COARSE[10] == "large_natural_outdoor_scenes"


def test_forest_by_name_from_targz_keeps_channel_order_and_orientation(archive):
    tgz, _ = archive
    data = open_dataset(f"cifar100:forest@{tgz}", log=quiet)
    assert len(data) == 5 and data.class_names == () and set(data.labels) == {0}
    assert data.description == "CIFAR-100 fine class 33 'forest' (5 train images)"
    assert "Krizhevsky" in data.license
    img = data.images[0]
    assert img.shape == (3, 32, 32) and img.dtype == np.float32
    red, green, blue = img
    np.testing.assert_allclose(red[0], 1.0)  # top row: 255
    np.testing.assert_allclose(red[:, 5], (255 - 8 * np.arange(32)) / 127.5 - 1, atol=1e-6)
    np.testing.assert_allclose(blue[7], 8 * np.arange(32) / 127.5 - 1, atol=1e-6)
    np.testing.assert_allclose(green, 66 / 127.5 - 1, atol=1e-6)  # 2 * 33: only forest, no test image (250)
    assert all(np.allclose(i[1], 66 / 127.5 - 1) for i in data.images)


def test_by_index_from_extracted_folder_equals_targz(archive):
    tgz, folder = archive
    from_tar = open_dataset(f"cifar100:forest@{tgz}", log=quiet)
    for where in (folder, folder.parent):  # the cifar-100-python folder, or the folder holding it
        from_folder = open_dataset(f"cifar100:33@{where}", log=quiet)
        assert from_folder.description == from_tar.description
        np.testing.assert_array_equal(from_folder.stacked(), from_tar.stacked())


def test_several_fine_classes_become_labels_in_spec_order(archive):
    tgz, _ = archive
    data = open_dataset(f"cifar100:sea, Forest ,mountain@{tgz}", classes=True, log=quiet)
    assert data.class_names == ("sea", "forest", "mountain")
    assert len(data) == 2 + 5 + 4
    fine_of_label = {0: 71, 1: 33, 2: 49}
    for img, label in zip(data.images, data.labels):
        assert np.isclose(img[1, 0, 0], 2 * fine_of_label[int(label)] / 127.5 - 1, atol=1e-6)
    pooled = open_dataset(f"cifar100:sea,forest,mountain@{tgz}", log=quiet)
    assert pooled.class_names == () and set(pooled.labels) == {0} and len(pooled) == 11
    assert "fine classes 71 'sea', 33 'forest', 49 'mountain'" in pooled.description


def test_coarse_class_holds_its_five_fine_classes(archive):
    tgz, _ = archive
    data = open_dataset(f"cifar100:large_natural_outdoor_scenes@{tgz}", classes=True, log=quiet)
    assert data.class_names == ("cloud", "forest", "mountain", "plain", "sea")
    assert np.bincount(data.labels).tolist() == [3, 5, 4, 3, 2]
    assert "coarse class 10 'large_natural_outdoor_scenes'" in data.description


def test_grey_and_scale(archive):
    tgz, _ = archive
    data = open_dataset(f"cifar100:forest@{tgz}", channels=1, scale=0.5, crop=16, log=quiet)
    assert data.images[0].shape == (1, 16, 16)
    assert "grey" in data.description and "x0.5" in data.description
    full = open_dataset(f"cifar100:forest@{tgz}", channels=1, log=quiet).images[0]
    r, g, b = 255.0, 66.0, 0.0  # top-left pixel
    assert np.isclose(full[0, 0, 0], (0.2126 * r + 0.7152 * g + 0.0722 * b) / 127.5 - 1, atol=1e-5)


def test_unknown_class_suggests_close_names_and_the_listing(archive):
    with pytest.raises(RequestError, match="forrest.*did you mean forest.*cifar100:list"):
        open_dataset(f"cifar100:forrest@{archive[0]}", log=quiet)
    with pytest.raises(RequestError, match="fine class 100 does not exist.*0-99"):
        open_dataset("cifar100:100", log=quiet)
    with pytest.raises(RequestError, match="33 forest"):
        open_dataset("cifar100:list", log=quiet)
    assert "33 forest" in describe_spec("cifar100:list")


def test_missing_archive_says_where_to_put_it(tmp_path):
    with pytest.raises(RequestError, match=r"CIFAR-100 not found at .*nowhere.*cifar100:forest@PATH"):
        open_dataset(f"cifar100:forest@{tmp_path / 'nowhere.tar.gz'}", log=quiet)
    with pytest.raises(
        RequestError, match=r"CIFAR-100 not found at .*cifar-100-python.tar.gz.*add --set download=true to fetch it"
    ):
        open_dataset("cifar100:forest", cache_dir=tmp_path, log=quiet)


def test_a_file_that_is_no_archive_is_one_line(tmp_path):
    (tmp_path / "bogus.tar.gz").write_bytes(b"not a tar at all")
    with pytest.raises(RequestError) as err:
        open_dataset(f"cifar100:forest@{tmp_path / 'bogus.tar.gz'}", log=quiet)
    assert "(not a tar archive)" in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "cifar-100-python").mkdir()
    (tmp_path / "cifar-100-python" / "train").write_bytes(b"a pickle")
    with pytest.raises(RequestError, match="this is the extracted 'train' file; pass the folder that holds it"):
        open_dataset(f"cifar100:forest@{tmp_path / 'cifar-100-python' / 'train'}", log=quiet)


def test_download_checks_md5_and_leaves_no_partial_file(archive, tmp_path, monkeypatch):
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(archive[0].read_bytes()[:-100])
    cache = tmp_path / "cache"
    monkeypatch.setattr(cifar_module, "CIFAR100_URL", corrupt.as_uri())
    with pytest.raises(RequestError, match="corrupt.*MD5.*eb9058c3a382ffc7106e4002c42a8d85"):
        open_dataset("cifar100:forest", cache_dir=cache, download=True, log=quiet)
    assert list(cache.iterdir()) == []

    monkeypatch.setattr(cifar_module, "CIFAR100_URL", (tmp_path / "offline.tar.gz").as_uri())
    with pytest.raises(RequestError, match="download from .* failed.*cifar100:forest@PATH"):
        open_dataset("cifar100:forest", cache_dir=cache, download=True, log=quiet)
    assert list(cache.iterdir()) == []


def test_download_with_matching_md5_lands_in_cache(archive, tmp_path, monkeypatch):
    tgz = archive[0]
    monkeypatch.setattr(cifar_module, "CIFAR100_URL", tgz.as_uri())
    monkeypatch.setattr(cifar_module, "CIFAR100_MD5", hashlib.md5(tgz.read_bytes()).hexdigest())
    data = open_dataset("cifar100:forest", cache_dir=tmp_path, download=True, log=quiet)
    assert len(data) == 5
    assert [p.name for p in tmp_path.iterdir()] == ["cifar-100-python.tar.gz"]
    assert len(open_dataset("cifar100:cloud", cache_dir=tmp_path, log=quiet)) == 3  # cached, no download


def test_request_errors_for_bad_options(archive):
    tgz = archive[0]
    with pytest.raises(RequestError, match="32x32.*crop 64.*crop of 32 or less"):
        open_dataset(f"cifar100:forest@{tgz}", crop=64, log=quiet)
    with pytest.raises(RequestError, match="at least 2 classes"):
        open_dataset(f"cifar100:forest@{tgz}", classes=True, log=quiet)
    with pytest.raises(RequestError, match="not heightfields"):
        open_dataset(f"cifar100:forest@{tgz}", kind="heightmap", log=quiet)


def test_a_pickle_that_would_run_code_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": Exploit()}, protocol=2))
    (folder / "train").write_bytes(pickle.dumps({}, protocol=2))
    with pytest.raises(RequestError, match=r"refusing to load (__builtin__|builtins)\.print"):
        open_dataset(f"cifar100:forest@{folder}", log=quiet)


def test_describe_spec_for_dry_run(archive):
    text = describe_spec(f"cifar100:forest,sea@{archive[0]}", classes=True)
    assert "fine classes 33 'forest', 71 'sea'" in text and "1000 images" in text and str(archive[0]) in text


def test_describe_spec_checks_where_the_archive_is(tmp_path):
    assert "not there yet: needs the download" in describe_spec("cifar100:forest", cache_dir=tmp_path)
    with pytest.raises(RequestError, match="CIFAR-100 not found at"):
        describe_spec(f"cifar100:forest@{tmp_path / 'none.tar.gz'}")


def test_a_train_pickle_with_the_wrong_layout_is_refused(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    (folder / "meta").write_bytes(pickle.dumps({"fine_label_names": OFFICIAL_FINE}, protocol=2))
    train = {"data": np.zeros((2, 1024), np.uint8), "fine_labels": [33, 33], "coarse_labels": [10, 10]}
    (folder / "train").write_bytes(pickle.dumps(train, protocol=2))
    with pytest.raises(RequestError, match=r"not laid out as CIFAR-100 \(data \(2, 1024\)"):
        open_dataset(f"cifar100:forest@{folder}", log=quiet)
