"""Full-band output for recordings above the restorer's rate: the restored band below, the recording's own above.

The restoration models run at 16 kHz, so on their own they return nothing above 8 kHz: a 44.1 or
48 kHz recording comes back dull, its sibilants and air cut off. The band above the models' reach
holds little speech energy but much of what makes it sound present, and its noise is usually the
same noise as in the octave below. So the output keeps the restored signal up to a crossover just
under 8 kHz and, above it, the recording's own band turned down frame by frame as much as the
restoration turned down the band just below the crossover. The gain is measured on the output, so
the split works the same for every denoising method.
"""

from __future__ import annotations

import numpy as np
import torch

from audiolab.core.audio import resample

CROSSOVER_HZ = 7500.0  # below: the restored signal; above: the recording's own band, gained (resampling cuts at 7.6 kHz)
FADE_HZ = 1000.0  # the two bands cross-fade over this width below the crossover, so no spectral edge is heard
GAIN_BAND_HZ = (4000.0, 7000.0)  # the restoration's gain is measured here, below the cross-fade, where resampling is flat
FRAME_SECONDS = 0.02  # about 20 ms frames, a quarter-frame hop
SEGMENT_SAMPLES = 2**20  # long recordings are combined in stretches of this many samples (22 s at 48 kHz)


def frame_size(sample_rate: int) -> int:
    """A power of two near FRAME_SECONDS at `sample_rate` (1024 at 48 kHz)."""
    return int(2 ** round(np.log2(FRAME_SECONDS * sample_rate)))


def band_gain(noisy: torch.Tensor, restored: torch.Tensor, frequencies: torch.Tensor) -> torch.Tensor:
    """Per frame: the restored over the noisy energy in GAIN_BAND_HZ, as an amplitude gain in [0, 1]."""
    band = (frequencies >= GAIN_BAND_HZ[0]) & (frequencies <= GAIN_BAND_HZ[1])
    noisy_energy = noisy[band].abs().pow(2).sum(0)
    restored_energy = restored[band].abs().pow(2).sum(0)
    # a frame with no energy in the band (digital silence) keeps its (silent) upper band as it is
    ratio = torch.where(noisy_energy > 1e-12, restored_energy / noisy_energy.clamp_min(1e-12), torch.ones_like(noisy_energy))
    return ratio.clamp(0.0, 1.0).sqrt()


def full_band(original: np.ndarray, original_rate: int, restored: np.ndarray, model_rate: int) -> np.ndarray:
    """The restoration at the recording's own rate, with the band above CROSSOVER_HZ the recording's, gained.

    `original` is the recording (mono) at `original_rate`; `restored` the restoration at `model_rate`.
    Below the cross-fade the result is the restoration resampled; the upper band follows the restoration's
    frame-wise gain in GAIN_BAND_HZ (an unchanged recording keeps its upper band, a frame turned down by
    20 dB there is turned down by 20 dB above too). Noise that lives only above the crossover (a hiss or
    whine the band below lacks) is turned down only as much as the band below was."""
    if original_rate <= model_rate:
        raise ValueError(f"Full-band output is for recordings above {model_rate} Hz; this one is at {original_rate} Hz.")
    upsampled = resample(restored, model_rate, original_rate)
    upsampled = np.pad(upsampled[: original.size], (0, max(original.size - upsampled.size, 0)))
    n_fft = frame_size(original_rate)
    # every output sample depends only on the frames over it: long recordings are combined a segment at a
    # time, each read with a margin of two frames and on the whole recording's frame grid (it starts on a
    # hop), so that its kept middle is what the whole would give, to bound the memory
    margin, hop, output = 2 * n_fft, n_fft // 4, np.empty(original.size, dtype=np.float32)
    for start in range(0, original.size, SEGMENT_SAMPLES):
        end = min(start + SEGMENT_SAMPLES, original.size)
        low, high = max(start - margin, 0) // hop * hop, min(end + margin, original.size)
        combined = _combine(original[low:high], upsampled[low:high], original_rate, n_fft)
        output[start:end] = combined[start - low: end - low]
    return output


def _combine(original: np.ndarray, upsampled: np.ndarray, rate: int, n_fft: int) -> np.ndarray:
    """`full_band` on one stretch: the restoration below the cross-fade, the gained recording above."""
    window = torch.hann_window(n_fft)

    def spectrum(wave: np.ndarray) -> torch.Tensor:
        return torch.stft(torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32)), n_fft, n_fft // 4,
                          window=window, return_complex=True)

    recording, restoration = spectrum(original), spectrum(upsampled)
    frequencies = torch.fft.rfftfreq(n_fft, 1 / rate)
    gain = band_gain(recording, restoration, frequencies)
    # raised-cosine cross-fade: 0 below CROSSOVER_HZ − FADE_HZ, 1 from CROSSOVER_HZ up
    position = ((frequencies - (CROSSOVER_HZ - FADE_HZ)) / FADE_HZ).clamp(0.0, 1.0)
    upper = (0.5 - 0.5 * torch.cos(torch.pi * position)).unsqueeze(-1)
    combined = (1 - upper) * restoration + upper * recording * gain
    return torch.istft(combined, n_fft, n_fft // 4, window=window, length=original.size).numpy().astype(np.float32)
