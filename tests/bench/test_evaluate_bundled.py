"""assets/models/evaluate_bundled.py: the cards' quality section and the verdicts it writes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_path = Path(__file__).resolve().parents[2] / "assets" / "models" / "evaluate_bundled.py"
_spec = importlib.util.spec_from_file_location("evaluate_bundled", _path)
ev = sys.modules["evaluate_bundled"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ev)


def _rows(model_128: float, ratio: float, coherence: float = 9.0) -> tuple[dict, dict]:
    baselines = {
        "real crops": {"128": {"swd": 5.0, "coherence": 0.2}},
        "phase randomisation": {"128": {"swd": 31.0, "coherence": 39.0}},
        "image quilting": {"128": {"swd": 26.5, "coherence": 5.7}},
    }
    figures = {"128": {"swd": model_128, "coherence": coherence}, "memorisation": {"64": {"ratio": ratio}},
               "seam_over_interior": 1.02}  # fmt: skip
    return figures, baselines


COHERENCE_NOT_MET = (
    "coherence distance at 128 px 9.0 against image quilting's 5.7 (bar: at or below; SWD alone passes blurred shapes):"
    " NOT met"
)


def test_the_verdicts_read_the_bar_of_issue_22():
    figures, baselines = _rows(31.9, 0.99)
    assert ev.verdicts("stone-texture", figures, baselines) == [
        "SWD at 128 px 31.9 against image quilting's 26.5 (bar: at or below): NOT met",
        COHERENCE_NOT_MET,
        "memorisation ratio at 64 px 0.990 (bar: at least 1): NOT met",
        "seam / interior 1.020 (bar 0.9 to 1.1): met",
    ]
    figures, baselines = _rows(25.0, 1.03, coherence=5.0)
    assert all(v.endswith(": met") for v in ev.verdicts("grass-texture", figures, baselines))
    # A tangle of curled strands with quilting's SWD and coherence: the straight runs see it.
    baselines["image quilting"]["shape"] = {"runs": 0.98}
    tangle = ev.verdicts("grass-texture", {**figures, "shape": {"runs": 0.89}}, baselines)
    assert tangle[2] == (
        "straight runs at 128 px 0.89 of the data's (image quilting's 0.98; bar: within 0.05 of 1, as close as quilting"
        " or 0.05; SWD and coherence pass a tangle of curled strands): NOT met"
    )
    baselines["image quilting"]["shape"] = {"runs": 0.90}  # data whose quilting reads far off: that far
    assert ev.verdicts("rock-material", {**figures, "shape": {"runs": 1.08}}, baselines)[2].endswith(
        "within 0.10 of 1, as close as quilting or 0.05; SWD and coherence pass a tangle of curled strands): met"
    )
    figures["memorisation"]["64"] = {"skipped": "the data repeats itself: 60% of its 64 px crops have an exact copy"}
    assert ev.verdicts("ground-material", figures, baselines)[2] == (
        "memorisation ratio at 64 px: not measured (the data repeats itself: 60% of its 64 px crops have an exact copy)"
    )
    terrain = {"drainage_256": {"crop": 256, "real": {"area_exponent": -0.52}, "model": {"area_exponent": -0.59}}}
    (verdict,) = ev.verdicts("terrain", terrain, baselines)
    assert verdict.startswith("drainage-area exponent on 256 px crops -0.59 against the real crops' -0.52, 13% off")
    assert verdict.endswith("NOT met")
    plain = {"area_exponent": -0.59, "spectral_slope": -4.02, "slope_distance": 5.0}
    terrain["eroded"] = {"erosion": "rivers=5,thermal=1", "real": {"area_exponent": -0.52, "spectral_slope": -4.24},
                         "generated": plain, "eroded": {**plain, "area_exponent": -0.55, "spectral_slope": -4.18}}  # fmt: skip
    drained = ev.verdicts("terrain", terrain, baselines)[1]
    assert drained.startswith(
        "with `--erosion rivers=5,thermal=1` (tileable outputs): drainage-area exponent -0.55 (as generated"
    )
    assert "-0.52, 6% off (bar: within 10 %): met; spectral slope -4.18 (as generated -4.02, real -4.24)" in drained
    assert ev.verdicts("lanham-gravel-baseline", figures, baselines) == [
        "the course's network, measured for comparison: not judged"
    ]


def test_the_card_section_replaces_the_old_one_and_keeps_what_follows(tmp_path):
    card = tmp_path / "stone-texture.md"
    card.write_text("# stone-texture\n\nintro\n" + ev.OLD_SECTION + "\nold figures\n\n## Later\n\nkept\n")
    figures, baselines = _rows(31.9, 0.99)
    section = ev.card_section("stone-texture", figures, baselines, n=256, draws=2)
    ev.write_card_section(card, section)
    text = card.read_text()
    assert "old figures" not in text and ev.OLD_SECTION not in text and "## Later\n\nkept" in text
    assert text.count(ev.SECTION) == 1 and "image quilting" in text and "(--n 256 --draws 2)" in text
    ev.write_card_section(card, section)  # again: still one section, nothing doubled
    assert card.read_text() == text
    assert [p.name for p in tmp_path.iterdir()] == ["stone-texture.md"]  # no temporary left


def test_a_lower_swd_with_blurred_shapes_does_not_pass():
    """The forest floor trained on 64 px crops (docs/models.md) beat quilting's SWD at 128 px
    while its leaves were smeared; its coherence distance said so, and now the verdicts do."""
    figures, baselines = _rows(25.0, 1.03)
    swd, coherence = ev.verdicts("ground-material", figures, baselines)[:2]
    assert swd.endswith(": met") and coherence == COHERENCE_NOT_MET


def test_the_verdicts_are_derived_again_from_the_stored_figures(tmp_path):
    figures, baselines = _rows(25.0, 1.03)
    stored = {"data": "cc0-textures/gravel", "n": 256, "draws": 2, "figures": figures, "baselines": baselines,
              "verdicts": ["an old bar: met"]}  # fmt: skip
    results = {"stone-texture": stored, "lanham-grass-baseline": dict(stored, verdicts=[])}
    card = tmp_path / "stone-texture.md"
    card.write_text("# stone-texture\n\nintro\n" + ev.SECTION + "\n- an old bar: met\n\n## Later\n\nkept\n")
    done = ev.rewrite_verdicts(results, ["stone-texture", "grass-texture", "lanham-grass-baseline"], models=tmp_path)
    assert done == ["stone-texture", "lanham-grass-baseline"]  # grass-texture has no stored figures
    assert results["stone-texture"]["verdicts"][1] == COHERENCE_NOT_MET
    text = card.read_text()
    assert "an old bar" not in text and f"- {COHERENCE_NOT_MET}\n" in text and "## Later\n\nkept" in text
    assert results["lanham-grass-baseline"]["verdicts"] == ["the course's network, measured for comparison: not judged"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stone-texture.md"]  # no card for an unshipped model
