"""The class prior: class spectra from levelled clips, their weighted mix, and a reverse process that starts from it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from audiolab.core.audio import MelTransform
from audiolab.generation.class_prior import class_spectra, louder_half_spectrum, prior_log_mel
from audiolab.generation.preset import load_generator, load_preset, save_generator
from audiolab.pipeline import AudioLabPipeline

RATE = 16_000


def test_louder_half_spectrum_leaves_out_the_quiet_frames() -> None:
    log_mel = torch.tensor([[0.0, 0.0, 4.0, 6.0, 8.0], [-2.0, -2.0, 2.0, 4.0, 6.0]])  # frame energies -1 -1 3 5 7
    assert torch.allclose(louder_half_spectrum(log_mel), torch.tensor([6.0, 4.0]))


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


def _with_prior(strength: float) -> AudioLabPipeline:
    """The test preset's pipeline with class spectra and a class-prior start at `strength`."""
    pipeline = AudioLabPipeline.from_preset("synth-tiny")
    generator = pipeline.generator
    spectra = torch.linspace(-6.0, -2.0, generator.preset.mel.n_mels).repeat(len(generator.labels), 1)
    generator.models = replace(generator.models, class_spectra=spectra)
    generator.preset = replace(generator.preset,
                               sampler=replace(generator.preset.sampler, class_prior_strength=strength))
    return pipeline


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


def test_class_spectra_round_trip_and_are_required_when_the_preset_starts_from_them(tmp_path: Path) -> None:
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
