"""Saving and loading the built-in models' weights as safetensors: generator (with its mel normalisation), vocoder, denoisers."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import load_file, save_file

from audiolab.conditioning import ConditionEncoder
from audiolab.models.mel_unet import MelDenoiser
from audiolab.presets import AudioEncoderPreset, DenoiserPreset, Preset, VocoderPreset

if TYPE_CHECKING:
    from audiolab.vocoder import DiffusionVocoder


@dataclass(frozen=True)
class MelNormalization:
    """Affine map between natural-log mel and the unit-scale space the diffusion runs in."""

    mean: float
    std: float
    low: float = -10.0  # the range clean normalised mels occupy; the sampler clips x̂_0 to it
    high: float = 10.0

    def normalize(self, log_mel: torch.Tensor) -> torch.Tensor:
        return (log_mel - self.mean) / self.std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.std + self.mean


@dataclass
class GeneratorModels:
    denoiser: MelDenoiser
    condition: ConditionEncoder
    normalization: MelNormalization
    metadata: dict[str, str]


def build_generator(preset: Preset) -> tuple[MelDenoiser, ConditionEncoder]:
    denoiser = MelDenoiser(preset.model)
    condition = ConditionEncoder(len(preset.labels), preset.model.cond_dim)
    return denoiser, condition


def save_generator(path: Path, models: GeneratorModels) -> Path:
    # float16 on disk halves the file (under the 10 MB a Space accepts without LFS); weights load back as float32
    tensors = {f"denoiser.{k}": v.detach().half().contiguous() for k, v in models.denoiser.state_dict().items()}
    tensors.update({f"condition.{k}": v.detach().half().contiguous() for k, v in models.condition.state_dict().items()})
    metadata = dict(models.metadata)
    metadata["normalization"] = json.dumps(asdict(models.normalization))
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def load_generator(preset: Preset, device: torch.device | str = "cpu") -> GeneratorModels:
    """Build the preset's networks and load its checkpoint; a clear ValueError if it is missing or mismatched."""
    if not preset.checkpoint.is_file():
        raise ValueError(
            f"Checkpoint {preset.checkpoint.name} for preset {preset.name} is missing; train it with "
            f"`{preset.training.command or 'python -m audiolab train generator --preset ' + preset.name}`."
        )
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(preset.checkpoint), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
        tensors = load_file(str(preset.checkpoint), device=str(device))
    except (SafetensorError, OSError) as error:
        raise ValueError(f"Checkpoint {preset.checkpoint.name} is unreadable ({error}); retrain or restore it.") from error
    denoiser, condition = build_generator(preset)
    try:
        denoiser.load_state_dict({k[9:]: v.float() for k, v in tensors.items() if k.startswith("denoiser.")})
        condition.load_state_dict({k[10:]: v.float() for k, v in tensors.items() if k.startswith("condition.")})
    except RuntimeError as error:
        raise ValueError(
            f"Checkpoint {preset.checkpoint.name} does not match the network in {preset.path.name}: {error}"
        ) from error
    stats = json.loads(metadata.get("normalization", "{}"))
    if "mean" not in stats or "std" not in stats:
        raise ValueError(f"Checkpoint {preset.checkpoint.name} lacks its mel normalisation metadata; retrain it.")
    return GeneratorModels(
        denoiser.to(device).eval(), condition.to(device).eval(), MelNormalization(**stats), metadata
    )


