"""The shared text–audio space, style conditioning, the ESC-50 preset and the generation eval's measures."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
import torch

from audiolab.core.choices import DEFAULT_PRESET
from audiolab.core.presets import PRESETS_DIR
from audiolab.core.quality import log_mel_l1
from audiolab.generation import esc50, synth
from audiolab.generation.audio_text import shared_text_audio_space
from audiolab.generation.conditioning import shared_text_encoder
from audiolab.generation.evaluate import (
    evaluate_generation,
    format_report,
    frechet_distance,
)
from audiolab.generation.preset import load_audio_encoder_preset, load_preset
from audiolab.pipeline import AudioLabPipeline

FAST = {"seconds": 1.0, "steps": 6}


@pytest.fixture(scope="module")
def space():
    return shared_text_audio_space("audio-text-16k")


@pytest.mark.parametrize(
    ("paraphrase", "label"),
    [("a puppy yapping", "dog"), ("heavy rain on a roof", "rain"), ("waves crashing on the shore", "sea_waves"),
     ("a crackling campfire", "crackling_fire"), ("church bells chiming for a wedding", "church_bells")],
)
def test_unseen_paraphrases_land_nearest_their_class_prompt(paraphrase: str, label: str) -> None:
    """None of these is a training caption; in MiniLM's space each is nearest its own class's prompt of all 50."""
    assert all(paraphrase not in captions for captions in esc50.CAPTIONS.values())
    prompts = shared_text_encoder().encode([esc50.CAPTIONS[c][0] for c in esc50.CLASSES])
    query = shared_text_encoder().encode([paraphrase])
    assert esc50.CLASSES[int((query @ prompts.T).argmax())] == label


def test_audio_encoder_puts_same_class_clips_closer(space) -> None:
    """Unseen seeds of the procedural classes: each clip's nearest other clip is of its own class."""
    classes = ("siren", "rain", "church_bell", "kick_drum", "clock_tick", "whistle", "engine_hum", "bird_chirp")
    clips = [synth.synthesize(c, seed=seed, seconds=3.0) for c in classes for seed in (9101, 9102)]
    embedded = space.embed_audio(clips)
    assert embedded.shape == (len(clips), 384)
    assert torch.allclose(embedded.norm(dim=1), torch.ones(len(clips)), atol=1e-4)
    similarity = embedded @ embedded.T - 2 * torch.eye(len(clips))
    nearest = similarity.argmax(1)
    owner = torch.arange(len(clips)) // 2
    assert float((owner[nearest] == owner).float().mean()) >= 0.85
    same = similarity[torch.arange(0, len(clips), 2), torch.arange(1, len(clips), 2)].mean()
    different = similarity[owner.unsqueeze(0) != owner.unsqueeze(1)].mean()
    assert float(same) > float(different) + 0.2


def test_audio_encoder_is_level_independent(space) -> None:
    clip = synth.synthesize("siren", seed=5, seconds=2.0)
    loud, quiet = space.embed_audio([clip * 0.9, clip * 0.05])
    assert float(loud @ quiet) > 0.99


def test_audio_lands_near_its_description(space) -> None:
    """Contrastive training with the alignment term puts audio among the text embeddings, not in a cone of its own."""
    clip = synth.synthesize("siren", seed=77, seconds=3.0)
    audio = space.embed_audio(clip)[0]
    texts = space.embed_text(["a police siren wailing", "a clock ticking", "birds chirping in the morning"])
    scores = texts @ audio
    assert int(scores.argmax()) == 0 and float(scores[0]) > 0.3


