"""Restoration methods that need no training: a classical Wiener-style denoiser (the reference baseline)."""

from __future__ import annotations

import numpy as np
import torch

from audiolab.audio import check_not_silent, check_waveform

WIENER_DESCRIPTION = (
    "Wiener filter (classical): the noise spectrum is estimated from the quietest 10% of frames, "
    "the gain is the Wiener gain of the a-posteriori SNR, smoothed over time and floored at −20 dB."
)


def wiener_denoise(
    audio: np.ndarray, n_fft: int = 512, hop_length: int = 128, quiet_fraction: float = 0.1, floor_db: float = -20.0
) -> np.ndarray:
    """Spectral Wiener filtering with a noise power spectrum taken from the lowest-energy frames.

    Output length equals input length. The gain G = max(1 − N/|X|², floor) is the Wiener gain
    ξ/(1 + ξ) with the a-priori SNR ξ estimated by maximum likelihood (Ephraim & Malah 1984, eq. 7).
    """
    audio = check_waveform(audio, "noisy recording")
    check_not_silent(audio, "noisy recording")
    if audio.size < n_fft:
        raise ValueError(f"The recording is too short to denoise ({audio.size} samples); give at least {n_fft}.")
    wave = torch.from_numpy(audio)
    window = torch.hann_window(n_fft)
    spec = torch.stft(wave, n_fft, hop_length, window=window, return_complex=True)
    power = spec.abs() ** 2
    frame_energy = power.sum(0)
    quiet = frame_energy <= torch.quantile(frame_energy, quiet_fraction)
    noise_power = power[:, quiet].mean(1, keepdim=True)
    gain = torch.clamp(1 - noise_power / power.clamp_min(1e-12), min=10 ** (floor_db / 10))
    # three-frame moving average: fewer "musical noise" flickers than a frame-by-frame gain
    gain = torch.nn.functional.avg_pool1d(gain.unsqueeze(0), 3, stride=1, padding=1, count_include_pad=False)[0]
    cleaned = torch.istft(spec * gain.sqrt(), n_fft, hop_length, window=window, length=audio.size)
    return cleaned.numpy().astype(np.float32)
