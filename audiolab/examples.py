"""Example inputs for the app: procedural recordings it makes for itself, and the real speech recordings shipped in
`audiolab/example_audio/` for the Denoise & restore tab; both reach the page from one temp folder.

`python -m audiolab.examples DATA_DIR` remakes the shipped recordings from the shared data folder
(`speech/ljspeech/`, `esc50/audio/`), exactly as `RESTORATION_EXAMPLES` describes them, with their credits file.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from audiolab.core.audio import save_audio
from audiolab.generation import synth

if TYPE_CHECKING:
    from audiolab.restoration.degradations import Task

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


# ---- real recordings for the Denoise & restore tab ---------------------------------------------------

SHIPPED_EXAMPLES = Path(__file__).resolve().parent / "example_audio"
EXAMPLE_RATE = 16_000  # the restorers' rate
EDGE_FADE_SECONDS = 0.01  # raised-cosine fades where an excerpt is cut, so the cut makes no click
GAP_SECONDS = 0.1  # inpaint: each gap's length


@dataclass(frozen=True)
class RestorationExample:
    """One shipped example: an excerpt of an LJ Speech clip, degraded for `task`, and the excerpt as its clean
    reference (`<name>.flac`, `<name>-clean.flac`). The low-pass and the clipping are `eval denoise --task`'s
    (degradations.degrade); the gaps are placed in speech, not in pauses, so there is something to fill."""

    name: str
    task: Task  # the task the example's row selects
    speech: str  # LJ Speech clip id (public domain)
    start: float  # the excerpt, in seconds into the clip
    end: float
    noise: str = ""  # denoise: the ESC-50 clip mixed in (fold 4, CC0: never in the restorers' training data)
    noise_author: str = ""
    snr_db: float = 0.0  # denoise: 10·log10(P_speech / P_noise)
    gaps: tuple[float, ...] = ()  # inpaint: where each 100 ms gap of exact zeros starts, in seconds into the excerpt

    @property
    def method(self) -> str:
        """The task's default method (DiffGMM to denoise, posterior sampling with the score model otherwise)."""
        from audiolab.restoration.restorer import Restorer

        return Restorer.default_method(self.task)

    def how(self) -> str:
        """How the degraded recording was made, in one line."""
        excerpt = f"LJ Speech {self.speech}, {self.start:.2f}–{self.end:.2f} s"
        if self.task == "denoise":
            return f"{excerpt} + ESC-50 {self.noise} (from its start) at {self.snr_db:g} dB SNR"
        if self.task == "bandwidth":
            return f"{excerpt}, ideal low-pass at 4 kHz"
        if self.task == "declip":
            return f"{excerpt}, hard-clipped at 30% of its peak"
        return f"{excerpt}, {GAP_SECONDS * 1000:.0f} ms of exact zeros from " + ", ".join(f"{g:.2f} s" for g in self.gaps)


RESTORATION_EXAMPLES: tuple[RestorationExample, ...] = (
    RestorationExample("denoise-rain-5dB", "denoise", "LJ001-0001", 0.75, 4.20, noise="4-164206-A.ogg",
                       noise_author="Danjocross", snr_db=5.0),
    RestorationExample("denoise-vacuum-0dB", "denoise", "LJ001-0009", 2.20, 5.30, noise="4-181999-A.ogg",
                       noise_author="ohrpilot", snr_db=0.0),
    RestorationExample("bandwidth-4kHz", "bandwidth", "LJ001-0015", 0.00, 2.60),
    RestorationExample("declip-30pct", "declip", "LJ001-0014", 0.00, 3.30),
    RestorationExample("inpaint-2x100ms", "inpaint", "LJ001-0007", 0.00, 3.05, gaps=(0.30, 1.90)),
)


def restoration_examples() -> list[tuple[RestorationExample, Path, Path]]:
    """(example, degraded recording, clean reference) for the Denoise & restore tab, copied from the package into
    the examples folder: the server hands out that folder, never the repository's own files."""
    examples = []
    for example in RESTORATION_EXAMPLES:
        paths = []
        for suffix in ("", "-clean"):
            shipped = SHIPPED_EXAMPLES / f"{example.name}{suffix}.flac"
            served = example_folder() / shipped.name
            if not served.exists() or not filecmp.cmp(shipped, served, shallow=False):
                partial = served.with_name(f".{served.name}.{os.getpid()}")
                shutil.copyfile(shipped, partial)
                os.replace(partial, served)  # atomic: another process serving the folder never sees half a file
            paths.append(served)
        examples.append((example, paths[0], paths[1]))
    return examples


