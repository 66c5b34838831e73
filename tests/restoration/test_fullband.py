"""Full-band output: a 44.1/48 kHz recording's band above the models' reach comes back, gained like the band below."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiolab.cli import main
from audiolab.core.audio import resample
from audiolab.restoration.fullband import band_gain, frame_size, full_band
from audiolab.restoration.pipeline import RestorationPipeline
from tests.conftest import TEST_PRESET

RATE = 48_000


def _band_energy(wave: np.ndarray, low_hz: float, high_hz: float, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(wave)) ** 2
    frequencies = np.fft.rfftfreq(wave.size, 1 / rate)
    return float(spectrum[(frequencies >= low_hz) & (frequencies < high_hz)].sum())


def _noise(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))).astype(np.float32)


def test_an_unchanged_restoration_gives_back_the_recording() -> None:
    recording = _noise()
    restored = resample(recording, RATE, 16_000)  # what a method that changes nothing returns
    output = full_band(recording, RATE, restored, 16_000)
    assert output.shape == recording.shape and output.dtype == np.float32
    error = np.sum((output - recording)[2048:-2048] ** 2) / np.sum(recording[2048:-2048] ** 2)
    assert 10 * np.log10(error) < -45  # the upper band is the recording's own, the lower band its round trip


def test_the_upper_band_is_turned_down_as_much_as_the_band_below_the_crossover() -> None:
    recording = _noise()
    restored = 0.1 * resample(recording, RATE, 16_000)  # the restoration took 20 dB off everywhere
    output = full_band(recording, RATE, restored, 16_000)
    for low, high in ((1000, 6000), (9000, 20_000)):
        change = 10 * np.log10(_band_energy(output, low, high) / _band_energy(recording, low, high))
        assert change == pytest.approx(-20, abs=1.0)


def test_the_upper_band_follows_the_restorations_gain_over_time() -> None:
    recording = _noise(seconds=2.0, seed=4)
    restored = resample(recording, RATE, 16_000)
    restored[16_000:] *= 0.1  # the second second turned down by 20 dB, the first left alone
    output = full_band(recording, RATE, restored, 16_000)
    for (start, end), expected in (((4_000, 44_000), 0.0), ((52_000, 92_000), -20.0)):
        change = _band_energy(output[start:end], 9000, 20_000) / _band_energy(recording[start:end], 9000, 20_000)
        assert 10 * np.log10(change) == pytest.approx(expected, abs=1.0)


def test_long_recordings_are_combined_in_segments_without_seams(monkeypatch: pytest.MonkeyPatch) -> None:
    from audiolab.restoration import fullband

    recording = _noise(seconds=1.0, seed=5)
    restored = 0.3 * resample(recording, RATE, 16_000)
    whole = full_band(recording, RATE, restored, 16_000)
    monkeypatch.setattr(fullband, "SEGMENT_SAMPLES", 5000)  # ten segments, boundaries at no frame edge
    assert np.max(np.abs(full_band(recording, RATE, restored, 16_000) - whole)) < 1e-6


def test_the_gain_is_frame_by_frame_and_never_above_one() -> None:
    import torch

    n_fft = frame_size(RATE)
    assert n_fft == 1024 and frame_size(16_000) == 256
    frequencies = torch.fft.rfftfreq(n_fft, 1 / RATE)
    noisy = torch.ones(frequencies.numel(), 3, dtype=torch.complex64)
    restored = noisy * torch.tensor([0.5, 2.0, 0.0])  # halved, doubled (a gain above one is capped), removed
    assert band_gain(noisy, restored, frequencies).tolist() == pytest.approx([0.5, 1.0, 0.0])
    silent = torch.zeros_like(noisy)
    assert band_gain(silent, silent, frequencies).tolist() == [1.0, 1.0, 1.0]  # digital silence stays as it is


def test_only_denoising_above_the_models_rate_returns_full_band() -> None:
    pipeline = RestorationPipeline(input_rate=16_000)
    t = np.arange(RATE) / RATE
    speech_like = (0.2 * np.sin(2 * np.pi * 300 * t) * (t > 0.3)).astype(np.float32) + _noise(seed=1)
    result = pipeline.denoise((RATE, speech_like), method="baseline")
    rate, audio = result.extras["full_band"]
    assert rate == RATE and audio.shape == speech_like.shape and result.sample_rate == 16_000
    assert any("48 kHz" in note for note in result.notes)
    assert _band_energy(audio, 9000, 20_000) < _band_energy(speech_like, 9000, 20_000)  # the hiss above is reduced too
    assert "full_band" not in pipeline.denoise((16_000, speech_like[:16_000]), method="baseline").extras
    low_passed = resample(resample(speech_like, RATE, 8000), 8000, RATE)  # nothing above 4 kHz
    assert "full_band" not in pipeline.denoise((RATE, low_passed), method="baseline", task="bandwidth").extras


def test_the_command_writes_a_48_khz_recording_at_48_khz(tmp_path: Path) -> None:
    recording = tmp_path / "in48k.wav"
    sf.write(recording, _noise(seconds=0.5, seed=2), RATE)
    out = tmp_path / "out.wav"
    assert main(["denoise", str(recording), "--method", "baseline", "--out", str(out), "--preset", TEST_PRESET]) == 0
    info = sf.info(out)
    assert info.samplerate == RATE and info.frames == RATE // 2


@pytest.mark.parametrize("rate", [48_000, 44_100, 22_050])
def test_a_clipped_recording_at_another_rate_keeps_its_clipped_samples_marked(rate: int) -> None:
    # resampling rounds the flat tops into ripples above and below the level; the pipeline marks again, at
    # 16 kHz, every sample whose instant falls in a clipped run of the recording
    def signal(t: np.ndarray) -> np.ndarray:
        return 0.5 * np.sin(2 * np.pi * 220 * t) + 0.2 * np.sin(2 * np.pi * 1330 * t + 1.0)

    sine = signal(np.arange(rate // 2) / rate).astype(np.float32)
    clipped = np.clip(sine, -0.15, 0.15)
    result = RestorationPipeline(input_rate=16_000).denoise((rate, clipped), method="baseline", task="declip")
    marked = np.abs(result.input_audio) >= 0.15 * 0.999  # what the declipper treats as clipped
    truly = np.abs(signal(np.arange(result.input_audio.size) / 16_000)) >= 0.15
    # a few at the runs' edges at most, missed or marked wrongly (marking only what rises above: 40% missed)
    assert np.sum(truly & ~marked) <= 0.05 * truly.sum() and np.sum(marked & ~truly) <= 0.05 * truly.sum()
    assert np.abs(result.input_audio).max() == pytest.approx(0.15, abs=1e-6)
    assert any("level 0.150" in note for note in result.notes)
    with pytest.raises(ValueError, match="does not look clipped"):
        RestorationPipeline(input_rate=16_000).denoise((rate, sine), method="baseline", task="declip")


def test_a_gap_in_a_48_khz_recording_stays_a_gap_of_exact_zeros() -> None:
    # resampling spreads a gap's edges; the pipeline zeroes the gap found at the recording's own rate
    recording = _noise(seed=3)
    recording[20_000:24_800] = 0.0  # 100 ms
    result = RestorationPipeline(input_rate=16_000).denoise((RATE, recording), method="baseline", task="inpaint")
    silent = np.flatnonzero(result.input_audio == 0.0)
    # the 16 kHz samples whose whole span (three 48 kHz samples) lies inside the gap
    assert silent.size == 1599 and silent[0] == 6667 and silent[-1] == 8265
    assert np.all(result.audio[silent] != 0.0)  # filled (straight lines across)
