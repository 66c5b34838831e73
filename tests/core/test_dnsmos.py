"""DNSMOS P.835: scores of real speech in range, noise lowering BAK, the reference script's windows and mapping,
clear refusals, and the model read from the installed package."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from audiolab.core.audio import load_audio, resample
from audiolab.core.dnsmos import (
    DNSMOS,
    DNSMOS_RATE,
    POLYNOMIALS,
    WINDOW_SAMPLES,
    DNSMOSScores,
    dnsmos,
    dnsmos_model,
    model_path,
)
from audiolab.examples import SHIPPED_EXAMPLES

SPEECH = SHIPPED_EXAMPLES / "denoise-rain-5dB-clean.flac"  # 3.45 s of LJ Speech (public domain), shipped in the repo


@pytest.fixture(scope="module")
def speech() -> np.ndarray:
    return load_audio(SPEECH, DNSMOS_RATE)


def _in_range(scores: DNSMOSScores) -> bool:
    return all(math.isfinite(v) and 1.0 <= v <= 5.0 for v in (scores.ovrl, scores.sig, scores.bak))


def test_real_speech_scores_in_range_and_loud_white_noise_lowers_bak_and_ovrl(speech: np.ndarray) -> None:
    clean = dnsmos(speech)
    noise = np.random.default_rng(0).standard_normal(speech.size).astype(np.float32)
    noise *= np.sqrt(np.mean(speech**2) / np.mean(noise**2))  # 0 dB SNR
    noisy = dnsmos(np.clip(speech + noise, -1, 1))
    assert _in_range(clean) and _in_range(noisy)
    assert clean.bak > noisy.bak + 1.0 and clean.ovrl > noisy.ovrl + 0.5
    assert clean.bak > 3.0  # a clean studio recording: little background heard


def test_another_rate_is_resampled_and_scores_alike(speech: np.ndarray) -> None:
    at_16k = dnsmos(speech)
    at_44k = dnsmos(resample(speech, DNSMOS_RATE, 44_100), 44_100)
    for field in ("ovrl", "sig", "bak"):
        assert getattr(at_44k, field) == pytest.approx(getattr(at_16k, field), abs=0.1)


class _CountingSession:
    """Stands in for the ONNX session: records each window's first sample and returns fixed raw scores."""

    def __init__(self) -> None:
        self.windows: list[np.ndarray] = []

    def run(self, outputs: None, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        (window,) = feeds.values()
        assert window.shape == (1, WINDOW_SAMPLES) and window.dtype == np.float32
        self.windows.append(window[0])
        return [np.array([[2.0, 3.0, 4.0]], np.float32)]  # raw sig, bak, ovrl


@pytest.mark.parametrize(("seconds", "max_windows", "expected"),
                         [(3.0, None, 1), (9.5, None, 1), (20.0, None, 11), (20.0, 3, 3), (600.0, 5, 5)])
def test_windows_follow_the_reference_script(seconds: float, max_windows: int | None, expected: int) -> None:
    model = DNSMOS()
    model.session = _CountingSession()  # type: ignore[assignment]
    wave = np.sin(np.arange(int(seconds * DNSMOS_RATE)) * 0.01).astype(np.float32) * 0.5
    scores = model.score(wave, max_windows=max_windows)
    assert len(model.session.windows) == expected  # 9.01 s windows a second apart; a short clip looped into one
    if seconds < 9.01:
        np.testing.assert_array_equal(model.session.windows[0], np.resize(wave, WINDOW_SAMPLES))
    # the raw outputs through the reference script's P.835 polynomials
    assert scores.sig == pytest.approx(np.polyval(POLYNOMIALS["sig"], 2.0))
    assert scores.bak == pytest.approx(np.polyval(POLYNOMIALS["bak"], 3.0))
    assert scores.ovrl == pytest.approx(np.polyval(POLYNOMIALS["ovrl"], 4.0))


def test_the_polynomials_are_speechmos_own() -> None:
    pytest.importorskip("librosa")  # speechmos.dnsmos imports it (for the P.808 score, which is not used here)
    from speechmos.dnsmos import DNSMOS as Reference

    raw = (1.7, 2.9, 3.3)
    expected = Reference.get_polyfit_val(None, *raw, False)  # type: ignore[arg-type]
    ours = [np.polyval(POLYNOMIALS[name], value) for name, value in zip(("sig", "bak", "ovrl"), raw)]
    np.testing.assert_allclose(ours, expected)


@pytest.mark.parametrize(("audio", "max_windows", "message"), [
    (np.full(DNSMOS_RATE // 2, 0.1, np.float32), None, "at least 1 s"),
    (np.zeros(3 * DNSMOS_RATE, np.float32), None, "silent"),
    (np.array([0.1, np.nan] * DNSMOS_RATE * 2, np.float32), None, "NaN"),
    (np.full(3 * DNSMOS_RATE, 0.1, np.float32), 0, "at least one window"),
])
def test_bad_input_is_refused_with_a_message(audio: np.ndarray, max_windows: int | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dnsmos(audio, max_windows=max_windows)


def test_the_model_comes_from_the_installed_package_and_loads_once() -> None:
    import speechmos

    path = Path(str(model_path()))
    assert path.is_file() and path.is_relative_to(Path(speechmos.__file__).parent)
    assert dnsmos_model() is dnsmos_model()
