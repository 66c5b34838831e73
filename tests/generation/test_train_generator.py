"""The generator's training batches: crops and the loudness curves a timed network is shown with them."""

from __future__ import annotations

import torch

from audiolab.generation.class_prior import clip_envelope
from audiolab.generation.train import _random_crops, clip_envelopes


def test_each_crop_comes_with_its_whole_clips_curve_over_the_same_frames() -> None:
    g = torch.Generator().manual_seed(0)
    mels = torch.randn(3, 8, 40, generator=g)
    mels[1, :, 20:] -= 5.0  # a clip that falls quiet half way
    envelopes = clip_envelopes(mels)
    assert envelopes.shape == (3, 40) and torch.equal(envelopes[1], clip_envelope(mels[1]))
    starts = [torch.tensor([0, 17]), torch.tensor([25]), torch.tensor([5, 30])]
    indices = torch.tensor([1, 1, 0, 2])
    crops, curves = _random_crops(mels, indices, 10, torch.Generator().manual_seed(1), starts, envelopes)
    assert crops.shape == (4, 1, 8, 10) and curves is not None and curves.shape == (4, 10)
    for crop, curve, clip in zip(crops, curves, indices.tolist()):
        start = next(s for s in range(31) if torch.equal(mels[clip, :, s : s + 10], crop[0]))
        assert torch.equal(curve, envelopes[clip, start : start + 10])
    # relative to the whole clip's louder half, not the crop's: the quiet half of clip 1 stays below zero
    assert float(curves[0].max()) < -3.0
    # the same draws without curves give the same crops
    again, none = _random_crops(mels, indices, 10, torch.Generator().manual_seed(1), starts)
    assert none is None and torch.equal(again, crops)
