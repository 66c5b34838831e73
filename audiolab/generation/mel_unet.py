"""The mel-spectrogram denoiser: diffusers' UNet2DModel over 2×2 space-to-depth patches of a log-mel.

Folding each 2×2 patch of the (mels × frames) image into four channels (pixel unshuffle, as in
Hoogeboom et al. 2023, "simple diffusion") quarters the positions the convolutions visit, which is
what makes 25 guided steps on 4 s of audio fit in well under two seconds on a two-core CPU.
The conditioning vector (label, text or the learned "null") is added to the timestep embedding
(diffusers' `class_embed_type="identity"`), the way class labels enter improved DDPM (Nichol & Dhariwal 2021).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from diffusers import UNet2DModel
from torch import nn


@dataclass(frozen=True)
class MelUNetConfig:
    """Shape of the denoiser; read from a preset's [model] table."""

    block_out_channels: tuple[int, ...] = (48, 96, 128)
    attention_levels: tuple[bool, ...] = (False, False, True)  # self-attention only at the coarsest level
    layers_per_block: int = 1
    patch: int = 2
    norm_num_groups: int = 8
    attention_head_dim: int = 32

    def __post_init__(self) -> None:
        if len(self.block_out_channels) != len(self.attention_levels):
            raise ValueError("model.block_out_channels and model.attention_levels must have the same length.")
        if any(c % self.norm_num_groups for c in self.block_out_channels):
            raise ValueError(f"Every entry of model.block_out_channels must be divisible by {self.norm_num_groups}.")

    @property
    def cond_dim(self) -> int:
        return self.block_out_channels[0] * 4  # diffusers' timestep-embedding width

    @property
    def frame_multiple(self) -> int:
        """Frames (and mel bins) must divide by this: the patch times every downsampling by 2."""
        return self.patch * 2 ** (len(self.block_out_channels) - 1)


class MelDenoiser(nn.Module):
    """ε-prediction network ε_θ(x_t, t, c) for normalised log-mels of shape (batch, 1, mels, frames)."""

    def __init__(self, config: MelUNetConfig) -> None:
        super().__init__()
        self.config = config
        channels = config.patch**2
        down = tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in config.attention_levels)
        up = tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(config.attention_levels))
        self.unet = UNet2DModel(
            in_channels=channels,
            out_channels=channels,
            block_out_channels=config.block_out_channels,
            layers_per_block=config.layers_per_block,
            down_block_types=down,
            up_block_types=up,
            class_embed_type="identity",
            norm_num_groups=config.norm_num_groups,
            attention_head_dim=config.attention_head_dim,
        )

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        patch = self.config.patch
        if x_t.shape[-1] % self.config.frame_multiple or x_t.shape[-2] % self.config.frame_multiple:
            raise ValueError(
                f"Mel shape {tuple(x_t.shape[-2:])} must divide by {self.config.frame_multiple} in both axes; pad it."
            )
        folded = F.pixel_unshuffle(x_t, patch)
        eps = self.unet(folded, t, class_labels=cond).sample
        return F.pixel_shuffle(eps, patch)
