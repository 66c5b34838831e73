"""Restoration: DiffGMM's mixture head and subtraction, posterior sampling's likelihood step, degradations,
chunked processing, bad input, and the shipped models on a held-out synthetic-speech mixture."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from audiolab.core.corpus import AudioSource
from audiolab.core.quality import log_spectral_distance, si_sdr
from audiolab.examples import mix_at_snr
from audiolab.generation import synth
from audiolab.restoration.degradations import (
    Clipping,
    Gap,
    LowPass,
    clipping_threshold,
    degrade,
    gap_mask,
    operator_for,
)
from audiolab.restoration.diffgmm import DiffGMMDenoiser, DiffGMMSettings, NoiseMixture
from audiolab.restoration.noisy_speech import NoisySpeechStream, coloured_noise
from audiolab.restoration.restorer import Restorer, run_chunked
from audiolab.restoration.score import (
    ScoreRestorer,
    ScoreSettings,
    likelihood_step,
    measurement_error,
)
from audiolab.restoration.tts import espeak_available, speak
from tests.restoration.fitting import fit_briefly
from tests.restoration.sources import tone_and_hiss

RATE = 16_000
SMALL = dict(channels=(16, 16), bottleneck_dilations=(1,))


def small_diffgmm(components: int = 3, seed: int = 0) -> DiffGMMDenoiser:
    torch.manual_seed(seed)
    model = DiffGMMDenoiser(DiffGMMSettings(components=components, **SMALL)).eval()
    torch.nn.init.normal_(model.net.head.weight, std=0.5)  # non-trivial parameters (the shipped head starts at zero)
    return model


def small_restorer() -> Restorer:
    torch.manual_seed(0)
    restorer = Restorer()
    restorer.use("diffgmm", small_diffgmm())
    restorer.use("score", ScoreRestorer(ScoreSettings(steps=4, posterior_steps=3, **SMALL)).eval())
    return restorer


@pytest.mark.parametrize("components", [1, 3, 5])
def test_mixture_head_gives_valid_parameters(components: int) -> None:
    model = small_diffgmm(components)
    wave = torch.randn(2, 8001) * 0.1
    mixture = model.mixture(model.mdct.forward(wave) / model.input_scale(wave))
    frames = model.mdct.frames_for(8001)
    for tensor in (mixture.weights, mixture.means, mixture.scales):
        assert tensor.shape == (2, components, 256, frames)
    torch.testing.assert_close(mixture.weights.sum(1), torch.ones(2, 256, frames))
    assert (mixture.weights >= 0).all() and (mixture.scales > 0).all()


def test_single_component_log_prob_is_the_gaussian_density_and_the_pooled_density_integrates_to_one() -> None:
    mean, scale = torch.tensor(0.3), torch.tensor(0.5)
    mixture = NoiseMixture(torch.ones(1, 1, 1, 1), mean.reshape(1, 1, 1, 1), scale.reshape(1, 1, 1, 1))
    value = torch.tensor([[[1.1]]])
    expected = -0.5 * ((1.1 - 0.3) / 0.5) ** 2 - math.log(0.5 * math.sqrt(2 * math.pi))
    assert float(mixture.log_prob(value)) == pytest.approx(expected, rel=1e-5)
    with torch.no_grad():
        mixture = small_diffgmm(5).mixture(torch.randn(1, 256, 9))
    grid = torch.linspace(-30, 30, 20_001)
    with torch.no_grad():
        assert float(torch.trapezoid(mixture.pooled_density(grid), grid)) == pytest.approx(1.0, abs=0.02)


@pytest.mark.parametrize("samples", [4_001, 16_000, 12_345])
def test_subtracting_the_known_noise_recovers_the_clean_signal(samples: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a mixture whose mean is the true noise, one DiffGMM step returns the clean signal exactly."""
    model = small_diffgmm()
    clean = torch.from_numpy(synth.synthesize("whistle", seed=1, seconds=samples / RATE)[:samples])[None]
    noise = 0.3 * torch.randn(1, samples, generator=torch.Generator().manual_seed(0))
    noisy = clean + noise
    known = model.mdct.forward(noise) / model.input_scale(noisy)

    def oracle(coefficients: torch.Tensor, wave: torch.Tensor | None = None) -> NoiseMixture:
        weights = torch.zeros(1, 3, *known.shape[1:])
        weights[:, 1] = 1.0
        return NoiseMixture(weights, known.unsqueeze(1).expand(-1, 3, -1, -1), torch.ones_like(weights))

    monkeypatch.setattr(model, "mixture", oracle)
    restored, _, _ = model.step(noisy)
    assert restored.shape == clean.shape
    torch.testing.assert_close(restored, clean, atol=1e-5, rtol=0)


