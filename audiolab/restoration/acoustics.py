"""The recording chain's variety for training mixtures: colouring and room reverberation.

Real noisy recordings differ from clean studio speech plus a noise file in more than the noise: the
noise reaches the microphone through a room and a channel that colour it. The functions here draw
such changes at random (seeded by the caller's generator) for `NoisySpeechStream`, which also clips
some mixtures (`degradations.degrade`).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import fftconvolve

EQ_KNOTS_HZ: tuple[float, ...] = (62.5, 125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)  # octaves


def random_colouring(signal: np.ndarray, rng: np.random.Generator, sample_rate: int,
                     gain_db: float = 12.0) -> np.ndarray:
    """`signal` through a random smooth equaliser: a gain drawn from ±`gain_db` at each octave from
    62.5 Hz to 8 kHz, interpolated on a log-frequency axis. Noise heard through a wall, a car body or a
    cheap microphone is shaped this way; it moves the noise's energy into any band, speech's included."""
    if signal.size == 0:
        return signal.astype(np.float32)
    spectrum = np.fft.rfft(signal.astype(np.float64))
    frequency = np.fft.rfftfreq(signal.size, 1.0 / sample_rate)
    knots_db = rng.uniform(-gain_db, gain_db, size=len(EQ_KNOTS_HZ))
    curve_db = np.interp(np.log2(np.maximum(frequency, 1.0)), np.log2(EQ_KNOTS_HZ), knots_db)
    return np.fft.irfft(spectrum * 10 ** (curve_db / 20), n=signal.size).astype(np.float32)


def room_impulse_response(rng: np.random.Generator, sample_rate: int,
                          rt60_s: tuple[float, float] = (0.15, 0.8),
                          direct_to_reverberant_db: tuple[float, float] = (-3.0, 12.0)) -> np.ndarray:
    """A random room's impulse response by the stochastic model (Polack 1993): the direct path, then
    Gaussian noise under an exponential envelope that falls 60 dB in RT60 seconds, at a random
    direct-to-reverberant ratio. Unit energy at the direct path, so loudness is set by the caller."""
    rt60 = float(rng.uniform(*rt60_s))
    length = max(int(rt60 * sample_rate), 2)
    time = np.arange(length) / sample_rate
    response = rng.standard_normal(length) * np.exp(-np.log(1000.0) * time / rt60)  # amplitude 1/1000: −60 dB
    response[0] = 0.0
    ratio_db = float(rng.uniform(*direct_to_reverberant_db))
    response *= np.sqrt(10 ** (-ratio_db / 10) / max(float(np.sum(response**2)), 1e-12))
    response[0] = 1.0  # the direct path
    return response.astype(np.float32)


def reverberate(signal: np.ndarray, impulse_response: np.ndarray) -> np.ndarray:
    """`signal` in the room, cut to its own length and brought back to its own RMS level."""
    if signal.size == 0:
        return signal.astype(np.float32)
    wet = fftconvolve(signal.astype(np.float64), impulse_response.astype(np.float64))[: signal.size]
    dry_rms = float(np.sqrt(np.mean(signal.astype(np.float64) ** 2)))
    wet_rms = float(np.sqrt(np.mean(wet**2)))
    return (wet * (dry_rms / wet_rms if wet_rms > 0 else 0.0)).astype(np.float32)
