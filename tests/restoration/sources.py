"""Stand-in training sources for the noisy-speech stream's tests: tones that are easy to find in a spectrum."""

from __future__ import annotations

import numpy as np

from audiolab.core.corpus import AudioSource
from audiolab.restoration.noisy_speech import coloured_noise

RATE = 16_000


def tone_and_hiss() -> tuple[AudioSource, AudioSource]:
    """Three 2 s 440 Hz tones as the "speech" and two 3 s white-noise clips as the noise (seeded)."""
    time = np.arange(2 * RATE) / RATE
    speech = AudioSource("tones", [(0.3 * np.sin(2 * np.pi * 440 * time + s)).astype(np.float32) for s in range(3)])
    hiss = AudioSource("hiss", [0.1 * coloured_noise(3 * RATE, np.random.default_rng(s), 0.0) for s in range(2)])
    return speech, hiss
