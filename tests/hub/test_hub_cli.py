"""`python -m audiolab generate --model`: a hub id or a local diffusers folder from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiolab.cli import main
from tests.hub import tiny


def test_generate_from_a_local_folder_writes_audio_and_the_trajectory(
        audioldm2_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, plot = tmp_path / "x.wav", tmp_path / "traj.png"
    assert main(["generate", "a dog barking in a yard", "--model", str(audioldm2_folder), "--steps", "2",
                 "--seconds", "0.5", "--seed", "1", "--guidance", "2.5", "--negative-prompt", "low quality",
                 "--out", str(out), "--plot", str(plot)]) == 0
    audio, rate = sf.read(out)
    assert rate == tiny.SAMPLE_RATE_16K and audio.shape == (8_000,)
    assert plot.stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "estimate: about" in printed and "step 2/2" in printed and "AudioLDM 2" in printed
    assert "negative prompt 'low quality'" in printed


def test_generate_a_stereo_stable_audio_variation(stable_audio_folder: Path, tmp_path: Path) -> None:
    reference = tmp_path / "ref.wav"
    t = np.arange(16_000) / 16_000
    sf.write(reference, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 16_000)
    out = tmp_path / "v.flac"
    assert main(["generate", "a bell", "--model", str(stable_audio_folder), "--reference", str(reference),
                 "--strength", "0.5", "--steps", "4", "--seconds", "0.5", "--out", str(out)]) == 0
    info = sf.info(out)
    assert info.channels == 2 and info.samplerate == tiny.STABLE_AUDIO_RATE and info.frames == 4_000


def test_inpaint_from_the_command_line(stable_audio_3_folder: Path, tmp_path: Path, bell_wav: Path) -> None:
    out = tmp_path / "inpainted.wav"
    assert main(["generate", "a bell", "--model", str(stable_audio_3_folder), "--reference", str(bell_wav),
                 "--inpaint", "0.2", "0.4", "--steps", "2", "--seconds", "0.5", "--out", str(out)]) == 0
    assert sf.info(out).frames == 4_000


def test_offline_a_hub_id_exits_2_with_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    assert main(["generate", "rain", "--model", "cvssp/audioldm2", "--out", str(tmp_path / "x.wav")]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "cvssp/audioldm2 is not on this machine" in error


@pytest.mark.parametrize(("arguments", "message"), [
    (["rain", "--label", "dog"], "--label is for the built-in presets"),
    (["rain", "--vocoder", "griffinlim"], "--vocoder is for the built-in presets"),
    (["rain", "--steps", "0"], "step count"),
    (["rain", "--guidance", "99"], "guidance scale"),
    (["rain", "--seconds", "-1"], "--seconds must be a positive"),
    (["rain", "--inpaint", "1", "2"], "--inpaint regenerates a span"),
    ([], "Give a text prompt"),
])
def test_bad_arguments_exit_2_before_any_model_loads(arguments: list[str], message: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model was loaded before the arguments were checked")

    monkeypatch.setattr("audiolab.hub.backend.HubGenerator.load", never)
    assert main(["generate", *arguments, "--model", "cvssp/audioldm2", "--out", str(tmp_path / "x.wav")]) == 2
    assert message in capsys.readouterr().err


def test_a_model_limit_is_checked_after_the_load_and_before_sampling(
        stable_audio_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "rain", "--model", str(stable_audio_folder), "--seconds", "5",
                 "--out", str(tmp_path / "x.wav")]) == 2
    assert "makes from 0.5 to 1 s; got 5" in capsys.readouterr().err