def test_the_untrained_diffgmm_is_the_identity_and_its_loss_trains() -> None:
    model = DiffGMMDenoiser(DiffGMMSettings(components=2, **SMALL))
    noisy = torch.randn(1, 8000) * 0.1
    estimate, _ = next(model.iterate(noisy, 1))
    torch.testing.assert_close(estimate, noisy, atol=1e-6, rtol=0)
    losses, parts = fit_briefly(model, 25)
    assert losses[-1] < losses[0] and set(parts) == {"l1", "spectral", "nll"}


@pytest.mark.parametrize("operator_name", ["lowpass", "gap", "clip"])
def test_the_likelihood_step_reduces_the_measurement_error(operator_name: str) -> None:
    """On a toy problem (x̂_0 linear in z), one step −ζ·δ shrinks ‖y − A(x̂_0)‖; for a projection A by exactly (1 − ζ)."""
    generator = torch.Generator().manual_seed(0)
    truth = torch.randn(1, 4000, generator=generator) * 0.2
    operator = {"lowpass": LowPass(2000.0, RATE), "gap": Gap((torch.arange(4000) % 1000 > 200).float()),
                "clip": Clipping(0.15)}[operator_name]
    measurement = operator.apply(truth)
    level = torch.ones(1, 1, 1)

    def estimate(z: torch.Tensor) -> torch.Tensor:
        return 0.5 * z.reshape(1, -1)

    z = torch.randn(1, 4000, generator=generator) * (0.2 if operator_name == "clip" else 1.0)  # clip: mostly below the threshold
    before = measurement_error(operator, measurement, estimate(z))
    step, _ = likelihood_step(estimate, z, measurement, operator, level)
    after = measurement_error(operator, measurement, estimate(z - 0.5 * step))
    assert after < before * 0.9
    if operator_name != "clip":  # low-pass and gap are orthogonal projections: the step is exact
        assert after == pytest.approx(0.5 * before, rel=1e-3)


def test_posterior_sampling_yields_a_consistent_trajectory() -> None:
    model = ScoreRestorer(ScoreSettings(posterior_steps=4, **SMALL)).eval()
    clean = torch.from_numpy(synth.synthesize("siren", seed=2, seconds=0.6))[None]
    operator = LowPass(3000.0, RATE)
    observed = operator.apply(clean)
    steps = list(model.posterior_iter(observed, operator, seed=3))
    assert len(steps) == 6 and steps[-1][0].index == steps[-1][0].total
    final = steps[-1][1]
    # the projected output explains the observation exactly
    assert measurement_error(operator, observed, final) < 1e-4
    again = list(model.posterior_iter(observed, operator, seed=3))[-1][1]
    torch.testing.assert_close(final, again)  # seeded
    with pytest.raises(ValueError, match="1 to 500"):
        list(model.posterior_iter(observed, operator, steps=0))
    with pytest.raises(ValueError, match="ζ"):
        list(model.posterior_iter(observed, operator, guidance=float("nan")))


def test_every_posterior_step_explains_the_observation_and_strength_enters_part_way() -> None:
    """DDNM-style sampling: each step's x̂_0 is projected onto y; strength s runs round(s·steps) of the grid."""
    model = ScoreRestorer(ScoreSettings(posterior_steps=8, guidance=0.0, **SMALL)).eval()
    clean = torch.from_numpy(synth.synthesize("siren", seed=5, seconds=0.6))[None]
    operator = Gap((torch.arange(clean.shape[-1]) % 3000 > 800).float())
    observed = operator.apply(clean)
    full = list(model.posterior_iter(observed, operator, seed=1))
    half = list(model.posterior_iter(observed, operator, seed=1, strength=0.5))
    assert len(full) == 8 + 2 and len(half) == 4 + 2
    assert half[0][0].t < full[0][0].t  # entered lower on the grid
    for _, wave in half[:-2]:
        assert measurement_error(operator, observed, wave) < 1e-5
    with pytest.raises(ValueError, match="strength"):
        list(model.posterior_iter(observed, operator, strength=0.0))


