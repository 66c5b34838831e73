"""The project's networks, one file each."""

from audiolab.models.mel_unet import MelDenoiser, MelUNetConfig

__all__ = ["MelDenoiser", "MelUNetConfig"]
