"""The flow vocoder: its log-magnitude state, its Euler sampler, its phase step, its loss and its preset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from audiolab.core.quality import log_mel_l1
from audiolab.generation import synth
from audiolab.vocoder.flow_vocoder import FlowVocoder, FlowVocoderSettings
from audiolab.vocoder.preset import build_vocoder, load_vocoder_preset
from audiolab.vocoder.stft_network import StftNetConfig

TINY = FlowVocoderSettings(net=StftNetConfig(dim=16, blocks=2, kernel_size=3, expansion=2, embedding_dim=16))


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return synth.synthesize("engine_hum", seed=11, seconds=1.0)


def _randomised(vocoder: FlowVocoder, seed: int = 0) -> FlowVocoder:
    """The untrained network with its zero output layer replaced by small random weights."""
    torch.manual_seed(seed)
    torch.nn.init.normal_(vocoder.net.output.weight, std=0.05)
    return vocoder


def test_state_inverts_to_the_floored_stft_magnitude(clip: np.ndarray) -> None:
    vocoder = FlowVocoder(TINY)
    wave = torch.from_numpy(clip)[None]
    sigma = vocoder.envelope(vocoder.mel.log_mel(wave))
    magnitude = torch.stft(wave, 1024, 256, window=torch.hann_window(1024), return_complex=True).abs()
    restored = vocoder.to_magnitude(vocoder.to_state(wave, sigma), sigma)
    assert torch.allclose(restored, magnitude.clamp_min(TINY.magnitude_floor), rtol=1e-4)


def test_envelope_whitens_white_noise_whatever_its_level() -> None:
    vocoder = FlowVocoder(TINY)
    sizes = []
    for level in (0.3, 0.003):  # 40 dB apart: the state's size follows the mel, not the level
        wave = torch.randn(1, 32_000, generator=torch.Generator().manual_seed(1)) * level
        state = vocoder.to_state(wave, vocoder.envelope(vocoder.mel.log_mel(wave)))
        sizes.append((state[..., 2:-2].mean().item(), state[..., 2:-2].std().item()))
    for mean, spread in sizes:
        assert abs(mean) < 0.5 and 0.3 < spread < 1.2, sizes  # a Rayleigh magnitude's log spreads about 0.75
    assert sizes[0] == pytest.approx(sizes[1], abs=0.05)


def test_an_untrained_network_returns_the_envelope_whatever_the_noise(clip: np.ndarray) -> None:
    """The last layer starts at zero and k(0) = 0, so a one-step ẑ_1 is z = 0: the mel's envelope, for any seed."""
    vocoder = FlowVocoder(TINY)
    log_mel = vocoder.mel.log_mel(clip)
    first = list(vocoder.sample_iter(log_mel, clip.size, steps=1, seed=0))
    second = list(vocoder.sample_iter(log_mel, clip.size, steps=1, seed=1))
    assert not torch.equal(first[0].x_t, second[0].x_t)  # different sources
    assert torch.equal(first[-1].x0_hat, second[-1].x0_hat)  # the same end: the phase step is seeded too


def test_phase_from_the_true_magnitude_rebuilds_the_clip(clip: np.ndarray) -> None:
    """The phase step alone: fast Griffin-Lim from the clip's own magnitude comes back close in log-mel."""
    vocoder = FlowVocoder(TINY)
    wave = torch.from_numpy(clip)[None]
    sigma = vocoder.envelope(vocoder.mel.log_mel(wave))
    rebuilt = vocoder.to_wave(vocoder.to_state(wave, sigma), sigma, clip.size, iterations=64)[0].numpy()
    from dataclasses import replace

    bare = FlowVocoder(replace(TINY, projection_iterations=0, refine_iterations=0), vocoder.net)
    envelope_only = bare.vocode(vocoder.mel.log_mel(clip), clip.size, steps=1)
    assert log_mel_l1(clip, rebuilt) < 0.5 * log_mel_l1(clip, envelope_only)


def test_refining_to_the_mel_lowers_the_log_mel_error(clip: np.ndarray) -> None:
    """Alternating projections onto consistent STFTs and the mel improve any start, here the envelope's."""
    from dataclasses import replace

    log_mel = torch.as_tensor(FlowVocoder(TINY).mel.log_mel(clip))
    plain = FlowVocoder(replace(TINY, refine_iterations=0)).vocode(log_mel, clip.size, steps=1)
    refined = FlowVocoder(replace(TINY, refine_iterations=16)).vocode(log_mel, clip.size, steps=1)
    assert log_mel_l1(clip, refined) < 0.8 * log_mel_l1(clip, plain)


