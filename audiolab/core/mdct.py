"""An orthonormal MDCT: the lapped transform the diffusion vocoder works in.

The modified discrete cosine transform with a sine window (Princen, Johnson & Bradley, 1987) is
a lapped orthogonal transform: its basis functions are orthonormal, so Gaussian noise that is
white in the coefficient domain is white on the waveform, and q(x_t | x_0) on the coefficients
*is* the forward process on the waveform. Working on frames of `hop` coefficients lets a 1-D
network run at the mel frame rate instead of the sample rate.

Frame f covers samples [(f − 1)·hop, (f + 1)·hop) of the signal and is centred on sample f·hop,
the same centre as frame f of a centred STFT with that hop.
"""

from __future__ import annotations

import math

import torch


class MDCT:
    """Forward and inverse MDCT with hop `hop` (window 2·hop), orthonormal scaling."""

    def __init__(self, hop: int) -> None:
        if hop < 2:
            raise ValueError(f"The MDCT hop must be at least 2 samples; got {hop}.")
        self.hop = hop
        n = torch.arange(2 * hop, dtype=torch.float64)
        k = torch.arange(hop, dtype=torch.float64)
        window = torch.sin(math.pi * (n + 0.5) / (2 * hop))  # Princen-Bradley: w[n]² + w[n + hop]² = 1
        phase = math.pi / hop * (n[:, None] + 0.5 + hop / 2) * (k[None, :] + 0.5)
        # (2·hop, hop): windowed DCT-IV kernel; sqrt(2/hop) makes the whole transform orthonormal
        self.basis = (math.sqrt(2.0 / hop) * window[:, None] * torch.cos(phase)).to(torch.float32)

    def frames_for(self, num_samples: int) -> int:
        """Number of coefficient frames for a signal of `num_samples` samples."""
        return math.ceil(num_samples / self.hop) + 1

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(…, samples) -> (…, hop, frames): one column of `hop` coefficients per frame."""
        hop = self.hop
        frames = self.frames_for(wave.shape[-1])
        total = (frames + 1) * hop
        padded = torch.nn.functional.pad(wave, (hop, total - hop - wave.shape[-1]))
        chunks = padded.unfold(-1, 2 * hop, hop)  # (…, frames, 2·hop)
        return (chunks @ self.basis.to(wave.dtype)).transpose(-1, -2)

    def inverse(self, coefficients: torch.Tensor, num_samples: int) -> torch.Tensor:
        """(…, hop, frames) -> (…, num_samples): windowed overlap-add, exact inverse of `forward`."""
        hop = self.hop
        frames = coefficients.shape[-1]
        pieces = coefficients.transpose(-1, -2) @ self.basis.T.to(coefficients.dtype)  # (…, frames, 2·hop)
        lead = pieces.shape[:-2]
        # overlap-add: the first half of frame f and the second half of frame f − 1 share samples
        first, second = pieces[..., :hop], pieces[..., hop:]
        out = torch.zeros(*lead, frames + 1, hop, dtype=pieces.dtype, device=pieces.device)
        out[..., :frames, :] += first
        out[..., 1:, :] += second
        wave = out.reshape(*lead, (frames + 1) * hop)
        return wave[..., hop : hop + num_samples]

    def bin_frequencies(self, sample_rate: int) -> torch.Tensor:
        """Centre frequency of each coefficient bin in Hz: (k + ½)·sr / (2·hop)."""
        return (torch.arange(self.hop, dtype=torch.float32) + 0.5) * sample_rate / (2 * self.hop)
