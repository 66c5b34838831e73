"""Levelling the band that bandwidth extension invents.

Posterior sampling keeps the observed band below the cut-off and invents the band above it. The
invented band is plausible in kind but not in exact level, and PESQ-WB (ITU-T P.862.2), like a
listener, punishes highs that are wrong far more than highs that are missing: at full level the
output's PESQ-WB fell below the low-passed input's on held-out speakers. So the band is levelled
frame by frame before it leaves the sampler:

1. a ceiling: in no frame may the band above the cut-off hold more energy, relative to the octave
   below the cut-off, than clean speech does on average (`ceiling` times that ratio, which the score
   model's band levels give for any cut-off), so a quiet frame does not get loud invented highs;
2. a gain: the result is mixed in `gain_db` below its level, the classical bandwidth-extension
   compromise between a duller sound and a wrong one.
"""

from __future__ import annotations

import numpy as np
import torch

from audiolab.restoration.degradations import LowPass

FRAME = 512  # 32 ms at 16 kHz: frame energies for the ceiling
HOP = 256


def clean_band_ratio(band_power: torch.Tensor, cutoff_hz: float, sample_rate: int) -> float:
    """Clean speech's average energy above the cut-off over that in the octave below it.

    `band_power` is the mean power of each of the score model's equally spaced MDCT bands in clean speech."""
    bands = band_power.numel()
    centres = (torch.arange(bands, dtype=torch.float64) + 0.5) * (sample_rate / 2) / bands
    power = band_power.to(torch.float64)
    above = power[centres > cutoff_hz].sum()
    below = power[(centres > cutoff_hz / 2) & (centres <= cutoff_hz)].sum()
    if float(below) <= 0.0 or float(above) <= 0.0:
        raise ValueError(f"No clean-speech energy on both sides of a {cutoff_hz:g} Hz cut-off to compare.")
    return float(above / below)


def _band_energy(wave: np.ndarray, low_hz: float, high_hz: float, sample_rate: int) -> np.ndarray:
    """Energy per frame (FRAME-sample Hann windows every HOP samples) between two frequencies."""
    spectrum = torch.stft(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)), FRAME, HOP,
                          window=torch.hann_window(FRAME), return_complex=True).abs().pow(2)
    frequencies = np.fft.rfftfreq(FRAME, 1 / sample_rate)
    keep = torch.from_numpy((frequencies > low_hz) & (frequencies <= high_hz))
    return spectrum[keep].sum(0).double().numpy()


def level_invented_band(estimate: np.ndarray, observed: np.ndarray, cutoff_hz: float, sample_rate: int,
                        clean_ratio: float, ceiling: float = 1.0, gain_db: float = -15.0) -> np.ndarray:
    """The estimate with its band above `cutoff_hz` capped frame by frame at `ceiling` × `clean_ratio` times the
    observed octave below the cut-off, then scaled by `gain_db`. The band below the cut-off is left exactly as it is."""
    if not (np.isfinite(gain_db) and gain_db <= 0.0):
        raise ValueError(f"The invented band's gain must be at most 0 dB; got {gain_db}.")
    if not (np.isfinite(ceiling) and ceiling > 0.0):
        raise ValueError(f"The invented band's ceiling must be above 0; got {ceiling}.")
    estimate = np.asarray(estimate, dtype=np.float32)
    low = LowPass(cutoff_hz, sample_rate).apply(torch.from_numpy(estimate)).numpy()
    high = estimate - low
    invented = _band_energy(high, cutoff_hz, sample_rate / 2, sample_rate)
    reference = _band_energy(np.asarray(observed, dtype=np.float32), cutoff_hz / 2, cutoff_hz, sample_rate)
    frame_gain = np.minimum(1.0, np.sqrt(ceiling * clean_ratio * reference / np.maximum(invented, 1e-20)))
    # frame gains change smoothly from one frame centre to the next, so the levelling adds no clicks
    gain = np.interp(np.arange(estimate.size), np.arange(frame_gain.size) * HOP, frame_gain)
    return (low + high * gain * 10 ** (gain_db / 20)).astype(np.float32)
