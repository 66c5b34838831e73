"""Generator presets (the mel diffusion model, `kind = "generator"`) and the audio encoder's
(`kind = "audio-encoder"`), with their checkpoints."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from audiolab.core.audio import MelSettings
from audiolab.core.checkpoints import load_weights, read_checkpoint, save_half
from audiolab.core.choices import DEFAULT_PRESET, VOCODER_METHODS
from audiolab.core.diffusion import (
    BETA_SCHEDULES,
    MAX_STEPS,
    PREDICTIONS,
    SAMPLERS,
    Schedule,
    check_guidance,
    check_guidance_interval,
    check_steps,
)
from audiolab.core.presets import (
    build_config,
    pop_checkpoint,
    read_mel_settings,
    read_preset_toml,
    read_table,
)
from audiolab.generation.class_prior import ClassTimings
from audiolab.generation.conditioning import ConditionEncoder
from audiolab.generation.mel_unet import MelDenoiser, MelUNetConfig

MAX_TIMING_GAIN = 4.0  # past this a curve's quiet frames read as silence far below anything trained on


@dataclass(frozen=True)
class SamplerDefaults:
    name: str = "dpm"
    steps: int = 25
    guidance: float = 3.0
    keep_every: int = 5
    frame_centred_noise: bool = False  # remove each frame's mean over the mel bands from the starting noise
    # classifier-free guidance only where lo ≤ t/T ≤ hi (Kynkäänniemi et al. 2024)
    guidance_interval: tuple[float, float] = (0.0, 1.0)
    # a prompt's samples start from its classes' mean spectrum noised to this share of T (class_prior.py); 1: noise
    class_prior_strength: float = 1.0
    # the class prior also takes the loudness curve of a training recording of the prompt's class (class_prior.py)
    class_prior_timing: bool = False
    # a timed network reads the class prior's loudness curve multiplied by this: its quiet frames read quieter, so
    # the curve, not the starting noise, sets the timing (1: the curve as recorded)
    timing_gain: float = 1.0


@dataclass(frozen=True)
class TrainingSettings:
    """How the checkpoint was (and will again be) trained: `python -m audiolab train generator`."""

    command: str = ""
    data: str = "procedural"  # "procedural" (audiolab/generation/synth.py) or "esc50" (a folder passed as --data)
    holdout_fold: int = 0  # esc50: the fold kept out of training for validation
    clips_per_class: int = 96
    clip_seconds: float = 4.0
    steps: int = 4000
    batch_size: int = 32
    learning_rate: float = 1e-3
    warmup_steps: int = 200
    crop_frames: int = 128
    p_uncond: float = 0.15
    p_text: float = 0.5
    ema_decay: float = 0.999
    min_snr_gamma: float = 0.0  # > 0: Min-SNR-γ loss weights (Hang et al. 2023); 0: the plain loss
    p_timing_drop: float = 0.2  # with model.timing: the share of crops trained without their loudness curve
    # train on noise without its frame means (core/diffusion.frame_centred), as [sampler] frame_centred_noise
    # starts from: x_t's frame means are then the sound's alone, and the timing must come from the condition
    frame_centred_noise: bool = False
    seed: int = 0


@dataclass(frozen=True)
class ScheduleSettings:
    """The [schedule] table: the β schedule, what the network predicts, and whether the SNR reaches zero."""

    kind: str = "cosine"
    num_train_timesteps: int = 1000
    prediction: str = "epsilon"  # "epsilon" or "v_prediction"
    zero_terminal_snr: bool = False


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    path: Path
    sample_rate: int
    default_seconds: float
    max_seconds: float
    mel: MelSettings
    model: MelUNetConfig
    checkpoint: Path
    schedule_settings: ScheduleSettings
    sampler: SamplerDefaults
    labels: tuple[str, ...]
    griffin_lim_iterations: int
    training: TrainingSettings
    vocoder_preset: str = ""  # the diffusion vocoder that turns this preset's mels into audio ("" for none)
    vocoder_method: str = "griffinlim"  # what a generation uses by default: "diffusion" or "griffinlim"
    audio_encoder: str = ""  # the audio-encoder preset that maps a reference into the text space ("" for none)
    # > 0: a prompt is read as a softmax mixture of the training captions at this temperature (caption_space.py)
    caption_temperature: float = 0.0

    @property
    def schedule_kind(self) -> str:
        return self.schedule_settings.kind

    @property
    def num_train_timesteps(self) -> int:
        return self.schedule_settings.num_train_timesteps

    def schedule(self, kind: str | None = None) -> Schedule:
        """The training schedule (or another β schedule `kind` with the same prediction and rescaling)."""
        settings = self.schedule_settings
        return Schedule(kind or settings.kind, settings.num_train_timesteps,  # type: ignore[arg-type]
                        prediction=settings.prediction,  # type: ignore[arg-type]
                        zero_terminal_snr=settings.zero_terminal_snr)

    def label_index(self, label: str) -> int:
        """Index of a class label; a ValueError lists the valid ones."""
        cleaned = str(label).strip().lower().replace(" ", "_")
        if cleaned not in self.labels:
            raise ValueError(f"Unknown label {label!r} for preset {self.name}; choose one of: {', '.join(self.labels)}.")
        return self.labels.index(cleaned)


def _read_model(data: dict[str, Any], path: Path, mel: MelSettings) -> tuple[MelUNetConfig, Path]:
    """The [model] table: the network's settings and its checkpoint path."""
    model_values = dict(read_table(data, "model", path))
    checkpoint = pop_checkpoint(model_values, path)
    if model_values.pop("kind", "mel-unet") != "mel-unet":
        raise ValueError(f"{path.name}: model.kind must be 'mel-unet'.")
    model = build_config(MelUNetConfig, model_values, "model", path)
    if mel.n_mels % model.frame_multiple:
        raise ValueError(f"{path.name}: mel.n_mels must divide by {model.frame_multiple} for this network.")
    return model, checkpoint


