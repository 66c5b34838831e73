"""The class prior: class spectra from levelled clips, their weighted mix, and a reverse process that starts from it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from audiolab.core.audio import MelTransform
from audiolab.generation.class_prior import (
    ClassTimings,
    class_prior_statistics,
    class_spectra,
    class_timings,
    clip_envelope,
    louder_half_spectrum,
    prior_log_mel,
)
from audiolab.generation.mel_unet import MelDenoiser, transplant_weights
from audiolab.generation.preset import load_generator, load_preset, save_generator
from audiolab.pipeline import AudioLabPipeline

RATE = 16_000


def test_louder_half_spectrum_leaves_out_the_quiet_frames() -> None:
    log_mel = torch.tensor([[0.0, 0.0, 4.0, 6.0, 8.0], [-2.0, -2.0, 2.0, 4.0, 6.0]])  # frame energies -1 -1 3 5 7
    assert torch.allclose(louder_half_spectrum(log_mel), torch.tensor([6.0, 4.0]))


def test_clip_envelope_is_the_frame_energy_about_the_louder_half() -> None:
    log_mel = torch.tensor([[0.0, 0.0, 4.0, 6.0, 8.0], [-2.0, -2.0, 2.0, 4.0, 6.0]])  # frame energies -1 -1 3 5 7
    envelope = clip_envelope(log_mel)
    assert torch.allclose(envelope, torch.tensor([-6.0, -6.0, -2.0, 0.0, 2.0]))
    # the curve on top of the louder half's spectrum gives back each frame's energy
    assert torch.allclose(louder_half_spectrum(log_mel).mean() + envelope, log_mel.mean(0))


def test_class_timings_follow_each_clips_loudness_and_ignore_its_level() -> None:
    """A hiss that starts half-way has a curve that rises half-way; 20 dB quieter it has the same curve; a
    shorter clip is continued at its quietest value."""
    preset = load_preset("synth-tiny")
    transform = MelTransform(preset.mel)
    hiss = (0.1 * np.random.default_rng(0).standard_normal(RATE)).astype(np.float32)
    late = np.concatenate([np.zeros(RATE // 2, np.float32), hiss[: RATE // 2]])
    timings = class_timings([late, late / 10, hiss[: RATE // 2]], [0, 0, 1], transform)
    frames = timings.envelopes.shape[1]
    assert timings.envelopes.shape == (3, frames) and timings.labels.tolist() == [0, 0, 1]
    first, second = timings.envelopes[0], timings.envelopes[1]
    assert float(first[: frames // 2 - 2].mean()) < float(first[frames // 2 + 2 :].mean()) - 5.0
    assert torch.allclose(first, second, atol=1e-2)
    short = timings.envelopes[2]
    assert torch.all(short[frames // 2 + 2 :] == short.min())
    with pytest.raises(ValueError, match="one label for each"):
        class_timings([hiss], [0, 1], transform)
    spectra, together = class_prior_statistics([late, late / 10, hiss[: RATE // 2]], [0, 0, 1], 2, transform)
    assert torch.equal(together.envelopes, timings.envelopes)
    assert torch.equal(spectra, class_spectra([late, late / 10, hiss[: RATE // 2]], [0, 0, 1], 2, transform))


def test_class_timings_pick_a_curve_of_the_weighted_class() -> None:
    envelopes = torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0], [10.0, 11.0, 12.0, 13.0, 14.0], [20.0, 21.0, 22.0, 23.0, 24.0]])
    timings = ClassTimings(envelopes, torch.tensor([0, 1, 1]))
    seen = set()
    for seed in range(20):
        curve, chosen = timings.pick(torch.tensor([0.0, 1.0, 0.0]), 3, (seed, 7))
        assert chosen == 1 and curve.shape == (3,) and float(curve[0]) >= 10.0
        assert torch.equal(curve, torch.arange(3.0) + curve[0])  # three running frames of one curve
        seen.add(float(curve[0]))
    assert {10.0, 20.0} <= seen  # both curves of class 1, at more than one start
    again, _ = timings.pick(torch.tensor([0.0, 1.0, 0.0]), 3, (5, 7))
    assert torch.equal(again, timings.pick(torch.tensor([0.0, 1.0, 0.0]), 3, (5, 7))[0])
    long, chosen = timings.pick(torch.tensor([1.0, 0.0, 0.0]), 12, (0, 7))
    assert chosen == 0 and torch.equal(long, torch.arange(5.0).repeat(3)[:12])  # continued with the class's curves
    _, chosen = timings.pick(torch.tensor([1.0, 1.0, 5.0]), 2, (0, 7))
    assert chosen in (0, 1)  # class 2 has no curve, so its weight counts for nothing
    for weights in (torch.tensor([0.0, 0.0, 1.0]), torch.tensor([-1.0, 1.0, 0.0]), torch.tensor([float("nan"), 1, 0])):
        with pytest.raises(ValueError, match="weight|curve"):
            timings.pick(weights, 3, (0, 7))
    with pytest.raises(ValueError, match="one class label"):
        ClassTimings(envelopes, torch.tensor([0, 1]))


def test_class_timings_draw_each_class_from_its_own_stream() -> None:
    """Two classes with the same curves, at one seed: their recording and start come from streams of their own, so
    one seed does not give every class the same place in its curves; each class's draw still repeats."""
    curves = torch.arange(40.0).reshape(4, 10)
    timings = ClassTimings(torch.cat([curves, curves]), torch.tensor([0, 0, 0, 0, 1, 1, 1, 1]))
    differ = 0
    for seed in range(20):
        first, _ = timings.pick(torch.tensor([1.0, 0.0]), 3, (seed, 7))
        second, _ = timings.pick(torch.tensor([0.0, 1.0]), 3, (seed, 7))
        differ += not torch.equal(first, second)
        assert torch.equal(first, timings.pick(torch.tensor([1.0, 0.0]), 3, (seed, 7))[0])
    assert differ >= 15


