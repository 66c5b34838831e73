"""Synthetic read speech from Debian's `espeak-ng`: many voices, rates and pitches, random sentences.

Real clean speech in the shared data is a few minutes long; formant-synthesised speech adds
variety of voice, pitch and rate for free. It is robotic, so it complements real speech rather
than replacing it. Nothing is downloaded: `espeak-ng` is a Debian package (`apt-get install espeak-ng`).
"""

from __future__ import annotations

import io
import shutil
import subprocess

import numpy as np
import soundfile

from audiolab.core.audio import resample

VOICES: tuple[str, ...] = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029")
VARIANTS: tuple[str, ...] = ("", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5",
                             "klatt", "klatt2", "klatt3", "edward", "steph", "max", "paul", "rob", "linda")

# Phonetically varied words (after the Harvard sentences of IEEE 1969), recombined into random sentences.
_WORDS = (
    "the birch canoe slid on smooth planks glue sheet to dark blue background it is easy tell depth of a well "
    "these days chicken leg rare dish rice often served in round bowls juice lemons makes fine punch box was "
    "thrown beside parked truck hogs were fed chopped corn and garbage four hours steady work faced us large "
    "size stockings hard sell boy fell from window wheel broke kite flew high over the town a pot of tea helps "
    "pass evening smoky fires lack flame heat soft cushion broke man's fall salt breeze came across sea girl at "
    "booth sold fifty bonds small pup gnawed hole in sock fish twisted and turned on bent hook press pants sew "
    "button vest swan dive was far short perfect beauty of view stunned young boy two blue fish swam tank her "
    "purse full useless trash colt reared threw tall rider wide road shimmered hot sun lazy cow lay cool grass "
    "lift square stone over fence rope will bind seven books at once hop over fence plunge in friendly gang "
    "left drug store mesh wire keeps chicks inside frosty air passed through coat crooked maze failed fool "
    "mouse adding fast leads wrong sums show was flop from very start"
).split()


def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


def random_sentence(rng: np.random.Generator, words: tuple[int, int] = (5, 14)) -> str:
    count = int(rng.integers(words[0], words[1] + 1))
    return " ".join(rng.choice(_WORDS, size=count)).capitalize() + "."


def speak(text: str, voice: str = "en-us", rate: int = 160, pitch: int = 50, sample_rate: int = 16000) -> np.ndarray:
    """One utterance as float32 mono at `sample_rate` (espeak-ng renders at 22.05 kHz)."""
    if not espeak_available():
        raise ValueError("Synthetic speech needs espeak-ng: install it with `apt-get install espeak-ng`, "
                         "or train on real speech folders only (--synthetic-speech 0).")
    if not text.strip():
        raise ValueError("Give some text to speak.")
    result = subprocess.run(["espeak-ng", "--stdout", "-v", voice, "-s", str(rate), "-p", str(pitch), text],
                            capture_output=True, check=True, timeout=60)
    audio, rate_in = soundfile.read(io.BytesIO(result.stdout), dtype="float32")
    return resample(audio, rate_in, sample_rate)


def synthetic_speech(count: int, seed: int, sample_rate: int = 16000) -> list[np.ndarray]:
    """`count` random utterances over the voices, variants, rates (120–210 wpm) and pitches (20–80)."""
    rng = np.random.default_rng(seed)
    clips: list[np.ndarray] = []
    for _ in range(count):
        variant = str(rng.choice(VARIANTS))
        voice = str(rng.choice(VOICES)) + (f"+{variant}" if variant else "")
        clips.append(speak(random_sentence(rng), voice, int(rng.integers(120, 211)), int(rng.integers(20, 81)), sample_rate))
    return clips
