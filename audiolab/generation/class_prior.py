"""A class prior for where the reverse process starts: the prompt's mean spectrum, noised to strength·T.

From pure noise, the coarsest structure of a sample (its spectral balance: how much energy sits in the
lowest mel bands against the rest) is settled at the highest noise levels, where the network follows
the starting noise more than its condition. At seeds that make rain a low rumble, sea waves and
keyboard typing come out as rumbles too. Starting instead from the mean log-mel spectrum of the
prompt's classes, noised to t = strength·T (the partial start of SDEdit, Meng et al. 2022), gives
those coarse directions a class-specific value while the noise still sets every detail and the timing;
PriorGrad (Lee et al. 2022) builds the same kind of data-dependent prior into training.

The spectra are data statistics, written into the checkpoint by the training command: for each class,
the mean over its training clips (each levelled to the same loudness) of the clip's mean natural-log
mel over its louder half of frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from audiolab.core.audio import MelTransform, normalize_loudness

LEVEL_DBFS = -20.0  # every clip at one loudness, so that loud recordings do not outweigh quiet ones


def louder_half_spectrum(log_mel: torch.Tensor) -> torch.Tensor:
    """A clip's mean log-mel (mels,) over the frames at or above its median frame energy (not its padding)."""
    energy = log_mel.mean(0)
    return log_mel[:, energy >= energy.median()].mean(1)


def class_spectra(clips: Sequence[np.ndarray], labels: Sequence[int], classes: int,
                  transform: MelTransform) -> torch.Tensor:
    """(classes, mels): each class's mean louder-half spectrum over its clips, levelled to LEVEL_DBFS.

    A class without clips gets the mean over all clips, so every class has a prior."""
    if len(clips) != len(labels) or not clips:
        raise ValueError("Give one label for each of at least one clip.")
    spectra = torch.stack([louder_half_spectrum(transform.log_mel(normalize_loudness(np.asarray(clip, np.float32),
                                                                                       LEVEL_DBFS)))
                           for clip in clips])
    index = torch.as_tensor(list(labels))
    overall = spectra.mean(0)
    return torch.stack([spectra[index == c].mean(0) if bool((index == c).any()) else overall for c in range(classes)])


def prior_log_mel(spectra: torch.Tensor, weights: torch.Tensor, frames: int) -> torch.Tensor:
    """The weighted mean of the class spectra, held over `frames`: (mels, frames). Weights are normalised."""
    if weights.ndim != 1 or weights.shape[0] != spectra.shape[0] or not bool(torch.isfinite(weights).all()):
        raise ValueError(f"Give one finite weight for each of the {spectra.shape[0]} classes.")
    total = float(weights.sum())
    if total <= 0:
        raise ValueError("The class weights must sum to more than zero.")
    spectrum = (weights.float() / total) @ spectra.float()
    return spectrum[:, None].expand(-1, frames).clone()
