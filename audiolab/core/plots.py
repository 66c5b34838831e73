"""Figures: trajectory grids, forward-process strips, the noise schedule, spectrogram comparisons.

Every figure is a matplotlib Figure (Agg backend, no display), made without pyplot: pyplot keeps a
process-wide list of open figures, and several users' requests draw at the same time. Such a Figure
is freed like any object once nothing refers to it. `spectrogram_image` is a fast array-to-RGB path
for live previews while a sampler runs.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from audiolab.core.diffusion import BETA_SCHEDULES, Schedule, Step

CMAP = "magma"
NORMALIZED_RANGE = (-2.5, 2.5)  # normalised log-mels: clean content spans about ±2.5 standard deviations

ToImage = Callable[[torch.Tensor], np.ndarray]


def _figure(**settings: object) -> Figure:
    """A Figure on its own Agg canvas (drawable and savable without pyplot)."""
    figure = Figure(**settings)  # type: ignore[arg-type]
    FigureCanvasAgg(figure)
    return figure


def _as_image(x: torch.Tensor) -> np.ndarray:
    """(…, mels, frames) tensor -> 2-D array, low frequencies at the bottom once drawn with origin='lower'."""
    return x.reshape(x.shape[-2], x.shape[-1]).detach().cpu().numpy()


def spectrogram_image(x: torch.Tensor, value_range: tuple[float, float] = NORMALIZED_RANGE) -> np.ndarray:
    """A normalised mel as an RGB uint8 image (low bands at the bottom), for live previews."""
    image = _as_image(x)
    low, high = value_range
    scaled = np.clip((image - low) / (high - low), 0, 1)[::-1]
    rgb = matplotlib.colormaps[CMAP](scaled)[..., :3]
    return (rgb * 255).astype(np.uint8)


def trajectory_figure(
    steps: Sequence[Step],
    title: str = "Reverse trajectory",
    to_image: ToImage = _as_image,
    value_range: tuple[float, float] | None = NORMALIZED_RANGE,
    show_estimate: bool = True,
) -> Figure:
    """Grid of spectrograms: x_t (top row) above the clean estimate x̂_0 (bottom row), one column per Step."""
    if not steps:
        raise ValueError("No trajectory steps to plot.")
    rows = 2 if show_estimate else 1
    columns = len(steps)
    figure = _figure(figsize=(max(2.2 * columns, 4), 2.0 * rows + 0.6))
    axes = figure.subplots(rows, columns, squeeze=False)
    vmin, vmax = value_range if value_range else (None, None)
    for column, step in enumerate(steps):
        pictures = [step.x_t, step.x0_hat][:rows]
        for row, tensor in enumerate(pictures):
            axis = axes[row][column]
            axis.imshow(to_image(tensor), origin="lower", aspect="auto", cmap=CMAP, vmin=vmin, vmax=vmax)
            axis.set_xticks([])
            axis.set_yticks([])
            if row == 0:
                axis.set_title(step.label.replace(" · ", "\n", 1), fontsize=8)
        axes[0][0].set_ylabel("x_t", fontsize=9)
        if show_estimate:
            axes[1][0].set_ylabel("x̂_0 (estimate)", fontsize=9)
    _suptitle(figure, title)
    figure.tight_layout()
    return figure


def thin_steps(steps: Sequence[Step], max_columns: int) -> list[Step]:
    """At most `max_columns` Steps, evenly spread, always keeping the first and the last."""
    if len(steps) <= max_columns:
        return list(steps)
    picks = np.unique(np.round(np.linspace(0, len(steps) - 1, max_columns)).astype(int))
    return [steps[int(i)] for i in picks]


def waveform_trajectory_figure(
    steps: Sequence[Step], sample_rate: int, to_image: ToImage, title: str = "Waveform reverse trajectory",
    max_columns: int = 8,
) -> Figure:
    """For waveform-domain Steps: the waveform x_t (top row) above its log-mel (bottom row), one column per Step
    (at most `max_columns`, evenly spread over the trajectory)."""
    if not steps:
        raise ValueError("No trajectory steps to plot.")
    steps = thin_steps(steps, max_columns)
    columns = len(steps)
    figure = _figure(figsize=(max(2.2 * columns, 4), 4.4))
    axes = figure.subplots(2, columns, squeeze=False)
    images = [to_image(step.x_t) for step in steps]
    high = max(float(np.max(image)) for image in images)
    limit = max(float(step.x_t.abs().max()) for step in steps) or 1.0
    for column, (step, image) in enumerate(zip(steps, images)):
        wave = step.x_t.reshape(-1).detach().cpu().numpy()
        seconds = np.arange(wave.size) / sample_rate
        top, bottom = axes[0][column], axes[1][column]
        top.plot(seconds, wave, linewidth=0.3, color="#5b2a86")
        top.set_ylim(-limit, limit)
        top.set_title(step.label.replace(" · ", "\n", 1), fontsize=8)
        bottom.imshow(image, origin="lower", aspect="auto", cmap=CMAP, vmin=high - 10, vmax=high)
        for axis in (top, bottom):
            axis.set_xticks([])
            axis.set_yticks([])
    axes[0][0].set_ylabel("waveform x_t", fontsize=9)
    axes[1][0].set_ylabel("log-mel of x_t", fontsize=9)
    _suptitle(figure, title)
    figure.tight_layout()
    return figure


def schedule_figure(num_train_timesteps: int = 1000, marks: Sequence[int] = ()) -> Figure:
    """ᾱ_t and SNR(t) in dB for the linear and the cosine schedule; optional vertical marks at chosen t."""
    t = torch.arange(num_train_timesteps)
    figure = _figure(figsize=(9, 3.2))
    left, right = figure.subplots(1, 2)
    for kind in BETA_SCHEDULES:
        schedule = Schedule(kind, num_train_timesteps)  # type: ignore[arg-type]
        left.plot(t, schedule.alphas_cumprod.numpy(), label=kind)
        right.plot(t, schedule.snr_db(t.double()).numpy(), label=kind)
    for axis in (left, right):
        for mark in marks:
            axis.axvline(mark, color="grey", linewidth=0.6, linestyle=":")
        axis.set_xlabel("t")
        axis.grid(alpha=0.3)
        axis.legend()
    left.set_title("ᾱ_t (signal kept)")
    right.set_title("SNR(t) = ᾱ_t / (1 − ᾱ_t), dB")
    figure.tight_layout()
    return figure


def spectrogram_comparison(panels: Sequence[tuple[str, np.ndarray]], title: str = "") -> Figure:
    """Log-mel spectrograms side by side on one colour scale, e.g. input against output."""
    if not panels:
        raise ValueError("Nothing to compare.")
    # constrained layout keeps the axis labels and the shared colour bar inside the figure
    figure = _figure(figsize=(4 * len(panels), 3), layout="constrained")
    axes = figure.subplots(1, len(panels), squeeze=False)
    high = max(float(np.max(image)) for _, image in panels)
    for axis, (name, image) in zip(axes[0], panels):
        shown = axis.imshow(image, origin="lower", aspect="auto", cmap=CMAP, vmin=high - 10, vmax=high)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("frame")
        axis.set_ylabel("mel band")
    figure.colorbar(shown, ax=axes[0].tolist(), label="log magnitude", shrink=0.85)
    if title:
        _suptitle(figure, title)
    return figure


def _suptitle(figure: Figure, title: str) -> None:
    """A figure title wrapped to the figure's width, so a long one is never cut off at the sides."""
    characters = max(20, int(figure.get_figwidth() * 13))  # about 13 characters an inch at 10 pt
    figure.suptitle(textwrap.fill(title, characters), fontsize=10)


