"""Noisy-speech training pairs mixed on the fly: clean speech + real or procedural noise at −5…20 dB SNR
(optionally a share of nearly clean mixtures, 20…40 dB).

Speech comes from folders of real recordings and from `espeak-ng` (see `audiolab.restoration.tts`);
noise from folders of real noise, from chosen ESC-50 classes (rain, wind, engine, vacuum cleaner,
…), from babble of the training speech (3–8 talkers, alone or over a real noise), from one or two
competing talkers quieter than the target (a conversation at the next table), and from procedural
generators: coloured noise with a random spectral slope, mains hum, babble, and the procedural rain
and wind. Shares of the mixtures pass through a recording chain (`acoustics`): the noise through a
random equaliser, the speech or the noise in a random room, the mixture clipped. Every pair is drawn
fresh, so the model never sees the same mixture twice.
"""

from __future__ import annotations

import csv
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audiolab.core.audio import load_audio
from audiolab.core.corpus import AudioSource
from audiolab.generation import synth
from audiolab.restoration.acoustics import random_colouring, reverberate, room_impulse_response
from audiolab.restoration.degradations import degrade

PROCEDURAL_NOISES: tuple[str, ...] = ("coloured", "hum", "babble", "rain", "wind")
DISTANT_RT60_S: tuple[float, float] = (0.3, 1.0)  # a living room to a cafeteria
DISTANT_DIRECT_TO_REVERBERANT_DB: tuple[float, float] = (-8.0, 3.0)  # beyond the critical distance: mostly the room


def mix_at_snr_pair(clean: np.ndarray, noise: np.ndarray, snr_db: float) -> tuple[np.ndarray, np.ndarray]:
    """(clean, clean + noise) with the noise scaled so that 10·log10(P_clean / P_noise) = snr_db; if the mixture
    peaks above 0.99 both are scaled down alike, so the clean part stays exactly the speech inside the mixture."""
    clean_power = float(np.mean(clean.astype(np.float64) ** 2)) or 1e-12
    noise_power = float(np.mean(noise.astype(np.float64) ** 2)) or 1e-12
    mixture = clean + noise * np.sqrt(clean_power / (noise_power * 10 ** (snr_db / 10)))
    peak = float(np.max(np.abs(mixture)))
    scale = 0.99 / peak if peak > 0.99 else 1.0
    return (clean * scale).astype(np.float32), (mixture * scale).astype(np.float32)


def esc50_noise(folder: str | Path, classes: Sequence[str], sample_rate: int, exclude: Sequence[str] = (),
                held_out: bool = False) -> AudioSource:
    """The clips of the given ESC-50 categories (read from the `meta.csv` beside or above `folder`).

    With `held_out`, only the clips that `exclude` names (for validation) instead of all the others. Each clip
    is labelled with its category.
    """
    root = Path(folder)
    meta = next((p for p in (root / "meta.csv", root.parent / "meta.csv") if p.is_file()), None)
    if meta is None:
        raise ValueError(f"No ESC-50 meta.csv beside or above {root}; pass --noise-classes only with an ESC-50 folder.")
    audio_dir = root / "audio" if (root / "audio").is_dir() else root
    wanted = set(classes)
    with meta.open(encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["category"] in wanted]
    unknown = wanted - {r["category"] for r in rows}
    if unknown:
        raise ValueError(f"Unknown or absent ESC-50 classes: {', '.join(sorted(unknown))}.")
    clips, labels = [], []
    for row in rows:
        if any(fnmatch.fnmatch(row["filename"], pattern) for pattern in exclude) != held_out:
            continue
        try:
            clips.append(load_audio(audio_dir / row["filename"], sample_rate, what=row["filename"]))
        except ValueError:  # silent clips carry no noise to learn from
            continue
        labels.append(row["category"])
    if not clips:
        raise ValueError(f"No usable ESC-50 clips of {', '.join(classes)} in {audio_dir} after exclusions.")
    return AudioSource("esc50-noise", clips, labels=labels)


