"""AudioLDM 2's HiFi-GAN as a third vocoder: library, command line and the Vocoder tab's handler."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiolab.cli import main
from audiolab.hub.hifigan import HiFiGan
from audiolab.ui import hifigan as ui_hifigan
from tests.hub import tiny


def test_hifigan_resynthesises_a_recording_at_its_length(audioldm2_folder: Path, bell: np.ndarray) -> None:
    vocoder = HiFiGan.load(audioldm2_folder)
    assert vocoder.sample_rate == 16_000 and vocoder.settings.hop_length == tiny.AUDIOLDM2_HOP
    result = vocoder.vocode((16_000, bell))
    assert result.audio.shape == bell.shape and np.abs(result.audio).max() <= 1.0
    assert "HiFi-GAN (Kong et al. 2020)" in result.method and "audioldm2-tiny" in result.method


def test_only_an_audioldm2_checkpoint_has_one(stable_audio_folder: Path) -> None:
    with pytest.raises(ValueError, match="comes from an AudioLDM 2 checkpoint"):
        HiFiGan.load(stable_audio_folder)


def test_vocode_hifigan_from_the_command_line(audioldm2_folder: Path, bell_wav: Path, tmp_path: Path) -> None:
    out = tmp_path / "hifigan.wav"
    assert main(["vocode", str(bell_wav), "--method", "hifigan", "--model", str(audioldm2_folder),
                 "--out", str(out)]) == 0
    assert sf.info(out).frames == 32_000


def test_the_vocoder_tab_handler_compares_it_with_the_input(pipeline, audioldm2_folder: Path, bell_wav: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ui_hifigan, "get_pipeline", lambda name: pipeline)
    (rate, audio), summary = ui_hifigan.run_hifigan("synth-tiny", str(audioldm2_folder), str(bell_wav), None,
                                                    "Recording")
    assert rate == 16_000 and audio.shape == (32_000,)
    assert "HiFi-GAN" in summary and "log-mel L1" in summary and "MR-STFT" in summary
