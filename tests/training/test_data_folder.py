"""Image-folder source on real CC0 textures from scikit-image (gravel, brick, grass, coffee)."""

from __future__ import annotations

import numpy as np
import pytest
import skimage.data
import tifffile
from PIL import Image

from texgen.errors import RequestError
from trainer.data import describe_spec, open_dataset

REC709 = np.array([0.2126, 0.7152, 0.0722])


class Log(list):
    def __call__(self, msg: str) -> None:
        self.append(msg)


@pytest.fixture(scope="module")
def textures(tmp_path_factory):
    """textures/{brick,grass,gravel}/*.png (8-bit grey) plus a colour photo, a corrupt PNG and text."""
    root = tmp_path_factory.mktemp("textures")
    for name in ("brick", "grass", "gravel"):
        (root / name).mkdir()
        Image.fromarray(getattr(skimage.data, name)()).save(root / name / f"{name}.png")
    (root / "gravel" / "deep").mkdir()
    Image.fromarray(skimage.data.coffee()[:200, :300]).save(root / "gravel" / "deep" / "coffee.png")
    png = (root / "brick" / "brick.png").read_bytes()
    (root / "brick" / "broken.png").write_bytes(png[: len(png) // 2])
    (root / "grass" / "notes.png").write_text("not an image")
    (root / "grass" / ".hidden.png").write_text("macOS resource fork")
    return root


def test_recursive_folder_reads_every_image_and_reports_bad_files(textures):
    log = Log()
    data = open_dataset(str(textures), log=log, crop=64)
    assert len(data) == 4  # brick, grass, gravel, deep/coffee
    assert data.class_names == () and set(data.labels) == {0}
    assert data.license == "unknown (user data)"
    skipped = {p.rsplit("/", 1)[-1] for p, _ in data.skipped}
    assert skipped == {"broken.png", "notes.png"}  # .hidden.png is ignored, not reported
    assert sum(m.startswith("skipped ") for m in log) == 2
    assert any(m.startswith(f"skipped {textures / 'grass' / 'notes.png'}: ") for m in log)
    # sorted by relative path: brick/brick.png, grass/grass.png, gravel/deep/coffee.png, gravel/gravel.png
    gravel = skimage.data.gravel().astype(np.float32) / 127.5 - 1
    np.testing.assert_allclose(data.images[3][0], gravel, atol=1e-6)
    assert data.images[2].shape == (3, 200, 300)


def test_channel_conversion_grey_to_rgb_and_rgb_to_rec709(textures):
    rgb = open_dataset(f"folder:{textures / 'gravel'}", channels=3, log=Log())
    grey = open_dataset(str(textures / "gravel"), channels=1, log=Log())
    gravel_rgb, coffee_rgb = rgb.images[1], rgb.images[0]
    assert np.array_equal(gravel_rgb[0], gravel_rgb[1]) and np.array_equal(gravel_rgb[1], gravel_rgb[2])
    coffee = skimage.data.coffee()[:200, :300].astype(np.float64) / 255
    np.testing.assert_allclose(grey.images[0][0], (coffee @ REC709) * 2 - 1, atol=1e-5)
    np.testing.assert_allclose(coffee_rgb.transpose(1, 2, 0), coffee * 2 - 1, atol=1e-6)


def test_subfolders_are_classes(textures):
    data = open_dataset(str(textures), classes=True, log=Log(), crop=64)
    assert data.class_names == ("brick", "grass", "gravel")
    assert data.labels.tolist() == [0, 1, 2, 2]
    assert "3 classes: brick, grass, gravel" in data.description
    assert "classes from sub-folders: brick, grass, gravel" in describe_spec(str(textures), classes=True)


def test_files_in_root_with_classes_are_named(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.fromarray(skimage.data.brick()).save(tmp_path / "a" / "brick.png")
    Image.fromarray(skimage.data.grass()).save(tmp_path / "b" / "grass.png")
    Image.fromarray(skimage.data.gravel()).save(tmp_path / "stray.png")
    with pytest.raises(RequestError, match="files lie directly in it: stray.png.*sub-folder"):
        open_dataset(str(tmp_path), classes=True, log=Log())


def test_palette_rgba_and_jpeg(tmp_path):
    coffee = skimage.data.coffee()[:128, :160]
    Image.fromarray(coffee).convert("P", palette=Image.ADAPTIVE).save(tmp_path / "a_palette.png")
    rgba = np.dstack([coffee, np.full(coffee.shape[:2], 7, np.uint8)])  # nearly transparent
    Image.fromarray(rgba).save(tmp_path / "b_rgba.webp", lossless=True)
    Image.fromarray(coffee).save(tmp_path / "c_photo.jpg", quality=95)
    Image.fromarray(coffee).save(tmp_path / "d_plain.bmp")
    data = open_dataset(str(tmp_path), log=Log())
    expected_palette = np.asarray(Image.open(tmp_path / "a_palette.png").convert("RGB"))
    np.testing.assert_allclose(data.images[0].transpose(1, 2, 0), expected_palette / 127.5 - 1, atol=1e-6)
    np.testing.assert_allclose(data.images[1].transpose(1, 2, 0), coffee / 127.5 - 1, atol=1e-6)  # alpha dropped
    assert np.abs(data.images[2].transpose(1, 2, 0) - (coffee / 127.5 - 1)).mean() < 0.03  # lossy but close
    np.testing.assert_allclose(data.images[3].transpose(1, 2, 0), coffee / 127.5 - 1, atol=1e-6)


def test_16bit_png_and_tiff_keep_their_precision(tmp_path):
    # Neighbouring values 1/65535 apart: an 8-bit path would merge every 257 of them.
    ramp = (30000 + np.arange(64 * 64)).reshape(64, 64).astype(np.uint16)
    Image.fromarray(ramp).save(tmp_path / "grey16.png")
    tifffile.imwrite(tmp_path / "grey16.tif", ramp)
    colour = np.stack([ramp, ramp[::-1], ramp.T], axis=2)
    tifffile.imwrite(tmp_path / "rgb16.tif", colour, photometric="rgb")
    data = open_dataset(str(tmp_path), channels=1, crop=64, log=Log())
    for img in data.images[:2]:
        values = np.unique(img)
        assert len(values) == 64 * 64
        np.testing.assert_allclose(np.diff(values), 2 / 65535, rtol=1e-2)
        np.testing.assert_allclose(img[0], ramp / 65535 * 2 - 1, atol=1e-6)
    rgb = open_dataset(str(tmp_path / "rgb16.tif"), channels=3, log=Log()).images[0]
    np.testing.assert_allclose(rgb.transpose(1, 2, 0), colour / 65535 * 2 - 1, atol=1e-6)


def test_16bit_colour_png_from_another_encoder():
    # skimage's chessboard_RGB.png is a 16-bit RGB PNG; Pillow alone keeps only its high byte.
    path = skimage.data.data_dir + "/chessboard_RGB.png"
    img = open_dataset(path, channels=3, log=Log()).images[0]
    values16 = np.round((img.transpose(1, 2, 0) + 1) / 2 * 65535).astype(np.int64)
    assert np.array_equal(values16 >> 8, np.asarray(Image.open(path)))
    assert (values16 & 0xFF).any()  # the low byte is really there


def test_scale_downsizes_once_with_lanczos(textures):
    data = open_dataset(str(textures / "gravel" / "gravel.png"), channels=1, scale=0.5, log=Log())
    assert data.images[0].shape == (1, 256, 256)
    pillow = np.asarray(Image.fromarray(skimage.data.gravel()).resize((256, 256), Image.LANCZOS)) / 127.5 - 1
    levels = np.abs(data.images[0][0] - pillow) * 127.5  # in 8-bit steps; Pillow's 8-bit path rounds, ours does not
    assert levels.mean() < 0.5 and levels.max() < 2
    assert "scaled x0.5" in data.description


def test_too_small_images_are_skipped_or_refused(tmp_path):
    Image.fromarray(skimage.data.gravel()).save(tmp_path / "big.png")
    Image.fromarray(skimage.data.brick()[:40, :90]).save(tmp_path / "small.png")
    log = Log()
    data = open_dataset(str(tmp_path), crop=64, log=log)
    assert len(data) == 1 and data.skipped == [
        (str(tmp_path / "small.png"), "90x40 after scale 1 is smaller than the crop 64")
    ]
    with pytest.raises(
        RequestError, match="smaller than the crop 600.*smallest side 40 px, largest 512 px.*at most 512"
    ):
        open_dataset(str(tmp_path), crop=600, log=Log())
    with pytest.raises(RequestError, match="crop 129 .*at most 128"):
        open_dataset(str(tmp_path), crop=129, scale=0.25, log=Log())


def test_empty_missing_and_unreadable_folders(tmp_path):
    with pytest.raises(RequestError, match="no texture files in .*put images"):
        open_dataset(str(tmp_path), log=Log())
    with pytest.raises(RequestError, match="no such file or folder.*cifar100:CLASS"):
        open_dataset(str(tmp_path / "missing"), log=Log())
    with pytest.raises(RequestError, match="no such file or folder"):
        describe_spec(str(tmp_path / "missing"))
    (tmp_path / "a.png").write_text("text")
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(RequestError, match="none of the 2 files .* could be read"):
        open_dataset(str(tmp_path), log=Log())


def test_licence_file_beside_the_images(tmp_path):
    Image.fromarray(skimage.data.gravel()).save(tmp_path / "gravel.png")
    (tmp_path / "LICENSE.txt").write_text("\nCC0 1.0 Universal\nmore text\n")
    assert open_dataset(str(tmp_path), log=Log()).license == "CC0 1.0 Universal (from LICENSE.txt)"


def test_class_folders_lend_their_licence_when_the_top_has_none(tmp_path):
    for name in ("brick", "gravel"):
        (tmp_path / name).mkdir()
        Image.fromarray(getattr(skimage.data, name)()).save(tmp_path / name / f"{name}.png")
        (tmp_path / name / "LICENSE").write_text("CC0 1.0 Universal\n")
    assert open_dataset(str(tmp_path), classes=True, log=Log()).license == "CC0 1.0 Universal (from LICENSE)"
    (tmp_path / "gravel" / "LICENSE").write_text("CC-BY 4.0, credit Jane\n")
    assert (
        open_dataset(str(tmp_path), classes=True, log=Log()).license
        == "brick: CC0 1.0 Universal (from LICENSE); gravel: CC-BY 4.0, credit Jane (from LICENSE)"
    )
    (tmp_path / "gravel" / "LICENSE").unlink()
    assert "gravel: unknown (user data)" in open_dataset(str(tmp_path), classes=True, log=Log()).license
    (tmp_path / "LICENSE.md").write_text("Proprietary, studio use only\n")
    assert (
        open_dataset(str(tmp_path), classes=True, log=Log()).license == "Proprietary, studio use only (from LICENSE.md)"
    )
    assert open_dataset(str(tmp_path / "brick"), log=Log()).license == "CC0 1.0 Universal (from LICENSE)"


def test_sub_folders_lend_their_licence_to_an_unconditional_read(tmp_path):
    for name in ("brick", "gravel"):
        (tmp_path / name).mkdir()
        Image.fromarray(getattr(skimage.data, name)()).save(tmp_path / name / f"{name}.png")
        (tmp_path / name / "LICENSE").write_text("CC0 1.0 Universal\n")
    (tmp_path / "notes").mkdir()  # no images: its (missing) licence does not matter
    assert open_dataset(str(tmp_path), log=Log()).license == "CC0 1.0 Universal (from LICENSE)"
    (tmp_path / "gravel" / "LICENSE").unlink()
    assert open_dataset(str(tmp_path), log=Log()).license == (
        "brick: CC0 1.0 Universal (from LICENSE); gravel: unknown (user data)"
    )
    (tmp_path / "gravel" / "LICENSE").write_text("CC0 1.0 Universal\n")
    Image.fromarray(skimage.data.grass()).save(tmp_path / "grass.png")  # a loose image, no licence of its own
    assert open_dataset(str(tmp_path), log=Log()).license == "unknown (user data)"


def test_bad_options_are_request_errors(textures):
    for kwargs, pattern in [
        ({"channels": 4}, "4 channels"),
        ({"crop": 0}, "crop 0"),
        ({"scale": 0}, "scale 0"),
        ({"kind": "normal"}, "unknown kind"),
    ]:
        with pytest.raises(RequestError, match=pattern):
            open_dataset(str(textures), log=Log(), **kwargs)


def test_symlinked_folders_gifs_and_hidden_files_count_as_a_user_would_expect(tmp_path):
    """A symlinked sub-folder is read (as a symlinked class folder already was), once even when
    links loop; GIFs are images; a macOS '._x.png' beside the class folders is not a loose image."""
    import os  # noqa: PLC0415

    rng = np.random.default_rng(0)

    def save(path, mode="RGB"):
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).convert(mode).save(path)

    save(tmp_path / "set" / "own.png")
    save(tmp_path / "elsewhere" / "a.png")
    save(tmp_path / "elsewhere" / "b.gif", "P")
    os.symlink(tmp_path / "elsewhere", tmp_path / "set" / "linked")
    os.symlink(tmp_path / "set", tmp_path / "set" / "loop")  # a link back up: walked once
    ds = open_dataset(str(tmp_path / "set"), crop=32, log=lambda m: None)
    assert len(ds.images) == 3
    assert describe_spec(str(tmp_path / "set")).startswith("3 texture files")
    save(tmp_path / "classes" / "stone" / "s.png")
    save(tmp_path / "classes" / "wood" / "w.gif", "P")
    (tmp_path / "classes" / "._stone.png").write_bytes(b"\x00\x05\x16\x07 resource fork")
    ds = open_dataset(str(tmp_path / "classes"), crop=32, classes=True, log=lambda m: None)
    assert ds.class_names == ("stone", "wood") and len(ds.images) == 2


def test_a_heightfield_file_for_a_texture_and_an_empty_folder_spec_are_refused_with_the_fix(tmp_path):
    np.save(tmp_path / "dem.npy", np.zeros((40, 40), np.float32))
    for call in (
        lambda: open_dataset(str(tmp_path / "dem.npy"), crop=32),
        lambda: describe_spec(str(tmp_path / "dem.npy")),
    ):
        with pytest.raises(RequestError, match="is a heightfield file, not a texture image. add --kind heightmap"):
            call()
    with pytest.raises(RequestError, match="folder: needs a path"):
        describe_spec("folder:")  # was the current folder


def test_planar_16bit_colour_tiff_keeps_its_samples(tmp_path):
    """A 'per channel' (planar) 16-bit RGB TIFF, which Pillow cannot open, is read by tifffile."""
    rgb = np.random.default_rng(1).integers(0, 65536, (40, 48, 3)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "planar.tif", rgb, photometric="rgb", planarconfig="separate")
    (img,) = open_dataset(str(tmp_path / "planar.tif"), crop=32, channels=3, log=lambda m: None).images
    np.testing.assert_allclose((img.transpose(1, 2, 0) + 1) / 2 * 65535, rgb, atol=0.05)


def test_an_image_past_pillows_bomb_guard_is_read(tmp_path, monkeypatch):
    """Pillow refuses images past 2 x MAX_IMAGE_PIXELS (179 M px by default) as decompression
    bombs; a user's own 13,500 px terrain scan is data, not an attack. Shrunk here: the limit
    is lowered so that a small image stands in for a big one."""
    from PIL import Image as PILImage  # noqa: PLC0415

    from trainer.data import imagefile  # noqa: PLC0415

    save = np.random.default_rng(2).integers(0, 255, (60, 60), dtype=np.uint8)
    PILImage.fromarray(save).save(tmp_path / "big.png")
    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 100)  # Pillow's own guard would refuse 3,600 px
    assert open_dataset(str(tmp_path / "big.png"), crop=32, channels=1, log=lambda m: None).images[0].shape == (
        1,
        60,
        60,
    )
    assert PILImage.MAX_IMAGE_PIXELS == 100  # put back as it was
    heights = open_dataset(str(tmp_path / "big.png"), crop=32, kind="heightmap", log=lambda m: None).images[0]
    assert heights.shape == (1, 60, 60) and PILImage.MAX_IMAGE_PIXELS == 100  # the GeoTIFF tag read too
    monkeypatch.setattr(imagefile, "MAX_PIXELS", 1000)  # past the trainer's own limit: said, with the fix
    with pytest.raises(RequestError, match=r"60x60 is more pixels than the trainer reads \(1,000\); downscale it"):
        open_dataset(str(tmp_path / "big.png"), crop=32, channels=1, log=lambda m: None)


def test_float_values_outside_0_1_and_colour_heightmaps_are_said(tmp_path):
    """A float TIFF texture past 0-1 was clipped to near white in silence, and a colour image
    read as a heightmap lost its colour in silence: both are logged, with what to do."""
    tifffile.imwrite(tmp_path / "bright.tif", (np.random.default_rng(0).random((40, 40)) * 3).astype(np.float32))
    log = Log()
    open_dataset(str(tmp_path / "bright.tif"), crop=32, channels=1, log=log)
    assert any("lie outside 0-1 and are clipped" in m and "bright.tif" in m for m in log)
    Image.fromarray(np.random.default_rng(1).integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "c.png")
    log = Log()
    open_dataset(str(tmp_path / "c.png"), crop=32, kind="heightmap", log=log)
    assert any("a colour image, read as a heightmap by its luminance" in m for m in log)
    Image.fromarray(np.full((40, 40, 3), 90, np.uint8)).save(tmp_path / "g.png")  # grey stored as RGB: nothing to say
    log = Log()
    open_dataset(str(tmp_path / "g.png"), crop=32, kind="heightmap", log=log)
    assert not any("colour image" in m for m in log)


def test_transparent_pixels_are_said_not_dropped_in_silence(tmp_path):
    """The generators make opaque textures, so a cut-out's alpha cannot be learned: the colour
    under its transparent pixels is trained as it is, and the log says so, with the share."""
    rng = np.random.default_rng(3)
    rgba = rng.integers(0, 255, (40, 40, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    rgba[:10, :, 3] = 0  # a quarter cut out
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cut.png")
    grey = np.stack([rgba[..., 0], rgba[..., 3]], axis=-1)
    Image.fromarray(grey, "LA").save(tmp_path / "cut-grey.png")
    rgba16 = rgba.astype(np.uint16) * 257  # a 16-bit colour file goes through tifffile
    tifffile.imwrite(tmp_path / "cut16.tif", rgba16, photometric="rgb", extrasamples=["unassalpha"])
    for name, channels in [("cut.png", 3), ("cut-grey.png", 1), ("cut16.tif", 3)]:
        log = Log()
        (img,) = open_dataset(str(tmp_path / name), crop=32, channels=channels, log=log).images
        assert [m for m in log if "transparent" in m] == [
            f"{tmp_path / name}: 25.0% of its pixels are transparent, and the colour under them is trained "
            "as it is (flatten it onto a background, or crop it to its opaque part)"
        ], name
        assert img.shape == (channels, 40, 40)
    opaque = rgba.copy()
    opaque[..., 3] = 255  # an alpha channel with nothing transparent: nothing to say
    Image.fromarray(opaque, "RGBA").save(tmp_path / "opaque.png")
    log = Log()
    open_dataset(str(tmp_path / "opaque.png"), crop=32, channels=3, log=log)
    assert not any("transparent" in m for m in log)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_16_bit_colour_photo_is_turned_upright_like_an_8_bit_one(tmp_path, orientation):
    """Pillow turns 8-bit photos by their EXIF orientation; a 16-bit colour file, read by
    tifffile for its full precision, was trained sideways. Both now stand the same way up."""
    rgb16 = np.random.default_rng(orientation).integers(0, 65535, (40, 56, 3), dtype=np.uint16)
    tag = [(274, "H", 1, orientation, False)]  # TIFF/EXIF Orientation
    tifffile.imwrite(tmp_path / "deep.tif", rgb16, photometric="rgb", extratags=tag)
    tifffile.imwrite(tmp_path / "flat.tif", (rgb16 >> 8).astype(np.uint8), photometric="rgb", extratags=tag)
    (deep,) = open_dataset(str(tmp_path / "deep.tif"), crop=32, channels=3, log=lambda m: None).images
    (flat,) = open_dataset(str(tmp_path / "flat.tif"), crop=32, channels=3, log=lambda m: None).images
    assert deep.shape == flat.shape == ((3, 56, 40) if orientation >= 5 else (3, 40, 56))
    np.testing.assert_allclose(deep, flat, atol=2 / 255)  # the low byte apart


def test_a_data_set_larger_than_free_memory_is_refused_before_loading_with_a_scale_that_fits(tmp_path, monkeypatch):
    """The whole data set is held as float32: a folder of big photos could ask for more than
    the machine has, and was decoded one by one until the system killed the run. The sizes
    come from the headers first (EXIF-turned photos and heightfields too), and the refusal
    offers a scale that fits."""
    from trainer.data import memory  # noqa: PLC0415

    rng = np.random.default_rng(4)
    (tmp_path / "tex").mkdir()
    Image.fromarray(skimage.data.gravel()[:300, :200]).save(tmp_path / "tex" / "a.png")
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: read as 130 x 90
    Image.fromarray(rng.integers(0, 255, (90, 130, 3), dtype=np.uint8)).save(tmp_path / "tex" / "b.jpg", exif=exif)
    tifffile.imwrite(
        tmp_path / "tex" / "c.tif", rng.integers(0, 65535, (70, 110, 3), dtype=np.uint16), photometric="rgb"
    )
    data = open_dataset(str(tmp_path / "tex"), crop=32, channels=3, scale=0.5, log=lambda m: None)
    files = sorted((tmp_path / "tex").iterdir())
    assert memory.data_bytes(files, "texture", 3, 0.5) == sum(img.nbytes for img in data.images)
    (tmp_path / "dem").mkdir()
    np.save(tmp_path / "dem" / "d.npy", rng.random((1, 65, 80)))
    (tmp_path / "dem" / "e.r16").write_bytes(rng.integers(0, 65535, (33, 33), dtype="<u2").tobytes())
    heights = open_dataset(str(tmp_path / "dem"), crop=32, kind="heightmap", log=lambda m: None)
    files = sorted((tmp_path / "dem").iterdir())
    assert memory.data_bytes(files, "heightmap", 3, 1.0) == sum(img.nbytes for img in heights.images)

    need = memory.data_bytes(sorted((tmp_path / "tex").iterdir()), "texture", 3, 1.0)
    monkeypatch.setattr(memory, "available_memory", lambda: int(need / memory.SHARE_OF_FREE / 3))  # a third fits
    with pytest.raises(RequestError) as err:
        open_dataset(str(tmp_path / "tex"), crop=32, channels=3, log=lambda m: None)
    assert err.value.problem == (
        f"the 3 texture files in {tmp_path / 'tex'} take {need / 2**20:.1f} MiB of memory as training "
        f"data (float32 at scale 1), more than this machine can hold with {need / 0.6 / 3 / 2**20:.1f} MiB free"
    )
    assert err.value.fix.startswith("downscale them with --set scale=0.55 (about ")
    open_dataset(str(tmp_path / "tex"), crop=32, channels=3, scale=0.55, log=lambda m: None)  # and it does fit
    monkeypatch.setattr(memory, "available_memory", lambda: None)  # cannot be told: not checked
    open_dataset(str(tmp_path / "tex"), crop=32, channels=3, log=lambda m: None)


def test_free_memory_counts_a_container_limit_and_each_torchrun_process(tmp_path, monkeypatch):
    """/proc/meminfo's MemAvailable ignores a container's or a Slurm job's cgroup limit, and each
    process torchrun starts holds its own copy of the data."""
    from trainer.data import memory  # noqa: PLC0415

    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "memory.max").write_text("1073741824\n")
    (v2 / "memory.current").write_text("73741824\n")
    assert memory._cgroup_room(v2) == 1_000_000_000
    (v2 / "memory.max").write_text("max\n")
    assert memory._cgroup_room(v2) is None
    v1 = tmp_path / "v1" / "memory"
    v1.mkdir(parents=True)
    (v1 / "memory.limit_in_bytes").write_text("2147483648\n")
    (v1 / "memory.usage_in_bytes").write_text("147483648\n")
    assert memory._cgroup_room(tmp_path / "v1") == 2_000_000_000
    (v1 / "memory.limit_in_bytes").write_text("9223372036854771712\n")  # v1's "no limit"
    assert memory._cgroup_room(tmp_path / "v1") is None
    # Slurm: the job's limit sits above the step and task groups the process runs in.
    slurm = tmp_path / "slurm"
    task = slurm / "job_7" / "step_0" / "user" / "task_0"
    task.mkdir(parents=True)
    for folder, limit, used in (
        (task, "max", 10),
        (slurm / "job_7" / "step_0", "max", 10),
        (slurm / "job_7", str(8 << 30), 1 << 30),
    ):
        (folder / "memory.max").write_text(limit + "\n")
        (folder / "memory.current").write_text(f"{used}\n")
    proc = tmp_path / "cgroup"
    proc.write_text("0::/job_7/step_0/user/task_0\n")
    assert memory._cgroup_room(slurm, proc) == 7 << 30

    (tmp_path / "tex").mkdir()
    Image.fromarray(skimage.data.gravel()[:100, :100]).save(tmp_path / "tex" / "a.png")
    need = 100 * 100 * 3 * 4
    monkeypatch.setattr(memory, "available_memory", lambda: int(need / memory.SHARE_OF_FREE * 1.5))
    open_dataset(str(tmp_path / "tex"), crop=32, channels=3, log=lambda m: None)  # one process: fits
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")  # two copies do not
    with pytest.raises(RequestError, match=r"\(float32 at scale 1, once for each of the 2 processes on this machine\)"):
        open_dataset(str(tmp_path / "tex"), crop=32, channels=3, log=lambda m: None)


def test_the_memory_check_reads_headers_only(tmp_path, monkeypatch):
    """Pillow's getexif() decodes a whole PNG that has no eXIf chunk before its pixels: the
    'header only' size check decoded every image of the folder. A file the loader skips for its
    size (over MAX_PIXELS) is not counted."""
    from PIL import Image as PILImage  # noqa: PLC0415

    from trainer.data import memory  # noqa: PLC0415

    Image.fromarray(skimage.data.gravel()[:120, :90]).save(tmp_path / "a.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(skimage.data.gravel()[:120, :90]).save(tmp_path / "b.png", exif=exif)  # eXIf before the pixels

    def no_decoding(self):
        raise AssertionError(f"decoded {self.filename}")

    monkeypatch.setattr(PILImage.Image, "load", no_decoding)
    monkeypatch.setattr(memory.Image.Image, "load", no_decoding)
    from PIL import PngImagePlugin  # noqa: PLC0415

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", no_decoding, raising=False)
    assert memory.loaded_shape(tmp_path / "a.png", "texture") == (120, 90)
    assert memory.loaded_shape(tmp_path / "b.png", "texture") == (90, 120)  # turned a quarter
    monkeypatch.setattr(memory, "MAX_PIXELS", 100 * 100)
    assert memory.loaded_shape(tmp_path / "a.png", "texture") is None
