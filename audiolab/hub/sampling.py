"""The reverse process of a hub pipeline, over its own diffusers scheduler, yielding x_t and x̂_0 in latent space.

The loop is guided-diffusion's `p_sample_loop_progressive` again (as `core/diffusion.sample`), but the model, the
guidance and the scheduler's parameterisation are the pipeline's: a hub backend passes `model_output(x_in, t)` and
the scheduler the checkpoint ships with. What the scheduler does not hand out is derived here: the clean estimate
x̂_0 (`clean_estimate`) and the signal-to-noise ratio of the state (`snr_db`).
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from diffusers.schedulers.scheduling_utils import SchedulerMixin

ModelOutput = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (model input x_in, timestep t) -> guided output


@dataclass(frozen=True)
class LatentStep:
    """One kept point of a latent trajectory: the model's input x_t (variance-preserving scale) and x̂_0."""

    index: int
    total: int
    t: float
    snr_db: float
    x_t: torch.Tensor
    x0_hat: torch.Tensor


@dataclass(frozen=True)
class Start:
    """Where a reverse process begins: the timesteps still to run and the state x to run them from."""

    timesteps: torch.Tensor
    x: torch.Tensor


def fresh_scheduler(scheduler: SchedulerMixin) -> SchedulerMixin:
    """A new scheduler with the same config: a scheduler holds per-run state (step index, past model outputs), so
    two generations must never share one."""
    return type(scheduler).from_config(scheduler.config)


def is_flow_matching(scheduler: SchedulerMixin) -> bool:
    """Rectified flow (Liu et al. 2023): x_t = (1 − σ)·x_0 + σ·ε, the model predicts v = ε − x_0."""
    return type(scheduler).__name__.startswith("FlowMatch")


def noisy_start(scheduler: SchedulerMixin, steps: int, noise: torch.Tensor, init: torch.Tensor | None = None,
                strength: float = 1.0) -> Start | None:
    """All the timesteps from pure noise, or (SDEdit, Meng et al. 2022) the tail that `strength` reaches, started
    from `init` noised to its first timestep by the scheduler's own forward process. None: strength leaves no step."""
    scheduler.set_timesteps(steps)
    timesteps = scheduler.timesteps
    if init is None or strength >= 1.0:
        return Start(timesteps, noise * scheduler.init_noise_sigma)
    order = int(getattr(scheduler, "order", 1))
    run = round(steps * strength)
    if run == 0:
        return None
    begin = (steps - run) * order
    if hasattr(scheduler, "set_begin_index"):
        scheduler.set_begin_index(begin)
    timesteps = timesteps[begin:]
    if is_flow_matching(scheduler):
        return Start(timesteps, scheduler.scale_noise(init, timesteps[:1], noise))
    return Start(timesteps, scheduler.add_noise(init, noise, timesteps[:1]))


def _current_sigma(scheduler: SchedulerMixin) -> float | None:
    """σ of the state the last `step` started from (read after it: the step index has moved on by one)."""
    sigmas = getattr(scheduler, "sigmas", None)
    index = getattr(scheduler, "step_index", None)
    if sigmas is None or index is None or not 0 < index <= len(sigmas):
        return None
    return float(sigmas[index - 1])


def snr_db(scheduler: SchedulerMixin, t: torch.Tensor, sigma: float | None) -> float:
    """10·log10 SNR of x_t. σ-parameterised schedulers (Euler, DPM-Solver, EDM, the cosine DPM-Solver of Stable
    Audio Open) keep x = x_0 + σ·ε up to scale, so SNR = 1/σ²; rectified flow has SNR = ((1 − σ)/σ)²; the rest
    read ᾱ_t off the schedule (Ho et al. 2020)."""
    if sigma is not None:
        if is_flow_matching(scheduler):
            if sigma >= 1:
                return -math.inf  # pure noise: the flow's start holds nothing of x_0
            return math.inf if sigma <= 0 else 20 * math.log10((1 - sigma) / sigma)
        return math.inf if sigma <= 0 else -20 * math.log10(sigma)
    alphas = getattr(scheduler, "alphas_cumprod", None)
    if alphas is None:
        return math.nan
    alpha_bar = float(alphas[int(t)])
    return 10 * math.log10(alpha_bar / max(1 - alpha_bar, 1e-12))


