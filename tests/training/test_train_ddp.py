"""Several processes: DistributedDataParallel with the gloo backend on CPU, 2 processes."""

from __future__ import annotations

import json
import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

import onnx
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from train_helpers import Events, texture_folder, tiny

from texgen.metadata import read_metadata
from trainer.checkpoint import load_checkpoint


class _StopOnRank0:
    """A stop request that reaches rank 0 alone, from its second look (the `stop` line on
    stdin, which only rank 0 reads, or a signal that lands between two ranks' checks)."""

    def __init__(self, rank: int) -> None:
        self.rank, self.calls = rank, 0

    def __call__(self) -> bool:
        self.calls += 1
        return self.rank == 0 and self.calls >= 2


def _worker(rank: int, world: int, port: int, cfg, results: str) -> None:
    # The environment torchrun gives its workers: train() joins the group itself (env://),
    # through the store the parent already listens on (as torchrun's agent does), so no port is
    # picked, closed and hoped still free when the processes start.
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank),
                      LOCAL_RANK=str(rank), TORCHELASTIC_USE_AGENT_STORE="True")  # fmt: skip
    torch.set_num_threads(1)
    from trainer.loop import train

    events = Events()
    run = train(cfg, events, _StopOnRank0(rank))
    assert not dist.is_initialized()  # train() ends the group it started
    Path(results, f"rank{rank}.json").write_text(json.dumps([str(run), events.kinds(), events.of("done")]))


@pytest.mark.slow
def test_two_gloo_processes_train_one_model_and_stop_together(tmp_path):
    # The batch is split over the ranks; each rank draws its own crops and latents; DDP
    # averages gradients (GP double-backward included) and train() checks at the end that
    # both ranks hold bitwise the same generator. Rank 0 alone writes the run folder.
    # A stop that reaches rank 0 alone stops both: every rank agrees on the stop before any
    # acts on it (when rank 0 alone checkpointed, a collective call, the run hung waiting for
    # rank 1). checkpoint_every=1: a periodic checkpoint at step 1, then the stop's at step 2.
    data = texture_folder(tmp_path / "textures")
    cfg = tiny("spatial-wgan-gp", data, tmp_path / "runs", channels=1, steps=50, batch=8, checkpoint_every=1)
    attempts = 3
    for attempt in range(attempts):
        # Once in about five runs on 2 cores, gloo aborts a process while the group is torn
        # down at the very end ("terminate called without an active exception"; seen before
        # and after the 14th session's changes, and twice in a row in one CI run of the 25th):
        # that abort is run again, up to three runs in all; anything else fails at once.
        shutil.rmtree(tmp_path / "runs", ignore_errors=True)
        store = dist.TCPStore("127.0.0.1", 0, None, True, timedelta(seconds=120), wait_for_workers=False)
        context = mp.spawn(_worker, args=(2, store.port, cfg, str(tmp_path)), nprocs=2, join=False)
        deadline = time.monotonic() + 120  # the run itself takes seconds
        try:
            while not context.join(timeout=5):
                assert time.monotonic() < deadline, "the processes hung after a stop that reached one of them"
            break
        except mp.ProcessExitedException as exc:
            if attempt == attempts - 1 or exc.signal_name != "SIGABRT":
                raise
        finally:
            for p in context.processes:
                if p.is_alive():
                    p.kill()
    run0, kinds0, done = json.loads((tmp_path / "rank0.json").read_text())
    run1, kinds1, _ = json.loads((tmp_path / "rank1.json").read_text())
    assert run0 == run1 and kinds1 == []  # only rank 0 reports progress
    assert kinds0[0] == "start" and kinds0[-1] == "done"
    assert done[0]["stopped_early"] and done[0]["step"] == 2
    assert len(list((tmp_path / "runs").iterdir())) == 1
    ckpt = load_checkpoint(run0)
    assert ckpt["step"] == 2 and len(ckpt["rng"]) == 2  # both ranks' random streams saved
    assert "2 x" in ckpt["device"]
    assert read_metadata(onnx.load(os.path.join(run0, "generator.onnx"))).training_steps == 2
