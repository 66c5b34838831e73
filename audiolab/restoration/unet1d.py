"""A 1-D U-Net over frame sequences (Ronneberger et al. 2015, in one dimension as in Wave-U-Net and Demucs).

Channels are the features of one frame (for instance the MDCT coefficients of a waveform), the
length is time. Each level halves the frame rate; skip connections carry the detail back up. An
optional scalar (a diffusion time) enters every block through FiLM (scale and shift of the
normalised activations). Any input length works: frames are padded to a multiple of 2^levels
and the output is cropped back.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from audiolab.core.diffusion import timestep_embedding


class ResidualBlock(nn.Module):
    """GroupNorm → SiLU → dilated conv, twice, with an optional FiLM from the embedding."""

    def __init__(self, channels_in: int, channels_out: int, dilation: int, embedding_dim: int | None) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(8, channels_in)
        self.conv1 = nn.Conv1d(channels_in, channels_out, 3, padding=dilation, dilation=dilation)
        self.norm2 = nn.GroupNorm(8, channels_out)
        self.conv2 = nn.Conv1d(channels_out, channels_out, 3, padding=1)
        self.film = nn.Linear(embedding_dim, 2 * channels_out) if embedding_dim else None
        self.skip = nn.Conv1d(channels_in, channels_out, 1) if channels_in != channels_out else nn.Identity()

    def forward(self, x: torch.Tensor, embedding: torch.Tensor | None) -> torch.Tensor:
        h = self.conv1(nn.functional.silu(self.norm1(x)))
        h = self.norm2(h)
        if self.film is not None and embedding is not None:
            scale, shift = self.film(embedding).unsqueeze(-1).chunk(2, dim=1)
            h = h * (1 + scale) + shift
        h = self.conv2(nn.functional.silu(h))
        return self.skip(x) + h


class UNet1d(nn.Module):
    """Encoder-decoder over frames: `channels[i]` features at 1/2^i of the input frame rate."""

    def __init__(self, in_channels: int, out_channels: int, channels: Sequence[int] = (128, 192, 256),
                 bottleneck_dilations: Sequence[int] = (1, 2, 4, 8), embedding_dim: int | None = None) -> None:
        super().__init__()
        self.embedding_dim = embedding_dim
        self.embed = nn.Sequential(nn.Linear(embedding_dim, embedding_dim), nn.SiLU(),
                                   nn.Linear(embedding_dim, embedding_dim)) if embedding_dim else None
        self.stem = nn.Conv1d(in_channels, channels[0], 3, padding=1)
        self.down_blocks = nn.ModuleList()
        self.downsample = nn.ModuleList()
        for level, width in enumerate(channels):
            self.down_blocks.append(ResidualBlock(channels[max(level - 1, 0)] if level else width, width, 1, embedding_dim))
            if level < len(channels) - 1:
                self.downsample.append(nn.Conv1d(width, width, 4, stride=2, padding=1))
        self.bottleneck = nn.ModuleList(
            ResidualBlock(channels[-1], channels[-1], d, embedding_dim) for d in bottleneck_dilations)
        self.up_blocks = nn.ModuleList()
        for level in reversed(range(len(channels) - 1)):
            self.up_blocks.append(ResidualBlock(channels[level + 1] + channels[level], channels[level], 1, embedding_dim))
        self.out_norm = nn.GroupNorm(8, channels[0])
        self.head = nn.Conv1d(channels[0], out_channels, 1)
        self.levels = len(channels)

    @property
    def features(self) -> int:
        return self.head.in_channels

    def trunk(self, x: torch.Tensor, scalar: torch.Tensor | None = None) -> torch.Tensor:
        """(batch, in_channels, frames) -> (batch, channels[0], frames): the last features before the head."""
        frames = x.shape[-1]
        multiple = 2 ** (self.levels - 1)
        x = nn.functional.pad(x, (0, (-frames) % multiple))
        embedding = None
        if self.embed is not None:
            if scalar is None:
                raise ValueError("This network is conditioned on a scalar (a diffusion time); pass it.")
            embedding = self.embed(timestep_embedding(scalar.reshape(-1).expand(x.shape[0]), self.embedding_dim))
        h = self.stem(x)
        skips: list[torch.Tensor] = []
        for level, block in enumerate(self.down_blocks):
            h = block(h, embedding)
            if level < self.levels - 1:
                skips.append(h)
                h = self.downsample[level](h)
        for block in self.bottleneck:
            h = block(h, embedding)
        for block in self.up_blocks:
            skip = skips.pop()
            h = nn.functional.interpolate(h, size=skip.shape[-1], mode="nearest")
            h = block(torch.cat([h, skip], dim=1), embedding)
        return nn.functional.silu(self.out_norm(h))[..., :frames]

    def forward(self, x: torch.Tensor, scalar: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.trunk(x, scalar))
