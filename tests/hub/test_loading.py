"""Loading hub checkpoints: AudioLDM 2's GPT-2 layout, and every failure explained in one sentence."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from audiolab.generation.pipeline import GenerationRequest
from audiolab.hub import loading
from audiolab.hub.backend import HubGenerator, latent_model
from audiolab.hub.loading import load_model, memory_problem
from audiolab.hub.models import (
    KNOWN_MODELS,
    ResolvedModel,
    is_hub_choice,
    resolve_model,
)


@pytest.fixture()
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No network and an empty cache, as tests/test_hub.py sets them up."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))


def test_audioldm2_saved_with_gpt2model_loads_and_generates(audioldm2_folder: Path) -> None:
    from diffusers import AudioLDM2Pipeline
    from transformers import GPT2LMHeadModel

    index = json.loads((audioldm2_folder / "model_index.json").read_text())
    assert index["language_model"] == ["transformers", "GPT2Model"]  # as cvssp/audioldm2 ships it
    plain = AudioLDM2Pipeline.from_pretrained(audioldm2_folder)
    assert not hasattr(plain.language_model, "_update_model_kwargs_for_generation")  # diffusers issue 12630
    loaded = load_model(audioldm2_folder, device="cpu")
    assert isinstance(loaded.pipe.language_model, GPT2LMHeadModel) and loaded.family == "audioldm2"
    torch.testing.assert_close(loaded.pipe.language_model.transformer.wte.weight, plain.language_model.wte.weight)
    result = list(HubGenerator(latent_model(loaded)).generate_iter(
        GenerationRequest(text="a door knock", seconds=0.5, steps=2)))[-1]
    assert result.audio.shape == (8_000,)


def test_offline_a_real_hub_id_is_refused_at_once(offline: None) -> None:
    for model in KNOWN_MODELS:
        with pytest.raises(ValueError, match="hub cannot be reached.*HF_HUB_OFFLINE=0"):
            load_model(model.model_id, device="cpu")


def test_a_folder_of_another_pipeline_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "StableDiffusionPipeline"}))
    with pytest.raises(ValueError, match="StableDiffusionPipeline, which audiolab cannot drive.*AudioLDM2Pipeline"):
        load_model(tmp_path, device="cpu")


def test_stable_audio_3_is_refused_plainly_without_a_diffusers_that_has_it(
        stable_audio_3_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("audiolab.hub.models.stable_audio_3_available", lambda: False)
    with pytest.raises(ValueError, match="needs a diffusers release that has StableAudio3Pipeline"):
        load_model(stable_audio_3_folder, device="cpu")


def test_a_missing_scheduler_package_is_named(stable_audio_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def without_torchsde(name: str, *args: object, **kwargs: object) -> object:
        if name == "torchsde":
            raise ImportError("No module named 'torchsde'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", without_torchsde)
    with pytest.raises(ValueError, match="stable-audio-tiny: Its scheduler .* needs the torchsde package"):
        load_model(stable_audio_folder, device="cpu")


def test_not_enough_memory_is_said_before_loading(stable_audio_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "available_memory_bytes", lambda: 1024)
    with pytest.raises(ValueError, match=r"needs about 0\.0 GB of memory in float32.*has 0\.0 GB free"):
        load_model(stable_audio_folder, device="cpu")
    hub = ResolvedModel("stabilityai/stable-audio-open-1.0", "StableAudioPipeline", local=False)
    monkeypatch.setattr(loading, "available_memory_bytes", lambda: 4 * 1024**3)
    assert "needs about 6.2 GB" in (memory_problem(hub) or "")  # 1.33 B parameters × 4 bytes × 1.25
    assert memory_problem(hub, torch.float16) is None


def test_presets_and_hub_choices_are_told_apart(audioldm2_folder: Path) -> None:
    assert not is_hub_choice("esc50-small") and not is_hub_choice("presets/synth-tiny.toml")
    assert is_hub_choice("cvssp/audioldm2") and is_hub_choice(str(audioldm2_folder))
    assert resolve_model(audioldm2_folder).pipeline_class == "AudioLDM2Pipeline"


def test_a_folder_missing_its_weights_is_one_sentence(audioldm2_folder: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(audioldm2_folder, broken)
    shutil.rmtree(broken / "unet")
    with pytest.raises(ValueError, match="^Cannot load broken: ") as raised:
        load_model(broken, device="cpu")
    assert "\n" not in str(raised.value)