def test_degradations_detect_their_own_evidence() -> None:
    clean = synth.synthesize("siren", seed=4, seconds=1.0)
    clipped = degrade("declip", clean, RATE)
    assert clipping_threshold(clipped) == pytest.approx(0.3 * np.abs(clean).max(), rel=1e-5)
    with pytest.raises(ValueError, match="does not look clipped"):
        operator_for("declip", clean, RATE)
    gapped = degrade("inpaint", clean, RATE)
    mask = gap_mask(gapped, RATE)
    assert mask.sum() == clean.size - int(0.1 * RATE)
    with pytest.raises(ValueError, match="no gap"):
        gap_mask(clean, RATE)
    with pytest.raises(ValueError, match="cut-off"):
        operator_for("bandwidth", clean, RATE, cutoff_hz=9000)
    low = torch.from_numpy(degrade("bandwidth", clean, RATE))
    spectrum = torch.fft.rfft(low)
    assert spectrum[torch.fft.rfftfreq(clean.size, 1 / RATE) > 4100].abs().max() < 1e-3
    projected = LowPass(4000.0, RATE).project(torch.zeros_like(low), low)
    torch.testing.assert_close(projected, low, atol=1e-5, rtol=0)


@pytest.mark.parametrize("length", [40_000, 100_001])
def test_chunked_processing_is_bounded_and_stitches_exactly(length: int) -> None:
    signal = np.random.default_rng(0).standard_normal(length).astype(np.float32)
    spans: list[tuple[int, int]] = []

    def identity(start: int, end: int) -> list[np.ndarray]:
        spans.append((start, end))
        return [signal[start:end], 2 * signal[start:end]]

    first, second = run_chunked(identity, length, RATE, chunk_seconds=1.0, overlap_seconds=0.1)
    np.testing.assert_allclose(first, signal, atol=1e-5)
    np.testing.assert_allclose(second, 2 * signal, atol=1e-5)
    assert max(end - start for start, end in spans) <= RATE + int(0.1 * RATE) and spans[-1][1] == length


@pytest.mark.parametrize(("method", "task"), [("diffgmm", "denoise"), ("score", "denoise"), ("score", "bandwidth"),
                                              ("score", "inpaint"), ("baseline", "inpaint")])
@pytest.mark.parametrize("samples", [8_001, 12_347])
def test_every_method_keeps_odd_lengths(method: str, task: str, samples: int) -> None:
    clean = synth.synthesize("whistle", seed=3, seconds=samples / RATE)[:samples]
    observed = mix_at_snr(clean, coloured_noise(samples, np.random.default_rng(0), -3.0), 5.0) if task == "denoise" \
        else degrade(task, clean, RATE)
    result = small_restorer().restore(observed, method, task, seed=0)  # type: ignore[arg-type]
    assert result.audio.shape == (samples,) and np.isfinite(result.audio).all()
    assert all(wave.shape == (samples,) for _, wave in result.trajectory)


def test_bad_input_gets_clear_errors_and_clipping_a_note() -> None:
    restorer = small_restorer()
    with pytest.raises(ValueError, match="silent"):
        restorer.restore(np.zeros(16_000, np.float32))
    with pytest.raises(ValueError, match="NaN|not finite|infinite"):
        restorer.restore(np.full(16_000, np.nan, np.float32))
    with pytest.raises(ValueError, match="too short"):
        restorer.restore(np.full(100, 0.1, np.float32))
    with pytest.raises(ValueError, match="trim it to 600 s"):
        restorer.restore(np.tile(np.float32([0.1, -0.1]), 301 * RATE))
    with pytest.raises(ValueError, match="score method"):
        restorer.restore(np.full(16_000, 0.1, np.float32), "diffgmm", "bandwidth")
    with pytest.raises(ValueError, match="Unknown task"):
        restorer.restore(np.full(16_000, 0.1, np.float32), "score", "dereverb")
    with pytest.raises(ValueError, match="1 to 16 iterations"):
        restorer.restore(np.random.default_rng(0).normal(0, 0.1, 16_000).astype(np.float32), "diffgmm", steps=1000)
    loud = np.clip(synth.synthesize("siren", seed=0, seconds=1.0) * 4, -1, 1)
    result = restorer.restore(loud, "diffgmm")
    assert any("declip" in note for note in result.notes)


