"""The restoration task: denoise, bandwidth extension, declipping and inpainting of a recording, as a `Result`.

Tab → `AudioLabPipeline.denoise` → `RestorationPipeline.denoise` → `Restorer.restore` (`restorer.py`) →
DiffGMM (`diffgmm.py`) or the score model (`score.py`) with its sampler loop.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from audiolab.core.audio import source_rate
from audiolab.core.diffusion import Step
from audiolab.core.result import AudioInput, Result, check_seed, load_input
from audiolab.restoration.fullband import CROSSOVER_HZ, GAIN_BAND_HZ, full_band
from audiolab.restoration.restorer import RestoreMethod, Restorer

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class RestorationPipeline:
    """Loads the restoration models on first use; bare input arrays are taken to be at `input_rate`."""

    def __init__(self, input_rate: int) -> None:
        self.input_rate = input_rate
        self._restorer: Restorer | None = None

    @property
    def restorer(self) -> Restorer:
        if self._restorer is None:
            self._restorer = Restorer()
        return self._restorer

    def _load(self, audio: AudioInput, what: str, notes: list[str] | None = None) -> np.ndarray:
        return load_input(audio, self.restorer.sample_rate, what, array_rate=self.input_rate, notes=notes)

    def denoise(self, audio: AudioInput, method: RestoreMethod | None = None, task: str = "denoise",
                steps: int | None = None, strength: float | None = None, guidance: float | None = None,
                seed: int = 0, cutoff_hz: float = 4000.0, progress: bool = False,
                attenuation_limit_db: float | None = None) -> Result:
        """Restore a recording (denoise, bandwidth, declip or inpaint); output length equals input length.

        The Result's reverse trajectory holds the estimate after each iteration or step as waveforms
        (captions in `Step.caption`); for DiffGMM, `extras["mixture"]` is the fitted noise mixture. The notes
        start with what was done to the recording to fit the restorer (mixed to mono, resampled).
        Denoising a recording above the restorer's rate also returns `extras["full_band"]`, (rate, audio): the
        result at the recording's own rate, its band above the models' reach kept and gained (`fullband.py`).
        `attenuation_limit_db` (denoising only) turns what was removed down by that many dB instead.
        """
        seed = check_seed(seed)
        notes: list[str] = []
        wave = self._load(audio, "recording", notes)
        rate = source_rate(audio, self.input_rate)
        full_band_out = task == "denoise" and rate > self.restorer.sample_rate
        resampled_evidence = task in ("declip", "inpaint") and rate != self.restorer.sample_rate
        # what declipping and inpainting must know (which samples were clipped, where the gaps are) is read from
        # the recording as it came, because resampling blurs both; full-band output needs its upper band
        original = load_input(audio, rate, "recording", array_rate=self.input_rate) \
            if full_band_out or resampled_evidence else wave
        if resampled_evidence:
            wave = (self._reclip(original, rate, wave, notes) if task == "declip"
                    else self._regap(original, rate, wave))
        restoration = self.restorer.restore(wave, method, task, steps, strength, guidance, seed, cutoff_hz, progress,
                                            attenuation_limit_db=attenuation_limit_db)
        extras: dict[str, object] = {"task": task, "method_name": method or Restorer.default_method(task)}
        seconds = restoration.seconds
        if full_band_out:
            started = time.perf_counter()
            extras["full_band"] = (rate, full_band(original, rate, restoration.audio, self.restorer.sample_rate))
            seconds += time.perf_counter() - started
            notes.append(f"Output at the recording's {rate / 1000:g} kHz: above {CROSSOVER_HZ / 1000:g} kHz it is "
                         f"the recording's own band, turned down frame by frame as much as the restoration turned down "
                         f"{GAIN_BAND_HZ[0] / 1000:g}–{GAIN_BAND_HZ[1] / 1000:g} kHz.")
        total = len(restoration.trajectory)
        waves = [torch.from_numpy(w)[None] for _, w in restoration.trajectory]  # an estimate is both x_t and x̂_0
        reverse = tuple(
            Step(i, total - 1, float(total - 1 - i), math.inf if i == total - 1 else math.nan, wave, wave, caption=caption)
            for i, ((caption, _), wave) in enumerate(zip(restoration.trajectory, waves))
        )
        if restoration.mixture is not None:
            extras["mixture"] = restoration.mixture
        return Result(restoration.audio, self.restorer.sample_rate, restoration.description, reverse=reverse,
                      domain="waveform", timings={"total": seconds}, notes=(*notes, *restoration.notes),
                      input_audio=wave, extras=extras)

    def _on_restorer_grid(self, flags: np.ndarray, rate: int, size: int, reduce: np.ufunc) -> np.ndarray:
        """Per-sample flags at `rate` carried to the restorer's `size` samples: `reduce` (np.maximum: any;
        np.minimum: all) over the recording's samples that fall within each restorer sample's span."""
        starts = np.minimum((np.arange(size) * rate) // self.restorer.sample_rate, flags.size - 1)
        return reduce.reduceat(flags.astype(np.int8), starts) > 0

    def _reclip(self, original: np.ndarray, rate: int, wave: np.ndarray, notes: list[str]) -> np.ndarray:
        """The resampled recording with the original's clipped samples flat again at its clipping level.

        Resampling rounds a clipped recording's flat tops into ripples above and below the level, so
        declipping would no longer see which samples were clipped: a sample is clipped where any of the
        recording's samples in its span were, and every other sample stays below the level."""
        from audiolab.restoration.degradations import Clipping, clipping_threshold

        threshold = clipping_threshold(original)
        clipped = Clipping(threshold).clipped(torch.from_numpy(original)).numpy()
        flags = self._on_restorer_grid(clipped, rate, wave.size, np.maximum)
        notes.append(f"Declipping: the clipped samples were found at the recording's {rate / 1000:g} kHz (level "
                     f"{threshold:.3f}) and set flat at that level after resampling.")
        kept = np.clip(wave, -0.998 * threshold, 0.998 * threshold)
        return np.where(flags, np.sign(wave) * threshold, kept).astype(np.float32)

    def _regap(self, original: np.ndarray, rate: int, wave: np.ndarray) -> np.ndarray:
        """The resampled recording with the original's gaps put back as exact zeros.

        Resampling spreads a gap's edges into a few milliseconds of ripple, which inpainting would keep
        as observed; a restorer sample is zeroed where all of the recording's samples in its span are gap."""
        from audiolab.restoration.degradations import gap_mask

        gap = gap_mask(original, rate) == 0
        return np.where(self._on_restorer_grid(gap, rate, wave.size, np.minimum), 0.0, wave).astype(np.float32)

    def reference(self, clean: AudioInput, result: Result) -> np.ndarray:
        """A clean reference at the restoration's rate, cut or zero-padded to the input's length."""
        reference = load_input(clean, result.sample_rate, "clean reference", array_rate=self.input_rate)
        length = result.audio.size
        if abs(reference.size - length) > 0.05 * length:
            raise ValueError(f"The clean reference is {reference.size / result.sample_rate:.2f} s long but the input is "
                             f"{length / result.sample_rate:.2f} s; give the recording's own clean version.")
        return np.pad(reference[:length], (0, max(length - reference.size, 0)))

    def mixture_figure(self, result: Result, clean: np.ndarray | None = None) -> "Figure":
        """DiffGMM's first-iteration noise mixture over a histogram of the true residual (or of the removed noise)."""
        from audiolab.core import plots
        from audiolab.restoration.diffgmm import NoiseMixture, residual_coefficients
        from audiolab.restoration.restorer import CHUNK_SECONDS

        mixture = result.extras.get("mixture")
        if not isinstance(mixture, NoiseMixture) or result.input_audio is None:
            raise ValueError("Only a DiffGMM restoration carries a fitted noise mixture.")
        model = self.restorer.model("diffgmm")
        # the input the model saw (the trajectory's first step: after the 20 Hz high-pass, `subsonic.py`)
        noisy = result.reverse[0].x0_hat.reshape(-1).numpy()
        span = min(noisy.size, int(CHUNK_SECONDS * result.sample_rate))  # the chunk the mixture was fitted on
        # the first iteration's target: the true noise if the clean recording is known, else what it removed
        other = clean if clean is not None else result.reverse[1].x0_hat.reshape(-1).numpy()
        residual = residual_coefficients(noisy, other, model.settings.hop, span)
        return plots.mixture_figure(residual, mixture.pooled_density, model.settings.components, clean is not None)

    def make_test_input(self, clean: AudioInput, task: str, seed: int = 0) -> Path:
        """A degraded copy of a clean recording for `task` (noise at 5 dB for denoise), written to a temp file."""
        from audiolab.core.audio import save_audio
        from audiolab.examples import example_folder, mix_at_snr
        from audiolab.restoration.degradations import degrade
        from audiolab.restoration.noisy_speech import coloured_noise

        rate = self.restorer.sample_rate
        wave = self._load(clean, "clean reference")
        if task == "denoise":
            degraded = mix_at_snr(wave, coloured_noise(wave.size, np.random.default_rng(seed), -3.0), 5.0)
        else:
            degraded = degrade(task, wave, rate)
        return save_audio(example_folder() / f"test-input-{task}-{seed}-{abs(hash(wave.tobytes())) % 10**8}.wav",
                          degraded, rate)
