"""Example inputs the app makes for itself: procedural recordings and noisy mixtures, written once to a temp folder."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from audiolab.core.audio import save_audio
from audiolab.generation import synth

EXAMPLE_PROMPTS: tuple[str, ...] = (  # none of them is a caption the built-in models were trained on
    "a puppy yapping at the mailman",
    "heavy rain drumming on a tin roof",
    "waves breaking on a sandy beach",
    "church bells ringing on a Sunday morning",
    "an ambulance passing by",
    "a campfire crackling at night",
    "a rooster calling at sunrise",
    "a ticking clock in a quiet room",
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
    from audiolab.restoration.noisy_speech import mix_at_snr_pair

    return mix_at_snr_pair(clean, np.resize(noise, clean.shape), snr_db)[1]


def noisy_speech_examples(sample_rate: int = synth.SAMPLE_RATE) -> dict[str, tuple[Path, Path]]:
    """(noisy, clean) WAV pairs for the Denoise tab: synthetic speech (espeak-ng, when installed; procedural
    tones otherwise) under procedural rain, wind and pink noise at 0 and 5 dB SNR."""
    from audiolab.restoration.noisy_speech import coloured_noise, mix_at_snr_pair
    from audiolab.restoration.tts import espeak_available, speak

    pairs: dict[str, tuple[Path, Path]] = {}
    speech = espeak_available()
    sentences = ("The birch canoe slid on the smooth planks.", "Glue the sheet to the dark blue background.")
    for index, (noise_label, snr) in enumerate((("rain", 5.0), ("wind", 0.0), ("pink noise", 0.0))):
        kind = "speech" if speech else "whistle"
        noisy_path = example_folder() / f"noisy-{kind}-{noise_label.replace(' ', '_')}-{sample_rate}.wav"
        clean_path = example_folder() / f"clean-{kind}-{noise_label.replace(' ', '_')}-{sample_rate}.wav"
        if not (noisy_path.exists() and clean_path.exists()):
            if speech:
                clean = speak(sentences[index % 2], ("en-us+m3", "en-gb+f3", "en-us+f2")[index], 150, 50, sample_rate)
                clean = np.concatenate([np.zeros(sample_rate // 4, np.float32), clean * 0.5, np.zeros(sample_rate // 4, np.float32)])
            else:
                clean = synth.synthesize("whistle", seed=400 + index, seconds=3.0, sample_rate=sample_rate)
            rng = np.random.default_rng(500 + index)
            noise = (coloured_noise(clean.size, rng, -3.0) if noise_label == "pink noise" else
                     synth.synthesize(noise_label, seed=600 + index, seconds=clean.size / sample_rate, sample_rate=sample_rate))
            clean_in_mixture, noisy = mix_at_snr_pair(clean, noise[: clean.size], snr)
            save_audio(noisy_path, noisy, sample_rate)
            save_audio(clean_path, clean_in_mixture, sample_rate)
        pairs[f"{kind} in {noise_label}, {snr:g} dB"] = (noisy_path, clean_path)
    return pairs