def test_style_reference_changes_the_output_and_blends_with_text(pipeline: AudioLabPipeline, bell: np.ndarray) -> None:
    plain = pipeline.generate(text="a police siren", seed=2, **FAST)
    styled = pipeline.generate(text="a police siren", reference=bell, reference_mode="style", style_weight=0.7,
                               seed=2, **FAST)
    only_text = pipeline.generate(text="a police siren", reference=bell, reference_mode="style", style_weight=0.0,
                                  seed=2, **FAST)
    style_only = pipeline.generate(reference=bell, reference_mode="style", seed=2, **FAST)
    assert not np.allclose(plain.audio, styled.audio)
    assert "style at weight 0.70" in styled.method and "the reference's style" in style_only.method
    assert "style at weight 0.00" in only_text.method and only_text.audio.shape == plain.audio.shape
    assert style_only.reverse[0].index == 0  # style starts from noise: not an SDEdit of the reference
    # weight 0 is the prompt alone: the conditioning vectors are equal (the sampled audio is the end of a chaotic
    # computation, so it is compared by its conditioning, not bit for bit)
    style = pipeline.text_audio_space().embed_audio(bell)[0]
    prompt_only, _, _ = pipeline.generator.condition("a police siren", None)
    weight_zero, _, _ = pipeline.generator.condition("a police siren", None, style, 0.0)
    blended, _, _ = pipeline.generator.condition("a police siren", None, style, 0.7)
    assert prompt_only is not None and weight_zero is not None and blended is not None
    assert torch.equal(prompt_only, weight_zero)
    assert float((prompt_only - blended).abs().max()) > 1e-3


