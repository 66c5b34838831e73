"""How long a run takes: the pace measured on this machine, and the clock of a run in progress.

Before a run, `Pace.estimate` says how long it should take from the last finished run of the same kind
(seconds per model step, scaled by the steps and the seconds of audio). While it runs, `RunClock` gives the
elapsed time and the time left at the pace of the steps done so far.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

MIN_SECONDS = 0.1  # the shortest audio a step is counted over, so a tiny clip cannot make a step free


@dataclass(frozen=True)
class Work:
    """A run's size: `steps` model steps over `seconds` of audio, of one `kind` (the task and its model)."""

    kind: str
    steps: int
    seconds: float

    @property
    def units(self) -> float:
        """Step-seconds: a step's cost grows with the audio it covers."""
        return max(int(self.steps), 1) * max(float(self.seconds), MIN_SECONDS)


class Pace:
    """The pace of the last finished run of each kind (thread-safe: every session shares one)."""

    def __init__(self) -> None:
        self._rates: dict[str, tuple[float, float]] = {}  # kind -> (seconds per step-second, fixed seconds)
        self._lock = threading.Lock()

    def record(self, work: Work, stepping: float, fixed: float = 0.0) -> None:
        """Remember a finished run: `stepping` seconds spent in its steps, `fixed` on the rest (encoding, vocoding)."""
        if math.isfinite(stepping) and stepping >= 0 and math.isfinite(fixed):
            with self._lock:
                self._rates[work.kind] = (stepping / work.units, max(fixed, 0.0))

    def record_timings(self, work: Work, timings: Mapping[str, float]) -> None:
        """Remember a finished run from its timings: its "sample" time is in the steps, the rest of "total" fixed."""
        total = timings["total"]
        stepping = timings.get("sample", total)
        self.record(work, stepping, total - stepping)

    def estimate(self, work: Work) -> float | None:
        """Expected seconds for `work`, or None before any run of its kind has finished."""
        with self._lock:
            rate = self._rates.get(work.kind)
        return None if rate is None else rate[0] * work.units + rate[1]


class RunClock:
    """The clock of one run: elapsed time, the time left at its own pace, and when to report next."""

    def __init__(self, report_every: float = 0.5) -> None:
        self.started = time.perf_counter()
        self.report_every = report_every
        self._reported = -math.inf
        self._first: tuple[float, int] | None = None  # (time, steps done) when `left` was first asked

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def left(self, done: int, total: int) -> float | None:
        """Seconds left if the remaining steps go at the pace since the first call: what came before the first
        step (loading, encoding) is no step. None until the pace is known."""
        now = time.perf_counter()
        if self._first is None:
            self._first = (now, done)
        since, done_then = self._first
        if done >= total:
            return 0.0
        if done <= done_then:
            return None
        return (now - since) / (done - done_then) * (total - done)

    def due(self) -> bool:
        """Whether `report_every` seconds have passed since the last report (the first is due); marks a report."""
        now = time.perf_counter()
        if now - self._reported < self.report_every:
            return False
        self._reported = now
        return True


def format_seconds(seconds: float) -> str:
    """A duration as people say it: 0.4 s, 12 s, 3 min 05 s, 1 h 02 min."""
    if seconds < 10:
        return f"{seconds:.1f} s"
    rounded = round(seconds)
    if rounded < 60:
        return f"{rounded} s"
    if rounded < 3600:
        return f"{rounded // 60} min {rounded % 60:02d} s"
    return f"{rounded // 3600} h {rounded % 3600 // 60:02d} min"
