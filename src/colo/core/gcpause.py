"""Python's cyclic garbage collector held off while a process builds what it keeps.

The collector runs by allocation counts and walks every tracked object in its oldest
generation now and then. While a process builds hundreds of thousands of objects that
live as long as it does (a simulated day's pods, colo-batch's first listing), those walks
find nothing to free (reference counting frees the rest): a tenth of a simulated day,
and 0.14-0.21 s of cpu in a cold start of colo-batch listing 10,000 pods (2 cores,
measured with gc.callbacks).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def cyclic_gc_paused(*, freeze: bool = False) -> Iterator[None]:
    """The collector off inside, as it was before afterwards.

    `freeze`: on the way out, every object alive then (what was built inside, and all
    older ones) moves to the permanent generation (`gc.freeze`), which the collector
    never walks again; only for objects that live as long as the process.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if was_enabled:
            gc.enable()
