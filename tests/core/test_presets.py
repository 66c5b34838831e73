"""Presets load, describe their models, and fail loudly when broken."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiolab.core.presets import PRESETS_DIR, list_presets
from audiolab.generation import synth
from audiolab.generation.preset import load_preset

GOOD = (PRESETS_DIR / "synth-tiny.toml").read_text(encoding="utf-8")


def test_builtin_preset_loads_with_its_checkpoint_and_labels() -> None:
    assert "synth-tiny" in list_presets()
    preset = load_preset("synth-tiny")
    assert preset.sample_rate == 16_000 and preset.mel.n_mels == 64
    assert preset.labels == synth.CLASSES
    assert preset.checkpoint.is_file() and preset.checkpoint.stat().st_size < 20e6
    assert preset.training.command.startswith("python -m audiolab train generator")
    assert preset.label_index("Church Bell") == preset.labels.index("church_bell")
    with pytest.raises(ValueError, match="Unknown label 'unicorn'.*siren"):
        preset.label_index("unicorn")


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    assert old in GOOD
    path = tmp_path / "broken.toml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('name = "dpm"', 'name = "plms"', "sampler.name must be one of"),
        ("steps = 25", "steps = 0", "step count"),
        ("guidance = 3.0", "guidance = -2.0", "guidance"),
        ("guidance = 3.0", "guidance = 3.0\nguidance_interval = [0.7, 0.2]", "0 ≤ lo < hi ≤ 1"),
        ("guidance = 3.0", "guidance = 3.0\nguidance_interval = [0.0, 0.5, 1.0]", "two numbers"),
        ("n_mels = 64", "n_mels = 60", "n_mels must divide"),
        ("f_max = 8000.0", "f_max = 12000.0", "f_max"),
        ("layers_per_block = 1", 'layers_per_block = "one"', "layers_per_block must be int"),
        ("patch = 2", "patch = 2\nwidth = 3", "unknown key"),
        ('checkpoint = "synth-tiny.safetensors"', 'checkpoint = "weights.bin"', "safetensors"),
        ('kind = "linear"', 'kind = "sigmoid"', "schedule.kind"),
        ('kind = "linear"', 'kind = "linear"\nprediction = "x0"', "schedule.prediction must be one of"),
        ('kind = "linear"', 'kind = "linear"\nzero_terminal_snr = 1', "zero_terminal_snr must be bool"),
        ("labels = [", "labelz = [", "missing top-level key"),
        ("sample_rate = 16000", "sample_rate = 100", "sample_rate"),
        ("[mel]", "[mel", "not valid TOML"),
        ("[mel]", "[text]\ncaption_temperature = -0.1\n\n[mel]", "caption_temperature must be a number from 0"),
        ("[mel]", "[text]\ncaption_temperature = \"low\"\n\n[mel]", "caption_temperature must be a number"),
        ("[mel]", "[text]\ntemperature = 0.1\n\n[mel]", r"unknown key\(s\) temperature in \[text\]"),
    ],
)
def test_broken_presets_fail_on_load(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_preset(_broken(tmp_path, old, new))


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Unknown preset 'nope'.*synth-tiny"):
        load_preset("nope")


def test_missing_checkpoint_says_how_to_train_it(tmp_path: Path) -> None:
    from audiolab.generation.preset import load_generator

    preset = load_preset(_broken(tmp_path, 'checkpoint = "synth-tiny.safetensors"', 'checkpoint = "absent.safetensors"'))
    with pytest.raises(ValueError, match="python -m audiolab train generator"):
        load_generator(preset)


def test_corrupt_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    from audiolab.generation.preset import load_generator

    (tmp_path / "junk.safetensors").write_bytes(b"\x00" * 64)
    preset = load_preset(_broken(tmp_path, 'checkpoint = "synth-tiny.safetensors"', 'checkpoint = "junk.safetensors"'))
    with pytest.raises(ValueError, match="unreadable"):
        load_generator(preset)


def test_zero_hop_is_refused_on_load(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="positive"):
        load_preset(_broken(tmp_path, "hop_length = 256", "hop_length = 0"))