def make_restoration_example(example: RestorationExample, data: Path) -> tuple[np.ndarray, np.ndarray]:
    """(degraded, clean) at 16 kHz from the shared data folder (`speech/ljspeech/`, `esc50/audio/`)."""
    from audiolab.core.audio import load_audio
    from audiolab.restoration.degradations import degrade
    from audiolab.restoration.noisy_speech import mix_at_snr_pair

    speech = load_audio(data / "speech" / "ljspeech" / f"{example.speech}.flac", EXAMPLE_RATE)
    clean = speech[round(example.start * EXAMPLE_RATE) : round(example.end * EXAMPLE_RATE)].astype(np.float64)
    fade = round(EDGE_FADE_SECONDS * EXAMPLE_RATE)
    ramp = np.sin(np.linspace(0.0, np.pi / 2, fade)) ** 2
    clean[:fade] *= ramp
    clean[-fade:] *= ramp[::-1]
    clean = clean.astype(np.float32)
    if example.task == "denoise":
        noise = load_audio(data / "esc50" / "audio" / example.noise, EXAMPLE_RATE)
        if noise.size < clean.size:
            raise ValueError(f"{example.noise} is shorter than the {clean.size / EXAMPLE_RATE:.2f} s excerpt; "
                             "choose a shorter excerpt.")
        return mix_at_snr_pair(clean, noise[: clean.size], example.snr_db)[::-1]
    if example.task == "inpaint":
        degraded = clean.copy()
        for start in example.gaps:
            first = round(start * EXAMPLE_RATE)
            degraded[first : first + round(GAP_SECONDS * EXAMPLE_RATE)] = 0.0
        return degraded, clean
    return degrade(example.task, clean, EXAMPLE_RATE), clean  # 4 kHz low-pass, or clipped at 30% of the peak


def write_restoration_examples(data: Path, out: Path = SHIPPED_EXAMPLES) -> list[Path]:
    """Remake every shipped example (16 kHz mono 16-bit FLAC) and the credits file beside them."""
    from audiolab.core.audio import save_audio

    written = []
    for example in RESTORATION_EXAMPLES:
        degraded, clean = make_restoration_example(example, Path(data))
        written.append(save_audio(out / f"{example.name}.flac", degraded, EXAMPLE_RATE))
        written.append(save_audio(out / f"{example.name}-clean.flac", clean, EXAMPLE_RATE))
    credits = out / "CREDITS.md"
    credits.write_text(examples_credits(), encoding="utf-8")
    return [*written, credits]


def examples_credits() -> str:
    """The credits file: where each recording comes from, its licence, and how it was made."""
    lines = [
        "# Example recordings for the Denoise & restore tab",
        "",
        "Made by `python -m audiolab.examples DATA_DIR` (`audiolab/examples.py`, `RESTORATION_EXAMPLES`) from the",
        "recordings below; 16 kHz mono, 16-bit FLAC. Each `<name>-clean.flac` is the speech excerpt itself (for",
        "denoise, exactly the speech inside the mixture), cut with 10 ms fades at both ends.",
        "",
        "- Speech: The LJ Speech Dataset (K. Ito & L. Johnson, 2017, https://keithito.com/LJ-Speech-Dataset/),",
        "  public domain: one reader, passages from non-fiction books in the public domain.",
        "- Noise: clips of ESC-50 (K. J. Piczak, \"ESC: Dataset for Environmental Sound Classification\", ACM MM 2015)",
        "  from Freesound, each released under CC0 1.0 by its author (no attribution required; credited anyway).",
        "  Both are from fold 4, which the restoration models never trained on.",
        "",
        "| file | task | how it was made | noise source |",
        "|---|---|---|---|",
    ]
    for example in RESTORATION_EXAMPLES:
        source = "—"
        if example.noise:
            sound = example.noise.split("-")[1]
            source = (f"{example.noise_author}, https://freesound.org/people/{example.noise_author}/sounds/{sound}/, "
                      "CC0 1.0")
        lines.append(f"| `{example.name}.flac` | {example.task} | {example.how()} | {source} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m audiolab.examples DATA_DIR  (the folder holding speech/ljspeech and esc50/audio)")
    for path in write_restoration_examples(Path(sys.argv[1])):
        print(path)
