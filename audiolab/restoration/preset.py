"""Restoration presets (`kind = "denoiser"`) and checkpoints: DiffGMM or the score model, and how it was trained."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from audiolab.core.checkpoints import load_weights, read_checkpoint, save_half
from audiolab.core.presets import (
    build_config,
    pop_checkpoint,
    read_preset_toml,
    read_table,
)

DENOISER_METHODS: tuple[str, ...] = ("diffgmm", "score")
SPECTRAL_LOSSES: tuple[str, ...] = ("log", "compressed")  # DiffGMM's spectral loss term
MAX_SHIFTS = 16  # DiffGMM's frame-grid offsets averaged at inference: each one is another network call


@dataclass(frozen=True)
class DenoiserTraining:
    """How a denoiser checkpoint was (and will again be) trained: `python -m audiolab train denoiser`."""

    command: str = ""
    speech: tuple[str, ...] = ()  # folders of clean speech
    noise: tuple[str, ...] = ()  # folders of real noise
    esc50: str = ""  # an ESC-50 folder whose `noise_classes` join the noise
    noise_classes: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()  # file-name globs held out of training (for evaluation)
    synthetic_speech: int = 400  # espeak-ng utterances added to the clean speech (0: none)
    procedural_share: float = 0.3  # share of noise drawn from the procedural generators
    babble_share: float = 0.0  # share of noise that is babble of the training speech (drawn before the above)
    competing_share: float = 0.0  # share of mixtures with 1-2 competing talkers below the target (drawn first)
    competing_snr_low_db: float = 2.0  # their SNR range: the target stays the loudest talker
    colouring_share: float = 0.0  # share of noises through a random equaliser (±12 dB at each octave)
    reverb_share: float = 0.0  # share of speech in a random room, and separately of noise
    clipping_share: float = 0.0  # share of mixtures clipped at 50-95 % of their peak
    snr_low_db: float = -5.0
    snr_high_db: float = 20.0
    high_snr_share: float = 0.0  # share of mixtures drawn from snr_high_db to high_snr_max_db instead (nearly clean)
    high_snr_max_db: float = 40.0
    distant_talker_share: float = 0.0  # share of babble and competing talkers put far away in a reverberant room
    steps: int = 4000
    batch_size: int = 16
    crop_seconds: float = 2.0
    learning_rate: float = 5e-4
    warmup_steps: int = 200
    ema_decay: float = 0.999
    seed: int = 0


@dataclass(frozen=True)
class DenoiserPreset:
    name: str
    title: str
    description: str
    path: Path
    method: str  # "diffgmm" or "score"
    sample_rate: int
    settings: Any  # DiffGMMSettings or ScoreSettings
    checkpoint: Path
    training: DenoiserTraining


def load_denoiser_preset(name_or_path: str | Path) -> DenoiserPreset:
    """Read and validate a denoiser preset (`kind = "denoiser"`); problems raise a ValueError naming the key."""
    from audiolab.restoration.diffgmm import DiffGMMSettings
    from audiolab.restoration.score import ScoreSettings

    path, data = read_preset_toml(name_or_path)
    if data.get("kind") != "denoiser":
        raise ValueError(f"{path.name} is not a denoiser preset (it lacks kind = \"denoiser\").")
    method = data.get("method")
    if method not in DENOISER_METHODS:
        raise ValueError(f"{path.name}: method must be one of {', '.join(DENOISER_METHODS)}; got {method!r}.")
    values = dict(read_table(data, "model", path))
    checkpoint = pop_checkpoint(values, path)
    for table in ("diffusion", "sampler"):
        values.update(data.get(table, {}))
    settings_class = DiffGMMSettings if method == "diffgmm" else ScoreSettings
    settings = build_config(settings_class, values, "model", path)
    if min(settings.channels) < 8 or any(c % 8 for c in settings.channels) or settings.hop < 2:
        raise ValueError(f"{path.name}: [model] channels must be multiples of 8 and hop at least 2.")
    if method == "diffgmm":
        _check_diffgmm(settings, path)
    return DenoiserPreset(
        name=str(data.get("name", path.stem)),
        title=str(data.get("title", path.stem)),
        description=str(data.get("description", "")),
        path=path,
        method=method,
        sample_rate=int(data.get("sample_rate", 16000)),
        settings=settings,
        checkpoint=checkpoint,
        training=_checked_training(build_config(DenoiserTraining, read_table(data, "training", path), "training",
                                                path), path),
    )


def _checked_training(training: DenoiserTraining, path: Path) -> DenoiserTraining:
    """The [training] ranges that build_config cannot check alone, named by their preset keys."""
    if training.high_snr_share > 0 and not training.snr_high_db <= training.high_snr_max_db:
        raise ValueError(f"{path.name}: [training] high_snr_max_db ({training.high_snr_max_db:g}) must be at least "
                         f"snr_high_db ({training.snr_high_db:g}): raise it or lower snr_high_db.")
    return training


def _check_diffgmm(settings: Any, path: Path) -> None:
    """DiffGMM's own [model] keys: the spectral loss's name, the inference shifts and both refiners' sizes."""
    if settings.spectral_loss not in SPECTRAL_LOSSES:
        raise ValueError(f"{path.name}: [model] spectral_loss must be one of {', '.join(SPECTRAL_LOSSES)}; "
                         f"got {settings.spectral_loss!r}.")
    if not 1 <= settings.shifts <= MAX_SHIFTS:
        raise ValueError(f"{path.name}: [model] shifts must be 1 (no averaging) to {MAX_SHIFTS}; got {settings.shifts}.")
    if settings.shifts > settings.hop:
        raise ValueError(f"{path.name}: [model] shifts must be at most hop ({settings.hop}); got {settings.shifts}.")
    if not (math.isfinite(settings.low_band_weight) and settings.low_band_weight > 0) \
            or not 0 < settings.low_band_edge < 0.5:
        raise ValueError(f"{path.name}: [model] low_band_weight must be above 0 (1: unweighted) and low_band_edge "
                         f"between 0 and 0.5 cycles per sample; got {settings.low_band_weight} and "
                         f"{settings.low_band_edge}.")
    if settings.low_band_weight != 1.0 and settings.spectral_loss != "compressed":
        raise ValueError(f"{path.name}: [model] low_band_weight weighs the compressed spectral loss only; set "
                         f"spectral_loss = \"compressed\" or leave low_band_weight at 1.")
    for name in ("refine", "context"):
        channels, dilations = getattr(settings, f"{name}_channels"), getattr(settings, f"{name}_dilations")
        if (channels < 0 or not dilations
                or any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in dilations)):
            raise ValueError(f"{path.name}: [model] {name}_channels must be 0 (no such refiner) or more, and every "
                             f"{name}_dilations entry a whole number at least 1 (and at least one entry).")


