"""Several processes through `torchrun` (DistributedDataParallel), detected from its environment.

`torchrun --nproc_per_node N -m trainer train ...` sets WORLD_SIZE, RANK and LOCAL_RANK; every
process runs the same `train()`, each on its own GPU (NCCL) or CPU share (gloo), with its own
slice of the batch and its own random streams. Rank 0 alone writes the run folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    owns_group: bool = False  # True when train() started the process group (and ends it)

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device_type: str) -> Dist:
    """Join the process group when launched by torchrun (WORLD_SIZE > 1); else a lone process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")), owns)


def finish_distributed(d: Dist) -> None:
    if d.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def broadcast(obj: Any, d: Dist) -> Any:
    """Rank 0's `obj` on every rank."""
    if not d.active:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def gather(obj: Any, d: Dist) -> list[Any]:
    """Every rank's `obj`, in rank order, on every rank."""
    if not d.active:
        return [obj]
    out: list[Any] = [None] * d.world
    dist.all_gather_object(out, obj)
    return out


def any_rank(flag: bool, d: Dist, device: torch.device) -> bool:
    """True on every rank when `flag` is True on any (a stop request reaches all processes)."""
    return any_ranks([flag], d, device)[0]


def any_ranks(flags: list[bool], d: Dist, device: torch.device) -> list[bool]:
    """`any_rank` of several flags in one collective call: each True on every rank when it is
    True on any. Whatever a rank decides from them, every rank decides the same."""
    if not d.active:
        return list(flags)
    t = torch.tensor([1.0 if f else 0.0 for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v) for v in t.tolist()]


def same_weights(module: torch.nn.Module, d: Dist, device: torch.device) -> bool:
    """Whether every rank holds bitwise the same parameters (DDP's promise, checked at the end)."""
    if not d.active:
        return True
    flat = torch.cat([p.detach().reshape(-1).float() for p in module.parameters()]).to(device)
    lo, hi = flat.clone(), flat.clone()
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    return bool(torch.equal(lo, hi))
