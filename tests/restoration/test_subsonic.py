"""DC offset and rumble below 20 Hz are taken out before denoising, and only before denoising."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from audiolab.restoration.diffgmm import DiffGMMDenoiser, DiffGMMSettings
from audiolab.restoration.subsonic import SUBSONIC_NOTE_DB, remove_subsonic, removed_level_db, subsonic_note
from tests.restoration.test_restoration import SMALL, small_restorer

RATE = 16_000


def _tone(hz: float, seconds: float = 2.0, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def _level_db(part: np.ndarray, whole: np.ndarray) -> float:
    return 10 * math.log10(np.sum(part.astype(np.float64) ** 2) / np.sum(whole.astype(np.float64) ** 2))


def test_speech_frequencies_pass_and_dc_and_rumble_do_not() -> None:
    speech = _tone(120.0) + _tone(1000.0, amplitude=0.1)  # a low voice's fundamental and a formant
    middle = slice(RATE // 2, -RATE // 2)  # away from the ends, where any filter settles
    kept = remove_subsonic(speech, RATE)
    assert _level_db((kept - speech)[middle], speech[middle]) < -40  # within 1% in amplitude
    offset = remove_subsonic(speech + 0.2, RATE)
    assert abs(float(np.mean(offset[middle]))) < 1e-3 and np.allclose(offset[middle], kept[middle], atol=5e-3)
    rumble = _tone(8.0)
    assert _level_db(remove_subsonic(rumble, RATE)[middle], rumble[middle]) < -30  # fourth order: (8/20)^4 ≈ −32 dB
    assert kept.dtype == np.float32 and kept.shape == speech.shape


def test_the_note_says_how_loud_what_was_taken_out_was() -> None:
    speech = _tone(200.0)
    assert removed_level_db(speech, speech) == -math.inf and subsonic_note(-math.inf) is None
    with_offset = speech + 0.3
    level_db = removed_level_db(with_offset, remove_subsonic(with_offset, RATE))
    assert level_db == pytest.approx(_level_db(np.full_like(speech, 0.3), with_offset), abs=0.2)  # the DC's share
    note = subsonic_note(level_db)
    assert note is not None and "DC offset" in note and f"{level_db:.0f} dB" in note
    assert subsonic_note(SUBSONIC_NOTE_DB - 1) is None


@pytest.mark.parametrize("method", ["diffgmm", "baseline"])
def test_denoising_a_recording_with_an_offset_is_denoising_it_without(method: str) -> None:
    rng = np.random.default_rng(0)
    noisy = _tone(220.0, seconds=1.0) + 0.05 * rng.normal(size=RATE).astype(np.float32)
    restorer = small_restorer()
    plain = restorer.restore(noisy, method)  # type: ignore[arg-type]
    shifted = restorer.restore(noisy + 0.5, method)  # type: ignore[arg-type]
    middle = slice(RATE // 4, -RATE // 4)
    assert _level_db((shifted.audio - plain.audio)[middle], plain.audio[middle]) < -25
    assert any("DC offset" in note for note in shifted.notes) and not any("DC offset" in n for n in plain.notes)


def test_other_tasks_keep_their_raw_samples_and_a_pure_offset_is_silence() -> None:
    restorer = small_restorer()
    gapped = _tone(220.0, seconds=1.0) + 0.1
    gapped[6000:7600] = 0.0  # the gap is exact zeros only before any filtering
    restored = restorer.restore(gapped, "baseline", "inpaint")
    assert np.array_equal(restored.audio[:6000], gapped[:6000]) and not restored.notes
    with pytest.raises(ValueError, match="without its DC offset and rumble below 20 Hz is silent"):
        restorer.restore(np.full(RATE, 0.25, np.float32), "baseline")


def test_eval_adds_the_offset_and_rumble_it_is_asked_for_and_refuses_bad_amounts() -> None:
    from audiolab.restoration.evaluate import RUMBLE_HZ, with_offset_and_rumble

    clean = _tone(300.0, seconds=1.0)
    noisy = clean + 0.1 * np.random.default_rng(1).normal(size=clean.size).astype(np.float32)
    rms = float(np.sqrt(np.mean(noisy.astype(np.float64) ** 2)))
    [(name, kept, shifted)] = with_offset_and_rumble([("a", clean, noisy)], offset=1.0, rumble=2.0)
    t = np.arange(clean.size) / RATE
    assert name == "a" and kept is clean
    assert np.allclose(shifted - noisy, rms * (1.0 + 2.0 * np.sin(2 * np.pi * RUMBLE_HZ * t)), atol=1e-5)
    assert np.array_equal(with_offset_and_rumble([("a", clean, noisy)])[0][2], noisy)
    for bad in ({"offset": -1.0}, {"rumble": math.nan}):
        with pytest.raises(ValueError, match="multiples of the input's RMS"):
            with_offset_and_rumble([("a", clean, noisy)], **bad)


def test_eval_refuses_an_offset_for_the_other_tasks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import soundfile as sf

    from audiolab.cli import main

    sf.write(tmp_path / "a.wav", _tone(300.0, seconds=1.0), RATE)
    assert main(["eval", "denoise", "--clean", str(tmp_path), "--task", "declip", "--offset", "1",
                 "--methods", "degraded"]) == 2
    assert "--offset and --rumble are for denoising" in capsys.readouterr().err


def test_a_denoiser_that_removes_little_says_the_recording_was_nearly_clean() -> None:
    rng = np.random.default_rng(2)
    noisy = _tone(220.0, seconds=1.0) + 0.3 * rng.normal(size=RATE).astype(np.float32)  # about −3 dB SNR
    restorer = small_restorer()
    restorer.use("diffgmm", DiffGMMDenoiser(DiffGMMSettings(components=3, **SMALL)).eval())  # untrained: the identity
    identity = restorer.restore(noisy, "diffgmm", steps=1)
    assert np.allclose(identity.audio, remove_subsonic(noisy, RATE), atol=1e-5)
    assert any("the recording may have been nearly clean" in note for note in identity.notes)
    wiener = restorer.restore(noisy, "baseline")  # takes away most of the white noise
    assert not any("nearly clean" in note for note in wiener.notes)
    from audiolab.restoration.restorer import Restorer

    for removed_db, noted in ((-30.0, True), (-20.0, False)):  # the denoised signal a fixed number of dB apart
        notes = Restorer._nearly_clean_note(noisy, noisy * (1 - 10 ** (removed_db / 20)))
        assert bool(notes) == noted and (not noted or f"what lies {-removed_db:.0f} dB below the recording" in notes[0])
    limited = Restorer._nearly_clean_note(noisy, noisy * (1 - 10 ** (-30 / 20)), limited=True)
    assert limited and "attenuation limit" not in limited[0]  # no advice to set what is already set


def test_noise_without_subsonic_content_passes_unchanged_to_its_ends() -> None:
    """The padding mirrors the recording: an end sample is not taken for an offset and pulled towards zero."""
    rng = np.random.default_rng(3)
    noise = np.fft.rfft(0.3 * rng.normal(size=RATE))
    noise[np.fft.rfftfreq(RATE, 1 / RATE) < 30] = 0  # nothing below 30 Hz
    audio = np.fft.irfft(noise, RATE).astype(np.float32)
    kept = remove_subsonic(audio, RATE)
    assert _level_db(kept - audio, audio) < -35
    assert _level_db((kept - audio)[:800], audio[:800]) < -25 and _level_db((kept - audio)[-800:], audio[-800:]) < -25


def test_broadband_noise_and_the_shipped_noisy_examples_get_no_offset_note() -> None:
    """White noise puts 0.25% of its energy below 20 Hz: no offset to speak of, whatever its level."""
    from audiolab.core.audio import load_audio
    from audiolab.examples import restoration_examples

    rng = np.random.default_rng(4)
    for noise_level in (0.05, 0.3, 1.0):
        noisy = _tone(220.0, seconds=1.0) + noise_level * rng.normal(size=RATE).astype(np.float32)
        assert subsonic_note(removed_level_db(noisy, remove_subsonic(noisy, RATE))) is None, noise_level
    for example, degraded, _clean in restoration_examples():
        if example.task == "denoise":
            recording = load_audio(degraded, RATE)
            assert subsonic_note(removed_level_db(recording, remove_subsonic(recording, RATE))) is None, example.name
