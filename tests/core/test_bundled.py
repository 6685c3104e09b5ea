"""The generators shipped in assets/models: each runs in the runtime, says what it makes, carries
data that may be redistributed, and has its model card; assets/ stays under 35 MB (25 MB until the
two colour material models, 4.2 MB each, joined the grey ones)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from texgen.assets import DEFAULT_MODELS
from texgen.model import load_generator
from texgen.sampling import sample
from texgen.seamless import seam_scores

ASSETS = Path(__file__).resolve().parents[2] / "assets"
BUNDLED = sorted(p.stem for p in (ASSETS / "models").glob("*.onnx"))


def test_the_defaults_and_the_issue_s_models_are_shipped():
    assert set(DEFAULT_MODELS) <= set(BUNDLED)
    assert {"stone-texture", "grass-texture", "terrain", "textures-by-kind", "lanham-gravel-baseline"} <= set(BUNDLED)
    size = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file())
    assert size < 35 * 1024 * 1024, f"assets/ is {size / 2**20:.1f} MiB"


@pytest.mark.parametrize("name", BUNDLED)
def test_each_bundled_model_runs_says_what_it_makes_and_has_its_card(name):
    gen = load_generator(ASSETS / "models" / f"{name}.onnx", device="cpu")
    info = gen.info
    assert info.name == name and info.description and info.training_steps > 0
    assert "CC0" in info.data_license or "public domain" in info.data_license  # only data that may be redistributed
    label = info.classes[-1] if info.classes else None
    side = 256 if info.spatial else info.native_height
    (out,) = sample(gen, [7], size=(side, side), label=label)
    assert out.img.shape[:2] == (side, side) and np.isfinite(out.img).all() and out.img.std() > 0.01  # not flat
    if info.tileable:  # the wrap-around scores like the interior lines at the latent cells' phase: no seam
        seam, lines = seam_scores(out.img, period=info.pixels_per_cell)
        assert len(lines) == side // info.pixels_per_cell - 1 and seam < 1.25 * lines.max()
    card = (ASSETS / "models" / f"{name}.md").read_text()
    assert card.startswith(f"# {name}\n") and "## Reproduce" in card and "texgen train --recipe" in card
    # Measured figures at artist scales against classical synthesis (evaluate_bundled.py), and
    # no section of the old bar (SWD at 32 px against the course's network) left beside them.
    assert "## Quality at artist scales (bench/bench_quality.py)" in card and "image quilting" in card
    assert "## Quality bar (assets/models/evaluate_bundled.py)" not in card