def _read_schedule(data: dict[str, Any], path: Path) -> ScheduleSettings:
    """The [schedule] table: the β schedule's kind, its number of training timesteps, the prediction."""
    schedule = build_config(ScheduleSettings, read_table(data, "schedule", path), "schedule", path)
    if schedule.kind not in BETA_SCHEDULES:
        raise ValueError(f"{path.name}: schedule.kind must be one of {', '.join(BETA_SCHEDULES)}; got {schedule.kind!r}.")
    if not isinstance(schedule.num_train_timesteps, int) or not 2 <= schedule.num_train_timesteps <= MAX_STEPS:
        raise ValueError(f"{path.name}: schedule.num_train_timesteps must be an integer from 2 to {MAX_STEPS}.")
    if schedule.prediction not in PREDICTIONS:
        raise ValueError(f"{path.name}: schedule.prediction must be one of {', '.join(PREDICTIONS)}; "
                         f"got {schedule.prediction!r}.")
    return schedule


def _read_sampler(data: dict[str, Any], path: Path) -> SamplerDefaults:
    """The [sampler] table: the default sampler, step count and guidance scale."""
    sampler = build_config(SamplerDefaults, read_table(data, "sampler", path), "sampler", path)
    if sampler.name not in SAMPLERS:
        raise ValueError(f"{path.name}: sampler.name must be one of {', '.join(SAMPLERS)}; got {sampler.name!r}.")
    try:
        check_steps(sampler.steps)
        check_guidance(sampler.guidance)
        sampler = replace(sampler, guidance_interval=check_guidance_interval(sampler.guidance_interval))
        if not 0.0 < float(sampler.class_prior_strength) <= 1.0:
            raise ValueError(f"class_prior_strength must be above 0 and at most 1; got {sampler.class_prior_strength}.")
        if not 0.0 < float(sampler.timing_gain) <= MAX_TIMING_GAIN:
            raise ValueError(f"timing_gain must be above 0 and at most {MAX_TIMING_GAIN:g}; got {sampler.timing_gain}.")
    except ValueError as error:
        raise ValueError(f"{path.name}: [sampler] {error}") from error
    return sampler


