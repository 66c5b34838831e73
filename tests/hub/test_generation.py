"""Hub backends on tiny random checkpoints: the same Steps-then-Result interface, trajectory, SDEdit, inpainting."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from audiolab.core.diffusion import Step
from audiolab.core.result import Result
from audiolab.generation.pipeline import GenerationBackend, GenerationRequest
from audiolab.hub.backend import HubGenerator
from tests.hub import tiny


def run(backend: HubGenerator, **settings: object) -> tuple[list[Step], Result]:
    items = list(backend.generate_iter(GenerationRequest(**settings)))  # type: ignore[arg-type]
    steps, result = items[:-1], items[-1]
    assert all(isinstance(step, Step) for step in steps) and isinstance(result, Result)
    return steps, result  # type: ignore[return-value]


def tone(rate: int, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.3 * np.sin(2 * np.pi * 440 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2).astype(np.float32)


def test_a_hub_model_is_a_generation_backend(audioldm2: HubGenerator) -> None:
    assert isinstance(audioldm2, GenerationBackend)
    assert audioldm2.sample_rate == tiny.SAMPLE_RATE_16K and audioldm2.labels == ()


def test_audioldm2_streams_decoded_steps_then_the_result(audioldm2: HubGenerator) -> None:
    steps, result = run(audioldm2, text="a hammer on wood", seconds=0.5, steps=4, guidance=3.0, keep_every=2, seed=3)
    assert [step.index for step in steps] == [0, 2, 4] and steps[-1].total == 4
    assert result.reverse == tuple(steps) and result.sample_rate == 16_000 and result.audio.shape == (8_000,)
    frames = int(0.5 * 16_000 / tiny.AUDIOLDM2_HOP)
    for step in steps:  # the VAE's mel, 16 bands × its frames, on the plots' normalised scale
        assert step.x_t.shape == step.x0_hat.shape == (1, 1, tiny.AUDIOLDM2_MELS, frames)
        assert float(step.x0_hat.abs().max()) < 50
    assert steps[0].snr_db < steps[1].snr_db < math.inf == steps[-1].snr_db
    assert "AudioLDM 2" in result.method and "4 steps" in result.method and "a hammer on wood" in result.method
    audio = result.extras["step_audio"]
    assert len(audio) == len(steps) and audio[0]["x_t"].shape == audio[0]["x0_hat"].shape == (8_000,)


def test_the_last_clean_estimate_is_close_to_the_final_latent(audioldm2: HubGenerator, stable_audio: HubGenerator,
                                                                stable_audio_3: HubGenerator) -> None:
    for backend in (audioldm2, stable_audio, stable_audio_3):
        _, result = run(backend, text="rain", seconds=0.5, steps=5, keep_every=1, seed=1)
        latents = result.extras["latents"]
        last_estimate, final = latents[-2][1], latents[-1][0]
        assert last_estimate.shape == final.shape
        # DDIM's last step lands on ᾱ_0 < 1 (set_alpha_to_one=False), the DPM-Solver and the flow land on x̂_0
        assert float((last_estimate - final).abs().max()) <= 0.05 * float(final.abs().max()) + 1e-6


def test_a_seed_gives_the_same_sound_and_another_seed_another(stable_audio: HubGenerator) -> None:
    _, first = run(stable_audio, text="wind", seconds=0.5, steps=3, seed=5)
    _, again = run(stable_audio, text="wind", seconds=0.5, steps=3, seed=5)
    _, other = run(stable_audio, text="wind", seconds=0.5, steps=3, seed=6)
    np.testing.assert_array_equal(first.audio, again.audio)
    assert not np.allclose(first.audio, other.audio)


def test_stable_audio_is_stereo_at_its_own_rate(stable_audio: HubGenerator) -> None:
    _, result = run(stable_audio, text="a bell", seconds=0.5, steps=2, negative_prompt="noise", guidance=4.0)
    assert result.sample_rate == tiny.STABLE_AUDIO_RATE and result.audio.shape == (4_000, 2)
    assert result.seconds == pytest.approx(0.5) and "negative prompt 'noise'" in result.method
    assert np.max(np.abs(result.audio)) <= 10 ** (-1 / 20) + 1e-6  # levelled: peak-limited to −1 dBFS


def test_sdedit_starts_part_way_and_strength_zero_keeps_the_reference(audioldm2: HubGenerator) -> None:
    reference = (16_000, tone(16_000))
    steps, half = run(audioldm2, text="a siren", reference=reference, strength=0.5, seconds=0.5, steps=6, keep_every=1)
    assert steps[0].total == 3 and "strength 0.50 (SDEdit)" in half.method  # 3 of 6 steps, from t = 500
    assert half.input_audio is not None and half.input_audio.shape == (8_000,)
    steps, kept = run(audioldm2, text="a siren", reference=reference, strength=0.0, seconds=0.5, steps=6)
    assert len(steps) == 1 and steps[0].snr_db == math.inf  # nothing to run: the reference's latents, decoded
    assert kept.extras["latents"][0][0].shape == half.extras["latents"][0][0].shape
    _, fresh = run(audioldm2, text="a siren", seconds=0.5, steps=6)
    assert not np.allclose(half.audio, fresh.audio)


def test_sdedit_with_stable_audio_3_mixes_the_reference_with_noise(stable_audio_3: HubGenerator) -> None:
    reference = (tiny.STABLE_AUDIO_RATE, tone(tiny.STABLE_AUDIO_RATE))
    steps, result = run(stable_audio_3, text="a bell", reference=reference, strength=0.4, seconds=0.5, steps=4,
                        keep_every=1)
    assert steps[0].total == 4 and steps[0].snr_db > -math.inf  # the compressed schedule starts at σ = 0.4
    assert result.audio.shape == (4_000, 2)


def test_inpainting_keeps_the_reference_outside_the_span(audioldm2: HubGenerator) -> None:
    reference = (16_000, tone(16_000))
    _, result = run(audioldm2, text="a dog", reference=reference, inpaint=(0.2, 0.4), seconds=0.5, steps=4)
    final = result.extras["latents"][-1][0]
    model = audioldm2.model
    kept = model.encode_audio(np.repeat(result.input_audio[None], 1, axis=0), model.latent_shape(0.5))
    rate = model.latent_frames_per_second(tuple(final.shape), 0.5)
    before, after = int(0.2 * rate), math.ceil(0.4 * rate)
    torch.testing.assert_close(final[:, :, :before], kept[:, :, :before])  # blended back in at every step
    torch.testing.assert_close(final[:, :, after:], kept[:, :, after:])
    assert not torch.allclose(final[:, :, before:after], kept[:, :, before:after])
    assert "0.2–0.4 s inpainted" in result.method


def test_stable_audio_3_inpaints_through_its_local_conditioning(stable_audio_3: HubGenerator) -> None:
    reference = (tiny.STABLE_AUDIO_RATE, tone(tiny.STABLE_AUDIO_RATE))
    _, inpainted = run(stable_audio_3, text="a bell", reference=reference, inpaint=(0.1, 0.3), seconds=0.5, steps=3)
    _, plain = run(stable_audio_3, text="a bell", seconds=0.5, steps=3)
    assert inpainted.audio.shape == plain.audio.shape == (4_000, 2)
    assert not np.allclose(inpainted.audio, plain.audio)  # the reference and its mask reached the DiT


def test_the_forward_process_in_latent_space(stable_audio_3: HubGenerator) -> None:
    result = stable_audio_3.diffuse((tiny.STABLE_AUDIO_RATE, tone(tiny.STABLE_AUDIO_RATE, 0.5)), [999, 0, 500], seed=2)
    assert [step.t for step in result.forward] == [0.0, 500.0, 999.0]
    assert result.forward[0].snr_db == math.inf and result.forward[1].snr_db == pytest.approx(0.0)
    assert len(result.extras["step_audio"]) == 3 and result.extras["step_audio"][2]["x_t"].shape == (4_000, 2)


@pytest.mark.parametrize(("settings", "message"), [
    ({"text": "x", "label": "dog"}, "not on a class label"),
    ({"text": "x", "reference": (16_000, np.ones(100, np.float32)), "reference_mode": "style"}, "style transfer"),
    ({"text": "x", "seconds": 60.0}, "makes from 0.5 to 30 s"),
    ({"text": "   "}, "prompt"),
    ({"text": "x", "steps": 0}, "step count"),
    ({"text": "x", "inpaint": (0.1, 0.2)}, "needs a reference"),
    ({"text": "x", "reference": (16_000, np.ones(100, np.float32)), "inpaint": (0.4, 0.2), "seconds": 0.5},
     "start before end"),
])
def test_bad_requests_are_refused_before_any_work(audioldm2: HubGenerator, settings: dict[str, object],
                                                  message: str) -> None:
    with pytest.raises(ValueError, match=message):
        audioldm2.check_request(GenerationRequest(**settings))  # type: ignore[arg-type]


def test_a_sampler_replaces_a_discrete_schedule_and_is_noted_where_it_cannot(audioldm2: HubGenerator,
                                                                               stable_audio: HubGenerator) -> None:
    _, result = run(audioldm2, text="rain", seconds=0.5, steps=3, sampler="dpm")
    assert "DPM-Solver++" in result.method
    _, result = run(stable_audio, text="rain", seconds=0.5, steps=2, sampler="dpm")
    assert "CosineDPMSolverMultistep" in result.method and any("not used" in note for note in result.notes)


def test_the_facade_generates_plays_steps_and_vocodes_a_hub_result(pipeline, stable_audio: HubGenerator) -> None:
    hub = pipeline.with_backend(stable_audio)
    result = hub.generate(text="a bell", seconds=0.5, steps=2, seed=0)
    assert hub.backend is stable_audio and pipeline.hub is None  # the preset's own pipeline is untouched
    assert hub.step_audio(result, 0, "x_t").shape == (4_000, 2)
    assert np.abs(hub.step_audio(result, 1, "x0_hat")).max() <= 1.0
    log_mel = hub.result_log_mel(result)  # the Vocoder tab's "last generated": the preset's mel of its audio
    assert log_mel.shape[0] == pipeline.preset.mel.n_mels
    forward = hub.diffuse((tiny.STABLE_AUDIO_RATE, tone(tiny.STABLE_AUDIO_RATE, 0.5)), [0, 999])
    assert "latent space" in forward.method and hub.step_audio(forward, 1, "x_t").shape == (4_000, 2)


def test_from_model_tells_presets_from_hub_models(pipeline, stable_audio_folder: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from audiolab.pipeline import AudioLabPipeline

    monkeypatch.setattr(AudioLabPipeline, "from_preset", classmethod(lambda cls, name, device="cpu": pipeline))
    assert AudioLabPipeline.from_model("synth-tiny") is pipeline
    hub = AudioLabPipeline.from_model(str(stable_audio_folder), device="cpu")
    assert hub.hub is not None and hub.hub.name == "stable-audio-tiny" and hub.sample_rate == pipeline.sample_rate


def test_a_time_estimate_is_measured_before_a_run(stable_audio: HubGenerator, monkeypatch: pytest.MonkeyPatch) -> None:
    request = GenerationRequest(text="rain", seconds=0.5, steps=4)
    estimate = stable_audio.estimate_seconds(request)
    assert estimate is not None and estimate > 0
    assert stable_audio.estimate_seconds(GenerationRequest(text="rain", seconds=0.5, steps=8)) > estimate
    monkeypatch.setenv("AUDIOLAB_MAX_RUN_SECONDS", "0.000001")
    with pytest.raises(ValueError, match="over this server's limit"):
        list(stable_audio.generate_iter(request))
