"""`python -m audiolab eval vocoder --data DIR`: resynthesise every clip through its mel and score it.

Each method turns the clip's log-mel back into a waveform; the result is compared with the
original clip by the measures in `audiolab/quality.py`. The real-time factor is wall-clock
seconds of vocoding per second of audio on this machine (median over clips).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from audiolab.core.audio import MelTransform, load_audio, normalize_loudness
from audiolab.core.corpus import audio_files
from audiolab.core.quality import (
    log_mel_l1,
    mel_cepstral_distortion,
    mr_stft_distance,
    pesq_wb,
    stoi,
)
from audiolab.vocoder.flow_vocoder import FlowVocoder
from audiolab.vocoder.preset import Vocoder

DEFAULT_METHODS: tuple[str, ...] = ("diffusion-6", "diffusion-12", "diffusion-50", "griffinlim-32", "griffinlim-100")
EVAL_DBFS = -25.0  # every clip is levelled first, so clips count equally
MEASURES: tuple[tuple[str, str, bool], ...] = (  # key, column title, higher is better
    ("mr_stft", "MR-STFT ↓", False),
    ("log_mel_l1", "log-mel L1 ↓", False),
    ("mcd", "MCD dB ↓", False),
    ("pesq", "PESQ-wb ↑", True),
    ("stoi", "STOI ↑", True),
    ("rtf", "RTF ↓", False),
)


@dataclass
class MethodScores:
    method: str
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, key: str, value: float) -> None:
        self.values.setdefault(key, []).append(value)

    def summary(self, key: str) -> float | None:
        values = self.values.get(key)
        if not values:
            return None
        # RTF: the median, robust to a busy machine; a "_worst" key: the least value; quality: the mean over clips
        if key.endswith("_worst"):
            return float(min(values))
        return statistics.median(values) if key == "rtf" else float(np.mean(values))


@dataclass(frozen=True)
class VocoderMethodSpec:
    """One method of the table: Griffin-Lim with `count` iterations, or the vocoder with `count` steps and optional
    overrides of its projections a step and (flow vocoder) its temperature."""

    name: str
    count: int
    projections: int | None = None
    temperature: float | None = None


def parse_method(method: str) -> VocoderMethodSpec:
    """'diffusion-6' -> 6 vocoder steps; 'diffusion-12-p0' -> 12 steps, no projections; 'diffusion-6-t0.2' -> 6 steps
    from a starting draw at temperature 0.2 (flow vocoder); 'griffinlim-100' -> 100 Griffin-Lim iterations."""
    name, _, rest = method.partition("-")
    count, *options = rest.split("-") if rest else ("",)
    spec: dict[str, float | int | None] = {"projections": None, "temperature": None}
    valid = name in ("diffusion", "griffinlim") and count.isdigit() and int(count) >= 1
    for option in options:
        key = {"p": "projections", "t": "temperature"}.get(option[:1])
        value = option[1:]
        if name != "diffusion" or key is None or spec[key] is not None:
            valid = False
        elif key == "projections" and value.isdigit():
            spec[key] = int(value)
        elif key == "temperature" and value.replace(".", "", 1).isdigit():
            spec[key] = float(value)
        else:
            valid = False
    if not valid:
        raise ValueError(f"Unknown method {method!r}; write diffusion-STEPS[-pPROJECTIONS][-tTEMPERATURE] or "
                         "griffinlim-ITERATIONS, e.g. diffusion-6, diffusion-12-p0, diffusion-6-t0.2, griffinlim-100.")
    return VocoderMethodSpec(name, int(count), spec["projections"], spec["temperature"])  # type: ignore[arg-type]


def make_vocoder_fn(method: str, vocoder: Vocoder | None, transform: MelTransform,
                    sampler: str | None = None) -> Callable[[torch.Tensor, int], np.ndarray]:
    spec = parse_method(method)
    if spec.name == "griffinlim":
        return lambda log_mel, samples: transform.griffin_lim(log_mel, spec.count, num_samples=samples, seed=0)
    if vocoder is None:
        raise ValueError("The diffusion methods need a trained vocoder preset.")
    if spec.temperature is not None:
        if not isinstance(vocoder, FlowVocoder):
            raise ValueError(f"{method}: only the flow vocoder has a temperature.")
        vocoder = FlowVocoder(replace(vocoder.settings, temperature=spec.temperature), vocoder.net)
    chosen = vocoder
    return lambda log_mel, samples: chosen.vocode(log_mel, samples, steps=spec.count, sampler=sampler, seed=0,
                                                  projection_iterations=spec.projections)


def evaluate_vocoders(
    data: str | Path,
    vocoder: Vocoder | None,
    transform: MelTransform,
    methods: Sequence[str] = DEFAULT_METHODS,
    speech: bool = False,
    limit: int | None = None,
    max_seconds: float = 10.0,
    sampler: str | None = None,
    exclude: Sequence[str] = (),
    include: Sequence[str] = (),
    per_pattern: int | None = None,
) -> tuple[list[MethodScores], int]:
    """Scores per method over the clips in `data` (the first `limit`, each cut to `max_seconds`); `include` and
    `per_pattern` pick the first clips of each glob, e.g. two of each held-out speaker."""
    sample_rate = transform.settings.sample_rate
    files = audio_files(data, tuple(exclude), tuple(include), per_pattern)[: limit or None]
    functions = {method: make_vocoder_fn(method, vocoder, transform, sampler) for method in methods}
    scores = {method: MethodScores(method) for method in methods}
    used = 0
    for path in tqdm(files, desc="clips", leave=False):
        try:
            clip = load_audio(path, sample_rate, what=path.name)
        except ValueError:
            continue  # silent or unreadable clips have nothing to resynthesise
        clip = normalize_loudness(clip[: int(max_seconds * sample_rate)], EVAL_DBFS)
        log_mel = transform.log_mel(clip)
        used += 1
        for method, function in functions.items():
            started = time.perf_counter()
            with torch.no_grad():
                out = function(log_mel, clip.size)
            elapsed = time.perf_counter() - started
            entry = scores[method]
            entry.add("rtf", elapsed / (clip.size / sample_rate))
            entry.add("mr_stft", mr_stft_distance(clip, out))
            entry.add("log_mel_l1", log_mel_l1(clip, out, transform.settings))
            entry.add("mcd", mel_cepstral_distortion(clip, out))
            if speech:
                try:
                    entry.add("pesq", pesq_wb(clip, out, sample_rate))
                except ValueError:
                    pass
                entry.add("stoi", stoi(clip, out, sample_rate))
    if used == 0:
        raise ValueError(f"No usable clips in {data}.")
    return [scores[m] for m in methods], used


def format_table(scores: Sequence[MethodScores], measures: Sequence[tuple[str, str, bool]] = MEASURES) -> str:
    """A Markdown table, one row per method; the best value of each column in bold."""
    keys = [(key, title, higher) for key, title, higher in measures if any(s.summary(key) is not None for s in scores)]
    best: dict[str, float] = {}
    for key, _, higher in keys:
        values = [s.summary(key) for s in scores if s.summary(key) is not None]
        best[key] = max(values) if higher else min(values)  # type: ignore[type-var]
    lines = ["| method | " + " | ".join(title for _, title, _ in keys) + " |",
             "|---|" + "---:|" * len(keys)]
    for entry in scores:
        cells = []
        for key, _, _ in keys:
            value = entry.summary(key)
            text = "—" if value is None else f"{value:.3f}"
            cells.append(f"**{text}**" if value is not None and value == best[key] else text)
        lines.append(f"| {entry.method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