def _read_labels(data: dict[str, Any], path: Path) -> tuple[str, ...]:
    """The class labels: a non-empty list of unique names."""
    labels = data["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
        raise ValueError(f"{path.name}: labels must be a non-empty list of names.")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{path.name}: labels must be unique.")
    return tuple(labels)


def _read_vocoder(data: dict[str, Any], path: Path) -> tuple[int, str, str]:
    """The [vocoder] table: Griffin-Lim iterations, the diffusion vocoder's preset and the default method."""
    vocoder = read_table(data, "vocoder", path)
    iterations = vocoder.get("griffin_lim_iterations", 32)
    if not isinstance(iterations, int) or not 1 <= iterations <= 1000:
        raise ValueError(f"{path.name}: vocoder.griffin_lim_iterations must be an integer from 1 to 1000.")
    vocoder_preset = vocoder.get("preset", "")
    vocoder_method = vocoder.get("method", "diffusion" if vocoder_preset else "griffinlim")
    if not isinstance(vocoder_preset, str):
        raise ValueError(f"{path.name}: vocoder.preset must name a vocoder preset.")
    if vocoder_method not in VOCODER_METHODS or (vocoder_method == "diffusion" and not vocoder_preset):
        raise ValueError(f"{path.name}: vocoder.method must be 'griffinlim', or 'diffusion' with a vocoder.preset.")
    unknown = sorted(set(vocoder) - {"griffin_lim_iterations", "preset", "method"})
    if unknown:
        raise ValueError(f"{path.name}: unknown key(s) {', '.join(unknown)} in [vocoder].")
    return iterations, vocoder_preset, vocoder_method


def _read_reference(data: dict[str, Any], path: Path) -> str:
    """The [reference] table: the audio-encoder preset that maps a reference into the text space."""
    reference = read_table(data, "reference", path)
    unknown = sorted(set(reference) - {"audio_encoder"})
    if unknown:
        raise ValueError(f"{path.name}: unknown key(s) {', '.join(unknown)} in [reference].")
    audio_encoder = reference.get("audio_encoder", "")
    if not isinstance(audio_encoder, str):
        raise ValueError(f"{path.name}: reference.audio_encoder must name an audio-encoder preset.")
    return audio_encoder


def _read_text(data: dict[str, Any], path: Path) -> float:
    """The [text] table: the temperature at which a prompt is read as a mixture of the training captions."""
    text = read_table(data, "text", path)
    unknown = sorted(set(text) - {"caption_temperature"})
    if unknown:
        raise ValueError(f"{path.name}: unknown key(s) {', '.join(unknown)} in [text].")
    temperature = text.get("caption_temperature", 0.0)
    if isinstance(temperature, bool) or not isinstance(temperature, int | float) or not (
            math.isfinite(temperature) and 0.0 <= temperature <= 10.0):
        raise ValueError(f"{path.name}: text.caption_temperature must be a number from 0 (off) to 10; "
                         f"got {temperature!r}.")
    return float(temperature)


def load_preset(name_or_path: str | Path = DEFAULT_PRESET) -> Preset:
    """Read and validate a preset; every problem raises a ValueError naming the file and the key."""
    path, data = read_preset_toml(name_or_path)
    if data.get("kind", "generator") != "generator":
        raise ValueError(f"{path.name} is a {data.get('kind')} preset, not a generator preset.")

    required = ("name", "sample_rate", "labels")
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"{path.name}: missing top-level key(s) {', '.join(missing)}.")

    mel = read_mel_settings(data, path)
    model, checkpoint = _read_model(data, path, mel)
    schedule = _read_schedule(data, path)
    sampler = _read_sampler(data, path)
    labels = _read_labels(data, path)
    iterations, vocoder_preset, vocoder_method = _read_vocoder(data, path)
    audio_encoder = _read_reference(data, path)

    training = build_config(TrainingSettings, read_table(data, "training", path), "training", path)
    caption_temperature = _read_text(data, path)

    default_seconds = float(data.get("default_seconds", 4.0))
    max_seconds = float(data.get("max_seconds", 10.0))
    if not 0 < default_seconds <= max_seconds <= 60:
        raise ValueError(f"{path.name}: need 0 < default_seconds <= max_seconds <= 60.")

    return Preset(
        name=str(data["name"]),
        title=str(data.get("title", data["name"])),
        description=str(data.get("description", "")),
        path=path,
        sample_rate=mel.sample_rate,
        default_seconds=default_seconds,
        max_seconds=max_seconds,
        mel=mel,
        model=model,
        checkpoint=checkpoint,
        schedule_settings=schedule,
        sampler=sampler,
        labels=labels,
        griffin_lim_iterations=iterations,
        training=training,
        vocoder_preset=vocoder_preset,
        vocoder_method=vocoder_method,
        audio_encoder=audio_encoder,
        caption_temperature=caption_temperature,
    )


