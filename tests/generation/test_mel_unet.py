"""The mel denoiser's conditioning modes, its loudness-curve input, and the weight transplant that fine-tunes one
network from another."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from audiolab.generation.mel_unet import MelDenoiser, MelUNetConfig, timing_channels, transplant_weights

TINY = MelUNetConfig(block_out_channels=(16, 32), attention_levels=(False, True), patch=2, attention_head_dim=8)


def _inputs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(2, 1, 16, 32, generator=g), torch.tensor([10.0, 900.0]),
            torch.randn(2, TINY.cond_dim, generator=g))


def test_an_unknown_conditioning_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="conditioning must be one of add, film"):
        dataclasses.replace(TINY, conditioning="cross-attention")


def test_film_scales_features_by_the_condition_and_shapes_match() -> None:
    torch.manual_seed(0)
    film = MelDenoiser(dataclasses.replace(TINY, conditioning="film")).eval()
    add = MelDenoiser(TINY).eval()
    x, t, cond = _inputs()
    with torch.no_grad():
        assert film(x, t, cond).shape == add(x, t, cond).shape == x.shape
    # FiLM's time projections emit a scale and a shift per channel: twice the "add" width
    widths = {n: p.shape[0] for n, p in film.named_parameters() if n.endswith("time_emb_proj.weight")}
    for name, width in widths.items():
        assert width == 2 * dict(add.named_parameters())[name].shape[0]


def test_transplant_with_zero_scale_keeps_every_copied_weight_and_scales_the_old_bias() -> None:
    torch.manual_seed(1)
    add = MelDenoiser(TINY)
    film = MelDenoiser(dataclasses.replace(TINY, conditioning="film"))
    assert transplant_weights(film, add.state_dict(), shift_gain=0.5) == []
    old, new = add.state_dict(), film.state_dict()
    for name, tensor in old.items():
        if "time_emb_proj" in name:
            half = tensor.shape[0]
            assert torch.count_nonzero(new[name][:half]) == 0  # the scale starts at zero: (1 + s) = 1
            assert torch.allclose(new[name][half:], 0.5 * tensor)
        else:
            assert torch.equal(new[name], tensor)


def test_transplant_reports_tensors_that_do_not_fit() -> None:
    film = MelDenoiser(dataclasses.replace(TINY, conditioning="film"))
    wider = MelDenoiser(dataclasses.replace(TINY, block_out_channels=(24, 32)))
    skipped = transplant_weights(film, wider.state_dict())
    assert skipped and all(name in film.state_dict() for name in skipped)


def test_same_mode_transplant_is_an_exact_copy() -> None:
    torch.manual_seed(2)
    a, b = MelDenoiser(TINY).eval(), MelDenoiser(TINY).eval()
    assert transplant_weights(b, a.state_dict()) == []
    x, t, cond = _inputs(3)
    with torch.no_grad():
        assert torch.equal(a(x, t, cond), b(x, t, cond))


def test_timing_channels_are_patch_means_of_the_curve_and_a_presence_flag() -> None:
    curve = torch.arange(8.0).reshape(1, 8)
    none = torch.full((1, 8), float("nan"))
    channels = timing_channels(torch.cat([curve, none]), 2, mels=4, frames=8, patch=2)
    assert channels.shape == (2, 2, 2, 4)
    assert torch.equal(channels[0, 0], torch.tensor([[0.5, 2.5, 4.5, 6.5]]).expand(2, 4))  # each patch's mean
    assert torch.equal(channels[0, 1], torch.ones(2, 4)) and torch.equal(channels[1], torch.zeros(2, 2, 4))
    assert torch.equal(timing_channels(None, 3, 4, 8, 2), torch.zeros(3, 2, 2, 4))
    with pytest.raises(ValueError, match="one loudness value per frame"):
        timing_channels(torch.zeros(2, 6), 2, 4, 8, 2)
    partly = curve.clone()
    partly[0, 3] = float("nan")
    with pytest.raises(ValueError, match="finite throughout"):
        timing_channels(partly, 1, 4, 8, 2)


def test_a_network_that_gains_timing_starts_as_the_one_without_and_then_reads_the_curve() -> None:
    """The transplant zeroes the new input kernels: with or without a curve, the same ε̂ as the untimed
    network. Once those kernels are non-zero, a curve changes the output and a NaN row is "no curve"."""
    torch.manual_seed(4)
    plain = MelDenoiser(TINY).eval()
    timed = MelDenoiser(dataclasses.replace(TINY, timing=True)).eval()
    assert timed.unet.conv_in.weight.shape[1] == TINY.patch**2 + 2
    assert transplant_weights(timed, plain.state_dict()) == []
    x, t, cond = _inputs(5)
    curve = torch.randn(2, 32)
    with torch.no_grad():
        expected = plain(x, t, cond)
        assert torch.equal(timed(x, t, cond, curve), expected) and torch.equal(timed(x, t, cond), expected)
        timed.unet.conv_in.weight[:, TINY.patch**2 :] = 0.1
        with_curve, without = timed(x, t, cond, curve), timed(x, t, cond)
        assert not torch.allclose(with_curve, without, atol=1e-4)
        assert torch.equal(timed(x, t, cond, torch.full((2, 32), float("nan"))), without)
    with pytest.raises(ValueError, match="reads no loudness curve"):
        plain(x, t, cond, curve)
