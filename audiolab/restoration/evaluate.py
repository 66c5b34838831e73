"""`python -m audiolab eval denoise --clean DIR (--noisy DIR | --noise DIR)`: restoration measured against clean references.

Pairs come either from two folders with the same file names (real noisy/clean pairs such as
VoiceBank-DEMAND) or from mixing the clean folder with held-out noise at chosen SNRs (seeded).
For the other tasks (`--task bandwidth|declip|inpaint`) the degraded input is made from the clean
recording. Every method restores every input; the table gives SI-SDR, wide-band PESQ, STOI, the
log-spectral distance and DNSMOS P.835's OVRL, SIG and BAK (Reddy et al. 2022: no reference needed; clips
under 1 s get none) as means over clips, and the real-time factor (median over clips); for mixtures, also
per SNR and per noise recording (or ESC-50 class).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from audiolab.core.audio import load_audio
from audiolab.core.corpus import AudioSource, audio_files
from audiolab.core.dnsmos import dnsmos
from audiolab.core.quality import (
    denoising_error_parts,
    gap_log_spectral_distance,
    log_spectral_distance,
    pesq_wb,
    si_sdr,
    stoi,
)
from audiolab.restoration.attenuation import check_attenuation_limit, limit_attenuation
from audiolab.restoration.degradations import TASKS, degrade, gap_mask
from audiolab.restoration.noisy_speech import (
    distant,
    esc50_noise,
    held_out_source,
    mix_at_snr_pair,
)
from audiolab.restoration.restorer import Restorer, spectral_gating
from audiolab.vocoder.evaluate import MethodScores

SAMPLE_RATE = 16000
DENOISE_METHODS: tuple[str, ...] = ("noisy", "wiener", "noisereduce", "diffgmm", "score")
TASK_METHODS: tuple[str, ...] = ("degraded", "baseline", "score")
MEASURES: tuple[tuple[str, str, bool], ...] = (
    ("si_sdr", "SI-SDR dB ↑", True),
    ("si_sdr_worst", "worst clip ΔSI-SDR dB ↑", True),  # the least gain over the input of any clip: "no harm"
    ("pesq", "PESQ-wb ↑", True),
    ("stoi", "STOI ↑", True),
    ("lsd", "LSD dB ↓", False),
    ("lsd_gap", "LSD in gaps dB ↓", False),  # inpainting only: where the method invents
    ("dnsmos_ovrl", "DNSMOS OVRL ↑", True),
    ("dnsmos_sig", "SIG ↑", True),
    ("dnsmos_bak", "BAK ↑", True),
    ("speech_distortion", "speech/distortion dB ↑", True),  # denoising only: the error split in two parts,
    ("leftover_noise", "speech/leftover noise dB ↑", True),  # speech taken away and noise left
    ("rtf", "RTF ↓", False),
)
Pair = tuple[str, np.ndarray, np.ndarray]  # name, clean, degraded


def folder_pairs(clean_dir: str | Path, noisy_dir: str | Path, limit: int | None = None) -> list[Pair]:
    """Clean/noisy recordings with the same file names in two folders."""
    noisy_files = {p.name: p for p in audio_files(noisy_dir)}
    pairs: list[Pair] = []
    for path in audio_files(clean_dir):
        if path.name in noisy_files:
            clean = load_audio(path, SAMPLE_RATE, what=path.name)
            noisy = load_audio(noisy_files[path.name], SAMPLE_RATE, what=path.name)
            length = min(clean.size, noisy.size)
            pairs.append((path.stem, clean[:length], noisy[:length]))
    if not pairs:
        raise ValueError(f"No file in {clean_dir} has a namesake in {noisy_dir}; pairs are matched by file name.")
    return pairs[: limit or None]


def noise_sources(noise_dir: str | Path, classes: Sequence[str], include: Sequence[str]) -> list[AudioSource]:
    """Held-out noise: an ESC-50 folder's `classes` (files matching `include`), or a folder's files matching `include`."""
    if classes:
        return [esc50_noise(noise_dir, classes, SAMPLE_RATE, include or ("*",), held_out=True)]
    source = held_out_source(noise_dir, SAMPLE_RATE, include or ("*",))
    if source is None:
        raise ValueError(f"No noise recordings in {noise_dir} match {', '.join(include or ('*',))}.")
    return [source]


@dataclass(frozen=True)
class Mixtures:
    """Mixed pairs and what each was mixed from: its SNR ("5 dB") and its noise (the file's path in its folder
    without the suffix, or the ESC-50 class), so that the scores can be broken down by either."""

    pairs: list[Pair]
    snrs: list[str]
    noises: list[str]


def mixtures(clean_dir: str | Path, noise: Sequence[AudioSource], snrs_db: Sequence[float], seed: int,
             limit: int | None = None, max_seconds: float = 10.0, distant_noise: bool = False) -> Mixtures:
    """Each clean recording mixed with a random held-out noise excerpt at each SNR (seeded); with
    `distant_noise`, each excerpt first put across a random reverberant room (`noisy_speech.distant`). The
    rooms come from the same seeded generator, so from the second mixture on the excerpts differ from those
    drawn without them: a set of its own, not the same mixtures in rooms."""
    rng = np.random.default_rng(seed)
    pairs: list[Pair] = []
    snrs: list[str] = []
    noises: list[str] = []
    for path in audio_files(clean_dir)[: limit or None]:
        clean = load_audio(path, SAMPLE_RATE, what=path.name)[: int(max_seconds * SAMPLE_RATE)]
        for snr in snrs_db:
            source = noise[int(rng.integers(len(noise)))]
            excerpt, label = source.crop_labelled(clean.size, rng, (-30.0, -30.0))
            if distant_noise:
                excerpt = distant(excerpt, rng, SAMPLE_RATE)
            pairs.append((f"{path.stem}@{snr:g}dB", *mix_at_snr_pair(clean, excerpt, snr)))
            snrs.append(f"{snr:g} dB")
            noises.append(label)
    return Mixtures(pairs, snrs, noises)


def mixed_pairs(clean_dir: str | Path, noise: Sequence[AudioSource], snrs_db: Sequence[float], seed: int,
                limit: int | None = None, max_seconds: float = 10.0, distant_noise: bool = False) -> list[Pair]:
    """`mixtures`' pairs alone."""
    return mixtures(clean_dir, noise, snrs_db, seed, limit, max_seconds, distant_noise).pairs


