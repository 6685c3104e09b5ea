"""One job that proves and uses a GPU in minutes; run it through bench/gpu_run.sh.

    OUT=dir bash bench/gpu_run.sh            # a CUDA machine: about 7 minutes
    OUT=dir bash bench/gpu_run.sh --smoke    # all of it on the CPU with tiny budgets (~2 minutes)

In order, each stage in a child process with a time limit, so that a stage that fails or hangs
costs its own figures and nothing else:

1. info: GPU, driver, torch, CUDA and onnxruntime versions;
2. tests: the CUDA tests (tests/training/test_train_cuda.py), their result kept;
3. speed: our training loop against a plain PyTorch loop (bench/bench_train.py) for
   lanham-wgan-32, WGAN-GP and foster-dcgan-64, and the course's whole schedule (4,000
   generator iterations at batch 32) through train();
   erosion: the droplets and talus of texgen/erosion_graphs.py on the GPU against numpy, at
   1024 and 2048 px (bench/bench_erosion.py);
4. train: every bundled recipe at once on the one device, one process each, for a wall
   budget: each model's CPU recipe with a GPU's batch, and, for the spatial models, a variant
   that also gives the critic larger crops (RECIPES says which and why); meanwhile the shipped
   files and the classical baselines are measured;
5. quality: bench/bench_quality.py's SWD at 32, 64 and 128 px crops of 512 px outputs for
   every trained model, against the same real crops as the shipped file;
6. out: $OUT/report.json (versions, tests, speeds, per model: steps, time, figures, and
   whether it beats the shipped file), the ONNX file and card of each model that does, and
   one contact sheet (contact-sheet.png: shipped beside new, 512 px each): at most 8 files.

report.json is rewritten after every stage, so a job stopped from outside still returns what
it measured. --budget caps the whole job's wall time; stages that would not fit are skipped.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
MAX_FILES = 8
SKIPPABLE = {"tests", "speed", "course", "erosion"}


@dataclasses.dataclass(frozen=True)
class Recipe:
    model: str  # the bundled model it makes (bench_quality.TARGETS names its data)
    variant: str
    args: tuple[str, ...]  # texgen train arguments, data as {data}
    why: str
    ships: bool = True  # a product model (baselines are measured, never shipped from here)
    default: bool = True  # trained unless --recipes names others
    data: str = ""  # its data under the data folder; "" = the data the bundled model learnt
    # A second stage: these arguments added, started from the first stage's weights (--init-from)
    # for the last `then_share` of the training time (docs/training.md, "Stages")
    then: tuple[str, ...] = ()
    then_share: float = 1 / 3

    @property
    def key(self) -> str:
        return f"{self.model}--{self.variant}"


# The CPU recipes of assets/models/train_bundled.sh (same networks: the files stay as small),
# with what a GPU changes. "cpu-recipe": the card's settings but batch 64: at batch 16 a GPU
# waits on Python between steps, and 4 times the images per step costs it almost nothing.
# "wide-view": also 64 px crops at the same pixel scale (128 px of the photograph), so the critic
# judges structure twice as large, which the shipped models miss at 128 px (issue 22); on a CPU
# that cost 4 times the time per step. Baselines: the course's settings, the same wall time.
# The first H200 job (docs/gpu-runs.md) trained all 11 at once: every process time-shares the
# one GPU, so each made only 6 to 16 steps a second; wide-view scored worse than cpu-recipe for
# every model, and a course baseline retrained for the same time is no product. By default only
# the four product models' cpu-recipe train now, so each gets about three times the steps;
# `--recipes all` (or a list of MODEL--VARIANT) trains the others too.
_SPATIAL = ("--preset", "spatial-dcgan", "--set", "channels=1", "--set", "upsample_blur=false",
            "--set", "ema_halflife=2000", "--scale", "0.5")  # fmt: skip
_TEXTURE = _SPATIAL + ("--set", "g_width=24", "--set", "d_width=24", "--set", "lr_g=0.0001", "--set", "lr_d=0.0001",
                       "--set", "seed=1")  # fmt: skip
_KINDS = _SPATIAL + ("--conditional", "--set", "g_width=24", "--set", "d_width=24", "--set", "lr_g=0.00005",
                     "--set", "lr_d=0.00005", "--set", "augment=all,brick:flips")  # fmt: skip
_TERRAIN = ("--preset", "spatial-dcgan", "--kind", "heightmap", "--set", "g_width=12", "--set", "d_width=16",
            "--set", "upsample_blur=true")  # fmt: skip
# stone-texture's recipe since 2026-12-05 (train_bundled.sh): a coarse latent field and a second
# critic that judges 128 px crops shrunk to 32 px.
_WIDE_CROPS = ("--set", "spatial_margin=7", "--set", "crops_per_image=4", "--set", "wide_critic=4")
_WIDE_CRITIC = ("--set", "coarse_field=4") + _WIDE_CROPS
# The 32 px recipe, then from its weights for the last third of the time the same wide critic with
# a low-pass shrink and no coarse field (Recipe.then). On the CPU (docs/models.md, grass-texture)
# it beat the shipped grass at 32 and 128 px and on coherence, and drew a web of strands: on request only.
_WIDE_STAGE = _WIDE_CROPS + ("--set", "wide_shrink=blur")
_TERRAIN_WIDE = _TERRAIN + ("--batch", "64", "--set", "coarse_field=4", "--set", "spatial_margin=13",
                            "--set", "crops_per_image=8", "--set", "wide_critic=4")  # fmt: skip
_BASELINE = ("--preset", "lanham-wgan-32", "--set", "channels=1", "--scale", "0.5")
_CPU = "the card's recipe, batch 64 (16 on the CPU): more images per step at almost no cost on a GPU"
_WIDE = "batch 64 and 64 px crops: the critic judges structure twice as large (128 px of the photograph)"
RECIPES = (
    Recipe("stone-texture", "cpu-recipe", _TEXTURE + ("--batch", "64", "--set", "crop=32") + _WIDE_CRITIC, _CPU),
    Recipe("stone-texture", "wide-view", _TEXTURE + ("--batch", "64", "--set", "crop=64"), _WIDE, default=False),
    Recipe("grass-texture", "cpu-recipe", _TEXTURE + ("--batch", "64", "--set", "crop=32"), _CPU),
    Recipe("grass-texture", "wide-view", _TEXTURE + ("--batch", "64", "--set", "crop=64"), _WIDE, default=False),
    Recipe(
        "grass-texture",
        "staged",
        _TEXTURE + ("--batch", "64", "--set", "crop=32"),
        "the card's recipe, then the wide critic for the last third (--init-from)",
        default=False,
        then=_WIDE_STAGE,
    ),
    Recipe("textures-by-kind", "cpu-recipe", _KINDS + ("--batch", "64", "--set", "crop=32"), _CPU),
    Recipe("textures-by-kind", "wide-view", _KINDS + ("--batch", "64", "--set", "crop=64"), _WIDE, default=False),
    Recipe("terrain", "cpu-recipe", _TERRAIN + ("--batch", "64"), "the card's recipe (64 px crops), batch 64"),
    # The CPU's best terrain for drainage (docs/models.md, "A wide critic for terrain"): its area
    # exponent at the bar's edge after 60 minutes and still moving, at 3990 steps where the card's
    # recipe made 8878. The 256 px crops need the larger elevation model alone.
    Recipe(
        "terrain",
        "wide-critic",
        _TERRAIN_WIDE,
        "a coarse latent field and a critic of 256 px crops seen at 64 px (highlands, lowlands, "
        "drainage), batch 64; on the Jacksboro DEM alone",
        data="dem/jacksboro_fault_dem.npy",
    ),
    Recipe(
        "terrain",
        "wide-view",
        _TERRAIN + ("--batch", "32", "--set", "crop=128"),
        "128 px crops (whole valleys in view), batch 32; only the larger elevation model holds them",
        default=False,
    ),
    Recipe("lanham-gravel-baseline", "course", _BASELINE, "the course's settings", ships=False, default=False),
    Recipe("lanham-grass-baseline", "course", _BASELINE, "the course's settings", ships=False, default=False),
    Recipe("lanham-kinds-baseline", "course", _BASELINE, "the course's settings", ships=False, default=False),
)
DESCRIBE = {  # what each model makes, for its file and card (as train_bundled.sh says it)
    "stone-texture": "tileable grey gravel texture, any size (spatial DCGAN, trained on one CC0 gravel photograph)",
    "grass-texture": "tileable grey grass texture, any size (spatial DCGAN, trained on one CC0 grass photograph)",
    "terrain": "tileable terrain heightfield, any size (spatial DCGAN, trained on public-domain USGS elevation models)",
    "textures-by-kind": "tileable grey textures by class: brick, grass, gravel, moon (conditional spatial DCGAN, CC0 photographs)",
}


@dataclasses.dataclass
class Mode:
    smoke: bool
    device: str
    budget_s: float
    train_minutes: float
    steps: int  # generator steps cap (the budget decides on a GPU)
    n: int  # quality: crops per draw
    projections: int  # quality: SWD directions (512 as the paper; a smoke run needs only the code path)
    output: int  # quality: side of the outputs crops come from
    test_timeout: float
    speed_timeout: float
    course_timeout: float
    course_steps: int | None
    course_minutes: float  # the course's schedule stops there; the whole is then extrapolated
    after_training_s: float  # kept back from training: the runs' start and export, quality, sheet
    least_train_minutes: float = 1.5  # the stages before training are cut to leave this much
    least_quality_s: float = 30  # measuring the new models gets this much even past the budget
    # The droplet erosion as graphs on the GPU against numpy: numpy takes about 25 s at 1024 px,
    # the graphs' sessions a few seconds to build at 1024 and 2048 px.
    erosion_timeout: float = 120

    @property
    def stage_limits(self) -> dict[str, float]:
        return {"tests": self.test_timeout, "speed": self.speed_timeout, "course": self.course_timeout,
                "erosion": self.erosion_timeout}  # fmt: skip


def modes(smoke: bool, budget: float | None, train_minutes: float | None) -> Mode:
    if smoke:
        m = Mode(True, "cpu", 280, 0.1, 2, 32, 32, 256, 120, 90, 60, 3, 0.5, 90, 0.05, erosion_timeout=60)
    else:
        # Job 3: the training stage took 76 s beyond its minutes (starts, final evaluations,
        # exports) and measuring four new models 75 s, so 200 s are kept back and quality
        # gets at least 90 s.
        m = Mode(False, "cuda", 480, 3.0, 10_000_000, 512, 512, 512, 150, 120, 120, None, 1.0, 200, 1.5, 90)
    if budget:
        m.budget_s = budget
    if train_minutes:
        m.train_minutes = train_minutes
    return m


class Report:
    """report.json, rewritten whole (to a temporary name, then renamed) after every change."""

    def __init__(self, out: Path, mode: Mode, skip: set[str] = frozenset()):
        self.path = out / "report.json"
        self.skip = skip
        self.t0 = time.monotonic()
        self.data: dict = {"mode": "smoke (CPU, tiny budgets)" if mode.smoke else "gpu", "device": mode.device,
                           "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "budget_s": mode.budget_s, "stages": {}}  # fmt: skip
        self.save()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def save(self) -> None:
        self.data["wall_s"] = round(self.elapsed(), 1)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
        tmp.replace(self.path)

    def stage(self, name: str, fn, *args) -> object:
        """Run one stage; its status, seconds and any error go into the report, never raise."""
        if name in self.skip:
            self.data["stages"][name] = {"status": "skipped", "seconds": 0}
            print(f"\n== {name}: skipped (--skip)", flush=True)
            return None
        t = time.monotonic()
        print(f"\n== {name} ({self.elapsed():.0f} s into the job)", flush=True)
        try:
            result = fn(*args)
            status = {"status": "ok"}
        except Exception as e:  # a stage's failure is a finding, not the end of the job  # noqa: BLE001
            traceback.print_exc()
            result, status = None, {"status": "failed", "error": f"{type(e).__name__}: {e}"}
        status["seconds"] = round(time.monotonic() - t, 1)
        self.data["stages"][name] = status
        self.save()
        return result


def child(args: list[str], timeout: float, log: Path | None = None) -> subprocess.CompletedProcess:
    """A child Python process with a time limit; its output goes to `log` (or is kept)."""
    cmd = [sys.executable, *args]
    if log is None:
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    with open(log, "w") as f:
        return subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, text=True, timeout=timeout)


def json_child(stage: str, extra: list[str], timeout: float, work: Path) -> dict:
    """Run `gpu_run.py --stage STAGE` and return the JSON it wrote; raise with its last lines."""
    tag = extra[extra.index("--tag") + 1].replace(" ", "-").replace("/", "-") if "--tag" in extra else stage
    result = work / f"{tag}.json"
    result.unlink(missing_ok=True)
    log = work / f"{tag}.log"
    try:
        proc = child([str(BENCH / "gpu_run.py"), "--stage", stage, "--result", str(result), *extra], timeout, log)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{stage} ran past its {timeout:.0f} s limit; its log ends: {_tail(log)}") from None
    print(log.read_text()[-3000:], flush=True)
    if proc.returncode != 0 or not result.is_file():
        raise RuntimeError(f"{stage} exited {proc.returncode}; its log ends: {_tail(log)}")
    return json.loads(result.read_text())


def _write_json(path: Path, value) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(value, indent=2, default=str))
    tmp.replace(path)


def _tail(path: Path, lines: int = 6) -> str:
    try:
        return " | ".join(path.read_text().strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


# -- stages run in child processes (gpu_run.py --stage NAME) ----------------------------------


def stage_info(ns) -> dict:
    import numpy  # noqa: PLC0415
    import onnxruntime  # noqa: PLC0415
    import torch  # noqa: PLC0415

    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "torch": torch.__version__, "cuda_build": torch.version.cuda, "numpy": numpy.__version__,
            "onnxruntime": onnxruntime.__version__, "onnxruntime_providers": onnxruntime.get_available_providers(),
            "cuda_available": torch.cuda.is_available()}  # fmt: skip
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info.update(gpu=p.name, gpu_memory_gib=round(p.total_memory / 2**30, 1), capability=f"{p.major}.{p.minor}",
                    multiprocessors=p.multi_processor_count, cudnn=torch.backends.cudnn.version(),
                    bf16=torch.cuda.is_bf16_supported())  # fmt: skip
        try:
            smi = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20)  # fmt: skip
            info["driver"] = smi.stdout.strip()
        except (OSError, subprocess.TimeoutExpired) as e:
            info["driver"] = f"unknown ({e})"
    return info


def stage_speed(ns) -> dict:
    import torch  # noqa: PLC0415

    import bench_train  # noqa: PLC0415

    device = torch.device(ns.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        return bench_train.bench_all(device, 1, 5, round_seconds=1.0)
    return bench_train.bench_all(device, 1, 1, quick=True, shrink=8)


def stage_course(ns) -> dict:
    import torch  # noqa: PLC0415

    import bench_train  # noqa: PLC0415

    out = bench_train.course_schedule(torch.device(ns.device), steps=ns.course_steps, minutes=ns.course_minutes)
    return {**out, "goal_s": 20, "keras_cpu_reference_s": 99 * 60}


def stage_erosion(ns) -> dict:
    """The README's droplet example (rain=1,thermal=20) on bundled terrain outputs: as graphs on
    the GPU (texgen/erosion_graphs.py) at 1024 and 2048 px, against numpy at 1024 px; the smoke
    run the same graphs on the CPU at 128 px (bench/bench_erosion.py says what each figure is)."""
    import onnxruntime  # noqa: PLC0415

    import bench_erosion  # noqa: PLC0415

    if ns.device == "cuda":
        if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
            # The lent machines of 2026-12-04 had onnxruntime's CPU build (docs/gpu-runs.md).
            return {"example": "rain=1,thermal=20", "droplets": [],
                    "not_measured": f"onnxruntime {onnxruntime.__version__} here has no CUDA provider "
                                    "(install onnxruntime-gpu to measure the erosion's graphs on the GPU)"}  # fmt: skip
        rows = bench_erosion.graphs_against_numpy("cuda", (1024, 2048), (1024,))
    else:
        rows = bench_erosion.graphs_against_numpy("cpu", (128,), (128,))
    return {"example": "rain=1,thermal=20", "droplets": rows}


def stage_quality(ns) -> dict:
    """Figures of each job of --jobs [[key, model, path or null], ...]: a model file, or (null)
    the baselines of that model's data. The result file is rewritten after every job."""
    import torch  # noqa: PLC0415

    import bench_quality as q  # noqa: PLC0415

    torch.set_num_threads(ns.threads)
    q.OUTPUT = ns.output
    kw = dict(n=ns.n, draws=2, device=ns.device, projections=ns.projections)
    out: dict = {}
    for key, model, path in json.loads(ns.jobs):
        t = time.monotonic()
        target = q.TARGETS[model]
        try:
            if path is None:
                out[key] = q.measure_baselines(target, Path(ns.data), **kw)
            else:
                out[key] = q.measure_model(Path(path), target, Path(ns.data), threads=ns.threads, **kw)
        except Exception as e:  # one model's fault is its own row, not the worker's end  # noqa: BLE001
            out[key] = {"error": f"{type(e).__name__}: {e}"}
        print(f"measured {key} in {time.monotonic() - t:.1f} s", flush=True)
        _write_json(Path(ns.result), out)
    return out


