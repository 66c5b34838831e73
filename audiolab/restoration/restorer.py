"""Speech restoration: the classical baselines and the two diffusion families, behind one call.

- `baseline`: a Wiener filter for noise (classical reference), the observation itself for the other tasks
  (linear interpolation across a gap for inpainting).
- `diffgmm`: DiffGMM (`audiolab.restoration.diffgmm`), iterated noise subtraction with a Gaussian-mixture noise model.
- `score`: the score model (`audiolab.restoration.score`): conditional denoising, or diffusion posterior sampling for
  bandwidth extension, declipping and inpainting.

Recordings of any length up to ten minutes are processed in overlapping chunks, cross-faded, so
memory stays bounded; every chunk yields the same trajectory, which is stitched the same way.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch

from audiolab.core.audio import check_not_silent, check_waveform
from audiolab.restoration.attenuation import check_attenuation_limit, limit_attenuation
from audiolab.restoration.degradations import (
    TASK_TITLES,
    TASKS,
    Degradation,
    Gap,
    LowPass,
    gap_mask,
    operator_for,
)
from audiolab.restoration.highband import clean_band_ratio, level_invented_band
from audiolab.restoration.subsonic import remove_subsonic, removed_level_db, subsonic_note

RestoreMethod = Literal["diffgmm", "score", "baseline"]
RESTORE_METHODS: tuple[str, ...] = ("diffgmm", "score", "baseline")
METHOD_TITLES: dict[str, str] = {
    "diffgmm": "DiffGMM (Gaussian-mixture noise, iterated subtraction)",
    "score": "score-based diffusion (conditional / posterior sampling)",
    "baseline": "classical baseline",
}
CHUNK_SECONDS = 20.0
OVERLAP_SECONDS = 1.0
MAX_RESTORE_SECONDS = 600.0
MIN_RESTORE_SAMPLES = 512
MAX_DIFFGMM_ITERATIONS = 16
MAX_CONDITIONAL_STEPS = 200
CLIPPED_SHARE = 0.001  # more than 0.1% of samples at full scale: the recording is clipped
# Removing less than this (against the recording's energy) means the input was nearly clean: on held-out speakers
# DiffGMM removes (medians) 11 dB below the recording's level at 10 dB SNR, 21 at 20 dB and 31 at 30 dB, where
# about half the clips lose SI-SDR (README, "Nearly clean recordings").
NEARLY_CLEAN_REMOVED_DB = -24.0
INPUT_CAPTION = "noisy input, 20 Hz high-passed"  # the trajectory's first step: what the model saw

WIENER_DESCRIPTION = (
    "Wiener filter (classical): the noise spectrum is estimated from the quietest 10% of frames, "
    "the gain is the Wiener gain of the a-posteriori SNR, smoothed over time and floored at −20 dB."
)


def wiener_denoise(
    audio: np.ndarray, n_fft: int = 512, hop_length: int = 128, quiet_fraction: float = 0.1, floor_db: float = -20.0
) -> np.ndarray:
    """Spectral Wiener filtering with a noise power spectrum taken from the lowest-energy frames.

    Output length equals input length. The gain G = max(1 − N/|X|², floor) is the Wiener gain
    ξ/(1 + ξ) with the a-priori SNR ξ estimated by maximum likelihood (Ephraim & Malah 1984, eq. 7).
    """
    audio = check_waveform(audio, "noisy recording")
    check_not_silent(audio, "noisy recording")
    if audio.size < n_fft:
        raise ValueError(f"The recording is too short to denoise ({audio.size} samples); give at least {n_fft}.")
    wave = torch.from_numpy(audio)
    window = torch.hann_window(n_fft)
    spec = torch.stft(wave, n_fft, hop_length, window=window, return_complex=True)
    power = spec.abs() ** 2
    frame_energy = power.sum(0)
    quiet = frame_energy <= torch.quantile(frame_energy, quiet_fraction)
    noise_power = power[:, quiet].mean(1, keepdim=True)
    gain = torch.clamp(1 - noise_power / power.clamp_min(1e-12), min=10 ** (floor_db / 10))
    # three-frame moving average: fewer "musical noise" flickers than a frame-by-frame gain
    gain = torch.nn.functional.avg_pool1d(gain.unsqueeze(0), 3, stride=1, padding=1, count_include_pad=False)[0]
    cleaned = torch.istft(spec * gain.sqrt(), n_fft, hop_length, window=window, length=audio.size)
    return cleaned.numpy().astype(np.float32)


def spectral_gating(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """The `noisereduce` package's non-stationary spectral gating (Sainburg, Thielk & Gentner 2020), for comparison."""
    import noisereduce

    return np.asarray(noisereduce.reduce_noise(y=audio, sr=sample_rate), dtype=np.float32)