def degraded_pairs(clean_dir: str | Path, task: str, limit: int | None = None, max_seconds: float = 10.0) -> list[Pair]:
    pairs = []
    for path in audio_files(clean_dir)[: limit or None]:
        clean = load_audio(path, SAMPLE_RATE, what=path.name)[: int(max_seconds * SAMPLE_RATE)]
        pairs.append((path.stem, clean, degrade(task, clean, SAMPLE_RATE)))
    return pairs


RUMBLE_HZ = 8.0  # below hearing and below the 20 Hz high-pass that denoising starts with (`subsonic.py`)


def with_offset_and_rumble(pairs: Sequence[Pair], offset: float = 0.0, rumble: float = 0.0) -> list[Pair]:
    """Each degraded input plus a DC offset of `offset` times its RMS and an 8 Hz rumble of `rumble` times it
    (amplitude), as a cheap interface or wind on the capsule would add; the clean references stay as they are."""
    if not (math.isfinite(offset) and math.isfinite(rumble)) or offset < 0 or rumble < 0:
        raise ValueError(f"--offset and --rumble are multiples of the input's RMS, 0 or more; got {offset:g} and "
                         f"{rumble:g}.")
    shifted: list[Pair] = []
    for name, clean, degraded in pairs:
        rms = float(np.sqrt(np.mean(np.square(degraded, dtype=np.float64))))
        t = np.arange(degraded.size) / SAMPLE_RATE
        added = rms * (offset + rumble * np.sin(2 * np.pi * RUMBLE_HZ * t))
        shifted.append((name, clean, (degraded + added).astype(np.float32)))
    return shifted


def parse_method(method: str) -> tuple[str, int | None, float | None]:
    """'diffgmm' -> ('diffgmm', None, None): the preset's setting; 'diffgmm-3' -> 3 iterations; 'score-16' -> 16
    steps; a suffix '@L' limits the attenuation to L dB (`attenuation.py`): 'diffgmm@12' -> ('diffgmm', None, 12.0)."""
    spec, at, limit = method.partition("@")
    name, _, count = spec.partition("-")
    known = tuple(dict.fromkeys(DENOISE_METHODS + TASK_METHODS))  # score does both
    if name not in known or (count and not count.isdigit()):
        raise ValueError(f"Unknown method {method!r}; choose from {', '.join(known)} "
                         "(diffgmm-N: N iterations, score-N: N steps, METHOD@L: attenuation limited to L dB).")
    steps = int(count) if count else None
    if not at:
        return name, steps, None
    if name in ("noisy", "degraded"):
        raise ValueError(f"{method!r}: the input itself has nothing removed to limit; drop the '@{limit}'.")
    try:
        limit_db = float(limit)
    except ValueError:
        raise ValueError(f"{method!r}: after '@' give the attenuation limit in dB, e.g. {spec}@12.") from None
    return name, steps, check_attenuation_limit(limit_db)


