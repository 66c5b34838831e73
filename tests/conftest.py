"""Shared fixtures: the built-in pipeline (built once per test session) and small procedural audio."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `import app` from the repository root

from audiolab.generation import synth  # noqa: E402
from audiolab.pipeline import AudioLabPipeline  # noqa: E402

TEST_PRESET = os.environ.get("AUDIOLAB_TEST_PRESET", "synth-tiny")


@pytest.fixture(scope="session")
def pipeline() -> AudioLabPipeline:
    return AudioLabPipeline.from_preset(TEST_PRESET)


@pytest.fixture(scope="session")
def bell() -> np.ndarray:
    """Two seconds of a procedural church bell at 16 kHz."""
    return synth.synthesize("church_bell", seed=7, seconds=2.0)


@pytest.fixture()
def bell_wav(tmp_path: Path, bell: np.ndarray) -> Path:
    import soundfile as sf

    path = tmp_path / "bell.wav"
    sf.write(path, bell, 16_000)
    return path


def pytest_configure(config: pytest.Config) -> None:
    # diffusers' schedulers call np.array(tensor, copy=False) under NumPy 2: harmless, and not ours to fix
    config.addinivalue_line("filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning")
