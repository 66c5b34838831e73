"""A time–frequency refiner: 2-D convolutions over (frequency, frame) that correct a frame network's output per bin.

The U-Net of `audiolab.restoration.unet1d` sees each frame as one vector (all coefficients as
channels), so what it returns per coefficient is a linear read-out of a few hundred frame features:
smooth across frequency. Speech and competing talkers differ in fine structure (harmonics 3–8 bins
apart at 31 Hz per bin), which 2-D convolutions over the time–frequency plane see directly, as in
convolutional-recurrent enhancement networks (Tan & Wang 2018, "A Convolutional Recurrent Neural
Network for Real-Time Speech Enhancement"). The refiner's last layer starts at zero, so a trained
frame network grown with one keeps its output until the refiner learns a correction.

Dilated along frequency, it sees ±8 bins but only ±4 frames (±64 ms). Dilated along frames instead
(`axis="time"`), a second one sees ±16 frames (±256 ms) of a few neighbouring bins: how a bin's level
moves across syllables and pauses, which tells a steady noise floor from speech (as the dilated
temporal convolutions of Conv-TasNet, Luo & Mesgarani 2019, do across time).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn


class TimeFrequencyRefiner(nn.Module):
    """(batch, in_planes, bins, frames) -> (batch, out_planes, bins, frames), a residual correction; its layers
    dilated along `axis`."""

    def __init__(self, in_planes: int, out_planes: int, channels: int, dilations: Sequence[int] = (1, 2, 4),
                 axis: Literal["frequency", "time"] = "frequency") -> None:
        super().__init__()
        if axis not in ("frequency", "time"):
            raise ValueError(f"axis must be 'frequency' or 'time'; got {axis!r}.")
        self.stem = nn.Conv2d(in_planes, channels, 3, padding=1)
        # dilated along one axis only: a wide view along it at the other's own detail
        spans = [(1, d) if axis == "time" else (d, 1) for d in dilations]  # (bins, frames) per layer
        self.layers = nn.ModuleList(nn.Conv2d(channels, channels, 3, padding=span, dilation=span) for span in spans)
        self.head = nn.Conv2d(channels, out_planes, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        h = nn.functional.silu(self.stem(planes))
        for layer in self.layers:
            h = h + nn.functional.silu(layer(h))
        return self.head(h)