def test_trajectory_runs_from_the_noisy_source_to_its_last_estimate(clip: np.ndarray) -> None:
    vocoder = _randomised(FlowVocoder(TINY))
    steps = list(vocoder.sample_iter(vocoder.mel.log_mel(clip), clip.size, steps=4, seed=0))
    assert [step.index for step in steps] == [0, 1, 2, 3, 4]
    assert all(step.x_t.shape == (1, clip.size) and step.x0_hat.shape == (1, clip.size) for step in steps)
    assert [step.t for step in steps] == pytest.approx([1.0, 0.75, 0.5, 0.25, 0.0])
    assert torch.equal(steps[-1].x_t, steps[-1].x0_hat)
    assert "τ" in steps[0].label
    # without previews only the end comes, and it is the same audio
    only = list(vocoder.sample_iter(vocoder.mel.log_mel(clip), clip.size, steps=4, seed=0, previews=False))
    assert len(only) == 1 and torch.equal(only[0].x0_hat, steps[-1].x0_hat)


def test_sampling_is_seeded(clip: np.ndarray) -> None:
    vocoder = _randomised(FlowVocoder(TINY))
    log_mel = vocoder.mel.log_mel(clip)
    first = vocoder.vocode(log_mel, clip.size, steps=3, seed=0)
    assert first.shape == clip.shape and first.dtype == np.float32 and np.all(np.abs(first) <= 1.0)
    assert np.array_equal(first, vocoder.vocode(log_mel, clip.size, steps=3, seed=0))
    assert not np.allclose(first, vocoder.vocode(log_mel, clip.size, steps=3, seed=1))


def test_n_steps_cost_n_network_calls(clip: np.ndarray) -> None:
    vocoder = FlowVocoder(TINY)
    calls = []
    handle = vocoder.net.register_forward_hook(lambda *args: calls.append(1))
    try:
        vocoder.vocode(vocoder.mel.log_mel(clip), clip.size, steps=6)
    finally:
        handle.remove()
    assert len(calls) == 6


@pytest.mark.parametrize("steps", [0, 101, 2.5, True])
def test_step_counts_out_of_range_are_refused(clip: np.ndarray, steps) -> None:
    vocoder = FlowVocoder(TINY)
    with pytest.raises(ValueError, match="from 1 to 100"):
        vocoder.vocode(vocoder.mel.log_mel(clip), clip.size, steps=steps)


def test_bad_mels_and_samplers_are_refused(clip: np.ndarray) -> None:
    vocoder = FlowVocoder(TINY)
    with pytest.raises(ValueError, match="64-band"):
        vocoder.vocode(torch.zeros(80, 20))
    with pytest.raises(ValueError, match="NaN"):
        vocoder.vocode(torch.full((64, 20), float("nan")))
    with pytest.raises(ValueError, match="euler"):
        vocoder.vocode(vocoder.mel.log_mel(clip), sampler="ddim")


def test_training_steps_lower_the_loss(clip: np.ndarray) -> None:
    """A few optimiser steps on one clip: the loss falls."""
    torch.manual_seed(0)
    vocoder = FlowVocoder(TINY)
    wave = torch.from_numpy(clip)[None].repeat(4, 1)
    optimizer = torch.optim.Adam(vocoder.net.parameters(), lr=3e-3)
    losses = []
    for step in range(60):
        loss = vocoder.loss(wave, torch.Generator().manual_seed(step % 4))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    # the same four draws of τ and noise repeat, so whole cycles compare like with like
    assert np.isfinite(losses).all() and np.mean(losses[-4:]) < 0.9 * np.mean(losses[:4]), losses


def test_flow_preset_loads_and_builds_a_flow_vocoder() -> None:
    preset = load_vocoder_preset("vocoder-flow-16k")
    assert isinstance(preset.settings, FlowVocoderSettings) and preset.settings.steps == 6
    vocoder = build_vocoder(preset.settings)
    assert isinstance(vocoder, FlowVocoder)
    megabytes = 2 * sum(p.numel() for p in vocoder.net.parameters()) / 1e6  # float16
    assert megabytes < 20


def test_flow_preset_errors_name_the_problem(tmp_path: Path) -> None:
    text = Path(load_vocoder_preset("vocoder-flow-16k").path).read_text()
    both = tmp_path / "both.toml"
    both.write_text(text + "\n[diffusion]\nprior = \"mel\"\n")
    with pytest.raises(ValueError, match="not both"):
        load_vocoder_preset(both)
    unknown = tmp_path / "unknown.toml"
    unknown.write_text(text.replace("source_noise = 1.0", "source_noise = 1.0\nnoise_level = 2"))
    with pytest.raises(ValueError, match="noise_level"):
        load_vocoder_preset(unknown)
    sampler = tmp_path / "sampler.toml"
    sampler.write_text(text.replace('sampler = "euler"', 'sampler = "ddim"'))
    with pytest.raises(ValueError, match="euler"):
        load_vocoder_preset(sampler)


