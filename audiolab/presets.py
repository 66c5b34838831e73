"""Presets: one TOML file per built-in model set, read into frozen dataclasses and checked on load.

A preset file is the documentation of its models: sample rate, mel settings, network shape,
sampler defaults, checkpoint, and the command and settings that trained it.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from audiolab.audio import MelSettings
from audiolab.diffusion import BETA_SCHEDULES, SAMPLERS, MAX_STEPS, check_guidance, check_steps
from audiolab.models.mel_unet import MelUNetConfig
from audiolab.models.vocoder_net import VocoderNetConfig
from audiolab.vocoder import PRIORS, VocoderSettings

PRESETS_DIR = Path(__file__).resolve().parent.parent / "presets"
DEFAULT_PRESET = "esc50-small"  # real-world sounds; synth-tiny stays for tests and as a choice
VOCODER_METHODS: tuple[str, ...] = ("diffusion", "griffinlim")


@dataclass(frozen=True)
class SamplerDefaults:
    name: str = "dpm"
    steps: int = 25
    guidance: float = 3.0
    keep_every: int = 5


@dataclass(frozen=True)
class TrainingSettings:
    """How the checkpoint was (and will again be) trained: `python -m audiolab train generator`."""

    command: str = ""
    data: str = "procedural"  # "procedural" (audiolab/data/synth.py) or "esc50" (a folder passed as --data)
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
    seed: int = 0


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
    schedule_kind: str
    num_train_timesteps: int
    sampler: SamplerDefaults
    labels: tuple[str, ...]
    griffin_lim_iterations: int
    training: TrainingSettings
    vocoder_preset: str = ""  # the diffusion vocoder that turns this preset's mels into audio ("" for none)
    vocoder_method: str = "griffinlim"  # what a generation uses by default: "diffusion" or "griffinlim"
    audio_encoder: str = ""  # the audio-encoder preset that maps a reference into the text space ("" for none)

    def label_index(self, label: str) -> int:
        """Index of a class label; a ValueError lists the valid ones."""
        cleaned = str(label).strip().lower().replace(" ", "_")
        if cleaned not in self.labels:
            raise ValueError(f"Unknown label {label!r} for preset {self.name}; choose one of: {', '.join(self.labels)}.")
        return self.labels.index(cleaned)


def _table(data: dict[str, Any], key: str, source: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{source.name}: [{key}] must be a table.")
    return value


def _build(cls: type, values: dict[str, Any], where: str, source: Path) -> Any:
    """Construct a dataclass from a TOML table, refusing unknown keys and wrong types."""
    allowed = {f.name: f for f in fields(cls)}
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValueError(f"{source.name}: unknown key(s) {', '.join(unknown)} in [{where}]; allowed: {', '.join(allowed)}.")
    converted: dict[str, Any] = {}
    defaults = cls()
    for key, value in values.items():
        expected = type(getattr(defaults, key))
        if expected is tuple:
            value = tuple(value) if isinstance(value, list) else value
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ValueError(f"{source.name}: [{where}] {key} must be {expected.__name__}; got {value!r}.")
        converted[key] = value
    try:
        return cls(**converted)
    except ValueError as error:
        raise ValueError(f"{source.name}: {error}") from error


def resolve_preset_path(name_or_path: str | Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.is_file():
        return candidate.resolve()
    path = PRESETS_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise ValueError(f"Unknown preset {name_or_path!r}; available: {', '.join(list_presets()) or 'none'}.")
    return path


def _kind(path: Path) -> str:
    try:
        return str(tomllib.loads(path.read_text(encoding="utf-8")).get("kind", "generator"))
    except (tomllib.TOMLDecodeError, OSError):
        return "generator"


def list_presets(kind: str = "generator") -> list[str]:
    """Names of the built-in presets of one kind: "generator" (the default) or "vocoder"."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.toml") if _kind(p) == kind)


def _read_toml(name_or_path: str | Path) -> tuple[Path, dict[str, Any]]:
    path = resolve_preset_path(name_or_path)
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path.name} is not valid TOML: {error}") from error


