"""Known degradation operators A for posterior sampling: low-pass (bandwidth), clipping, a gap.

Each operator maps a clean waveform to what was observed, differentiably (so ∇ log p(y | x_t)
can flow through it), and can project an estimate back onto the signals consistent with the
observation (hard data consistency, applied once at the end of sampling).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import torch

Task = Literal["denoise", "bandwidth", "declip", "inpaint"]
TASKS: tuple[str, ...] = ("denoise", "bandwidth", "declip", "inpaint")
TASK_TITLES: dict[str, str] = {
    "denoise": "remove background noise",
    "bandwidth": "bandwidth extension (restore the highs above a low-pass cut-off)",
    "declip": "declipping (restore peaks cut off at the clipping level)",
    "inpaint": "inpainting (fill stretches of digital silence)",
}
MIN_GAP_SECONDS = 0.01  # runs of exact zeros at least this long are taken for the gap to fill


class Degradation(Protocol):
    def apply(self, wave: torch.Tensor) -> torch.Tensor: ...

    def project(self, estimate: torch.Tensor, measurement: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class LowPass:
    """An ideal low-pass at `cutoff_hz` (the observation lost everything above it)."""

    cutoff_hz: float
    sample_rate: int

    def _keep(self, samples: int, device: torch.device) -> torch.Tensor:
        frequencies = torch.fft.rfftfreq(samples, 1 / self.sample_rate).to(device)
        return (frequencies <= self.cutoff_hz).to(torch.float32)

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        keep = self._keep(wave.shape[-1], wave.device)
        return torch.fft.irfft(torch.fft.rfft(wave) * keep, wave.shape[-1])

    def project(self, estimate: torch.Tensor, measurement: torch.Tensor) -> torch.Tensor:
        keep = self._keep(estimate.shape[-1], estimate.device)
        spectrum = torch.fft.rfft(estimate) * (1 - keep) + torch.fft.rfft(measurement) * keep
        return torch.fft.irfft(spectrum, estimate.shape[-1])


@dataclass(frozen=True)
class Clipping:
    """Hard clipping at ±threshold."""

    threshold: float

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        return wave.clamp(-self.threshold, self.threshold)

    def clipped(self, measurement: torch.Tensor) -> torch.Tensor:
        return measurement.abs() >= self.threshold * 0.999

    def project(self, estimate: torch.Tensor, measurement: torch.Tensor) -> torch.Tensor:
        # reliable samples are kept; clipped ones must lie beyond the threshold, on the observed side
        beyond = torch.sign(measurement) * torch.maximum(estimate.abs(), torch.full_like(estimate, self.threshold))
        return torch.where(self.clipped(measurement), beyond, measurement)


@dataclass(frozen=True)
class Gap:
    """Missing samples: `mask` is 1 where the recording was observed, 0 in the gap."""

    mask: torch.Tensor

    def apply(self, wave: torch.Tensor) -> torch.Tensor:
        return wave * self.mask

    def project(self, estimate: torch.Tensor, measurement: torch.Tensor) -> torch.Tensor:
        return self.mask * measurement + (1 - self.mask) * estimate


def clipping_threshold(audio: np.ndarray) -> float:
    """The level a clipped recording was cut at: its peak, where flat tops (runs of equal samples at ±peak) show it."""
    magnitude = np.abs(audio)
    peak = float(magnitude.max())
    at_peak = magnitude >= peak * (1 - 1e-4)
    flat_pairs = int(np.sum(at_peak[1:] & at_peak[:-1]))  # a smooth waveform touches its peak in single samples
    if flat_pairs < 3:
        raise ValueError("This recording does not look clipped (no flat tops at its peak level); "
                         "choose another task, or clip it first.")
    return peak


def gap_mask(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """1 where observed, 0 inside runs of exact zeros at least MIN_GAP_SECONDS long."""
    zero = audio == 0.0
    mask = np.ones_like(audio, dtype=np.float32)
    minimum = max(int(MIN_GAP_SECONDS * sample_rate), 1)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], zero.astype(np.int8), [0]])))
    for start, end in zip(edges[::2], edges[1::2]):
        if end - start >= minimum:
            mask[start:end] = 0.0
    if mask.all():
        raise ValueError(f"Found no gap to fill: inpainting fills stretches of exact zeros at least "
                         f"{MIN_GAP_SECONDS * 1000:.0f} ms long. Silence the part to restore, or choose another task.")
    return mask


def operator_for(task: str, audio: np.ndarray, sample_rate: int, cutoff_hz: float = 4000.0) -> Degradation:
    """The operator that explains an observed recording for `task` (bandwidth, declip or inpaint)."""
    if task == "bandwidth":
        if not 500.0 <= cutoff_hz < sample_rate / 2:
            raise ValueError(f"The low-pass cut-off must be between 500 Hz and {sample_rate // 2} Hz; got {cutoff_hz:g}.")
        return LowPass(float(cutoff_hz), sample_rate)
    if task == "declip":
        return Clipping(clipping_threshold(audio))
    if task == "inpaint":
        return Gap(torch.from_numpy(gap_mask(audio, sample_rate)))
    raise ValueError(f"No measurement operator for task {task!r}; choose bandwidth, declip or inpaint.")


def degrade(task: str, clean: np.ndarray, sample_rate: int, cutoff_hz: float = 4000.0, clip_fraction: float = 0.3,
            gap_seconds: float = 0.1, gap_at: float = 0.5) -> np.ndarray:
    """Make a test input for `task` from a clean recording (low-pass, clip at a fraction of the peak, or cut a gap)."""
    wave = torch.from_numpy(np.asarray(clean, dtype=np.float32))
    if task == "bandwidth":
        return LowPass(cutoff_hz, sample_rate).apply(wave).numpy()
    if task == "declip":
        return Clipping(float(np.max(np.abs(clean))) * clip_fraction).apply(wave).numpy()
    if task == "inpaint":
        out = np.array(clean, dtype=np.float32)
        start = int(gap_at * out.size)
        out[start : start + int(gap_seconds * sample_rate)] = 0.0
        return out
    raise ValueError(f"Unknown task {task!r}; choose one of bandwidth, declip, inpaint.")
