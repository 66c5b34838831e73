"""Bandwidth extension's levelling of the invented band: the observed band untouched, the ceiling, the gain."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from audiolab.generation import synth
from audiolab.restoration.degradations import degrade
from audiolab.restoration.highband import clean_band_ratio, level_invented_band
from audiolab.restoration.restorer import Restorer
from audiolab.restoration.score import ScoreRestorer, ScoreSettings

RATE = 16_000
CUTOFF = 4000.0


def split(wave: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The spectrum's bins at or below the cut-off, and above it."""
    spectrum = np.fft.rfft(wave)
    above = np.fft.rfftfreq(wave.size, 1 / RATE) > CUTOFF
    return spectrum[~above], spectrum[above]


def test_a_flat_spectrum_has_twice_as_much_energy_above_a_half_band_cutoff_as_in_the_octave_below() -> None:
    assert clean_band_ratio(torch.ones(256), CUTOFF, RATE) == pytest.approx(2.0)
    assert clean_band_ratio(torch.ones(256), 2000.0, RATE) == pytest.approx(6.0)
    with pytest.raises(ValueError, match="No clean-speech energy"):
        clean_band_ratio(torch.cat([torch.ones(128), torch.zeros(128)]), CUTOFF, RATE)


def test_levelling_keeps_the_observed_band_and_scales_the_invented_one_by_its_gain() -> None:
    rng = np.random.default_rng(0)
    estimate = rng.normal(0, 0.1, 2 * RATE).astype(np.float32)
    observed = degrade("bandwidth", estimate, RATE, CUTOFF)
    # a ceiling too high to bind: only the gain acts
    out = level_invented_band(estimate, observed, CUTOFF, RATE, clean_ratio=1.0, ceiling=1e6, gain_db=-20.0)
    (low_in, high_in), (low_out, high_out) = split(estimate), split(out)
    np.testing.assert_allclose(low_out, low_in, atol=1e-3)
    np.testing.assert_allclose(high_out[50:-50], 0.1 * high_in[50:-50], rtol=0, atol=0.02 * np.abs(high_in).max())
    unchanged = level_invented_band(estimate, observed, CUTOFF, RATE, clean_ratio=1.0, ceiling=1e6, gain_db=0.0)
    np.testing.assert_allclose(unchanged, estimate, atol=1e-5)


def test_the_ceiling_silences_invented_highs_where_the_observed_band_is_silent() -> None:
    """White noise whose first half is observed and second half is digital silence below the cut-off: the highs
    invented over the silent half are removed, those over the loud half (band ratio 2 against a ceiling of 2) kept."""
    rng = np.random.default_rng(1)
    estimate = rng.normal(0, 0.1, 2 * RATE).astype(np.float32)
    observed = degrade("bandwidth", estimate, RATE, CUTOFF)
    observed[RATE:] = 0.0
    out = level_invented_band(estimate, observed, CUTOFF, RATE, clean_ratio=2.0, ceiling=1.0, gain_db=0.0)
    high = out - degrade("bandwidth", out, RATE, CUTOFF)
    original = estimate - degrade("bandwidth", estimate, RATE, CUTOFF)
    quiet, loud = slice(RATE + 1024, 2 * RATE - 1024), slice(1024, RATE - 1024)
    assert np.sqrt(np.mean(high[quiet] ** 2)) < 0.01 * np.sqrt(np.mean(original[quiet] ** 2))
    assert np.sqrt(np.mean(high[loud] ** 2)) > 0.8 * np.sqrt(np.mean(original[loud] ** 2))


@pytest.mark.parametrize(("gain_db", "ceiling"), [(3.0, 1.0), (float("nan"), 1.0), (-15.0, 0.0), (-15.0, -1.0)])
def test_bad_levelling_settings_are_refused(gain_db: float, ceiling: float) -> None:
    wave = np.random.default_rng(2).normal(0, 0.1, RATE).astype(np.float32)
    with pytest.raises(ValueError, match="gain|ceiling"):
        level_invented_band(wave, wave, CUTOFF, RATE, 1.0, ceiling, gain_db)


def test_bandwidth_extension_ends_with_the_levelled_band_and_keeps_the_observed_one() -> None:
    torch.manual_seed(0)
    restorer = Restorer()
    model = ScoreRestorer(ScoreSettings(channels=(16, 16), bottleneck_dilations=(1,), posterior_steps=4))
    restorer.use("score", model.eval())
    clean = synth.synthesize("whistle", seed=3, seconds=1.5)
    observed = degrade("bandwidth", clean, RATE, CUTOFF)
    result = restorer.restore(observed, "score", "bandwidth", seed=0)
    captions = [caption for caption, _ in result.trajectory]
    assert captions[-2:] == ["consistent with the observation", "output (the invented band levelled)"]
    assert "-15 dB" in result.description
    np.testing.assert_allclose(split(result.audio)[0], split(observed)[0], atol=1e-2)
    # the levelled output's invented band is never louder than the unlevelled one's
    before = split(result.trajectory[-2][1])[1]
    assert np.sum(np.abs(split(result.audio)[1]) ** 2) <= np.sum(np.abs(before) ** 2)