def _mel_settings(data: dict[str, Any], path: Path) -> MelSettings:
    sample_rate = data.get("sample_rate")
    if not isinstance(sample_rate, int) or not 8_000 <= sample_rate <= 48_000:
        raise ValueError(f"{path.name}: sample_rate must be an integer from 8000 to 48000; got {sample_rate!r}.")
    mel_values = dict(_table(data, "mel", path))
    mel_values["sample_rate"] = sample_rate
    mel = _build(MelSettings, mel_values, "mel", path)
    if mel.f_max > sample_rate / 2 or mel.f_min >= mel.f_max:
        raise ValueError(f"{path.name}: need 0 <= mel.f_min < mel.f_max <= sample_rate / 2.")
    if min(mel.n_fft, mel.hop_length, mel.n_mels) <= 0:
        raise ValueError(f"{path.name}: mel.n_fft, mel.hop_length and mel.n_mels must be positive.")
    if mel.hop_length > mel.n_fft:
        raise ValueError(f"{path.name}: mel.hop_length must not exceed mel.n_fft.")
    return mel


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
    path, data = _read_toml(name_or_path)
    if data.get("kind") != "vocoder":
        raise ValueError(f"{path.name} is not a vocoder preset (it lacks kind = \"vocoder\").")
    mel = _mel_settings(data, path)
    model_values = dict(_table(data, "model", path))
    checkpoint_name = model_values.pop("checkpoint", None)
    if not isinstance(checkpoint_name, str) or not checkpoint_name.endswith(".safetensors"):
        raise ValueError(f"{path.name}: [model] checkpoint must name a .safetensors file beside the preset.")
    net = _build(VocoderNetConfig, model_values, "model", path)
    if min(net.channels, net.layers, net.dilation_cycle, net.kernel_size) < 1 or net.kernel_size % 2 == 0:
        raise ValueError(f"{path.name}: [model] sizes must be positive and kernel_size odd.")
    values = dict(_table(data, "diffusion", path))
    values.update({f"{k}": v for k, v in _table(data, "sampler", path).items()})
    settings = _build(VocoderSettings, values, "diffusion/sampler", path)
    if settings.prior not in PRIORS:
        raise ValueError(f"{path.name}: diffusion.prior must be one of {', '.join(PRIORS)}.")
    settings = replace(settings, mel=mel, net=net)
    return VocoderPreset(
        name=str(data.get("name", path.stem)),
        title=str(data.get("title", path.stem)),
        description=str(data.get("description", "")),
        path=path,
        settings=settings,
        checkpoint=path.parent / checkpoint_name,
        training=_build(VocoderTraining, _table(data, "training", path), "training", path),
    )


def load_preset(name_or_path: str | Path = DEFAULT_PRESET) -> Preset:
    """Read and validate a preset; every problem raises a ValueError naming the file and the key."""
    path, data = _read_toml(name_or_path)
    if data.get("kind", "generator") != "generator":
        raise ValueError(f"{path.name} is a {data.get('kind')} preset, not a generator preset.")

    required = ("name", "sample_rate", "labels")
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"{path.name}: missing top-level key(s) {', '.join(missing)}.")

    mel = _mel_settings(data, path)
    sample_rate = mel.sample_rate

    model_values = dict(_table(data, "model", path))
    checkpoint_name = model_values.pop("checkpoint", None)
    if model_values.pop("kind", "mel-unet") != "mel-unet":
        raise ValueError(f"{path.name}: model.kind must be 'mel-unet'.")
    if not isinstance(checkpoint_name, str) or not checkpoint_name.endswith(".safetensors"):
        raise ValueError(f"{path.name}: [model] checkpoint must name a .safetensors file beside the preset.")
    model = _build(MelUNetConfig, model_values, "model", path)
    if mel.n_mels % model.frame_multiple:
        raise ValueError(f"{path.name}: mel.n_mels must divide by {model.frame_multiple} for this network.")

    schedule = _table(data, "schedule", path)
    schedule_kind = schedule.get("kind", "cosine")
    if schedule_kind not in BETA_SCHEDULES:
        raise ValueError(f"{path.name}: schedule.kind must be one of {', '.join(BETA_SCHEDULES)}; got {schedule_kind!r}.")
    num_train_timesteps = schedule.get("num_train_timesteps", 1000)
    if not isinstance(num_train_timesteps, int) or not 2 <= num_train_timesteps <= MAX_STEPS:
        raise ValueError(f"{path.name}: schedule.num_train_timesteps must be an integer from 2 to {MAX_STEPS}.")

    sampler = _build(SamplerDefaults, _table(data, "sampler", path), "sampler", path)
    if sampler.name not in SAMPLERS:
        raise ValueError(f"{path.name}: sampler.name must be one of {', '.join(SAMPLERS)}; got {sampler.name!r}.")
    try:
        check_steps(sampler.steps)
        check_guidance(sampler.guidance)
    except ValueError as error:
        raise ValueError(f"{path.name}: [sampler] {error}") from error

    labels = data["labels"]
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
        raise ValueError(f"{path.name}: labels must be a non-empty list of names.")
    if len(set(labels)) != len(labels):
        raise ValueError(f"{path.name}: labels must be unique.")

    vocoder = _table(data, "vocoder", path)
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

    reference = _table(data, "reference", path)
    unknown = sorted(set(reference) - {"audio_encoder"})
    if unknown:
        raise ValueError(f"{path.name}: unknown key(s) {', '.join(unknown)} in [reference].")
    audio_encoder = reference.get("audio_encoder", "")
    if not isinstance(audio_encoder, str):
        raise ValueError(f"{path.name}: reference.audio_encoder must name an audio-encoder preset.")

    default_seconds = float(data.get("default_seconds", 4.0))
    max_seconds = float(data.get("max_seconds", 10.0))
    if not 0 < default_seconds <= max_seconds <= 60:
        raise ValueError(f"{path.name}: need 0 < default_seconds <= max_seconds <= 60.")

    return Preset(
        name=str(data["name"]),
        title=str(data.get("title", data["name"])),
        description=str(data.get("description", "")),
        path=path,
        sample_rate=sample_rate,
        default_seconds=default_seconds,
        max_seconds=max_seconds,
        mel=mel,
        model=model,
        checkpoint=path.parent / checkpoint_name,
        schedule_kind=schedule_kind,
        num_train_timesteps=num_train_timesteps,
        sampler=sampler,
        labels=tuple(labels),
        griffin_lim_iterations=iterations,
        training=_build(TrainingSettings, _table(data, "training", path), "training", path),
        vocoder_preset=vocoder_preset,
        vocoder_method=vocoder_method,
        audio_encoder=audio_encoder,
    )


