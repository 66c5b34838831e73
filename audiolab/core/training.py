"""The pieces every training loop here shares: learning-rate schedule, optimiser step, EMA, progress text."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import torch


def warmup_cosine(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then cosine decay to zero over `total_steps` (SGDR, Loshchilov & Hutter 2017)."""
    def factor(step: int) -> float:
        return min(1.0, (step + 1) / warmup_steps) * 0.5 * (1 + math.cos(math.pi * step / total_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def optimizer_step(loss: torch.Tensor, optimizer: torch.optim.Optimizer, parameters: Sequence[torch.nn.Parameter],
                   lr_schedule: torch.optim.lr_scheduler.LRScheduler, max_grad_norm: float = 1.0) -> None:
    """Backpropagate `loss`, clip the gradient norm, step the optimiser and the schedule."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm)
    optimizer.step()
    lr_schedule.step()


def update_ema(pairs: Iterable[tuple[torch.nn.Module, torch.nn.Module]], step: int, decay: float) -> None:
    """Move each averaged model towards its live one; the decay ramps up over the first steps."""
    decay = min(decay, (1 + step) / (10 + step))  # short warm-up of the average
    with torch.no_grad():
        for ema_model, model in pairs:
            for ema_p, p in zip(ema_model.parameters(), model.parameters()):
                ema_p.lerp_(p, 1 - decay)


def progress_text(step: int, steps: int, started: float, lr_schedule: torch.optim.lr_scheduler.LRScheduler) -> str:
    """"lr … it/s … eta … min" for the log line of `step` out of `steps`, timed from `started`."""
    elapsed = time.perf_counter() - started
    return (f"lr {lr_schedule.get_last_lr()[0]:.2e} {step / elapsed:.2f} it/s "
            f"eta {(steps - step) * elapsed / step / 60:.1f} min")


class TrainingRun(Protocol):
    """What `run_steps` drives: one optimiser step at a time, a validation figure for the log, a checkpoint."""

    steps: int
    lr_schedule: torch.optim.lr_scheduler.LRScheduler

    def train_step(self, step: int) -> float: ...

    def validation_text(self) -> str: ...

    def save(self, step: int, loss_value: float, seconds: float) -> object: ...


def run_steps(run: TrainingRun, log: Callable[[str], None], log_every: int, save_every: int) -> tuple[float, float]:
    """Train for `run.steps` steps, logging and saving on the way; the last batch loss and the seconds taken."""
    steps = run.steps
    running, started = 0.0, time.perf_counter()
    loss_value = float("nan")
    for step in range(1, steps + 1):
        loss_value = run.train_step(step)
        running += loss_value
        if step % log_every == 0 or step == steps:
            count = log_every if step % log_every == 0 else step % log_every
            log(f"step {step}/{steps} loss {running / count:.4f} {run.validation_text()} "
                f"{progress_text(step, steps, started, run.lr_schedule)}")
            running = 0.0
        if step % save_every == 0 and step < steps:  # a usable checkpoint even if the run is cut short
            run.save(step, loss_value, time.perf_counter() - started)
    return loss_value, time.perf_counter() - started
