"""The vocoder's preset (`kind = "vocoder"`) and checkpoint: settings, training record, weights."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from audiolab.core.checkpoints import load_weights, read_checkpoint, save_half
from audiolab.core.presets import (
    build_config,
    pop_checkpoint,
    read_mel_settings,
    read_preset_toml,
    read_table,
)
from audiolab.vocoder.diffusion_vocoder import PRIORS, DiffusionVocoder, VocoderSettings
from audiolab.vocoder.flow_vocoder import FlowVocoder, FlowVocoderSettings
from audiolab.vocoder.network import VocoderNetConfig
from audiolab.vocoder.stft_network import StftNetConfig

Vocoder = DiffusionVocoder | FlowVocoder  # what a vocoder preset builds


@dataclass(frozen=True)
class VocoderTraining:
    """How a vocoder checkpoint was (and will again be) trained: `python -m audiolab train vocoder`."""

    command: str = ""
    data: tuple[str, ...] = ()  # the folders the shipped checkpoint was trained on, as passed to --data
    exclude: tuple[str, ...] = ()  # file-name globs held out of training (for evaluation)
    procedural_share: float = 0.15  # share of each batch drawn from the procedural sounds
    steps: int = 6000
    batch_size: int = 16
    crop_seconds: float = 2.0
    learning_rate: float = 4e-4
    warmup_steps: int = 200
    ema_decay: float = 0.999
    seed: int = 0


@dataclass(frozen=True)
class VocoderPreset:
    name: str
    title: str
    description: str
    path: Path
    settings: VocoderSettings | FlowVocoderSettings
    checkpoint: Path
    training: VocoderTraining

    @property
    def sample_rate(self) -> int:
        return self.settings.mel.sample_rate


def _diffusion_settings(data: dict[str, Any], path: Path) -> tuple[VocoderSettings, Path]:
    """[model] (DiffWave stack) + [diffusion] + [sampler]: the MDCT diffusion vocoder's settings."""
    model_values = dict(read_table(data, "model", path))
    checkpoint = pop_checkpoint(model_values, path)
    net = build_config(VocoderNetConfig, model_values, "model", path)
    if min(net.channels, net.layers, net.dilation_cycle, net.kernel_size) < 1 or net.kernel_size % 2 == 0:
        raise ValueError(f"{path.name}: [model] sizes must be positive and kernel_size odd.")
    values = dict(read_table(data, "diffusion", path))
    values.update(read_table(data, "sampler", path))
    settings = build_config(VocoderSettings, values, "diffusion/sampler", path)
    if settings.prior not in PRIORS:
        raise ValueError(f"{path.name}: diffusion.prior must be one of {', '.join(PRIORS)}.")
    return replace(settings, net=net), checkpoint


def _flow_settings(data: dict[str, Any], path: Path) -> tuple[FlowVocoderSettings, Path]:
    """[model] (ConvNeXt on STFT frames) + [flow] + [sampler]: the flow vocoder's settings."""
    model_values = dict(read_table(data, "model", path))
    checkpoint = pop_checkpoint(model_values, path)
    net = build_config(StftNetConfig, model_values, "model", path)
    if min(net.dim, net.blocks, net.kernel_size, net.expansion, net.embedding_dim) < 1 or net.kernel_size % 2 == 0:
        raise ValueError(f"{path.name}: [model] sizes must be positive and kernel_size odd.")
    values = dict(read_table(data, "flow", path))
    values.update(read_table(data, "sampler", path))
    return replace(build_config(FlowVocoderSettings, values, "flow/sampler", path), net=net), checkpoint


def load_vocoder_preset(name_or_path: str | Path) -> VocoderPreset:
    """Read and validate a vocoder preset (`kind = "vocoder"`); problems raise a ValueError naming the key.

    A [flow] table makes it a flow vocoder, a [diffusion] table the MDCT diffusion vocoder.
    """
    path, data = read_preset_toml(name_or_path)
    if data.get("kind") != "vocoder":
        raise ValueError(f"{path.name} is not a vocoder preset (it lacks kind = \"vocoder\").")
    mel = read_mel_settings(data, path)
    if "flow" in data and "diffusion" in data:
        raise ValueError(f"{path.name}: a vocoder preset has a [flow] or a [diffusion] table, not both.")
    settings, checkpoint = _flow_settings(data, path) if "flow" in data else _diffusion_settings(data, path)
    return VocoderPreset(
        name=str(data.get("name", path.stem)),
        title=str(data.get("title", path.stem)),
        description=str(data.get("description", "")),
        path=path,
        settings=replace(settings, mel=mel),
        checkpoint=checkpoint,
        training=build_config(VocoderTraining, read_table(data, "training", path), "training", path),
    )


def build_vocoder(settings: VocoderSettings | FlowVocoderSettings) -> Vocoder:
    """An untrained vocoder of the kind `settings` describe."""
    return FlowVocoder(settings) if isinstance(settings, FlowVocoderSettings) else DiffusionVocoder(settings)


def save_vocoder(path: Path, vocoder: Vocoder, metadata: dict[str, str]) -> Path:
    """The vocoder network in float16 (it runs in float32), with the diffusion prior's calibration in the metadata."""
    if isinstance(vocoder, DiffusionVocoder):
        metadata = {**metadata, "prior_scale": f"{vocoder.prior_scale:.6g}"}
    return save_half(path, vocoder.net.state_dict(), metadata)


def load_vocoder(preset: VocoderPreset, checkpoint: Path | None = None) -> Vocoder:
    """The preset's trained diffusion vocoder; a clear ValueError if the checkpoint is missing or mismatched."""
    checkpoint = checkpoint or preset.checkpoint
    tensors, metadata = read_checkpoint(
        checkpoint, "Vocoder", preset.training.command or f"python -m audiolab train vocoder --preset {preset.name}")
    vocoder = build_vocoder(preset.settings)
    if isinstance(vocoder, DiffusionVocoder):
        vocoder.prior_scale = float(metadata.get("prior_scale", "1.0"))
    load_weights(vocoder.net, tensors, checkpoint, preset.path, "Vocoder")
    vocoder.net.eval()
    vocoder.metadata = metadata
    return vocoder
