"""The shared model picker: its choices, what it says about a choice, and a hub model behind the tabs' handlers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from audiolab.generation.pipeline import GenerationRequest
from audiolab.hub import spaces
from audiolab.hub.backend import HubGenerator
from audiolab.hub.models import KNOWN_MODELS
from audiolab.ui import models
from audiolab.ui.common import get_pipeline


def test_the_presets_come_first_then_the_hub_models() -> None:
    values = [value for _, value in models.model_choices("synth-tiny")]
    assert values[: values.index("cvssp/audioldm2")] == sorted(values[: values.index("cvssp/audioldm2")])
    assert "esc50-small" in values and values[-len(KNOWN_MODELS):] == [m.model_id for m in KNOWN_MODELS]


def test_the_status_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                         stable_audio_folder: Path) -> None:
    assert "Built-in preset **synth-tiny**" in models.model_status("synth-tiny")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    offline = models.model_status("stabilityai/stable-audio-open-1.0")
    assert offline.startswith("**Cannot use stabilityai/stable-audio-open-1.0:**") and "HF_HUB_OFFLINE=0" in offline
    local = models.model_status(str(stable_audio_folder))
    assert "Stable Audio Open" in local and "stable-audio-tiny" in local and str(tmp_path) not in local
    monkeypatch.setattr("audiolab.hub.loading.available_memory_bytes", lambda: 1)
    assert "**Missing:**" in models.model_status(str(stable_audio_folder))


def test_a_shared_server_reads_no_typed_in_folder_unless_allowed(monkeypatch: pytest.MonkeyPatch,
                                                                   stable_audio_folder: Path) -> None:
    """Exposed (0.0.0.0, or a Space), a typed path is refused before it is looked up: no reading, no probing."""
    monkeypatch.setenv("GRADIO_SERVER_NAME", "0.0.0.0")
    monkeypatch.delenv("AUDIOLAB_MODEL_FOLDERS", raising=False)
    for path in (str(stable_audio_folder), "/etc", "/no/such/folder", "../presets"):
        assert "does not read model folders" in models.model_status(path)
        with pytest.raises(ValueError, match="does not read model folders"):
            models.hub_pipeline(path)
    assert "Built-in preset" in models.model_status("synth-tiny")  # presets and hub ids are unaffected
    monkeypatch.setenv("AUDIOLAB_MODEL_FOLDERS", str(stable_audio_folder.parent))
    assert "Stable Audio Open" in models.model_status(str(stable_audio_folder))
    monkeypatch.setenv("GRADIO_SERVER_NAME", "127.0.0.1")
    monkeypatch.setenv("SPACE_ID", "someone/audiolab")
    monkeypatch.delenv("AUDIOLAB_MODEL_FOLDERS")
    assert "does not read model folders" in models.model_status(str(stable_audio_folder))


def test_a_folder_typed_in_generates_behind_the_same_handlers(pipeline, stable_audio_folder: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("audiolab.ui.models.get_pipeline", lambda name: pipeline)  # the session's preset pipeline
    monkeypatch.setattr(models, "_HUB", {})
    hub = get_pipeline(str(stable_audio_folder))
    assert hub.hub is not None and get_pipeline(str(stable_audio_folder)) is hub  # loaded once, kept
    result = hub.generate(text="a bell", seconds=0.5, steps=2)
    assert result.sample_rate == 8_000 and len(result.reverse) == 3
    assert "Measured here: about" in models.model_status(str(stable_audio_folder))
    label, reference_label, note, status = models.on_model_change(str(stable_audio_folder))
    assert label["choices"] == [] and reference_label["value"] == "" and "conditioned on text" in note
    assert status == models.model_status(str(stable_audio_folder))


def test_zero_gpu_durations_follow_the_steps_and_the_length(audioldm2: HubGenerator) -> None:
    spaces._BACKENDS[audioldm2.name] = audioldm2
    short = spaces.gpu_duration(audioldm2.name, GenerationRequest(text="x", seconds=5.0, steps=25))
    longer = spaces.gpu_duration(audioldm2.name, GenerationRequest(text="x", seconds=10.0, steps=25))
    more = spaces.gpu_duration(audioldm2.name, GenerationRequest(text="x", seconds=5.0, steps=200))
    assert spaces.GPU_OVERHEAD_SECONDS < short < longer and short < more <= spaces.MAX_GPU_SECONDS
    assert spaces.spaces is None  # not installed here: generation runs in place (the tests above)


def test_the_text_tab_handler_streams_a_hub_model(pipeline, stable_audio_folder: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from audiolab.ui.generation import make_generation_handler

    run_generation = make_generation_handler(require_reference=False, tab="generate_text")
    monkeypatch.setattr("audiolab.ui.models.get_pipeline", lambda name: pipeline)
    monkeypatch.setattr(models, "_HUB", {})
    outputs = list(run_generation(str(stable_audio_folder), "a bell", None, None, 0.6, 0.5, 3, "dpm", 3.0, 0))
    previews = [output[1] for output in outputs[:-1] if isinstance(output[1], np.ndarray)]
    assert previews and all(preview.ndim == 3 for preview in previews)  # the live x̂_0, as RGB (twice a second)
    (rate, audio), _, figure, result, picker, summary, _ = outputs[-1]
    assert rate == 8_000 and audio.shape == (4_000, 2) and figure is not None
    assert "Stable Audio Open" in summary and len(picker["choices"]) == 4
    from audiolab.ui.common import listen_to_step

    played_rate, played = listen_to_step(str(stable_audio_folder), result, 1, "x_t (noisy state)")
    assert played_rate == 8_000 and played.shape == (4_000, 2)