def test_preconditioning_is_the_best_linear_estimate_at_both_ends() -> None:
    """k(0) = 0 (the state is only noise around the envelope), k(1) = 1 (the state is the answer); c(1) = 0."""
    vocoder = FlowVocoder(TINY)
    skip, scale = vocoder.preconditioning(torch.tensor([0.0, 0.5, 1.0]))
    rho, s = TINY.residual_std, TINY.source_noise
    assert skip.flatten().tolist() == pytest.approx([0.0, 0.5 * rho**2 / (0.25 * rho**2 + 0.25 * s**2), 1.0])
    assert scale.flatten().tolist() == pytest.approx([rho, (rho**2 * 0.25 * s**2 / (0.25 * rho**2 + 0.25 * s**2)) ** 0.5, 0.0])


def test_the_envelope_alone_is_a_sane_baseline(clip: np.ndarray) -> None:
    """Where the flow starts from already has the clip's mel roughly right (the prior is data-dependent)."""
    vocoder = FlowVocoder(TINY)
    out = vocoder.vocode(vocoder.mel.log_mel(clip), clip.size, steps=1)
    assert log_mel_l1(clip, out) < 0.6


def test_temperature_zero_starts_at_the_envelope_and_ignores_the_seed(clip: np.ndarray) -> None:
    """At temperature 0 the flow runs its ODE from the prior's mean: one deterministic path; above 0 the seed counts."""
    from dataclasses import replace

    cold = _randomised(FlowVocoder(replace(TINY, temperature=0.0)))
    log_mel = cold.mel.log_mel(clip)
    first = cold.vocode(log_mel, clip.size, steps=3, seed=0)
    assert np.array_equal(first, cold.vocode(log_mel, clip.size, steps=3, seed=1))
    assert torch.count_nonzero(next(cold.sample_iter(log_mel, clip.size, steps=3, seed=0)).x_t) > 0  # audible
    warm = FlowVocoder(replace(TINY, temperature=0.5), cold.net)
    assert not np.allclose(warm.vocode(log_mel, clip.size, steps=3, seed=0), warm.vocode(log_mel, clip.size, steps=3, seed=1))
    with pytest.raises(ValueError, match="temperature"):
        replace(TINY, temperature=3.0)


@pytest.mark.parametrize(("method", "expected"), [
    ("diffusion-6", ("diffusion", 6, None, None)),
    ("diffusion-12-p0", ("diffusion", 12, 0, None)),
    ("diffusion-6-t0.2", ("diffusion", 6, None, 0.2)),
    ("diffusion-50-p8-t0", ("diffusion", 50, 8, 0.0)),
    ("griffinlim-100", ("griffinlim", 100, None, None)),
])
def test_eval_methods_parse(method: str, expected: tuple) -> None:
    from dataclasses import astuple

    from audiolab.vocoder.evaluate import parse_method

    assert astuple(parse_method(method)) == expected


@pytest.mark.parametrize("method", ["diffusion", "griffinlim-100-p0", "diffusion-6-t", "diffusion-6-x1",
                                    "diffusion-6-p1-p2", "wavenet-3"])
def test_bad_eval_methods_are_refused(method: str) -> None:
    from audiolab.vocoder.evaluate import parse_method

    with pytest.raises(ValueError, match="diffusion-STEPS"):
        parse_method(method)


def test_the_shipped_flow_vocoder_improves_on_its_start_for_unheard_speech() -> None:
    """LJ Speech (a reader it never heard): the 6-step end beats the envelope it starts from on log-mel L1 and the
    multi-resolution STFT distance, and beats Griffin-Lim (32 iterations) on the latter."""
    from audiolab.core.audio import load_audio
    from audiolab.core.quality import mr_stft_distance
    from audiolab.vocoder.preset import load_vocoder

    clip = load_audio(Path(__file__).resolve().parents[2] / "audiolab/example_audio/declip-30pct-clean.flac", 16_000)
    vocoder = load_vocoder(load_vocoder_preset("vocoder-flow-16k"))
    log_mel = vocoder.mel.log_mel(clip)
    steps = list(vocoder.sample_iter(log_mel, clip.size, steps=6, seed=0))
    start, end = steps[0].x_t[0].numpy(), steps[-1].x0_hat[0].numpy()
    assert log_mel_l1(clip, end) < 0.8 * log_mel_l1(clip, start)
    assert mr_stft_distance(clip, end) < mr_stft_distance(clip, start)
    griffin_lim = vocoder.mel.griffin_lim(log_mel, 32, num_samples=clip.size)
    assert mr_stft_distance(clip, end) < mr_stft_distance(clip, griffin_lim)
