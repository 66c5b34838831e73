"""The Denoise tab's settings: those a method and task ignore are greyed out, and greyed out means ignored."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import audiolab.ui.restoration as tab
from audiolab.restoration.degradations import TASKS
from audiolab.ui.restoration import (
    METHOD_CHOICES,
    SETTINGS,
    method_for_task,
    on_task_change,
    settings_for,
    settings_in_use,
)
from tests.restoration.test_restoration import small_restorer

METHODS = [value for _label, value in METHOD_CHOICES]
COMBINATIONS = [(method, task) for method, task in itertools.product(METHODS, TASKS)
                if method != "diffgmm" or task == "denoise"]  # DiffGMM only denoises
DEFAULTS: dict[str, float] = {"steps": 0, "strength": 0.3, "guidance": 0.0, "attenuation_limit": 60, "cutoff": 4000}
MOVED: dict[str, float] = {"steps": 7, "strength": 0.8, "guidance": 0.5, "attenuation_limit": 6, "cutoff": 2500}


def test_each_setting_is_in_use_exactly_where_a_run_reads_it() -> None:
    assert settings_in_use("diffgmm", "denoise") == {"steps": True, "strength": False, "guidance": False,
                                                      "attenuation_limit": True, "cutoff": False}
    assert settings_in_use("score", "denoise") == {"steps": True, "strength": True, "guidance": False,
                                                    "attenuation_limit": True, "cutoff": False}
    assert settings_in_use("score", "bandwidth") == {"steps": True, "strength": False, "guidance": True,
                                                      "attenuation_limit": False, "cutoff": True}
    assert settings_in_use("baseline", "inpaint") == {"steps": False, "strength": False, "guidance": False,
                                                       "attenuation_limit": False, "cutoff": False}
    for method, task in COMBINATIONS:
        updates = settings_for(method, task)
        assert [update["interactive"] for update in updates] == [settings_in_use(method, task)[k] for k in SETTINGS]


def test_picking_a_task_picks_its_default_method_but_keeps_the_baseline() -> None:
    assert method_for_task("diffgmm", "bandwidth")["value"] == "score"  # DiffGMM only denoises
    assert method_for_task("diffgmm", "inpaint")["value"] == "score"
    assert method_for_task("score", "denoise")["value"] == "diffgmm"  # the default denoiser
    for method, task in [("diffgmm", "denoise"), ("score", "declip"), ("baseline", "declip"), ("baseline", "denoise")]:
        assert "value" not in method_for_task(method, task)  # an empty update: the choice stands


def test_a_task_change_answers_with_the_method_and_the_settings_for_it_together() -> None:
    method, *updates = on_task_change("diffgmm", "bandwidth")
    assert method["value"] == "score"
    assert [u["interactive"] for u in updates] == [settings_in_use("score", "bandwidth")[k] for k in SETTINGS]
    method, *updates = on_task_change("baseline", "declip")  # the choice stands, and the settings follow it
    assert "value" not in method
    assert [u["interactive"] for u in updates] == [settings_in_use("baseline", "declip")[k] for k in SETTINGS]


class _Recorder:
    """A pipeline stand-in that records what the tab asks of it and stops there."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def denoise(self, recording: str, **kwargs: Any) -> None:
        self.calls.append(kwargs)


@pytest.mark.parametrize(("method", "task"), COMBINATIONS)
def test_a_greyed_out_setting_does_not_reach_the_restorer(method: str, task: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Moving a setting the method and task do not use changes nothing the tab passes on, except steps and the
    cut-off, which the restorer itself ignores (next test)."""
    recorder = _Recorder()
    monkeypatch.setattr(tab, "get_pipeline", lambda preset: recorder)
    tab.run_denoise("any", "in.wav", None, method, task, **DEFAULTS)
    for name, used in settings_in_use(method, task).items():
        tab.run_denoise("any", "in.wav", None, method, task, **{**DEFAULTS, name: MOVED[name]})
        if not used and name not in ("steps", "cutoff"):
            assert recorder.calls[-1] == recorder.calls[0], name
        elif used:
            assert recorder.calls[-1] != recorder.calls[0], name


def test_the_restorer_ignores_steps_for_the_baseline_and_the_cut_off_outside_bandwidth_extension() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(16_000) / 16_000
    noisy = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.normal(size=t.size)).astype(np.float32)
    restorer = small_restorer()
    for method, steps in (("baseline", None), ("diffgmm", 2)):
        first = restorer.restore(noisy, method, steps=steps, cutoff_hz=4000.0).audio  # type: ignore[arg-type]
        moved = restorer.restore(noisy, method, steps=steps, cutoff_hz=2500.0).audio  # type: ignore[arg-type]
        assert np.array_equal(first, moved), method
    plain = restorer.restore(noisy, "baseline").audio
    assert np.array_equal(restorer.restore(noisy, "baseline", steps=7).audio, plain)
    gapped = noisy.copy()
    gapped[4000:5600] = 0.0
    plain = restorer.restore(gapped, "baseline", "inpaint").audio
    assert np.array_equal(restorer.restore(gapped, "baseline", "inpaint", steps=7, cutoff_hz=2500.0).audio, plain)
