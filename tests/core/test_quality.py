"""Quality measures: zero distance to itself, known answers, and the right direction when a signal degrades."""

from __future__ import annotations

import numpy as np
import pytest

from audiolab.core.quality import (
    PART_RATIO_CAP_DB,
    denoising_error_parts,
    log_mel_l1,
    mel_cepstral_distortion,
    mr_stft_distance,
    pesq_wb,
    si_sdr,
    stoi,
)
from audiolab.generation import synth


@pytest.fixture(scope="module")
def signal() -> np.ndarray:
    return synth.synthesize("bird_chirp", seed=3, seconds=2.0)


def _noisy(signal: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).standard_normal(signal.size).astype(np.float32)
    noise *= np.sqrt(np.mean(signal**2) / np.mean(noise**2) / 10 ** (snr_db / 10))
    return signal + noise


def test_identical_signals_score_perfectly(signal: np.ndarray) -> None:
    assert mr_stft_distance(signal, signal) == pytest.approx(0.0, abs=1e-9)
    assert log_mel_l1(signal, signal) == 0.0
    assert mel_cepstral_distortion(signal, signal) == pytest.approx(0.0, abs=1e-9)
    assert stoi(signal, signal) == pytest.approx(1.0, abs=1e-6)


def test_si_sdr_matches_the_mixing_snr_and_ignores_scale(signal: np.ndarray) -> None:
    noisy = _noisy(signal, 10.0)
    assert si_sdr(signal, noisy) == pytest.approx(10.0, abs=0.3)
    assert si_sdr(signal, 0.25 * noisy) == pytest.approx(si_sdr(signal, noisy), abs=1e-6)


def test_every_measure_worsens_with_more_noise(signal: np.ndarray) -> None:
    mild, heavy = _noisy(signal, 20.0), _noisy(signal, 0.0)
    for distance in (mr_stft_distance, log_mel_l1, mel_cepstral_distortion):
        assert distance(signal, mild) < distance(signal, heavy)
    assert stoi(signal, mild) > stoi(signal, heavy)


def test_pesq_scores_clean_above_noisy_speechlike_audio() -> None:
    # a voiced, syllable-rate-modulated harmonic signal: enough like speech for PESQ's voice activity detector
    rate = 16_000
    t = np.arange(3 * rate) / rate
    pitch = 120 + 20 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 30))
    speechlike = (0.1 * voiced * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2).astype(np.float32)
    assert pesq_wb(speechlike, speechlike) > 4.0
    assert pesq_wb(speechlike, _noisy(speechlike, 0.0)) < pesq_wb(speechlike, _noisy(speechlike, 20.0))


def test_mismatched_or_empty_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="mono"):
        log_mel_l1(np.zeros((2, 100)), np.zeros(100))
    with pytest.raises(ValueError, match="empty"):
        si_sdr(np.zeros(0), np.zeros(0))


def test_gap_lsd_is_zero_for_an_exact_fill_and_the_level_error_for_a_scaled_one() -> None:
    """Inside the gap only: a fill at gain g has LSD |20·log10 g| dB in every frame; outside does not count."""
    from audiolab.core.quality import gap_log_spectral_distance

    rng = np.random.default_rng(0)
    clean = rng.standard_normal(16_000)
    observed = np.ones_like(clean)
    observed[4000:5600] = 0.0
    assert gap_log_spectral_distance(clean, clean, observed) == pytest.approx(0.0, abs=1e-6)
    scaled = clean.copy()
    scaled[4000:5600] *= 0.5
    scaled[10_000:] = 0.0  # damage outside the gap is not measured
    assert gap_log_spectral_distance(clean, scaled, observed) == pytest.approx(20 * np.log10(2), rel=1e-6)
    with pytest.raises(ValueError, match="No gap"):
        gap_log_spectral_distance(clean, clean, np.ones_like(clean))


def test_the_denoising_error_splits_into_speech_distortion_and_leftover_noise() -> None:
    """Known answers: an input left alone has no distortion and its noise all left (the mixing SNR); silence
    for an output takes all the speech (0 dB) and leaves no noise; a mask that keeps the speech's band and
    removes the noise's leaves both parts far below the speech; halving the output is a −6 dB distortion."""
    rate, time = 16_000, np.arange(2 * 16_000) / 16_000
    speech = np.sin(2 * np.pi * 440 * time)
    noise = np.random.default_rng(0).standard_normal(time.size)
    noise = np.fft.irfft(np.fft.rfft(noise) * (np.fft.rfftfreq(time.size, 1 / rate) > 2000), n=time.size)
    noise *= np.sqrt(np.mean(speech**2) / np.mean(noise**2) / 10)  # 10 dB SNR
    noisy = speech + noise
    distortion, leftover = denoising_error_parts(speech, noisy, noisy)
    assert distortion == PART_RATIO_CAP_DB and leftover == pytest.approx(10.0, abs=0.01)
    distortion, leftover = denoising_error_parts(speech, noisy, np.zeros_like(noisy))
    assert distortion == pytest.approx(0.0, abs=0.01) and leftover == PART_RATIO_CAP_DB
    masked = np.fft.irfft(np.fft.rfft(noisy) * (np.fft.rfftfreq(time.size, 1 / rate) < 1000), n=time.size)
    distortion, leftover = denoising_error_parts(speech, noisy, masked)
    assert distortion > 30.0 and leftover > 30.0
    distortion, leftover = denoising_error_parts(speech, noisy, 0.5 * noisy)
    assert distortion == pytest.approx(20 * np.log10(2), abs=0.01) and leftover == pytest.approx(16.02, abs=0.01)
    with pytest.raises(ValueError, match="at least 512 samples"):
        denoising_error_parts(speech[:100], noisy[:100], noisy[:100])
    with pytest.raises(ValueError, match="non-silent reference"):
        denoising_error_parts(np.zeros_like(speech), noise, noise)
    # the clean speech itself as the output: little distortion and little noise left, better than the input
    distortion, leftover = denoising_error_parts(speech, noisy, speech)
    assert distortion > 20.0 and leftover > 20.0
