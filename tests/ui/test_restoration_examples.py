"""The Denoise & restore tab's examples: short real speech, shipped with credits, each restored by its own task."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiolab.examples import RESTORATION_EXAMPLES, SHIPPED_EXAMPLES, example_folder
from audiolab.pipeline import AudioLabPipeline
from audiolab.restoration.degradations import TASKS
from audiolab.restoration.restorer import Restorer
from audiolab.ui.restoration import example_rows, run_denoise
from tests.conftest import TEST_PRESET

ROWS = example_rows()


@pytest.mark.parametrize("row", ROWS, ids=[example.name for example in RESTORATION_EXAMPLES])
def test_every_example_is_short_16k_mono_speech_and_restores_with_its_task(row: list[str],
                                                                           pipeline: AudioLabPipeline) -> None:
    recording, clean, method, task = row
    for path in (recording, clean):
        info = sf.info(path)
        assert Path(path).parent == example_folder()  # served from the examples folder, not from the package
        assert info.samplerate == 16_000 and info.channels == 1 and 2.0 <= info.duration <= 5.0
    assert sf.info(recording).frames == sf.info(clean).frames
    assert task in TASKS and method == Restorer.default_method(task)
    result = pipeline.denoise(recording, method=method, task=task)
    assert result.audio.size == sf.info(recording).frames and np.all(np.isfinite(result.audio))
    assert not result.notes or not result.notes[0].startswith("Recording:")  # nothing to convert: 16 kHz mono already
    pipeline.restorer_reference(clean, result)  # the clean recording fits the input


def test_the_examples_cover_every_task_and_are_small_and_credited() -> None:
    assert {row[3] for row in ROWS} == set(TASKS)
    shipped = sorted(SHIPPED_EXAMPLES.glob("*.flac"))
    assert len(shipped) == 2 * len(RESTORATION_EXAMPLES) and sum(p.stat().st_size for p in shipped) < 1_000_000
    credits = (SHIPPED_EXAMPLES / "CREDITS.md").read_text(encoding="utf-8")
    assert "LJ Speech" in credits and "public domain" in credits and "CC0" in credits
    for example in RESTORATION_EXAMPLES:
        assert f"`{example.name}.flac`" in credits and example.how() in credits
        if example.noise:
            assert example.noise_author in credits


def test_the_summary_rates_input_and_output_with_and_without_the_clean_recording() -> None:
    recording, clean, method, task = ROWS[0]
    *_outputs, summary = run_denoise(TEST_PRESET, recording, clean, method, task)
    header, _rule, noisy, restored = summary.split("\n\n")[-1].splitlines()
    assert header == "| | DNSMOS OVRL ↑ | SIG ↑ | BAK ↑ | SI-SDR dB ↑ | PESQ-wb ↑ | STOI ↑ |"
    assert noisy.startswith("| input |") and restored.startswith("| restored |")
    bak = [float(row.split("|")[4]) for row in (noisy, restored)]
    assert bak[1] > bak[0]  # DiffGMM takes out the rain: less background heard
    *_outputs, summary = run_denoise(TEST_PRESET, recording, None, method, task)
    assert "| | DNSMOS OVRL ↑ | SIG ↑ | BAK ↑ |\n" in summary and "SI-SDR" not in summary


def test_a_recording_too_short_for_dnsmos_is_still_restored(tmp_path: Path) -> None:
    short = tmp_path / "short.wav"
    sf.write(short, sf.read(ROWS[0][0])[0][:8_000], 16_000)
    *_outputs, summary = run_denoise(TEST_PRESET, str(short), None, "baseline", "denoise")
    assert "| input | — | — | — |" in summary and "DNSMOS judges at least 1 s" in summary
