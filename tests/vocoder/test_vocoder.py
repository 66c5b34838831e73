"""The diffusion vocoder: the MDCT it works in, its prior, its sampler with the trained weights, and bad mels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from audiolab.core.audio import MelSettings, MelTransform
from audiolab.core.mdct import MDCT
from audiolab.core.presets import list_presets
from audiolab.core.quality import log_mel_l1
from audiolab.generation import synth
from audiolab.pipeline import AudioLabPipeline
from audiolab.vocoder.diffusion_vocoder import (
    Conditioning,
    DiffusionVocoder,
    VocoderSettings,
    check_log_mel,
)
from audiolab.vocoder.pipeline import VocoderPipeline
from audiolab.vocoder.preset import load_vocoder, load_vocoder_preset


@pytest.mark.parametrize("samples", [1, 255, 256, 16_001])
def test_mdct_is_orthonormal_and_inverts_exactly(samples: int) -> None:
    mdct = MDCT(256)
    x = torch.randn(2, samples, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    coefficients = mdct.forward(x)
    assert coefficients.shape == (2, 256, mdct.frames_for(samples))
    assert torch.allclose(mdct.inverse(coefficients, samples), x, atol=1e-5)
    assert math.isclose(float(coefficients.pow(2).sum()), float(x.pow(2).sum()), rel_tol=1e-5)  # Parseval


def test_white_noise_on_the_coefficients_is_white_on_the_waveform() -> None:
    mdct = MDCT(128)
    z = torch.randn(4, 128, 200, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    wave = mdct.inverse(z, 199 * 128)[:, 128:-128]  # away from the ends, where frames overlap fully
    assert abs(float(wave.std()) - 1.0) < 0.02
    lag_one = float((wave[:, 1:] * wave[:, :-1]).mean())
    assert abs(lag_one) < 0.02


def test_mdct_refuses_a_degenerate_hop() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        MDCT(1)


def test_mel_prior_whitens_white_noise_to_about_unit_variance() -> None:
    """σ(mel) is derived in closed form from the mel of a flat spectrum: white noise of any level whitens to ≈ 1."""
    vocoder = DiffusionVocoder(VocoderSettings())
    for level in (0.01, 0.3):
        noise = level * torch.randn(1, 32_000, generator=torch.Generator().manual_seed(2))
        y0, cond = vocoder.training_targets(noise)
        assert y0.shape == (1, 256, vocoder.mdct.frames_for(32_000)) and cond.mel.shape[1] == 64
        assert cond.hint is not None and cond.hint.shape == y0.shape
        assert 0.7 < float(y0[..., 2:-2].pow(2).mean().sqrt()) < 1.3


def test_gaussian_baseline_makes_an_untrained_network_a_shrinkage_estimator() -> None:
    """With F_θ = 0, ε̂ = sqrt(1 − ᾱ)·y_t, so x̂_0 = sqrt(ᾱ)·y_t: the posterior mean for y_0 ~ N(0, I)."""
    vocoder = DiffusionVocoder(VocoderSettings())  # the output layer starts at zero
    y_t = torch.randn(1, 256, 10, generator=torch.Generator().manual_seed(3))
    t = torch.tensor([30.0])
    eps = vocoder.predict_noise(y_t, t, Conditioning(torch.zeros(1, 64, 10), torch.randn(1, 256, 10)))
    x0 = vocoder.schedule.predict_x0(y_t, 30.0, eps)
    assert torch.allclose(x0, vocoder.schedule.alpha_bar(30.0).float().sqrt() * y_t, atol=1e-5)


@pytest.mark.parametrize(
    ("mel", "message"),
    [
        (torch.zeros(80, 20), "64-band"),
        (torch.full((64, 20), float("nan")), "NaN"),
        (torch.zeros(64, 0), "empty"),
        (torch.zeros(2, 3, 64, 20), "shape"),
    ],
)
def test_bad_mels_raise_clear_errors(mel: torch.Tensor, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_log_mel(mel, 64)


def test_vocoder_preset_is_listed_and_names_its_checkpoint() -> None:
    assert "vocoder-16k" in list_presets("vocoder") and "vocoder-16k" not in list_presets()
    preset = load_vocoder_preset("vocoder-16k")
    assert preset.checkpoint.is_file() and preset.checkpoint.stat().st_size < 20_000_000
    assert preset.settings.num_train_timesteps == 50 and preset.settings.mel == MelSettings()


# ---- with the trained weights ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return synth.synthesize("engine_hum", seed=11, seconds=1.5)


@pytest.fixture(scope="module")
def diffwave() -> VocoderPipeline:
    """The vocoding task around vocoder-16k, the waveform-diffusion vocoder, whichever vocoder the presets ship."""
    preset = load_vocoder_preset("vocoder-16k")
    return VocoderPipeline(preset.settings.mel, load_vocoder(preset), "vocoder-16k", default_method="diffusion",
                           owner="vocoder-16k")


def test_vocode_shapes_and_determinism(diffwave: VocoderPipeline, clip: np.ndarray) -> None:
    vocoder = diffwave.diffusion_vocoder()
    log_mel = MelTransform(vocoder.settings.mel).log_mel(clip[:16_001])
    first = vocoder.vocode(log_mel, 16_001, steps=6, seed=0)
    assert first.shape == (16_001,) and first.dtype == np.float32 and np.all(np.isfinite(first))
    assert np.array_equal(first, vocoder.vocode(log_mel, 16_001, steps=6, seed=0))
    assert not np.allclose(first, vocoder.vocode(log_mel, 16_001, steps=6, seed=1))


def test_trained_sampler_improves_on_its_own_starting_noise(diffwave: VocoderPipeline, clip: np.ndarray) -> None:
    """The shipped sampler (trained network + the preset's magnitude projections) against the x_T it starts from."""
    vocoder = diffwave.diffusion_vocoder()
    log_mel = MelTransform(vocoder.settings.mel).log_mel(clip)
    steps = list(vocoder.sample_iter(log_mel, clip.size, steps=12, seed=0))
    start = log_mel_l1(clip, steps[0].x_t[0].numpy())
    end = log_mel_l1(clip, steps[-1].x0_hat[0].numpy())
    assert end < 0.5 * start, (start, end)  # measured: 0.229 -> 0.056


def test_six_steps_cost_six_network_calls(diffwave: VocoderPipeline, clip: np.ndarray) -> None:
    vocoder = diffwave.diffusion_vocoder()
    calls = []
    handle = vocoder.net.register_forward_hook(lambda *args: calls.append(1))
    try:
        vocoder.vocode(MelTransform(vocoder.settings.mel).log_mel(clip), clip.size, steps=6)
    finally:
        handle.remove()
    assert len(calls) == 6


@pytest.mark.parametrize("steps", [0, 51, 2.5])
def test_step_counts_outside_the_schedule_are_refused(diffwave: VocoderPipeline, clip: np.ndarray, steps) -> None:
    with pytest.raises(ValueError, match="from 1 to 50"):
        diffwave.vocode_mel(diffwave.mel.log_mel(clip), clip.size, method="diffusion", steps=steps)


def test_magnitude_projections_pull_the_sample_towards_the_mel(diffwave: VocoderPipeline, clip: np.ndarray) -> None:
    vocoder = diffwave.diffusion_vocoder()
    log_mel = MelTransform(vocoder.settings.mel).log_mel(clip)
    plain = vocoder.vocode(log_mel, clip.size, steps=6, projection_iterations=0)
    projected = vocoder.vocode(log_mel, clip.size, steps=6, projection_iterations=8)
    assert log_mel_l1(clip, projected) < log_mel_l1(clip, plain)
    with pytest.raises(ValueError, match="from 0 to 100"):
        vocoder.vocode(log_mel, clip.size, steps=2, projection_iterations=101)


def test_x0_correction_hook_sees_every_step_and_shapes_the_result() -> None:
    """The sampler's correction hook: a projection onto zero-mean signals leaves a zero-mean sample."""
    from audiolab.core.diffusion import Schedule, make_scheduler, run_to_end, sample

    schedule = Schedule("linear", 50, 1e-4, 0.2)
    seen: list[float] = []

    def zero_mean(x0: torch.Tensor, t: float) -> torch.Tensor:
        seen.append(t)
        return x0 - x0.mean(dim=-1, keepdim=True)

    denoiser = lambda x, t, c: torch.zeros_like(x)  # noqa: E731
    noise = torch.randn(1, 1, 64, generator=torch.Generator().manual_seed(0)) + 3.0
    final, _ = run_to_end(sample(denoiser, make_scheduler("ddim", schedule), schedule, noise, 6, x0_correction=zero_mean))
    plain, _ = run_to_end(sample(denoiser, make_scheduler("ddim", schedule), schedule, noise, 6))
    assert len(seen) == 6
    # DDIM stops at ᾱ_0 = 1 − 1e-4, so 1% of the re-derived ε (which carries the mean) remains
    assert abs(float(final.x0_hat.mean())) < 0.02 * abs(float(plain.x0_hat.mean()))


def test_pipeline_vocode_keeps_the_waveform_trajectory(pipeline: AudioLabPipeline, clip: np.ndarray) -> None:
    result = pipeline.vocode(clip[:20_001], method="diffusion", steps=6, seed=2)
    assert result.audio.shape == (20_001,) and result.domain == "waveform"
    assert [step.index for step in result.reverse] == list(range(7))
    assert all(step.x_t.shape == (1, 20_001) for step in result.reverse)
    assert "diffusion vocoder" in result.method and "6" in result.method
    assert pipeline.step_audio(result, 3, "x_t").shape == (20_001,)
    griffin_lim = pipeline.vocode(clip[:20_001], method="griffinlim", iterations=8)
    assert griffin_lim.audio.shape == (20_001,) and "Griffin-Lim" in griffin_lim.method


def test_unknown_vocoder_method_is_refused(pipeline: AudioLabPipeline, clip: np.ndarray) -> None:
    with pytest.raises(ValueError, match="diffusion, griffinlim"):
        pipeline.vocode(clip, method="hifigan")


def test_generation_uses_the_diffusion_vocoder_by_default(pipeline: AudioLabPipeline) -> None:
    result = pipeline.generate(label="rain", seconds=1.0, steps=4)
    assert "diffusion vocoder" in result.method
    griffin_lim = pipeline.generate(label="rain", seconds=1.0, steps=4, vocoder="griffinlim")
    assert "Griffin-Lim" in griffin_lim.method and griffin_lim.audio.shape == result.audio.shape
    log_mel = pipeline.result_log_mel(result)
    assert log_mel.shape == (64, pipeline.preset.mel.frames_for(16_000))
    assert pipeline.vocode_mel(log_mel, 16_000, method="diffusion", steps=2).audio.shape == (16_000,)