def evaluate_restoration(pairs: Sequence[Pair], methods: Sequence[str], task: str = "denoise",
                         restorer: Restorer | None = None, seed: int = 0) -> list[MethodScores]:
    """Scores per method over the pairs."""
    return evaluate_restoration_by_group(pairs, methods, {}, task, restorer, seed)[0]


Breakdown = dict[str, dict[str, list[MethodScores]]]  # grouping -> group -> one MethodScores per method


def evaluate_restoration_by_group(pairs: Sequence[Pair], methods: Sequence[str], groups: Mapping[str, Sequence[str]],
                                  task: str = "denoise", restorer: Restorer | None = None,
                                  seed: int = 0) -> tuple[list[MethodScores], Breakdown]:
    """Scores per method over the pairs, and over each group of pairs: `groups` maps a grouping ("SNR") to
    each pair's group in it ("5 dB"). Every clip is restored once; its scores count in every group it is in."""
    for grouping, labels in groups.items():
        if len(labels) != len(pairs):
            raise ValueError(f"The grouping {grouping!r} has {len(labels)} labels for {len(pairs)} pairs; give one "
                             "per pair.")
    if task not in TASKS:
        raise ValueError(f"Unknown task {task!r}; choose one of {', '.join(TASKS)}.")
    restorer = restorer or Restorer()
    parsed = {method: parse_method(method) for method in methods}
    limited = [method for method, (_, _, limit_db) in parsed.items() if limit_db is not None]
    if limited and task != "denoise":
        raise ValueError(f"An attenuation limit is for denoising; drop the '@' from {', '.join(limited)} for {task}.")
    scores = {method: MethodScores(method) for method in methods}
    by_group: dict[str, dict[str, dict[str, MethodScores]]] = {grouping: {} for grouping in groups}
    for index, (_name, clean, degraded) in enumerate(tqdm(pairs, desc="clips", leave=False)):
        degraded_si_sdr = si_sdr(clean, degraded)
        entries_of_clip = [scores]
        for grouping, labels in groups.items():
            if labels[index] not in by_group[grouping]:
                by_group[grouping][labels[index]] = {method: MethodScores(method) for method in methods}
            entries_of_clip.append(by_group[grouping][labels[index]])
        for method, (kind, count, limit_db) in parsed.items():
            started = time.perf_counter()
            with torch.no_grad() if kind != "score" or task == "denoise" else torch.enable_grad():
                if kind in ("noisy", "degraded"):
                    out = degraded
                elif kind == "noisereduce":  # the package as its users run it
                    out = spectral_gating(degraded, SAMPLE_RATE)
                    if limit_db is not None:
                        out = limit_attenuation(degraded, out, limit_db)
                elif kind == "wiener":  # the app's classical baseline, with the 20 Hz high-pass that starts denoising
                    out = restorer.restore(degraded, "baseline", "denoise", attenuation_limit_db=limit_db).audio
                else:
                    out = restorer.restore(degraded, kind, task, steps=count, seed=seed,  # type: ignore[arg-type]
                                           attenuation_limit_db=limit_db).audio
            elapsed = time.perf_counter() - started
            measured = clip_measures(clean, degraded, out, task, degraded_si_sdr)
            measured["rtf"] = elapsed / (clean.size / SAMPLE_RATE)
            for entries in entries_of_clip:
                for key, value in measured.items():
                    entries[method].add(key, value)
    breakdown: Breakdown = {grouping: {group: [entries[m] for m in methods] for group, entries in by_label.items()}
                            for grouping, by_label in by_group.items()}
    return [scores[m] for m in methods], breakdown


