"""Multi-process training with ``torch.distributed``: the environment ``torchrun`` sets up, and helpers.

``torchrun --nproc_per_node N`` starts ``N`` copies of a program with ``WORLD_SIZE``, ``RANK``,
``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` in their environment. :func:`init` starts the process
group from them (backend ``"gloo"`` on CPU, ``"nccl"`` on CUDA, each process on ``cuda:LOCAL_RANK``);
:func:`spikekit.train.fit` then trains with :class:`~torch.nn.parallel.DistributedDataParallel`
(see docs/distributed.md). Without ``WORLD_SIZE``, or with ``WORLD_SIZE=1``, nothing changes: no process
group is started and every helper answers for a single process.

Example (run under ``torchrun``):
    >>> from spikekit import distributed
    >>> distributed.init("auto")  # doctest: +SKIP
    >>> if distributed.is_main():  # doctest: +SKIP
    ...     print("rank 0 of", distributed.world_size())
    >>> distributed.cleanup()  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import torch

__all__ = [
    "requested",
    "is_initialized",
    "init",
    "cleanup",
    "world_size",
    "rank",
    "local_rank",
    "is_main",
    "device_for",
    "barrier",
    "all_reduce_sum",
    "all_gather_object",
    "broadcast_object",
]


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {value!r}") from None


def _dist():
    return torch.distributed if torch.distributed.is_available() else None


def is_initialized() -> bool:
    """Whether a process group is running in this process."""
    d = _dist()
    return bool(d is not None and d.is_initialized())


def requested() -> bool:
    """Whether this process was started as one of several (``WORLD_SIZE`` > 1, as ``torchrun`` sets)."""
    return world_size() > 1


def world_size() -> int:
    """Number of processes: the process group's size, else ``$WORLD_SIZE``, else 1."""
    if is_initialized():
        return torch.distributed.get_world_size()
    return max(1, _env_int("WORLD_SIZE", 1))


def rank() -> int:
    """This process's global rank: the process group's, else ``$RANK``, else 0."""
    if is_initialized():
        return torch.distributed.get_rank()
    return _env_int("RANK", 0)


def local_rank() -> int:
    """This process's rank on its machine (``$LOCAL_RANK``, else 0): the GPU it uses."""
    return _env_int("LOCAL_RANK", 0)


def is_main() -> bool:
    """Whether this is rank 0, the process that prints, logs and writes files."""
    return rank() == 0


def device_for(device: str | torch.device = "auto") -> torch.device:
    """The device this process trains on.

    ``"auto"`` is CUDA when present, else CPU. Among several processes, a CUDA device without an index
    becomes ``cuda:LOCAL_RANK`` (one GPU per process); an explicit index is kept.
    """
    if isinstance(device, str) and device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and dev.index is None and world_size() > 1:
        dev = torch.device("cuda", local_rank())
    return dev


def init(device: str | torch.device = "auto", *, backend: str | None = None) -> bool:
    """Start the process group from ``torchrun``'s environment; a no-op for a single process.

    Args:
        device: the training device (``"auto"``, ``"cpu"``, ``"cuda"``, ...): it picks the backend,
            ``"nccl"`` for CUDA (and makes ``cuda:LOCAL_RANK`` the current device), else ``"gloo"``.
        backend: force a backend instead.

    Returns:
        ``True`` when a process group is running (started now or before), ``False`` for one process.

    Raises:
        RuntimeError: several processes were asked for but ``torch.distributed`` (or the backend) is
            missing, or ``torchrun``'s variables are incomplete.
    """
    if is_initialized():
        return True
    if _env_int("WORLD_SIZE", 1) <= 1:
        return False
    d = _dist()
    if d is None:
        raise RuntimeError(
            f"WORLD_SIZE={os.environ['WORLD_SIZE']} asks for several processes, but this PyTorch build "
            "has no torch.distributed"
        )
    missing = [v for v in ("RANK", "MASTER_ADDR", "MASTER_PORT") if not os.environ.get(v)]
    if missing:
        raise RuntimeError(
            f"WORLD_SIZE={os.environ['WORLD_SIZE']} but {', '.join(missing)} unset: launch with "
            "torchrun (e.g. `torchrun --nproc_per_node 2 -m spikekit train ...`)"
        )
    dev = device_for(device)
    if backend is None:
        backend = "nccl" if dev.type == "cuda" else "gloo"
    available = {"gloo": d.is_gloo_available(), "nccl": d.is_nccl_available()}
    if not available.get(backend, True):
        raise RuntimeError(f"the {backend!r} backend of torch.distributed is not available in this build")
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    d.init_process_group(backend=backend, init_method="env://")
    return True


def cleanup() -> None:
    """Stop the process group (``destroy_process_group``) if one is running."""
    if is_initialized():
        torch.distributed.destroy_process_group()


def _comm_device() -> torch.device:
    """Where tensors for collectives live: the current GPU under NCCL, else the CPU."""
    if torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def barrier() -> None:
    """Wait until every process gets here (nothing for a single process)."""
    if not is_initialized():
        return
    if torch.distributed.get_backend() == "nccl":
        torch.distributed.barrier(device_ids=[torch.cuda.current_device()])
    else:
        torch.distributed.barrier()


def all_reduce_sum(values: torch.Tensor | Sequence[float]) -> torch.Tensor:
    """The sum over processes of ``values`` (a float64 CPU tensor; the values themselves for one process)."""
    t = torch.as_tensor(values, dtype=torch.float64)
    if not is_initialized():
        return t.clone()
    t = t.to(_comm_device())
    torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.SUM)
    return t.cpu()


def all_gather_object(obj: Any) -> list[Any]:
    """Every process's ``obj`` (picklable), in rank order; ``[obj]`` for a single process."""
    if not is_initialized():
        return [obj]
    out: list[Any] = [None] * world_size()
    torch.distributed.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank ``src``'s ``obj`` (picklable) on every process; ``obj`` itself for a single process."""
    if not is_initialized():
        return obj
    box = [obj if rank() == src else None]
    torch.distributed.broadcast_object_list(box, src=src)
    return box[0]