def clean_estimate(scheduler: SchedulerMixin, stepped: object, output: torch.Tensor, x: torch.Tensor,
                   x_in: torch.Tensor, t: torch.Tensor, sigma: float | None) -> torch.Tensor:
    """x̂_0 for the state x (scheduler scale) whose model input was x_in, after `scheduler.step` returned `stepped`.

    In order: the scheduler's own `pred_original_sample` (DDPM, DDIM, Euler, Heun, LMS); for rectified flow
    x̂_0 = x_t − σ·v; for the DPM-Solver family (Lu et al. 2022; the EDM and cosine variants; UniPC) the model
    output it converted to a data prediction (`model_outputs[-1]`); otherwise from ε or v by ᾱ_t.
    """
    predicted = getattr(stepped, "pred_original_sample", None)
    if predicted is not None:
        return predicted
    if is_flow_matching(scheduler) and sigma is not None:
        return x - sigma * output
    config = scheduler.config
    data_prediction = (getattr(config, "algorithm_type", "dpmsolver++") in ("dpmsolver++", "sde-dpmsolver++")
                       and getattr(config, "predict_x0", True))
    converted = getattr(scheduler, "model_outputs", None)
    if converted and converted[-1] is not None and data_prediction:
        return converted[-1]
    alpha_bar = float(scheduler.alphas_cumprod[int(t)])
    kind = getattr(config, "prediction_type", "epsilon")
    if kind == "v_prediction":
        return math.sqrt(alpha_bar) * x_in - math.sqrt(1 - alpha_bar) * output
    if kind == "sample":
        return output
    return (x_in - math.sqrt(1 - alpha_bar) * output) / math.sqrt(alpha_bar)


def _step_kwargs(scheduler: SchedulerMixin, generator: torch.Generator | None) -> dict[str, object]:
    """Pass our generator to schedulers that draw noise inside `step` (DDPM, SDE solvers, the ping-pong sampler)."""
    accepted = inspect.signature(scheduler.step).parameters
    return {"generator": generator} if "generator" in accepted and generator is not None else {}


def reverse_process(
    model_output: ModelOutput,
    scheduler: SchedulerMixin,
    start: Start,
    keep_every: int = 1,
    generator: torch.Generator | None = None,
    after_step: Callable[[torch.Tensor, int], torch.Tensor] | None = None,
    stop: Callable[[], bool] | None = None,
) -> Iterator[LatentStep]:
    """Run the scheduler from `start`, yielding every `keep_every`-th step and always the first and the last.

    The last LatentStep has t = 0 and x_t = x̂_0 = the sample. `after_step(x, i)` may replace the state after
    step i (inpainting puts the kept region back); `stop()` is asked before every model call.
    """
    timesteps, x = start.timesteps, start.x
    total = len(timesteps)
    extra = _step_kwargs(scheduler, generator)
    for index, t in enumerate(timesteps):
        if stop is not None and stop():
            return
        x_in = scheduler.scale_model_input(x, t) if hasattr(scheduler, "scale_model_input") else x
        with torch.no_grad():
            output = model_output(x_in, t)
            stepped = scheduler.step(output, t, x, **extra)
        sigma = _current_sigma(scheduler)
        if index % keep_every == 0:
            x0_hat = clean_estimate(scheduler, stepped, output, x, x_in, t, sigma)
            yield LatentStep(index, total, float(t), snr_db(scheduler, t, sigma), x_in, x0_hat)
        x = stepped.prev_sample  # type: ignore[attr-defined]
        if after_step is not None:
            x = after_step(x, index)
    yield LatentStep(total, total, 0.0, math.inf, x, x)