def save_denoiser(path: Path, model: torch.nn.Module, metadata: dict[str, str]) -> Path:
    """A restoration model's weights (and buffers) in float16; it runs in float32."""
    return save_half(path, model.state_dict(), metadata)


def build_denoiser(preset: DenoiserPreset) -> torch.nn.Module:
    from audiolab.restoration.diffgmm import DiffGMMDenoiser
    from audiolab.restoration.score import ScoreRestorer

    return DiffGMMDenoiser(preset.settings) if preset.method == "diffgmm" else ScoreRestorer(preset.settings)


# parts whose fresh initialisation leaves the output unchanged (refiners start with a zero head)
GROWABLE_PREFIXES: tuple[str, ...] = ("refiner.", "context_refiner.")


def load_denoiser(preset: DenoiserPreset, checkpoint: Path | None = None, grow: bool = False) -> torch.nn.Module:
    """The preset's trained restoration model; a clear ValueError if the checkpoint is missing or mismatched.

    With `grow` (resuming training), a checkpoint that lacks only parts the preset adds and that start as
    a no-op (DiffGMM's refiners) loads into the larger model, those parts fresh."""
    checkpoint = checkpoint or preset.checkpoint
    tensors, metadata = read_checkpoint(
        checkpoint, "Denoiser", preset.training.command or f"python -m audiolab train denoiser --preset {preset.name}")
    model = build_denoiser(preset)
    grown: tuple[str, ...] = ()
    if grow:  # a part is grown only whole: a checkpoint with some of its weights is a mismatch, not a growth
        state = model.state_dict()
        grown = tuple(p for p in GROWABLE_PREFIXES
                      if any(k.startswith(p) for k in state) and not any(k.startswith(p) for k in tensors))
        tensors = {**{k: v for k, v in state.items() if k.startswith(grown)}, **tensors}
    load_weights(model, tensors, checkpoint, preset.path, "Denoiser")
    model.grown = [p.rstrip(".") for p in grown]  # the parts that start fresh, for the training log
    model.eval()
    model.metadata = metadata
    return model
