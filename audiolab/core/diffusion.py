"""Noise schedules, the closed-form forward process, and one sampler loop over diffusers' schedulers.

Forward process (Ho et al., 2020, eq. 4): x_t = sqrt(ᾱ_t)·x_0 + sqrt(1 − ᾱ_t)·ε.
The network predicts ε (Ho et al. 2020) or v = sqrt(ᾱ_t)·ε − sqrt(1 − ᾱ_t)·x_0 (Salimans & Ho 2022); a schedule
may be rescaled to zero terminal SNR (Lin et al. 2024), so that the last training step sees pure noise.
The sampler loop follows guided-diffusion's `p_sample_loop_progressive`: it is a generator that
yields a `Step` while it runs, and `run_to_end` just drains it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from diffusers import (
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerDiscreteScheduler,
    HeunDiscreteScheduler,
    UniPCMultistepScheduler,
)
from diffusers.schedulers.scheduling_utils import SchedulerMixin
from tqdm.auto import tqdm

from audiolab.core.choices import (
    BETA_SCHEDULES,
    PREDICTIONS,
    SAMPLERS,
    BetaScheduleName,
    PredictionName,
    SamplerName,
)
from audiolab.core.stopping import check_stop

SAMPLER_TITLES: dict[str, str] = {
    "ddpm": "DDPM (Ho et al. 2020)",
    "ddim": "DDIM (Song et al. 2021)",
    "dpm": "DPM-Solver++ 2M (Lu et al. 2022)",
    "dpm-sde": "DPM-Solver++ 2M SDE (Lu et al. 2022): fresh noise every step",
    "euler": "Euler (Karras et al. 2022)",
    "heun": "Heun (Karras et al. 2022)",
    "unipc": "UniPC (Zhao et al. 2023)",
}
MAX_STEPS = 1000  # the training schedule's length: more steps than timesteps has no meaning

# diffusers' names for the two schedules: "squaredcos_cap_v2" is Nichol & Dhariwal's (2021) cosine schedule.
_DIFFUSERS_BETA_NAMES: dict[str, str] = {"linear": "linear", "cosine": "squaredcos_cap_v2"}

# The denoiser: (x_t in variance-preserving scale, t of shape (batch,), conditioning or None) -> the schedule's
# prediction, ε̂ or v̂
Denoiser = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None"], torch.Tensor]

# ᾱ_T of a zero-terminal-SNR schedule. Exactly 0 would make σ_T infinite for the Karras-style samplers (Euler,
# Heun); 2^-24 (an SNR of −72 dB) is what diffusers' own schedulers substitute.
TERMINAL_ALPHA_BAR = 2.0**-24


def rescaled_to_terminal(alphas_cumprod: torch.Tensor, terminal: float) -> torch.Tensor:
    """Lin et al. (2024), Algorithm 1: shift and scale sqrt(ᾱ_t) linearly so that ᾱ_0 is kept and ᾱ_T becomes
    `terminal` (their algorithm is the case terminal = 0). Every ᾱ_t stays in order, so every β_t stays in (0, 1)."""
    root = alphas_cumprod.sqrt()
    first, last, target = root[0], root[-1], math.sqrt(terminal)
    return (target + (root - last) * (first - target) / (first - last)) ** 2


@dataclass(frozen=True)
class Schedule:
    """A discrete β schedule over T timesteps; the arrays are diffusers' own (DDPMScheduler)."""

    kind: BetaScheduleName = "cosine"
    num_train_timesteps: int = 1000
    beta_start: float = 1e-4  # Ho et al. (2020): linear from 1e-4 to 0.02 over T = 1000
    beta_end: float = 0.02
    prediction: PredictionName = "epsilon"
    zero_terminal_snr: bool = False  # rescale so that ᾱ_T ≈ 0 (Lin et al. 2024, Algorithm 1)
    alphas_cumprod: torch.Tensor = field(init=False, repr=False, compare=False)
    betas: torch.Tensor = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in BETA_SCHEDULES:
            raise ValueError(f"Unknown beta schedule {self.kind!r}; choose one of {', '.join(BETA_SCHEDULES)}.")
        if self.prediction not in PREDICTIONS:
            raise ValueError(f"Unknown prediction {self.prediction!r}; choose one of {', '.join(PREDICTIONS)}.")
        if not 2 <= self.num_train_timesteps <= 100_000:
            raise ValueError(f"num_train_timesteps must be between 2 and 100000; got {self.num_train_timesteps}.")
        reference = DDPMScheduler(**self._base_config())
        betas, alphas_cumprod = reference.betas.to(torch.float64), reference.alphas_cumprod.to(torch.float64)
        if self.zero_terminal_snr:
            alphas_cumprod = rescaled_to_terminal(alphas_cumprod, TERMINAL_ALPHA_BAR)
            betas = 1 - alphas_cumprod / torch.cat([alphas_cumprod.new_ones(1), alphas_cumprod[:-1]])
        object.__setattr__(self, "betas", betas)
        object.__setattr__(self, "alphas_cumprod", alphas_cumprod)

    def _base_config(self) -> dict[str, object]:
        return {
            "num_train_timesteps": self.num_train_timesteps,
            "beta_schedule": _DIFFUSERS_BETA_NAMES[self.kind],
            "beta_start": self.beta_start,
            "beta_end": self.beta_end,
            "prediction_type": self.prediction,
        }

    def scheduler_config(self) -> dict[str, object]:
        """Keyword arguments that give any diffusers scheduler this schedule (a rescaled one as its β's)."""
        config = self._base_config()
        if self.zero_terminal_snr:
            config["trained_betas"] = self.betas.tolist()
        return config

    @property
    def terminal_snr_db(self) -> float:
        """The SNR at t = T − 1, where sampling starts: far below 0 dB only for a zero-terminal-SNR schedule."""
        return float(self.snr_db(self.num_train_timesteps - 1))

    def alpha_bar(self, t: torch.Tensor | float) -> torch.Tensor:
        """ᾱ_t; fractional t (Heun's midpoints) interpolates log σ as diffusers' Karras-style schedulers do."""
        t = torch.as_tensor(t, dtype=torch.float64).clamp(0, self.num_train_timesteps - 1)
        log_sigma = 0.5 * torch.log((1 - self.alphas_cumprod) / self.alphas_cumprod)
        low = t.floor().long()
        high = torch.clamp(low + 1, max=self.num_train_timesteps - 1)
        weight = t - low.to(torch.float64)
        sigma = torch.exp((1 - weight) * log_sigma[low] + weight * log_sigma[high])
        return 1.0 / (1.0 + sigma**2)

    def snr(self, t: torch.Tensor | float) -> torch.Tensor:
        """Signal-to-noise ratio ᾱ_t / (1 − ᾱ_t) of q(x_t | x_0)."""
        alpha_bar = self.alpha_bar(t)
        return alpha_bar / (1 - alpha_bar)

    def snr_db(self, t: torch.Tensor | float) -> torch.Tensor:
        return 10 * torch.log10(self.snr(t))

    def add_noise(self, x0: torch.Tensor, t: torch.Tensor | int, noise: torch.Tensor) -> torch.Tensor:
        """Sample q(x_t | x_0) in closed form: sqrt(ᾱ_t)·x_0 + sqrt(1 − ᾱ_t)·ε, t broadcast over the batch."""
        alpha_bar = self.alpha_bar(t).to(x0.dtype)
        while alpha_bar.dim() < x0.dim():
            alpha_bar = alpha_bar.unsqueeze(-1)
        return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise

    def eps_from_x0(self, x_t: torch.Tensor, t: torch.Tensor | float, x0: torch.Tensor) -> torch.Tensor:
        """The ε that makes `x0` the one-step estimate at (x_t, t): (x_t − sqrt(ᾱ_t)·x_0) / sqrt(1 − ᾱ_t)."""
        alpha_bar = self.alpha_bar(t).to(x_t.dtype)
        while alpha_bar.dim() < x_t.dim():
            alpha_bar = alpha_bar.unsqueeze(-1)
        return (x_t - alpha_bar.sqrt() * x0) / (1 - alpha_bar).sqrt()

    def predict_x0(self, x_t: torch.Tensor, t: torch.Tensor | float, eps: torch.Tensor) -> torch.Tensor:
        """One-step estimate x̂_0 = (x_t − sqrt(1 − ᾱ_t)·ε̂) / sqrt(ᾱ_t) (Ho et al., 2020, eq. 15)."""
        alpha_bar = self.alpha_bar(t).to(x_t.dtype)
        while alpha_bar.dim() < x_t.dim():
            alpha_bar = alpha_bar.unsqueeze(-1)
        return (x_t - (1 - alpha_bar).sqrt() * eps) / alpha_bar.sqrt()

    def _broadcast_alpha_bar(self, t: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor:
        alpha_bar = self.alpha_bar(t).to(like.dtype)
        while alpha_bar.dim() < like.dim():
            alpha_bar = alpha_bar.unsqueeze(-1)
        return alpha_bar

    def x0_from_output(self, x_t: torch.Tensor, t: torch.Tensor | float, output: torch.Tensor) -> torch.Tensor:
        """x̂_0 from the network's output: eq. 15 of Ho et al. for ε̂, sqrt(ᾱ_t)·x_t − sqrt(1 − ᾱ_t)·v̂ for v̂
        (Salimans & Ho 2022), which stays finite where ᾱ_t = 0."""
        if self.prediction == "epsilon":
            return self.predict_x0(x_t, t, output)
        alpha_bar = self._broadcast_alpha_bar(t, x_t)
        return alpha_bar.sqrt() * x_t - (1 - alpha_bar).sqrt() * output

    def output_from_x0(self, x_t: torch.Tensor, t: torch.Tensor | float, x0: torch.Tensor) -> torch.Tensor:
        """The network output (ε or v) that makes `x0` the one-step estimate at (x_t, t)."""
        if self.prediction == "epsilon":
            return self.eps_from_x0(x_t, t, x0)
        alpha_bar = self._broadcast_alpha_bar(t, x_t)
        return (alpha_bar.sqrt() * x_t - x0) / (1 - alpha_bar).sqrt()

    def training_target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor | float) -> torch.Tensor:
        """What the network learns to output for x_t = add_noise(x0, t, noise): ε, or v = sqrt(ᾱ_t)·ε − sqrt(1 − ᾱ_t)·x_0."""
        if self.prediction == "epsilon":
            return noise
        alpha_bar = self._broadcast_alpha_bar(t, x0)
        return alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * x0

    def loss_weights(self, t: torch.Tensor, gamma: float) -> torch.Tensor:
        """Min-SNR-γ weights (Hang et al. 2023) for the squared error of the network's output, shape (batch,).

        The x_0-space weight min(SNR, γ) becomes min(SNR, γ)/SNR for ε. For v, whose squared error is already
        (SNR + 1) times x_0's, the weight is min(SNR + 1, γ)/(SNR + 1): clipped at high SNR like Min-SNR-γ, but
        the zero-SNR step, which sets a sample's whole layout, keeps full weight instead of none.
        """
        snr = self.snr(t).to(torch.float32)
        if self.prediction == "epsilon":
            return torch.clamp(snr, max=gamma) / snr
        return torch.clamp(snr + 1, max=gamma) / (snr + 1)


