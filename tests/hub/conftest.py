"""Tiny hub checkpoints, built once per session in a temporary folder and loaded through audiolab's own loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from audiolab.hub.backend import HubGenerator
from tests.hub import tiny


@pytest.fixture(scope="session")
def hub_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hub")


@pytest.fixture(scope="session")
def audioldm2_folder(hub_root: Path) -> Path:
    """Laid out like cvssp/audioldm2: `language_model` saved as GPT2Model."""
    return tiny.audioldm2_folder(hub_root / "audioldm2-tiny")


@pytest.fixture(scope="session")
def stable_audio_folder(hub_root: Path) -> Path:
    return tiny.stable_audio_folder(hub_root / "stable-audio-tiny")


@pytest.fixture(scope="session")
def stable_audio_3_folder(hub_root: Path) -> Path:
    return tiny.stable_audio_3_folder(hub_root / "stable-audio-3-tiny", "StableAudio3InpaintPipeline")


@pytest.fixture(scope="session")
def audioldm2(audioldm2_folder: Path) -> HubGenerator:
    return HubGenerator.load(audioldm2_folder, device="cpu")


@pytest.fixture(scope="session")
def stable_audio(stable_audio_folder: Path) -> HubGenerator:
    return HubGenerator.load(stable_audio_folder, device="cpu")


@pytest.fixture(scope="session")
def stable_audio_3(stable_audio_3_folder: Path) -> HubGenerator:
    return HubGenerator.load(stable_audio_3_folder, device="cpu")
