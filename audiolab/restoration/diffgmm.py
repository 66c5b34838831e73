"""DiffGMM: diffusion-style iterative denoising with a Gaussian-mixture noise model.

After Wang et al., "Diffusion Gaussian Mixture Audio Denoise" (2024, arXiv 2406.09154): a 1-D
U-Net extracts features from the noisy signal, linear heads estimate the parameters of a
K-component Gaussian mixture of the noise (π_k, μ_k, σ_k), the mixture's mean is subtracted, and
the reverse process repeats the subtraction, f_i(x) = x − f_θ(x).

The U-Net runs on the waveform's orthonormal MDCT frames (see `audiolab.core.mdct`): subtracting a
noise estimate there is subtracting it on the waveform, and the network runs at 62.5 frames/s
instead of 16 000 samples/s. Beside the coefficients it sees the log power of an STFT on the same
frame grid, a phase-free energy estimate. The mixture is per coefficient; its means are gains on the noisy
coefficient (μ_k = g_k·y), which makes the estimate scale-equivariant, and its scales are
proportional to |y|. Training: L1 on the waveform and on multi-resolution log spectra after each
iteration (the paper's L1; or a squared error of compressed spectra, `spectral_loss`), plus a small
negative log-likelihood of the true noise under the mixture so that its weights and variances
describe the noise rather than only its mean. An optional refiner (`audiolab.restoration.refiner`)
corrects the heads' output per coefficient, and inference can average over frame offsets (`shifts`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from audiolab.core.losses import compressed_spectral_loss, multi_resolution_stft_loss
from audiolab.core.mdct import MDCT
from audiolab.core.stopping import check_stop
from audiolab.restoration.refiner import TimeFrequencyRefiner
from audiolab.restoration.unet1d import UNet1d

SCALE_FLOOR = 1e-4  # RMS below this is digital silence: normalising by it would only amplify dither
RELATIVE_SCALE_FLOOR = 0.01  # σ_k ≥ 1% of a unit-RMS signal, so the likelihood stays bounded in silence


@dataclass(frozen=True)
class DiffGMMSettings:
    components: int = 5  # K in the paper
    iterations: int = 2  # reverse-process iterations at inference
    train_iterations: int = 2  # iterations unrolled (and back-propagated through) in training
    hop: int = 256  # MDCT hop: coefficients per frame
    channels: tuple[int, ...] = (128, 192, 256)
    bottleneck_dilations: tuple[int, ...] = (1, 2, 4, 8)
    nll_weight: float = 0.02
    spectral_weight: float = 1.0
    spectral_loss: str = "log"  # "log": multi-resolution log spectra; "compressed": power-law compressed spectra
    low_band_weight: float = 1.0  # compressed loss: bins up to low_band_edge weigh this much more than the rest
    low_band_edge: float = 0.0625  # cycles per sample: 1 kHz at 16 kHz
    shifts: int = 1  # inference: estimates averaged over this many frame-grid offsets (cycle spinning; 1: none)
    refine_channels: int = 0  # width of the time-frequency refiner over the U-Net's output (0: none)
    refine_dilations: tuple[int, ...] = (1, 2, 4)  # its layers' dilations along frequency
    context_channels: int = 0  # width of a second refiner, dilated along frames, after the first (0: none)
    context_dilations: tuple[int, ...] = (1, 2, 4, 8)  # its layers' dilations along frames


@dataclass
class NoiseMixture:
    """Per-coefficient mixtures, each tensor (batch, K, hop, frames), in units of the input's RMS."""

    weights: torch.Tensor  # π_k, sums to one over K
    means: torch.Tensor  # μ_k
    scales: torch.Tensor  # σ_k > 0

    def mean(self) -> torch.Tensor:
        """E[n] = Σ_k π_k μ_k: the noise estimate the reverse process subtracts."""
        return (self.weights * self.means).sum(1)

    def log_prob(self, noise: torch.Tensor) -> torch.Tensor:
        """log Σ_k π_k N(n; μ_k, σ_k²) per coefficient; `noise` is (batch, hop, frames)."""
        z = (noise.unsqueeze(1) - self.means) / self.scales
        component = -0.5 * z**2 - self.scales.log() - 0.5 * math.log(2 * math.pi)
        return torch.logsumexp(self.weights.clamp_min(1e-12).log() + component, dim=1)

    def pooled_density(self, values: torch.Tensor, max_coefficients: int = 20_000, seed: int = 0) -> torch.Tensor:
        """The mixture averaged over (a random subset of) coefficients, evaluated at `values`: what a histogram of all of them would show."""
        k = self.weights.shape[1]
        flat = [t.movedim(1, -1).reshape(-1, k) for t in (self.weights, self.means, self.scales)]
        if flat[0].shape[0] > max_coefficients:
            pick = torch.randperm(flat[0].shape[0], generator=torch.Generator().manual_seed(seed))[:max_coefficients]
            flat = [t[pick] for t in flat]
        weights, means, scales = flat
        z = (values[:, None, None] - means[None]) / scales[None]
        density = (weights[None] * torch.exp(-0.5 * z**2) / (scales[None] * math.sqrt(2 * math.pi))).sum(-1)
        return density.mean(1)


