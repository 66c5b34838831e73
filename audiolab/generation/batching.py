"""Serving many users at once: generation requests that wait together run as one batch.

Each caller (a page's click, an API request) iterates `GenerationBatcher.generate_iter` in its own
thread, exactly as it would iterate `BuiltinGenerator.generate_iter`: Steps while sampling, then its
Result. Behind it one worker thread runs the model, one batch at a time. When the worker becomes
free it takes the oldest waiting request and every other waiting request with the same
`batch_key` (up to `max_batch`), and runs them as one batched reverse process
(`generate_group_iter`); each caller receives only its own share. A caller that stops iterating
(the page's Stop button) leaves its batch; a batch that every caller has left stops early.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from audiolab.core.diffusion import Step
from audiolab.core.result import Result
from audiolab.generation.pipeline import BuiltinGenerator, GenerationRequest

DEFAULT_MAX_BATCH = 8  # bounds memory: a batch of 8 four-second clips needs a few hundred MB of activations
_log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Ticket:
    """One waiting caller: its checked request, where its Steps and Result go, and whether it has left."""

    request: GenerationRequest
    key: tuple[object, ...]
    outbox: queue.Queue[Step | Result | BaseException] = field(default_factory=queue.Queue)
    left: threading.Event = field(default_factory=threading.Event)


class GenerationBatcher:
    """Coalesces concurrent `generate_iter` calls on one generator into batched reverse processes."""

    def __init__(self, generator: BuiltinGenerator, max_batch: int = DEFAULT_MAX_BATCH) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1; got {max_batch}.")
        self.generator = generator
        self.max_batch = max_batch
        self._waiting: list[_Ticket] = []
        self._wake = threading.Condition()
        self._worker: threading.Thread | None = None
        self.batch_sizes: list[int] = []  # every batch run so far, for tests and the benchmark
        self._running = 0  # requests in the batch the worker is sampling now

    def load(self) -> int:
        """How many requests the model is sampling or holding now: a new request's place in the queue, less one."""
        with self._wake:
            return self._running + sum(not ticket.left.is_set() for ticket in self._waiting)

    def generate_iter(self, request: GenerationRequest) -> Iterator[Step | Result]:
        """This request's Steps and then its Result, sampled in a batch with whoever waits alongside."""
        checked = self.generator.check_request(request)  # bad input fails here, in the caller's thread
        ticket = _Ticket(checked, self.generator.batch_key(checked))
        with self._wake:
            self._waiting.append(ticket)
            self._start_worker()
            self._wake.notify()
        try:
            while True:
                item = ticket.outbox.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, Result):
                    return
        finally:
            ticket.left.set()  # finished, failed or abandoned: the worker stops serving this caller

    def _start_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._serve, name="audiolab-generation", daemon=True)
            self._worker.start()

    def _next_batch(self) -> list[_Ticket]:
        """Wait for a request; take it and every waiting request that can share its batch."""
        with self._wake:
            while not self._waiting:
                self._wake.wait()
            key = self._waiting[0].key
            batch = [ticket for ticket in self._waiting if ticket.key == key][: self.max_batch]
            self._waiting = [ticket for ticket in self._waiting if ticket not in batch]
        return [ticket for ticket in batch if not ticket.left.is_set()]

    def _serve(self) -> None:
        while True:
            batch = self._next_batch()
            if batch:
                self._run(batch)

    def _run(self, batch: list[_Ticket]) -> None:
        """One batched reverse process; each caller's share goes to its outbox.

        A request that fails before sampling starts (an unreadable reference, say) is retried alone with
        each of its neighbours, so only its own caller hears of the failure.
        """
        self.batch_sizes.append(len(batch))
        self._running = len(batch)
        handed_out = False

        def everyone_left() -> bool:  # asked before every model call: Stop takes effect within one step
            return all(ticket.left.is_set() for ticket in batch)

        try:
            for items in self.generator.generate_group_iter([ticket.request for ticket in batch], stop=everyone_left):
                handed_out = True
                for ticket, item in zip(batch, items):
                    if not ticket.left.is_set():
                        ticket.outbox.put(item)
        except Exception as error:  # noqa: BLE001 - every caller must hear of the failure, in its own thread
            if len(batch) > 1 and not handed_out:
                for ticket in batch:
                    self._run([ticket])
                return
            if not isinstance(error, ValueError):
                _log.exception("generation batch of %d failed", len(batch))
            for ticket in batch:
                ticket.outbox.put(error)
        finally:
            self._running = 0
