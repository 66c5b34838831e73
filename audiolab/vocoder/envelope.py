"""The spectral envelope a mel-spectrogram implies, on any grid of linear frequencies."""

from __future__ import annotations

import torch


def band_to_bin_map(filterbank: torch.Tensor, sample_rate: int, bin_frequencies: torch.Tensor) -> torch.Tensor:
    """(bins, mels) linear interpolation of per-band values onto `bin_frequencies` (Hz).

    `filterbank` is (STFT bins, mels) over 0 … sample_rate / 2; each band sits at its weighted
    centre frequency, and a bin takes the two nearest bands' values in proportion to its distance.
    """
    stft_freqs = torch.linspace(0, sample_rate / 2, filterbank.shape[0])
    weight_sum = filterbank.sum(0).clamp_min(1e-8)
    centres = (filterbank * stft_freqs[:, None]).sum(0) / weight_sum
    position = torch.searchsorted(centres.contiguous(), bin_frequencies.contiguous()).clamp(1, len(centres) - 1)
    left, right = centres[position - 1], centres[position]
    frac = ((bin_frequencies - left) / (right - left)).clamp(0, 1)
    mapping = torch.zeros(len(bin_frequencies), len(centres))
    rows = torch.arange(len(bin_frequencies))
    mapping[rows, position - 1] = 1 - frac
    mapping[rows, position] = frac
    return mapping
