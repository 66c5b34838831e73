"""`eval denoise`: DNSMOS columns beside the reference measures, on a shipped real-speech pair."""

from __future__ import annotations

import numpy as np

from audiolab.core.audio import load_audio
from audiolab.examples import SHIPPED_EXAMPLES
from audiolab.restoration.evaluate import MEASURES, SAMPLE_RATE, evaluate_restoration
from audiolab.vocoder.evaluate import format_table


def test_eval_denoise_reports_dnsmos_beside_the_reference_measures() -> None:
    clean = load_audio(SHIPPED_EXAMPLES / "denoise-rain-5dB-clean.flac", SAMPLE_RATE)
    noisy = load_audio(SHIPPED_EXAMPLES / "denoise-rain-5dB.flac", SAMPLE_RATE)
    short = int(0.5 * SAMPLE_RATE)  # under DNSMOS's 1 s: scored by the other measures only
    pairs = [("rain", clean, noisy), ("short", clean[:short], noisy[:short])]
    scores = {entry.method: entry for entry in evaluate_restoration(pairs, ["noisy", "wiener"])}
    for entry in scores.values():
        assert len(entry.values["si_sdr"]) == 2
        for key in ("dnsmos_ovrl", "dnsmos_sig", "dnsmos_bak"):
            assert len(entry.values[key]) == 1 and 1.0 <= entry.values[key][0] <= 5.0
    table = format_table(list(scores.values()), MEASURES)
    header = table.splitlines()[0]
    assert "| DNSMOS OVRL ↑ | SIG ↑ | BAK ↑ |" in header and "SI-SDR dB ↑" in header
    assert all(np.isfinite(scores["noisy"].summary(key)) for key, _, _ in MEASURES if key != "rtf")