def test_noisy_speech_stream_mixes_at_the_requested_snr() -> None:
    speech = AudioSource("tones", [synth.synthesize("whistle", seed=s, seconds=2.0) for s in range(3)])
    noise = AudioSource("rain", [synth.synthesize("rain", seed=s, seconds=3.0) for s in range(2)])
    stream = NoisySpeechStream([speech], [noise], RATE, snr_db=(7.0, 7.0), procedural_share=0.0)
    clean, noisy = stream.pair(16_000, np.random.default_rng(0))
    measured = 10 * np.log10(np.sum(clean.astype(np.float64) ** 2) / np.sum((noisy - clean).astype(np.float64) ** 2))
    assert measured == pytest.approx(7.0, abs=0.05) and np.abs(noisy).max() <= 0.99 + 1e-6


def test_babble_share_draws_noise_made_of_the_training_speech() -> None:
    """With babble_share = 1 every noise is talkers from the speech (here 440 Hz tones), with 0 never."""
    speech, hiss = tone_and_hiss()
    frequencies = np.fft.rfftfreq(RATE, 1 / RATE)

    def tone_share(babble_share: float) -> float:
        stream = NoisySpeechStream([speech], [hiss], RATE, procedural_share=0.0, babble_share=babble_share)
        rng = np.random.default_rng(0)
        power = np.mean([np.abs(np.fft.rfft(stream.noise_crop(RATE, rng))) ** 2 for _ in range(12)], axis=0)
        return float(power[np.abs(frequencies - 440) < 20].sum() / power.sum())

    assert tone_share(1.0) > 0.4 and tone_share(0.0) < 0.05
    with pytest.raises(ValueError, match="from 0 to 1"):
        NoisySpeechStream([speech], [hiss], RATE, babble_share=1.5)


def test_competing_talkers_come_from_the_training_speech_and_stay_below_the_target() -> None:
    """With competing_share = 1 every noise is one or two talkers (here 440 Hz tones), mixed in their own SNR
    range (the target louder); with 0 the stream keeps its general range and its real noise."""
    speech, hiss = tone_and_hiss()
    frequencies = np.fft.rfftfreq(RATE, 1 / RATE)

    def measured(competing_share: float) -> tuple[float, float]:
        """(mean SNR in dB, the noise's share of power near 440 Hz) over a few pairs."""
        stream = NoisySpeechStream([speech], [hiss], RATE, snr_db=(-5.0, -5.0), procedural_share=0.0,
                                   competing_share=competing_share, competing_snr_db=(6.0, 6.0))
        rng = np.random.default_rng(0)
        snrs, power = [], np.zeros(frequencies.size)
        for _ in range(8):
            clean, noisy = (x.astype(np.float64) for x in stream.pair(RATE, rng))
            snrs.append(10 * np.log10(np.sum(clean ** 2) / np.sum((noisy - clean) ** 2)))
            power += np.abs(np.fft.rfft(noisy - clean)) ** 2
        return float(np.mean(snrs)), float(power[np.abs(frequencies - 440) < 20].sum() / power.sum())

    snr, tone = measured(1.0)
    assert snr == pytest.approx(6.0, abs=0.1) and tone > 0.4
    snr, tone = measured(0.0)
    assert snr == pytest.approx(-5.0, abs=0.1) and tone < 0.05
    with pytest.raises(ValueError, match="from 0 to 1"):
        NoisySpeechStream([speech], [hiss], RATE, competing_share=-0.1)


