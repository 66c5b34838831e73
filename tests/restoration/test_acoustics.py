"""The recording chain of the training mixtures: random colouring, rooms, and clipping in the stream."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from audiolab.core.corpus import AudioSource
from audiolab.restoration.acoustics import EQ_KNOTS_HZ, random_colouring, reverberate, room_impulse_response
from audiolab.restoration.noisy_speech import (
    DISTANT_DIRECT_TO_REVERBERANT_DB,
    NoisySpeechStream,
    coloured_noise,
    distant,
    mix_at_snr_pair,
)
from tests.restoration.sources import tone_and_hiss

RATE = 16_000


def octave_powers_db(signal: np.ndarray) -> np.ndarray:
    """Power in dB in the octave around each equaliser knot from 125 Hz to 4 kHz."""
    power = np.abs(np.fft.rfft(signal.astype(np.float64))) ** 2
    frequency = np.fft.rfftfreq(signal.size, 1 / RATE)
    bands = [(knot / np.sqrt(2), knot * np.sqrt(2)) for knot in EQ_KNOTS_HZ[1:-1]]
    return np.array([10 * np.log10(power[(frequency >= lo) & (frequency < hi)].sum()) for lo, hi in bands])


def test_random_colouring_reshapes_the_spectrum_within_its_gain_range() -> None:
    """An impulse through the equaliser: at every frequency the absolute gain stays within ±12 dB, the
    curve changes from draw to draw, and the same seed gives the same curve."""
    impulse = np.zeros(RATE, dtype=np.float32)
    impulse[0] = 1.0
    curves = []
    for seed in range(20):
        coloured = random_colouring(impulse, np.random.default_rng(seed), RATE)
        assert coloured.shape == impulse.shape and coloured.dtype == np.float32
        curve_db = 20 * np.log10(np.abs(np.fft.rfft(coloured.astype(np.float64))))
        assert np.abs(curve_db).max() <= 12.0 + 1e-4
        curves.append(curve_db)
    assert min(np.ptp(curve) for curve in curves) > 3.0  # a real colouring, not a flat gain
    assert not np.allclose(curves[0], curves[1], atol=1.0)
    np.testing.assert_allclose(random_colouring(impulse, np.random.default_rng(3), RATE),
                               random_colouring(impulse, np.random.default_rng(3), RATE))
    white = coloured_noise(4 * RATE, np.random.default_rng(0), 0.0)
    assert np.ptp(octave_powers_db(random_colouring(white, np.random.default_rng(0), RATE))
                  - octave_powers_db(white)) > 3.0


def test_room_impulse_response_decays_by_60_db_over_its_rt60() -> None:
    """The stochastic model: a unit direct path, then a tail whose Schroeder decay falls about 60 dB over the
    drawn RT60 (here fixed at 0.5 s) and whose energy sits at the drawn direct-to-reverberant ratio."""
    response = room_impulse_response(np.random.default_rng(0), RATE, rt60_s=(0.5, 0.5),
                                     direct_to_reverberant_db=(6.0, 6.0))
    assert response.size == RATE // 2 and response[0] == 1.0
    tail = response[1:].astype(np.float64)
    assert 10 * np.log10(1.0 / np.sum(tail**2)) == pytest.approx(6.0, abs=0.01)
    schroeder_db = 10 * np.log10(np.cumsum(tail[::-1] ** 2)[::-1] / np.sum(tail**2))
    # the line fitted to the decay from −5 to −25 dB, extended to −60 dB (ISO 3382's T20)
    fit = (schroeder_db < -5) & (schroeder_db > -25)
    slope = np.polyfit(np.arange(tail.size)[fit] / RATE, schroeder_db[fit], 1)[0]
    assert -60 / slope == pytest.approx(0.5, rel=0.1)


def test_reverberate_keeps_length_and_level_and_smears_in_time() -> None:
    clicks = np.zeros(RATE, dtype=np.float32)
    clicks[::4000] = 0.5
    wet = reverberate(clicks, room_impulse_response(np.random.default_rng(1), RATE))
    assert wet.shape == clicks.shape
    assert np.sqrt(np.mean(wet.astype(np.float64) ** 2)) == pytest.approx(np.sqrt(np.mean(clicks**2.0)), rel=1e-4)
    assert np.count_nonzero(np.abs(wet) > 1e-4) > 100 * np.count_nonzero(clicks)


def test_at_zero_shares_the_stream_draws_exactly_as_without_the_recording_chain() -> None:
    """Earlier runs replay: with the shares at 0 a pair is the speech crop, the noise and the SNR draw mixed,
    and the generator is left where those draws leave it."""
    speech, hiss = tone_and_hiss()
    stream = NoisySpeechStream([speech], [hiss], RATE, snr_db=(0.0, 10.0), procedural_share=0.0)
    rng, by_hand = np.random.default_rng(0), np.random.default_rng(0)
    for _ in range(3):
        clean, noisy = stream.pair(RATE, rng)
        by_hand.integers(len(stream.speech))  # which speech source: there is one
        expected_clean = speech.crop(RATE, by_hand, stream.level_dbfs)
        noise, snr_range = stream.noise_and_snr_range(RATE, by_hand)
        expected = mix_at_snr_pair(expected_clean, noise, float(by_hand.uniform(*snr_range)))
        np.testing.assert_array_equal(clean, expected[0])
        np.testing.assert_array_equal(noisy, expected[1])
    assert rng.random() == by_hand.random()


def test_the_stream_clips_a_share_of_the_mixtures_and_keeps_the_speech_unclipped() -> None:
    """With clipping_share = 1 the mixture is the unclipped one cut at the drawn fraction of its peak (flat
    tops), and the target is the same unclipped speech."""
    speech, hiss = tone_and_hiss()

    def draw(**clipping: Any) -> tuple[np.ndarray, np.ndarray]:
        stream = NoisySpeechStream([speech], [hiss], RATE, snr_db=(10.0, 10.0), procedural_share=0.0, **clipping)
        return stream.pair(RATE, np.random.default_rng(0))

    clean, noisy = draw(clipping_share=1.0, clipping_fraction=(0.6, 0.6))
    clean_unclipped, noisy_unclipped = draw()
    np.testing.assert_array_equal(clean, clean_unclipped)
    limit = 0.6 * np.abs(noisy_unclipped).max()
    np.testing.assert_allclose(noisy, np.clip(noisy_unclipped, -limit, limit), atol=1e-7)
    assert np.count_nonzero(np.abs(noisy) >= limit - 1e-7) > 50
    with pytest.raises(ValueError, match="clipping_fraction"):
        NoisySpeechStream([speech], [hiss], RATE, clipping_fraction=(0.0, 0.5))


def test_the_stream_colours_noise_and_puts_speech_and_noise_in_rooms_at_its_shares() -> None:
    """With the shares at 1 the noise's octave balance moves, the target tone gets a reverberant tail (energy
    after it stops) and so do the noise's clicks (energy between them); at 0 neither happens."""
    time = np.arange(RATE) / RATE
    burst = np.where(time < 0.5, 0.3 * np.sin(2 * np.pi * 440 * time), 0.0).astype(np.float32)
    clicks = np.zeros(3 * RATE, dtype=np.float32)
    clicks[::4000] = 0.5

    def draw(noise: np.ndarray, **shares: float) -> tuple[np.ndarray, np.ndarray]:
        stream = NoisySpeechStream([AudioSource("burst", [burst])], [AudioSource("noise", [noise])], RATE,
                                   snr_db=(10.0, 10.0), procedural_share=0.0, **shares)
        clean, noisy = stream.pair(RATE, np.random.default_rng(0))
        return clean, noisy - clean

    speech, hiss = tone_and_hiss()
    dry_clean, dry_noise = draw(hiss.clips[0])
    wet_clean, _ = draw(hiss.clips[0], reverb_share=1.0)
    after = slice(int(0.55 * RATE), int(0.6 * RATE))
    assert np.abs(dry_clean[after]).max() == 0.0 and np.abs(wet_clean[after]).max() > 1e-3
    _, coloured_noise_part = draw(hiss.clips[0], colouring_share=1.0)
    assert np.ptp(octave_powers_db(coloured_noise_part) - octave_powers_db(dry_noise)) > 3.0
    _, dry_clicks = draw(clicks)
    _, wet_clicks = draw(clicks, reverb_share=1.0)
    assert np.count_nonzero(np.abs(dry_clicks) > 1e-4) < 10
    assert np.count_nonzero(np.abs(wet_clicks) > 1e-4) > 1000
    with pytest.raises(ValueError, match="from 0 to 1"):
        NoisySpeechStream([speech], [hiss], RATE, reverb_share=2.0)


