"""The named options the command line, the page and the library share, importable without torch.

Kept free of heavy imports so that `python -m audiolab --help` and argument errors answer at once.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Literal, get_args

BetaScheduleName = Literal["linear", "cosine"]
SamplerName = Literal["ddpm", "ddim", "dpm", "dpm-sde", "euler", "heun", "unipc"]
PredictionName = Literal["epsilon", "v_prediction"]  # diffusers' names for what the network outputs
BETA_SCHEDULES: tuple[str, ...] = get_args(BetaScheduleName)
PREDICTIONS: tuple[str, ...] = get_args(PredictionName)
SAMPLERS: tuple[str, ...] = get_args(SamplerName)
VOCODER_METHODS: tuple[str, ...] = ("diffusion", "griffinlim")
WRITABLE_SUFFIXES: tuple[str, ...] = (".wav", ".flac", ".ogg")
DEFAULT_PRESET = "esc50-small"  # real-world sounds; synth-tiny stays for tests and as a choice


def check_writable(path: str) -> str:
    """An output audio path whose format can be written; a ValueError before any work is done otherwise."""
    if PurePath(path).suffix.lower() not in WRITABLE_SUFFIXES:
        raise ValueError(f"Cannot write {PurePath(path).name}: use one of {', '.join(WRITABLE_SUFFIXES)}.")
    return path
