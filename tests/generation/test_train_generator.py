"""The generator's training batches: crops, the loudness curves a timed network is shown with them, and the noise."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import torch

from audiolab.core.diffusion import Schedule
from audiolab.generation.class_prior import clip_envelope
from audiolab.generation.preset import TrainingSettings
from audiolab.generation.train import _GeneratorTraining, _random_crops, clip_envelopes


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


class _ZeroCondition:
    """A stand-in for the condition encoder: every condition is zeros."""

    def from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(labels), 4)

    def from_text(self, rows: torch.Tensor) -> torch.Tensor:
        return torch.zeros(len(rows), 4)

    def unconditional(self, batch: int) -> torch.Tensor:
        return torch.zeros(batch, 4)


def _noised_input(centred: bool, x0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, Schedule]:
    """The x_t and t one training loss hands the network, with or without frame-centred noise."""
    run = object.__new__(_GeneratorTraining)  # only what diffusion_loss reads
    run.settings = replace(TrainingSettings(), frame_centred_noise=centred)
    run.schedule = Schedule("linear", 1000)
    run.generator = torch.Generator().manual_seed(0)
    run.data = SimpleNamespace(captions_by_label=[torch.zeros(2, 384)])
    seen: dict[str, torch.Tensor] = {}

    def network(x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor, timing: torch.Tensor | None) -> torch.Tensor:
        seen["x_t"], seen["t"] = x_t, t
        return torch.zeros_like(x_t)

    run.diffusion_loss(network, _ZeroCondition(), x0, torch.zeros(len(x0), dtype=torch.long),  # type: ignore[arg-type]
                       torch.Generator().manual_seed(1))
    return seen["x_t"], seen["t"], run.schedule


def test_frame_centred_training_noise_leaves_each_frames_mean_to_the_sound() -> None:
    """With [training] frame_centred_noise the mean of x_t over the bands is √ᾱ_t times x_0's in every frame:
    the noise adds nothing there, as at the start of a frame-centred sampler."""
    x0 = torch.randn(4, 1, 8, 16, generator=torch.Generator().manual_seed(2))
    for centred in (True, False):
        x_t, t, schedule = _noised_input(centred, x0)
        scale = schedule.alphas_cumprod[t.long()].sqrt().float().reshape(-1, 1, 1, 1)
        matches = torch.allclose(x_t.mean(dim=-2, keepdim=True), scale * x0.mean(dim=-2, keepdim=True), atol=1e-5)
        assert matches == centred
