"""DiffGMM's additions to the paper's recipe: the time-frequency refiner (a no-op at the start, grown into a trained
checkpoint on resume, trainable, read back by `eval denoise` from the checkpoint's own settings), the compressed
spectral loss, and shift-averaged inference."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch

from audiolab.generation import synth
from audiolab.restoration.diffgmm import DiffGMMDenoiser, DiffGMMSettings
from audiolab.restoration.evaluate import restorer_with_checkpoint
from audiolab.restoration.preset import DenoiserPreset, load_denoiser, load_denoiser_preset, save_denoiser
from audiolab.restoration.restorer import Restorer
from tests.restoration.fitting import fit_briefly

SMALL = DiffGMMSettings(components=2, channels=(16, 16), bottleneck_dilations=(1,), hop=64)


def _saved(tmp_path: Path, settings: DiffGMMSettings, seed: int = 0) -> Path:
    """A small DiffGMM with a non-trivial head (the shipped head starts at zero), saved as a checkpoint."""
    torch.manual_seed(seed)
    model = DiffGMMDenoiser(settings)
    torch.nn.init.normal_(model.net.head.weight, std=0.3)
    return save_denoiser(tmp_path / "small.safetensors", model,
                         {"steps": "10 of 10", "settings": json.dumps(asdict(settings))})


def _preset(settings: DiffGMMSettings, checkpoint: Path) -> DenoiserPreset:
    return replace(load_denoiser_preset("diffgmm-16k"), settings=settings, checkpoint=checkpoint)


def _restore(model: torch.nn.Module, noisy: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return list(model.iterate(noisy, 1))[-1][0]


def test_a_grown_checkpoint_keeps_its_output_and_only_growth_is_allowed(tmp_path: Path) -> None:
    checkpoint = _saved(tmp_path, SMALL)
    grown = replace(SMALL, refine_channels=8)
    with pytest.raises(ValueError, match="does not match"):  # the app never loads a half-trained growth
        load_denoiser(_preset(grown, checkpoint))
    before = load_denoiser(_preset(SMALL, checkpoint))
    after = load_denoiser(_preset(grown, checkpoint), grow=True)
    assert after.refiner is not None and before.refiner is None
    noisy = torch.randn(1, 4000, generator=torch.Generator().manual_seed(3)) * 0.1
    estimate = _restore(after, noisy)
    assert not torch.allclose(estimate, noisy, atol=1e-3)  # the network does something ...
    torch.testing.assert_close(estimate, _restore(before, noisy), atol=1e-6, rtol=0)  # ... and the refiner nothing yet
    assert after.grown == ["refiner"] and before.grown == []
    # growing adds parts; it never drops them: a refined checkpoint does not load into a preset without one
    refined = _saved(tmp_path, grown)
    with pytest.raises(ValueError, match="does not match"):
        load_denoiser(_preset(SMALL, refined), grow=True)
    # and it grows a part only whole: a refiner with a layer more than the checkpoint's is a mismatch
    with pytest.raises(ValueError, match="does not match"):
        load_denoiser(_preset(replace(grown, refine_dilations=(1, 2, 4, 8)), refined), grow=True)
    assert load_denoiser(_preset(grown, refined), grow=True).grown == []


def test_a_context_refiner_grows_into_a_refined_checkpoint_and_looks_along_frames(tmp_path: Path) -> None:
    from audiolab.restoration.refiner import TimeFrequencyRefiner

    refined = replace(SMALL, refine_channels=8)
    torch.manual_seed(1)
    trained = DiffGMMDenoiser(refined)
    for head in (trained.net.head, trained.refiner.head):  # both trained parts non-trivial, so a re-initialised
        torch.nn.init.normal_(head.weight, std=0.3)       # first refiner would change the output
    checkpoint = save_denoiser(tmp_path / "refined.safetensors", trained,
                               {"steps": "10 of 10", "settings": json.dumps(asdict(refined))})
    grown = replace(refined, context_channels=4, context_dilations=(1, 2, 4, 8))
    with pytest.raises(ValueError, match="does not match"):
        load_denoiser(_preset(grown, checkpoint))
    before, after = load_denoiser(_preset(refined, checkpoint)), load_denoiser(_preset(grown, checkpoint), grow=True)
    assert after.grown == ["context_refiner"] and after.refiner is not None
    noisy = torch.randn(1, 4000, generator=torch.Generator().manual_seed(7)) * 0.1
    torch.testing.assert_close(_restore(after, noisy), _restore(before, noisy), atol=1e-6, rtol=0)
    # dilated along frames, an impulse reaches 1 + 1 + 2 + 4 + 8 = 16 frames either side but only 1 + 4 = 5 bins;
    # the frequency refiner the other way round
    def reach(axis: str) -> tuple[int, int]:
        torch.manual_seed(0)
        refiner = TimeFrequencyRefiner(1, 1, 4, (1, 2, 4, 8), axis=axis)
        torch.nn.init.normal_(refiner.head.weight)
        planes = torch.zeros(1, 1, 64, 64, requires_grad=True)
        refiner(planes)[0, 0, 32, 32].backward()
        bins, frames = planes.grad[0, 0].abs().gt(0).nonzero(as_tuple=True)
        return int((bins - 32).abs().max()), int((frames - 32).abs().max())

    assert reach("time") == (5, 16) and reach("frequency") == (16, 5)
    with pytest.raises(ValueError, match="axis must be"):
        TimeFrequencyRefiner(1, 1, 4, axis="space")  # type: ignore[arg-type]
    # and it learns: training moves its zero head
    torch.manual_seed(0)
    model = DiffGMMDenoiser(replace(grown, train_iterations=1))
    losses, _ = fit_briefly(model, 20)
    assert losses[-1] < losses[0] and model.context_refiner.head.weight.abs().max() > 0


def test_the_refiner_learns_a_per_bin_correction() -> None:
    torch.manual_seed(0)
    model = DiffGMMDenoiser(replace(SMALL, refine_channels=8, train_iterations=1))
    losses, _ = fit_briefly(model, 20)
    assert losses[-1] < losses[0]
    assert model.refiner.head.weight.abs().max() > 0  # the zero-initialised head has started to correct


def test_eval_builds_the_checkpoints_network_and_runs_it_as_its_preset_does(tmp_path: Path) -> None:
    """`eval denoise --diffgmm-checkpoints` builds the network the checkpoint was trained as, refiner included, and
    runs it as the app runs the preset that trained it (iterations, frame offsets)."""
    grown = replace(SMALL, refine_channels=8, refine_dilations=(1, 3), shifts=1, iterations=1)
    checkpoint = _saved(tmp_path, grown)
    restorer, label = restorer_with_checkpoint(checkpoint)  # no preset named: diffgmm-16k's way of running it
    model = restorer.model("diffgmm")
    assert model.settings == replace(grown, iterations=load_denoiser_preset("diffgmm-16k").settings.iterations)
    assert label == "K=2 (10 of 10 steps)"
    noisy = torch.randn(1, 4000, generator=torch.Generator().manual_seed(4)) * 0.1
    torch.testing.assert_close(_restore(model, noisy), _restore(load_denoiser(_preset(grown, checkpoint)), noisy))
    # trained under the shipped speech preset: its network from the file, its offsets from the preset
    named = save_denoiser(tmp_path / "named.safetensors", model,
                          {"preset": "diffgmm-speech-16k", "steps": "7 of 7", "settings": json.dumps(asdict(grown))})
    restorer, label = restorer_with_checkpoint(named)
    speech = load_denoiser_preset("diffgmm-speech-16k").settings
    assert restorer.model("diffgmm").settings.shifts == speech.shifts > 1
    assert restorer.model("diffgmm").settings.channels == grown.channels and f"{speech.shifts} frame offsets" in label
    # a checkpoint from before the refiner, trained under the same preset: built without one, as it was made
    stored = {k: v for k, v in asdict(SMALL).items() if not k.startswith(("refine", "context"))}
    old = save_denoiser(tmp_path / "old.safetensors", DiffGMMDenoiser(SMALL),
                        {"preset": "diffgmm-speech-16k", "steps": "5 of 5", "settings": json.dumps(stored)})
    restorer, _ = restorer_with_checkpoint(old)
    assert restorer.model("diffgmm").refiner is None and restorer.model("diffgmm").settings.shifts == speech.shifts
    assert restorer.model("diffgmm").context_refiner is None
    # one with both refiners: built with both, as trained
    both = replace(grown, context_channels=4, context_dilations=(1, 3))
    checkpoint = _saved(tmp_path, both)
    model = restorer_with_checkpoint(checkpoint)[0].model("diffgmm")
    assert model.context_refiner is not None and model.settings.context_dilations == (1, 3)
    torch.testing.assert_close(_restore(model, noisy), _restore(load_denoiser(_preset(both, checkpoint)), noisy))


def test_the_compressed_spectral_loss_is_zero_at_the_reference_and_weighs_quiet_bins_less() -> None:
    from audiolab.core.losses import compressed_spectral_loss, multi_resolution_stft_loss

    rng = torch.Generator().manual_seed(5)
    speech = torch.from_numpy(synth.synthesize("whistle", seed=1, seconds=1.0))[None]
    assert compressed_spectral_loss(speech, speech).item() < 1e-10
    quiet = 1e-3 * torch.randn(speech.shape, generator=rng)
    # a quiet leftover noise: the log-spectral loss counts it as much as a loud one nearly, the compressed one far less
    def ratio(loss) -> float:  # noqa: ANN001 - the loss for the quiet leftover over that for a 40 dB louder one
        return (loss(speech + quiet, speech) / loss(speech + 100 * quiet, speech)).item()

    ratio_log, ratio_compressed = ratio(multi_resolution_stft_loss), ratio(compressed_spectral_loss)
    ratio_uncompressed = ratio(lambda a, b: compressed_spectral_loss(a, b, power=1.0))
    assert ratio_uncompressed < ratio_compressed < 0.1 < ratio_log  # the exponent sets how much quiet bins count
    model = DiffGMMDenoiser(replace(SMALL, spectral_loss="compressed"))
    loss, parts = model.loss(speech, speech + 10 * quiet)
    assert torch.isfinite(loss) and parts["spectral"] > 0


def test_the_low_band_weight_moves_the_compressed_loss_toward_low_frequency_errors() -> None:
    from audiolab.core.losses import compressed_spectral_loss, low_band_weights

    weights = low_band_weights(512, 0.0625, 4.0).squeeze(-1)
    assert weights.shape == (257,) and weights.mean().item() == pytest.approx(1.0)
    assert weights[:33].unique().numel() == 1 and weights[0] / weights[-1] == pytest.approx(4.0)  # bins 0-32: 0-1 kHz
    t = torch.arange(16000) / 16000
    speech = torch.sin(2 * torch.pi * 200 * t)[None] + 0.3 * torch.sin(2 * torch.pi * 3000 * t)[None]
    hum, hiss = 0.05 * torch.sin(2 * torch.pi * 400 * t)[None], 0.05 * torch.sin(2 * torch.pi * 5000 * t)[None]
    def low_over_high(weight: float) -> float:  # the loss for a leftover hum over that for an equally loud whine
        def loss(e: torch.Tensor) -> torch.Tensor:
            return compressed_spectral_loss(e, speech, low_band_weight=weight)
        return (loss(speech + hum) / loss(speech + hiss)).item()

    assert low_over_high(4.0) == pytest.approx(4 * low_over_high(1.0), rel=0.05)
    # weight 1 is the unweighted loss exactly: earlier runs' loss is unchanged
    noisy = speech + hum + hiss
    unweighted = compressed_spectral_loss(noisy, speech, low_band_weight=1.0)
    assert torch.equal(unweighted, compressed_spectral_loss(noisy, speech))
    model = DiffGMMDenoiser(replace(SMALL, spectral_loss="compressed", low_band_weight=4.0))
    assert model.spectral_distance(noisy, speech).item() == pytest.approx(
        compressed_spectral_loss(noisy, speech, low_band_weight=4.0).item())


@pytest.mark.parametrize(("line", "message"), [
    ('spectral_loss = "mse"', "spectral_loss must be one of log, compressed"),
    ("low_band_weight = 0", "low_band_weight must be above 0"),
    ("low_band_weight = nan", "low_band_weight must be above 0"),
    ("low_band_weight = 2.0", "low_band_weight weighs the compressed spectral loss only"),
    ("low_band_edge = 0.5", "low_band_edge between 0 and 0.5"),
    ("refine_channels = -1", "refine_channels must be 0"),
    ("refine_dilations = [0]", "refine_dilations entry a whole number at least 1"),
    ("shifts = 0", "shifts must be 1"),
    ("shifts = 17", "shifts must be 1"),
    ("hop = 8\nshifts = 9", "shifts must be at most hop"),
    ("refine_dilations = [1.5]", "refine_dilations entry a whole number"),
    ("context_channels = -2", "context_channels must be 0"),
    ("context_channels = 1.5", "context_channels must be int"),
    ("context_dilations = []", "context_dilations entry a whole number at least 1"),
])
def test_the_preset_refuses_an_unknown_loss_or_refiner(tmp_path: Path, line: str, message: str) -> None:
    text = load_denoiser_preset("diffgmm-16k").path.read_text()
    if line.startswith("hop = "):  # a smaller hop replaces the preset's own
        text = re.sub(r"(?m)^hop = .*$", "", text)
    text = text.replace("[model]\n", f"[model]\n{line}\n", 1)
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(ValueError, match=message):
        load_denoiser_preset(tmp_path / "bad.toml")


def test_shift_averaging_is_the_mean_of_the_offset_estimates_and_keeps_what_the_network_keeps(tmp_path: Path) -> None:
    model = load_denoiser(_preset(SMALL, _saved(tmp_path, SMALL)))
    noisy = torch.randn(2, 3001, generator=torch.Generator().manual_seed(6)) * 0.1
    model.settings = replace(SMALL, shifts=2)
    averaged = _restore(model, noisy)
    delay = SMALL.hop // 2
    with torch.no_grad():
        expected = (model.step(noisy)[0] + model.step(torch.nn.functional.pad(noisy, (delay, 0)))[0][..., delay:]) / 2
    assert averaged.shape == noisy.shape
    torch.testing.assert_close(averaged, expected)
    assert not torch.allclose(averaged, model.step(noisy)[0], atol=1e-4)  # the offset changes the estimate
    identity = DiffGMMDenoiser(replace(SMALL, shifts=4)).eval()  # zero heads: every offset returns the input
    torch.testing.assert_close(_restore(identity, noisy), noisy, atol=1e-6, rtol=0)
    restorer = Restorer()
    restorer.use("diffgmm", model)
    result = restorer.restore(noisy[0].numpy(), "diffgmm")
    assert result.audio.shape == (noisy.shape[1],)
    assert "2 iterations of x ← x − E[n | x], each averaged over 2 frame offsets." in result.description
    assert "1 iteration of x" in restorer.restore(noisy[0].numpy(), "diffgmm", steps=1).description