# ---- denoiser presets ------------------------------------------------------------------------

DENOISER_METHODS: tuple[str, ...] = ("diffgmm", "score")


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
    snr_low_db: float = -5.0
    snr_high_db: float = 20.0
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
    from audiolab.diffgmm import DiffGMMSettings
    from audiolab.score import ScoreSettings

    path, data = _read_toml(name_or_path)
    if data.get("kind") != "denoiser":
        raise ValueError(f"{path.name} is not a denoiser preset (it lacks kind = \"denoiser\").")
    method = data.get("method")
    if method not in DENOISER_METHODS:
        raise ValueError(f"{path.name}: method must be one of {', '.join(DENOISER_METHODS)}; got {method!r}.")
    values = dict(_table(data, "model", path))
    checkpoint_name = values.pop("checkpoint", None)
    if not isinstance(checkpoint_name, str) or not checkpoint_name.endswith(".safetensors"):
        raise ValueError(f"{path.name}: [model] checkpoint must name a .safetensors file beside the preset.")
    for table in ("diffusion", "sampler"):
        values.update(data.get(table, {}))
    settings_class = DiffGMMSettings if method == "diffgmm" else ScoreSettings
    settings = _build(settings_class, values, "model", path)
    if min(settings.channels) < 8 or any(c % 8 for c in settings.channels) or settings.hop < 2:
        raise ValueError(f"{path.name}: [model] channels must be multiples of 8 and hop at least 2.")
    return DenoiserPreset(
        name=str(data.get("name", path.stem)),
        title=str(data.get("title", path.stem)),
        description=str(data.get("description", "")),
        path=path,
        method=method,
        sample_rate=int(data.get("sample_rate", 16000)),
        settings=settings,
        checkpoint=path.parent / checkpoint_name,
        training=_build(DenoiserTraining, _table(data, "training", path), "training", path),
    )


# ---- audio-encoder presets (the shared text–audio space) -----------------------------------------


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
    from audiolab.models.audio_encoder import AudioEncoderConfig

    path, data = _read_toml(name_or_path)
    if data.get("kind") != "audio-encoder":
        raise ValueError(f"{path.name} is not an audio-encoder preset (it lacks kind = \"audio-encoder\").")
    mel = _mel_settings(data, path)
    values = dict(_table(data, "model", path))
    checkpoint_name = values.pop("checkpoint", None)
    if not isinstance(checkpoint_name, str) or not checkpoint_name.endswith(".safetensors"):
        raise ValueError(f"{path.name}: [model] checkpoint must name a .safetensors file beside the preset.")
    return AudioEncoderPreset(
        name=str(data.get("name", path.stem)),
        title=str(data.get("title", path.stem)),
        description=str(data.get("description", "")),
        path=path,
        mel=mel,
        model=_build(AudioEncoderConfig, values, "model", path),
        checkpoint=path.parent / checkpoint_name,
        training=_build(AudioEncoderTraining, _table(data, "training", path), "training", path),
    )