def test_class_spectra_are_means_of_levelled_clips() -> None:
    """A clip and the same clip 20 dB quieter give one spectrum; a class with no clips gets the mean of all."""
    preset = load_preset("synth-tiny")
    transform = MelTransform(preset.mel)
    rng = np.random.default_rng(0)
    hiss = (0.05 * rng.standard_normal(RATE)).astype(np.float32)
    tone = (0.3 * np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE)).astype(np.float32)
    spectra = class_spectra([hiss, 10 * hiss, tone], [0, 0, 1], 3, transform)
    alone = class_spectra([hiss], [0], 1, transform)[0]
    assert spectra.shape == (3, preset.mel.n_mels)
    assert torch.allclose(spectra[0], alone, atol=1e-3)
    assert float((spectra[0] - spectra[1]).abs().max()) > 1.0  # the tone's spectrum is not the hiss's
    assert torch.allclose(spectra[2], (2 * spectra[0] + spectra[1]) / 3, atol=1e-4)
    with pytest.raises(ValueError, match="one label for each"):
        class_spectra([hiss], [0, 1], 2, transform)


def test_prior_log_mel_mixes_the_class_spectra_by_weight() -> None:
    spectra = torch.tensor([[0.0, 2.0], [4.0, -2.0]])
    assert torch.equal(prior_log_mel(spectra, torch.tensor([0.0, 1.0]), 3), torch.tensor([[4.0] * 3, [-2.0] * 3]))
    assert torch.allclose(prior_log_mel(spectra, torch.tensor([1.0, 3.0]), 1), torch.tensor([[3.0], [-1.0]]))
    for weights in (torch.tensor([1.0]), torch.tensor([0.0, 0.0]), torch.tensor([float("nan"), 1.0])):
        with pytest.raises(ValueError, match="weight"):
            prior_log_mel(spectra, weights, 2)
    # a loudness curve shifts every frame, and nothing falls below the floor
    curved = prior_log_mel(spectra, torch.tensor([0.0, 1.0]), 3, torch.tensor([0.0, -1.0, -9.0]), floor=-6.0)
    assert torch.equal(curved, torch.tensor([[4.0, 3.0, -5.0], [-2.0, -3.0, -6.0]]))
    with pytest.raises(ValueError, match="3 frames"):
        prior_log_mel(spectra, torch.tensor([0.0, 1.0]), 3, torch.zeros(4))


