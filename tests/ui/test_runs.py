"""A run's controls without a browser: Stop ends a blocking run at its next model step, or before it starts."""

from __future__ import annotations

import threading
import time
from typing import Any

import gradio as gr

from audiolab.ui import runs
from audiolab.ui.restoration import run_denoise
from audiolab.ui.vocoder import run_vocoder
from tests.conftest import TEST_PRESET


def _stopped(outputs: tuple[Any, ...]) -> bool:
    """Whether a handler's outputs are a stopped run's: everything left as it was, STOPPED in the summary."""
    return outputs[-1] == runs.STOPPED and all(isinstance(value, type(gr.skip())) for value in outputs[:-1])


def test_stop_ends_a_started_blocking_run_at_its_next_step_and_waits_for_it(bell_wav) -> None:
    finished: dict[str, Any] = {}

    def vocode() -> None:  # 50 steps with projections: far longer than one step
        finished["outputs"] = run_vocoder(TEST_PRESET, str(bell_wav), None, "Recording", 50, 8, 0, 16)

    worker = threading.Thread(target=vocode)
    worker.start()
    deadline = time.monotonic() + 60
    while (control := runs._RUNS.get(("", "vocode"))) is None or not control.started.is_set():
        assert time.monotonic() < deadline, "the run never started"
        time.sleep(0.01)
    assert runs.stop_run(None, "vocode")  # it had started, so Stop waited for it ...
    assert control.finished.is_set()  # ... to end
    worker.join(timeout=10)
    assert not worker.is_alive() and _stopped(finished["outputs"])
    assert ("", "vocode") not in runs._RUNS  # a finished run leaves nothing behind


def test_a_run_stopped_while_it_waited_in_the_queue_ends_before_any_work(bell_wav) -> None:
    runs._open_run(None, "denoise")  # the click
    assert not runs.stop_run(None, "denoise")  # Stop before the run started: nothing to wait for
    assert _stopped(run_denoise(TEST_PRESET, str(bell_wav), None, "baseline", "denoise"))
    assert run_denoise(TEST_PRESET, str(bell_wav), None, "baseline", "denoise")[-1] != runs.STOPPED  # the next run
