"""The diffusion vocoder's network: DiffWave's dilated residual stack, run on MDCT frames.

DiffWave (Kong et al., 2021) predicts ε for a noisy waveform with a stack of gated, dilated 1-D
convolutions; every layer receives the diffusion step (sinusoidal embedding + MLP) and the
mel-spectrogram (upsampled to the network's rate, projected by a 1×1 convolution). Here the
waveform enters as its orthonormal MDCT (`audiolab/core/mdct.py`), `hop` coefficients a frame, so
the stack runs at the mel frame rate (62.5 Hz at 16 kHz) and the mel needs no upsampling;
the same network at the sample rate would cost `hop` times as much per second of audio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from audiolab.core.diffusion import timestep_embedding


@dataclass(frozen=True)
class VocoderNetConfig:
    channels: int = 256  # residual channels
    layers: int = 12
    dilation_cycle: int = 4  # dilations 1, 2, 4, 8, 1, 2, …: a receptive field of 91 frames (1.5 s at hop 256)
    kernel_size: int = 3
    embedding_dim: int = 128  # sinusoidal timestep embedding width


class ResidualLayer(nn.Module):
    """One gated residual layer: dilated conv + step + mel -> tanh·σ gate -> residual and skip."""

    def __init__(self, channels: int, cond_channels: int, step_dim: int, kernel_size: int, dilation: int) -> None:
        super().__init__()
        self.step = nn.Linear(step_dim, channels)
        self.dilated = nn.Conv1d(channels, 2 * channels, kernel_size, padding=dilation * (kernel_size - 1) // 2,
                                 dilation=dilation)
        self.cond = nn.Conv1d(cond_channels, 2 * channels, 1)
        self.out = nn.Conv1d(channels, 2 * channels, 1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor, step: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.dilated(x + self.step(step)[:, :, None]) + self.cond(cond)
        gate, filt = h.chunk(2, dim=1)
        h = torch.sigmoid(gate) * torch.tanh(filt)
        residual, skip = self.out(h).chunk(2, dim=1)
        return (x + residual) / math.sqrt(2.0), skip


class VocoderNet(nn.Module):
    """ε_θ(y_t, mel, t) on (batch, inputs·hop, frames) coefficient frames, conditioned on (batch, n_mels, frames)."""

    def __init__(self, config: VocoderNetConfig, bins: int, n_mels: int, inputs: int = 1) -> None:
        super().__init__()
        self.config = config
        c = config.channels
        self.embedding_dim = config.embedding_dim
        step_dim = 2 * config.embedding_dim
        self.step_mlp = nn.Sequential(
            nn.Linear(config.embedding_dim, step_dim), nn.SiLU(), nn.Linear(step_dim, step_dim), nn.SiLU(),
        )
        self.input = nn.Conv1d(inputs * bins, c, 1)  # y_t, optionally stacked with a hint of the same shape
        # a small context window on the mel, then a half-width feature every layer projects from
        self.cond_input = nn.Sequential(nn.Conv1d(n_mels, c // 2, 3, padding=1), nn.SiLU())
        self.layers = nn.ModuleList(
            ResidualLayer(c, c // 2, step_dim, config.kernel_size, 2 ** (i % config.dilation_cycle))
            for i in range(config.layers)
        )
        self.skip_out = nn.Sequential(nn.SiLU(), nn.Conv1d(c, c, 1), nn.SiLU())
        self.output = nn.Conv1d(c, bins, 1)
        nn.init.zeros_(self.output.weight)  # start as ε̂ = 0, as DiffWave does
        nn.init.zeros_(self.output.bias)

    def forward(self, y_t: torch.Tensor, t: torch.Tensor, mel: torch.Tensor) -> torch.Tensor:
        step = self.step_mlp(timestep_embedding(t.reshape(-1).expand(y_t.shape[0]), self.embedding_dim))
        cond = self.cond_input(mel)
        x = self.input(y_t)
        skips = torch.zeros_like(x)
        for layer in self.layers:
            x, skip = layer(x, cond, step)
            skips = skips + skip
        return self.output(self.skip_out(skips / math.sqrt(len(self.layers))))