def stage_sheet(ns) -> dict:
    """contact-sheet.png: per product model, the shipped file beside the new one, 512 px each."""
    import numpy as np  # noqa: PLC0415
    from PIL import Image, ImageDraw  # noqa: PLC0415

    from texgen.maps import hillshade  # noqa: PLC0415
    from texgen.model import load_generator  # noqa: PLC0415
    from texgen.sampling import sample  # noqa: PLC0415

    pairs = json.loads(ns.pairs)
    side, gap, label_h = ns.output, 8, 18
    rows = []
    for name, files in pairs.items():
        row = []
        for path in files:
            gen = load_generator(path, device="cpu", threads=ns.threads)
            classes = list(gen.info.classes) or [None]
            size = side if len(classes) == 1 else side // 2
            imgs = [next(iter(sample(gen, [7], size=(size, size), label=c))).img[..., 0] for c in classes[:4]]
            if gen.info.kind == "heightmap":
                imgs = [hillshade(i, wrap=True) for i in imgs]
            if len(imgs) > 1:  # a 2x2 of classes
                imgs += [np.ones_like(imgs[0])] * (4 - len(imgs))
                imgs = [np.block([[imgs[0], imgs[1]], [imgs[2], imgs[3]]])]
            row.append(np.pad(imgs[0], ((label_h, 0), (0, 0)), constant_values=1.0))
        while len(row) < 2:
            row.append(np.ones_like(row[0]))
        rows.append(np.concatenate([row[0], np.ones((row[0].shape[0], gap)), row[1]], axis=1))
    sheet = np.concatenate(sum(([r, np.ones((gap, r.shape[1]))] for r in rows), [])[:-1], axis=0)
    img = Image.fromarray(np.round(np.clip(sheet, 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    y = 0
    for name, files in pairs.items():
        draw.text((4, y + 3), f"{name}: shipped", fill=0)
        if len(files) > 1:
            draw.text((side + gap + 4, y + 3), f"{name}: trained in this job", fill=0)
        y += side + label_h + gap
    path = Path(ns.result).with_name("contact-sheet.png")
    img.save(path, optimize=True)
    return {"path": str(path), "size": list(img.size)}


STAGES = {
    "info": stage_info,
    "speed": stage_speed,
    "course": stage_course,
    "erosion": stage_erosion,
    "quality": stage_quality,
    "sheet": stage_sheet,
}


# -- the job -----------------------------------------------------------------------------------


def prepare_data(work: Path, given: Path | None) -> Path:
    if given:
        if not (given / "cc0-textures").is_dir() or not (given / "dem").is_dir():
            raise RuntimeError(
                f"{given} lacks cc0-textures/ or dem/: give the folder assets/models/prepare_data.py wrote"
            )
        return given
    data = work / "data"
    proc = child([str(ROOT / "assets" / "models" / "prepare_data.py"), str(data)], 120)
    if proc.returncode:
        raise RuntimeError(f"prepare_data.py failed: {proc.stderr.strip()[-500:]}")
    return data


def run_tests(work: Path, mode: Mode) -> dict:
    xml = work / "cuda-tests.xml"
    args = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=", f"--junitxml={xml}",
            "tests/training/test_train_cuda.py"]  # fmt: skip
    try:
        proc = child(args, mode.test_timeout)
    except subprocess.TimeoutExpired:
        return {"outcome": f"ran past {mode.test_timeout:.0f} s"}
    print(proc.stdout[-3000:], proc.stderr[-1000:], flush=True)
    out = {"exit_code": proc.returncode, "summary": (proc.stdout.strip().splitlines() or [""])[-1]}
    if xml.is_file():
        import xml.etree.ElementTree as ET  # noqa: PLC0415

        cases = []
        for case in ET.parse(xml).getroot().iter("testcase"):
            result = "passed"
            for tag in ("failure", "error", "skipped"):
                node = case.find(tag)
                if node is not None:
                    result = {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
                    out.setdefault("messages", {})[case.get("name")] = (node.get("message") or "")[:500]
            cases.append({"name": case.get("name"), "result": result, "seconds": float(case.get("time") or 0)})
        out["cases"] = cases
        out["counts"] = {r: sum(c["result"] == r for c in cases) for r in ("passed", "failed", "error", "skipped")}
    return out


def pick_recipes(spec: str | None) -> list[Recipe]:
    """--recipes: default (the product models' cpu-recipe), all, or a comma list of MODEL--VARIANT."""
    if not spec or spec == "default":
        return [r for r in RECIPES if r.default]
    if spec == "all":
        return list(RECIPES)
    known = {r.key: r for r in RECIPES}
    wanted = [k.strip() for k in spec.split(",") if k.strip()]
    unknown = [k for k in wanted if k not in known]
    if unknown or not wanted:
        named = ", ".join(unknown) or repr(spec)
        raise SystemExit(f"gpu_run: unknown recipe {named}: use default, all, or some of " + ", ".join(known))
    return [known[k] for k in wanted]


def train_all(work: Path, data: Path, mode: Mode, minutes: float, recipes: list[Recipe], shipped_eval) -> dict:
    """Every recipe at once, one process each; each exports its generator when it ends."""
    runs = work / "runs"
    from bench_quality import TARGETS  # what each model learnt, and where its data lies  # noqa: PLC0415

    procs = {}
    for r in recipes:
        name = r.key
        cmd = [sys.executable, "-m", "texgen", "train", *r.args, "--data", str(data / (r.data or TARGETS[r.model].data)),
               "--out", str(runs), "--device", mode.device, "--progress", "json", "--steps", str(mode.steps),
               "--set", "threads=1", "--set", "sample_every=0", "--set", "checkpoint_every=0", "--set", "eval_every=0",
               "--set", f"eval_samples={32 if mode.smoke else 256}"]  # fmt: skip
        if r.then:  # two trainers one after the other; the second finds the first's run folder
            first = minutes * (1 - r.then_share)
            stage1 = shlex.join(cmd + ["--name", f"{name}-stage1", "--minutes", f"{first:.3f}"])
            stage2 = shlex.join(cmd + [*r.then, "--name", name, "--minutes", f"{minutes - first:.3f}"])
            source = f'"$(ls -d {shlex.quote(str(runs))}/*-{name}-stage1 | tail -n 1)"'
            cmd = ["bash", "-c", f"{stage1} && exec {stage2} --init-from {source}"]
        else:
            cmd += ["--name", name, "--minutes", f"{minutes:.3f}"]
        log = open(work / f"train-{name}.log", "w")
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        procs[name] = (r, proc, log)
    print(f"training {len(procs)} recipes at once for {minutes:.2f} min each", flush=True)
    stages = max((2 if r.then else 1) for r in recipes) if recipes else 1
    deadline = time.monotonic() + minutes * 60 + 120 * stages  # each stage's start, final evaluation and export
    try:
        shipped = shipped_eval()  # the shipped files and the baselines, measured meanwhile on the CPU cores
        results = {}
        for name, (r, proc, log) in procs.items():
            try:
                proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _kill(proc)
                proc.wait()
            log.close()
            results[name] = _run_result(work / f"train-{name}.log", proc.returncode, r)
    finally:  # never leave a trainer on the GPU, whatever failed here
        for _, proc, _ in procs.values():
            if proc.poll() is None:
                _kill(proc)
    return {"runs": results, "shipped": shipped}


def _kill(proc: subprocess.Popen) -> None:
    """Kill a trainer and whatever it started (a staged recipe's shell and its trainer)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session (start_new_session): its group
    except (AttributeError, ProcessLookupError, PermissionError):
        proc.kill()


def _run_result(log: Path, code: int, r: Recipe) -> dict:
    out = {"model": r.model, "variant": r.variant, "why": r.why, "exit_code": code,
           "command": "texgen train " + " ".join(r.args) + (f" --data DATA/{r.data}" if r.data else "")
                      + (f", then {r.then_share:.2g} of the time with " + " ".join(r.then) + " --init-from (the first)"
                         if r.then else "")}  # fmt: skip
    events = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    done = [e for e in events if e.get("event") == "done"]
    steps = [e for e in events if e.get("event") == "step"]
    warnings = [e.get("message") for e in events if e.get("event") == "warning"]
    if r.then:  # the model is the second stage's; the first stage's steps are kept beside its own
        out["first_stage_steps"] = done[0].get("step") if done else None
        done = done[1:]
    if done:
        d = done[-1]
        out.update(steps=d.get("step"), onnx=d.get("onnx"), run_dir=d.get("run_dir"), metrics=d.get("metrics"))
    if steps:
        last = steps[-1]
        out["train_seconds"] = last.get("elapsed_s")
        if last.get("elapsed_s"):
            out["steps_per_s"] = round(last["step"] / last["elapsed_s"], 1)
    if warnings:
        out["warnings"] = warnings
    if not done:
        out["error"] = _tail(log)
    return out


def evaluate(
    jobs: dict[str, tuple[str, str | None]],
    data: Path,
    mode: Mode,
    work: Path,
    workers: int,
    timeout: float,
    tag: str,
    threads: int = 1,
) -> dict:
    """{key: figures} for jobs {key: (model, path or None for its data's baselines)}: the jobs
    dealt round-robin to `workers` child processes (each pays its imports once). A child
    writes its file after every job, so one stopped at `timeout` still gives what it did."""
    keys = list(jobs)
    chunks = [keys[i::workers] for i in range(workers) if keys[i::workers]]

    def one(i: int, chunk: list[str]) -> dict:
        spec = [[k, *jobs[k]] for k in chunk]
        extra = ["--jobs", json.dumps(spec), "--data", str(data), "--n", str(mode.n), "--output", str(mode.output),
                 "--projections", str(mode.projections), "--device", mode.device, "--threads", str(threads), "--tag", f"{tag}-{i}"]  # fmt: skip
        try:
            return json_child("quality", extra, timeout, work)
        except RuntimeError as e:
            partial = work / f"{tag}-{i}.json"
            done = json.loads(partial.read_text()) if partial.is_file() else {}
            return {**{k: {"error": str(e)} for k in chunk}, **done}

    out = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(chunks) or 1) as pool:
        for figures in pool.map(one, range(len(chunks)), chunks):
            out.update(figures)
    return out


# How much worse than the shipped file a new one may read on the shape figures and still beat it:
# about the spread of comp between draws of crops, and of peaks between outputs (docs/quality-measures.md).
COMPONENTS_SLACK = 0.03
PEAKS_SLACK = 0.5
# How much further from the data's straight runs (bench_quality's runs, 1 is the data's) a new
# file may read: grass's tangles of curled strands read 0.89 to 0.94 where the shipped file reads
# 0.99 to 1.02 and other real crops within 0.01 of 1 (docs/quality-measures.md).
RUNS_SLACK = 0.03
# A heightmap's bar is its drainage (issue 22): how far its drainage-area exponent lies from the
# real crops' in the same run may grow by this much, about twice the shipped terrain's spread
# between draws of 16 crops of 128 px (0.009 over six draws, 2026-12-07).
DRAINAGE_SLACK = 0.02


def means(figures: dict | None) -> dict:
    """{"mean_swd": .., "mean_coherence": ..} over the crop sizes measured (None: none), and
    "components", "peaks" and "runs_gap" (bench_quality's shape figures, runs as its distance
    from 1; None where not measured)."""
    out = {}
    for key in ("swd", "coherence"):
        values = [f[key] for f in (figures or {}).values() if isinstance(f, dict) and key in f]
        out[f"mean_{key}"] = sum(values) / len(values) if values else None
    shape = (figures or {}).get("shape") or {}
    for key in ("components", "peaks"):
        out[key] = shape.get(key) if isinstance(shape.get(key), (int, float)) else None
    out["runs_gap"] = abs(shape["runs"] - 1) if isinstance(shape.get("runs"), (int, float)) else None
    terrain = (figures or {}).get("terrain") or {}
    exponents = (terrain.get("area_exponent"), (terrain.get("real") or {}).get("area_exponent"))
    ok = all(isinstance(e, (int, float)) and e == e for e in exponents)  # neither missing nor nan
    out["drainage_gap"] = abs(exponents[0] - exponents[1]) if ok else None
    return out


def beats(new: dict, old: dict) -> bool:
    """Lower on both mean figures (a lower SWD alone once picked curly grass over straight
    blades) and, where both have them, no worse on the shape figures than their slack (lower SWD
    and coherence together once picked hatched grass and creased gravel, and passed a tangle of
    curled strands that runs sees), nor, for heightmaps, on drainage (SWD and coherence say
    nothing of whether valleys join)."""
    keys = ("mean_swd", "mean_coherence")
    if not all(new[k] is not None and old[k] is not None and new[k] < old[k] for k in keys):
        return False
    guards = (("components", COMPONENTS_SLACK), ("peaks", PEAKS_SLACK), ("runs_gap", RUNS_SLACK),
              ("drainage_gap", DRAINAGE_SLACK))  # fmt: skip
    for key, slack in guards:
        if new.get(key) is not None and old.get(key) is not None and new[key] > old[key] + slack:
            return False
    return True


def export_winner(run: dict, name: str, out: Path, timeout: float = 180) -> str:
    """The run's generator as OUT/NAME.onnx (named, described) with its card OUT/NAME.md."""
    dest = out / f"{name}.onnx"
    proc = child(["-m", "texgen", "export", run["run_dir"], "--out", str(dest), "--name", name,
                  "--description", DESCRIBE[name]], timeout)  # fmt: skip
    if proc.returncode:
        raise RuntimeError(f"export of {name} failed: {proc.stderr.strip()[-500:]}")
    return str(dest)


def job(ns) -> int:
    mode = modes(ns.smoke, ns.budget, ns.train_minutes)
    out = Path(os.environ.get("OUT") or ns.out or "")
    if not str(out) or str(out) == ".":
        print("gpu_run: no output folder: set OUT=DIR (the folder whose files come back)", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    work = Path(ns.work) if ns.work else Path(tempfile.mkdtemp(prefix="texgen-gpu-run-"))
    work.mkdir(parents=True, exist_ok=True)
    skip = {x.strip() for x in ns.skip.split(",") if x.strip()}
    if skip - SKIPPABLE:
        print(
            f"gpu_run: --skip takes {', '.join(sorted(SKIPPABLE))}, not {', '.join(sorted(skip - SKIPPABLE))}",
            file=sys.stderr,
        )
        return 2
    recipes = pick_recipes(ns.recipes)
    report = Report(out, mode, skip)
    left = lambda: mode.budget_s - report.elapsed()  # noqa: E731
    rd = report.data
    common = ["--device", mode.device]

    rd["versions"] = report.stage("info", json_child, "info", common, 120, work)
    if not mode.smoke and not (rd["versions"] or {}).get("cuda_available"):
        rd["verdict"] = ("the info stage failed (see stages.info): nothing was run" if rd["versions"] is None else
                         "no CUDA device: nothing was trained (run with --smoke on a machine without a GPU)")  # fmt: skip
        report.save()
        print(rd["verdict"], file=sys.stderr)
        return 1
    data = report.stage("data", prepare_data, work, Path(ns.data) if ns.data else None)

    def before_training(limit: float) -> float:
        """A stage's limit, cut so that training keeps its least minutes (job 1 lost them)."""
        return min(limit, left() - mode.after_training_s - 60 * mode.least_train_minutes)

    def limit(name: str) -> float:
        """The stage's time limit, decided when it starts (job 3 gave the course a limit of
        0 s, decided before the stages ahead of it had run); under 15 s the stage is skipped,
        and the report says the budget, not the user, left it out."""
        seconds = before_training(mode.stage_limits[name])
        if name not in skip and seconds < 15:
            skip.add(name)
            rd.setdefault("budget_skipped", []).append(name)
        return seconds

    mode.test_timeout = limit("tests")
    rd["tests"] = report.stage("tests", run_tests, work, mode)
    rd["speed"] = report.stage("speed", json_child, "speed", common, limit("speed"), work)
    course = common + ["--course-minutes", str(mode.course_minutes)]
    course += ["--course-steps", str(mode.course_steps)] if mode.course_steps else []
    rd["course"] = report.stage("course", json_child, "course", course, limit("course"), work)
    rd["erosion"] = report.stage("erosion", json_child, "erosion", common, limit("erosion"), work)
    if data is None:
        rd["verdict"] = "no training data: see stages.data"
        report.save()
        return 1

    # Training gets what is left but the time to start, measure and export after it.
    minutes = min(mode.train_minutes, max(0.05, (left() - mode.after_training_s) / 60))
    shipped_jobs = {
        f"shipped {m}": (m, str(ROOT / "assets" / "models" / f"{m}.onnx"))
        for m in dict.fromkeys(r.model for r in RECIPES)
        if (ROOT / "assets" / "models" / f"{m}.onnx").is_file()
    }
    base_jobs = {f"baselines {m}": (m, None) for m in ("stone-texture", "grass-texture", "terrain", "textures-by-kind",
                                                       "lanham-kinds-baseline")}  # fmt: skip
    cpus = os.cpu_count() or 2
    free = max(2, cpus - len(recipes))  # the cores the trainers leave
    workers = min(6, free)
    shipped_eval = lambda: evaluate(  # noqa: E731
        {**shipped_jobs, **base_jobs},
        data,
        mode,
        work,
        workers,
        max(30, left() - 60),  # noqa: E731
        "shipped",
        max(1, free // workers),
    )
    trained = report.stage("train", train_all, work, data, mode, minutes, recipes, shipped_eval) or {
        "runs": {},
        "shipped": {},
    }
    rd["training"] = {"minutes_each": round(minutes, 2), "processes": len(recipes), "device": mode.device,
                      "runs": trained["runs"]}  # fmt: skip
    report.save()

    new_jobs = {f"new {k}": (r["model"], r["onnx"]) for k, r in trained["runs"].items() if r.get("onnx")}
    figures = report.stage("quality", evaluate, new_jobs, data, mode, work, max(2, min(12, cpus)),
                           max(mode.least_quality_s, left() - 90), "new", max(1, min(4, cpus // max(1, len(new_jobs))))) or {}  # fmt: skip
    figures.update(trained["shipped"])
    rd["baselines"] = {k.split(" ", 1)[1]: v for k, v in figures.items() if k.startswith("baselines ")}
    report.stage("choose", choose, rd, trained["runs"], figures, out, work, mode, max(30, min(180, left() - 30)))
    pairs = {m: [str(ROOT / "assets" / "models" / f"{m}.onnx")] + ([v["best_onnx"]] if v.get("best_onnx") else [])
             for m, v in rd.get("models", {}).items() if m in DESCRIBE and (ROOT / "assets" / "models" / f"{m}.onnx").is_file()}  # fmt: skip
    if pairs:
        extra = [
            "--pairs",
            json.dumps(pairs),
            "--output",
            str(mode.output),
            "--threads",
            str(min(8, os.cpu_count() or 2)),
        ]
        sheet = report.stage("sheet", json_child, "sheet", extra, 120, work)
        if sheet and Path(sheet["path"]).is_file():
            shutil.copy(sheet["path"], out / "contact-sheet.png")
    files = sorted(p.name for p in out.iterdir() if p.is_file() and not p.name.endswith(".tmp"))
    rd["files"] = files
    rd["verdict"] = summary(rd)
    report.save()
    print("\n" + rd["verdict"])
    if len(files) > MAX_FILES:
        print(f"gpu_run: {len(files)} files in {out}, more than the {MAX_FILES} that come back", file=sys.stderr)
        return 1
    failed = [k for k, v in rd["stages"].items() if v["status"] == "failed"]
    return 1 if failed else 0


def choose(rd: dict, runs: dict, figures: dict, out: Path, work: Path, mode: Mode, export_timeout: float = 180) -> None:
    """Per model: every variant's figures, the best one (lowest mean SWD), whether it beats the
    shipped file (lower mean SWD and lower mean coherence distance over the crop sizes, against
    the same real crops, and no worse on the shape figures: see beats), and, if it does, its files in OUT. The contact sheet is for the eye:
    a model that the figures pass must still be looked at before it ships."""
    models: dict[str, dict] = {}
    winners: dict[str, dict] = {}
    for key, run in runs.items():
        m = models.setdefault(run["model"], {"variants": {}})
        fig = figures.get(f"new {key}", {"error": "not trained"})
        m["variants"][run["variant"]] = {**{k: run.get(k) for k in ("steps", "train_seconds", "steps_per_s", "why",
                                                                    "command", "warnings", "error")},
                                         "quality": fig, **means(fig)}  # fmt: skip
    rd["shipped_only"] = {key.split(" ", 1)[1]: {"quality": f, **means(f)} for key, f in figures.items()
                          if key.startswith("shipped ") and key.split(" ", 1)[1] not in models}  # fmt: skip
    for name, m in models.items():
        shipped = figures.get(f"shipped {name}")
        m["shipped"] = {"quality": shipped, **means(shipped)}
        scored = [(v["mean_swd"], variant) for variant, v in m["variants"].items() if v["mean_swd"] is not None]
        if not scored:
            m["beats_shipped"] = False
            continue
        best = min(scored)[1]
        m["best"] = best
        run = runs[f"{name}--{best}"]
        m["best_onnx"] = run["onnx"]
        m["beats_shipped"] = beats(m["variants"][best], m["shipped"])
        ships = any(r.ships for r in RECIPES if r.model == name)
        if ships and (m["beats_shipped"] or mode.smoke):
            winners[name] = run
    # The winners' files: OUT/NAME.onnx, each card carried in the report (8 files come back).
    # A smoke run exports every product model's best run, into the work folder, to prove the path.
    rd["models"] = models
    dest = out if not mode.smoke else work / "exported"
    dest.mkdir(exist_ok=True)

    def export(name: str) -> None:
        try:
            path = export_winner(winners[name], name, dest, export_timeout)
        except Exception as e:  # noqa: BLE001 - one model's failed export is reported, the others go on
            models[name]["export_error"] = f"{type(e).__name__}: {e}"
            return
        models[name]["returned" if not mode.smoke else "export_checked"] = path
        card = dest / f"{name}.md"
        models[name]["card"] = card.read_text()
        card.unlink()

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(export, winners))
    if any("export_error" in models[n] for n in winners):
        raise RuntimeError("an export failed: see models[...].export_error")


def summary(rd: dict) -> str:
    lines = [f"texgen gpu_run ({rd['mode']}), {rd.get('wall_s', 0):.0f} s"]
    v = rd.get("versions") or {}
    lines.append(
        f"  {v.get('gpu', 'no GPU')}, driver {v.get('driver', '-')}, torch {v.get('torch')}, CUDA {v.get('cuda_build')}"
    )
    t = rd.get("tests") or {}
    lines.append(f"  CUDA tests: {t.get('counts', t.get('outcome', t.get('summary')))}")
    for name, s in (rd.get("speed") or {}).items():
        if isinstance(s, dict):
            lines.append(f"  {name}: ours {s['ours_it_per_s']:.1f} it/s, plain {s['plain_it_per_s']:.1f} it/s "
                         f"(x{s['ratio']:.2f}), {100 * s['ours_peak_share']:.1f}% of the fp32 matmul peak")  # fmt: skip
    c = rd.get("course") or {}
    if "seconds" in c:
        whole = (
            ""
            if c["completed"]
            else f", {c['iterations_done']} done: the whole extrapolated to "
            f"{c.get('whole_schedule_s_extrapolated', float('nan')):.0f} s"
        )
        lines.append(f"  course schedule ({c['iterations']} iterations, batch 32): {c['seconds']:.1f} s{whole}")
    if (rd.get("erosion") or {}).get("not_measured"):
        lines.append(f"  erosion on the GPU: not measured: {rd['erosion']['not_measured']}")
    for r in (rd.get("erosion") or {}).get("droplets", []):
        numpy = f", numpy {r['numpy_s']:.1f} s (x{r['speedup']:.1f})" if "numpy_s" in r else ""
        lines.append(f"  erosion rain=1,thermal=20 at {r['side']} px: graphs on {r['device']} {r['graph_s']:.2f} s "
                     f"(first run {r['graph_cold_s']:.2f} s){numpy}, seam ratio {r['seam_ratio_graph']:.2f}")  # fmt: skip
    for name, m in (rd.get("models") or {}).items():
        best = m.get("best")
        new = m["variants"].get(best, {}) if best else {}
        old = m["shipped"]
        lines.append(f"  {name}: best {best} ({new.get('steps')} steps), mean SWD {_f(new.get('mean_swd'))} "
                     f"and coherence {_f(new.get('mean_coherence'))} against shipped {_f(old['mean_swd'])} and "
                     f"{_f(old['mean_coherence'])}, comp {_f(new.get('components'), 2)} and peaks {_f(new.get('peaks'), 2)} "
                     f"against {_f(old.get('components'), 2)} and {_f(old.get('peaks'), 2)}"
                     + (f", runs {_f(new.get('runs_gap'), 3)} from the data's against {_f(old.get('runs_gap'), 3)}"
                        if old.get("runs_gap") is not None else "")
                     + (f", drainage exponent {_f(new.get('drainage_gap'), 3)} from the real crops' against "
                        f"{_f(old.get('drainage_gap'), 3)}" if old.get("drainage_gap") is not None else "")
                     + ": "
                     f"{'BEATS the shipped file' if m.get('beats_shipped') else 'keeps the shipped file'}")  # fmt: skip
    failed = [k for k, s in rd["stages"].items() if s["status"] == "failed"]
    lines.append(f"  stages failed: {', '.join(failed) if failed else 'none'}")
    return "\n".join(lines)


def _f(v, digits: int = 1) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--smoke", action="store_true", help="all of it on the CPU with tiny budgets (checks the script)")
    p.add_argument("--budget", type=float, help="wall seconds for the whole job (default 480; smoke 280)")
    p.add_argument("--train-minutes", type=float, help="each recipe's training budget (default 2.5; smoke 0.1)")
    p.add_argument("--data", help="the folder assets/models/prepare_data.py wrote (default: prepared here)")
    p.add_argument("--out", help="the output folder, when OUT is not set")
    p.add_argument("--work", help="scratch folder (default: a new temporary folder)")
    p.add_argument(
        "--recipes", help="default (each product model's cpu-recipe), all, or a comma list of MODEL--VARIANT"
    )
    p.add_argument(
        "--skip",
        default="",
        help="stages left out, comma list of tests, speed, course, erosion (a second try that keeps the first one's figures)",
    )
    # A child stage (internal): --stage NAME --result FILE and the stage's own options.
    p.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    p.add_argument("--device", default="cpu", help=argparse.SUPPRESS)
    p.add_argument("--course-steps", type=int, help=argparse.SUPPRESS)
    p.add_argument("--course-minutes", type=float, help=argparse.SUPPRESS)
    p.add_argument("--jobs", help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, default=512, help=argparse.SUPPRESS)
    p.add_argument("--output", type=int, default=512, help=argparse.SUPPRESS)
    p.add_argument("--projections", type=int, default=512, help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--pairs", help=argparse.SUPPRESS)
    p.add_argument("--tag", help=argparse.SUPPRESS)
    ns = p.parse_args()
    if ns.stage:
        _write_json(Path(ns.result), STAGES[ns.stage](ns))
        return 0
    return job(ns)


if __name__ == "__main__":
    sys.exit(main())