def clip_measures(clean: np.ndarray, degraded: np.ndarray, out: np.ndarray, task: str,
                  degraded_si_sdr: float) -> dict[str, float]:
    """One restored clip's scores (MEASURES' keys but RTF); a measure that cannot judge the clip is left out."""
    out_si_sdr = si_sdr(clean, out)
    measured = {"si_sdr": out_si_sdr, "si_sdr_worst": out_si_sdr - degraded_si_sdr,
                "lsd": log_spectral_distance(clean, out)}
    if task == "inpaint":
        measured["lsd_gap"] = gap_log_spectral_distance(clean, out, gap_mask(degraded, SAMPLE_RATE))
    if task == "denoise":
        try:
            measured["speech_distortion"], measured["leftover_noise"] = denoising_error_parts(clean, degraded, out)
        except ValueError:
            pass  # shorter than the split's 32 ms STFT, or a silent reference: nothing to split
    measured["stoi"] = stoi(clean, out, SAMPLE_RATE)
    try:
        measured["pesq"] = pesq_wb(clean, out, SAMPLE_RATE)
    except ValueError:
        pass
    try:
        mos = dnsmos(out, SAMPLE_RATE)
    except ValueError:
        pass  # under 1 s: too short to judge
    else:
        measured.update(dnsmos_ovrl=mos.ovrl, dnsmos_sig=mos.sig, dnsmos_bak=mos.bak)
    return measured


BREAKDOWN_MEASURES: tuple[str, ...] = ("si_sdr", "si_sdr_worst", "pesq", "stoi")
BREAKDOWN_MAX_GROUPS = 12  # more groups than this (every file of a corpus) make a table no one reads


def format_breakdown(grouping: str, groups: Mapping[str, Sequence[MethodScores]], sort: bool = False) -> str:
    """A Markdown table of the scores within each group of a grouping: a row per group and method, the
    number of clips in the group, then SI-SDR, the worst clip's change, PESQ-WB and STOI."""
    titles = {key: title for key, title, _ in MEASURES}
    lines = [f"| {grouping} | method | clips | " + " | ".join(titles[k] for k in BREAKDOWN_MEASURES) + " |",
             "|---|---|---:|" + "---:|" * len(BREAKDOWN_MEASURES)]
    for group in sorted(groups) if sort else groups:
        for entry in groups[group]:
            cells = [entry.summary(key) for key in BREAKDOWN_MEASURES]
            clips = len(entry.values.get("si_sdr", []))
            lines.append(f"| {group} | {entry.method} | {clips} | "
                         + " | ".join("—" if v is None else f"{v:.3f}" for v in cells) + " |")
    return "\n".join(lines)


# what a DiffGMM checkpoint's weights fix
NETWORK_SETTINGS: tuple[str, ...] = ("components", "hop", "channels", "bottleneck_dilations", "refine_channels",
                                     "refine_dilations", "context_channels", "context_dilations")


def restorer_with_checkpoint(checkpoint: str | Path) -> tuple[Restorer, str]:
    """A Restorer whose DiffGMM is the given checkpoint, and a row name.

    The network is built as the checkpoint's own settings say; how it is run (iterations, frame offsets)
    comes from the preset that trained it, as the app would run it, or `diffgmm-16k`'s if that is unknown."""
    import json

    from safetensors import safe_open

    from audiolab.restoration.diffgmm import DiffGMMSettings
    from audiolab.restoration.preset import load_denoiser, load_denoiser_preset

    with safe_open(str(checkpoint), framework="pt") as handle:
        metadata = dict(handle.metadata() or {})
    try:
        preset = load_denoiser_preset(metadata.get("preset", "diffgmm-16k"))
    except (ValueError, OSError):  # not a preset of this checkout (OSError: a name no file system takes)
        preset = None
    if preset is None or preset.method != "diffgmm":
        preset = load_denoiser_preset("diffgmm-16k")
    stored = json.loads(metadata.get("settings", "{}"))
    defaults = DiffGMMSettings()  # a key the checkpoint lacks predates it: the checkpoint was made without that part
    network = {k: stored.get(k, getattr(defaults, k)) for k in NETWORK_SETTINGS}
    settings = replace(preset.settings, **{k: tuple(v) if isinstance(v, list) else v for k, v in network.items()})
    restorer = Restorer()
    restorer.use("diffgmm", load_denoiser(replace(preset, settings=settings), Path(checkpoint)))
    offsets = f", {settings.shifts} frame offsets" if settings.shifts > 1 else ""
    return restorer, f"K={settings.components} ({metadata.get('steps', '?')} steps{offsets})"
