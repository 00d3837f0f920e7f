"""A scoped limit on PyTorch's intra-op threads.

Small kernels (embedding rows, a 256-wide softmax) finish before extra threads help, and on a
busy machine OpenMP workers spinning for a share of the cores make them many times slower; the
service and the training loop here run with one thread unless told otherwise. PyTorch is
imported only when a limit is set, so importing this module costs nothing.

Examples
--------
>>> import torch
>>> before = torch.get_num_threads()
>>> with torch_threads(1):
...     torch.get_num_threads()
1
>>> torch.get_num_threads() == before
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from labkit._validate import check_int

__all__ = ["torch_threads"]


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n)``; ``None`` leaves the setting alone."""
    if n is None:
        yield
        return
    n = check_int(n, "num_threads", min_val=1)
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
