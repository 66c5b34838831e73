"""Waveform losses shared by the restoration models."""

from __future__ import annotations

import torch

STFT_RESOLUTIONS: tuple[tuple[int, int], ...] = ((512, 128), (1024, 256), (256, 64))


def multi_resolution_stft_loss(estimate: torch.Tensor, reference: torch.Tensor,
                               resolutions: tuple[tuple[int, int], ...] = STFT_RESOLUTIONS) -> torch.Tensor:
    """Spectral convergence plus L1 of log magnitudes, averaged over STFT sizes (Yamamoto et al. 2020, eqs. 4–6).

    (batch, samples) tensors. Sensitive to what a listener hears (the magnitude spectrum at several
    time–frequency trade-offs) where a sample-wise L1 mostly rewards getting the phase right.
    """
    total = estimate.new_zeros(())
    for n_fft, hop in resolutions:
        window = torch.hann_window(n_fft, device=estimate.device)
        est = torch.stft(estimate, n_fft, hop, window=window, return_complex=True).abs().clamp_min(1e-7)
        ref = torch.stft(reference, n_fft, hop, window=window, return_complex=True).abs().clamp_min(1e-7)
        convergence = torch.linalg.norm(ref - est, dim=(-2, -1)) / torch.linalg.norm(ref, dim=(-2, -1)).clamp_min(1e-7)
        total = total + convergence.mean() + (est.log() - ref.log()).abs().mean()
    return total / len(resolutions)