def test_distant_talkers_carry_more_room_than_the_direct_path_allows_and_only_at_their_share() -> None:
    """`distant` puts an impulse in a room whose direct-to-reverberant ratio lies in the drawn range, so the
    direct sample holds r / (1 + r) of the energy; in the stream, competing talkers (here clicks) get the room
    at distant_talker_share = 1 and stay dry at 0, where the stream makes no extra draw."""
    impulse = np.zeros(2 * RATE, dtype=np.float32)
    impulse[100] = 1.0
    low_db, high_db = DISTANT_DIRECT_TO_REVERBERANT_DB
    for seed in range(5):
        wet = distant(impulse, np.random.default_rng(seed), RATE).astype(np.float64)
        direct_share = wet[100] ** 2 / np.sum(wet**2)
        assert 10 ** (low_db / 10) / (1 + 10 ** (low_db / 10)) - 1e-6 <= direct_share
        assert direct_share <= 10 ** (high_db / 10) / (1 + 10 ** (high_db / 10)) + 1e-6
        assert np.count_nonzero(np.abs(wet[101:]) > 1e-4) > 1000  # the room's tail
    clicks = np.zeros(3 * RATE, dtype=np.float32)
    clicks[::4000] = 0.5

    def talkers(share: float) -> np.ndarray:
        stream = NoisySpeechStream([AudioSource("clicks", [clicks])], [], RATE, competing_share=1.0,
                                   distant_talker_share=share)
        return stream.competing_talkers(RATE, np.random.default_rng(0))

    assert np.count_nonzero(np.abs(talkers(0.0)) > 1e-5) < 20
    assert np.count_nonzero(np.abs(talkers(1.0)) > 1e-5) > 4000

    def state_after_a_pair(share: float) -> dict:
        rng = np.random.default_rng(2)
        speech, hiss = tone_and_hiss()
        NoisySpeechStream([speech], [hiss], RATE, procedural_share=0.0, competing_share=1.0,
                          distant_talker_share=share).pair(RATE, rng)
        return rng.bit_generator.state

    assert state_after_a_pair(0.0) != state_after_a_pair(1e-12)
    with pytest.raises(ValueError, match="from 0 to 1"):
        NoisySpeechStream([AudioSource("clicks", [clicks])], [], RATE, distant_talker_share=1.5)
