"""Reading a prompt as a mixture of the training captions: closed forms, bad temperatures, the pipeline's use."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

from audiolab.generation import synth
from audiolab.generation.caption_space import CaptionSpace, training_captions
from audiolab.generation.conditioning import shared_text_encoder
from audiolab.pipeline import AudioLabPipeline

AXES = torch.eye(3)


def test_a_caption_is_read_as_itself_at_a_low_temperature_and_as_the_mean_at_a_high_one() -> None:
    space = CaptionSpace(["a", "b", "c"], AXES * 2.0)  # stored normalised
    sharp = space.read(torch.tensor([1.0, 0.2, 0.0]), temperature=0.01)
    assert sharp.captions[0][0] == "a" and sharp.captions[0][1] > 0.99
    torch.testing.assert_close(sharp.embedding, AXES[:1], atol=1e-3, rtol=0)
    blend = space.read(torch.tensor([1.0, 0.2, 0.0]), temperature=1e4)
    torch.testing.assert_close(blend.embedding, F.normalize(torch.ones(1, 3), dim=-1), atol=1e-3, rtol=0)
    assert sum(weight for _, weight in blend.captions) == pytest.approx(1.0)
    assert [caption for caption, _ in sharp.captions] == ["a", "b", "c"]  # heaviest first
    assert sharp.describe().startswith("'a' 100%")


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_temperatures_are_refused(temperature: float) -> None:
    with pytest.raises(ValueError, match="temperature must be above 0"):
        CaptionSpace(["a"], AXES[:1]).read(AXES[0], temperature)


def test_a_caption_space_needs_one_embedding_per_caption() -> None:
    with pytest.raises(ValueError, match="one embedding for each"):
        CaptionSpace(["a", "b"], AXES)


def test_the_training_captions_are_the_presets_classes_captions_in_label_order(pipeline: AudioLabPipeline) -> None:
    captions = training_captions(pipeline.preset)
    expected = [(c, i) for i, label in enumerate(pipeline.labels) for c in synth.CAPTIONS[label]]
    assert list(captions) == expected


def test_a_preset_temperature_snaps_the_prompt_and_says_how_it_was_read(
        pipeline: AudioLabPipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    generator = pipeline.generator
    prompt = "an unfamiliar description of a sound"
    plain_cond, _, plain_words = generator.condition(prompt, None)
    monkeypatch.setattr(generator, "preset", replace(generator.preset, caption_temperature=0.05))
    cond, _, words = generator.condition(prompt, None)
    reading = generator.caption_space().read(shared_text_encoder().encode([prompt]), 0.05)
    expected = generator.models.condition.from_text(reading.embedding)
    torch.testing.assert_close(cond, expected)
    assert not torch.allclose(cond, plain_cond)
    assert "read as '" in words[0] and "read as" not in plain_words[0]
    # a training caption is read mostly as itself
    caption = training_captions(generator.preset)[0][0]
    own = generator.caption_space().read(shared_text_encoder().encode([caption]), 0.05)
    assert own.captions[0][0] == caption
