"""A lit preview of a material, rendered in software with numpy: a tiled plane and a sphere.

No OpenGL and no GPU (neither is there offscreen, in CI or over remote desktops), so the same
picture comes out everywhere. Rendering is two steps, so a light that moves costs only the
second: `plane_surface` / `sphere_surface` cast one ray per pixel and sample the maps there (a
`Surface`, which does not depend on the light), then `shade` lights it and `display` tonemaps
and encodes it. `render_plane` and `render_sphere` do both.

Frames. Every direction is given in a surface frame: x to the right of the image, y up the image
(towards row 0, the OpenGL normal-map convention), z out of the surface. The plane lies in that
frame, seen from above (z towards the eye) or tilted away, the eye towards -y. The sphere is
seen along z; its front point faces the eye as the plane seen from above does, so one light
lights both alike. The light comes from `Light.azimuth`, degrees clockwise from up the image
(0 from the top edge, 90 from the right, 315 the top-left of hillshades), at `Light.elevation`
degrees above the surface (90 straight above):
  L = (sin az cos el, cos az cos el, sin el).

Texture coordinates. The plane holds `repeats` x `repeats` copies of the maps (so seams show);
the sphere is UV-mapped, `repeats` copies around and half as many from pole to pole (square
texels at the equator). Its tangent frame comes from the parameterisation
P = (cos t sin p, sin t, cos t cos p) with longitude p (u grows with it) and latitude t (v grows
down the image, so up the image is +t): T = dP/dp / |dP/dp|, B = dP/dt / |dP/dt|, N = P, and a
tangent-space normal n becomes n.x T + n.y B + n.z N. Maps are sampled bilinearly, wrapping, from
the level of a box-filtered pyramid that matches each pixel's footprint (so far or small copies
do not shimmer).

Shading, per pixel, in linear light (the albedo is decoded from sRGB first):
  base      albedo (linear), roughness r (clamped to >= 0.05), metallic m, ambient occlusion ao
  F0        mix(0.04, base, m): 4 % reflectance for dielectrics, the base colour for metals
  direct    a directional light of radiance E, Cook-Torrance with the GGX distribution
            D = a^2 / (pi ((n.h)^2 (a^2 - 1) + 1)^2), a = r^2, Smith-Schlick visibility
            (k = a / 2) and Schlick's Fresnel F = F0 + (1 - F0)(1 - v.h)^5; a Lambert diffuse
            (1 - F)(1 - m) base / pi beside it:
              Lo = (diffuse + D G F / (4 (n.l)(n.v))) E (n.l)
  ambient   a hemisphere: sky radiance A from +z, ground A * GROUND from -z, blended by the
            normal's z; diffuse (1 - m) base hemi(n); specular Schlick-with-roughness
            F0 + (max(1 - r, F0) - F0)(1 - n.v)^5 times the hemisphere seen along the reflected
            ray (blurred towards hemi(n) as roughness grows); the whole ambient term times ao
  display   exposure, the ACES filmic curve (Narkowicz's fit), then sRGB encoding to uint8;
            pixels off the surface take the background colour, edges antialiased by coverage
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from texgen.materials import Material, linear_to_srgb, srgb_to_linear

BACKGROUND = (38, 40, 44)  # sRGB, the app's preview background
GROUND = 0.35  # ground radiance as a share of the sky's
MIN_ROUGHNESS = 0.05  # a perfect mirror's highlight under one directional light is a point
DIELECTRIC_F0 = 0.04

# Channels of the stack that is sampled: linear albedo, unit normal, roughness, ao, metallic.
_ALBEDO, _NORMAL, _ROUGH, _AO, _METAL = slice(0, 3), slice(3, 6), 6, 7, 8


@dataclass(frozen=True)
class Light:
    """The light of the preview (directions as in the module docstring)."""

    azimuth: float = 315.0  # degrees clockwise from up the image
    elevation: float = 45.0  # degrees above the surface
    intensity: float = 3.0  # radiance of the directional light (linear units)
    ambient: float = 0.35  # sky radiance of the hemisphere; 0 = the light alone
    exposure: float = 1.0

    def direction(self) -> np.ndarray:
        az, el = np.radians(self.azimuth), np.radians(self.elevation)
        return np.array([np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)], np.float32)


@dataclass
class Surface:
    """What shading needs at each pixel of a view, independent of the light. H x W arrays."""

    albedo: np.ndarray  # H x W x 3, linear
    normal: np.ndarray  # H x W x 3, unit, surface frame
    view: np.ndarray  # H x W x 3, unit, towards the eye
    roughness: np.ndarray
    ao: np.ndarray
    metallic: np.ndarray
    coverage: np.ndarray  # 0 off the surface .. 1 on it (antialiased edges)


# ---------------------------------------------------------------------------------------------
# Maps to a sampled stack


def material_stack(material: Material, normal_strength: float = 2.0, wrap: bool = True) -> np.ndarray:
    """H x W x 9 float32: linear albedo, unit normal, roughness, AO, metallic (neutral where
    the material lacks a map; its normal derived from its height when it has none)."""
    return np.concatenate(
        [
            srgb_to_linear(material.albedo),
            np.asarray(material.normals(normal_strength, wrap), np.float32),
            np.stack([material.scalar(m) for m in ("roughness", "ao", "metallic")], axis=-1),
        ],
        axis=-1,
    ).astype(np.float32)


def pyramid(stack: np.ndarray, smallest: int = 4) -> list[np.ndarray]:
    """The stack and its 2 x 2 box-filtered halvings while both sides stay even and >= `smallest`."""
    levels = [stack]
    a = stack
    while a.shape[0] % 2 == 0 and a.shape[1] % 2 == 0 and min(a.shape[:2]) // 2 >= smallest:
        a = 0.25 * (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2])
        levels.append(a)
    return levels


def _bilinear(a: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """`a` (h x w x C) at texture coordinates u, v (1 = one copy; v down), wrapping; P x C."""
    h, w = a.shape[:2]
    x = u * w - 0.5
    y = v * h - 0.5
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = (x - x0)[:, None].astype(np.float32), (y - y0)[:, None].astype(np.float32)
    x0 = x0.astype(np.int64) % w
    y0 = y0.astype(np.int64) % h
    x1, y1 = (x0 + 1) % w, (y0 + 1) % h
    top = a[y0, x0] * (1 - fx) + a[y0, x1] * fx
    bottom = a[y1, x0] * (1 - fx) + a[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def sample(levels: list[np.ndarray], u: np.ndarray, v: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """The pyramid at (u, v), each point from the level whose texels match its `footprint`
    (texels of the full-size level per pixel); normals renormalised. P x 9."""
    level = np.clip(np.floor(np.log2(np.maximum(footprint, 1.0))).astype(np.int64), 0, len(levels) - 1)
    out = np.empty((u.size, levels[0].shape[2]), np.float32)
    for k in np.unique(level):
        where = level == k
        out[where] = _bilinear(levels[k], u[where], v[where])
    n = out[:, _NORMAL]
    out[:, _NORMAL] = n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-6)
    return out


def _footprint(u: np.ndarray, v: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Texels (of an h x w map) a pixel spans: the larger screen-space derivative of u, v."""
    h, w = size
    du = [np.abs(np.gradient(u, axis=i)) * w for i in (0, 1)]
    dv = [np.abs(np.gradient(v, axis=i)) * h for i in (0, 1)]
    return np.maximum(np.maximum(du[0], du[1]), np.maximum(dv[0], dv[1]))


