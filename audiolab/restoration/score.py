"""Score-based restoration: one diffusion model of clean speech, used two ways.

(a) Conditional denoising, as in CDiffuSE (Lu et al. 2022) and SGMSE (Welker, Richter & Gerkmann
2022): the network sees the noisy recording next to x_t, and the reverse process starts from the
noisy recording noised part-way (strength < 1) instead of from pure noise.

(b) Posterior sampling with a known degradation y = A(x): the same network with its conditioning
switched off is an unconditional prior of clean speech. At every reverse step the prior's estimate
x̂_0 is projected onto the signals that explain y (the observed band, the unclipped samples, the
samples around a gap) before the DDIM update, the range–null-space decomposition of DDNM (Wang, Yu &
Zhang, ICLR 2023), so the part the prior invents is always made for the observed part. The reverse
process may start from y itself noised part-way (`posterior_strength` < 1, as in "come closer,
diffuse faster", Chung, Sim & Ye, CVPR 2022). Optionally each step also adds −ζ·∇_{x_t}‖y − A(x̂_0(x_t))‖,
the likelihood gradient of Diffusion Posterior Sampling (Chung et al., ICLR 2023), taken through
the one-step estimate. Used for bandwidth extension, declipping and inpainting.

Training drops the conditioning for a share of each batch (as classifier-free guidance does), so
one checkpoint is both the conditional denoiser and the prior.

Domain: the waveform's orthonormal MDCT, each band divided by its average level in clean speech
(measured when training starts and stored with the weights) and each clip by its RMS, so the
diffusion runs on roughly unit-variance coefficients. The network predicts x_0.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from audiolab.core.diffusion import Schedule, Step, make_scheduler, sample
from audiolab.core.mdct import MDCT
from audiolab.core.stopping import check_stop
from audiolab.restoration.degradations import Degradation
from audiolab.restoration.unet1d import UNet1d

SCALE_FLOOR = 1e-4
MAX_POSTERIOR_STEPS = 500
MAX_GUIDANCE = 2.0  # ζ is the share of the measurement error removed per step: above 1 overshoots


@dataclass(frozen=True)
class ScoreSettings:
    hop: int = 256
    channels: tuple[int, ...] = (128, 192, 256)
    bottleneck_dilations: tuple[int, ...] = (1, 2, 4, 8)
    embedding_dim: int = 128
    schedule: str = "cosine"
    num_train_timesteps: int = 1000
    beta_start: float = 1e-4
    beta_end: float = 0.02
    cond_dropout: float = 0.3  # share of training examples that see no noisy input: they train the prior
    sampler: str = "ddim"
    steps: int = 8  # conditional denoising: steps of the full schedule; `strength` of them run
    strength: float = 0.3  # where the conditional reverse process starts: 1 = pure noise, 0.3 = from the noisy input noised to t = 300
    posterior_steps: int = 25  # steps of the full schedule; `posterior_strength` of them run
    posterior_strength: float = 1.0  # 1: from pure noise; below 1: from the observation noised to that share of T
    guidance: float = 0.05  # ζ of diffusion posterior sampling: the share of the measurement error one step removes
    # bandwidth extension (highband.py): the invented band's cap as a share of clean speech's band ratio, and its
    # level after the cap
    highband_ceiling: float = 1.0
    highband_gain_db: float = -15.0


class ScoreRestorer(nn.Module):
    """x_0-predicting diffusion model on band-normalised MDCT coefficients, optionally conditioned on a noisy input."""

    def __init__(self, settings: ScoreSettings) -> None:
        super().__init__()
        self.settings = settings
        self.mdct = MDCT(settings.hop)
        hop = settings.hop
        # inputs: x_t, the noisy coefficients and their log power, and a flag that says whether they are there
        # outputs: per-coefficient gains on x_t and on the noisy input, and a residual. The gains carry the
        # coefficient-level detail (signs, fine structure) that a frame-wise bottleneck narrower than `hop`
        # cannot; the network itself only has to know the spectral envelope (a learned Wiener-like shrinkage).
        self.net = UNet1d(3 * hop + 1, 3 * hop, settings.channels, settings.bottleneck_dilations, settings.embedding_dim)
        nn.init.zeros_(self.net.head.weight)
        nn.init.zeros_(self.net.head.bias)
        self.register_buffer("band_scale", torch.ones(hop))
        self.schedule = Schedule(settings.schedule, settings.num_train_timesteps, settings.beta_start, settings.beta_end)

    # ---- the domain --------------------------------------------------------------------------
    @staticmethod
    def level(wave: torch.Tensor) -> torch.Tensor:
        return wave.pow(2).mean(-1).sqrt().clamp_min(SCALE_FLOOR).reshape(-1, 1, 1)

    def calibrate(self, clean: torch.Tensor) -> None:
        """Set each band's scale to its RMS over unit-RMS clean speech (batch, samples)."""
        coefficients = self.mdct.forward(clean / self.level(clean).reshape(-1, 1))
        self.band_scale.copy_(coefficients.pow(2).mean(dim=(0, 2)).sqrt().clamp_min(1e-3))

    def to_z(self, wave: torch.Tensor, level: torch.Tensor) -> torch.Tensor:
        return self.mdct.forward(wave) / (level * self.band_scale[:, None])

    def to_wave(self, z: torch.Tensor, level: torch.Tensor, samples: int) -> torch.Tensor:
        return self.mdct.inverse(z * level * self.band_scale[:, None], samples)

    def predict_x0(self, z_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        if cond is None:
            features = torch.zeros(z_t.shape[0], 2 * z_t.shape[1] + 1, z_t.shape[2], dtype=z_t.dtype)
        else:
            flag = torch.ones(z_t.shape[0], 1, z_t.shape[2], dtype=z_t.dtype)
            features = torch.cat([cond, torch.log(cond**2 + 1e-3), flag], dim=1)
        return self.combine(self.net(torch.cat([z_t, features], dim=1), t.float()), z_t, features[:, : z_t.shape[1]])

    @staticmethod
    def combine(raw: torch.Tensor, z_t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        """x̂_0 = g_t ⊙ z_t + g_y ⊙ z_y + r (the network's three outputs per coefficient)."""
        gain_t, gain_y, residual = raw.chunk(3, dim=1)
        return gain_t * z_t + gain_y * cond + residual

    # ---- training ----------------------------------------------------------------------------
    def loss(self, clean: torch.Tensor, noisy: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, dict[str, float]]:
        """MSE of x̂_0 at a uniform t; a share of the batch trains the unconditional prior."""
        batch = clean.shape[0]
        conditioned = torch.rand(batch, generator=generator) >= self.settings.cond_dropout
        # conditioned examples are scaled by the noisy input's level (all that is known when denoising);
        # prior examples by the clean level times a random factor (a degraded input's level is close, not equal)
        jitter = torch.exp((torch.rand(batch, generator=generator) - 0.5) * 1.4).reshape(-1, 1, 1)
        level = torch.where(conditioned.reshape(-1, 1, 1), self.level(noisy), self.level(clean) * jitter)
        z0 = self.to_z(clean, level)
        cond = self.to_z(noisy, level) * conditioned.reshape(-1, 1, 1)
        t = torch.randint(0, self.settings.num_train_timesteps, (batch,), generator=generator)
        noise = torch.randn(z0.shape, generator=generator)
        z_t = self.schedule.add_noise(z0, t, noise)
        flag = conditioned.reshape(-1, 1, 1).to(z0.dtype).expand(-1, 1, z0.shape[-1])
        features = torch.cat([cond, torch.log(cond**2 + 1e-3) * flag, flag], dim=1)
        x0_hat = self.combine(self.net(torch.cat([z_t, features], dim=1), t.float()), z_t, cond)
        # conditioned examples: half whitened, half waveform-domain MSE (band energy restored), so the denoiser
        # spends its capacity where the speech energy is, which is what SI-SDR and PESQ hear; the prior keeps
        # the whitened loss, which values every band alike
        energy = (self.band_scale**2 / self.band_scale.pow(2).mean()).reshape(1, -1, 1)
        weight = torch.where(conditioned.reshape(-1, 1, 1), 0.5 + 0.5 * energy, torch.ones_like(energy))
        per_example = ((x0_hat - z0).pow(2) * weight).mean(dim=(1, 2))
        loss = per_example.mean()
        detached = per_example.detach()
        parts = {"conditional": detached[conditioned].mean().item() if conditioned.any() else float("nan"),
                 "prior": detached[~conditioned].mean().item() if (~conditioned).any() else float("nan")}
        return loss, parts

    # ---- (a) conditional denoising -----------------------------------------------------------
    def denoise_iter(self, noisy: torch.Tensor, steps: int | None = None, strength: float | None = None,
                     seed: int = 0, keep_every: int = 1, progress: bool = False) -> Iterator[tuple[Step, torch.Tensor]]:
        """Yield (Step in the z domain, the step's x̂_0 as a waveform) from noise (or the noisy input) to the estimate."""
        steps = self.settings.steps if steps is None else steps
        strength = self.settings.strength if strength is None else strength
        samples = noisy.shape[-1]
        level = self.level(noisy)
        cond = self.to_z(noisy, level)
        generator = torch.Generator().manual_seed(seed)

        def denoiser(z_t: torch.Tensor, t: torch.Tensor, condition: torch.Tensor | None) -> torch.Tensor:
            return self.schedule.eps_from_x0(z_t, t, self.predict_x0(z_t, t, condition))

        scheduler = make_scheduler(self.settings.sampler, self.schedule)  # type: ignore[arg-type]
        noise = torch.randn(cond.shape, generator=generator)
        trajectory = sample(denoiser, scheduler, self.schedule, noise, steps, cond=cond, keep_every=keep_every,
                            init=cond if strength < 1 else None, strength=strength, generator=generator, progress=progress)
        for step in trajectory:
            yield step, self.to_wave(step.x0_hat, level, samples)

    # ---- (b) posterior sampling --------------------------------------------------------------
    def likelihood_gradient(self, z_t: torch.Tensor, t: torch.Tensor, measurement: torch.Tensor,
                            operator: Degradation, level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(x̂_0, its waveform, the DPS step direction) at z_t for the prior (no conditioning)."""

        estimates: list[torch.Tensor] = []  # the x̂_0 of the one network evaluation the step makes

        def estimate(z: torch.Tensor) -> torch.Tensor:
            estimates.append(self.predict_x0(z, t, None))
            return self.to_wave(estimates[-1], level, measurement.shape[-1])

        step, wave0 = likelihood_step(estimate, z_t, measurement, operator, level)
        return estimates[-1].detach(), wave0, step

    def posterior_iter(self, measurement: torch.Tensor, operator: Degradation, steps: int | None = None,
                       guidance: float | None = None, seed: int = 0, keep_every: int = 1, consistency: bool = True,
                       progress: bool = False, strength: float | None = None) -> Iterator[tuple[Step, torch.Tensor]]:
        """Posterior sampling with DDIM steps (η = 0) over the prior:

            x̂_0 ← P_y(x̂_0(z_t)),  z_{t'} = √ᾱ_{t'}·x̂_0 + √(1 − ᾱ_{t'})·ε̂(z_t) − ζ·δ,

        where P_y projects onto the signals that explain y (DDNM's range–null-space step; its last
        application makes the output explain y exactly), ε̂ is the network's own noise estimate and δ the
        Gauss-Newton-scaled DPS gradient of ‖y − A(x̂_0(z_t))‖² (see `likelihood_step`; skipped when ζ = 0).
        With `strength` < 1 the process enters the grid at that share of T from y noised there. Without
        `consistency` the estimate is never projected (plain DPS)."""
        steps = self.settings.posterior_steps if steps is None else steps
        guidance = self.settings.guidance if guidance is None else guidance
        strength = self.settings.posterior_strength if strength is None else strength
        if isinstance(steps, bool) or not 1 <= int(steps) <= MAX_POSTERIOR_STEPS:
            raise ValueError(f"Posterior sampling takes 1 to {MAX_POSTERIOR_STEPS} steps; got {steps}.")
        if not math.isfinite(guidance) or not 0.0 <= guidance <= MAX_GUIDANCE:
            raise ValueError(f"The guidance strength ζ must be between 0 and {MAX_GUIDANCE:g}; got {guidance}.")
        if not (math.isfinite(strength) and 0.0 < strength <= 1.0):
            raise ValueError(f"The posterior strength must be above 0 and at most 1; got {strength}.")
        samples = measurement.shape[-1]
        level = self.level(measurement)
        generator = torch.Generator().manual_seed(seed)
        scheduler = make_scheduler("ddim", self.schedule)
        scheduler.set_timesteps(int(steps))
        timesteps = [int(t) for t in scheduler.timesteps][-max(1, round(int(steps) * strength)):]
        z = torch.randn(1, self.settings.hop, self.mdct.frames_for(samples), generator=generator)
        if strength < 1:  # enter the grid from the observation itself, noised to the first timestep
            z = self.schedule.add_noise(self.to_z(measurement, level), torch.tensor([timesteps[0]]), z)
        alphas = self.schedule.alphas_cumprod
        total = len(timesteps) + (1 if consistency else 0)
        for index, t in enumerate(tqdm(timesteps, desc="posterior sampling", disable=not progress, leave=False)):
            check_stop()
            t_model = torch.full((1,), float(t))
            if guidance > 0:
                x0, wave0, step = self.likelihood_gradient(z, t_model, measurement, operator, level)
            else:  # no likelihood gradient: no backward pass through the network
                with torch.no_grad():
                    x0 = self.predict_x0(z, t_model, None)
                wave0, step = self.to_wave(x0, level, samples), torch.zeros_like(z)
            eps = self.schedule.eps_from_x0(z, float(t), x0)
            if consistency:
                wave0 = operator.project(wave0, measurement)
                x0 = self.to_z(wave0, level)
            if index % keep_every == 0:
                yield Step(index, total, float(t), float(self.schedule.snr_db(float(t))), z, x0), wave0
            alpha_next = alphas[timesteps[index + 1]] if index + 1 < len(timesteps) else torch.tensor(1.0)
            z = (alpha_next.sqrt() * x0 + (1 - alpha_next).sqrt() * eps - guidance * step).detach()
        wave = self.to_wave(z, level, samples).detach()
        if consistency:
            yield Step(total - 1, total, 0.0, math.inf, z, z), wave
            wave = operator.project(wave, measurement)
        yield Step(total, total, 0.0, math.inf, z, z), wave


def likelihood_step(estimate: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, measurement: torch.Tensor,
                    operator: Degradation, level: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The DPS likelihood step through the one-step estimate: δ = (‖r‖² / ‖g‖²)·g with r = (y − A(x̂_0(z)))/level and
    g = ∇_z ½‖r‖². A step −ζ·δ shrinks r to (1 − ζ)·r where A∘x̂_0 is a scaled orthogonal projection (low-pass, gap),
    and to first order elsewhere: a Gauss-Newton step length along the gradient direction of Chung et al. (2023).
    It is capped at the norm of z so that one step cannot swamp the sample.
    Returns (δ, the estimate's waveform)."""
    z = z.detach().requires_grad_(True)
    with torch.enable_grad():
        wave0 = estimate(z)
        residual = (measurement - operator.apply(wave0)) / level.reshape(-1, 1)
        half_error = 0.5 * residual.pow(2).sum()
        gradient = torch.autograd.grad(half_error, z)[0]
    squared = gradient.pow(2).sum().clamp_min(1e-20)
    step = gradient * (2 * half_error.detach() / squared)
    cap = z.detach().norm() / step.norm().clamp_min(1e-20)
    return step * torch.clamp(cap, max=1.0), wave0.detach()


def measurement_error(operator: Degradation, measurement: torch.Tensor, estimate: torch.Tensor) -> float:
    """‖y − A(x)‖ / ‖y‖: how far an estimate is from explaining the observation."""
    return float(torch.linalg.norm(measurement - operator.apply(estimate)) / torch.linalg.norm(measurement).clamp_min(1e-12))


def numpy_wave(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().reshape(-1).numpy().astype(np.float32)