def make_scheduler(name: SamplerName, schedule: Schedule) -> SchedulerMixin:
    """A fresh diffusers scheduler for `schedule`.

    "trailing" timestep spacing starts every sampler at t = T − 1, the noisiest step, as
    Lin et al. (2024, "Common diffusion noise schedules and sample steps are flawed") recommend.
    """
    config = schedule.scheduler_config()
    if name == "ddpm":
        return DDPMScheduler(**config, clip_sample=False, timestep_spacing="trailing")
    if name == "ddim":
        return DDIMScheduler(**config, clip_sample=False, set_alpha_to_one=False, timestep_spacing="trailing")
    if name == "dpm":
        return DPMSolverMultistepScheduler(
            **config, algorithm_type="dpmsolver++", solver_order=2, timestep_spacing="trailing"
        )
    if name == "dpm-sde":
        return DPMSolverMultistepScheduler(
            **config, algorithm_type="sde-dpmsolver++", solver_order=2, timestep_spacing="trailing"
        )
    if name == "euler":
        return EulerDiscreteScheduler(**config, timestep_spacing="trailing")
    if name == "heun":
        return HeunDiscreteScheduler(**config, timestep_spacing="trailing")
    if name == "unipc":
        return UniPCMultistepScheduler(**config, timestep_spacing="trailing")
    raise ValueError(f"Unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}.")


