"""Folders of real recordings as training sources: every audio file loaded once, cropped at random.

The repository ships no recordings; training commands take folders (for instance the ones in
`../shared/data`) and `--exclude` patterns that keep held-out files out of training.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from audiolab.core.audio import load_audio, normalize_loudness

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3")


def audio_files(folder: str | Path, exclude: tuple[str, ...] = (), include: tuple[str, ...] = (),
                per_pattern: int | None = None) -> list[Path]:
    """Audio files under `folder` (recursively, sorted), minus names matching any `exclude` glob and, with
    `include`, only names matching one of its globs (with `per_pattern`, the first that many of each)."""
    root = Path(folder)
    if not root.is_dir():
        raise ValueError(f"Data folder {root} does not exist; pass a folder of audio files.")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    files = [p for p in files if not any(fnmatch.fnmatch(p.name, pattern) for pattern in exclude)]
    if include:
        chosen = [[p for p in files if fnmatch.fnmatch(p.name, pattern)][:per_pattern] for pattern in include]
        files = sorted({p for group in chosen for p in group})
    if not files:
        raise ValueError(f"No audio files ({', '.join(AUDIO_SUFFIXES)}) in {root} after exclusions.")
    return files


@dataclass
class AudioSource:
    """The recordings of one folder, resampled to one rate and kept in memory.

    `companions` (optional) holds one array per clip, sample-aligned with it (for instance a
    resynthesis of the clip); `crop` then cuts and scales both alike. `labels` (optional) names each
    clip (its file, its class), so that an evaluation can say which one an excerpt came from; a
    folder's clips are named by their path in it without the suffix.
    """

    name: str
    clips: list[np.ndarray]
    companions: list[np.ndarray] | None = None
    labels: list[str] | None = None

    def __post_init__(self) -> None:
        for what, values in (("companions", self.companions), ("labels", self.labels)):
            if values is not None and len(values) != len(self.clips):
                raise ValueError(f"{self.name}: {len(values)} {what} for {len(self.clips)} clips; give one per clip.")

    @classmethod
    def from_folder(cls, folder: str | Path, sample_rate: int, exclude: tuple[str, ...] = (),
                    min_seconds: float = 0.5, include: tuple[str, ...] = ()) -> "AudioSource":
        clips: list[np.ndarray] = []
        labels: list[str] = []
        for path in audio_files(folder, exclude, include):
            try:
                audio = load_audio(path, sample_rate, what=path.name)
            except ValueError:  # silent or broken files teach nothing; skip them
                continue
            if audio.size >= min_seconds * sample_rate:
                clips.append(audio)
                labels.append(path.relative_to(folder).with_suffix("").as_posix())  # unique across subfolders
        if not clips:
            raise ValueError(f"No usable recordings in {folder}.")
        return cls(Path(folder).name, clips, labels=labels)

    @property
    def seconds(self) -> float:
        return sum(clip.size for clip in self.clips)

    def crop(self, samples: int, rng: np.random.Generator, level_dbfs: tuple[float, float] = (-35.0, -15.0),
             tries: int = 8) -> np.ndarray:
        """A random `samples`-long excerpt at a random loudness; avoids near-silent excerpts where it can."""
        return self.crop_pair(samples, rng, level_dbfs, tries)[0]

    def crop_labelled(self, samples: int, rng: np.random.Generator,
                      level_dbfs: tuple[float, float] = (-35.0, -15.0), tries: int = 8) -> tuple[np.ndarray, str]:
        """`crop`, with the label of the clip it came from (the source's name without labels); the same draws
        as `crop`, so a seeded caller gets the same excerpts either way."""
        excerpt, _, index = self._crop(samples, rng, level_dbfs, tries)
        return excerpt, self.labels[index] if self.labels is not None else self.name

    def crop_pair(self, samples: int, rng: np.random.Generator, level_dbfs: tuple[float, float] = (-35.0, -15.0),
                  tries: int = 8) -> tuple[np.ndarray, np.ndarray | None]:
        """`crop`, plus the same excerpt of the clip's companion at the same gain (None without companions)."""
        excerpt, companion, _ = self._crop(samples, rng, level_dbfs, tries)
        return excerpt, companion

    def _crop(self, samples: int, rng: np.random.Generator, level_dbfs: tuple[float, float],
              tries: int) -> tuple[np.ndarray, np.ndarray | None, int]:
        """The excerpt, its companion (None without companions) and the index of the clip they came from."""
        excerpt = companion = np.zeros(samples, dtype=np.float32)
        index = 0
        for _ in range(tries):
            index = int(rng.integers(len(self.clips)))
            clip = self.clips[index]
            other = self.companions[index] if self.companions is not None else clip
            if clip.size <= samples:
                excerpt, companion = np.zeros(samples, dtype=np.float32), np.zeros(samples, dtype=np.float32)
                excerpt[: clip.size], companion[: clip.size] = clip, other
            else:
                start = int(rng.integers(clip.size - samples + 1))
                excerpt, companion = clip[start : start + samples], other[start : start + samples]
            if float(np.sqrt(np.mean(excerpt**2))) > 1e-3:
                break
        if float(np.abs(excerpt).max()) > 0.0:
            level = normalize_loudness(excerpt, float(rng.uniform(*level_dbfs)))
            gain = float(np.max(np.abs(level)) / np.max(np.abs(excerpt)))
            excerpt, companion = level, (companion * gain).astype(np.float32)
        return excerpt, (companion if self.companions is not None else None), index
