"""The flow vocoder: mel-spectrogram -> waveform by a few steps of conditional flow matching on the STFT.

The state is the waveform's complex STFT (the mel's own window and hop) divided by the spectral
envelope σ(f, t) that the mel implies, so every time-frequency point is about unit size whether the
clip whispers or shouts. The flow runs from a data-dependent source, the Griffin-Lim estimate of
the mel plus Gaussian noise (a prior close to the data, as in PriorGrad, Lee et al. 2022), to the
clean STFT along straight lines (rectified flow, Liu et al. 2023; flow matching, Lipman et al.
2023):

    z_τ = (1 − τ)·z_0 + τ·z_1,   z_0 = z_GL + s·ε,   z_1 = STFT(x) / σ.

The network predicts the clean end through a preconditioning in the manner of EDM (Karras et al.
2022): ẑ_1 = z_GL + k(τ)·(z_τ − z_GL) + c(τ)·F_θ(z_τ, z_GL, mel, τ). With r = z_1 − z_GL of variance
ρ² and the source noise of variance s², k and c are the weight and the error of the best linear
estimate of r from z_τ − z_GL = τ·r + (1 − τ)·s·ε:

    k(τ) = τρ² / (τ²ρ² + (1 − τ)²s²),   c(τ)² = ρ²(1 − τ)²s² / (τ²ρ² + (1 − τ)²s²),

so the network never has to copy z_τ through its channels (near τ = 1 the state already is the
answer) and its output is unit-sized at every τ; an untrained network returns Griffin-Lim at τ = 0.
The velocity follows as (ẑ_1 − z_τ)/(1 − τ); Euler steps integrate it.

The loss puts what a listener hears first: the log-mel L1 and the multi-resolution STFT loss
(Yamamoto et al. 2020) on the waveform iSTFT(σ·ẑ_1), as Vocos trains, plus the flow-matching error
on ẑ_1 weighted by min(1/(1 − τ), 10) (the velocity loss's weight near the data) at a small share:
the clean phase is barely predictable from Griffin-Lim's (their complex STFTs are nearly
uncorrelated), and a large squared error on it would only teach the network to shrink towards zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from audiolab.core.audio import MelSettings, MelTransform, peak_limit
from audiolab.core.diffusion import Step
from audiolab.core.losses import multi_resolution_stft_loss
from audiolab.core.stopping import check_stop
from audiolab.vocoder.diffusion_vocoder import check_log_mel, fit_frames
from audiolab.vocoder.envelope import band_to_bin_map
from audiolab.vocoder.stft_network import StftNet, StftNetConfig

FLOW_SAMPLERS: tuple[str, ...] = ("euler",)
MAX_FLOW_STEPS = 100


@dataclass(frozen=True)
class FlowVocoderSettings:
    """Everything about the flow vocoder that is not a learned weight (read from its preset)."""

    mel: MelSettings = MelSettings()
    net: StftNetConfig = StftNetConfig()
    griffin_lim_hint: int = 32  # Griffin-Lim iterations of the source estimate
    source_noise: float = 0.5  # s: the noise added to the Griffin-Lim estimate at τ = 0
    envelope_floor: float = 1e-3  # σ's floor, in STFT magnitude: white noise at about −86 dBFS
    mel_mean: float = -5.0  # the network sees (log-mel − mean) / std
    mel_std: float = 2.5
    mel_loss_weight: float = 1.0
    stft_loss_weight: float = 1.0
    flow_loss_weight: float = 0.1
    residual_std: float = 1.07  # ρ: RMS of z_1 − z_GL per real component, measured on speech and ESC-50 clips
    sampler: str = "euler"
    steps: int = 6
    projection_iterations: int = 0  # Griffin-Lim projections of each step's ẑ_1 onto the mel's magnitude

    def __post_init__(self) -> None:
        if self.sampler not in FLOW_SAMPLERS:
            raise ValueError(f"The flow vocoder's sampler must be one of {', '.join(FLOW_SAMPLERS)}; got {self.sampler!r}.")
        if not 1 <= self.steps <= MAX_FLOW_STEPS:
            raise ValueError(f"The vocoder's default steps must be from 1 to {MAX_FLOW_STEPS}.")
        if self.griffin_lim_hint < 1:
            raise ValueError("The flow vocoder starts from a Griffin-Lim estimate: griffin_lim_hint must be at least 1.")
        if self.source_noise <= 0 or self.envelope_floor <= 0 or self.residual_std <= 0:
            raise ValueError("source_noise, envelope_floor and residual_std must be above 0.")


@dataclass(frozen=True)
class FlowCondition:
    """One mel's fixed inputs: the envelope σ, the whitened Griffin-Lim state and the normalised mel."""

    sigma: torch.Tensor  # (batch, bins, frames)
    hint: torch.Tensor  # (batch, 2·bins, frames)
    mel: torch.Tensor  # (batch, n_mels, frames)


