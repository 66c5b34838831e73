"""The procedural sound classes: labelled, captioned, varied and fully determined by the seed."""

from __future__ import annotations

import numpy as np
import pytest

from audiolab.generation import synth


def test_at_least_twelve_classes_with_several_captions_each() -> None:
    assert len(synth.CLASSES) >= 12
    for label in synth.CLASSES:
        captions = synth.CAPTIONS[label]
        assert len(captions) >= 6 and len(set(captions)) == len(captions)


@pytest.mark.parametrize("label", synth.CLASSES)
def test_each_class_is_seeded_audible_and_varied(label: str) -> None:
    a = synth.synthesize(label, seed=3, seconds=2.0)
    assert a.shape == (32_000,) and a.dtype == np.float32 and np.all(np.isfinite(a))
    assert 0.25 <= np.max(np.abs(a)) <= 0.9
    assert np.array_equal(a, synth.synthesize(label, seed=3, seconds=2.0))
    assert not np.allclose(a, synth.synthesize(label, seed=4, seconds=2.0))


def test_dataset_is_deterministic_and_balanced() -> None:
    first = synth.make_dataset(2, seconds=1.0, seed=5)
    second = synth.make_dataset(2, seconds=1.0, seed=5)
    assert [c.label for c in first] == [c.label for c in second]
    assert all(np.array_equal(x.audio, y.audio) for x, y in zip(first, second))
    assert sorted({c.label for c in first}) == sorted(synth.CLASSES)
    assert all(c.caption in synth.CAPTIONS[c.label] for c in first)


def test_bad_requests_are_refused() -> None:
    with pytest.raises(ValueError, match="siren"):
        synth.synthesize("unicorn", seed=0)
    with pytest.raises(ValueError):
        synth.synthesize("siren", seed=0, seconds=0)
