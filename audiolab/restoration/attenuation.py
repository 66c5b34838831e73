"""An attenuation limit for denoising: keep some of what was removed, turned down by a set number of decibels.

As DeepFilterNet's `--atten-lim` (Schröter et al. 2023, "DeepFilterNet: perceptually motivated real-time
speech enhancement"): the output is y = x̂ + g·(x − x̂) with g = 10^(−L/20), so the part the denoiser took
away, x − x̂, is turned down by L dB instead of removed. A listener keeps a little natural background, and
wherever the denoiser bit into the speech the input fills some of it back in; the cost is residual noise.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np

MAX_ATTENUATION_LIMIT_DB = 100.0  # beyond this the input that comes back is far below 16-bit quantisation noise


def check_attenuation_limit(limit_db: float | None) -> float | None:
    """The limit in dB, or None for no limit; a ValueError that says what to give for anything else."""
    if limit_db is None:
        return None
    if isinstance(limit_db, (bool, np.bool_)) or not isinstance(limit_db, Real):
        raise ValueError(f"The attenuation limit is a number of decibels; got {limit_db!r}.")
    limit_db = float(limit_db)
    if not math.isfinite(limit_db) or not 0.0 < limit_db <= MAX_ATTENUATION_LIMIT_DB:
        raise ValueError(f"The attenuation limit must be above 0 and at most {MAX_ATTENUATION_LIMIT_DB:g} dB "
                         f"(leave it unset for no limit); got {limit_db:g}.")
    return limit_db


def limit_attenuation(noisy: np.ndarray, denoised: np.ndarray, limit_db: float) -> np.ndarray:
    """x̂ + 10^(−L/20)·(x − x̂): the removed part turned down by `limit_db` decibels instead of taken out."""
    limit_db = check_attenuation_limit(limit_db)
    if limit_db is None:
        raise ValueError("Give an attenuation limit in dB.")
    if noisy.shape != denoised.shape:
        raise ValueError(f"The input and the denoised recording differ in shape: {noisy.shape} and {denoised.shape}.")
    kept = 10.0 ** (-limit_db / 20.0)
    return (denoised + kept * (noisy - denoised)).astype(np.float32)