def _read_checkpoint(checkpoint: Path, what: str, command: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file; a ValueError that says how to get it back otherwise."""
    from safetensors import SafetensorError, safe_open

    if not checkpoint.is_file():
        raise ValueError(f"{what} checkpoint {checkpoint.name} is missing; train it with `{command}`.")
    try:
        with safe_open(str(checkpoint), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
        return load_file(str(checkpoint)), metadata
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{what} checkpoint {checkpoint.name} is unreadable ({error}); retrain or restore it.") from error


def save_vocoder(path: Path, vocoder: "DiffusionVocoder", metadata: dict[str, str]) -> Path:
    """The vocoder network in float16 (it runs in float32) with its prior calibration in the metadata."""
    tensors = {k: v.detach().half().contiguous() for k, v in vocoder.net.state_dict().items()}
    metadata = dict(metadata)
    metadata["prior_scale"] = f"{vocoder.prior_scale:.6g}"
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def load_vocoder(preset: VocoderPreset, checkpoint: Path | None = None) -> "DiffusionVocoder":
    """The preset's trained diffusion vocoder; a clear ValueError if the checkpoint is missing or mismatched."""
    from audiolab.vocoder import DiffusionVocoder

    checkpoint = checkpoint or preset.checkpoint
    tensors, metadata = _read_checkpoint(
        checkpoint, "Vocoder", preset.training.command or f"python -m audiolab train vocoder --preset {preset.name}")
    vocoder = DiffusionVocoder(preset.settings, prior_scale=float(metadata.get("prior_scale", "1.0")))
    try:
        vocoder.net.load_state_dict({k: v.float() for k, v in tensors.items()})
    except RuntimeError as error:
        raise ValueError(f"Vocoder checkpoint {checkpoint.name} does not match {preset.path.name}: {error}") from error
    vocoder.net.eval()
    vocoder.metadata = metadata
    return vocoder


def save_denoiser(path: Path, model: torch.nn.Module, metadata: dict[str, str]) -> Path:
    """A restoration model's weights (and buffers) in float16; it runs in float32."""
    tensors = {k: v.detach().half().contiguous() for k, v in model.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def build_denoiser(preset: DenoiserPreset) -> torch.nn.Module:
    from audiolab.diffgmm import DiffGMMDenoiser
    from audiolab.score import ScoreRestorer

    return DiffGMMDenoiser(preset.settings) if preset.method == "diffgmm" else ScoreRestorer(preset.settings)


def load_denoiser(preset: DenoiserPreset, checkpoint: Path | None = None) -> torch.nn.Module:
    """The preset's trained restoration model; a clear ValueError if the checkpoint is missing or mismatched."""
    checkpoint = checkpoint or preset.checkpoint
    tensors, metadata = _read_checkpoint(
        checkpoint, "Denoiser", preset.training.command or f"python -m audiolab train denoiser --preset {preset.name}")
    model = build_denoiser(preset)
    try:
        model.load_state_dict({k: v.float() for k, v in tensors.items()})
    except RuntimeError as error:
        raise ValueError(f"Denoiser checkpoint {checkpoint.name} does not match {preset.path.name}: {error}") from error
    model.eval()
    model.metadata = metadata
    return model


def save_audio_encoder(path: Path, encoder: torch.nn.Module, metadata: dict[str, str]) -> Path:
    """The audio encoder's weights and batch-norm statistics in float16; it runs in float32."""
    tensors = {k: v.detach().half().contiguous() if v.is_floating_point() else v.contiguous()
               for k, v in encoder.state_dict().items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=metadata)
    return path


def load_audio_encoder(preset: AudioEncoderPreset, checkpoint: Path | None = None) -> torch.nn.Module:
    """The preset's trained audio encoder; a clear ValueError if the checkpoint is missing or mismatched."""
    from audiolab.models.audio_encoder import AudioEncoder

    checkpoint = checkpoint or preset.checkpoint
    tensors, metadata = _read_checkpoint(
        checkpoint, "Audio encoder", preset.training.command or f"python -m audiolab train encoder --preset {preset.name}")
    encoder = AudioEncoder(preset.model)
    try:
        encoder.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    except RuntimeError as error:
        raise ValueError(f"Audio encoder checkpoint {checkpoint.name} does not match {preset.path.name}: {error}") from error
    encoder.eval()
    encoder.metadata = metadata
    return encoder
