"""The generation backend interface: a request in, Steps and then a Result out, whoever implements it."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from audiolab.core.audio import PEAK_CEILING, level
from audiolab.core.diffusion import Step
from audiolab.core.result import Result
from audiolab.generation.pipeline import (
    BuiltinGenerator,
    GenerationBackend,
    GenerationRequest,
)
from audiolab.pipeline import AudioLabPipeline


def test_the_builtin_preset_is_a_generation_backend(pipeline: AudioLabPipeline) -> None:
    assert isinstance(pipeline.generator, BuiltinGenerator)
    assert isinstance(pipeline.generator, GenerationBackend)
    assert pipeline.generator.sample_rate == pipeline.sample_rate and pipeline.generator.labels == pipeline.labels


def test_a_request_yields_steps_then_the_result_the_facade_returns(pipeline: AudioLabPipeline) -> None:
    request = GenerationRequest(label=pipeline.labels[0], seconds=1.0, steps=4, keep_every=1, seed=3)
    items = list(pipeline.generator.generate_iter(request))
    assert all(isinstance(item, Step) for item in items[:-1]) and isinstance(items[-1], Result)
    assert len(items) - 1 == 5  # the starting noise and one Step per model step
    facade = pipeline.generate(label=pipeline.labels[0], seconds=1.0, steps=4, keep_every=1, seed=3)
    assert np.array_equal(items[-1].audio, facade.audio)  # the same computation in the same process


def test_check_request_fills_the_presets_defaults_and_refuses_bad_values(pipeline: AudioLabPipeline) -> None:
    checked = pipeline.generator.check_request(GenerationRequest(text="  ", label=pipeline.labels[1]))
    preset = pipeline.preset
    assert checked.text is None and checked.steps == preset.sampler.steps and checked.sampler == preset.sampler.name
    assert checked.seconds == preset.default_seconds and checked.guidance == preset.sampler.guidance
    with pytest.raises(ValueError, match="Duration"):
        pipeline.generator.check_request(GenerationRequest(label=pipeline.labels[0], seconds=1e6))
    with pytest.raises(ValueError, match="Give a text prompt"):
        pipeline.generator.check_request(GenerationRequest())


def test_generated_audio_leaves_the_pipeline_levelled_and_never_clipped(pipeline: AudioLabPipeline) -> None:
    for vocoder in ("griffinlim", *(("diffusion",) if pipeline.vocoder is not None else ())):
        result = pipeline.generate(label=pipeline.labels[2], seconds=1.0, steps=4, seed=5, vocoder=vocoder)
        assert float(np.max(np.abs(result.audio))) <= PEAK_CEILING
        # already levelled: levelling again changes nothing (up to float rounding of a unit gain)
        assert np.allclose(level(result.audio, pipeline.sample_rate), result.audio, atol=1e-4)
    batch = pipeline.generate_batch([(None, pipeline.labels[0]), (None, pipeline.labels[1])], [0, 1], seconds=1.0,
                                    steps=3, vocoder="griffinlim")
    assert all(float(np.max(np.abs(clip))) <= PEAK_CEILING for clip in batch)


def test_previews_stream_every_step_but_the_trajectory_keeps_only_the_kept_ones(pipeline: AudioLabPipeline) -> None:
    kept = list(pipeline.generate_iter(label=pipeline.labels[0], seconds=1.0, steps=6, keep_every=3, seed=1))
    streamed = list(pipeline.generate_iter(label=pipeline.labels[0], seconds=1.0, steps=6, keep_every=3, seed=1,
                                           preview_every=1))
    assert [step.index for step in kept[:-1]] == [0, 3, 6]
    assert [step.index for step in streamed[:-1]] == [0, 1, 2, 3, 4, 5, 6]
    assert [step.index for step in streamed[-1].reverse] == [0, 3, 6]
    assert np.array_equal(kept[-1].audio, streamed[-1].audio)
    with pytest.raises(ValueError, match="preview_every"):
        pipeline.generator.check_request(GenerationRequest(label=pipeline.labels[0], preview_every=0))


def test_frame_centred_noise_starts_every_frame_at_zero_mean_and_keeps_the_seed(
        pipeline: AudioLabPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """The preset's [sampler] frame_centred_noise: the starting x_T has no frame-mean (loudness) for the network
    to read; otherwise it is the seed's noise, so a seed still gives the same sound."""
    generator = pipeline.generator
    request = GenerationRequest(label=pipeline.labels[0], seconds=1.0, steps=2, keep_every=1, seed=5)
    plain = next(iter(generator.generate_iter(request))).x_t
    centred_preset = replace(generator.preset, sampler=replace(generator.preset.sampler, frame_centred_noise=True))
    monkeypatch.setattr(generator, "preset", centred_preset)
    first, again = list(generator.generate_iter(request)), list(generator.generate_iter(request))
    centred = first[0].x_t
    assert plain.mean(dim=-2).abs().max() > 0.05 and centred.mean(dim=-2).abs().max() < 1e-5
    bands = plain.shape[-2]
    assert torch.allclose(centred, (plain - plain.mean(dim=-2, keepdim=True)) * (bands / (bands - 1)) ** 0.5)
    np.testing.assert_array_equal(first[-1].audio, again[-1].audio)


def test_preset_guidance_interval_reaches_the_sampler_and_the_method_line(
        pipeline: AudioLabPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """[sampler] guidance_interval: the network runs the conditional and null batch only inside the interval,
    and the result says where guidance applied."""
    generator = pipeline.generator
    batches: list[int] = []
    denoise = generator._denoise_fn

    def counting(x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        batches.append(x_t.shape[0])
        return denoise(x_t, t, cond)

    monkeypatch.setattr(generator, "_denoise_fn", counting)
    request = GenerationRequest(label=pipeline.labels[0], seconds=1.0, steps=8, guidance=3.0, seed=2)
    plain = list(generator.generate_iter(request))[-1]
    assert batches == [2] * 8 and " for " not in plain.method
    batches.clear()
    limited = replace(generator.preset, sampler=replace(generator.preset.sampler, guidance_interval=(0.0, 0.5)))
    monkeypatch.setattr(generator, "preset", limited)
    result = list(generator.generate_iter(request))[-1]
    assert 1 in batches and 2 in batches and len(batches) == 8
    assert "guidance 3 for 0T ≤ t ≤ 0.5T" in result.method
