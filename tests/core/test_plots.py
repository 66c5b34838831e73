"""Figures: nothing a person needs to read is cut off at the figure's edges."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.figure import Figure

from audiolab.core import plots
from audiolab.core.diffusion import Step


def _drawn_inside(figure: Figure) -> bool:
    """Every drawn artist (titles, labels, tick labels, colour bars) lies within the figure."""
    figure.canvas.draw()
    box = figure.get_tightbbox(figure.canvas.get_renderer())
    width, height = figure.get_size_inches()
    return box.x0 >= -0.01 and box.y0 >= -0.01 and box.x1 <= width + 0.01 and box.y1 <= height + 0.01


def test_figure_titles_and_axis_labels_are_never_cut_off() -> None:
    rng = np.random.default_rng(0)
    waves = [Step(i, 1, float(1 - i), 0.0, torch.zeros(1, 16_000), torch.zeros(1, 16_000)) for i in range(2)]
    mels = [Step(i, 1, float(1 - i), 0.0, torch.zeros(1, 1, 64, 128), torch.zeros(1, 1, 64, 128)) for i in range(2)]
    long_title = "Diffusion vocoder, reverse trajectory: waveform x_t (top) and its mel (bottom)"
    figures = [
        plots.waveform_trajectory_figure(waves, 16_000, lambda x: rng.normal(size=(64, 63)), long_title),
        plots.trajectory_figure(mels, "Reverse trajectory: x_t (top) and x̂_0 (bottom), a long title " * 2),
        plots.spectrogram_comparison([("input mel", rng.normal(size=(64, 100))),
                                      ("Griffin-Lim, 32 iterations", rng.normal(size=(64, 100)))]),
        plots.schedule_figure(1000, [0, 500]),
    ]
    for figure in figures:
        assert _drawn_inside(figure)
        plots.close(figure)
