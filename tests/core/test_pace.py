"""A run's pace and clock: estimates from the last run of a kind, and the time left at a run's own pace."""

from __future__ import annotations

import threading
import time

import pytest
import torch

from audiolab.core.diffusion import Schedule, make_scheduler, sample
from audiolab.core.pace import Pace, RunClock, Work, format_seconds
from audiolab.core.stopping import Stopped, check_stop, stoppable


def test_an_estimate_scales_the_last_runs_pace_by_steps_and_seconds() -> None:
    pace = Pace()
    short = Work("generation tiny", steps=10, seconds=2.0)
    assert pace.estimate(short) is None  # nothing measured yet
    pace.record_timings(short, {"encode": 0.5, "sample": 4.0, "vocode": 1.5, "total": 6.0})
    assert pace.estimate(short) == pytest.approx(6.0)
    assert pace.estimate(Work("generation tiny", steps=1000, seconds=2.0)) == pytest.approx(400.0 + 2.0)
    assert pace.estimate(Work("generation tiny", steps=10, seconds=4.0)) == pytest.approx(8.0 + 2.0)
    assert pace.estimate(Work("generation other", steps=10, seconds=2.0)) is None  # another kind, another pace
    pace.record_timings(Work("restoration", steps=0, seconds=3.0), {"total": 1.5})  # 0 steps: the default count
    assert pace.estimate(Work("restoration", steps=0, seconds=6.0)) == pytest.approx(3.0)


def test_the_clock_says_what_is_left_at_the_pace_since_the_first_step_and_when_to_report() -> None:
    clock = RunClock(report_every=0.2)
    time.sleep(0.2)  # loading and encoding: not a step, so not in the pace
    assert clock.left(1, 100) is None  # the first step: no pace yet
    time.sleep(0.05)
    assert clock.left(1, 100) is None
    left = clock.left(11, 100)
    assert left is not None and 0.05 * 89 / 10 <= left < 0.2 * 89 / 10
    assert clock.left(100, 100) == 0 and clock.elapsed() >= 0.25
    assert clock.due() and not clock.due()  # the first report is due, the next one only after report_every
    time.sleep(0.25)
    assert clock.due()


@pytest.mark.parametrize(("seconds", "text"), [(0.42, "0.4 s"), (12.4, "12 s"), (185, "3 min 05 s"),
                                               (3725, "1 h 02 min")])
def test_durations_read_as_people_say_them(seconds: float, text: str) -> None:
    assert format_seconds(seconds) == text


def test_a_stop_request_ends_the_sampler_at_its_next_step_on_its_own_thread_only() -> None:
    schedule = Schedule("cosine")
    calls = 0
    request = threading.Event()

    def denoiser(x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        nonlocal calls
        calls += 1
        if calls == 3:
            request.set()
        return torch.zeros_like(x_t)

    loop = sample(denoiser, make_scheduler("ddim", schedule), schedule, torch.randn(1, 8), 50)
    with stoppable(request), pytest.raises(Stopped):
        list(loop)
    assert calls == 3  # stopped before the 4th model call
    check_stop()  # outside the block nothing is armed: no error
    assert len(list(sample(denoiser, make_scheduler("ddim", schedule), schedule, torch.randn(1, 8), 5))) == 6