def coloured_noise(samples: int, rng: np.random.Generator, slope_db_per_octave: float) -> np.ndarray:
    """Gaussian noise whose power falls by `slope_db_per_octave` per octave (0 white, −3 pink, −6 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(samples))
    frequency = np.arange(spectrum.size, dtype=np.float64)
    frequency[0] = 1.0
    spectrum *= frequency ** (slope_db_per_octave / (20 * np.log10(2)))
    return np.fft.irfft(spectrum, samples).astype(np.float32)


def mains_hum(samples: int, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    base = float(rng.choice([50.0, 60.0])) * float(rng.uniform(0.99, 1.01))
    time = np.arange(samples) / sample_rate
    hum = sum(rng.uniform(0.1, 1.0) / k * np.sin(2 * np.pi * base * k * time + rng.uniform(0, 2 * np.pi)) for k in range(1, 12))
    return (hum + 0.05 * coloured_noise(samples, rng, -3.0)).astype(np.float32)


def babble(samples: int, rng: np.random.Generator, speech: Sequence[AudioSource],
           talkers: tuple[int, int] = (3, 8)) -> np.ndarray:
    """`talkers` (inclusive range) overlapping talkers: the cafeteria-like noise hardest to tell from the target."""
    count = int(rng.integers(talkers[0], talkers[1] + 1))
    return np.sum([speech[int(rng.integers(len(speech)))].crop(samples, rng, (-30.0, -24.0)) for _ in range(count)], axis=0)


@dataclass
class NoisySpeechStream:
    """Draws (clean, noisy) pairs; the clean target is the speech exactly as it sits in the mixture
    (unclipped where the mixture is clipped). Each speech or noise source (a folder) is drawn alike,
    whatever its length, so a folder of a few clips weighs as much as a corpus."""

    speech: Sequence[AudioSource]
    noise: Sequence[AudioSource]
    sample_rate: int
    snr_db: tuple[float, float] = (-5.0, 20.0)
    level_dbfs: tuple[float, float] = (-38.0, -18.0)
    procedural_share: float = 0.3
    babble_share: float = 0.0
    competing_share: float = 0.0
    competing_snr_db: tuple[float, float] = (2.0, 20.0)  # the target stays the loudest talker
    colouring_share: float = 0.0  # noises through a random equaliser
    reverb_share: float = 0.0  # speech in a room, and (drawn separately) noise in a room
    clipping_share: float = 0.0  # mixtures clipped at 50-95 % of their peak
    clipping_fraction: tuple[float, float] = (0.5, 0.95)
    high_snr_share: float = 0.0  # mixtures drawn in `high_snr_db` instead: nearly clean speech, to be left alone
    high_snr_db: tuple[float, float] = (20.0, 40.0)
    distant_talker_share: float = 0.0  # babble and competing talkers far off in a room (reverb_share may add one)

    def __post_init__(self) -> None:
        if not self.speech:
            raise ValueError("Give at least one folder of clean speech (or synthetic speech).")
        if not self.noise and self.procedural_share <= 0:
            raise ValueError("Give at least one folder of noise, or a procedural share above zero.")
        for name in ("procedural_share", "babble_share", "competing_share", "colouring_share", "reverb_share",
                     "clipping_share", "high_snr_share", "distant_talker_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a share of the training mixtures: give a number from 0 to 1.")
        low, high = self.clipping_fraction
        if not 0.0 < low <= high <= 1.0:
            raise ValueError(f"clipping_fraction {self.clipping_fraction} is a range of fractions of the peak: "
                             "give 0 < low <= high <= 1.")
        low, high = self.high_snr_db
        if self.high_snr_share > 0 and not low <= high:  # also refuses NaN
            raise ValueError(f"high_snr_db {self.high_snr_db} is a range of SNRs in dB: give low <= high.")

    def procedural_noise(self, samples: int, rng: np.random.Generator) -> np.ndarray:
        kind = str(rng.choice(PROCEDURAL_NOISES))
        if kind == "coloured":
            noise = coloured_noise(samples, rng, float(rng.uniform(-7.0, 1.0)))
        elif kind == "hum":
            noise = mains_hum(samples, rng, self.sample_rate)
        elif kind == "babble":
            noise = babble(samples, rng, self.speech)
        else:
            noise = synth.synthesize(kind, seed=int(rng.integers(1 << 30)), seconds=samples / self.sample_rate,
                                     sample_rate=self.sample_rate)[:samples]
        if rng.random() < 0.5:  # non-stationary: a slow random envelope (passing traffic, gusts)
            knots = rng.uniform(0.2, 1.0, size=int(rng.integers(2, 8)))
            noise = noise * np.interp(np.linspace(0, 1, samples), np.linspace(0, 1, knots.size), knots)
        return noise.astype(np.float32)

    def real_babble(self, samples: int, rng: np.random.Generator) -> np.ndarray:
        """Talkers from the training speech, half the time over a real noise: a cafeteria or a busy street.
        Recorded noise like DEMAND's is often of this kind, and it is what a speech denoiser finds hardest."""
        return self._over_room_noise(babble(samples, rng, self.speech), samples, rng)

    def competing_talkers(self, samples: int, rng: np.random.Generator) -> np.ndarray:
        """One or two talkers from the training speech, half the time over a real noise. A single-channel
        denoiser tells the target from them only by level, so `pair` mixes them below the target
        (`competing_snr_db`); babble of many talkers blurs into a steady noise and does not teach this."""
        return self._over_room_noise(babble(samples, rng, self.speech, talkers=(1, 2)), samples, rng)

    def _over_room_noise(self, talkers: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
        if self.distant_talker_share > 0 and rng.random() < self.distant_talker_share:  # no draw at 0: replays
            talkers = distant(talkers, rng, self.sample_rate)
        if self.noise and rng.random() < 0.5:  # the talkers 10 dB above the room noise to 3 dB below it
            room = self.noise[int(rng.integers(len(self.noise)))].crop(samples, rng, (-30.0, -30.0))
            talkers = mix_at_snr_pair(talkers, room, -float(rng.uniform(-10.0, 3.0)))[1]
        return talkers.astype(np.float32)

    def noise_and_snr_range(self, samples: int, rng: np.random.Generator) -> tuple[np.ndarray, tuple[float, float]]:
        """A noise crop and the SNR range to mix it at: competing talkers stay below the target."""
        if self.competing_share > 0 and rng.random() < self.competing_share:  # no draw at 0: earlier runs replay
            return self.competing_talkers(samples, rng), self.competing_snr_db
        return self.noise_crop(samples, rng), self.snr_db

    def noise_crop(self, samples: int, rng: np.random.Generator) -> np.ndarray:
        if self.babble_share > 0 and rng.random() < self.babble_share:  # no draw at 0: earlier runs replay
            return self.real_babble(samples, rng)
        if not self.noise or rng.random() < self.procedural_share:
            return self.procedural_noise(samples, rng)
        source = self.noise[int(rng.integers(len(self.noise)))]
        noise = source.crop(samples, rng, (-30.0, -30.0))
        if rng.random() < 0.3:  # two real noises at once (a fan under rain)
            other = self.noise[int(rng.integers(len(self.noise)))]
            noise = noise + other.crop(samples, rng, (-30.0, -30.0)) * float(rng.uniform(0.2, 1.0))
        return noise

    def recording_chain(self, clean: np.ndarray, noise: np.ndarray,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The speech and the noise each in its own random room, and the noise coloured. The target keeps
        its room: the task is denoising, and a reverberant talker should come out as one, not be thinned."""
        if self.reverb_share > 0:  # no draw at 0: earlier runs replay
            if rng.random() < self.reverb_share:
                clean = reverberate(clean, room_impulse_response(rng, self.sample_rate))
            if rng.random() < self.reverb_share:
                noise = reverberate(noise, room_impulse_response(rng, self.sample_rate))
        if self.colouring_share > 0 and rng.random() < self.colouring_share:
            noise = random_colouring(noise, rng, self.sample_rate)
        return clean, noise

    def pair(self, samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(clean target, noisy input); a clipped mixture keeps its unclipped speech as the target."""
        clean = self.speech[int(rng.integers(len(self.speech)))].crop(samples, rng, self.level_dbfs)
        noise, snr_range = self.noise_and_snr_range(samples, rng)
        if self.high_snr_share > 0 and rng.random() < self.high_snr_share:  # no draw at 0: earlier runs replay
            snr_range = self.high_snr_db  # a model that never hears a faint noise takes speech for it
        clean, noise = self.recording_chain(clean, noise, rng)
        clean, noisy = mix_at_snr_pair(clean, noise, float(rng.uniform(*snr_range)))
        if self.clipping_share > 0 and rng.random() < self.clipping_share:
            fraction = float(rng.uniform(*self.clipping_fraction))
            noisy = degrade("declip", noisy, self.sample_rate, clip_fraction=fraction)
        return clean, noisy

    def batch(self, size: int, samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        pairs = [self.pair(samples, rng) for _ in range(size)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


def distant(talkers: np.ndarray, rng: np.random.Generator, sample_rate: int) -> np.ndarray:
    """Talkers across a reverberant room from the microphone: more of the room than of the direct path.

    The talkers behind a recorded voice (a cafeteria, an office, DEMAND's recordings) are far from the
    microphone and the voice is near it, so a denoiser can tell them apart by how much room each carries,
    not only by level. Speech from the same close microphones as the target teaches level alone."""
    response = room_impulse_response(rng, sample_rate, rt60_s=DISTANT_RT60_S,
                                     direct_to_reverberant_db=DISTANT_DIRECT_TO_REVERBERANT_DB)
    return reverberate(talkers, response)


def held_out_source(folder: str | Path, sample_rate: int, exclude: Sequence[str]) -> AudioSource | None:
    """The files of `folder` that `exclude` keeps out of training (None if there are none)."""
    try:
        return AudioSource.from_folder(folder, sample_rate, include=tuple(exclude), min_seconds=0.0)
    except ValueError:
        return None


def speech_sources(folders: Sequence[str | Path], sample_rate: int, exclude: Sequence[str], synthetic: list[np.ndarray]) -> list[AudioSource]:
    sources = [AudioSource.from_folder(folder, sample_rate, tuple(exclude)) for folder in folders]
    if synthetic:
        sources.append(AudioSource("espeak-ng", synthetic))
    return sources
