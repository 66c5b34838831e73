"""Presets: one TOML file per built-in model set, read into frozen dataclasses and checked on load.

A preset file is the documentation of its models: sample rate, mel settings, network shape,
sampler defaults, checkpoint, and the command and settings that trained it. This module holds what
every kind of preset shares (finding the file, reading tables into dataclasses, the mel settings);
each task's own preset dataclasses live in its package (`generation/preset.py`, `vocoder/preset.py`,
`restoration/preset.py`).
"""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from audiolab.core.audio import MelSettings

PRESETS_DIR = Path(__file__).resolve().parents[2] / "presets"


def read_table(data: dict[str, Any], key: str, source: Path) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{source.name}: [{key}] must be a table.")
    return value


def build_config(cls: type, values: dict[str, Any], where: str, source: Path) -> Any:
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


def read_preset_toml(name_or_path: str | Path) -> tuple[Path, dict[str, Any]]:
    path = resolve_preset_path(name_or_path)
    try:
        return path, tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path.name} is not valid TOML: {error}") from error


def read_mel_settings(data: dict[str, Any], path: Path) -> MelSettings:
    sample_rate = data.get("sample_rate")
    if not isinstance(sample_rate, int) or not 8_000 <= sample_rate <= 48_000:
        raise ValueError(f"{path.name}: sample_rate must be an integer from 8000 to 48000; got {sample_rate!r}.")
    mel_values = dict(read_table(data, "mel", path))
    mel_values["sample_rate"] = sample_rate
    mel = build_config(MelSettings, mel_values, "mel", path)
    if mel.f_max > sample_rate / 2 or mel.f_min >= mel.f_max:
        raise ValueError(f"{path.name}: need 0 <= mel.f_min < mel.f_max <= sample_rate / 2.")
    if min(mel.n_fft, mel.hop_length, mel.n_mels) <= 0:
        raise ValueError(f"{path.name}: mel.n_fft, mel.hop_length and mel.n_mels must be positive.")
    if mel.hop_length > mel.n_fft:
        raise ValueError(f"{path.name}: mel.hop_length must not exceed mel.n_fft.")
    return mel


def pop_checkpoint(values: dict[str, Any], path: Path) -> Path:
    """Take `checkpoint` out of a [model] table: the safetensors file beside the preset."""
    checkpoint_name = values.pop("checkpoint", None)
    if not isinstance(checkpoint_name, str) or not checkpoint_name.endswith(".safetensors"):
        raise ValueError(f"{path.name}: [model] checkpoint must name a .safetensors file beside the preset.")
    return path.parent / checkpoint_name