@dataclass(frozen=True)
class Step:
    """One point on a trajectory: the noisy state x_t and the current clean estimate x̂_0."""

    index: int  # position on the trajectory: model evaluations done (reverse) or point number (forward)
    total: int  # how many positions the whole trajectory has
    t: float  # diffusion time in [0, T); 0 is clean
    snr_db: float  # 10·log10(ᾱ_t / (1 − ᾱ_t)); +inf at the clean end
    x_t: torch.Tensor
    x0_hat: torch.Tensor
    caption: str = ""  # replaces the t/SNR label for processes that are not indexed by t (DiffGMM iterations)

    @property
    def label(self) -> str:
        if self.caption:
            return self.caption
        snr = ("clean" if self.snr_db > 0 else "pure noise") if math.isinf(self.snr_db) else f"SNR {self.snr_db:+.1f} dB"
        return f"step {self.index}/{self.total} · t={self.t:.0f} · {snr}"


def check_steps(steps: int) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise ValueError(f"The step count must be a whole number; got {steps!r}.")
    if not 1 <= int(steps) <= MAX_STEPS:
        raise ValueError(f"The step count must be between 1 and {MAX_STEPS}; got {steps}.")
    return int(steps)


def check_guidance(guidance: float) -> float:
    if not math.isfinite(float(guidance)) or not 0.0 <= float(guidance) <= 30.0:
        raise ValueError(f"The guidance scale must be between 0 and 30; got {guidance}.")
    return float(guidance)


