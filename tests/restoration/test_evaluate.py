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


def _tone(frequency: float, seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def test_mixtures_name_the_snr_and_the_noise_of_each_pair_and_draw_as_before(tmp_path: Path) -> None:
    """Each mixture is labelled with its SNR and the recording its noise came from (here two tones, told apart
    by where their energy lies), and the labels cost no random draw: the pairs are `mixed_pairs`' own."""
    from audiolab.restoration.evaluate import mixtures

    clean = load_audio(SHIPPED_EXAMPLES / "denoise-rain-5dB-clean.flac", SAMPLE_RATE)
    for name in ("a", "b", "c"):
        sf.write(tmp_path / f"{name}.flac", clean[: 2 * SAMPLE_RATE], SAMPLE_RATE)
    noise = [AudioSource("tones", [_tone(300.0), _tone(3000.0)], labels=["low hum", "high whine"])]
    mixed = mixtures(tmp_path, noise, (0.0, 5.0, 10.0), seed=3)
    assert len(mixed.pairs) == len(mixed.snrs) == len(mixed.noises) == 9
    assert mixed.snrs == ["0 dB", "5 dB", "10 dB"] * 3
    assert set(mixed.noises) == {"low hum", "high whine"}  # 9 draws of two: both come up with this seed
    spectrum_bins = np.fft.rfftfreq(2 * SAMPLE_RATE, 1 / SAMPLE_RATE)
    for (_, reference, noisy), label in zip(mixed.pairs, mixed.noises):
        power = np.abs(np.fft.rfft(noisy - reference)) ** 2
        peak = spectrum_bins[int(np.argmax(power))]
        assert peak == pytest.approx(300.0 if label == "low hum" else 3000.0, abs=2.0)
    for (name, reference, noisy), (same_name, same_reference, same_noisy) in zip(
            mixed.pairs, mixed_pairs(tmp_path, noise, (0.0, 5.0, 10.0), seed=3)):
        assert name == same_name
        np.testing.assert_array_equal(noisy, same_noisy)
        np.testing.assert_array_equal(reference, same_reference)
    with pytest.raises(ValueError, match="one per clip"):
        AudioSource("tones", [_tone(300.0)], labels=["a", "b"])


def test_scores_by_group_are_the_scores_of_the_clips_in_each_group() -> None:
    """`evaluate_restoration_by_group`: per SNR, the input's SI-SDR is that SNR (the mixtures are made so); the
    groups' clips add up to all of them, each group's mean is the mean of its clips, and a grouping with the
    wrong number of labels is refused."""
    from audiolab.restoration.evaluate import evaluate_restoration_by_group, format_breakdown
    from audiolab.restoration.noisy_speech import mix_at_snr_pair

    clean = load_audio(SHIPPED_EXAMPLES / "denoise-rain-5dB-clean.flac", SAMPLE_RATE)[: 2 * SAMPLE_RATE]
    rng = np.random.default_rng(0)
    pairs, snrs, noises = [], [], []
    for snr in (0.0, 10.0, 0.0, 10.0):
        noise = rng.standard_normal(clean.size).astype(np.float32) * 0.1
        pairs.append((f"clip@{snr:g}", *mix_at_snr_pair(clean, noise, snr)))
        snrs.append(f"{snr:g} dB")
        noises.append("white")
    overall, breakdown = evaluate_restoration_by_group(pairs, ["noisy", "wiener"], {"SNR": snrs, "noise": noises})
    assert list(breakdown["SNR"]) == ["0 dB", "10 dB"] and list(breakdown["noise"]) == ["white"]
    for group, snr in (("0 dB", 0.0), ("10 dB", 10.0)):
        noisy, wiener = breakdown["SNR"][group]
        assert noisy.method == "noisy" and wiener.method == "wiener"
        assert len(noisy.values["si_sdr"]) == 2 and noisy.summary("si_sdr") == pytest.approx(snr, abs=0.05)
        expected = [v for v, label in zip(overall[1].values["si_sdr"], snrs) if label == group]
        assert wiener.summary("si_sdr") == pytest.approx(float(np.mean(expected)))
    assert breakdown["noise"]["white"][1].summary("si_sdr") == pytest.approx(overall[1].summary("si_sdr"))
    table = format_breakdown("SNR", breakdown["SNR"]).splitlines()
    assert table[0].startswith("| SNR | method | clips | SI-SDR dB ↑") and len(table) == 2 + 4
    assert table[2].startswith("| 0 dB | noisy | 2 | ")
    with pytest.raises(ValueError, match="one per pair"):
        evaluate_restoration_by_group(pairs, ["noisy"], {"SNR": snrs[:3]})


def test_eval_denoise_on_mixtures_adds_tables_by_snr_and_by_noise(tmp_path: Path, capsys) -> None:
    """With `--noise`, the table over all mixtures is followed by one per SNR and one per noise recording; with
    one noise recording there is nothing to break down by noise."""
    from audiolab.cli import main

    (tmp_path / "clean").mkdir()
    (tmp_path / "noise").mkdir()
    clean = load_audio(SHIPPED_EXAMPLES / "denoise-rain-5dB-clean.flac", SAMPLE_RATE)
    sf.write(tmp_path / "clean" / "talker.flac", clean[: 2 * SAMPLE_RATE], SAMPLE_RATE)
    sf.write(tmp_path / "noise" / "hum.flac", _tone(120.0), SAMPLE_RATE)
    sf.write(tmp_path / "noise" / "whine.flac", _tone(5000.0), SAMPLE_RATE)
    argv = ["eval", "denoise", "--clean", str(tmp_path / "clean"), "--noise", str(tmp_path / "noise"),
            "--snrs", "0", "10", "20", "--methods", "noisy"]
    assert main(argv) == 0  # mixing seed 0 draws both noise files among the three mixtures
    out = capsys.readouterr().out
    assert "By SNR:\n| SNR | method | clips |" in out and "| 20 dB | noisy | 1 |" in out
    assert "By noise:\n| noise | method | clips |" in out and "| hum | noisy |" in out and "| whine | noisy |" in out
    assert main(argv + ["--include", "hum*"]) == 0
    out = capsys.readouterr().out
    assert "By SNR:" in out and "By noise:" not in out


def test_a_labelled_crop_is_the_same_crop_and_names_the_clip_it_came_from(tmp_path: Path) -> None:
    """`crop_labelled` draws exactly as `crop` does (same excerpt, generator left in the same state), names the
    clip the excerpt came from even when every try lands on silence, and a folder's clips are named by their
    path in it, so namesakes in two subfolders stay apart."""
    silent = np.zeros(SAMPLE_RATE, dtype=np.float32)
    source = AudioSource("mixed", [silent, _tone(440.0), silent, _tone(880.0)], labels=["s1", "a", "s2", "b"])
    for seed in range(20):
        plain_rng, labelled_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        for tries in (1, 8):
            plain = source.crop(4000, plain_rng, tries=tries)
            labelled, label = source.crop_labelled(4000, labelled_rng, tries=tries)
            np.testing.assert_array_equal(plain, labelled)
            assert plain_rng.bit_generator.state == labelled_rng.bit_generator.state
            if label in ("s1", "s2"):  # one try that landed on silence: the excerpt is that silence
                assert tries == 1 and not labelled.any()
            else:
                frequency = np.fft.rfftfreq(4000, 1 / SAMPLE_RATE)[int(np.argmax(np.abs(np.fft.rfft(labelled))))]
                assert frequency == pytest.approx(440.0 if label == "a" else 880.0, abs=4.0)
    for folder in ("left", "right"):
        (tmp_path / folder).mkdir()
        sf.write(tmp_path / folder / "take.flac", _tone(220.0, 1.0), SAMPLE_RATE)
    assert AudioSource.from_folder(tmp_path, SAMPLE_RATE).labels == ["left/take", "right/take"]
