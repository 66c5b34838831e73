"""The vocoder's preset (`kind = "vocoder"`) and checkpoint: settings, training record, weights."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from audiolab.core.checkpoints import load_weights, read_checkpoint, save_half
from audiolab.core.presets import build_config, pop_checkpoint, read_mel_settings, read_preset_toml, read_table
from audiolab.vocoder.diffusion_vocoder import PRIORS, DiffusionVocoder, VocoderSettings
from audiolab.vocoder.network import VocoderNetConfig


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
    settings: VocoderSettings
    checkpoint: Path
    training: VocoderTraining

    @property
    def sample_rate(self) -> int:
        return self.settings.mel.sample_rate


def load_vocoder_preset(name_or_path: str | Path) -> VocoderPreset:
    """Read and validate a vocoder preset (`kind = "vocoder"`); problems raise a ValueError naming the key."""
    path, data = read_preset_toml(name_or_path)
    if data.get("kind") != "vocoder":
        raise ValueError(f"{path.name} is not a vocoder preset (it lacks kind = \"vocoder\").")
    mel = read_mel_settings(data, path)
    model_values = dict(read_table(data, "model", path))
    checkpoint = pop_checkpoint(model_values, path)
    net = build_config(VocoderNetConfig, model_values, "model", path)
    if min(net.channels, net.layers, net.dilation_cycle, net.kernel_size) < 1 or net.kernel_size % 2 == 0:
        raise ValueError(f"{path.name}: [model] sizes must be positive and kernel_size odd.")
    values = dict(read_table(data, "diffusion", path))
    values.update({f"{k}": v for k, v in read_table(data, "sampler", path).items()})
    settings = build_config(VocoderSettings, values, "diffusion/sampler", path)
    if settings.prior not in PRIORS:
        raise ValueError(f"{path.name}: diffusion.prior must be one of {', '.join(PRIORS)}.")
    settings = replace(settings, mel=mel, net=net)
    return VocoderPreset(
        name=str(data.get("name", path.stem)),
        title=str(data.get("title", path.stem)),
        description=str(data.get("description", "")),
        path=path,
        settings=settings,
        checkpoint=checkpoint,
        training=build_config(VocoderTraining, read_table(data, "training", path), "training", path),
    )


def save_vocoder(path: Path, vocoder: DiffusionVocoder, metadata: dict[str, str]) -> Path:
    """The vocoder network in float16 (it runs in float32) with its prior calibration in the metadata."""
    return save_half(path, vocoder.net.state_dict(), {**metadata, "prior_scale": f"{vocoder.prior_scale:.6g}"})


def load_vocoder(preset: VocoderPreset, checkpoint: Path | None = None) -> DiffusionVocoder:
    """The preset's trained diffusion vocoder; a clear ValueError if the checkpoint is missing or mismatched."""
    checkpoint = checkpoint or preset.checkpoint
    tensors, metadata = read_checkpoint(
        checkpoint, "Vocoder", preset.training.command or f"python -m audiolab train vocoder --preset {preset.name}")
    vocoder = DiffusionVocoder(preset.settings, prior_scale=float(metadata.get("prior_scale", "1.0")))
    load_weights(vocoder.net, tensors, checkpoint, preset.path, "Vocoder")
    vocoder.net.eval()
    vocoder.metadata = metadata
    return vocoder