def _normalise(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-6)


def _surface(levels, u, v, footprint, frame, view, coverage) -> Surface:
    """Sample the maps where `coverage` > 0; turn tangent normals by `frame` (T, B, N)."""
    h, w = coverage.shape
    on = coverage > 0
    s = sample(levels, u[on], v[on], footprint[on])
    t, b, n = (f[on] if f.ndim == 3 else np.broadcast_to(f, (int(on.sum()), 3)) for f in frame)
    nt = s[:, _NORMAL]
    world = _normalise(nt[:, :1] * t + nt[:, 1:2] * b + nt[:, 2:3] * n)

    def full(values: np.ndarray, fill: float) -> np.ndarray:
        out = np.full((h, w) + values.shape[1:], fill, np.float32)
        out[on] = values
        return out

    return Surface(
        albedo=full(s[:, _ALBEDO], 0.0),
        normal=full(world, 0.0),
        view=full(view[on] if view.ndim == 3 else np.broadcast_to(view, (int(on.sum()), 3)), 0.0),
        roughness=full(s[:, _ROUGH], 1.0),
        ao=full(s[:, _AO], 1.0),
        metallic=full(s[:, _METAL], 0.0),
        coverage=coverage.astype(np.float32),
    )


# ---------------------------------------------------------------------------------------------
# Geometry: one ray per pixel


def plane_surface(
    levels: list[np.ndarray], size: tuple[int, int], *, repeats: int = 2, tilt: float = 0.0, fov: float = 40.0
) -> Surface:
    """The square plane [-1, 1]^2 holding `repeats` x `repeats` copies of the maps.

    tilt 0: seen from straight above, orthographic, filling the picture (every copy is drawn
    alike). tilt > 0 (degrees): the eye swung down towards -y by that angle, in perspective
    with a vertical field of view `fov`, the plane fitted in the picture.
    """
    h, w = size
    if tilt <= 0:
        # Pixel centres across [-1, 1]: x right, y up.
        x = ((np.arange(w, dtype=np.float32) + 0.5) / w * 2 - 1)[None, :].repeat(h, 0)
        y = (1 - (np.arange(h, dtype=np.float32) + 0.5) / h * 2)[:, None].repeat(w, 1)
        view = np.array([0, 0, 1], np.float32)
        coverage = np.ones((h, w), np.float32)
    else:
        x, y, view, coverage = _perspective_plane(size, np.radians(tilt), np.radians(fov))
    u = (x + 1) * 0.5 * repeats
    v = (1 - y) * 0.5 * repeats
    frame = (np.array([1, 0, 0], np.float32), np.array([0, 1, 0], np.float32), np.array([0, 0, 1], np.float32))
    return _surface(levels, u, v, _footprint(u, v, levels[0].shape[:2]), frame, view, coverage)


