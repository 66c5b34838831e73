"""`eval denoise`: DNSMOS columns beside the reference measures, on a shipped real-speech pair."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiolab.core.audio import load_audio
from audiolab.core.corpus import AudioSource
from audiolab.core.quality import PART_RATIO_CAP_DB
from audiolab.examples import SHIPPED_EXAMPLES
from audiolab.restoration.evaluate import MEASURES, SAMPLE_RATE, evaluate_restoration, mixed_pairs
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
    assert all(np.isfinite(scores["noisy"].summary(key)) for key, _, _ in MEASURES if key not in ("rtf", "lsd_gap"))
    assert "LSD in gaps" not in header  # an inpainting measure only
    # the worst clip's SI-SDR change against the input: zero for the input itself, the least of the clips' changes
    assert scores["noisy"].summary("si_sdr_worst") == 0.0
    changes = scores["wiener"].values["si_sdr_worst"]
    expected = [a - b for a, b in zip(scores["wiener"].values["si_sdr"], scores["noisy"].values["si_sdr"])]
    assert np.allclose(changes, expected) and scores["wiener"].summary("si_sdr_worst") == min(expected)
    assert "worst clip ΔSI-SDR" in header
    # the error split in two: the input itself has no distortion; the Wiener filter leaves less noise than it
    assert "| speech/distortion dB ↑ | speech/leftover noise dB ↑ |" in header
    assert scores["noisy"].summary("speech_distortion") == PART_RATIO_CAP_DB
    assert scores["wiener"].summary("leftover_noise") > scores["noisy"].summary("leftover_noise") + 1.0


def test_eval_denoise_takes_another_score_preset(tmp_path, capsys, monkeypatch) -> None:
    """`--score-preset` swaps the score model the table measures, and names a preset that exists."""
    import soundfile as sf

    from audiolab.cli import main
    from audiolab.restoration import restorer as restorer_module

    for folder, name in (("clean", "denoise-rain-5dB-clean.flac"), ("noisy", "denoise-rain-5dB.flac")):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "rain.wav", load_audio(SHIPPED_EXAMPLES / name, SAMPLE_RATE)[:SAMPLE_RATE],
                 SAMPLE_RATE)
    used: list[str] = []
    real_model = restorer_module.Restorer.model

    def spy(self, method: str):  # noqa: ANN202 - records which preset each method's model came from
        used.append(self.preset_names[method])
        return real_model(self, method)

    monkeypatch.setattr(restorer_module.Restorer, "model", spy)
    argv = ["eval", "denoise", "--clean", str(tmp_path / "clean"), "--noisy", str(tmp_path / "noisy"),
            "--methods", "noisy", "score-2", "--score-preset", "score-16k"]
    assert main(argv) == 0
    assert used and set(used) == {"score-16k"} and "score" in capsys.readouterr().out


def test_eval_inpaint_measures_the_gaps_where_a_fill_beats_zeros() -> None:
    """`--task inpaint` adds the log-spectral distance inside the gaps: zero fill scores far worse than a fill."""
    clean = load_audio(SHIPPED_EXAMPLES / "inpaint-2x100ms-clean.flac", SAMPLE_RATE)
    from audiolab.restoration.degradations import degrade

    gapped = degrade("inpaint", clean, SAMPLE_RATE)
    scores = {e.method: e for e in evaluate_restoration([("gap", clean, gapped)], ["degraded", "baseline"], "inpaint")}
    zero_fill, straight_line = scores["degraded"].summary("lsd_gap"), scores["baseline"].summary("lsd_gap")
    assert zero_fill is not None and straight_line is not None and straight_line < zero_fill
    header = format_table(list(scores.values()), MEASURES).splitlines()[0]
    assert "LSD in gaps" in header and "speech/distortion" not in header  # a denoising measure only


def test_distant_noise_is_mixed_at_the_same_snrs_with_a_room_around_it(tmp_path: Path) -> None:
    """`eval denoise --distant`: each noise excerpt (here clicks) gets a reverberant tail before mixing, and
    the mixtures keep their SNRs and their speech."""
    clean = load_audio(SHIPPED_EXAMPLES / "denoise-rain-5dB-clean.flac", SAMPLE_RATE)
    sf.write(tmp_path / "speech.flac", clean, SAMPLE_RATE)
    clicks = np.zeros(4 * SAMPLE_RATE, dtype=np.float32)
    clicks[::4000] = 0.5
    noise = [AudioSource("clicks", [clicks])]
    dry = mixed_pairs(tmp_path, noise, (0.0, 10.0), seed=0)
    wet = mixed_pairs(tmp_path, noise, (0.0, 10.0), seed=0, distant_noise=True)
    for (name, reference, noisy), (wet_name, wet_reference, wet_noisy), snr in zip(dry, wet, (0.0, 10.0)):
        assert name == wet_name
        # the same speech, scaled down alike with its mixture where that would peak above full scale
        np.testing.assert_allclose(wet_reference / np.abs(wet_reference).max(), reference / np.abs(reference).max(),
                                   atol=1e-6)
        residual = (wet_noisy - wet_reference).astype(np.float64)
        measured = 10 * np.log10(np.sum(wet_reference.astype(np.float64) ** 2) / np.sum(residual**2))
        assert measured == pytest.approx(snr, abs=0.05)
        assert np.count_nonzero(np.abs(noisy - reference) > 1e-4) < 20
        assert np.count_nonzero(np.abs(residual) > 1e-4) > 0.5 * residual.size
