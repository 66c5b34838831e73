"""Audio I/O and transforms: formats, mono, resampling, loudness, mel and Griffin-Lim, and refusals of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiolab.core.audio import (
    LIMITER_LOOKAHEAD_SECONDS,
    PEAK_CEILING,
    MelSettings,
    MelTransform,
    audio_seconds,
    level,
    load_audio,
    normalize_loudness,
    peak_limit,
    resample,
    save_audio,
    to_mono,
)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_formats_load_as_mono_float_at_the_model_rate(tmp_path: Path, bell: np.ndarray, suffix: str) -> None:
    path = tmp_path / f"bell{suffix}"
    sf.write(path, bell, 16_000)
    audio = load_audio(path, 16_000)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size - bell.size) <= 1
    if suffix != ".ogg":  # lossless formats round-trip within 16-bit quantisation
        assert np.max(np.abs(audio - bell)) < 1e-3


def test_mp3_loads_when_libsndfile_supports_it(tmp_path: Path, bell: np.ndarray) -> None:
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3 support")
    path = tmp_path / "bell.mp3"
    sf.write(path, bell, 16_000, format="MP3")
    assert load_audio(path, 16_000).size > 0.9 * bell.size


def test_stereo_48k_is_mixed_down_and_resampled(tmp_path: Path) -> None:
    t = np.arange(48_000 * 2) / 48_000
    left, right = np.sin(2 * np.pi * 440 * t), 0.5 * np.sin(2 * np.pi * 440 * t)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1).astype(np.float32), 48_000)
    audio = load_audio(path, 16_000)
    assert audio.shape == (32_000,)
    assert np.max(np.abs(audio)) == pytest.approx(0.75, abs=0.02)  # the mean of the channels
    spectrum = np.abs(np.fft.rfft(audio))
    assert np.argmax(spectrum) * 16_000 / audio.size == pytest.approx(440, abs=1)


def test_gradio_style_tuple_and_integer_samples() -> None:
    pcm = (np.sin(np.linspace(0, 200, 8000)) * 20_000).astype(np.int16)
    audio = load_audio((8000, pcm), 16_000)
    assert audio.size == 16_000 and np.max(np.abs(audio)) == pytest.approx(20_000 / 32_767, abs=0.02)
    # stereo integers as Gradio gives them: scaled like mono ones (the channel mix used to skip the scaling)
    stereo = load_audio((8000, np.stack([pcm, pcm // 2], axis=1)), 16_000)
    assert np.max(np.abs(stereo)) == pytest.approx(0.75 * 20_000 / 32_767, abs=0.02)


def test_to_mono_takes_the_channel_axis_either_way() -> None:
    stereo = np.stack([np.ones(100), np.zeros(100)])
    assert to_mono(stereo).shape == (100,) and to_mono(stereo.T).shape == (100,)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (np.zeros(0, dtype=np.float32), "empty"),
        (np.zeros(16_000, dtype=np.float32), "silent"),
        (np.array([0.1, np.nan, 0.2] * 1000, dtype=np.float32), "NaN"),
        (np.array([0.1, np.inf] * 1000, dtype=np.float32), "NaN or infinite"),
    ],
)
def test_bad_audio_is_refused_with_a_reason(data: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_audio((16_000, data), 16_000)


def test_bad_files_are_refused_with_a_reason(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="No file"):
        load_audio(tmp_path / "missing.wav")
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"not audio at all")
    with pytest.raises(ValueError, match="Cannot read junk.wav"):
        load_audio(junk)
    long = tmp_path / "long.wav"
    sf.write(long, np.full(16_000 * 5, 0.1, dtype=np.float32), 16_000)
    with pytest.raises(ValueError, match="limit is 3 s"):
        load_audio(long, max_seconds=3)
    with pytest.raises(ValueError, match="sample rate 1000"):
        resample(np.ones(100, dtype=np.float32), 1000, 16_000)


def test_loudness_normalisation_hits_the_target_and_respects_the_peak() -> None:
    noise = np.random.default_rng(0).normal(0, 0.01, 16_000).astype(np.float32)
    louder = normalize_loudness(noise, -20.0)
    assert 20 * np.log10(np.sqrt(np.mean(louder**2))) == pytest.approx(-20.0, abs=0.1)
    click = np.zeros(1000, dtype=np.float32)
    click[10] = 0.01
    assert np.max(np.abs(normalize_loudness(click, -3.0))) <= 0.99 + 1e-6


def test_save_round_trip(tmp_path: Path, bell: np.ndarray) -> None:
    path = save_audio(tmp_path / "out" / "bell.wav", bell, 16_000)
    data, rate = sf.read(path)
    assert rate == 16_000 and np.max(np.abs(data - bell)) < 1e-3


def test_mel_shape_and_griffin_lim_round_trip(bell: np.ndarray) -> None:
    settings = MelSettings()
    transform = MelTransform(settings)
    log_mel = transform.log_mel(bell)
    assert log_mel.shape == (64, settings.frames_for(bell.size))
    wave = transform.griffin_lim(log_mel, n_iter=32, num_samples=bell.size, seed=0)
    assert wave.shape == bell.shape
    # the resynthesis has the same mel, up to phase-retrieval error: far closer than to a different sound
    error = float(torch.mean(torch.abs(transform.log_mel(wave) - log_mel)))
    other = float(torch.mean(torch.abs(transform.log_mel(np.roll(bell, 4000) * 0.5) - log_mel)))
    assert error < 0.45 and error < other / 3
    # same seed, same waveform
    assert np.array_equal(wave, transform.griffin_lim(log_mel, n_iter=32, num_samples=bell.size, seed=0))
    with pytest.raises(ValueError, match="iterations"):
        transform.griffin_lim(log_mel, n_iter=0)


def test_too_short_clips_and_unwritable_formats_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 100 ms"):
        load_audio((16_000, np.full(300, 0.1, np.float32)), 16_000)
    with pytest.raises(ValueError, match="use one of .wav, .flac, .ogg"):
        save_audio(tmp_path / "out.mp4", np.zeros(100, np.float32), 16_000)


def _sine(amplitude: float, seconds: float = 1.0, rate: int = 16_000, hz: float = 440.0) -> np.ndarray:
    return (amplitude * np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)).astype(np.float32)


def test_the_peak_limiter_keeps_every_sample_under_the_ceiling_without_clipping() -> None:
    loud = _sine(2.0)
    limited = peak_limit(loud, 16_000)
    assert float(np.max(np.abs(limited))) <= PEAK_CEILING
    # a clipped sine sits at the ceiling for a third of its samples; a limited one only touches it at its crests
    assert np.mean(np.abs(limited) >= 0.999 * PEAK_CEILING) < 0.03
    assert np.mean(np.abs(np.clip(loud, -PEAK_CEILING, PEAK_CEILING)) >= 0.999 * PEAK_CEILING) > 0.3
    quiet = _sine(0.5)
    assert np.array_equal(peak_limit(quiet, 16_000), quiet)  # under the ceiling nothing changes


def test_the_limiter_only_touches_the_neighbourhood_of_a_peak() -> None:
    audio = _sine(0.1)
    audio[8000] = 1.5  # one click
    limited = peak_limit(audio, 16_000)
    reach = 2 * int(LIMITER_LOOKAHEAD_SECONDS * 16_000) + 1  # the minimum filter and the average each span this
    far = np.abs(np.arange(audio.size) - 8000) > reach
    assert np.array_equal(limited[far], audio[far]) and float(np.max(np.abs(limited))) <= PEAK_CEILING
    batch = peak_limit(np.stack([audio, 0.5 * audio]), 16_000)  # each row of a batch on its own
    assert batch.shape == (2, audio.size) and np.array_equal(batch[0], limited)


def test_level_reaches_the_target_loudness_and_never_squashes_a_sparse_clip() -> None:
    steady = level(_sine(0.01), 16_000, target_dbfs=-20.0)
    assert 20 * np.log10(np.sqrt(np.mean(steady.astype(np.float64) ** 2))) == pytest.approx(-20.0, abs=0.05)
    sparse = np.zeros(16_000, dtype=np.float32)
    sparse[8000:8016] = 0.3  # a short burst in silence: peaks far above its loudness
    levelled = level(sparse, 16_000, target_dbfs=-20.0)
    assert float(np.max(np.abs(levelled))) <= PEAK_CEILING
    # turned down as a whole (the limiter takes at most 6 dB), so the flat burst keeps one gain across it
    assert float(np.max(np.abs(levelled))) / float(np.min(np.abs(levelled[8000:8016]))) == pytest.approx(1.0)
    assert np.array_equal(level(np.zeros(100, dtype=np.float32), 16_000), np.zeros(100, dtype=np.float32))


def test_loading_notes_what_it_did_to_the_recording(tmp_path: Path) -> None:
    t = np.arange(44_100 * 2) / 44_100
    tone = np.sin(2 * np.pi * 440 * t).astype(np.float32)
    stereo = tmp_path / "stereo44k.wav"
    sf.write(stereo, np.stack([tone, 0.5 * tone], axis=1), 44_100)
    notes: list[str] = []
    load_audio(stereo, 16_000, what="reference recording", notes=notes)
    assert notes == ["Reference recording: mixed 2 channels to mono; resampled 44.1 kHz → 16 kHz."]
    mono = tmp_path / "mono16k.wav"
    sf.write(mono, tone[:32_000], 16_000)
    notes.clear()
    load_audio(mono, 16_000, notes=notes)
    load_audio((22_050, np.stack([tone, tone])), 22_050, notes=notes)  # (channels, samples), already at the rate
    assert notes == ["Recording: mixed 2 channels to mono."]


def test_a_file_that_is_not_audio_is_named_without_its_folder(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(np.random.default_rng(0).bytes(20_000))
    with pytest.raises(ValueError, match="junk.wav") as caught:
        load_audio(junk)
    assert str(tmp_path) not in str(caught.value)


def test_audio_seconds_reads_the_header_and_is_none_for_what_is_not_audio(tmp_path, bell_wav) -> None:
    assert audio_seconds(bell_wav) == pytest.approx(2.0)
    (tmp_path / "notes.wav").write_text("not audio")
    assert audio_seconds(tmp_path / "notes.wav") is None and audio_seconds(tmp_path / "missing.wav") is None
