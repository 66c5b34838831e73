"""Hub model resolution: local diffusers folders, and clear errors offline (the tests never touch the network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from audiolab.hub.models import KNOWN_MODELS, read_model_index, resolve_model


def test_a_local_folder_names_its_pipeline_class(tmp_path: Path) -> None:
    (tmp_path / "model_index.json").write_text(json.dumps({"_class_name": "AudioLDM2Pipeline"}), encoding="utf-8")
    resolved = resolve_model(tmp_path)
    assert resolved.local and resolved.pipeline_class == "AudioLDM2Pipeline" and resolved.source == str(tmp_path)


@pytest.mark.parametrize(("content", "message"), [(None, "no model_index.json"), ("{not json", "not valid JSON"),
                                                  (json.dumps({"_diffusers_version": "0.42"}), "names no pipeline")])
def test_a_broken_folder_is_refused_with_the_reason(tmp_path: Path, content: str | None, message: str) -> None:
    if content is not None:
        (tmp_path / "model_index.json").write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        read_model_index(tmp_path)


def test_offline_a_hub_id_fails_at_once_with_a_plain_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))  # an empty cache: nothing to fall back on
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(ValueError, match="hub cannot be reached"):
        resolve_model(KNOWN_MODELS[0].model_id)


@pytest.mark.parametrize("bad", ["", "audioldm2", "a/b/c", "/nonexistent/folder/x"])
def test_neither_folder_nor_hub_id_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="neither a folder nor a hub id"):
        resolve_model(bad)