def test_style_conditioning_is_not_a_copy_of_the_reference(pipeline: AudioLabPipeline, bell: np.ndarray) -> None:
    styled = pipeline.generate(reference=bell, reference_mode="style", seconds=2.0, steps=10, seed=0)
    reference_mel = pipeline.audio_to_mel(bell, pipeline.frames_for(2.0)[1])
    assert float((styled.reverse[-1].x0_hat - reference_mel).abs().mean()) > 0.2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"reference_mode": "copy"}, "Unknown reference mode"), ({"style_weight": 1.5}, "style weight"),
     ({"style_weight": float("nan")}, "style weight")],
)
def test_bad_reference_settings_are_refused(pipeline: AudioLabPipeline, bell: np.ndarray, kwargs: dict,
                                            message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pipeline.generate(reference=bell, label="siren", **FAST, **kwargs)


def test_batched_generation_matches_single_generation(pipeline: AudioLabPipeline) -> None:
    single = pipeline.generate(text="rain on a window", seed=11, sampler="dpm", vocoder="griffinlim", **FAST)
    batch = pipeline.generate_batch([("rain on a window", None), (None, "siren")], [11, 12], seconds=1.0, steps=6,
                                    vocoder="griffinlim")
    other_seed = pipeline.generate(text="rain on a window", seed=12, sampler="dpm", vocoder="griffinlim", **FAST)
    assert len(batch) == 2 and batch[0].shape == single.audio.shape
    # the same sound: batching changes only the order of float sums, so the mels agree far more closely than
    # those of two seeds of the same prompt (audio is not compared bit for bit: phase retrieval is chaotic)
    assert log_mel_l1(single.audio, batch[0]) < 0.1 * log_mel_l1(single.audio, other_seed.audio)


def test_frechet_distance_closed_form() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    shifted = a + np.array([3.0, 0.0, 4.0])  # same covariance, means 5 apart: FD = 25
    assert frechet_distance(a, shifted) == pytest.approx(25.0, rel=1e-6)
    scaled = a * 2.0  # Σ_b = 4Σ_a ≈ 4I: FD ≈ tr(I + 4I − 2·2I) = 3
    assert frechet_distance(a, scaled) == pytest.approx(3.0, rel=0.1)


def test_esc50_preset_is_the_default_and_lists_all_50_classes() -> None:
    preset = load_preset("esc50-small")
    assert DEFAULT_PRESET == "esc50-small"
    assert preset.labels == esc50.CLASSES and len(preset.labels) == 50
    assert preset.mel == load_preset("synth-tiny").mel  # the diffusion vocoder's mel settings
    for path in (preset.checkpoint, load_audio_encoder_preset("audio-text-16k").checkpoint):
        assert path.stat().st_size < 20e6
    assert all(len(esc50.CAPTIONS[c]) >= 5 for c in preset.labels)


def test_esc50_credits_list_every_cc_by_clip_with_the_citation() -> None:
    for name in ("esc50-small", "audio-text-16k"):
        text = (PRESETS_DIR / f"{name}.credits.md").read_text(encoding="utf-8")
        assert "Piczak" in text and "ACM MM" in text or "ACM International Conference on Multimedia" in text
        rows = [line for line in text.splitlines() if line.startswith("| ") and "CC-BY" in line]
        assert len(rows) > 600  # the 733 CC-BY clips of folds 1–4 that the shared data holds
        assert all("freesound.org" in row for row in rows)


def _fake_esc50(folder: Path, classes: dict[str, str], per_fold: int = 2) -> Path:
    """An ESC-50-shaped folder whose clips are procedural sounds standing in for real classes."""
    (folder / "audio").mkdir(parents=True)
    rows = []
    for fold in (1, 2):
        for index, (category, procedural) in enumerate(classes.items()):
            for take in range(per_fold):
                name = f"{fold}-{index}{take}-A.ogg"
                audio = synth.synthesize(procedural, seed=100 * fold + take, seconds=5.0)
                sf.write(folder / "audio" / name, audio, 16_000, format="OGG")
                rows.append({"filename": name, "fold": fold, "target": index, "category": category,
                             "source_file": "x.wav", "source_url": f"http://freesound.org/{index}", "author": "someone",
                             "license": "CC-BY"})
    with (folder / "meta.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


def test_generation_eval_runs_end_to_end_on_a_small_folder(tmp_path: Path) -> None:
    data = _fake_esc50(tmp_path / "esc", {"siren": "siren", "rain": "rain", "church_bells": "church_bell"})
    pipeline = AudioLabPipeline.from_preset("esc50-small")
    report = evaluate_generation(pipeline, data, per_class=1, steps=2, classifier_steps=20, clicks=0,
                                 vocoder="griffinlim", log=lambda line: None, sampler="dpm-sde")
    assert report.held_out == 6 and set(report.real_accuracy) == {"siren", "rain", "church_bells"}
    assert len(report.generated_accuracy) == 3 and 0.0 <= report.relative
    assert np.isfinite(report.frechet_generated) and np.isfinite(report.frechet_real_halves)
    assert report.clipped_clip_share == 0.0 and report.peak_dbfs <= -1.0 + 1e-6  # levelled output
    assert -1.0 <= report.envelope_correlation_same_seed <= 1.0 and -1.0 <= report.envelope_correlation_other_seeds <= 1.0
    assert -1.0 <= report.envelope_correlation_real <= 1.0
    # the independent judges train on one half of the 6 held-out clips (one take of each class) and test on the other
    assert 0.0 <= report.independent_real_accuracy <= 1.0 and 0.0 <= report.independent_generated_accuracy <= 1.0
    table = format_report(report)
    assert "| siren |" in table and "relative recognisability" in table and "same seed / other seeds" in table
    assert "never the generator's clips" in table and "independent judges" in table
    assert report.sampler == "dpm-sde" and "sampler dpm-sde" in table


def test_clipping_and_envelope_correlation_measures_have_known_answers() -> None:
    from audiolab.generation.evaluate import clipping, mean_correlation

    clean, clipped = np.full(100, 0.5, dtype=np.float32), np.array([0.2, 1.0, -1.0, 0.3], dtype=np.float32)
    clip_share, sample_share, peak = clipping([clean, clipped])
    assert clip_share == 0.5 and sample_share == pytest.approx(2 / 104) and peak == pytest.approx(0.0)
    ramp = np.arange(10.0)
    assert mean_correlation([(ramp, 2 * ramp + 1), (ramp, -ramp)]) == pytest.approx(0.0)
    assert mean_correlation([(ramp, ramp ** 2)]) > 0.9 and np.isnan(mean_correlation([(ramp, np.ones(10))]))


def test_real_envelope_correlation_has_known_answers() -> None:
    from audiolab.generation.evaluate import _RealClips, real_envelope_correlation

    ramp = torch.arange(8.0)
    mels = torch.stack([ramp.expand(4, 8), ramp.expand(4, 8) * 2, -ramp.expand(4, 8), ramp.flip(0).expand(4, 8)])
    labels = np.array([0, 1, 0, 1])

    def clips(held: torch.Tensor, held_labels: np.ndarray) -> _RealClips:
        halves = (np.arange(0, len(held_labels), 2), np.arange(1, len(held_labels), 2))
        return _RealClips(["a", "b"], held, torch.zeros(0), held, held_labels, len(held_labels), halves)

    # pairs of different classes: (0,1) +1, (0,3) −1, (2,1) −1, (2,3) +1, each counted both ways: mean 0
    assert real_envelope_correlation(clips(mels, labels), seconds=8, frames_per_second=1) == pytest.approx(0.0)
    # the same rising envelope in both classes: +1; a flat clip is left out, as in mean_correlation
    same = torch.stack([ramp.expand(4, 8), 3 * ramp.expand(4, 8), torch.ones(4, 8)])
    assert real_envelope_correlation(clips(same, np.array([0, 1, 1])), 8, 1) == pytest.approx(1.0)
    # only the first `seconds` count: the envelopes agree there and disagree after
    split = torch.stack([torch.cat([ramp[:4], ramp[:4]]).expand(4, 8), torch.cat([ramp[:4], -ramp[:4]]).expand(4, 8)])
    assert real_envelope_correlation(clips(split, np.array([0, 1])), 4, 1) == pytest.approx(1.0)
    assert real_envelope_correlation(clips(split, np.array([0, 1])), 8, 1) < 0.5


def test_generation_eval_refuses_a_folder_without_metadata(tmp_path: Path) -> None:
    pipeline = AudioLabPipeline.from_preset("esc50-small")
    with pytest.raises(ValueError, match="meta.csv"):
        evaluate_generation(pipeline, tmp_path, per_class=1)


def test_cli_generates_from_a_reference_style_and_lists_50_labels(tmp_path: Path, bell_wav: Path, capsys) -> None:
    from audiolab.cli import main

    assert main(["labels"]) == 0
    listed = capsys.readouterr().out.split()
    assert len(listed) == 50 and listed[0] == "dog"
    out = tmp_path / "styled.wav"
    assert main(["generate", "--reference", str(bell_wav), "--reference-mode", "style", "--seconds", "1",
                 "--steps", "4", "--out", str(out), "--preset", "synth-tiny"]) == 0
    assert sf.info(out).frames == 16_000 and "style" in capsys.readouterr().out


def test_single_fold_data_is_split_by_source_recording(tmp_path: Path) -> None:
    clips = [esc50.Clip(tmp_path / f"5-{recording}-{take}.ogg", 5, label, "CC0", "", "")
             for label in ("dog", "rain") for recording in (100, 200, 300) for take in "AB"]
    train, held = esc50.split_by_recording(clips)
    assert len(train) == 8 and len(held) == 4
    assert {c.path.stem.split("-")[1] for c in held}.isdisjoint({c.path.stem.split("-")[1] for c in train})


def test_held_out_paraphrases_cover_every_class_and_never_name_it_or_repeat_a_caption() -> None:
    from audiolab.generation.evaluate import held_out_paraphrases

    paraphrases = held_out_paraphrases()
    assert list(paraphrases) == list(esc50.CLASSES) and all(len(texts) >= 2 for texts in paraphrases.values())
    for label, texts in paraphrases.items():
        for text in texts:
            assert text not in esc50.CAPTIONS[label], text
            for word in label.split("_"):  # "footsteps" may not say "footstep", "church_bells" not "bell"
                assert not re.search(rf"\b{re.escape(word.removesuffix('s'))}", text, re.IGNORECASE), (label, text)


def test_the_paraphrase_condition_generates_each_round_from_the_next_paraphrase() -> None:
    from audiolab.generation.evaluate import _check_request, _generate_clips, held_out_paraphrases

    asked: list[list[tuple[str | None, str | None]]] = []

    class Recorder:  # stands in for the pipeline: records what it is asked to generate
        preset = type("P", (), {"default_seconds": 1.0})()

        def generate_batch(self, requests, seeds, **_):  # noqa: ANN001, ANN003, ANN202
            asked.append(list(requests))
            return [np.zeros(10, np.float32) for _ in requests]

    classes = ["dog", "rain"]
    recorder: Any = Recorder()
    _, labels, prompts = _generate_clips(recorder, classes, 3, "paraphrase", None, None, 0, None, lambda line: None)
    paraphrases = held_out_paraphrases()
    assert asked[0] == [(paraphrases["dog"][0], None), (paraphrases["rain"][0], None)]
    assert asked[1][0][0] == paraphrases["dog"][1] and asked[2][0][0] == paraphrases["dog"][0]
    assert prompts[1] == [paraphrases["dog"][1], paraphrases["rain"][1]] and list(labels) == [0, 1] * 3
    with pytest.raises(ValueError, match="label, text, paraphrase"):
        _check_request(AudioLabPipeline.from_preset("esc50-small"), "caption", 1)
