"""The pretrained sentence encoder: the published weights, and meaning over wording."""

from __future__ import annotations

import pytest
import torch

from audiolab.generation.conditioning import (
    MINILM_SHA256,
    check_prompt,
    shared_text_encoder,
    verify_minilm,
)


def test_bundled_weights_are_the_published_all_minilm_l6_v2() -> None:
    assert verify_minilm() == MINILM_SHA256


@pytest.mark.parametrize(
    ("prompt", "paraphrase", "unrelated"),
    [
        ("a police siren wailing", "an emergency vehicle siren", "birds singing at dawn"),
        ("heavy rain on a roof", "rain pouring down", "a car engine idling"),
        ("a dog barking", "a puppy yapping", "church bells ringing"),
    ],
)
def test_paraphrases_are_closer_than_unrelated_prompts(prompt: str, paraphrase: str, unrelated: str) -> None:
    encoded = shared_text_encoder().encode([prompt, paraphrase, unrelated])
    assert encoded.shape == (3, 384)
    assert torch.allclose(torch.linalg.norm(encoded, dim=1), torch.ones(3), atol=1e-5)
    assert float(encoded[0] @ encoded[1]) > float(encoded[0] @ encoded[2]) + 0.2


@pytest.mark.parametrize("bad", ["", "   ", "x" * 501])
def test_empty_and_huge_prompts_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="prompt"):
        check_prompt(bad)