@dataclass(frozen=True)
class AudioEncoderTraining:
    """How the audio encoder was (and will again be) trained: `python -m audiolab train encoder`."""

    command: str = ""
    esc50: str = ""  # the ESC-50 folder the shipped checkpoint was trained on
    holdout_fold: int = 4  # kept out of training; the validation retrieval accuracy is measured on it
    procedural_clips_per_class: int = 32  # the project's procedural sounds join the training set
    crop_frames: int = 128
    steps: int = 2000
    batch_size: int = 64
    learning_rate: float = 1e-3
    warmup_steps: int = 100
    temperature: float = 0.07  # InfoNCE temperature (CLIP's initial value)
    alignment_weight: float = 1.0  # weight of 1 − cos(audio, caption): pulls audio onto the text embeddings
    seed: int = 0


@dataclass(frozen=True)
class AudioEncoderPreset:
    name: str
    title: str
    description: str
    path: Path
    mel: MelSettings
    model: Any  # AudioEncoderConfig
    checkpoint: Path
    training: AudioEncoderTraining

    @property
    def sample_rate(self) -> int:
        return self.mel.sample_rate


def load_audio_encoder_preset(name_or_path: str | Path) -> AudioEncoderPreset:
    """Read and validate an audio-encoder preset (`kind = "audio-encoder"`)."""
    from audiolab.generation.audio_encoder import AudioEncoderConfig

    path, data = read_preset_toml(name_or_path)
    if data.get("kind") != "audio-encoder":
        raise ValueError(f"{path.name} is not an audio-encoder preset (it lacks kind = \"audio-encoder\").")
    mel = read_mel_settings(data, path)
    values = dict(read_table(data, "model", path))
    checkpoint = pop_checkpoint(values, path)
    return AudioEncoderPreset(
        name=str(data.get("name", path.stem)),
        title=str(data.get("title", path.stem)),
        description=str(data.get("description", "")),
        path=path,
        mel=mel,
        model=build_config(AudioEncoderConfig, values, "model", path),
        checkpoint=checkpoint,
        training=build_config(AudioEncoderTraining, read_table(data, "training", path), "training", path),
    )


# ---- checkpoints -----------------------------------------------------------------------------


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
    class_spectra: torch.Tensor | None = None  # (classes, mels) natural-log mel: the class prior (class_prior.py)
    class_timings: ClassTimings | None = None  # the training clips' loudness curves: the class prior's timing


def build_generator(preset: Preset) -> tuple[MelDenoiser, ConditionEncoder]:
    denoiser = MelDenoiser(preset.model)
    condition = ConditionEncoder(len(preset.labels), preset.model.cond_dim)
    return denoiser, condition


