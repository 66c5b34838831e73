"""The attenuation limit: what the denoiser removed comes back turned down by exactly L dB, wherever it is asked for."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiolab.core.quality import si_sdr
from audiolab.restoration.attenuation import check_attenuation_limit, limit_attenuation
from audiolab.restoration.evaluate import evaluate_restoration, parse_method
from audiolab.restoration.restorer import wiener_denoise
from audiolab.restoration.subsonic import remove_subsonic
from tests.conftest import TEST_PRESET
from tests.restoration.test_restoration import small_restorer

RATE = 16_000


def _noisy_speechlike(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    voiced = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2
    return (voiced + 0.05 * rng.normal(size=t.size)).astype(np.float32)


@pytest.mark.parametrize("limit_db", [3.0, 12.0, 40.0])
def test_the_removed_part_comes_back_exactly_limit_db_down(limit_db: float) -> None:
    rng = np.random.default_rng(1)
    noisy = rng.normal(size=4000).astype(np.float32)
    denoised = (0.5 * noisy + 0.1 * rng.normal(size=4000)).astype(np.float32)
    out = limit_attenuation(noisy, denoised, limit_db)
    kept, removed = out - denoised, noisy - denoised
    assert np.allclose(kept, 10 ** (-limit_db / 20) * removed, atol=1e-6)
    level_db = 10 * math.log10(np.sum(kept.astype(np.float64) ** 2) / np.sum(removed.astype(np.float64) ** 2))
    assert level_db == pytest.approx(-limit_db, abs=1e-3)
    assert out.dtype == np.float32 and out.shape == noisy.shape


@pytest.mark.parametrize("bad", [0.0, -6.0, math.nan, math.inf, 101.0, True, "12"])
def test_a_limit_outside_0_to_100_db_is_refused_with_what_to_give(bad: object) -> None:
    with pytest.raises(ValueError, match="attenuation limit"):
        check_attenuation_limit(bad)  # type: ignore[arg-type]
    assert check_attenuation_limit(None) is None and check_attenuation_limit(12) == 12.0
    assert check_attenuation_limit(np.float32(12.5)) == 12.5 and check_attenuation_limit(np.int64(6)) == 6.0
    with pytest.raises(ValueError, match="number of decibels"):
        check_attenuation_limit(np.bool_(True))  # type: ignore[arg-type]


def test_shapes_must_match() -> None:
    with pytest.raises(ValueError, match="differ in shape"):
        limit_attenuation(np.zeros(10, np.float32), np.zeros(11, np.float32), 12.0)


@pytest.mark.parametrize("method", ["diffgmm", "score", "baseline"])
def test_every_denoising_method_takes_the_limit_as_its_last_trajectory_step(method: str) -> None:
    noisy = _noisy_speechlike()
    restorer = small_restorer()
    plain = restorer.restore(noisy, method, seed=0)  # type: ignore[arg-type]
    limited = restorer.restore(noisy, method, seed=0, attenuation_limit_db=10.0)  # type: ignore[arg-type]
    # what comes back is what was removed above the 20 Hz high-pass that denoising starts with (`subsonic.py`)
    assert np.allclose(limited.audio, limit_attenuation(remove_subsonic(noisy, RATE), plain.audio, 10.0), atol=1e-5)
    assert limited.trajectory[-1][0] == "attenuation limited to 10 dB"
    assert np.array_equal(limited.trajectory[-1][1], limited.audio)
    assert len(limited.trajectory) == len(plain.trajectory) + 1
    assert "Attenuation limited to 10 dB" in limited.description
    assert all(caption != "output" for caption, _ in limited.trajectory[:-1])  # only the last step is the output


def test_the_limit_is_refused_for_the_other_tasks_and_when_absurd() -> None:
    restorer = small_restorer()
    noisy = _noisy_speechlike()
    with pytest.raises(ValueError, match="for denoising"):
        restorer.restore(noisy, "score", "bandwidth", attenuation_limit_db=12.0)
    with pytest.raises(ValueError, match="at most 100 dB"):
        restorer.restore(noisy, "diffgmm", attenuation_limit_db=1e6)


def test_eval_methods_take_an_at_limit_suffix() -> None:
    assert parse_method("diffgmm") == ("diffgmm", None, None)
    assert parse_method("diffgmm-2@12") == ("diffgmm", 2, 12.0)
    assert parse_method("wiener@6.5") == ("wiener", None, 6.5)
    for bad, message in (("noisy@6", "nothing removed"), ("diffgmm@loud", "in dB"), ("diffgmm@", "in dB"),
                         ("diffgmm@0", "above 0")):
        with pytest.raises(ValueError, match=message):
            parse_method(bad)
    clean = (0.3 * np.sin(2 * np.pi * 220 * np.arange(RATE) / RATE)).astype(np.float32)
    noisy = (clean + 0.05 * np.random.default_rng(3).normal(size=RATE)).astype(np.float32)
    scores = {entry.method: entry for entry in evaluate_restoration([("tone", clean, noisy)], ["wiener", "wiener@6"])}
    heard = remove_subsonic(noisy, RATE)  # `wiener` is the app's baseline: the 20 Hz high-pass, then Wiener
    expected = si_sdr(clean, limit_attenuation(heard, wiener_denoise(heard), 6.0))
    assert scores["wiener@6"].values["si_sdr"][0] == pytest.approx(expected, abs=1e-4)
    assert scores["wiener@6"].values["si_sdr"][0] != pytest.approx(scores["wiener"].values["si_sdr"][0], abs=0.1)
    with pytest.raises(ValueError, match="for denoising"):  # refused before any clip is restored
        evaluate_restoration([("tone", clean, noisy)], ["degraded", "score@6"], task="bandwidth",
                             restorer=_NoRestorer())  # type: ignore[arg-type]


class _NoRestorer:
    """A restorer that fails if it is ever asked to restore."""

    def restore(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("restored a clip before the methods were checked")


def test_the_cli_and_the_tab_pass_the_limit_on(tmp_path: Path, bell_wav: Path) -> None:
    from audiolab.cli import main
    from audiolab.ui.restoration import ATTENUATION_LIMIT_OFF_DB, run_denoise

    plain, limited = tmp_path / "plain.wav", tmp_path / "limited.wav"
    assert main(["denoise", str(bell_wav), "--out", str(plain), "--method", "baseline", "--preset", TEST_PRESET]) == 0
    assert main(["denoise", str(bell_wav), "--out", str(limited), "--method", "baseline", "--attenuation-limit", "6",
                 "--preset", TEST_PRESET]) == 0
    noisy, _ = sf.read(bell_wav, dtype="float32")
    expected = limit_attenuation(remove_subsonic(noisy, RATE), sf.read(plain, dtype="float32")[0], 6.0)
    assert np.allclose(sf.read(limited, dtype="float32")[0], expected, atol=1e-4)  # 16-bit files
    assert main(["denoise", str(bell_wav), "--out", str(limited), "--attenuation-limit", "-3",
                 "--preset", TEST_PRESET]) == 2
    *_outputs, state, _picker, summary = run_denoise(TEST_PRESET, str(bell_wav), None, "baseline", "denoise",
                                                     attenuation_limit=6)
    assert "Attenuation limited to 6 dB" in summary
    *_outputs, state, _picker, summary = run_denoise(TEST_PRESET, str(bell_wav), None, "baseline", "denoise",
                                                     attenuation_limit=ATTENUATION_LIMIT_OFF_DB)  # the slider's top
    assert "Attenuation limited" not in summary
    *_outputs, state, _picker, summary = run_denoise(TEST_PRESET, str(bell_wav), None, "score", "bandwidth", steps=2,
                                                     attenuation_limit=6)  # not a denoising task: the slider is ignored
    assert "Attenuation limited" not in summary