def check_guidance_interval(interval: Sequence[float]) -> tuple[float, float]:
    """A guidance interval (lo, hi) in fractions of the diffusion time t/T, with 0 ≤ lo < hi ≤ 1."""
    try:
        low, high = (float(v) for v in interval)
    except (TypeError, ValueError):
        raise ValueError(f"The guidance interval must be two numbers (lo, hi); got {interval!r}.") from None
    if not (math.isfinite(low) and math.isfinite(high) and 0.0 <= low < high <= 1.0):
        raise ValueError(f"The guidance interval must satisfy 0 ≤ lo < hi ≤ 1 (fractions of t/T); "
                         f"got {interval!r}.")
    return low, high


def guidance_at(guidance: float, t: float, num_train_timesteps: int, interval: tuple[float, float]) -> float:
    """The guidance scale at timestep t: `guidance` inside the interval of t/T, 1 (the conditional prediction
    alone) outside it. Guidance at the highest noise levels narrows the variety of samples and buys little
    fidelity (Kynkäänniemi et al. 2024, "Applying guidance in a limited interval"). Scales of 1 or less
    (conditional, unconditional, or in between) are not guidance that an interval limits: they apply throughout."""
    low, high = interval
    return guidance if guidance <= 1.0 or low <= t / num_train_timesteps <= high else 1.0


def frame_centred(noise: torch.Tensor) -> torch.Tensor:
    """Starting noise (…, bands, frames) with each frame's mean over the bands removed, rescaled to unit variance.

    Where the schedule's terminal SNR is not zero, x_T still carries a trace of each frame's mean level, and a
    network trained on it reads the noise's frame means as the sound's loudness over time, so the seed, not the
    prompt, sets the timing (the brightness leak of Lin et al. 2024, "Common Diffusion Noise Schedules and
    Sample Steps Are Flawed", along time). Without those means the network has to take the timing from the prompt.
    """
    bands = noise.shape[-2]
    if bands < 2:
        raise ValueError("Frame-centred noise needs at least two bands in each frame.")
    return (noise - noise.mean(dim=-2, keepdim=True)) * math.sqrt(bands / (bands - 1))