def _perspective_plane(size: tuple[int, int], tilt: float, fov: float):
    """Where each pixel's ray meets z = 0 (x, y), the direction to the eye, and the coverage
    of the square |x|, |y| <= 1 (its edges antialiased by their screen-space distance)."""
    h, w = size
    back = np.array([0.0, -np.sin(tilt), np.cos(tilt)])  # from the plane's centre to the eye
    right = np.array([1.0, 0.0, 0.0])
    up = np.cross(back, right)  # screen up: along +y, leaning towards +z
    f = np.tan(fov / 2)
    # Far enough that the square's corners fit the picture, its picture centred vertically (the
    # near edge is the wider one).
    corners = np.array([[cx, cy, 0.0] for cx in (-1, 1) for cy in (-1, 1)])
    distance = 1.5
    while True:
        eye = back * distance
        rel = corners - eye
        depth = -(rel @ back)
        cx, cy = rel @ right / depth, rel @ up / depth
        if np.abs(cx).max() <= 0.94 * f * w / h and np.ptp(cy) / 2 <= 0.94 * f:
            break
        distance *= 1.05
    # Rays through pixel centres.
    sx = ((np.arange(w, dtype=np.float32) + 0.5) / w * 2 - 1) * f * w / h
    sy = (1 - (np.arange(h, dtype=np.float32) + 0.5) / h * 2) * f + (cy.max() + cy.min()) / 2
    d = (-back)[None, None, :] + sx[None, :, None] * right + sy[:, None, None] * up
    d = d.astype(np.float32)
    down = -d[..., 2]
    hits = down > 1e-6
    t = np.where(hits, eye[2] / np.where(hits, down, 1.0), 0.0)
    px = eye[0] + t * d[..., 0]
    py = eye[1] + t * d[..., 1]
    view = _normalise(np.stack([eye[0] - px, eye[1] - py, np.full_like(px, eye[2])], axis=-1)).astype(np.float32)
    # Coverage: how far inside the square, in pixels (the derivatives of x and y per pixel).
    inside = []
    for c in (px, py):
        step = np.maximum(np.abs(np.gradient(c, axis=0)) + np.abs(np.gradient(c, axis=1)), 1e-6)
        inside.append(np.clip((1 - np.abs(c)) / step + 0.5, 0, 1))
    coverage = np.where(hits, np.minimum(*inside), 0.0).astype(np.float32)
    return px.astype(np.float32), py.astype(np.float32), view, coverage


def sphere_surface(levels: list[np.ndarray], side: int, *, repeats: int = 4, fill: float = 0.9) -> Surface:
    """A unit sphere seen along z (orthographic), its diameter `fill` of a `side` px square;
    UV-mapped with `repeats` copies around and repeats / 2 from pole to pole."""
    c = (np.arange(side, dtype=np.float32) + 0.5) / side * 2 - 1
    x = c[None, :].repeat(side, 0) / fill
    y = -c[:, None].repeat(side, 1) / fill
    r = np.sqrt(x * x + y * y)
    radius_px = side * fill / 2
    coverage = np.clip((1 - r) * radius_px + 0.5, 0, 1).astype(np.float32)
    # Edge pixels just outside take the rim's normal (their colour is blended by coverage).
    scale = np.where(r > 0.999, 0.999 / np.maximum(r, 1e-6), 1.0)
    x, y = x * scale, y * scale
    z = np.sqrt(np.maximum(1 - x * x - y * y, 0.0))
    lon = np.arctan2(x, z)  # 0 at the front, growing to the right
    lat = np.arcsin(np.clip(y, -1, 1))  # growing up
    u = (lon / (2 * np.pi) + 0.5) * repeats
    v = (0.5 - lat / np.pi) * (repeats / 2)
    n = np.stack([x, y, z], axis=-1)
    t = np.stack([np.cos(lon), np.zeros_like(lon), -np.sin(lon)], axis=-1)
    b = np.stack([-np.sin(lat) * np.sin(lon), np.cos(lat), -np.sin(lat) * np.cos(lon)], axis=-1)
    # Only the front half is seen (|lon| <= pi / 2), so u is continuous over the picture.
    view = np.array([0, 0, 1], np.float32)
    return _surface(levels, u, v, _footprint(u, v, levels[0].shape[:2]), (t, b, n), view, coverage)


