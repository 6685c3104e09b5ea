"""texgen.lighting, the software lit preview, against physical oracles: the cosine law, the
ambient occlusion of the ambient term only, normals that turn towards the light, tiling, sRGB."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from texgen import lighting
from texgen.lighting import Light
from texgen.materials import Material, blur, linear_to_srgb, srgb_to_linear

SIZE = 32


def flat(
    albedo=(0.5, 0.5, 0.5),
    *,
    normal=(0.0, 0.0, 1.0),
    roughness: float = 1.0,
    ao: float = 1.0,
    metallic: float = 0.0,
    size: int = SIZE,
) -> Material:
    """A uniform material: every pixel alike (albedo sRGB-encoded, as a model makes it)."""
    n = np.asarray(normal, np.float32)
    return Material(
        albedo=np.broadcast_to(np.asarray(albedo, np.float32), (size, size, 3)).copy(),
        height=np.full((size, size), 0.5, np.float32),
        normal=np.broadcast_to(n / np.linalg.norm(n), (size, size, 3)).copy(),
        roughness=np.full((size, size), roughness, np.float32),
        ao=np.full((size, size), ao, np.float32),
        metallic=np.full((size, size), metallic, np.float32),
    )


def radiance(material: Material, light: Light, size: int = 16) -> np.ndarray:
    """Linear radiance of a plane seen from above (every pixel alike for a uniform material)."""
    s = lighting.plane_surface(lighting.pyramid(lighting.material_stack(material)), (size, size))
    return lighting.shade(s, light)


def test_the_module_needs_no_qt():
    code = "import sys, texgen.lighting; assert not any(m.startswith('PySide6') for m in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_flat_surface_lit_from_straight_above_is_brighter_than_at_a_grazing_angle():
    m = flat()
    above = lighting.render_plane(m, (16, 16), Light(elevation=90))
    grazing = lighting.render_plane(m, (16, 16), Light(elevation=8))
    assert above.mean() > grazing.mean() + 40


@pytest.mark.parametrize("albedo", [0.6, 0.9])
def test_a_flat_rough_dielectric_follows_lamberts_cosine_law(albedo):
    m = flat((albedo,) * 3, roughness=1.0)
    values = {el: radiance(m, Light(elevation=el, ambient=0.0, intensity=1.0)).mean() for el in (15, 30, 60, 90)}
    for el, value in values.items():
        assert value / values[90] == pytest.approx(np.sin(np.radians(el)), rel=0.06), el
    # And its level: a Lambert surface reflects albedo / pi of the irradiance (Fresnel and the
    # rough specular lobe move it by a few percent).
    assert values[90] == pytest.approx(float(srgb_to_linear(albedo)) / np.pi, rel=0.08)
    # Below the horizon the light gives nothing.
    assert radiance(m, Light(elevation=-10, ambient=0.0)).max() == 0.0


def test_ao_scales_the_ambient_term_only():
    dark = Light(intensity=0.0, ambient=0.5)
    open_, half = flat(ao=1.0), flat(ao=0.5)
    np.testing.assert_allclose(radiance(half, dark), 0.5 * radiance(open_, dark), rtol=1e-5)
    # With the light on, AO takes away half of the ambient part and nothing of the direct one.
    lit = Light(elevation=50, intensity=3.0, ambient=0.5)
    np.testing.assert_allclose(
        radiance(open_, lit) - radiance(half, lit), 0.5 * radiance(open_, dark), rtol=1e-4, atol=1e-6
    )
    assert (radiance(half, lit) > 0.5 * radiance(open_, lit)).all()


def test_a_normal_map_tilted_towards_the_light_brightens_and_away_darkens():
    east = Light(azimuth=90, elevation=30, ambient=0.1)  # from the right of the image
    tilt = np.radians(25)
    level = radiance(flat(), east).mean()
    towards = radiance(flat(normal=(np.sin(tilt), 0, np.cos(tilt))), east).mean()
    away = radiance(flat(normal=(-np.sin(tilt), 0, np.cos(tilt))), east).mean()
    assert towards > 1.2 * level and away < 0.8 * level
    # "Up the image" is +y (OpenGL): a normal tilted up faces a light from the top edge.
    north = Light(azimuth=0, elevation=30, ambient=0.1)
    assert radiance(flat(normal=(0, np.sin(tilt), np.cos(tilt))), north).mean() > 1.2 * radiance(flat(), north).mean()


def test_the_plane_seen_from_above_shows_identical_copies_of_a_tileable_material():
    rng = np.random.default_rng(0)
    height = blur(rng.random((64, 64)), 3.0, wrap=True)  # periodic: a tileable map
    height = (height - height.min()) / (height.max() - height.min())
    m = Material(albedo=np.stack([height, 0.6 * height + 0.2, 1 - height], -1).astype(np.float32), height=height)
    img = lighting.render_plane(m, (256, 256), Light(azimuth=30, elevation=40), repeats=2).astype(int)
    quads = [img[:128, :128], img[:128, 128:], img[128:, :128], img[128:, 128:]]
    for q in quads[1:]:
        assert np.abs(q - quads[0]).max() <= 1
    assert img.std() > 10  # and they hold a picture, not a flat colour
    # A 3 x 3 plane at a 3 x 3-divisible size as well; and its copies are the material's own
    # pixels: one copy at one pixel per texel is the material lit.
    one = lighting.render_plane(m, (64, 64), Light(azimuth=30, elevation=40), repeats=1).astype(int)
    assert np.abs(one - quads[0][::2, ::2]).mean() < 6


def test_a_tilted_plane_is_drawn_in_perspective_inside_the_picture():
    m = flat()
    img = lighting.render_plane(m, (120, 160), Light(elevation=60), tilt=50)
    background = np.all(img == lighting.BACKGROUND, axis=-1)
    assert background[0].all() and background[-1].all()  # room above and below
    rows = np.where(~background.all(axis=1))[0]
    widths = [(~background[r]).sum() for r in (rows[2], rows[-3])]
    assert widths[1] > widths[0] * 1.15  # the near edge (the bottom) is wider than the far one


def test_sphere_lit_from_either_side_is_the_mirror_image():
    m = flat((0.7, 0.5, 0.3), roughness=0.6)
    left = lighting.render_sphere(m, 64, Light(azimuth=270, elevation=20)).astype(int)
    right = lighting.render_sphere(m, 64, Light(azimuth=90, elevation=20)).astype(int)
    assert np.abs(left - right[:, ::-1]).max() <= 2
    # The lit side is the light's: brighter on the right when lit from the right.
    assert right[:, 40:].mean() > right[:, :24].mean() + 20
    # Lit from the eye's side the front is brightest, the rim dark.
    front = lighting.render_sphere(m, 64, Light(elevation=90)).mean(axis=-1)
    assert front[32, 32] > front[32, 8] + 30


def test_the_sphere_turns_tangent_normals_with_its_surface():
    # At the front point the tangent frame is the picture's: a normal tilted up the image
    # faces a light from the top, a normal tilted right a light from the right.
    tilt = np.radians(30)
    for normal, light in (((0, np.sin(tilt), np.cos(tilt)), 0), ((np.sin(tilt), 0, np.cos(tilt)), 90)):
        lit = Light(azimuth=light, elevation=20, ambient=0.05)
        bent = lighting.render_sphere(flat(normal=normal), 64, lit).astype(int)
        level = lighting.render_sphere(flat(), 64, lit).astype(int)
        assert bent[28:36, 28:36].mean() > level[28:36, 28:36].mean() + 15


def test_metal_reflects_its_colour_and_a_smooth_surface_a_sharp_highlight():
    gold = (1.0, 0.78, 0.34)
    light = Light(azimuth=315, elevation=45)
    metal = lighting.render_sphere(flat(gold, roughness=0.25, metallic=1.0), 96, light).astype(int)
    paint = lighting.render_sphere(flat(gold, roughness=0.9, metallic=0.0), 96, light).astype(int)
    # A smooth surface: a small bright highlight, so its brightest pixel outshines the rough one's.
    assert metal.sum(-1).max() > paint.sum(-1).max() + 60
    # What the metal reflects is tinted by its colour (F0 = albedo): of the sky as much as of
    # the light. Its brightest pixels saturate to white, the rest keep the gold.
    on = np.any(metal != lighting.BACKGROUND, axis=-1)
    r, g, b = metal[on].mean(axis=0)
    assert r > g > b + 40
    assert not np.array_equal(metal, paint)


def test_srgb_round_trip_and_the_decoded_albedo():
    levels = np.arange(256) / 255.0
    assert np.array_equal(lighting.encode(srgb_to_linear(levels)), np.arange(256))
    # What is lit is the albedo in linear light: decoding a stored sRGB value.
    m = flat((0.5, 0.25, 1.0))
    stack = lighting.material_stack(m)
    np.testing.assert_allclose(linear_to_srgb(stack[..., :3]), m.albedo, atol=1e-5)
    assert stack[0, 0, 0] == pytest.approx(0.214, abs=0.001)  # sRGB 0.5 is 21 % of the light
    # The background stays as it is, edges blend with it by coverage.
    cover = np.array([[0.0, 1.0]], np.float32)
    out = lighting.display(np.full((1, 2, 3), 0.18, np.float32), cover)
    assert tuple(out[0, 0]) == lighting.BACKGROUND and out[0, 1, 0] > out[0, 0, 0]