def close(figure: Figure) -> None:
    """Release a figure's drawing buffers now rather than when it is garbage-collected."""
    figure.clear()


def mixture_figure(residual: np.ndarray, density_at: Callable[[torch.Tensor], torch.Tensor], components: int,
                   residual_is_true: bool) -> Figure:
    """DiffGMM's fitted noise mixture (averaged over coefficients) drawn over a histogram of the residual.

    `residual` holds the residual's MDCT coefficients in units of the input's RMS: the true noise
    (noisy − clean) when the clean recording is known, else the noise the model removed.
    """
    values = np.asarray(residual, dtype=np.float64).reshape(-1)
    limit = float(np.quantile(np.abs(values), 0.995)) or 1.0
    grid = torch.linspace(-limit, limit, 400)
    figure = _figure(figsize=(6.4, 3.2))
    axis = figure.subplots()
    axis.hist(values, bins=160, range=(-limit, limit), density=True, color="#c9b6e4",
              label="true residual (noisy − clean)" if residual_is_true else "removed noise (noisy − restored)")
    axis.plot(grid.numpy(), density_at(grid).numpy(), color="#5b2a86", linewidth=1.6,
              label=f"fitted mixture, K = {components} (mean over coefficients)")
    axis.set_yscale("log")
    axis.set_xlabel("noise, MDCT coefficient / input RMS")
    axis.set_ylabel("density (log)")
    axis.legend(fontsize=8)
    axis.set_title("DiffGMM: the noise distribution it estimated", fontsize=10)
    figure.tight_layout()
    return figure
