"""What every task returns (`Result`), the audio it accepts, and the input checks all tasks share."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from audiolab.core.audio import load_audio
from audiolab.core.diffusion import Step

AudioInput = str | Path | np.ndarray | tuple[int, np.ndarray]
Domain = Literal["mel", "waveform"]
MAX_PROCESS_SECONDS = 120.0  # vocoder and denoiser work on the whole recording: two minutes keeps a click interactive


@dataclass(frozen=True)
class Result:
    """What a task returns: audio, its trajectories and how long each part took."""

    audio: np.ndarray
    sample_rate: int
    method: str
    forward: tuple[Step, ...] = ()
    reverse: tuple[Step, ...] = ()
    domain: Domain = "mel"  # what the Steps hold: normalised log-mels or waveforms
    timings: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    input_audio: np.ndarray | None = None
    extras: dict[str, object] = field(default_factory=dict)  # task-specific results (DiffGMM's noise mixture)

    @property
    def seconds(self) -> float:
        return self.audio.shape[0] / self.sample_rate  # (samples,) or (samples, channels)


def check_seed(seed: int | float | None) -> int:
    """A seed as an int; a ValueError for fractions, negatives and non-numbers."""
    if seed is None:
        return 0
    if isinstance(seed, float):
        if not seed.is_integer():
            raise ValueError(f"The seed must be a whole number; got {seed}.")
        seed = int(seed)
    if not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
        raise ValueError(f"The seed must be a whole number from 0 to 2^63 − 1; got {seed!r}.")
    return int(seed)


def load_input(source: AudioInput, sample_rate: int, what: str = "recording", array_rate: int | None = None,
               notes: list[str] | None = None) -> np.ndarray:
    """Any accepted input as float32 mono at `sample_rate` (clear errors otherwise).

    A bare array is taken to be at `array_rate` (default: `sample_rate`). Given `notes`, appends what was done
    to the input to fit (mixed to mono, resampled), for the task's `Result.notes`.
    """
    if isinstance(source, np.ndarray):
        source = (array_rate or sample_rate, source)
    return load_audio(source, sample_rate, what=what, notes=notes)


def check_length(audio: np.ndarray, sample_rate: int, what: str) -> None:
    """Refuse recordings longer than MAX_PROCESS_SECONDS with a message that says how to fix them."""
    seconds = audio.size / sample_rate
    if seconds > MAX_PROCESS_SECONDS:
        raise ValueError(f"The {what} is {seconds:.0f} s long; trim it to {MAX_PROCESS_SECONDS:.0f} s or less.")
