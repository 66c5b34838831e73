"""A small convolutional audio encoder over log-mels, shared by the text–audio space and the eval's classifier.

The layout follows the CNN baselines of PANNs (Kong et al. 2020): pairs of 3 × 3 convolutions with
batch norm, 2 × 2 average pooling, then mean over frequency and mean + max over time, so any clip
length gives one vector. Each clip's mean log-mel is subtracted first, which makes the embedding
independent of the recording's level.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class AudioEncoderConfig:
    """Shape of the encoder; read from a preset's [model] table."""

    channels: tuple[int, ...] = (32, 64, 128, 256)
    embed_dim: int = 384  # all-MiniLM-L6-v2's width: audio lands in the text encoder's space
    hidden: int = 512
    log_mel_scale: float = 3.0  # roughly the std of natural-log mels; keeps activations near unit scale

    def __post_init__(self) -> None:
        if not self.channels or min(self.channels) < 1 or min(self.embed_dim, self.hidden) < 1:
            raise ValueError("model.channels, embed_dim and hidden must be positive.")


def _conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels), nn.ReLU(),
    )


class AudioEncoder(nn.Module):
    """Log-mel (batch, mels, frames) → features (batch, channels[-1]) → projection (batch, embed_dim)."""

    def __init__(self, config: AudioEncoderConfig, out_dim: int | None = None) -> None:
        super().__init__()
        self.config = config
        widths = (1, *config.channels)
        self.blocks = nn.ModuleList(_conv_block(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.head = nn.Sequential(nn.Linear(config.channels[-1], config.hidden), nn.ReLU(),
                                  nn.Linear(config.hidden, out_dim or config.embed_dim))

    @property
    def min_frames(self) -> int:
        return 2 ** len(self.config.channels)

    def features(self, log_mel: torch.Tensor) -> torch.Tensor:
        """Pooled convolutional features, (batch, channels[-1])."""
        if log_mel.shape[-1] < self.min_frames:
            raise ValueError(f"The clip is {log_mel.shape[-1]} mel frames long; the encoder needs {self.min_frames}.")
        x = (log_mel - log_mel.mean(dim=(-2, -1), keepdim=True)) / self.config.log_mel_scale
        x = x.unsqueeze(1)
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index < len(self.blocks) - 1:
                x = F.avg_pool2d(x, 2)
        x = x.mean(dim=2)  # over frequency
        return x.mean(dim=-1) + x.amax(dim=-1)

    def forward(self, log_mel: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(log_mel))