def forward_trajectory(
    schedule: Schedule, x0: torch.Tensor, timesteps: Sequence[int], generator: torch.Generator | None = None,
    centred: bool = False,
) -> list[Step]:
    """Noise `x0` to each t in `timesteps` with one shared ε, so the steps read as one path.

    `centred`: ε without its frame means (`frame_centred`), the noise a network trained with frame-centred
    noise saw, so the path shown is the one it learned to reverse."""
    noise = torch.randn(x0.shape, generator=generator, dtype=x0.dtype)
    if centred:
        noise = frame_centred(noise)
    steps: list[Step] = []
    for index, t in enumerate(sorted(int(t) for t in timesteps)):
        if not 0 <= t < schedule.num_train_timesteps:
            raise ValueError(f"Timesteps must lie in [0, {schedule.num_train_timesteps - 1}]; got {t}.")
        x_t = schedule.add_noise(x0, t, noise)
        steps.append(Step(index, len(timesteps), float(t), float(schedule.snr_db(t)), x_t, x0))
    return steps


def _guided_output(
    denoiser: Denoiser,
    x_t: torch.Tensor,
    t: torch.Tensor,
    cond: torch.Tensor | None,
    uncond: torch.Tensor | None,
    guidance: float,
) -> torch.Tensor:
    """Classifier-free guidance (Ho & Salimans, 2022): ε̂ = ε̂_∅ + w·(ε̂_c − ε̂_∅); the same for v̂, which is
    affine in ε̂ at a given x_t."""
    batch = x_t.shape[0]
    timestep = t.expand(batch)
    if cond is None or uncond is None or guidance == 1.0:
        return denoiser(x_t, timestep, cond if cond is not None else uncond)
    if guidance == 0.0:
        return denoiser(x_t, timestep, uncond)
    eps = denoiser(torch.cat([x_t, x_t]), torch.cat([timestep, timestep]), torch.cat([cond, uncond]))
    eps_cond, eps_uncond = eps.chunk(2)
    return eps_uncond + guidance * (eps_cond - eps_uncond)


def _check_sample_arguments(steps: int, guidance: float, keep_every: int, strength: float) -> tuple[int, float]:
    """The step count and guidance scale, checked; a ValueError for any argument out of range."""
    steps = check_steps(steps)
    guidance = check_guidance(guidance)
    if keep_every < 1:
        raise ValueError(f"keep_every must be at least 1; got {keep_every}.")
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"The strength must be between 0 and 1; got {strength}.")
    return steps, guidance