class DiffGMMDenoiser(nn.Module):
    """Noisy waveform -> iterated estimates of the clean waveform, with the fitted noise mixtures."""

    def __init__(self, settings: DiffGMMSettings) -> None:
        super().__init__()
        self.settings = settings
        self.mdct = MDCT(settings.hop)
        k, hop = settings.components, settings.hop
        self.net = UNet1d(3 * hop, 3 * k * hop, settings.channels, settings.bottleneck_dilations)
        self.refiner = TimeFrequencyRefiner(3 * k + 2, 3 * k, settings.refine_channels, settings.refine_dilations) \
            if settings.refine_channels else None
        self.context_refiner = TimeFrequencyRefiner(3 * k + 2, 3 * k, settings.context_channels,
                                                    settings.context_dilations, axis="time") \
            if settings.context_channels else None
        self.register_buffer("stft_window", torch.hann_window(2 * hop), persistent=False)
        # zero-initialised heads: uniform weights, zero means — the untrained model returns its input
        nn.init.zeros_(self.net.head.weight)
        nn.init.zeros_(self.net.head.bias)

    @staticmethod
    def input_scale(wave: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> (batch, 1, 1): each input's RMS, the unit the network works in."""
        return wave.pow(2).mean(-1).sqrt().clamp_min(SCALE_FLOOR).reshape(-1, 1, 1)

    def stft_features(self, wave: torch.Tensor, frames: int) -> torch.Tensor:
        """Log power of a centred STFT (window 2·hop, hop `hop`) on the MDCT's frame grid: a smooth energy estimate.

        An MDCT coefficient's size swings with the phase of what it measures; the STFT magnitude does not,
        so the network sees where the energy is without that flicker."""
        hop = self.settings.hop
        spectrum = torch.stft(wave, 2 * hop, hop, window=self.stft_window, return_complex=True)[:, :hop]
        power = torch.log(spectrum.abs() ** 2 + 1e-4)
        return nn.functional.pad(power, (0, max(frames - power.shape[-1], 0)), value=math.log(1e-4))[..., :frames]

    def mixture(self, coefficients: torch.Tensor, wave: torch.Tensor | None = None) -> NoiseMixture:
        """Mixture parameters for unit-RMS MDCT coefficients (batch, hop, frames) of the unit-RMS `wave`."""
        batch, hop, frames = coefficients.shape
        if wave is None:
            wave = self.mdct.inverse(coefficients, (frames - 1) * hop)
        k = self.settings.components
        power, stft_power = torch.log(coefficients**2 + 1e-4), self.stft_features(wave, frames)
        raw = self.net(torch.cat([coefficients, power, stft_power], dim=1)).reshape(batch, 3 * k, hop, frames)
        levels = torch.stack([power, stft_power], dim=1)  # what both refiners read beside the output they correct
        if self.refiner is not None:  # per-bin corrections from the time-frequency plane
            raw = raw + self.refiner(torch.cat([raw, levels], dim=1))
        if self.context_refiner is not None:  # then per-bin corrections from a quarter second either side
            raw = raw + self.context_refiner(torch.cat([raw, levels], dim=1))
        raw = raw.reshape(batch, 3, k, hop, frames)
        weights = torch.softmax(raw[:, 0], dim=1)
        means = raw[:, 1] * coefficients.unsqueeze(1)
        scales = (nn.functional.softplus(raw[:, 2]) + RELATIVE_SCALE_FLOOR) * (coefficients.abs().unsqueeze(1) + RELATIVE_SCALE_FLOOR)
        return NoiseMixture(weights, means, scales)

    def step(self, wave: torch.Tensor) -> tuple[torch.Tensor, NoiseMixture, torch.Tensor]:
        """One reverse iteration f(x) = x − f_θ(x) on (batch, samples): (estimate, mixture, unit scale)."""
        scale = self.input_scale(wave)
        coefficients = self.mdct.forward(wave) / scale
        mixture = self.mixture(coefficients, wave / scale.reshape(-1, 1))
        cleaned = (coefficients - mixture.mean()) * scale
        return self.mdct.inverse(cleaned, wave.shape[-1]), mixture, scale

    def iterate(self, noisy: torch.Tensor, iterations: int | None = None,
                shifts: int | None = None) -> Iterator[tuple[torch.Tensor, NoiseMixture]]:
        """Yield (estimate, mixture fitted to that iteration's input) after each of `iterations` steps,
        each averaged over `shifts` frame offsets (both the settings' unless given)."""
        iterations = self.settings.iterations if iterations is None else iterations
        x = noisy
        for _ in range(iterations):
            check_stop()
            x, mixture = self.shift_averaged_step(x, shifts)
            yield x, mixture

    def shift_averaged_step(self, wave: torch.Tensor, shifts: int | None = None) -> tuple[torch.Tensor, NoiseMixture]:
        """`step` averaged over `shifts` offsets of the frame grid (hop·i/shifts samples), and the unshifted mixture.

        Cycle spinning (Coifman & Donoho 1995, "Translation-invariant de-noising"): a frame-wise estimate's
        errors depend on where the frames fall (an MDCT gain leaves time-domain aliasing at frame edges); the
        average over offsets keeps what the offsets agree on and cancels part of what they do not."""
        estimate, mixture, _ = self.step(wave)
        shifts = self.settings.shifts if shifts is None else shifts
        for index in range(1, shifts):
            delay = index * self.settings.hop // shifts
            shifted, _, _ = self.step(nn.functional.pad(wave, (delay, 0)))
            estimate = estimate + shifted[..., delay:]
        return estimate / shifts, mixture

    def spectral_distance(self, estimate: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """The spectral term of the loss that the settings name (both losses at the same three STFT sizes)."""
        if self.settings.spectral_loss == "compressed":
            return compressed_spectral_loss(estimate, reference, low_band_edge=self.settings.low_band_edge,
                                            low_band_weight=self.settings.low_band_weight)
        return multi_resolution_stft_loss(estimate, reference)

    def loss(self, clean: torch.Tensor, noisy: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """L1 on the waveform plus the spectral term (`spectral_distance`) after each unrolled iteration, plus the mixture NLL."""
        unit = self.input_scale(noisy).reshape(-1, 1)
        x = noisy
        l1 = spectral = nll = clean.new_zeros(())
        for _ in range(self.settings.train_iterations):
            target_noise = x - clean
            x, mixture, scale = self.step(x)
            noise_coefficients = self.mdct.forward(target_noise) / scale
            nll = nll - mixture.log_prob(noise_coefficients).mean()
            l1 = l1 + ((x - clean).abs() / unit).mean()
            spectral = spectral + self.spectral_distance(x / unit, clean / unit)
        n = self.settings.train_iterations
        total = (l1 + self.settings.spectral_weight * spectral + self.settings.nll_weight * nll) / n
        return total, {"l1": l1.item() / n, "spectral": spectral.item() / n, "nll": nll.item() / n}


def residual_coefficients(noisy: np.ndarray, other: np.ndarray, hop: int, samples: int) -> np.ndarray:
    """MDCT of (noisy − other) over the first `samples` samples, in units of that stretch's noisy RMS:
    the quantity a first-iteration mixture describes (with `other` the clean recording, the true noise)."""
    head = torch.from_numpy(np.asarray(noisy[:samples], dtype=np.float32))[None]
    residual = head - torch.from_numpy(np.asarray(other[:samples], dtype=np.float32))[None]
    return (MDCT(hop).forward(residual) / DiffGMMDenoiser.input_scale(head)).reshape(-1).numpy()
