"""A run's life on the page: emptied outputs and an estimate when it is asked for, its progress while it runs,
and the Stop button that ends it.

A tab's run button gets three more listeners: one before its run (`wire_run_start`: empty the outputs, show
the estimate, enable Stop), Stop's (`wire_stop`), and one after the run however it ended (enable the run
button again, disable Stop).

Stop asks a started run to stop and waits for it: the run checks between its model steps and ends itself,
normally. Only a run still waiting in the queue is cancelled (`cancels=`): cancelling a running event races
Gradio's own end-of-event message, which can leave "Error" on the outputs of a run that was merely stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import gradio as gr

from audiolab.core.pace import Pace, RunClock, Work, format_seconds
from audiolab.core.stopping import Stopped, check_stop, stoppable
from audiolab.ui.common import Component, Event

STOPPED = "**Stopped.** Change anything you like and run again."
STOP_WAIT_SECONDS = 30.0  # how long Stop waits for a run to reach its next step (a step is seconds at most)
PACE = Pace()  # this machine's pace for each kind of run, learned from the runs of every session


@dataclass
class RunControl:
    """One run's controls: Stop sets `stop`; the run sets `started` when it starts and `finished` when it ends."""

    stop: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    finished: threading.Event = field(default_factory=threading.Event)


T = TypeVar("T")
_RUNS: dict[tuple[str, str], RunControl] = {}  # (session, tab) -> its run's controls, from the click to the end
_RUNS_LOCK = threading.Lock()


# ---- run controls -----------------------------------------------------------------------------------


def _run_key(request: gr.Request | None, tab: str) -> tuple[str, str]:
    return (getattr(request, "session_hash", None) or "", tab)


def _open_run(request: gr.Request | None, tab: str) -> None:
    """On a click: fresh controls for the run it asks for (whatever an earlier Stop left behind)."""
    with _RUNS_LOCK:
        _RUNS[_run_key(request, tab)] = RunControl()


@contextmanager
def run_control(request: gr.Request | None, tab: str) -> Iterator[RunControl]:
    """The controls of this session's run on `tab` (opened by its click, or now for an API call), marked started
    and, at the end, finished."""
    key = _run_key(request, tab)
    with _RUNS_LOCK:
        control = _RUNS.setdefault(key, RunControl())
    control.started.set()
    try:
        yield control
    finally:
        control.finished.set()
        with _RUNS_LOCK:
            if _RUNS.get(key) is control:
                del _RUNS[key]


def run_until_stopped(request: gr.Request | None, tab: str, work: Callable[[], T]) -> T | None:
    """Run a blocking model call as this session's run on `tab`; None if Stop ended it (at its next model step, or
    before it started)."""
    with run_control(request, tab) as control:
        try:
            with stoppable(control.stop):
                check_stop()  # stopped while it waited in the queue
                return work()
        except Stopped:
            return None


def stop_run(request: gr.Request | None, tab: str) -> bool:
    """Ask this session's run on `tab` to stop; if it has started, wait until it has ended and say so."""
    with _RUNS_LOCK:
        control = _RUNS.setdefault(_run_key(request, tab), RunControl())
    control.stop.set()
    if control.started.is_set():
        control.finished.wait(STOP_WAIT_SECONDS)
        return True
    return False


# ---- what the summary says before and during a run --------------------------------------------------


def estimate_summary(work: Work | None) -> str:
    """Before a run: how long it should take, at the pace of this machine's last run of its kind."""
    if work is None:
        return ""
    steps = f"{work.steps} steps" if work.steps else "the default steps"
    seconds = PACE.estimate(work)
    if seconds is None:
        return f"**Estimate:** none yet for {steps}: this is this machine's first run of its kind."
    return f"**Estimate:** about {format_seconds(seconds)} for {steps}, at the pace of this machine's last such run."


def stopped_outputs(count: int, summary_at: int) -> tuple[Any, ...]:
    """A stopped run's outputs: left as they are (emptied when it was asked for), and STOPPED in the summary."""
    return tuple(STOPPED if index == summary_at else gr.skip() for index in range(count))


def running_summary(estimate: str, clock: RunClock, done: int, total: int) -> str:
    """While a run streams: the steps done, the time since it started and the time left at its own pace."""
    line = f"**Running:** step {done} of {total} · {format_seconds(clock.elapsed())} elapsed"
    left = clock.left(done, total)
    line += " · turning the result into audio…" if done >= total else (
        f" · about {format_seconds(left)} left" if left is not None else "")
    return "\n\n".join(part for part in (estimate, line) if part)


# ---- wiring -----------------------------------------------------------------------------------------


def run_buttons(label: str) -> tuple[gr.Button, gr.Button]:
    """A tab's run button and, beside it, its Stop (enabled while a run is queued or running)."""
    with gr.Row():
        button = gr.Button(label, variant="primary", scale=4)
        stop = gr.Button("Stop", variant="stop", scale=1, interactive=False)
    return button, stop


def cleared(component: Component) -> Any:
    """What an output holds before a run: nothing (a step picker: no steps to pick)."""
    if isinstance(component, gr.Dropdown):
        return gr.update(choices=[], value=None)
    return None


def wire_run_start(
    button: gr.Button, outputs: Sequence[Component], summary: gr.Markdown, stop: gr.Button | None = None,
    tab: str = "", estimate: Callable[..., Work | None] | None = None, inputs: Sequence[Component] = (),
) -> None:
    """On each click, before the run: empty the tab's outputs, so an error never sits above an old result; put
    the estimate for `estimate(*inputs)` in the summary; and, with a Stop, swap which of the two is enabled.

    Register it before the run's own click listener: Gradio runs one trigger's listeners in order, each to its
    end, so the outputs are emptied before the run starts and never after it ends.
    """
    buttons = [button, stop] if stop is not None else []

    def start(request: gr.Request, *values: Any) -> tuple[Any, ...]:
        _open_run(request, tab)
        text = estimate_summary(estimate(*values)) if estimate is not None else ""
        swap = [gr.update(interactive=False), gr.update(interactive=True)] if buttons else []
        return (*(cleared(output) for output in outputs), text, *swap)

    button.click(start, list(inputs), [*outputs, summary, *buttons], queue=False, show_progress="hidden",
                 api_name=False)


def wire_stop(stop: gr.Button, button: gr.Button, run: Event, summary: gr.Markdown, tab: str) -> None:
    """Stop ends the tab's run: a started one at its next model step (Stop waits for it), one still waiting in
    the queue at once. After the run, however it ended, the run button is enabled again and Stop disabled."""

    def stopped(request: gr.Request) -> Any:
        # A started run writes its own summary: STOPPED, or its result if it finished first.
        return gr.skip() if stop_run(request, tab) else STOPPED

    stop.click(stopped, None, summary, queue=False, show_progress="hidden", api_name=False).then(
        None, None, None, cancels=[run], queue=False, show_progress="hidden", api_name=False)
    run.then(lambda: (gr.update(interactive=True), gr.update(interactive=False)), None, [button, stop],
             queue=False, show_progress="hidden", api_name=False)