class FlowVocoder:
    """A trained (or training) flow vocoder: the network, the STFT, the envelope and the Euler sampler."""

    def __init__(self, settings: FlowVocoderSettings, net: StftNet | None = None) -> None:
        self.settings = settings
        self.mel = MelTransform(settings.mel)
        self.n_fft = settings.mel.n_fft
        self.hop = settings.mel.hop_length
        self.bins = self.n_fft // 2 + 1
        self.window = torch.hann_window(self.n_fft)
        self.net = net or StftNet(settings.net, bins=self.bins, n_mels=settings.mel.n_mels)
        sample_rate = settings.mel.sample_rate
        self._envelope_map = band_to_bin_map(self.mel.filterbank, sample_rate,
                                             torch.linspace(0, sample_rate / 2, self.bins))
        # a band's magnitude is Σ_k fb[k, m]·|S_k|: a flat spectrum of level A gives A·Σ_k fb[k, m]
        self._band_norm = torch.log(self.mel.filterbank.sum(0).clamp_min(1e-8))
        self.metadata: dict[str, str] = {}  # what the checkpoint says about its training

    # ---- the state ------------------------------------------------------------------------------

    def envelope(self, log_mel: torch.Tensor) -> torch.Tensor:
        """σ(f, t): the STFT magnitude the mel implies at each bin, smooth across bins; (batch, bins, frames)."""
        log_sigma = self._envelope_map @ (log_mel - self._band_norm[:, None])
        return torch.exp(log_sigma).clamp_min(self.settings.envelope_floor)

    def to_state(self, wave: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> the whitened STFT as (batch, 2·bins, frames) real and imaginary parts."""
        spectrum = torch.stft(wave, self.n_fft, self.hop, window=self.window, return_complex=True)
        spectrum = spectrum[..., : sigma.shape[-1]] / sigma
        return torch.cat([spectrum.real, spectrum.imag], dim=1)

    def to_wave(self, state: torch.Tensor, sigma: torch.Tensor, num_samples: int) -> torch.Tensor:
        """The inverse of `to_state`: σ times the complex state, then the inverse STFT."""
        spectrum = torch.complex(state[:, : self.bins], state[:, self.bins :]) * sigma
        return torch.istft(spectrum, self.n_fft, self.hop, window=self.window, length=num_samples)

    def griffin_lim(self, log_mel: torch.Tensor, num_samples: int) -> torch.Tensor:
        """The Griffin-Lim waveform the flow starts from (seeded, so vocoding stays deterministic)."""
        return torch.from_numpy(
            self.mel.griffin_lim(log_mel, self.settings.griffin_lim_hint, num_samples=num_samples, seed=0)
        ).reshape(log_mel.shape[0], num_samples)

    def condition(self, log_mel: torch.Tensor, hint_wave: torch.Tensor) -> FlowCondition:
        sigma = self.envelope(log_mel)
        mel = (log_mel - self.settings.mel_mean) / self.settings.mel_std
        return FlowCondition(sigma, self.to_state(hint_wave, sigma), mel)

    def preconditioning(self, tau: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """k(τ) and c(τ) of the module docstring, shaped to broadcast over (batch, channels, frames)."""
        rho2, s2 = self.settings.residual_std**2, self.settings.source_noise**2
        tau = tau.reshape(-1, 1, 1).float()
        denominator = (tau**2 * rho2 + (1 - tau) ** 2 * s2).clamp_min(1e-8)
        return tau * rho2 / denominator, (rho2 * (1 - tau) ** 2 * s2 / denominator).sqrt()

    def estimate(self, state: torch.Tensor, tau: torch.Tensor, cond: FlowCondition) -> torch.Tensor:
        """ẑ_1: the best linear estimate from the state and Griffin-Lim, plus the network's scaled correction."""
        skip, scale = self.preconditioning(tau)
        return cond.hint + skip * (state - cond.hint) + scale * self.net(state, cond.hint, cond.mel, tau)

    # ---- training -------------------------------------------------------------------------------

    def loss(self, wave: torch.Tensor, generator: torch.Generator | None = None,
             hint_wave: torch.Tensor | None = None) -> torch.Tensor:
        """Flow matching on ẑ_1 (τ uniform in [0, 1)) plus log-mel L1 and MR-STFT losses on its waveform."""
        settings, num_samples = self.settings, wave.shape[-1]
        log_mel = self.mel.log_mel(wave)
        if hint_wave is None:
            hint_wave = self.griffin_lim(log_mel, num_samples)
        cond = self.condition(log_mel, hint_wave)
        target = self.to_state(wave, cond.sigma)
        tau = torch.rand(wave.shape[0], generator=generator)
        source = cond.hint + settings.source_noise * torch.randn(target.shape, generator=generator)
        state = (1 - tau[:, None, None]) * source + tau[:, None, None] * target
        estimate = self.estimate(state, tau, cond)
        weight = (1 / (1 - tau)).clamp(max=10.0)[:, None, None]
        flow = (weight * (estimate - target) ** 2).mean()
        estimate_wave = self.to_wave(estimate, cond.sigma, num_samples)
        mel_l1 = (self.mel.log_mel(estimate_wave, differentiable=True) - log_mel).abs().mean()
        stft = multi_resolution_stft_loss(estimate_wave, wave)
        return settings.flow_loss_weight * flow + settings.mel_loss_weight * mel_l1 + settings.stft_loss_weight * stft

    # ---- sampling -------------------------------------------------------------------------------

    @property
    def max_steps(self) -> int:
        return MAX_FLOW_STEPS

    def check_steps(self, steps: int) -> int:
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= int(steps) <= MAX_FLOW_STEPS:
            raise ValueError(f"The flow vocoder runs from 1 to {MAX_FLOW_STEPS} steps; got {steps!r}.")
        return int(steps)

    def describe(self, steps: int | None = None) -> str:
        return (f"{steps or self.settings.steps} Euler steps of conditional flow matching on the mel-whitened STFT, "
                f"from Griffin-Lim ({self.settings.griffin_lim_hint} iterations) plus noise")

    def sample_iter(
        self,
        log_mel: torch.Tensor | np.ndarray,
        num_samples: int | None = None,
        steps: int | None = None,
        sampler: str | None = None,
        seed: int = 0,
        keep_every: int = 1,
        progress: bool = False,
        projection_iterations: int | None = None,
    ) -> Iterator[Step]:
        """Euler steps from Griffin-Lim plus noise to the waveform; yields Steps holding waveforms (batch, samples).

        The first Step is the source; the last Step's `x0_hat` is the vocoded audio.
        """
        log_mel = check_log_mel(log_mel, self.settings.mel.n_mels)
        steps = self.check_steps(self.settings.steps if steps is None else steps)
        if (sampler or "euler").lower() not in FLOW_SAMPLERS:
            raise ValueError(f"The flow vocoder samples with {', '.join(FLOW_SAMPLERS)}; got {sampler!r}.")
        if keep_every < 1:
            raise ValueError(f"keep_every must be at least 1; got {keep_every}.")
        projections = self.settings.projection_iterations if projection_iterations is None else int(projection_iterations)
        if not 0 <= projections <= 100:
            raise ValueError(f"Projection iterations per step must be from 0 to 100; got {projections}.")
        if num_samples is None:
            num_samples = self.settings.mel.samples_for(log_mel.shape[-1])
        log_mel = fit_frames(log_mel, self.settings.mel.frames_for(num_samples))
        cond = self.condition(log_mel, self.griffin_lim(log_mel, num_samples))
        generator = torch.Generator().manual_seed(int(seed))
        state = cond.hint + self.settings.source_noise * torch.randn(cond.hint.shape, generator=generator)
        magnitude = self.mel.mel_to_magnitude(log_mel) if projections else None
        self.net.eval()
        for index in range(steps):
            check_stop()
            tau = index / steps
            with torch.no_grad():
                estimate = self.estimate(state, torch.tensor([tau]), cond)
                if magnitude is not None:  # GLA-Grad: the nearest signal with the mel's magnitude
                    wave = self.mel.project_to_magnitude(self.to_wave(estimate, cond.sigma, num_samples), magnitude,
                                                         projections)
                    estimate = self.to_state(wave, cond.sigma)
            if index % keep_every == 0:
                yield self._step(index, steps, tau, state, estimate, cond.sigma, num_samples)
            next_tau = (index + 1) / steps
            state = state + (next_tau - tau) / (1 - tau) * (estimate - state)  # Euler on v = (ẑ_1 − z_τ)/(1 − τ)
        yield self._step(steps, steps, 1.0, state, state, cond.sigma, num_samples)

    def _step(self, index: int, total: int, tau: float, state: torch.Tensor, estimate: torch.Tensor,
              sigma: torch.Tensor, num_samples: int) -> Step:
        """A trajectory point as waveforms; t = 1 − τ (1 at the source, 0 at the data)."""
        snr_db = math.inf if tau >= 1 else 20 * math.log10(max(tau, 1e-3) / (1 - tau))
        wave = self.to_wave(state, sigma, num_samples)
        estimate_wave = wave if estimate is state else self.to_wave(estimate, sigma, num_samples)
        caption = "clean end · τ = 1" if tau >= 1 else f"step {index}/{total} · τ = {tau:.2f}"
        return Step(index, total, 1.0 - tau, snr_db, wave, estimate_wave, caption=caption)

    def vocode(self, log_mel: torch.Tensor | np.ndarray, num_samples: int | None = None, steps: int | None = None,
               sampler: str | None = None, seed: int = 0, projection_iterations: int | None = None) -> np.ndarray:
        """The waveform for one mel, as float32 in [−1, 1]."""
        final: Step | None = None
        for final in self.sample_iter(log_mel, num_samples, steps, sampler, seed, keep_every=10**6,
                                      projection_iterations=projection_iterations):
            pass
        assert final is not None
        return peak_limit(final.x0_hat[0].numpy(), self.settings.mel.sample_rate)  # never hard-clipped

