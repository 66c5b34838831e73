"""The flow vocoder's network: ConvNeXt blocks over STFT frames with an inverse-STFT head (Vocos).

Vocos (Siuzdenko et al., 2024) keeps the whole network at the STFT frame rate: a stack of
ConvNeXt blocks (Liu et al., 2022: depthwise convolution, layer norm, an inverted-bottleneck MLP,
layer scale) maps the mel frames to the STFT of the waveform. Here the blocks see the flow's state
z_τ (one column of STFT bins per frame) beside the conditioning (the mel), and the flow time τ
enters every block through an adaptive layer norm (scale and shift from τ's embedding, as in DiT,
Peebles & Xie 2023).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from audiolab.core.diffusion import timestep_embedding


@dataclass(frozen=True)
class StftNetConfig:
    dim: int = 256  # channels of every block
    blocks: int = 8
    kernel_size: int = 7  # depthwise kernel over frames: 7 frames are 112 ms at hop 256, 16 kHz
    expansion: int = 3  # the inverted bottleneck's width, in multiples of dim
    embedding_dim: int = 128  # sinusoidal embedding of τ


class AdaptiveConvNeXtBlock(nn.Module):
    """x + γ · W₂ GELU(W₁ AdaLN(DWConv(x), τ)) on (batch, dim, frames)."""

    def __init__(self, dim: int, kernel_size: int, expansion: int, step_dim: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim)
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.modulation = nn.Linear(step_dim, 2 * dim)
        nn.init.zeros_(self.modulation.weight)  # starts as a plain layer norm
        nn.init.zeros_(self.modulation.bias)
        self.expand = nn.Linear(dim, expansion * dim)
        self.project = nn.Linear(expansion * dim, dim)
        self.layer_scale = nn.Parameter(torch.full((dim,), 0.1))

    def forward(self, x: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        scale, shift = self.modulation(step)[:, None, :].chunk(2, dim=-1)
        h = self.norm(self.depthwise(x).transpose(1, 2)) * (1 + scale) + shift
        h = self.project(nn.functional.gelu(self.expand(h))) * self.layer_scale
        return x + h.transpose(1, 2)


class StftNet(nn.Module):
    """(state, conditioning, τ) -> an output of the state's shape, all at the frame rate.

    state: (batch, state_channels, frames); conditioning: (batch, condition_channels, frames).
    The last layer starts at zero, so an untrained network outputs zeros.
    """

    def __init__(self, config: StftNetConfig, state_channels: int, condition_channels: int) -> None:
        super().__init__()
        self.config = config
        step_dim = 2 * config.embedding_dim
        self.step_mlp = nn.Sequential(nn.Linear(config.embedding_dim, step_dim), nn.SiLU(), nn.Linear(step_dim, step_dim))
        self.input = nn.Conv1d(state_channels + condition_channels, config.dim, 1)  # per frame: the blocks add context
        self.blocks = nn.ModuleList(
            AdaptiveConvNeXtBlock(config.dim, config.kernel_size, config.expansion, step_dim)
            for _ in range(config.blocks)
        )
        self.norm = nn.LayerNorm(config.dim)
        self.output = nn.Conv1d(config.dim, state_channels, 1)
        nn.init.zeros_(self.output.weight)
        nn.init.zeros_(self.output.bias)

    def forward(self, state: torch.Tensor, condition: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        # τ in [0, 1] is embedded on DDPM's 0–1000 scale, where the sinusoid frequencies are spread
        step = self.step_mlp(timestep_embedding(1000 * tau.reshape(-1).expand(state.shape[0]), self.config.embedding_dim))
        x = self.input(torch.cat([state, condition], dim=1))
        for block in self.blocks:
            x = block(x, step)
        return self.output(self.norm(x.transpose(1, 2)).transpose(1, 2))
