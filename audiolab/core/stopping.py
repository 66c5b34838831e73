"""Stopping a long run from another thread: the run's caller arms a stop request, and every model loop
checks it between steps (`check_stop`), so a stopped run frees the CPU within one step.

The request belongs to the thread that armed it, so a blocking call (`pipeline.denoise`, `vocode_mel`)
stops this way; a streaming caller (`generate_iter`) simply stops asking for the next step.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_armed = threading.local()


class Stopped(Exception):
    """A run ended early because it was asked to stop."""


@contextmanager
def stoppable(request: threading.Event) -> Iterator[None]:
    """Within the block, model loops on this thread raise `Stopped` at their next step once `request` is set."""
    previous = getattr(_armed, "request", None)
    _armed.request = request
    try:
        yield
    finally:
        _armed.request = previous


def check_stop() -> None:
    """Raise `Stopped` if this thread's run was asked to stop (nothing outside `stoppable`)."""
    request = getattr(_armed, "request", None)
    if request is not None and request.is_set():
        raise Stopped("Stopped on request.")