def _with_prior(strength: float, timings: ClassTimings | None = None) -> AudioLabPipeline:
    """The test preset's pipeline with class spectra and a class-prior start at `strength`; with `timings`, the
    prior takes its loudness curve from them."""
    pipeline = AudioLabPipeline.from_preset("synth-tiny")
    generator = pipeline.generator
    spectra = torch.linspace(-6.0, -2.0, generator.preset.mel.n_mels).repeat(len(generator.labels), 1)
    generator.models = replace(generator.models, class_spectra=spectra, class_timings=timings)
    generator.preset = replace(generator.preset, sampler=replace(
        generator.preset.sampler, class_prior_strength=strength, class_prior_timing=timings is not None))
    return pipeline


def _class_stretch_curves(classes: int, frames: int) -> ClassTimings:
    """Two curves per class, both loud only in the class's own stretch: class c in the c-th of `classes`."""
    width = frames // classes
    envelopes = torch.full((2 * classes, frames), -4.0)
    for row in range(2 * classes):
        envelopes[row, (row // 2) * width : (row // 2 + 1) * width] = 2.0
    return ClassTimings(envelopes, torch.arange(2 * classes) // 2)


def test_with_class_timings_each_class_gets_its_own_timing_at_one_seed() -> None:
    """From pure noise one seed gives every class the starting noise's timing; with the class timings the start
    of each class follows a curve of its own class, so two classes at one seed come out loud in their own places."""
    frames = _with_prior(0.5).generator.frames_for(1.0)[1]
    classes = len(_with_prior(0.5).labels)
    pipeline = _with_prior(0.05, _class_stretch_curves(classes, frames))
    generator = pipeline.generator
    width = frames // classes
    for index in (0, classes - 1):
        label = generator.labels[index]
        result = pipeline.generate(label=label, seconds=1.0, steps=8, vocoder="griffinlim", seed=3)
        assert f"loudness curve of a training recording of {label.replace('_', ' ')}" in result.method
        energy = generator.result_log_mel(result).mean(0)
        inside = energy[index * width : (index + 1) * width].mean()
        outside = torch.cat([energy[: index * width], energy[(index + 1) * width :]]).mean()
        assert float(inside - outside) > 2.0


def test_a_class_prior_start_begins_part_way_and_says_so() -> None:
    pipeline = _with_prior(0.5)
    label = pipeline.labels[0]
    settings = {"seconds": 1.0, "steps": 8, "vocoder": "griffinlim", "seed": 3}
    result = pipeline.generate(label=label, **settings)
    assert result.reverse[0].t <= 0.5 * pipeline.schedule.num_train_timesteps
    assert "class spectrum noised to 0.5T" in result.method and np.isfinite(result.audio).all()
    plain = _with_prior(1.0).generate(label=label, **settings)  # strength 1: from pure noise, as before
    assert plain.reverse[0].t > 0.9 * pipeline.schedule.num_train_timesteps and "class spectrum" not in plain.method
    batch = pipeline.generate_batch([(None, label), (None, pipeline.labels[1])], [3, 4], seconds=1.0, steps=8,
                                    vocoder="griffinlim")
    assert np.abs(batch[0] - result.audio).max() < 2e-3  # batched, each clip is the one it gets alone


def test_class_weights_read_labels_text_and_style() -> None:
    generator = _with_prior(0.5).generator
    labels = generator.labels
    assert torch.equal(generator.class_weights(None, labels[2]), torch.nn.functional.one_hot(torch.tensor(2),
                                                                                          len(labels)).float())
    assert generator.class_weights(None, None) is None
    read = generator.class_weights(labels[1].replace("_", " "), None)
    assert read is not None and float(read.sum()) == pytest.approx(1.0, abs=1e-5) and int(read.argmax()) == 1
    style = generator.class_weights(None, None, style=True)
    assert style is not None and torch.allclose(style, torch.full((len(labels),), 1 / len(labels)))


def test_class_spectra_and_timings_round_trip_and_are_required_when_the_preset_starts_from_them(tmp_path: Path) -> None:
    preset = load_preset("synth-tiny")
    models = load_generator(preset)
    spectra = torch.linspace(-8.0, -1.0, preset.mel.n_mels).repeat(len(preset.labels), 1)
    checkpoint = tmp_path / "with-spectra.safetensors"
    save_generator(checkpoint, replace(models, class_spectra=spectra))
    loaded = load_generator(replace(preset, checkpoint=checkpoint))
    assert loaded.class_spectra is not None and torch.allclose(loaded.class_spectra, spectra, atol=1e-2)
    needs_prior = replace(preset, sampler=replace(preset.sampler, class_prior_strength=0.8))
    with pytest.raises(ValueError, match="lacks the class spectra"):
        load_generator(needs_prior)
    needs_timing = replace(needs_prior, checkpoint=checkpoint,
                           sampler=replace(needs_prior.sampler, class_prior_timing=True))
    with pytest.raises(ValueError, match="lacks the class timings"):
        load_generator(needs_timing)
    timings = _class_stretch_curves(len(preset.labels), 40)
    save_generator(checkpoint, replace(models, class_spectra=spectra, class_timings=timings))
    loaded = load_generator(needs_timing)
    assert loaded.class_timings is not None and torch.equal(loaded.class_timings.labels, timings.labels)
    assert torch.allclose(loaded.class_timings.envelopes, timings.envelopes, atol=1e-2)


def _timed(timings: ClassTimings | None, strength: float = 1.0) -> AudioLabPipeline:
    """The test preset's pipeline with a network that reads a loudness curve (its untimed weights transplanted,
    the curve's kernels at zero) and, when given, class timings to draw the curve from."""
    pipeline = AudioLabPipeline.from_preset("synth-tiny")
    generator = pipeline.generator
    preset = generator.preset
    timed = MelDenoiser(replace(preset.model, timing=True)).eval()
    assert transplant_weights(timed, generator.models.denoiser.state_dict()) == []
    spectra = torch.linspace(-6.0, -2.0, preset.mel.n_mels).repeat(len(generator.labels), 1)
    generator.models = replace(generator.models, denoiser=timed, class_timings=timings, class_spectra=spectra)
    generator.preset = replace(preset, model=replace(preset.model, timing=True),
                               sampler=replace(preset.sampler, class_prior_strength=strength))
    return pipeline


def test_a_timed_network_reads_a_curve_of_the_prompts_class_drawn_by_the_seed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The network is shown the drawn curve in normalised units at every call (both halves of a guided batch);
    one seed gives two classes their own class's curves, and a request without a condition gets none."""
    frames = _timed(None).generator.frames_for(1.0)[1]
    classes = len(_timed(None).labels)
    timings = _class_stretch_curves(classes, frames)
    pipeline = _timed(timings)
    generator = pipeline.generator
    seen: list[torch.Tensor | None] = []
    forward = generator.models.denoiser.forward

    def recording(x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor,
                  timing: torch.Tensor | None = None) -> torch.Tensor:
        seen.append(timing)
        return forward(x_t, t, cond, timing)

    monkeypatch.setattr(generator.models.denoiser, "forward", recording)
    settings = {"seconds": 1.0, "steps": 3, "vocoder": "griffinlim", "seed": 3, "guidance": 2.0}
    std = generator.models.normalization.std
    width = frames // classes
    for index in (0, classes - 1):
        seen.clear()
        label = generator.labels[index]
        result = pipeline.generate(label=label, **settings)
        assert f"timed by the loudness curve of a training recording of {label.replace('_', ' ')}" in result.method
        assert len(seen) == 3 and all(t is not None and t.shape == (2, frames) for t in seen)
        curve = seen[0][0]  # type: ignore[index]
        assert torch.equal(seen[0][0], seen[0][1])  # type: ignore[index]
        assert torch.allclose(curve[index * width : (index + 1) * width], torch.tensor(2.0 / std))
        assert float(curve.min()) == pytest.approx(-4.0 / std)
    seen.clear()
    untimed = _timed(None)  # no class timings: the network samples without a curve
    monkeypatch.setattr(untimed.generator.models.denoiser, "forward", recording)
    result = untimed.generate(label=untimed.labels[0], **settings)
    assert "timed by" not in result.method and all(t is not None and bool(t.isnan().all()) for t in seen)
    with_prior = _timed(timings, strength=0.5).generate(label=generator.labels[0], **settings)
    assert "class spectrum noised to 0.5T, timed by the loudness curve" in with_prior.method


def test_timing_gain_deepens_the_class_priors_curve_only(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """[sampler] timing_gain: the network reads the drawn curve multiplied by the gain, and the method line says
    so; a prior shaped by the curve (class_prior_timing) and a variation's own reference curve stay as recorded;
    the preset takes a gain in (0, 4] and refuses any other."""
    untimed = _timed(None)
    frames, label = untimed.generator.frames_for(1.0)[1], untimed.labels[1]
    timings = _class_stretch_curves(len(untimed.labels), frames)
    seen: list[torch.Tensor] = []

    def with_gain(gain: float, shaped: bool = False) -> AudioLabPipeline:
        pipeline = _timed(timings, strength=0.5 if shaped else 1.0)
        generator = pipeline.generator
        generator.preset = replace(generator.preset, sampler=replace(
            generator.preset.sampler, timing_gain=gain, class_prior_timing=shaped))
        forward = generator.models.denoiser.forward

        def recording(x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor,
                      timing: torch.Tensor | None = None) -> torch.Tensor:
            assert timing is not None
            seen.append(timing[0].clone())
            return forward(x_t, t, cond, timing)

        monkeypatch.setattr(generator.models.denoiser, "forward", recording)
        return pipeline

    settings = {"seconds": 1.0, "steps": 2, "vocoder": "griffinlim", "seed": 3, "guidance": 2.0}
    plain = with_gain(1.0).generate(label=label, **settings)
    calls = len(seen)  # the network calls of one generation
    deep = with_gain(2.0).generate(label=label, **settings)
    assert calls >= 1 and len(seen) == 2 * calls and float(seen[0].min()) < 0
    assert torch.allclose(seen[calls], 2.0 * seen[0])
    assert "times as deep" not in plain.method and "read 2 times as deep" in deep.method
    starts = [next(iter(with_gain(gain, shaped=True).generate_iter(label=label, **settings))).x_t for gain in (1, 2)]
    assert torch.equal(starts[0], starts[1])  # the prior's shape follows the curve as recorded
    seen.clear()
    reference = np.sin(2 * np.pi * 440 * np.arange(RATE) / RATE).astype(np.float32)
    reference[: RATE // 2] *= 0.01  # quiet, then loud: a curve with a step in it
    for gain in (1.0, 2.0):
        with_gain(gain).generate(reference=(RATE, reference), strength=0.6, **settings)
    calls = len(seen) // 2
    assert calls >= 1 and float(seen[0].max() - seen[0].min()) > 1.0 and torch.equal(seen[0], seen[calls])
    text = (Path(__file__).parents[2] / "presets" / "synth-tiny.toml").read_text(encoding="utf-8")
    path = tmp_path / "gain.toml"
    path.write_text(text.replace("[sampler]", "[sampler]\ntiming_gain = 4.0", 1), encoding="utf-8")
    assert load_preset(path).sampler.timing_gain == 4.0
    for bad in ("0.0", "4.5", "nan"):
        path.write_text(text.replace("[sampler]", f"[sampler]\ntiming_gain = {bad}", 1), encoding="utf-8")
        with pytest.raises(ValueError, match=r"gain\.toml: \[sampler\] timing_gain must be above 0 and at most 4"):
            load_preset(path)
