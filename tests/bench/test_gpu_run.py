"""bench/gpu_run.sh --smoke: the whole GPU job on the CPU with tiny budgets, so a script bug is
found here and never on a lent GPU's few minutes."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_the_smoke_run_measures_every_stage_and_writes_at_most_eight_files(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "OUT": str(out)}
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_run.sh"), "--smoke", "--work", str(tmp_path / "work")],
                          env=env, capture_output=True, text=True, timeout=400)  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    files = sorted(p.name for p in out.iterdir())
    assert files == ["contact-sheet.png", "report.json"]  # a smoke run never returns a model
    report = json.loads((out / "report.json").read_text())
    assert all(s["status"] == "ok" for s in report["stages"].values()), report["stages"]
    assert {"info", "data", "tests", "speed", "course", "erosion", "train", "quality", "choose", "sheet"} <= set(
        report["stages"]
    )
    assert report["versions"]["torch"] and report["versions"]["onnxruntime"]
    # The CUDA tests ran (and skipped here: no GPU), each with its result.
    cases = report["tests"]["cases"]
    assert cases and {c["result"] for c in cases} <= {"passed", "skipped"}
    assert report["tests"]["counts"]["skipped"] == (len(cases) if not _cuda() else 0)
    for loop in ("lanham-wgan-32", "wgan-gp", "foster-dcgan-64"):
        speed = report["speed"][loop]
        assert speed["ours_it_per_s"] > 0 and speed["plain_it_per_s"] > 0 and 0 < speed["ours_peak_share"]
    course = report["course"]
    assert course["seconds"] > 0 and course["iterations"] == 3 and course["completed"]
    (erosion,) = report["erosion"]["droplets"]  # the graphs of the GPU's erosion, here on the CPU
    assert erosion["side"] == 128 and erosion["graph_s"] > 0 and erosion["numpy_s"] > 0
    assert abs(erosion["mean_change_graph"] / erosion["mean_change_numpy"] - 1) < 0.05
    # Every default recipe trained and was measured at the crop sizes it makes, beside the
    # shipped file; the shipped baselines were measured too (a 32 px model at 32 px only).
    models = report["models"]
    assert set(models) == {"stone-texture", "grass-texture", "terrain", "textures-by-kind"}
    for name, m in models.items():
        assert set(m["variants"]) == ({"cpu-recipe", "wide-critic"} if name == "terrain" else {"cpu-recipe"})
        for variant in m["variants"].values():
            assert variant["steps"] >= 1 and variant["mean_swd"] > 0, (name, variant)
        assert m["beats_shipped"] in (True, False)
    stone = models["stone-texture"]
    assert {"32", "64", "128"} <= set(stone["shipped"]["quality"]) and stone["shipped"]["mean_swd"] > 0
    baseline = report["shipped_only"]["lanham-gravel-baseline"]["quality"]
    assert baseline["32"]["swd"] > 0 and "swd" not in baseline["64"]
    # The export path ran for every product model (into the work folder: a smoke run returns none).
    for name in ("stone-texture", "grass-texture", "terrain", "textures-by-kind"):
        assert Path(models[name]["export_checked"]).is_file() and "# " in models[name]["card"]
    assert report["baselines"]["stone-texture"]["phase randomisation"]["128"]["swd"] > 0
    assert "stages failed: none" in report["verdict"]


def test_a_recipe_or_stage_it_does_not_know_is_refused_before_anything_runs(tmp_path):
    env = {**os.environ, "OUT": str(tmp_path / "out")}
    for args, says in (
        (["--recipes", "stone-texture--fast"], "unknown recipe stone-texture--fast"),
        (["--skip", "train"], "--skip takes course, erosion, speed, tests"),
    ):
        proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_run.sh"), "--smoke", *args], env=env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert proc.returncode != 0 and says in proc.stderr, proc.stderr
        assert not (tmp_path / "out" / "report.json").exists()


def test_without_an_output_folder_it_says_so_and_writes_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "OUT"}
    proc = subprocess.run(["bash", str(ROOT / "bench" / "gpu_run.sh"), "--smoke"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and "set OUT" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def _gpu_run():
    """bench/gpu_run.py as a module (registered first: its dataclasses look their module up)."""
    spec = importlib.util.spec_from_file_location("gpu_run", ROOT / "bench" / "gpu_run.py")
    gr = sys.modules["gpu_run"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gr)
    return gr


def _cuda() -> bool:
    return (
        subprocess.run([sys.executable, "-c", "import torch, sys; sys.exit(not torch.cuda.is_available())"]).returncode
        == 0
    )


def test_a_new_file_beats_the_shipped_one_only_if_no_worse_on_the_shape_figures():
    gr = _gpu_run()
    shape = {"components": 0.18, "peaks": 0.4, "runs": 0.99}
    shipped = gr.means({"128": {"swd": 36.0, "coherence": 9.0}, "shape": shape})
    assert shipped == {"mean_swd": 36.0, "mean_coherence": 9.0, "components": 0.18, "peaks": 0.4,
                       "runs_gap": pytest.approx(0.01), "drainage_gap": None}  # fmt: skip
    better = {"mean_swd": 33.0, "mean_coherence": 8.0, "components": 0.19, "peaks": 0.5, "runs_gap": 0.02}
    assert gr.beats(better, shipped)
    assert not gr.beats({**better, "peaks": 3.2}, shipped)  # hatched grass: lower SWD and coherence
    assert not gr.beats({**better, "components": 0.24}, shipped)  # smeared stones
    assert not gr.beats({**better, "runs_gap": 0.12}, shipped)  # a tangle of curled strands
    assert not gr.beats({**better, "mean_coherence": 9.5}, shipped)
    # Figures of a run without the shape figures (a heightmap, an old result) judge on the means.
    bare = {**better, "components": None, "peaks": None, "runs_gap": None}
    assert gr.beats(bare, gr.means({"128": {"swd": 36.0, "coherence": 9.0}}))


def test_a_new_terrain_beats_the_shipped_one_only_if_it_drains_no_worse():
    gr = _gpu_run()

    def terrain(swd: float, exponent: float) -> dict:
        real = {"area_exponent": -0.55, "spectral_slope": -4.2}
        return {"128": {"swd": swd, "coherence": swd / 5},
                "terrain": {"area_exponent": exponent, "spectral_slope": -4.0, "real": real}}  # fmt: skip

    shipped = gr.means(terrain(50.0, -0.61))
    assert shipped["drainage_gap"] == pytest.approx(0.06)
    assert gr.beats(gr.means(terrain(45.0, -0.57)), shipped)
    assert gr.beats(gr.means(terrain(45.0, -0.62)), shipped)  # within the slack of draws
    assert not gr.beats(gr.means(terrain(45.0, -0.66)), shipped)  # closer in SWD, drains like noise
    assert gr.means(terrain(45.0, float("nan")))["drainage_gap"] is None  # too few cells to fit: not judged
    report = {"mode": "smoke", "stages": {}, "models": {"terrain": {
        "best": "cpu-recipe", "variants": {"cpu-recipe": {"steps": 9, **gr.means(terrain(45.0, -0.66))}},
        "shipped": shipped, "beats_shipped": False}}}  # fmt: skip
    assert "drainage exponent 0.110 from the real crops' against 0.060: keeps the shipped file" in gr.summary(report)


def test_a_staged_recipe_trains_its_second_stage_from_the_first_and_reports_that(tmp_path, monkeypatch):
    from train_helpers import texture

    from PIL import Image

    gr = _gpu_run()
    monkeypatch.syspath_prepend(str(ROOT / "bench"))  # train_all reads bench_quality's targets
    data = tmp_path / "data"
    (data / "cc0-textures" / "grass").mkdir(parents=True)
    Image.fromarray(texture("grass")).save(data / "cc0-textures" / "grass" / "grass.png")
    tiny = ("--preset", "spatial-dcgan", "--set", "channels=1", "--set", "g_width=8", "--set", "d_width=8",
            "--set", "latent_size=8", "--set", "crop=16", "--set", "upsamples=2", "--batch", "8")  # fmt: skip
    wide = ("--set", "spatial_margin=6", "--set", "crops_per_image=2", "--set", "wide_critic=2")
    recipe = gr.Recipe("grass-texture", "staged", tiny, "a test", then=wide)
    mode = gr.modes(True, None, None)
    result = gr.train_all(tmp_path, data, mode, 0.05, [recipe], lambda: {"nothing": "measured"})
    run = result["runs"]["grass-texture--staged"]
    assert run["exit_code"] == 0, run.get("error")
    assert run["first_stage_steps"] == mode.steps and run["steps"] == mode.steps
    assert Path(run["onnx"]).is_file() and Path(run["run_dir"]).name.endswith("-grass-texture--staged")
    assert "then 0.33 of the time with --set spatial_margin=6" in run["command"]
    from trainer.checkpoint import load_checkpoint

    second = load_checkpoint(run["run_dir"])
    assert second["config"].wide_critic == 2 and second["origin"]["steps"] == mode.steps
    assert Path(second["config"].init_from).name.endswith("-grass-texture--staged-stage1")
    assert result["shipped"] == {"nothing": "measured"}
