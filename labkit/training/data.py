"""The input pipeline: a DataLoader with the knobs that matter, and a dataset that stalls it.

``num_workers`` moves loading and preprocessing into worker processes so it overlaps compute;
``persistent_workers`` keeps them alive between epochs (start-up costs ~0.1-1 s per worker);
``pin_memory`` puts batches in page-locked host memory so a host-to-GPU copy with
``non_blocking=True`` can run asynchronously (pinning only helps when the destination is a CUDA
device, so :func:`make_loader` turns it off, with a log line, elsewhere); ``prefetch_factor``
is how many batches each worker prepares ahead.

:class:`StallingDataset` reproduces an input pipeline stall: every item costs a fixed wait, as a
read from slow storage or a remote object store does. The wait is real time spent outside the
model, which is exactly what the training loop's data/compute split detects and what worker
processes hide.

Examples
--------
>>> ds = torch.utils.data.TensorDataset(torch.arange(10.0), torch.arange(10))
>>> loader = make_loader(ds, batch_size=4, shuffle=False, device="cpu")
>>> [len(x) for x, _ in loader]  # drop_last=True by default: every step sees a full batch
[4, 4]
"""

from __future__ import annotations

import logging
import time

import torch
from torch.utils.data import DataLoader, Dataset

from labkit._validate import check_bool, check_int, check_real
from labkit.device import resolve

__all__ = ["StallingDataset", "make_loader"]

log = logging.getLogger(__name__)


class StallingDataset(Dataset):
    """Wrap a dataset so that reading each item waits ``latency_s`` seconds (simulated I/O).

    >>> ds = StallingDataset(torch.utils.data.TensorDataset(torch.zeros(3)), latency_s=0.0)
    >>> len(ds)
    3
    """

    def __init__(self, dataset: Dataset, *, latency_s: float = 1e-4) -> None:
        self.dataset = dataset
        self.latency_s = check_real(latency_s, "latency_s", min_val=0, unit="seconds")

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int):
        if self.latency_s:
            time.sleep(self.latency_s)
        return self.dataset[index]


def make_loader(
    dataset: Dataset,
    *,
    batch_size: int,
    shuffle: bool = True,
    num_workers: int = 0,
    pin_memory: bool | None = None,
    persistent_workers: bool = False,
    prefetch_factor: int | None = None,
    drop_last: bool = True,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> DataLoader:
    """A :class:`~torch.utils.data.DataLoader` set up for training on ``device``.

    Parameters
    ----------
    batch_size
        Samples per batch.
    num_workers
        Worker processes (0 loads in the training process).
    pin_memory
        Page-locked batches for asynchronous host-to-GPU copies; ``None`` means "when the
        device is CUDA". Ignored (and logged) on other devices.
    persistent_workers
        Keep workers between epochs; needs ``num_workers > 0``.
    prefetch_factor
        Batches prepared ahead per worker; needs ``num_workers > 0`` (PyTorch's default is 2).
    drop_last
        Drop a final partial batch, so throughput and compiled shapes stay constant.
    seed
        Seeds the shuffling order, so runs with different settings see the same batches.
    """
    batch_size = check_int(batch_size, "batch_size", min_val=1)
    num_workers = check_int(num_workers, "num_workers", min_val=0)
    persistent_workers = check_bool(persistent_workers, "persistent_workers")
    if persistent_workers and num_workers == 0:
        raise ValueError("persistent_workers=True needs num_workers > 0 (got num_workers=0)")
    if prefetch_factor is not None:
        prefetch_factor = check_int(prefetch_factor, "prefetch_factor", min_val=1)
        if num_workers == 0:
            raise ValueError(
                f"prefetch_factor={prefetch_factor!r} needs num_workers > 0 (got num_workers=0)"
            )
    dev = resolve(device)
    if pin_memory is None:
        pin_memory = dev.type == "cuda"
    elif pin_memory and dev.type != "cuda":
        # DataLoader would warn on stderr; pinning only speeds up copies to a CUDA device.
        log.info("pin_memory=True has no effect on device %s; loading without pinning", dev)
        pin_memory = False
    generator = torch.Generator().manual_seed(seed)
    extra = {"prefetch_factor": prefetch_factor} if prefetch_factor is not None else {}
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=persistent_workers,
        drop_last=drop_last,
        generator=generator,
        **extra,
    )
