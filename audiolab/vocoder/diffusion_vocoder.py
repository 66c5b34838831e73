"""The diffusion vocoder: mel-spectrogram -> waveform by reversing a noise process on the waveform.

Training follows DiffWave (Kong et al., 2021): ε-prediction with
L_simple = E‖ε − ε_θ(sqrt(ᾱ_t)·x_0 + sqrt(1 − ᾱ_t)·ε, c, t)‖² over a short schedule (T = 50).

The waveform is handled through its orthonormal MDCT (`audiolab/mdct.py`), so noise that is
white on the coefficients is white on the waveform. With the "mel" prior the noise is not white:
its standard deviation at each time-frequency point follows the spectral envelope read off the
conditioning mel, the data-dependent prior of PriorGrad (Lee et al., 2022) refined to a
time-frequency envelope as in SpecGrad (Koizumi et al., 2022). Equivalently, diffusion runs on the
*whitened* coefficients y = X / σ(mel) with a standard-normal prior, and PriorGrad's loss
‖ε − ε_θ‖²_Σ⁻¹ becomes the plain L_simple on y. The "standard" prior uses one global σ instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np
import torch

from audiolab.core.audio import MelSettings, MelTransform, peak_limit
from audiolab.core.diffusion import SAMPLERS, Schedule, Step, make_scheduler, sample
from audiolab.core.mdct import MDCT
from audiolab.vocoder.envelope import band_to_bin_map
from audiolab.vocoder.network import VocoderNet, VocoderNetConfig

PriorName = Literal["mel", "standard"]
PRIORS: tuple[str, ...] = get_args(PriorName)
RAYLEIGH_MEAN = math.sqrt(math.pi) / 2  # E|z| / sqrt(E|z|²) for a complex Gaussian STFT bin


@dataclass(frozen=True)
class VocoderSettings:
    """Everything about the vocoder that is not a learned weight (read from its preset)."""

    mel: MelSettings = MelSettings()
    net: VocoderNetConfig = VocoderNetConfig()
    prior: PriorName = "mel"
    num_train_timesteps: int = 50
    beta_start: float = 1e-4
    beta_end: float = 0.2  # ᾱ_T ≈ 0.005 on the whitened, unit-variance coefficients: the prior is nearly pure noise
    griffin_lim_hint: int = 32  # iterations of the Griffin-Lim estimate the network also sees (0: the mel alone)
    envelope_floor: float = 3e-5  # σ never drops below about −90 dBFS: silence gets a little noise to shape
    mel_mean: float = -5.0  # the network sees (log-mel − mean) / std
    mel_std: float = 2.5
    sampler: str = "ddim"
    steps: int = 6
    projection_iterations: int = 0  # Griffin-Lim projections of each x̂_0 onto the mel's magnitude (GLA-Grad)

    def __post_init__(self) -> None:
        if self.prior not in PRIORS:
            raise ValueError(f"Unknown vocoder prior {self.prior!r}; choose one of {', '.join(PRIORS)}.")
        if self.sampler not in SAMPLERS:
            raise ValueError(f"Unknown sampler {self.sampler!r}; choose one of {', '.join(SAMPLERS)}.")
        if not 1 <= self.steps <= self.num_train_timesteps:
            raise ValueError(f"The vocoder's default steps must be from 1 to {self.num_train_timesteps}.")


@dataclass(frozen=True)
class Conditioning:
    """What ε_θ sees besides y_t: the normalised mel and, optionally, whitened Griffin-Lim coefficients."""

    mel: torch.Tensor  # (batch, n_mels, frames)
    hint: torch.Tensor | None  # (batch, bins, frames)


def check_log_mel(log_mel: torch.Tensor | np.ndarray, n_mels: int) -> torch.Tensor:
    """A (mels, frames) or (batch, mels, frames) natural-log mel, checked; a ValueError says what is wrong."""
    tensor = torch.as_tensor(log_mel, dtype=torch.float32)
    if tensor.dim() == 2:
        tensor = tensor.unsqueeze(0)
    if tensor.dim() != 3:
        raise ValueError(f"A mel-spectrogram must have shape (mels, frames); got shape {tuple(log_mel.shape)}.")
    if tensor.shape[1] != n_mels:
        raise ValueError(
            f"This vocoder takes {n_mels}-band mels; got {tensor.shape[1]} bands. Compute the mel with the preset's settings."
        )
    if tensor.shape[2] < 2:
        raise ValueError(f"The mel-spectrogram is empty ({tensor.shape[2]} frames); give at least 2 frames.")
    if not torch.isfinite(tensor).all():
        raise ValueError("The mel-spectrogram contains NaN or infinite values; recompute it from finite audio.")
    return tensor


class DiffusionVocoder:
    """A trained (or training) vocoder: the network, the MDCT, the prior and the T = 50 schedule."""

    def __init__(self, settings: VocoderSettings, net: VocoderNet | None = None, prior_scale: float = 1.0) -> None:
        if settings.mel.hop_length < 2:
            raise ValueError("The vocoder needs a mel hop of at least 2 samples.")
        self.settings = settings
        self.mel = MelTransform(settings.mel)
        self.mdct = MDCT(settings.mel.hop_length)  # one coefficient frame per mel frame, same centres
        inputs = 2 if settings.griffin_lim_hint else 1  # y_t, and the whitened Griffin-Lim estimate
        self.net = net or VocoderNet(settings.net, bins=settings.mel.hop_length, n_mels=settings.mel.n_mels,
                                     inputs=inputs)
        self.prior_scale = prior_scale  # calibrates σ(mel) so the whitened training data has unit variance
        self.schedule = Schedule("linear", settings.num_train_timesteps, settings.beta_start, settings.beta_end)
        self._envelope_map = self._band_to_bin_map()
        # band magnitude -> per-sample spectral level: a band of flat PSD P sums to ≈ E|S|·Σ fb with E|S| = c·sqrt(P·Σw²)
        self._band_norm = torch.log(
            self.mel.filterbank.sum(0).clamp_min(1e-8) * RAYLEIGH_MEAN * math.sqrt(self.mel.window_energy)
        )
        self.metadata: dict[str, str] = {}  # what the checkpoint says about its training

    # ---- the prior -----------------------------------------------------------------------------

    def _band_to_bin_map(self) -> torch.Tensor:
        """(MDCT bins, mels) interpolation of per-band log levels onto the MDCT bin frequencies."""
        sample_rate = self.settings.mel.sample_rate
        return band_to_bin_map(self.mel.filterbank, sample_rate, self.mdct.bin_frequencies(sample_rate))

    def envelope(self, log_mel: torch.Tensor, frames: int) -> torch.Tensor:
        """σ(mel): the noise standard deviation per (MDCT bin, frame), shape (batch, bins, frames)."""
        if self.settings.prior == "standard":
            return torch.full((log_mel.shape[0], self.mdct.hop, frames), self.prior_scale)
        log_sigma = self._envelope_map @ (log_mel - self._band_norm[:, None])
        log_sigma = fit_frames(log_sigma, frames)
        return torch.exp(log_sigma).clamp_min(self.settings.envelope_floor) * self.prior_scale

    def griffin_lim(self, log_mel: torch.Tensor, num_samples: int) -> torch.Tensor:
        """The Griffin-Lim waveform the network is shown beside y_t (seeded, so vocoding stays deterministic)."""
        return torch.from_numpy(
            self.mel.griffin_lim(log_mel, self.settings.griffin_lim_hint, num_samples=num_samples, seed=0)
        ).reshape(log_mel.shape[0], num_samples)

    def condition(self, log_mel: torch.Tensor, frames: int, sigma: torch.Tensor,
                  hint_wave: torch.Tensor | None) -> Conditioning:
        """The network's view of the mel: normalised mel frames, and the whitened Griffin-Lim coefficients."""
        mel = fit_frames((log_mel - self.settings.mel_mean) / self.settings.mel_std, frames)
        if not self.settings.griffin_lim_hint:
            return Conditioning(mel, None)
        if hint_wave is None:
            hint_wave = self.griffin_lim(log_mel, self.settings.mel.samples_for(log_mel.shape[-1]))
        hint = self.mdct.forward(hint_wave)
        return Conditioning(mel, fit_frames(hint, frames) / sigma)

    # ---- training ------------------------------------------------------------------------------

    def training_targets(self, wave: torch.Tensor, hint_wave: torch.Tensor | None = None
                         ) -> tuple[torch.Tensor, Conditioning]:
        """Whitened clean coefficients y_0 and the network's condition for a batch of waveforms.

        `hint_wave` is the Griffin-Lim reconstruction of `wave`'s mel when it was computed beforehand.
        """
        log_mel = self.mel.log_mel(wave)
        coefficients = self.mdct.forward(wave)
        frames = coefficients.shape[-1]
        sigma = self.envelope(log_mel, frames)
        if hint_wave is None and self.settings.griffin_lim_hint:
            hint_wave = self.griffin_lim(log_mel, wave.shape[-1])
        return coefficients / sigma, self.condition(log_mel, frames, sigma, hint_wave)

    def loss(self, wave: torch.Tensor, generator: torch.Generator | None = None,
             hint_wave: torch.Tensor | None = None) -> torch.Tensor:
        """L_simple on the whitened coefficients (PriorGrad's Σ⁻¹-weighted loss), t uniform in [0, T)."""
        y0, cond = self.training_targets(wave, hint_wave)
        t = torch.randint(0, self.settings.num_train_timesteps, (wave.shape[0],), generator=generator)
        noise = torch.randn(y0.shape, generator=generator)
        y_t = self.schedule.add_noise(y0, t, noise)
        return torch.nn.functional.mse_loss(self.predict_noise(y_t, t.float(), cond), noise)

    def predict_noise(self, y_t: torch.Tensor, t: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        """ε̂ = sqrt(1 − ᾱ_t)·y_t + F_θ(y_t, mel, t).

        The first term is the exact E[ε | y_t] when y_0 ~ N(0, I), which is what the whitened prior
        assumes; the network learns only the correction. Near t = T the correction is small, so the
        one-step estimate x̂_0 = (y_t − sqrt(1 − ᾱ_t)·ε̂) / sqrt(ᾱ_t) does not amplify a raw network's
        error by 1/sqrt(ᾱ_T) ≈ 15.
        """
        alpha_bar = self.schedule.alpha_bar(t).to(y_t.dtype).reshape(-1, 1, 1)
        inputs = y_t if cond.hint is None else torch.cat([y_t, cond.hint], dim=1)
        return (1 - alpha_bar).sqrt() * y_t + self.net(inputs, t, cond.mel)

    # ---- sampling ------------------------------------------------------------------------------

    def check_steps(self, steps: int) -> int:
        limit = self.settings.num_train_timesteps
        if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= int(steps) <= limit:
            raise ValueError(f"The vocoder runs from 1 to {limit} steps (its training schedule has {limit}); got {steps!r}.")
        return int(steps)

    def describe(self, steps: int | None = None) -> str:
        return (f"{steps or self.settings.steps} steps of DiffWave-style ε-prediction on the waveform's MDCT, "
                f"{self.settings.prior} prior, T = {self.settings.num_train_timesteps}")

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
        """Reverse process from σ(mel)·ε to a waveform; yields Steps holding waveforms (batch, samples).

        The last Step's `x0_hat` is the vocoded audio. `num_samples` defaults to the mel's span.
        """
        log_mel = check_log_mel(log_mel, self.settings.mel.n_mels)
        steps = self.check_steps(self.settings.steps if steps is None else steps)
        sampler = (sampler or self.settings.sampler).lower()
        if sampler not in SAMPLERS:
            raise ValueError(f"Unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}.")
        if num_samples is None:
            num_samples = self.settings.mel.samples_for(log_mel.shape[-1])
        frames = self.mdct.frames_for(num_samples)
        sigma = self.envelope(log_mel, frames)
        hint_wave = self.griffin_lim(log_mel, num_samples) if self.settings.griffin_lim_hint else None
        cond = self.condition(log_mel, frames, sigma, hint_wave)
        generator = torch.Generator().manual_seed(int(seed))
        noise = torch.randn(sigma.shape, generator=generator)

        def denoiser(y_t: torch.Tensor, t: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
            return self.predict_noise(y_t, t, cond)

        projections = self.settings.projection_iterations if projection_iterations is None else projection_iterations
        if not 0 <= int(projections) <= 100:
            raise ValueError(f"Projection iterations per step must be from 0 to 100; got {projections}.")
        correction = None
        if projections:
            magnitude = self.mel.mel_to_magnitude(log_mel)

            def correction(y0: torch.Tensor, t: float) -> torch.Tensor:
                wave = self.mel.project_to_magnitude(self.to_wave(y0, sigma, num_samples), magnitude, int(projections))
                return self.mdct.forward(wave) / sigma

        scheduler = make_scheduler(sampler, self.schedule)  # type: ignore[arg-type]
        self.net.eval()
        for step in sample(denoiser, scheduler, self.schedule, noise, steps, keep_every=keep_every,
                           generator=generator, progress=progress, x0_correction=correction):
            yield Step(step.index, step.total, step.t, step.snr_db,
                       self.to_wave(step.x_t, sigma, num_samples), self.to_wave(step.x0_hat, sigma, num_samples))

    def to_wave(self, y: torch.Tensor, sigma: torch.Tensor, num_samples: int) -> torch.Tensor:
        """Whitened coefficients back to the waveform: inverse MDCT of σ·y."""
        return self.mdct.inverse(y * sigma, num_samples)

    def vocode(self, log_mel: torch.Tensor | np.ndarray, num_samples: int | None = None, steps: int | None = None,
               sampler: str | None = None, seed: int = 0, projection_iterations: int | None = None) -> np.ndarray:
        """The waveform for one mel, as float32 in [−1, 1]."""
        final: Step | None = None
        for final in self.sample_iter(log_mel, num_samples, steps, sampler, seed, keep_every=10**6,
                                      projection_iterations=projection_iterations):
            pass
        assert final is not None
        return peak_limit(final.x0_hat[0].numpy(), self.settings.mel.sample_rate)  # never hard-clipped


def fit_frames(x: torch.Tensor, frames: int) -> torch.Tensor:
    """Crop or edge-pad the last axis to `frames` (the MDCT has one frame more when samples % hop ≠ 0)."""
    if x.shape[-1] >= frames:
        return x[..., :frames]
    return torch.nn.functional.pad(x, (0, frames - x.shape[-1]), mode="replicate")
