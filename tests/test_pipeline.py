"""The pipeline end to end on the built-in model: determinism, trajectories, every task, and refusals of bad input."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from audiolab.core.audio import normalize_loudness
from audiolab.examples import mix_at_snr
from audiolab.generation import synth
from audiolab.generation.pipeline import REFERENCE_DBFS
from audiolab.pipeline import AudioLabPipeline, Result

FAST = {"seconds": 1.0, "steps": 6}


def test_same_seed_same_audio_and_another_seed_differs(pipeline: AudioLabPipeline) -> None:
    first = pipeline.generate(label="siren", seed=3, **FAST)
    again = pipeline.generate(label="siren", seed=3, **FAST)
    other = pipeline.generate(label="siren", seed=4, **FAST)
    assert np.array_equal(first.audio, again.audio)
    assert not np.allclose(first.audio, other.audio)


def test_result_has_the_promised_audio_and_trajectory(pipeline: AudioLabPipeline) -> None:
    result = pipeline.generate(text="an ambulance passing by", seconds=1.5, steps=10, sampler="ddim", keep_every=2)
    assert isinstance(result, Result)
    assert result.sample_rate == 16_000 and result.audio.shape == (24_000,) and result.audio.dtype == np.float32
    assert np.all(np.isfinite(result.audio)) and 0 < np.max(np.abs(result.audio)) <= 1
    assert [step.index for step in result.reverse] == [0, 2, 4, 6, 8, 10]
    mels, frames = pipeline.preset.mel.n_mels, pipeline.frames_for(1.5)[1]
    assert all(step.x_t.shape == (1, 1, mels, frames) for step in result.reverse)
    assert set(result.timings) == {"encode", "sample", "vocode", "total"}
    assert "DDIM" in result.method and "an ambulance passing by" in result.method


def test_generate_iter_streams_steps_then_the_result(pipeline: AudioLabPipeline) -> None:
    items = list(pipeline.generate_iter(label="rain", keep_every=1, **FAST))
    assert all(item.__class__.__name__ == "Step" for item in items[:-1])
    assert isinstance(items[-1], Result) and len(items) - 1 == len(items[-1].reverse) == FAST["steps"] + 1


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpm", "dpm-sde", "euler", "heun", "unipc"])
def test_every_sampler_produces_finite_audio(pipeline: AudioLabPipeline, sampler: str) -> None:
    result = pipeline.generate(label="church_bell", sampler=sampler, **FAST)
    assert result.audio.shape == (16_000,) and np.all(np.isfinite(result.audio))


def test_reference_strength_zero_keeps_the_reference_mel(pipeline: AudioLabPipeline, bell: np.ndarray) -> None:
    kept = pipeline.generate(reference=bell, strength=0.0, label="siren", seconds=2.0, steps=10)
    levelled = normalize_loudness(bell, REFERENCE_DBFS)  # references are levelled like the training clips
    expected = pipeline.audio_to_mel(levelled, pipeline.frames_for(2.0)[1])
    assert torch.equal(kept.reverse[-1].x0_hat, expected)
    varied = pipeline.generate(reference=bell, strength=0.7, label="siren", seconds=2.0, steps=10)
    assert varied.reverse[-1].index == 7  # strength 0.7 of 10 steps
    assert not torch.allclose(varied.reverse[-1].x0_hat, expected, atol=0.1)


def test_long_stereo_48k_reference_is_cropped_with_a_note(pipeline: AudioLabPipeline, tmp_path: Path) -> None:
    clip = synth.synthesize("whistle", seed=1, seconds=6.0, sample_rate=48_000)
    path = tmp_path / "stereo48k.wav"
    sf.write(path, np.stack([clip, clip * 0.5], axis=1), 48_000)
    result = pipeline.generate(reference=str(path), strength=0.5, text="a whistle", **FAST)
    assert result.audio.shape == (16_000,)
    assert any("first 1 s" in note for note in result.notes)


def test_forty_second_stereo_mp3_works_in_every_task(pipeline: AudioLabPipeline, tmp_path: Path) -> None:
    if "MP3" not in sf.available_formats():
        pytest.skip("this libsndfile has no MP3 support")
    clip = np.concatenate([synth.synthesize(label, seed=1, seconds=10.0, sample_rate=44_100)
                           for label in ("siren", "rain", "whistle", "church_bell")])
    path = tmp_path / "long_stereo.mp3"
    sf.write(path, np.stack([clip, 0.7 * clip], axis=1), 44_100, format="MP3")
    variation = pipeline.generate(reference=str(path), strength=0.6, label="siren", **FAST)
    assert variation.audio.shape == (16_000,) and any("40.0 s reference" in note for note in variation.notes)
    assert abs(pipeline.vocode(str(path)).audio.size - 40 * 16_000) < 16_000 * 0.1
    assert abs(pipeline.denoise(str(path)).audio.size - 40 * 16_000) < 16_000 * 0.1
    assert any("first 10 s" in note for note in pipeline.diffuse(str(path), timesteps=[500]).notes)


def test_every_task_notes_how_it_converted_the_recording(pipeline: AudioLabPipeline, tmp_path: Path) -> None:
    clip = synth.synthesize("whistle", seed=1, seconds=2.0, sample_rate=44_100)
    path = tmp_path / "stereo44k.wav"
    sf.write(path, np.stack([clip, 0.5 * clip], axis=1), 44_100)
    results = {
        "vocode": pipeline.vocode(str(path), method="griffinlim"),
        "denoise": pipeline.denoise(str(path), method="baseline"),
        "reference": pipeline.generate(reference=str(path), strength=0.5, text="a whistle", **FAST),
        "diffuse": pipeline.diffuse(str(path), timesteps=[500]),
    }
    for task, result in results.items():
        assert any("mixed 2 channels to mono; resampled 44.1 kHz → 16 kHz" in note for note in result.notes), task
    assert pipeline.vocode(clip[:16_000], method="griffinlim").notes == ()  # a bare array is at the model's rate


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"text": ""}, "prompt is empty"),
        ({"text": "   "}, "prompt is empty"),
        ({}, "Give a text prompt, a class label or a reference"),
        ({"label": "unicorn"}, "Unknown label 'unicorn'"),
        ({"label": "siren", "steps": 0}, "step count"),
        ({"label": "siren", "steps": 5000}, "between 1 and 1000"),
        ({"label": "siren", "seconds": 0.0}, "Duration"),
        ({"label": "siren", "seconds": 600.0}, "Duration"),
        ({"label": "siren", "seconds": float("nan")}, "Duration"),
        ({"label": "siren", "sampler": "plms"}, "Unknown sampler"),
        ({"label": "siren", "guidance": 100.0}, "guidance"),
        ({"label": "siren", "seed": -1}, "seed"),
        ({"label": "siren", "reference": np.zeros(16_000, np.float32)}, "silent"),
        ({"label": "siren", "reference": np.full(16_000, np.nan, np.float32)}, "NaN"),
        ({"label": "siren", "reference": np.zeros(0, np.float32)}, "empty"),
        ({"label": "siren", "reference": np.ones(100, np.float32) * 0.1, "strength": 1.5}, "strength"),
    ],
)
def test_bad_generation_requests_raise_clear_errors(pipeline: AudioLabPipeline, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pipeline.generate(**{"steps": 4, **kwargs})


def test_guidance_zero_ignores_the_condition(pipeline: AudioLabPipeline) -> None:
    siren = pipeline.generate(label="siren", guidance=0.0, seed=1, **FAST)
    rain = pipeline.generate(label="rain", guidance=0.0, seed=1, **FAST)
    assert np.array_equal(siren.audio, rain.audio)
    guided = pipeline.generate(label="rain", guidance=3.0, seed=1, **FAST)
    assert not np.array_equal(guided.audio, rain.audio)


def test_step_audio_plays_any_kept_step(pipeline: AudioLabPipeline) -> None:
    result = pipeline.generate(label="kick_drum", **FAST)
    for index in range(len(result.reverse)):
        audio = pipeline.step_audio(result, index, "x_t")
        assert audio.shape == result.audio.shape and np.all(np.isfinite(audio))
    with pytest.raises(ValueError, match="does not exist"):
        pipeline.step_audio(result, 99)


@pytest.mark.parametrize("domain", ["mel", "waveform"])
def test_diffuse_shows_the_forward_process(pipeline: AudioLabPipeline, bell: np.ndarray, domain: str) -> None:
    result = pipeline.diffuse(bell, timesteps=[0, 500, 999], schedule="cosine", domain=domain)
    assert [step.t for step in result.forward] == [0.0, 500.0, 999.0]
    snrs = [step.snr_db for step in result.forward]
    assert snrs[0] > 30 > snrs[1] > snrs[2]
    assert torch.allclose(result.forward[0].x_t, result.forward[0].x0_hat, atol=0.05)  # t = 0 is nearly clean
    image = pipeline.display_mel(result.forward[1].x_t, result.domain)
    assert image.shape[0] == pipeline.preset.mel.n_mels
    assert pipeline.step_audio(result, 2, "x_t").shape == bell.shape
    with pytest.raises(ValueError, match="Timesteps must lie"):
        pipeline.diffuse(bell, timesteps=[1500])


def test_diffuse_draws_frame_centred_noise_where_the_network_was_trained_on_it(
        pipeline: AudioLabPipeline, bell: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    plain = pipeline.diffuse(bell, timesteps=[999], seed=1)
    generator = pipeline.generator
    preset = generator.preset
    monkeypatch.setattr(generator, "preset",
                        dataclasses.replace(preset, training=dataclasses.replace(preset.training, frame_centred_noise=True)))
    centred = pipeline.diffuse(bell, timesteps=[999], seed=1)
    waveform = pipeline.diffuse(bell, timesteps=[999], seed=1, domain="waveform")
    scale = float(pipeline.generator.schedule.alpha_bar(999).sqrt())
    x0, x_t = centred.forward[0].x0_hat, centred.forward[0].x_t
    assert torch.allclose(x_t.mean(dim=-2), scale * x0.mean(dim=-2), atol=1e-4)
    assert not torch.allclose(plain.forward[0].x_t.mean(dim=-2), scale * x0.mean(dim=-2), atol=1e-2)
    assert "frame-centred" in centred.method and "frame-centred" not in plain.method
    assert "frame-centred" not in waveform.method  # waveform noise is never centred


def test_vocode_keeps_length_and_names_its_method(pipeline: AudioLabPipeline, bell: np.ndarray) -> None:
    result = pipeline.vocode(bell[:16_001], method="griffinlim")
    assert result.audio.shape == (16_001,) and "Griffin-Lim" in result.method


def test_vocoder_and_denoiser_refuse_very_long_and_very_short_input(pipeline: AudioLabPipeline) -> None:
    long = np.tile(synth.synthesize("rain", seed=0, seconds=1.0), 121)
    with pytest.raises(ValueError, match="trim it to 120 s"):
        pipeline.vocode(long)
    with pytest.raises(ValueError, match="the limit is 600 s"):
        pipeline.denoise(np.tile(long, 5))
    with pytest.raises(ValueError, match="at least 100 ms"):
        pipeline.vocode(np.full(300, 0.1, np.float32))
    with pytest.raises(ValueError, match="iterations"):
        pipeline.vocode(long[:16_000], method="griffinlim", iterations=0)


def test_wiener_baseline_improves_snr_and_keeps_odd_lengths(pipeline: AudioLabPipeline) -> None:
    clean = synth.synthesize("whistle", seed=5, seconds=2.0)[:31_999]
    noise = np.random.default_rng(0).normal(0, 1, clean.size).astype(np.float32)
    noisy = mix_at_snr(clean, noise, 0.0)
    restored = pipeline.denoise(noisy, method="baseline").audio
    assert restored.shape == noisy.shape

    def snr(estimate: np.ndarray) -> float:
        scale = np.dot(estimate, clean) / np.dot(clean, clean)
        return 10 * np.log10(np.sum((scale * clean) ** 2) / np.sum((estimate - scale * clean) ** 2))

    assert snr(restored) > snr(noisy) + 3.0
    with pytest.raises(ValueError, match="Unknown restoration method"):
        pipeline.denoise(noisy, method="magic")  # type: ignore[arg-type]