def interpolate_gap(audio: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Straight lines across the gaps: the inpainting baseline."""
    observed = np.flatnonzero(mask > 0)
    out = audio.copy()
    out[mask == 0] = np.interp(np.flatnonzero(mask == 0), observed, audio[observed])
    return out


@dataclass
class Restoration:
    """A restored recording, its trajectory (caption, waveform) and, for DiffGMM, the fitted noise mixtures."""

    audio: np.ndarray
    description: str
    trajectory: list[tuple[str, np.ndarray]] = field(default_factory=list)
    mixture: object | None = None  # the NoiseMixture of the first chunk's first iteration (DiffGMM)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _crossfade_chunks(length: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    if length <= chunk:
        return [(0, length)]
    spans, start = [], 0
    while start < length:
        end = min(start + chunk, length)
        if length - end < overlap and end < length:  # do not leave a sliver shorter than the overlap
            end = length
        spans.append((start, end))
        if end == length:
            break
        start = end - overlap
    return spans


def run_chunked(process: Callable[[int, int], list[np.ndarray]], length: int, sample_rate: int,
                chunk_seconds: float = CHUNK_SECONDS, overlap_seconds: float = OVERLAP_SECONDS) -> list[np.ndarray]:
    """Apply `process(start, end)` (which returns one waveform per trajectory step) chunk by chunk and stitch
    every step with linear cross-fades over the overlaps (the fades sum to one)."""
    chunk, overlap = int(chunk_seconds * sample_rate), int(overlap_seconds * sample_rate)
    spans = _crossfade_chunks(length, chunk, overlap)
    stitched: list[np.ndarray] | None = None
    for index, (start, end) in enumerate(spans):
        pieces = process(start, end)
        if stitched is None:
            stitched = [np.zeros(length, dtype=np.float32) for _ in pieces]
        if len(pieces) != len(stitched):
            raise RuntimeError("Every chunk must yield the same number of trajectory steps.")
        weight = np.ones(end - start, dtype=np.float32)
        if index > 0:
            fade = min(overlap, end - start)
            weight[:fade] = np.linspace(0.0, 1.0, fade, endpoint=False, dtype=np.float32)
        if index < len(spans) - 1:
            next_start = spans[index + 1][0]
            fade = end - next_start
            weight[next_start - start :] = np.linspace(1.0, 0.0, fade, endpoint=False, dtype=np.float32)[: end - next_start]
        for whole, piece in zip(stitched, pieces):
            whole[start:end] += weight * piece[: end - start]
    assert stitched is not None
    return stitched


class Restorer:
    """Loads the two restoration models on first use and runs any method on any task."""

    def __init__(self, diffgmm_preset: str = "diffgmm-speech-16k", score_preset: str = "score-16k") -> None:
        self.preset_names = {"diffgmm": diffgmm_preset, "score": score_preset}
        self._models: dict[str, torch.nn.Module] = {}
        self.sample_rate = 16000

    def model(self, method: str) -> torch.nn.Module:
        if method not in self._models:
            from audiolab.restoration.preset import load_denoiser, load_denoiser_preset

            preset = load_denoiser_preset(self.preset_names[method])
            self._models[method] = load_denoiser(preset)
        return self._models[method]

    def use(self, method: str, model: torch.nn.Module) -> None:
        """Restore with this model instead of the preset's (for comparing checkpoints)."""
        self._models[method] = model

    @staticmethod
    def check(method: str, task: str) -> None:
        if method not in RESTORE_METHODS:
            raise ValueError(f"Unknown restoration method {method!r}; choose one of {', '.join(RESTORE_METHODS)}.")
        if task not in TASKS:
            raise ValueError(f"Unknown task {task!r}; choose one of {', '.join(TASKS)}.")
        if method == "diffgmm" and task != "denoise":
            raise ValueError(f"DiffGMM removes noise only; for {task} choose the score method (posterior sampling).")

    @staticmethod
    def default_method(task: str) -> RestoreMethod:
        """The method a task gets when none is chosen: DiffGMM removes noise; posterior sampling does the rest."""
        return "diffgmm" if task == "denoise" else "score"

    def restore(self, audio: np.ndarray, method: RestoreMethod | None = None, task: str = "denoise",
                steps: int | None = None, strength: float | None = None, guidance: float | None = None,
                seed: int = 0, cutoff_hz: float = 4000.0, progress: bool = False,
                attenuation_limit_db: float | None = None) -> Restoration:
        """Restore a 16 kHz mono recording; output length equals input length.

        Denoising starts with a 20 Hz high-pass that takes out any DC offset and subsonic rumble (`subsonic.py`); the
        trajectory's first step is that filtered input. With an `attenuation_limit_db` what was removed from it is
        turned down by that many dB instead (`attenuation.py`); the limited output is the trajectory's last step."""
        started = time.perf_counter()
        method = method or self.default_method(task)
        self.check(method, task)
        attenuation_limit_db = check_attenuation_limit(attenuation_limit_db)
        if attenuation_limit_db is not None and task != "denoise":
            raise ValueError(f"The attenuation limit is for denoising; leave it unset for {TASK_TITLES[task]}.")
        audio = check_waveform(audio, "recording")
        check_not_silent(audio, "recording")
        rate = self.sample_rate
        if audio.size < MIN_RESTORE_SAMPLES:
            raise ValueError(f"The recording is too short to restore ({audio.size} samples); give at least "
                             f"{MIN_RESTORE_SAMPLES} ({MIN_RESTORE_SAMPLES / rate * 1000:.0f} ms).")
        if audio.size > MAX_RESTORE_SECONDS * rate:
            raise ValueError(f"The recording is {audio.size / rate:.0f} s long; trim it to {MAX_RESTORE_SECONDS:.0f} s or less.")
        notes: list[str] = []
        if task == "denoise" and np.mean(np.abs(audio) >= 0.999 * np.abs(audio).max()) > CLIPPED_SHARE:
            notes.append("The recording looks clipped (many samples at its peak); the declip task restores the peaks.")
        # Denoising only: declipping and inpainting read their evidence (flat tops, runs of exact zeros) from the raw
        # samples, and bandwidth extension keeps the observed band exactly as it came.
        if task == "denoise":
            filtered = remove_subsonic(audio, rate)
            note = subsonic_note(removed_level_db(audio, filtered))
            if note is not None:
                notes.append(note)
            audio = filtered
            check_not_silent(audio, "recording without its DC offset and rumble below 20 Hz")

        if method == "baseline":
            out, description = self._baseline(audio, task, cutoff_hz)
            restoration = Restoration(out, description, [("output", out)])
        elif method == "diffgmm":
            restoration = self._diffgmm(audio, steps, progress)
        elif task == "denoise":
            restoration = self._conditional(audio, steps, strength, seed, progress)
        else:
            restoration = self._posterior(audio, task, steps, guidance, seed, cutoff_hz, progress)
        if task == "denoise":
            notes += self._nearly_clean_note(audio, restoration.audio, limited=attenuation_limit_db is not None)
        if attenuation_limit_db is not None:
            self._limit_attenuation(audio, restoration, attenuation_limit_db)
        restoration.notes = notes + restoration.notes
        restoration.seconds = time.perf_counter() - started
        return restoration

    @staticmethod
    def _nearly_clean_note(audio: np.ndarray, denoised: np.ndarray, limited: bool = False) -> list[str]:
        """A word of caution when the denoiser removed little: on a nearly clean recording it can take more from
        the speech than the noise it removes (README, "Nearly clean recordings")."""
        removed_db = removed_level_db(audio, denoised)
        if removed_db >= NEARLY_CLEAN_REMOVED_DB:
            return []
        amount = "nothing" if removed_db == -math.inf else f"what lies {-removed_db:.0f} dB below the recording"
        advice = "" if limited else ", or set an attenuation limit"
        return [f"The denoiser removed {amount}: the recording may have been nearly clean, where denoising can take "
                f"more from the speech than it removes of noise. Compare with the input{advice}."]

    @staticmethod
    def _limit_attenuation(audio: np.ndarray, restoration: Restoration, limit_db: float) -> None:
        """Turn what the method removed down by `limit_db` instead, as the restoration's new last step."""
        restoration.audio = limit_attenuation(audio, restoration.audio, limit_db)
        caption, before = restoration.trajectory[-1]
        if caption == "output":  # a step called the output (the baseline's, the score model's last) no longer is
            restoration.trajectory[-1] = ("before the attenuation limit", before)
        restoration.trajectory.append((f"attenuation limited to {limit_db:g} dB", restoration.audio))
        restoration.description += (f" Attenuation limited to {limit_db:g} dB: what it removed is turned down by "
                                    f"{limit_db:g} dB instead, (1 − g)·x̂ + g·x with g = 10^(−{limit_db:g}/20).")

    # ---- the methods -------------------------------------------------------------------------
    def _baseline(self, audio: np.ndarray, task: str, cutoff_hz: float) -> tuple[np.ndarray, str]:
        if task == "denoise":
            return wiener_denoise(audio), WIENER_DESCRIPTION
        operator_for(task, audio, self.sample_rate, cutoff_hz)  # the same checks as the diffusion methods
        if task == "inpaint":
            return interpolate_gap(audio, gap_mask(audio, self.sample_rate)), "Baseline: straight lines across the gaps."
        return audio.copy(), f"Baseline: the observation itself ({TASK_TITLES[task]} needs a prior)."

    def _diffgmm(self, audio: np.ndarray, iterations: int | None, progress: bool) -> Restoration:
        model = self.model("diffgmm")
        iterations = model.settings.iterations if iterations is None else iterations
        if isinstance(iterations, bool) or not 1 <= int(iterations) <= MAX_DIFFGMM_ITERATIONS:
            raise ValueError(f"DiffGMM takes 1 to {MAX_DIFFGMM_ITERATIONS} iterations; got {iterations}.")
        mixtures: list[object] = []

        def process(start: int, end: int) -> list[np.ndarray]:
            with torch.no_grad():
                chunk = torch.from_numpy(audio[start:end])[None]
                outputs = []
                for estimate, mixture in model.iterate(chunk, int(iterations)):
                    if not mixtures:
                        mixtures.append(mixture)
                    outputs.append(estimate[0].numpy())
                return outputs

        waves = run_chunked(process, audio.size, self.sample_rate)
        trajectory = [(INPUT_CAPTION, audio)] + [(f"iteration {i + 1}/{iterations}", w) for i, w in enumerate(waves)]
        k, shifts = model.settings.components, model.settings.shifts
        averaged = f", each averaged over {shifts} frame offsets" if shifts > 1 else ""
        times = f"{iterations} iteration{'s' if iterations != 1 else ''}"
        return Restoration(waves[-1], f"DiffGMM, K = {k} mixture components, {times} of x ← x − E[n | x]{averaged}.",
                           trajectory, mixture=mixtures[0] if mixtures else None)

    def _conditional(self, audio: np.ndarray, steps: int | None, strength: float | None, seed: int,
                     progress: bool) -> Restoration:
        model = self.model("score")
        steps = model.settings.steps if steps is None else steps
        strength = model.settings.strength if strength is None else strength
        if isinstance(steps, bool) or not 1 <= int(steps) <= MAX_CONDITIONAL_STEPS:
            raise ValueError(f"Conditional denoising takes 1 to {MAX_CONDITIONAL_STEPS} steps; got {steps}.")
        if not (math.isfinite(strength) and 0.0 < strength <= 1.0):
            raise ValueError(f"The strength must be above 0 and at most 1; got {strength}.")
        captions: list[str] = []

        def process(start: int, end: int) -> list[np.ndarray]:
            with torch.no_grad():
                chunk = torch.from_numpy(audio[start:end])[None]
                pairs = list(model.denoise_iter(chunk, int(steps), float(strength), seed=seed, progress=progress))
            if not captions:
                captions.extend(f"x̂₀ at {step.label}" for step, _ in pairs[:-1])
                captions.append("output")
            return [wave[0].numpy() for _, wave in pairs]

        waves = run_chunked(process, audio.size, self.sample_rate)
        trajectory = [(INPUT_CAPTION, audio)] + list(zip(captions, waves))
        return Restoration(waves[-1], f"Score-based conditional denoising: {steps}-step DDIM grid entered at strength "
                           f"{strength:g} from the noisy input, seed {seed}.", trajectory)

    def _posterior(self, audio: np.ndarray, task: str, steps: int | None, guidance: float | None, seed: int,
                   cutoff_hz: float, progress: bool) -> Restoration:
        model = self.model("score")
        settings = model.settings
        whole = operator_for(task, audio, self.sample_rate, cutoff_hz)  # checks the task fits the recording
        # bandwidth extension levels the band it invents (highband.py), against clean speech's band ratio
        clean_ratio = (clean_band_ratio(model.band_scale.detach() ** 2, whole.cutoff_hz, self.sample_rate)
                       if isinstance(whole, LowPass) else 0.0)
        captions: list[str] = []

        def chunk_operator(start: int, end: int) -> Degradation:
            if isinstance(whole, Gap):
                return Gap(whole.mask[start:end])
            return whole

        def process(start: int, end: int) -> list[np.ndarray]:
            chunk = torch.from_numpy(audio[start:end])[None]
            operator = chunk_operator(start, end)
            if isinstance(operator, Gap) and operator.mask.all():
                pairs = [(None, chunk)]  # nothing missing in this chunk
            else:
                pairs = list(model.posterior_iter(chunk, operator, steps, guidance, seed=seed, progress=progress))
            waves = [wave[0].detach().numpy() for _, wave in pairs]
            if isinstance(operator, LowPass):
                waves.append(level_invented_band(waves[-1], audio[start:end], operator.cutoff_hz, self.sample_rate,
                                                 clean_ratio, settings.highband_ceiling, settings.highband_gain_db))
            if not captions and pairs[0][0] is not None:
                captions.extend(f"x̂₀ at {step.label}" for step, _ in pairs[:-2])
                captions.append("last step")
                captions.extend(["consistent with the observation", "output (the invented band levelled)"]
                                if isinstance(operator, LowPass) else ["output (consistent with the observation)"])
            return waves

        waves = run_chunked(process, audio.size, self.sample_rate)
        if len(waves) == 1:
            raise ValueError("Found nothing to restore in this recording.")
        trajectory = [("observed input", audio)] + list(zip(captions, waves))
        zeta = settings.guidance if guidance is None else guidance
        grid = steps or settings.posterior_steps
        levelled = (f"; the invented band above {cutoff_hz:g} Hz capped at {settings.highband_ceiling:g}× clean "
                    f"speech's level relative to the octave below and mixed in at {settings.highband_gain_db:g} dB"
                    if task == "bandwidth" else "")
        return Restoration(waves[-1], f"Posterior sampling with a prior of clean speech for {TASK_TITLES[task]}: "
                           f"from the observation noised to strength {settings.posterior_strength:g} of a {grid}-step "
                           f"DDIM grid, every step's estimate projected onto the signals that explain the observation"
                           + (f", likelihood step ζ = {zeta:g}" if zeta > 0 else "") + levelled + f"; seed {seed}.",
                           trajectory)