def _starting_point(
    scheduler: SchedulerMixin, noise: torch.Tensor, steps: int, init: torch.Tensor | None, strength: float
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The timesteps to run and the x to start from: all of them from `noise`, or the tail that a partial (SDEdit)
    start runs from `init` noised; None when `strength` leaves no step to run."""
    scheduler.set_timesteps(steps)
    timesteps = scheduler.timesteps
    order = int(getattr(scheduler, "order", 1))
    if init is not None and strength < 1.0:
        run_steps = int(round(steps * strength))
        if run_steps == 0:
            return None
        begin = (steps - run_steps) * order
        timesteps = timesteps[begin:]
        if hasattr(scheduler, "set_begin_index"):
            scheduler.set_begin_index(begin)
        x = scheduler.add_noise(init, noise, timesteps[:1])
    else:
        x = noise * scheduler.init_noise_sigma
    return timesteps, x


def _corrected_estimate(
    schedule: Schedule,
    x_vp: torch.Tensor,
    t: float,
    output: torch.Tensor,
    x0_range: tuple[float, float] | None,
    x0_correction: Callable[[torch.Tensor, float], torch.Tensor] | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """x̂_0 from the network's output (ε̂ or v̂), clipped to `x0_range` and passed through `x0_correction`, and the
    output that matches it."""
    x0_hat = schedule.x0_from_output(x_vp, t, output)
    if x0_range is not None:
        x0_hat = x0_hat.clamp(*x0_range)
    if x0_correction is not None:
        x0_hat = x0_correction(x0_hat, t)
    if x0_range is not None or x0_correction is not None:
        output = schedule.output_from_x0(x_vp, t, x0_hat)
    return output, x0_hat


def sample(
    denoiser: Denoiser,
    scheduler: SchedulerMixin,
    schedule: Schedule,
    noise: torch.Tensor,
    steps: int,
    cond: torch.Tensor | None = None,
    uncond: torch.Tensor | None = None,
    guidance: float = 1.0,
    keep_every: int = 1,
    init: torch.Tensor | None = None,
    strength: float = 1.0,
    generator: torch.Generator | list[torch.Generator] | None = None,
    progress: bool = False,
    x0_range: tuple[float, float] | None = None,
    x0_correction: Callable[[torch.Tensor, float], torch.Tensor] | None = None,
    stop: Callable[[], bool] | None = None,
    guidance_interval: tuple[float, float] = (0.0, 1.0),
) -> Iterator[Step]:
    """Run the reverse process with any diffusers scheduler, yielding every `keep_every`-th Step.

    `noise` is a standard-normal draw of the output's shape. With `init` and `strength` < 1 the
    loop starts part-way (SDEdit, Meng et al. 2022): `init` is noised to the timestep that
    `strength` reaches and only the remaining steps run; strength 0 returns `init` itself.
    The first and the last Step are always yielded; the last has t = 0 and x_t = x̂_0 = the sample.

    `x0_range` clips x̂_0 to the data's range and re-derives ε from the clipped estimate, so every
    scheduler sees the same correction: near t = T, where ᾱ_t → 0, an ε-model's x̂_0 = (x_t − …)/sqrt(ᾱ_t)
    amplifies small errors without bound (the "clip_sample" of Ho et al. 2020, for any sampler).
    `x0_correction(x̂_0, t)` is a more general projection applied the same way (after the clip), for
    instance onto the signals consistent with a known magnitude spectrogram.
    `stop()` is asked before every model evaluation; when it says True the loop ends at once, with no
    further Step (whoever wanted the result has gone).
    `guidance_interval` (lo, hi): guidance applies only where lo ≤ t/T ≤ hi; elsewhere the conditional
    prediction alone is used, at one network evaluation instead of two (Kynkäänniemi et al. 2024).
    """
    steps, guidance = _check_sample_arguments(steps, guidance, keep_every, strength)
    guidance_interval = check_guidance_interval(guidance_interval)

    # 1. timesteps: all of them, or the tail that a partial (SDEdit) start runs
    start = _starting_point(scheduler, noise, steps, init, strength)
    if start is None:
        yield Step(0, 0, 0.0, math.inf, init, init)
        return
    timesteps, x = start

    # 2. the loop: one model evaluation per scheduler timestep (Heun's second evaluations included)
    total = len(timesteps)
    for index, t in enumerate(tqdm(timesteps, desc="sampling", disable=not progress, leave=False)):
        check_stop()
        if stop is not None and stop():
            return
        x_vp = scheduler.scale_model_input(x, t)  # Euler/Heun keep x in σ-scale; the model sees VP scale
        t_model = torch.as_tensor(t, dtype=torch.float32).reshape(1)
        with torch.no_grad():
            scale = guidance_at(guidance, float(t), schedule.num_train_timesteps, guidance_interval)
            output = _guided_output(denoiser, x_vp, t_model, cond, uncond, scale)
        output, x0_hat = _corrected_estimate(schedule, x_vp, float(t), output, x0_range, x0_correction)
        if index % keep_every == 0:
            yield Step(index, total, float(t), float(schedule.snr_db(float(t))), x_vp, x0_hat)
        x = scheduler.step(output, t, x, generator=generator).prev_sample if _takes_generator(scheduler) else (
            scheduler.step(output, t, x).prev_sample
        )
    if x0_range is not None:  # the last update can land a hair outside the data range (DDIM stops at ᾱ_0 < 1)
        x = x.clamp(*x0_range)
    yield Step(total, total, 0.0, math.inf, x, x)


def _takes_generator(scheduler: SchedulerMixin) -> bool:
    """DDPM, DDIM (η > 0), Euler and DPM-Solver++'s SDE variant draw noise inside step(); pass them our
    generator (or one generator per batch row, so that each row's noise is the one it gets alone)."""
    return isinstance(scheduler, (DDPMScheduler, DDIMScheduler, EulerDiscreteScheduler, DPMSolverMultistepScheduler))


def run_to_end(trajectory: Iterator[Step]) -> tuple[Step, list[Step]]:
    """Drain a sampler generator: the final Step and every Step it yielded."""
    kept = list(trajectory)
    return kept[-1], kept


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of the diffusion step (Vaswani et al., 2017; DiffWave eq. in §3.1)."""
    half = dim // 2
    frequencies = torch.exp(-math.log(10_000.0) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * frequencies[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)
