"""Training folders: file discovery with held-out globs, and crops that keep a companion signal aligned."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiolab.core.corpus import AudioSource, audio_files


def test_audio_files_recurses_and_honours_exclusions(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    tone = np.sin(np.arange(8_000) * 0.05).astype(np.float32)
    for name in ("1-a.wav", "4-b.wav", "sub/1-c.flac"):
        sf.write(tmp_path / name, tone, 16_000)
    (tmp_path / "notes.txt").write_text("not audio")
    assert [p.name for p in audio_files(tmp_path)] == ["1-a.wav", "4-b.wav", "1-c.flac"]
    assert [p.name for p in audio_files(tmp_path, ("4-*",))] == ["1-a.wav", "1-c.flac"]
    with pytest.raises(ValueError, match="No audio files"):
        audio_files(tmp_path, ("*",))
    with pytest.raises(ValueError, match="does not exist"):
        audio_files(tmp_path / "missing")


def test_audio_files_can_take_the_first_few_of_each_speaker(tmp_path: Path) -> None:
    tone = np.sin(np.arange(8_000) * 0.05).astype(np.float32)
    for name in ("00001a.wav", "00001b.wav", "00001c.wav", "00006a.wav", "00006b.wav", "00009a.wav"):
        sf.write(tmp_path / name, tone, 16_000)
    assert [p.name for p in audio_files(tmp_path, include=("00001*", "00006*"))] == [
        "00001a.wav", "00001b.wav", "00001c.wav", "00006a.wav", "00006b.wav"]
    assert [p.name for p in audio_files(tmp_path, include=("00001*", "00006*"), per_pattern=2)] == [
        "00001a.wav", "00001b.wav", "00006a.wav", "00006b.wav"]


def test_crop_pair_cuts_and_scales_the_companion_alike() -> None:
    rng = np.random.default_rng(0)
    clips = [rng.standard_normal(20_000).astype(np.float32) * 0.1 for _ in range(3)]
    source = AudioSource("noise", clips, companions=[-2.0 * clip for clip in clips])
    for _ in range(5):
        excerpt, companion = source.crop_pair(4_000, rng)
        assert excerpt.shape == companion.shape == (4_000,)
        assert np.allclose(companion, -2.0 * excerpt, atol=1e-6)
        level = 20 * np.log10(np.sqrt(np.mean(excerpt**2)))
        assert -35.5 <= level <= -14.5


def test_short_clips_are_zero_padded_and_plain_crops_have_no_companion() -> None:
    source = AudioSource("short", [np.full(1_000, 0.1, np.float32)])
    excerpt, companion = source.crop_pair(4_000, np.random.default_rng(1))
    assert companion is None and excerpt.shape == (4_000,) and np.all(excerpt[1_000:] == 0)


def test_credits_list_every_cc_by_clip_used_and_cite_esc50(tmp_path: Path) -> None:
    from audiolab.core.credits import credits_markdown

    audio = tmp_path / "esc50" / "audio"
    audio.mkdir(parents=True)
    tone = np.sin(np.arange(8_000) * 0.05).astype(np.float32)
    rows = ["filename,fold,target,category,source_file,source_url,author,license"]
    for name, licence in (("1-1-A.wav", "CC-BY"), ("1-2-A.wav", "CC0"), ("4-3-A.wav", "CC-BY")):
        sf.write(audio / name, tone, 16_000)
        rows.append(f"{name},{name[0]},0,dog,x.wav,http://example.org/{name},someone,{licence}")
    (tmp_path / "esc50" / "meta.csv").write_text("\n".join(rows) + "\n")
    text = credits_markdown("test", [audio], exclude=["4-*"])
    assert "Piczak" in text and "| 1-1-A.wav | dog | someone | http://example.org/1-1-A.wav |" in text
    assert "1-2-A.wav" not in text  # CC0 needs no attribution
    assert "4-3-A.wav" not in text  # held out, so not used


def test_credits_list_a_speech_corpus_whose_meta_csv_is_not_esc50s(tmp_path: Path) -> None:
    from audiolab.core.credits import credits_markdown

    folder = tmp_path / "speechocean762"
    folder.mkdir()
    tone = np.sin(np.arange(8_000) * 0.05).astype(np.float32)
    for name in ("000010011.ogg", "000020012.ogg"):
        sf.write(folder / name, tone, 16_000)
    (folder / "meta.csv").write_text('file,speaker,gender,age,text\n000010011.ogg,0001,m,6,"WE CALL IT BEAR"\n')
    text = credits_markdown("test", [folder], exclude=["00002*"])
    assert "## speechocean762: 1 recordings" in text and "Interspeech 2021" in text and "000010011" in text
    assert "000020012" not in text and "ESC-50" not in text
