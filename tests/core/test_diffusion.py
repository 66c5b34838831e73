"""The diffusion core: schedules, the closed-form forward process, and every sampler on a problem with a known answer."""

from __future__ import annotations

import math

import pytest
import torch

from audiolab.core.diffusion import (
    SAMPLERS,
    Schedule,
    check_steps,
    forward_trajectory,
    frame_centred,
    guidance_at,
    make_scheduler,
    run_to_end,
    sample,
)

MU, SIGMA = 0.7, 0.3  # x_0 ~ N(MU, SIGMA²): the exact denoiser is known in closed form


def gaussian_denoiser(schedule: Schedule):
    """E[ε | x_t] for x_0 ~ N(μ, s²): sqrt(1−ᾱ)(x_t − sqrt(ᾱ)μ) / (ᾱ s² + 1 − ᾱ)."""

    def denoise(x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        alpha_bar = schedule.alpha_bar(t[0]).to(x_t.dtype)
        return (1 - alpha_bar).sqrt() * (x_t - alpha_bar.sqrt() * MU) / (alpha_bar * SIGMA**2 + 1 - alpha_bar)

    return denoise


def gaussian_v_denoiser(schedule: Schedule):
    """E[v | x_t] = sqrt(ᾱ)·E[ε | x_t] − sqrt(1−ᾱ)·E[x_0 | x_t], with E[x_0 | x_t] = μ + sqrt(ᾱ)s²(x_t − sqrt(ᾱ)μ)/(ᾱs² + 1 − ᾱ),
    which stays finite where ᾱ → 0."""

    def denoise(x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        alpha_bar = schedule.alpha_bar(t[0]).to(x_t.dtype)
        variance = alpha_bar * SIGMA**2 + 1 - alpha_bar
        eps = (1 - alpha_bar).sqrt() * (x_t - alpha_bar.sqrt() * MU) / variance
        x0 = MU + alpha_bar.sqrt() * SIGMA**2 * (x_t - alpha_bar.sqrt() * MU) / variance
        return alpha_bar.sqrt() * eps - (1 - alpha_bar).sqrt() * x0

    return denoise


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_forward_process_matches_closed_form(kind: str) -> None:
    schedule = Schedule(kind)
    x0 = torch.full((200_000,), 0.8)
    generator = torch.Generator().manual_seed(0)
    for t in (0, 100, 500, 900):
        x_t = schedule.add_noise(x0, t, torch.randn(x0.shape, generator=generator))
        alpha_bar = float(schedule.alphas_cumprod[t])
        assert float(x_t.mean()) == pytest.approx(math.sqrt(alpha_bar) * 0.8, abs=0.01)
        assert float(x_t.var()) == pytest.approx(1 - alpha_bar, abs=0.01)


def test_schedules_are_monotone_and_snr_decreases() -> None:
    for kind in ("linear", "cosine"):
        schedule = Schedule(kind)
        alpha_bar = schedule.alphas_cumprod
        assert alpha_bar.shape == (1000,)
        assert torch.all(alpha_bar[1:] < alpha_bar[:-1])
        snr = schedule.snr(torch.arange(1000).double())
        assert torch.all(snr[1:] < snr[:-1])
        assert float(schedule.snr_db(0)) > 30 and float(schedule.snr_db(999)) < -30
    # the cosine schedule keeps more signal half-way than the linear one (Nichol & Dhariwal 2021, fig. 3)
    assert Schedule("cosine").alphas_cumprod[500] > Schedule("linear").alphas_cumprod[500]


def test_fractional_alpha_bar_interpolates_between_neighbours() -> None:
    schedule = Schedule("linear")
    assert float(schedule.alpha_bar(10.0)) == pytest.approx(float(schedule.alphas_cumprod[10]))
    middle = float(schedule.alpha_bar(10.5))
    assert float(schedule.alphas_cumprod[11]) < middle < float(schedule.alphas_cumprod[10])


def test_predict_x0_inverts_add_noise() -> None:
    schedule = Schedule("cosine")
    x0, noise = torch.randn(4, 8), torch.randn(4, 8)
    x_t = schedule.add_noise(x0, 300, noise)
    assert torch.allclose(schedule.predict_x0(x_t, 300, noise), x0, atol=1e-5)
    assert torch.allclose(schedule.eps_from_x0(x_t, 300, x0), noise, atol=1e-5)


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_every_sampler_recovers_the_gaussian_it_was_given(sampler: str, kind: str) -> None:
    schedule = Schedule(kind)
    noise = torch.randn(1, 20_000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    # DDPM's ancestral steps ignore the uncertainty in x̂_0 and shrink the variance at few steps
    # (Bao et al. 2022, Analytic-DPM), so it gets more of them; the deterministic solvers converge by 50
    steps = 250 if sampler == "ddpm" else 50
    final, _ = run_to_end(
        sample(gaussian_denoiser(schedule), make_scheduler(sampler, schedule), schedule, noise, steps=steps,
               generator=torch.Generator().manual_seed(2))
    )
    samples = final.x0_hat.float()
    assert float(samples.mean()) == pytest.approx(MU, abs=0.02)
    assert float(samples.std()) == pytest.approx(SIGMA, rel=0.1)


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_every_sampler_recovers_the_gaussian_from_v_on_a_zero_terminal_snr_schedule(sampler: str) -> None:
    schedule = Schedule("linear", prediction="v_prediction", zero_terminal_snr=True)
    noise = torch.randn(1, 20_000, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    steps = 250 if sampler == "ddpm" else 50
    trajectory = list(sample(gaussian_v_denoiser(schedule), make_scheduler(sampler, schedule), schedule, noise,
                             steps=steps, generator=torch.Generator().manual_seed(2)))
    # at the first step (pure noise) x̂_0 is already the data's mean: the network's guess, not the noise's layout
    first = trajectory[0].x0_hat.float()
    assert float(first.mean()) == pytest.approx(MU, abs=0.01)
    assert float(first.std()) < 0.01
    samples = trajectory[-1].x0_hat.float()
    assert float(samples.mean()) == pytest.approx(MU, abs=0.02)
    assert float(samples.std()) == pytest.approx(SIGMA, rel=0.1)


def test_zero_terminal_snr_keeps_the_clean_end_and_reaches_pure_noise() -> None:
    plain = Schedule("linear")
    rescaled = Schedule("linear", zero_terminal_snr=True)
    assert float(rescaled.alphas_cumprod[0]) == pytest.approx(float(plain.alphas_cumprod[0]))
    assert plain.terminal_snr_db > -50 and rescaled.terminal_snr_db < -70
    assert torch.all(rescaled.alphas_cumprod[1:] < rescaled.alphas_cumprod[:-1])
    assert torch.all((rescaled.betas > 0) & (rescaled.betas < 1))
    # every diffusers scheduler is handed the same rescaled schedule
    for name in SAMPLERS:
        scheduler = make_scheduler(name, rescaled)
        assert torch.allclose(scheduler.alphas_cumprod.double(), rescaled.alphas_cumprod, rtol=1e-4)


def test_v_target_and_estimates_invert_each_other() -> None:
    schedule = Schedule("cosine", prediction="v_prediction", zero_terminal_snr=True)
    x0, noise = torch.randn(3, 8), torch.randn(3, 8)
    t = torch.tensor([0, 400, 999])
    x_t = schedule.add_noise(x0, t, noise)
    v = schedule.training_target(x0, noise, t)
    assert torch.allclose(schedule.x0_from_output(x_t, t, v), x0, atol=1e-4)
    assert torch.allclose(schedule.output_from_x0(x_t, t, x0), v, atol=1e-4)
    # at pure noise v = −x_0: the network's output is the sound itself
    assert torch.allclose(v[2], -x0[2], atol=1e-3)


def test_min_snr_weights_match_their_closed_form() -> None:
    t = torch.tensor([0, 500, 999])
    for prediction in ("epsilon", "v_prediction"):
        schedule = Schedule("linear", prediction=prediction, zero_terminal_snr=True)
        snr = schedule.snr(t).float()
        expected = (torch.clamp(snr, max=5.0) / snr if prediction == "epsilon"
                    else torch.clamp(snr + 1, max=5.0) / (snr + 1))
        assert torch.allclose(schedule.loss_weights(t, 5.0), expected)
    weights = Schedule("linear", prediction="v_prediction", zero_terminal_snr=True).loss_weights(t, 5.0)
    assert float(weights[0]) < 0.01 and float(weights[2]) == pytest.approx(1.0)  # the pure-noise step keeps its weight


def test_trajectory_keeps_every_kth_step_with_labels() -> None:
    schedule = Schedule("cosine")
    noise = torch.randn(1, 64, generator=torch.Generator().manual_seed(0))
    steps = list(sample(gaussian_denoiser(schedule), make_scheduler("ddim", schedule), schedule, noise, 20, keep_every=5))
    assert [s.index for s in steps] == [0, 5, 10, 15, 20]
    assert [s.t for s in steps][:-1] == sorted([s.t for s in steps][:-1], reverse=True)
    assert steps[0].t == 999  # "trailing" spacing starts at the noisiest step
    assert steps[-1].t == 0 and math.isinf(steps[-1].snr_db) and torch.equal(steps[-1].x_t, steps[-1].x0_hat)
    assert all(s.total == 20 for s in steps)
    assert steps[1].label.startswith("step 5/20 · t=") and "SNR" in steps[1].label and steps[1].label.endswith("dB")
    assert steps[-1].label == "step 20/20 · t=0 · clean"


def test_heun_counts_both_evaluations_per_step() -> None:
    schedule = Schedule("cosine")
    steps = list(sample(gaussian_denoiser(schedule), make_scheduler("heun", schedule), schedule, torch.randn(1, 8), 6))
    assert steps[-1].index == 11  # 6 steps = 11 model evaluations (the last step is a plain Euler step)


def test_classifier_free_guidance_combines_the_two_predictions() -> None:
    schedule = Schedule("linear")
    cond, uncond = torch.ones(1, 3), torch.zeros(1, 3)

    def denoiser(x_t: torch.Tensor, t: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        # ε = 1 under the condition, 0 under the null: guidance w must give exactly w
        return c[:, :1].reshape(-1, 1, 1).expand_as(x_t).clone()

    for guidance, expected in ((0.0, 0.0), (1.0, 1.0), (3.0, 3.0)):
        first = next(sample(denoiser, make_scheduler("ddim", schedule), schedule, torch.zeros(1, 1, 4), 10,
                            cond=cond, uncond=uncond, guidance=guidance))
        # x̂_0 = (x_t − sqrt(1−ᾱ)·ε)/sqrt(ᾱ) with x_t = 0 recovers ε
        alpha_bar = schedule.alpha_bar(first.t)
        eps = -first.x0_hat * alpha_bar.sqrt() / (1 - alpha_bar).sqrt()
        assert torch.allclose(eps.float(), torch.full_like(eps.float(), expected), atol=1e-4)


def test_guidance_interval_guides_only_inside_it_at_one_evaluation_outside() -> None:
    """Kynkäänniemi et al. (2024): outside lo ≤ t/T ≤ hi the conditional prediction alone, in one network call."""
    schedule = Schedule("linear")
    cond, uncond = torch.ones(1, 3), torch.zeros(1, 3)
    calls: list[tuple[float, int]] = []

    def denoiser(x_t: torch.Tensor, t: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        calls.append((float(t[0]), x_t.shape[0]))
        return c[:, :1].reshape(-1, 1, 1).expand_as(x_t).clone()

    steps = list(sample(denoiser, make_scheduler("ddim", schedule), schedule, torch.zeros(1, 1, 4), 10,
                        cond=cond, uncond=uncond, guidance=3.0, guidance_interval=(0.2, 0.6)))
    assert len(calls) == 10
    for t, batch in calls:
        assert batch == (2 if 0.2 <= t / 1000 <= 0.6 else 1)
    # the first step, from x_t = 0, is outside: its ε is the conditional one, 1, not the guided 3
    assert calls[0][0] / 1000 > 0.6
    alpha_bar = schedule.alpha_bar(steps[0].t)
    eps = -steps[0].x0_hat * alpha_bar.sqrt() / (1 - alpha_bar).sqrt()
    assert torch.allclose(eps.float(), torch.ones_like(eps.float()), atol=1e-4)
    assert any(batch == 2 for _, batch in calls) and any(batch == 1 for _, batch in calls)


def test_guidance_at_is_the_scale_inside_and_one_outside_but_never_raises_a_scale_below_one() -> None:
    assert guidance_at(4.0, 500.0, 1000, (0.0, 0.6)) == 4.0
    assert guidance_at(4.0, 600.0, 1000, (0.0, 0.6)) == 4.0  # the ends belong to the interval
    assert guidance_at(4.0, 601.0, 1000, (0.0, 0.6)) == 1.0
    assert guidance_at(0.0, 900.0, 1000, (0.0, 0.6)) == 0.0  # unconditional stays unconditional
    with pytest.raises(ValueError, match="0 ≤ lo < hi ≤ 1"):
        list(sample(lambda x, t, c: x, make_scheduler("ddim", Schedule("linear")), Schedule("linear"),
                    torch.zeros(1, 4), 4, guidance_interval=(0.5, 0.5)))


def test_sdedit_strength_zero_returns_the_start_and_partial_strength_runs_fewer_steps() -> None:
    schedule = Schedule("cosine")
    init = torch.full((1, 32), 0.5)
    denoiser = gaussian_denoiser(schedule)
    steps = list(sample(denoiser, make_scheduler("dpm", schedule), schedule, torch.randn(1, 32), 20, init=init, strength=0.0))
    assert len(steps) == 1 and torch.equal(steps[0].x0_hat, init)
    steps = list(sample(denoiser, make_scheduler("dpm", schedule), schedule, torch.randn(1, 32), 20, init=init, strength=0.5))
    assert steps[-1].index == 10 and steps[0].t < 600


def test_x0_clipping_bounds_the_estimate_for_every_sampler() -> None:
    schedule = Schedule("cosine")

    def wild(x_t: torch.Tensor, t: torch.Tensor, c: torch.Tensor | None) -> torch.Tensor:
        return x_t * 0 + 5.0  # a badly wrong ε: unclipped, x̂_0 explodes near t = T

    for name in SAMPLERS:
        steps = list(sample(wild, make_scheduler(name, schedule), schedule, torch.randn(1, 16), 8, x0_range=(-2.0, 3.0)))
        assert all(float(s.x0_hat.min()) >= -2.0 - 1e-5 and float(s.x0_hat.max()) <= 3.0 + 1e-5 for s in steps), name


def test_forward_trajectory_shares_one_noise_draw() -> None:
    schedule = Schedule("linear")
    x0 = torch.zeros(1, 100)
    steps = forward_trajectory(schedule, x0, [999, 0, 500], torch.Generator().manual_seed(0))
    assert [s.t for s in steps] == [0.0, 500.0, 999.0]
    # with x_0 = 0 every x_t is the same ε scaled by sqrt(1 − ᾱ_t)
    ratio = steps[2].x_t / steps[1].x_t
    assert torch.allclose(ratio, ratio.mean().expand_as(ratio), atol=1e-4)
    with pytest.raises(ValueError, match="Timesteps must lie"):
        forward_trajectory(schedule, x0, [1000])


def test_centred_forward_trajectory_keeps_each_frame_mean_to_the_scaled_clean_one() -> None:
    schedule = Schedule("linear")
    x0 = torch.linspace(-2.0, 2.0, 40).reshape(1, 1, 1, 40).expand(1, 1, 16, 40).contiguous()  # a loudness ramp
    generator = torch.Generator().manual_seed(0)
    centred = forward_trajectory(schedule, x0, [300, 999], generator, centred=True)
    for step in centred:
        scale = float(schedule.alpha_bar(int(step.t)).sqrt())
        assert torch.allclose(step.x_t.mean(dim=-2), scale * x0.mean(dim=-2), atol=1e-5)
    plain = forward_trajectory(schedule, x0, [999], torch.Generator().manual_seed(0))
    assert not torch.allclose(plain[0].x_t.mean(dim=-2), float(schedule.alpha_bar(999).sqrt()) * x0.mean(dim=-2),
                              atol=1e-2)


@pytest.mark.parametrize("bad", [0, -3, 1001, 2.5, True, "25"])
def test_absurd_step_counts_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="step count"):
        check_steps(bad)  # type: ignore[arg-type]


def test_unknown_prediction_is_refused() -> None:
    with pytest.raises(ValueError, match="prediction"):
        Schedule("linear", prediction="x0")  # type: ignore[arg-type]


def test_unknown_sampler_and_schedule_are_refused() -> None:
    with pytest.raises(ValueError, match="Unknown sampler 'plms'"):
        make_scheduler("plms", Schedule())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unknown beta schedule"):
        Schedule("sigmoid")  # type: ignore[arg-type]
    schedule = Schedule()
    noise = torch.randn(1, 4)
    with pytest.raises(ValueError, match="guidance"):
        list(sample(gaussian_denoiser(schedule), make_scheduler("dpm", schedule), schedule, noise, 10, guidance=-1))


def test_frame_centred_noise_has_zero_frame_means_unit_variance_and_refuses_one_band() -> None:
    noise = torch.randn((2, 1, 64, 4000), generator=torch.Generator().manual_seed(0))
    centred = frame_centred(noise)
    assert centred.mean(dim=-2).abs().max() < 1e-5
    assert centred.var().item() == pytest.approx(1.0, abs=0.01)
    with pytest.raises(ValueError, match="two bands"):
        frame_centred(torch.randn(1, 1, 1, 10))
