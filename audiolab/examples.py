"""Example inputs the app makes for itself: procedural recordings and noisy mixtures, written once to a temp folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from audiolab.audio import save_audio
from audiolab.data import synth

EXAMPLE_PROMPTS: tuple[str, ...] = (
    "an ambulance passing by",
    "church bells ringing on a Sunday morning",
    "heavy rain pouring down",
    "a small bird chirping in the garden",
    "a drummer playing a steady kick",
    "a ticking clock in a quiet room",
    "a low rumble of thunder in the distance",
    "a car engine idling",
)

EXAMPLE_RECORDINGS: tuple[str, ...] = ("church_bell", "siren", "bird_chirp", "footsteps", "whistle")


def example_folder() -> Path:
    folder = Path(tempfile.gettempdir()) / "audiolab-examples"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def example_recordings(sample_rate: int = synth.SAMPLE_RATE, seconds: float = 4.0) -> dict[str, Path]:
    """A few procedural clips as WAV files, keyed by class name (made once, then reused)."""
    paths: dict[str, Path] = {}
    for index, label in enumerate(EXAMPLE_RECORDINGS):
        path = example_folder() / f"{label}-{sample_rate}.wav"
        if not path.exists():
            save_audio(path, synth.synthesize(label, seed=100 + index, seconds=seconds, sample_rate=sample_rate), sample_rate)
        paths[label] = path
    return paths


def mix_at_snr(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """clean + noise scaled so that 10·log10(P_clean / P_noise) = snr_db, peak-limited to 0.99."""
    noise = np.resize(noise, clean.shape)
    clean_power = float(np.mean(clean.astype(np.float64) ** 2))
    noise_power = float(np.mean(noise.astype(np.float64) ** 2)) or 1e-12
    mixture = clean + noise * np.sqrt(clean_power / (noise_power * 10 ** (snr_db / 10)))
    peak = float(np.max(np.abs(mixture)))
    return (mixture / peak * 0.99 if peak > 0.99 else mixture).astype(np.float32)


def noisy_examples(sample_rate: int = synth.SAMPLE_RATE, seconds: float = 4.0) -> dict[str, Path]:
    """Procedural tones mixed with procedural rain or wind at 5 dB SNR, as WAV files."""
    paths: dict[str, Path] = {}
    for index, (clean_label, noise_label) in enumerate((("whistle", "rain"), ("church_bell", "wind"))):
        path = example_folder() / f"noisy-{clean_label}-{noise_label}-{sample_rate}.wav"
        if not path.exists():
            clean = synth.synthesize(clean_label, seed=200 + index, seconds=seconds, sample_rate=sample_rate)
            noise = synth.synthesize(noise_label, seed=300 + index, seconds=seconds, sample_rate=sample_rate)
            save_audio(path, mix_at_snr(clean, noise, 5.0), sample_rate)
        paths[f"{clean_label} in {noise_label}"] = path
    return paths
