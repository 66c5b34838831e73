"""DC offset and subsonic rumble, taken out before denoising.

A DC offset (a cheap interface, a bad cable) or rumble below 20 Hz (wind on the capsule, handling noise) cannot be
heard, but it inflates the level a denoiser reads its input by: the networks scale their input by its size, so
speech under a strong offset is seen as quiet. A zero-phase Butterworth high-pass at 20 Hz (Butterworth 1930, "On
the theory of filter amplifiers"; second order, run forwards and backwards as in scipy's `sosfiltfilt`: fourth-order
magnitude, no phase shift) removes both and leaves speech, whose fundamental is above 60 Hz, as it was.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

SUBSONIC_CUTOFF_HZ = 20.0
# Say so when what was taken out is at least this loud against the recording. Not lower: white noise alone puts
# 0.25% of its energy below 20 Hz (−27 dB after this filter), and a broadband noisy recording is no reason for a note.
SUBSONIC_NOTE_DB = -10.0


def remove_subsonic(audio: np.ndarray, sample_rate: int, cutoff_hz: float = SUBSONIC_CUTOFF_HZ) -> np.ndarray:
    """`audio` without its DC offset and without what lies below `cutoff_hz`, same length, float32."""
    audio = np.asarray(audio, dtype=np.float64)
    if audio.size < 2:
        raise ValueError(f"A high-pass needs at least 2 samples; got {audio.size}.")
    sections = signal.butter(2, cutoff_hz, btype="highpass", fs=sample_rate, output="sos")
    # Padding by three periods of the cut-off (or the whole recording, if shorter) lets the filter settle before
    # the recording starts. The padding mirrors the recording (even extension): scipy's default, odd extension about
    # the end sample, treats that one sample as an offset and pulls the output's ends towards zero (on 1 s of noise,
    # a change 14 dB below it).
    padding = min(audio.size - 1, int(3 * sample_rate / cutoff_hz))
    return signal.sosfiltfilt(sections, audio, padtype="even", padlen=padding).astype(np.float32)


def removed_level_db(audio: np.ndarray, kept: np.ndarray) -> float:
    """The energy of what a filter (or a denoiser) took out of `audio`, leaving `kept`, against the recording's, in
    dB (−inf when nothing was)."""
    removed = np.sum((np.asarray(audio, np.float64) - kept) ** 2)
    total = np.sum(np.asarray(audio, np.float64) ** 2)
    return 10 * math.log10(removed / total) if removed > 0 and total > 0 else -math.inf


def subsonic_note(level_db: float) -> str | None:
    """What the summary says about a DC offset or rumble that was taken out, if it was loud enough to matter."""
    if level_db < SUBSONIC_NOTE_DB:
        return None
    return (f"Took out a DC offset or rumble below {SUBSONIC_CUTOFF_HZ:g} Hz ({level_db:.0f} dB against the "
            "recording) before denoising: it cannot be heard, but it would have skewed the level the model reads.")