# ---------------------------------------------------------------------------------------------
# Light


def _hemisphere(z: np.ndarray, sky: float) -> np.ndarray:
    """Radiance of the sky-and-ground hemisphere seen along directions whose z is `z`."""
    t = np.clip(0.5 + 0.5 * z, 0.0, 1.0)
    return sky * (GROUND + (1 - GROUND) * t)


def shade(s: Surface, light: Light) -> np.ndarray:
    """Linear radiance towards the eye, H x W x 3 (the module docstring's model)."""
    n, v = s.normal, s.view
    l_dir = light.direction()
    base = s.albedo
    m = s.metallic[..., None]
    r = np.clip(s.roughness, MIN_ROUGHNESS, 1.0)[..., None]
    a = r * r
    a2 = a * a
    f0 = DIELECTRIC_F0 * (1 - m) + base * m

    nl = np.clip(n @ l_dir, 0.0, 1.0)[..., None]
    nv = np.clip(np.sum(n * v, axis=-1, keepdims=True), 1e-4, 1.0)
    half = _normalise(v + l_dir)
    nh = np.clip(np.sum(n * half, axis=-1, keepdims=True), 0.0, 1.0)
    vh = np.clip(np.sum(v * half, axis=-1, keepdims=True), 0.0, 1.0)
    d = a2 / (np.pi * (nh * nh * (a2 - 1) + 1) ** 2)
    k = a / 2
    g = (nl / (nl * (1 - k) + k)) * (nv / (nv * (1 - k) + k))
    fresnel = f0 + (1 - f0) * (1 - vh) ** 5
    specular = d * g * fresnel / (4 * np.maximum(nl, 1e-4) * nv)
    diffuse = (1 - fresnel) * (1 - m) * base / np.pi
    direct = (diffuse + specular) * (light.intensity * nl)

    # Ambient: the hemisphere, diffuse by the normal and specular along the reflected ray.
    irradiance = _hemisphere(n[..., 2:3], light.ambient)
    reflected_z = (2 * nv * n - v)[..., 2:3]
    seen = _hemisphere(reflected_z, light.ambient) * (1 - r) + irradiance * r
    f_env = f0 + (np.maximum(1 - r, f0) - f0) * (1 - nv) ** 5
    ambient = ((1 - m) * base * irradiance + f_env * seen) * s.ao[..., None]
    return ((direct + ambient) * (s.coverage > 0)[..., None]).astype(np.float32)


def tonemap(linear: np.ndarray, exposure: float = 1.0) -> np.ndarray:
    """ACES filmic (Narkowicz's fit) of exposed linear radiance, in [0, 1]."""
    x = np.maximum(linear * exposure, 0.0)
    return np.clip((x * (2.51 * x + 0.03)) / (x * (2.43 * x + 0.59) + 0.14), 0.0, 1.0).astype(np.float32)


def encode(linear01: np.ndarray) -> np.ndarray:
    """Linear values in [0, 1] to sRGB uint8."""
    return np.round(linear_to_srgb(linear01) * 255.0).astype(np.uint8)


def display(linear: np.ndarray, coverage: np.ndarray, exposure: float = 1.0, tone: bool = True) -> np.ndarray:
    """H x W x 3 uint8: tonemapped (unless not `tone`), sRGB-encoded, over the background."""
    mapped = tonemap(linear, exposure) if tone else np.clip(linear * exposure, 0.0, 1.0)
    shown = linear_to_srgb(mapped) * 255.0
    cov = coverage[..., None]
    out = shown * cov + np.asarray(BACKGROUND, np.float32) * (1 - cov)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def render_plane(
    material: Material,
    size: tuple[int, int] = (384, 384),
    light: Light = Light(),
    *,
    repeats: int = 2,
    tilt: float = 0.0,
    normal_strength: float = 2.0,
    wrap: bool = True,
) -> np.ndarray:
    """The material on a plane of `repeats` x `repeats` copies, lit: H x W x 3 uint8 (sRGB)."""
    s = plane_surface(pyramid(material_stack(material, normal_strength, wrap)), size, repeats=repeats, tilt=tilt)
    return display(shade(s, light), s.coverage, light.exposure)


def render_sphere(
    material: Material,
    side: int = 384,
    light: Light = Light(),
    *,
    repeats: int = 4,
    normal_strength: float = 2.0,
    wrap: bool = True,
) -> np.ndarray:
    """The material on a sphere, `repeats` copies around, lit: side x side x 3 uint8 (sRGB)."""
    s = sphere_surface(pyramid(material_stack(material, normal_strength, wrap)), side, repeats=repeats)
    return display(shade(s, light), s.coverage, light.exposure)