def test_high_snr_share_draws_nearly_clean_mixtures_in_its_own_range() -> None:
    """With high_snr_share = 1 every mixture (competing talkers too) lies in high_snr_db; with 0, in the
    general range, without an extra random draw; with 0.5, about half; a reversed range is refused."""
    speech, hiss = tone_and_hiss()

    def mean_snr(share: float, competing_share: float = 0.0) -> float:
        stream = NoisySpeechStream([speech], [hiss], RATE, snr_db=(0.0, 0.0), procedural_share=0.0,
                                   competing_share=competing_share, competing_snr_db=(6.0, 6.0),
                                   high_snr_share=share, high_snr_db=(30.0, 30.0))
        rng = np.random.default_rng(0)
        snrs = []
        for _ in range(6):
            clean, noisy = (x.astype(np.float64) for x in stream.pair(RATE, rng))
            snrs.append(10 * np.log10(np.sum(clean ** 2) / np.sum((noisy - clean) ** 2)))
        return float(np.mean(snrs))

    assert mean_snr(1.0) == pytest.approx(30.0, abs=0.1)
    assert mean_snr(1.0, competing_share=1.0) == pytest.approx(30.0, abs=0.1)
    assert mean_snr(0.0) == pytest.approx(0.0, abs=0.1)
    # A share of one half draws about half the mixtures in the high range.
    stream = NoisySpeechStream([speech], [hiss], RATE, snr_db=(0.0, 0.0), procedural_share=0.0,
                               high_snr_share=0.5, high_snr_db=(30.0, 30.0))
    rng = np.random.default_rng(1)
    high = [float(np.sum((noisy - clean) ** 2) < 1e-2 * np.sum(clean ** 2))
            for clean, noisy in (stream.pair(RATE // 8, rng) for _ in range(200))]
    assert 0.4 < np.mean(high) < 0.6
    # At a share of 0 the stream makes no extra draw, so the runs trained before the share existed replay.
    def state_after_a_pair(share: float) -> dict:
        rng = np.random.default_rng(2)
        NoisySpeechStream([speech], [hiss], RATE, procedural_share=0.0, high_snr_share=share).pair(RATE, rng)
        return rng.bit_generator.state
    assert state_after_a_pair(0.0) != state_after_a_pair(1e-12)
    with pytest.raises(ValueError, match="low <= high"):
        NoisySpeechStream([speech], [hiss], RATE, high_snr_share=0.1, high_snr_db=(40.0, 20.0))
    with pytest.raises(ValueError, match="from 0 to 1"):
        NoisySpeechStream([speech], [hiss], RATE, high_snr_share=2.0)


def test_a_preset_whose_high_snr_range_is_reversed_fails_on_load(tmp_path: Path) -> None:
    from audiolab.restoration.preset import load_denoiser_preset

    text = load_denoiser_preset("diffgmm-speech-16k").path.read_text(encoding="utf-8")
    assert "high_snr_max_db = 40.0" in text
    broken = tmp_path / "broken.toml"
    broken.write_text(text.replace("high_snr_max_db = 40.0", "high_snr_max_db = 10.0"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"high_snr_max_db \(10\) must be at least snr_high_db \(20\)"):
        load_denoiser_preset(broken)


def test_log_spectral_distance_is_zero_for_identical_signals_and_grows_with_damage() -> None:
    clean = synth.synthesize("siren", seed=0, seconds=1.0)
    assert log_spectral_distance(clean, clean) == pytest.approx(0.0, abs=1e-9)
    assert log_spectral_distance(clean, degrade("bandwidth", clean, RATE)) > 5.0


@pytest.mark.skipif(not espeak_available(), reason="needs espeak-ng (apt-get install espeak-ng)")
def test_the_shipped_denoisers_clean_unseen_synthetic_speech(pipeline) -> None:  # noqa: ANN001
    """Speech the models never heard (a sentence outside the training vocabulary) in pink noise at 0 dB."""
    clean = speak("Quick zebras jump over lazy foxes near Vienna.", "en-gb-x-rp+f2", 140, 45, RATE) * 0.3
    noisy = mix_at_snr(clean, coloured_noise(clean.size, np.random.default_rng(7), -3.0), 0.0)
    clean = clean * (np.dot(noisy, clean) / np.dot(clean, clean))  # mix_at_snr may rescale; SI-SDR does not care
    for method in ("diffgmm", "score"):
        restored = pipeline.denoise(noisy, method=method).audio
        assert si_sdr(clean, restored) > si_sdr(clean, noisy) + 3.0, method


def test_inpainting_keeps_every_observed_sample() -> None:
    """Outside the gaps the output is the input, sample for sample (chunk cross-fades included)."""
    clean = synth.synthesize("whistle", seed=6, seconds=2.5)
    gapped = degrade("inpaint", clean, RATE)
    observed = gap_mask(gapped, RATE) == 1
    out = small_restorer().restore(gapped, "score", "inpaint", seed=0).audio
    np.testing.assert_allclose(out[observed], gapped[observed], atol=1e-5)
    assert np.abs(out[~observed]).max() > 0  # and the gap is filled