def save_generator(path: Path, models: GeneratorModels) -> Path:
    # float16 on disk halves the file (under the 10 MB a Space accepts without LFS); weights load back as float32
    state = {f"denoiser.{k}": v for k, v in models.denoiser.state_dict().items()}
    state.update({f"condition.{k}": v for k, v in models.condition.state_dict().items()})
    if models.class_spectra is not None:
        state["class_spectra"] = models.class_spectra
    if models.class_timings is not None:
        state["class_timings.envelopes"] = models.class_timings.envelopes
        state["class_timings.labels"] = models.class_timings.labels
    return save_half(path, state, {**models.metadata, "normalization": json.dumps(asdict(models.normalization))})


def load_generator(preset: Preset, device: torch.device | str = "cpu") -> GeneratorModels:
    """Build the preset's networks and load its checkpoint; a clear ValueError if it is missing or mismatched."""
    tensors, metadata = read_checkpoint(
        preset.checkpoint, f"Preset {preset.name}'s",
        preset.training.command or f"python -m audiolab train generator --preset {preset.name}")
    denoiser, condition = build_generator(preset)
    for prefix, module in (("denoiser.", denoiser), ("condition.", condition)):
        part = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        load_weights(module, part, preset.checkpoint, preset.path, f"Preset {preset.name}'s")
    stats = json.loads(metadata.get("normalization", "{}"))
    if "mean" not in stats or "std" not in stats:
        raise ValueError(f"Checkpoint {preset.checkpoint.name} lacks its mel normalisation metadata; retrain it.")
    spectra = tensors.get("class_spectra")
    if spectra is None and preset.sampler.class_prior_strength < 1.0:
        raise ValueError(f"Preset {preset.name} starts its samples from a class prior, but checkpoint "
                         f"{preset.checkpoint.name} lacks the class spectra; add them with its training command "
                         "and --resume.")
    if spectra is not None and tuple(spectra.shape) != (len(preset.labels), preset.mel.n_mels):
        raise ValueError(f"Checkpoint {preset.checkpoint.name}'s class spectra have shape {tuple(spectra.shape)}; "
                         f"preset {preset.name} needs ({len(preset.labels)}, {preset.mel.n_mels}). Retrain it.")
    timings = None
    if "class_timings.envelopes" in tensors and "class_timings.labels" in tensors:
        timings = ClassTimings(tensors["class_timings.envelopes"].float(), tensors["class_timings.labels"].long())
        if int(timings.labels.max()) >= len(preset.labels):
            raise ValueError(f"Checkpoint {preset.checkpoint.name}'s class timings name classes preset "
                             f"{preset.name} does not have. Retrain it.")
    elif preset.sampler.class_prior_timing and preset.sampler.class_prior_strength < 1.0:
        raise ValueError(f"Preset {preset.name} takes its samples' timing from training recordings, but checkpoint "
                         f"{preset.checkpoint.name} lacks the class timings; add them with its training command "
                         "and --resume.")
    return GeneratorModels(
        denoiser.to(device).eval(), condition.to(device).eval(), MelNormalization(**stats), metadata,
        spectra.float() if spectra is not None else None, timings,
    )


def save_audio_encoder(path: Path, encoder: torch.nn.Module, metadata: dict[str, str]) -> Path:
    """The audio encoder's weights and batch-norm statistics in float16; it runs in float32."""
    return save_half(path, encoder.state_dict(), metadata)


def load_audio_encoder(preset: AudioEncoderPreset, checkpoint: Path | None = None) -> torch.nn.Module:
    """The preset's trained audio encoder; a clear ValueError if the checkpoint is missing or mismatched."""
    from audiolab.generation.audio_encoder import AudioEncoder

    checkpoint = checkpoint or preset.checkpoint
    tensors, metadata = read_checkpoint(
        checkpoint, "Audio encoder", preset.training.command or f"python -m audiolab train encoder --preset {preset.name}")
    encoder = AudioEncoder(preset.model)
    load_weights(encoder, tensors, checkpoint, preset.path, "Audio encoder")
    encoder.eval()
    encoder.metadata = metadata
    return encoder
