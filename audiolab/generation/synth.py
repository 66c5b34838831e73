"""Procedural labelled sounds: seeded, vectorised synthesisers for twelve everyday sound classes.

Every clip is fully determined by ``(label, seed, seconds, sample_rate)``; the seed varies pitch,
rate, timing, durations and loudness. Used to train the small mel-spectrogram diffusion generator
and by the tests. Only numpy and scipy are needed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

SAMPLE_RATE: int = 16000

CLASSES: tuple[str, ...] = (
    "siren",
    "bird_chirp",
    "engine_hum",
    "rain",
    "wind",
    "thunder",
    "church_bell",
    "kick_drum",
    "footsteps",
    "clock_tick",
    "water_drip",
    "whistle",
)

CAPTIONS: dict[str, tuple[str, ...]] = {
    "siren": (
        "a distant siren wailing",
        "an ambulance passing by",
        "police car alarm rising and falling",
        "an emergency vehicle speeding down the street",
        "a fire truck siren sweeping up and down",
        "a two-tone alarm blaring in the city",
        "a loud warning signal howling",
        "a wailing siren",
    ),
    "bird_chirp": (
        "a small bird chirping",
        "birds tweeting in the morning",
        "a songbird calling from a tree",
        "quick high-pitched tweets in a garden",
        "a sparrow singing short bursts",
        "birdsong at dawn",
        "cheerful little chirps outdoors",
        "a bird chirp",
    ),
    "engine_hum": (
        "an engine humming",
        "a car idling in a garage",
        "a diesel motor rumbling steadily",
        "the low drone of a running generator",
        "a truck engine ticking over",
        "a boat motor chugging along",
        "machinery humming in a workshop",
        "a low mechanical drone",
    ),
    "rain": (
        "rain falling",
        "a steady downpour on the roof",
        "drizzle pattering on the pavement",
        "raindrops hitting a window",
        "a rainy afternoon outside",
        "heavy showers splashing on the ground",
        "soft patter of a light shower",
        "rainfall with many tiny droplets",
    ),
    "wind": (
        "wind blowing",
        "a gusty breeze whooshing past",
        "a strong gale howling outside",
        "air rushing through the trees",
        "a stormy blustery day",
        "gentle gusts of air rising and falling",
        "a cold draught whistling softly",
        "windy weather on a hillside",
    ),
    "thunder": (
        "thunder rumbling",
        "a loud thunderclap followed by rolling rumble",
        "a storm crackling overhead",
        "lightning strike and deep booming",
        "distant storm rolling across the sky",
        "a sharp crack and a long low roar",
        "a thunderstorm approaching",
        "booming rumble of a summer storm",
    ),
    "church_bell": (
        "a church bell ringing",
        "a large bronze bell tolling",
        "bells chiming from a cathedral tower",
        "a single deep bell strike fading out",
        "the toll of a village chapel bell",
        "a resonant gong-like chime",
        "a tower bell striking the hour",
        "a ringing metallic bell with a long decay",
    ),
    "kick_drum": (
        "a kick drum beat",
        "a steady bass drum pulse",
        "thumping four on the floor",
        "a punchy electronic kick",
        "deep drum hits keeping time",
        "a booming beat at a steady tempo",
        "a dance track bass drum",
        "low thuds in a rhythmic pattern",
    ),
    "footsteps": (
        "footsteps walking",
        "someone walking on gravel",
        "a person strolling down a hallway",
        "shoes stepping on a hard floor",
        "steady steps approaching",
        "a walker crunching along a path",
        "heels tapping as someone walks by",
        "feet treading at a relaxed pace",
    ),
    "clock_tick": (
        "a clock ticking",
        "a wall clock tick tock",
        "a quiet room with a ticking timepiece",
        "the steady ticking of a pendulum clock",
        "a wristwatch ticking softly",
        "tick tock of an old mantel clock",
        "a mechanical timer counting seconds",
        "regular small clicks of a clock",
    ),
    "water_drip": (
        "water dripping",
        "a leaky faucet dripping in a sink",
        "drops falling into a puddle in a cave",
        "a tap slowly dripping at night",
        "single droplets plinking into water",
        "water drops echoing in a basement",
        "a slow drip from the ceiling",
        "plop sounds of drops landing in a bucket",
    ),
    "whistle": (
        "someone whistling a tune",
        "a person whistling a short melody",
        "a cheerful whistled phrase",
        "a high clear whistle with vibrato",
        "a man whistling while he works",
        "a pure tone melody whistled by mouth",
        "a whistle",
        "a few notes whistled casually",
    ),
}

MAX_SECONDS = 60.0
MIN_SYNTH_SAMPLE_RATE = 4_000  # below this even the 2-5 kHz classes cannot be represented at all
MAX_SYNTH_SAMPLE_RATE = 384_000
_TAU = 2.0 * math.pi
_NOISE_FLOOR = 1e-4  # -80 dB below the peak: keeps log-mels finite without being audible


@dataclass(frozen=True, eq=False)  # eq=False: element-wise array comparison makes == ambiguous
class SynthClip:
    """One synthesised clip with its class label, a caption and the seed that made it."""

    audio: np.ndarray
    label: str
    caption: str
    seed: int


# --------------------------------------------------------------------------------------------
# small shared helpers


def _class_index(label: str) -> int:
    if not isinstance(label, str) or label not in CLASSES:
        raise ValueError(f"Unknown sound class {label!r}; valid classes are: {', '.join(CLASSES)}.")
    return CLASSES.index(label)


def _seed_word(seed: int) -> int:
    """Map any integer seed (negative too) to the non-negative range SeedSequence accepts."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
    return int(seed) % (1 << 64)


def _rng(label: str, seed: int) -> np.random.Generator:
    return np.random.default_rng([_seed_word(seed), _class_index(label)])


def _nyq_clip(freq: float | np.ndarray, sr: int) -> float | np.ndarray:
    """Keep frequencies safely below Nyquist so low sample rates do not alias or break filters."""
    return np.minimum(freq, 0.45 * sr)


def _below_nyq(freq: np.ndarray, sr: int) -> np.ndarray:
    """Gain that fades a partial out smoothly as it nears Nyquist (a hard gate would click)."""
    return np.clip((0.45 * sr - freq) / (0.05 * sr), 0.0, 1.0)


def _filter(x: np.ndarray, btype: str, freq: float | tuple[float, float], sr: int, order: int = 2) -> np.ndarray:
    """Butterworth filter (second-order sections) with cut-offs clamped into (0, Nyquist)."""
    nyq = 0.5 * sr
    if btype == "bandpass":
        lo, hi = freq  # type: ignore[misc]
        hi = min(hi, 0.95 * nyq)
        lo = min(max(lo, 1.0), 0.9 * hi)
        wn: float | tuple[float, float] = (lo, hi)
    else:
        wn = min(max(float(freq), 1.0), 0.95 * nyq)  # type: ignore[arg-type]
    sos = signal.butter(order, wn, btype=btype, fs=sr, output="sos")
    return signal.sosfilt(sos, x)


def _one_pole(x: np.ndarray, sr: int, tau: float) -> np.ndarray:
    """Exponential smoothing with time constant ``tau`` seconds, starting settled at x[0]."""
    a = math.exp(-1.0 / (tau * sr))
    y, _ = signal.lfilter([1.0 - a], [1.0, -a], x, zi=[a * x[0]])
    return y


def _unit(x: np.ndarray) -> np.ndarray:
    """Scale to unit RMS so component levels can be mixed by meaningful ratios."""
    rms = float(np.sqrt(np.mean(x * x)))
    return x / rms if rms > 0 else x


def _smooth_random(rng: np.random.Generator, n: int, sr: int, rate_hz: float) -> np.ndarray:
    """Smooth random curve in [0, 1]: random control points at ``rate_hz``, cosine-interpolated."""
    pts = rng.random(int(n / sr * rate_hz) + 2)
    pos = np.arange(n) * (rate_hz / sr)
    idx = pos.astype(np.int64)
    w = 0.5 - 0.5 * np.cos(np.pi * (pos - idx))
    return pts[idx] * (1.0 - w) + pts[idx + 1] * w


def _event_times(rng: np.random.Generator, seconds: float, lo: float, hi: float, first_max: float) -> np.ndarray:
    """Irregular onsets: the first within ``first_max`` s (and inside the clip), then gaps in [lo, hi]."""
    first = rng.uniform(0.0, min(first_max, 0.5 * seconds))
    gaps = rng.uniform(lo, hi, int(seconds / lo) + 2)
    times = first + np.concatenate(([0.0], np.cumsum(gaps)))
    return times[times < seconds]


def _place(out: np.ndarray, kernel: np.ndarray, start: int, gain: float = 1.0) -> None:
    """Add ``gain * kernel`` into ``out`` at sample ``start``, truncated at the clip end."""
    if start >= out.size or start < 0:
        return
    seg = out[start : start + kernel.size]
    seg += gain * kernel[: seg.size]


def _decay(m: int, sr: int, tau: float, attack: float = 0.0) -> np.ndarray:
    """Exponential decay envelope of ``m`` samples, optionally with an exponential attack."""
    tt = np.arange(m) / sr
    env = np.exp(-tt / tau)
    if attack > 0:
        env *= 1.0 - np.exp(-tt / attack)
    return env


# --------------------------------------------------------------------------------------------
# one synthesiser per class: (rng, n_samples, sample_rate) -> float64 waveform of any scale


def _siren(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    t = np.arange(n) / sr
    f0 = rng.uniform(500.0, 1500.0)
    rate = rng.uniform(0.2, 2.0)  # LFO sweep rate in Hz
    lfo_phase = _TAU * rate * t + rng.uniform(0.0, _TAU)
    mode = int(rng.integers(3))
    if mode == 0:  # "wail": smooth sinusoidal sweep
        depth = rng.uniform(0.2, 0.35)
        lfo = np.sin(lfo_phase)
    elif mode == 1:  # "whoop": slow rise then quick fall, like US sirens
        depth = rng.uniform(0.2, 0.35)
        frac = np.mod(lfo_phase / _TAU, 1.0)
        lfo = 2.0 * np.sin(0.5 * np.pi * frac) ** 2 - 1.0
        lfo = _one_pole(lfo, sr, 0.03)  # soften the drop so it glides rather than jumps
    else:  # European hi-lo two-tone; ratio of the two tones is about 1.2-1.4
        depth = rng.uniform(0.1, 0.17)
        lfo = _one_pole(np.sign(np.sin(lfo_phase)), sr, 0.01)
    freq = f0 * (1.0 + depth * lfo)
    amp = np.ones(n)
    if rng.random() < 0.6:  # passing vehicle: doppler pitch drop and a loudness bump
        tc = rng.uniform(0.2, 0.8) * t[-1]
        width = rng.uniform(0.6, 2.0)
        shift = rng.uniform(0.02, 0.05)  # v/c for a vehicle at about 25-60 km/h
        freq = freq * (1.0 - shift * np.tanh((t - tc) / width))
        amp = 0.35 + 0.65 / np.sqrt(1.0 + ((t - tc) / (1.5 * width)) ** 2)
    phase = _TAU * np.cumsum(freq) / sr
    y = np.sin(phase)
    # a few explicit harmonics give the horn's bite (saturation would alias above Nyquist)
    for k, level in ((2, rng.uniform(0.15, 0.4)), (3, rng.uniform(0.1, 0.3)), (4, rng.uniform(0.03, 0.1))):
        y += level * np.sin(k * phase) * _below_nyq(k * freq, sr)
    return y * amp


def _bird_chirp(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    seconds = n / sr
    out = np.zeros(n)
    base = rng.uniform(2500.0, 4500.0)  # the "species" pitch centre
    curve = rng.uniform(0.5, 2.0)  # sweep shape exponent: concave or convex glides
    t = rng.uniform(0.0, min(0.3, 0.3 * seconds))
    while t < seconds:
        n_chirps = int(rng.integers(2, 8))
        dur = rng.uniform(0.05, 0.2)
        direction = int(rng.integers(3))  # 0 down, 1 up, 2 up-then-down
        for _ in range(n_chirps):
            if t >= seconds:
                break
            d = dur * rng.uniform(0.8, 1.2)
            m = max(int(d * sr), 8)
            f_hi = float(np.clip(base * rng.uniform(1.05, 1.4), 2000.0, 6000.0))
            f_lo = float(np.clip(f_hi * rng.uniform(0.45, 0.75), 2000.0, 6000.0))
            u = np.arange(m) / m
            if direction == 0:
                f = f_hi + (f_lo - f_hi) * u**curve
            elif direction == 1:
                f = f_lo + (f_hi - f_lo) * u**curve
            else:
                f = f_lo + (f_hi - f_lo) * np.sin(np.pi * u)
            f = _nyq_clip(f, sr)
            phase = _TAU * np.cumsum(f) / sr
            chirp = (np.sin(phase) + 0.12 * np.sin(2 * phase) * _below_nyq(2 * f, sr)) * np.sin(np.pi * u) ** 2
            _place(out, chirp, int(t * sr), rng.uniform(0.5, 1.0))
            t += d + rng.uniform(0.02, 0.08)  # tiny pause between chirps of a burst
        t += rng.uniform(0.15, 0.9)  # silence between bursts
    # faint outdoor air so gaps are not digital silence
    ambience = _filter(rng.standard_normal(n), "bandpass", (300.0, 3000.0), sr)
    return out + 0.01 * _unit(ambience)


def _engine_hum(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    f0 = rng.uniform(30.0, 120.0)  # firing rate of the engine
    rpm_wander = 1.0 + 0.03 * (2.0 * _smooth_random(rng, n, sr, rng.uniform(0.2, 0.8)) - 1.0)
    cycles = np.cumsum(f0 * rpm_wander) / sr
    frac = np.mod(cycles, 1.0)
    # a sharp decaying pulse per firing gives the dense harmonic series of a combustion engine
    pulses = np.exp(-rng.uniform(4.0, 12.0) * frac)
    gains = 1.0 + 0.12 * rng.standard_normal(int(cycles[-1]) + 2)  # uneven cylinders
    pulses = (pulses - pulses.mean()) * gains[cycles.astype(np.int64)]
    harmonics = _filter(pulses, "lowpass", rng.uniform(600.0, 2500.0), sr)
    fundamental = np.sin(_TAU * cycles) + 0.5 * np.sin(2 * _TAU * cycles)
    am = 1.0 + rng.uniform(0.08, 0.25) * np.sin(0.5 * _TAU * cycles)  # half-rate lope of a 4-stroke
    rumble = _filter(rng.standard_normal(n), "lowpass", rng.uniform(80.0, 200.0), sr, order=4)
    return am * (_unit(harmonics) + rng.uniform(0.4, 1.0) * _unit(fundamental)) + rng.uniform(0.15, 0.4) * _unit(rumble)


# Paul Kellet's economical pink-noise filter (-3 dB/octave), coefficients for any sample rate
_PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
_PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])


def _rain(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    pink = signal.lfilter(_PINK_B, _PINK_A, rng.standard_normal(n))
    hiss = _filter(pink, "bandpass", (rng.uniform(300.0, 900.0), rng.uniform(5000.0, 7500.0)), sr)
    intensity = 1.0 + 0.3 * (_smooth_random(rng, n, sr, 0.5) - 0.5)  # the shower waxes and wanes
    # droplets: Poisson-distributed clicks with heavy-tailed sizes, rung through a few resonances
    count = int(rng.poisson(rng.uniform(80.0, 500.0) * n / sr))
    pos = rng.integers(0, n, count)
    size = rng.pareto(2.5, count) * rng.choice([-1.0, 1.0], count)
    group = rng.integers(0, 3, count)
    drops = np.zeros(n)
    for g in range(3):
        sel = group == g
        impulses = np.bincount(pos[sel], weights=size[sel], minlength=n)
        fc = rng.uniform(1500.0, 5000.0)
        drops += _filter(impulses, "bandpass", (0.75 * fc, 1.3 * fc), sr)
    return intensity * _unit(hiss) + rng.uniform(0.3, 0.9) * _unit(drops)


def _wind(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    noise = rng.standard_normal(n)
    gust = _smooth_random(rng, n, sr, rng.uniform(0.3, 1.0)) ** 1.5
    # the whoosh: a band-pass whose centre glides with the gusts (higher when blowing harder)
    lo, hi = math.log2(rng.uniform(120.0, 250.0)), math.log2(rng.uniform(600.0, 1500.0))
    centre = lo + (hi - lo) * (0.6 * gust + 0.4 * _smooth_random(rng, n, sr, rng.uniform(0.2, 0.6)))
    sigma = rng.uniform(0.4, 0.7)  # band width in octaves
    out = np.zeros(n)
    for fb in np.geomspace(100.0, 2000.0, 7):  # a small filter bank; per-band gains move the peak
        band = _filter(noise, "bandpass", (fb / 1.3, fb * 1.3), sr)
        out += band * np.exp(-0.5 * ((math.log2(fb) - centre) / sigma) ** 2)
    rumble = _filter(rng.standard_normal(n), "lowpass", rng.uniform(60.0, 150.0), sr, order=4)
    level = 0.2 + 0.8 * gust
    return level * (_unit(out) + rng.uniform(0.2, 0.5) * _unit(rumble))


def _thunder(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    seconds = n / sr
    t = np.arange(n) / sr
    strikes = [rng.uniform(0.0, min(0.6, 0.2 * seconds))]
    while True:  # long clips get further claps so the storm never falls silent for long
        nxt = strikes[-1] + rng.uniform(5.0, 12.0)
        if nxt >= seconds:
            break
        strikes.append(nxt)
    crack_env = np.zeros(n)
    rumble_env = np.zeros(n)
    for i, t0 in enumerate(strikes):
        dt = np.maximum(t - t0, 0.0)
        on = t >= t0
        near = rng.uniform(0.4, 1.0) if i == 0 else rng.uniform(0.2, 0.9)  # distance: crack level
        crack_env += on * near * np.exp(-dt / rng.uniform(0.02, 0.08))
        tau = rng.uniform(1.0, 2.5)  # rumble decays over seconds
        env = on * (1.0 - np.exp(-dt / rng.uniform(0.05, 0.3))) * np.exp(-dt / tau)
        rolls = np.ones(n)
        for _ in range(int(rng.integers(2, 5))):  # echoes off terrain/clouds: a few swelling rolls
            tk = t0 + rng.uniform(0.3, 3.0)
            rolls += rng.uniform(0.5, 2.0) * np.exp(-0.5 * ((t - tk) / rng.uniform(0.15, 0.5)) ** 2)
        rumble_env += env * rolls
    crack = _filter(rng.standard_normal(n), "highpass", 300.0, sr) * crack_env
    rumble = _unit(_filter(rng.standard_normal(n), "lowpass", rng.uniform(100.0, 300.0), sr, order=4))
    return rng.uniform(1.0, 2.5) * crack + rumble * rumble_env / max(rumble_env.max(), 1e-9) * 2.0


# Bell partial ratios (hum, prime, tierce, quint, nominal, ...), the classic minor-third bell
_BELL_RATIOS = np.array([0.5, 1.0, 1.2, 1.5, 2.0, 2.5, 3.0])
_BELL_LEVELS = np.array([0.6, 1.0, 0.7, 0.45, 0.9, 0.35, 0.3])


def _church_bell(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    seconds = n / sr
    f0 = rng.uniform(200.0, 600.0)
    ratios = _BELL_RATIOS * (1.0 + 0.008 * rng.standard_normal(_BELL_RATIOS.size))  # casting detune
    levels = _BELL_LEVELS * rng.uniform(0.7, 1.3, _BELL_RATIOS.size)
    taus = rng.uniform(1.5, 4.0) / ratios**0.8  # higher partials die away faster
    first = rng.uniform(0.0, min(0.4, 0.3 * seconds))
    m = n - int(first * sr)
    tt = np.arange(m) / sr
    strike = np.zeros(m)
    for r, lv, tau in zip(ratios, levels, taus):
        f = f0 * r
        if f >= 0.45 * sr:
            continue
        strike += lv * np.exp(-tt / tau) * np.sin(_TAU * f * tt + rng.uniform(0.0, _TAU))
    # slow beating of the prime from a slightly asymmetric bell
    strike *= 1.0 + 0.15 * np.cos(_TAU * rng.uniform(0.5, 2.0) * tt)
    k = min(m, int(0.08 * sr))
    clang = _filter(rng.standard_normal(k), "highpass", 1000.0, sr) * _decay(k, sr, 0.008)
    strike[:k] += 0.3 * clang  # metallic clapper hit
    interval = rng.uniform(0.8, 2.0)
    n_strikes = int(rng.integers(1, 4)) + int(max(0.0, seconds - 4.0) / interval)
    out = np.zeros(n)
    for i in range(n_strikes):
        onset = first + i * interval * (1.0 + 0.03 * rng.standard_normal())
        _place(out, strike, int(onset * sr), rng.uniform(0.75, 1.0))
    return out


def _kick_drum(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    seconds = n / sr
    beat = 60.0 / rng.uniform(80.0, 140.0)  # tempo 80-140 BPM
    m = min(n, int(0.6 * sr))
    tt = np.arange(m) / sr
    f_start, f_end = rng.uniform(120.0, 180.0), rng.uniform(40.0, 60.0)
    freq = f_end + (f_start - f_end) * np.exp(-tt / rng.uniform(0.02, 0.06))  # the pitch drop
    body = np.sin(_TAU * np.cumsum(freq) / sr) * _decay(m, sr, rng.uniform(0.08, 0.25), attack=0.001)
    drive = rng.uniform(1.0, 3.0)
    kick = np.tanh(drive * body) / math.tanh(drive)
    c = min(m, int(0.005 * sr))
    click = _filter(rng.standard_normal(c), "lowpass", 5000.0, sr) * _decay(c, sr, 0.0015)
    kick[:c] += rng.uniform(0.1, 0.4) * click  # beater attack
    out = np.zeros(n)
    t0 = rng.uniform(0.0, min(0.25 * beat, 0.3 * seconds))
    extra = rng.uniform(0.0, 0.3)  # probability of a syncopated extra hit per beat
    for i in range(int((seconds - t0) / beat) + 1):
        onset = t0 + i * beat
        _place(out, kick, int(onset * sr), rng.uniform(0.9, 1.0))
        if rng.random() < extra:
            _place(out, kick, int((onset + beat * rng.choice([0.5, 0.75])) * sr), rng.uniform(0.5, 0.75))
    return out


def _footsteps(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    seconds = n / sr
    period = 1.0 / rng.uniform(1.5, 2.5)  # walking pace in steps per second
    first = rng.uniform(0.0, min(0.4, 0.3 * seconds))
    count = int((seconds - first) / period) + 2
    times = first + np.concatenate(([0.0], np.cumsum(period * (1.0 + 0.06 * rng.standard_normal(count)))))
    m = int(0.3 * sr)
    heel = _decay(m, sr, rng.uniform(0.025, 0.05), attack=0.003)
    scuff = _decay(m, sr, rng.uniform(0.04, 0.08), attack=0.005)
    toe_delay = rng.uniform(0.05, 0.12)  # heel-to-toe roll
    toe_level = rng.uniform(0.35, 0.7)
    thud_env = np.zeros(n)
    grit_env = np.zeros(n)
    for i, ts in enumerate(times[times < seconds]):
        v = (1.0 if i % 2 == 0 else rng.uniform(0.75, 0.95)) * rng.uniform(0.85, 1.0)  # left/right
        _place(thud_env, heel, int(ts * sr), v)
        _place(thud_env, heel, int((ts + toe_delay) * sr), v * toe_level)
        _place(grit_env, scuff, int(ts * sr), v)
    thud = _unit(_filter(rng.standard_normal(n), "lowpass", rng.uniform(150.0, 400.0), sr, order=4))
    body = np.sin(_TAU * rng.uniform(60.0, 100.0) * np.arange(n) / sr)  # floor resonance
    # gravel/grit: band-passed noise gated into granular crunches
    grains = rng.standard_normal(n) * (rng.random(n) < rng.uniform(0.05, 0.4))
    grit = _unit(_filter(grains, "bandpass", (1000.0, 5000.0), sr))
    room = _unit(_filter(rng.standard_normal(n), "lowpass", 500.0, sr))
    return thud_env * (thud + 0.4 * body) + rng.uniform(0.05, 0.5) * grit_env * grit + 0.01 * room


def _clock_tick(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    seconds = n / sr
    period = 1.0 / float(rng.choice([1, 2]))  # exactly 1 or 2 ticks per second
    first = rng.uniform(0.0, 0.9 * min(period, seconds))
    times = first + period * np.arange(int((seconds - first) / period) + 1)
    m = max(int(0.005 * sr), 4)  # 5 ms clicks
    burst_env = _decay(m, sr, rng.uniform(0.0008, 0.0015))
    fc = rng.uniform(2500.0, 4000.0)
    tock_ratio = rng.uniform(0.72, 0.9)  # the "tock" is slightly lower
    # filter each short burst on its own (batched), not a mostly-silent full-length train:
    # IIR states decaying through silence hit subnormal floats, which are very slow
    ring = m + max(int(0.015 * sr), 4)  # room for the band-pass ringing
    bursts = np.zeros((times.size, ring))
    bursts[:, :m] = rng.standard_normal((times.size, m)) * burst_env
    bursts[0::2] = _filter(bursts[0::2], "bandpass", (0.8 * fc, 1.25 * fc), sr)
    tock = fc * tock_ratio
    bursts[1::2] = _filter(bursts[1::2], "bandpass", (0.8 * tock, 1.25 * tock), sr)
    out = np.zeros(n)
    for ts, burst in zip(times, bursts):
        _place(out, burst, int(ts * sr), rng.uniform(0.9, 1.0))
    # the case's small wooden/metal body resonance under the click
    r = int(0.03 * sr)
    body = np.sin(_TAU * rng.uniform(900.0, 1600.0) * np.arange(r) / sr) * _decay(r, sr, 0.006)
    level = rng.uniform(0.1, 0.3) * np.max(np.abs(out)) if out.any() else 1.0
    for ts in times:
        _place(out, body, int(ts * sr), level)
    room = _unit(_filter(rng.standard_normal(n), "lowpass", 1000.0, sr))
    return out + 0.003 * np.max(np.abs(out)) * room


def _water_drip(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    seconds = n / sr
    times = _event_times(rng, seconds, 0.3, 1.2, 0.3)
    m = int(0.15 * sr)
    tt = np.arange(m) / sr
    f_lo, f_hi = rng.uniform(650.0, 1000.0), rng.uniform(1600.0, 2500.0)
    glide = rng.uniform(0.005, 0.015)  # the rapid upward "plink" glide
    decay = rng.uniform(0.025, 0.05)  # ~40 ms ring-out
    dry = np.zeros(n)
    env = _decay(m, sr, decay, attack=0.0008)
    s = max(int(0.003 * sr), 2)
    for ts in times:
        detune = 1.0 + 0.05 * rng.standard_normal()  # each drop a little different
        freq = _nyq_clip(detune * (f_hi - (f_hi - f_lo) * np.exp(-tt / glide)), sr)
        plink = np.sin(_TAU * np.cumsum(freq) / sr) * env
        plink[:s] += 0.15 * rng.standard_normal(s) * np.linspace(1.0, 0.0, s)  # tiny splash
        _place(dry, plink, int(ts * sr), rng.uniform(0.6, 1.0))
    # faint room reverb: exponentially decaying noise impulse response
    r = int(rng.uniform(0.4, 0.8) * sr)
    ir = _filter(rng.standard_normal(r), "lowpass", 4000.0, sr) * _decay(r, sr, rng.uniform(0.08, 0.2))
    wet = signal.fftconvolve(dry, ir)[:n]
    room = _filter(rng.standard_normal(n), "lowpass", 800.0, sr)
    return dry + rng.uniform(0.1, 0.3) * _unit(wet) * np.std(dry) + 0.004 * _unit(room)


_PENTATONIC = np.array([0, 2, 4, 7, 9, 12])  # semitones: whistled tunes sit on simple scales


def _whistle(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    seconds = n / sr
    base = rng.uniform(1000.0, 1500.0)  # +12 semitones keeps every note within 1-3 kHz
    semis = np.full(n, float(rng.choice(_PENTATONIC)))
    gate = np.zeros(n)
    t = rng.uniform(0.0, min(0.2, 0.2 * seconds))
    while t < seconds:
        for _ in range(int(rng.integers(3, 8))):  # one phrase
            d = rng.uniform(0.12, 0.5)
            a, b = int(t * sr), int(min(t + d, seconds) * sr)
            semis[a:] = rng.choice(_PENTATONIC)
            gate[a:b] = 1.0
            t += d + (rng.uniform(0.03, 0.08) if rng.random() < 0.4 else 0.0)  # legato or detached
            if t >= seconds:
                break
        t += rng.uniform(0.2, 0.7)  # breath between phrases
    log_f = _one_pole(semis / 12.0, sr, rng.uniform(0.01, 0.04))  # portamento between notes
    time = np.arange(n) / sr
    vib_depth = rng.uniform(10.0, 40.0) / 1200.0  # cents -> octaves
    log_f = log_f + vib_depth * np.sin(_TAU * rng.uniform(4.0, 7.0) * time) * _smooth_random(rng, n, sr, 2.0)
    freq = _nyq_clip(base * 2.0**log_f, sr)
    phase = _TAU * np.cumsum(freq) / sr
    amp = _one_pole(gate, sr, rng.uniform(0.008, 0.02))
    tone = np.sin(phase) + 0.05 * np.sin(2 * phase) * _below_nyq(2 * freq, sr)
    breath = _unit(_filter(rng.standard_normal(n), "bandpass", (1500.0, 6000.0), sr)) * 0.7
    return amp * (tone + rng.uniform(0.03, 0.1) * breath)


_SYNTHS: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "siren": _siren,
    "bird_chirp": _bird_chirp,
    "engine_hum": _engine_hum,
    "rain": _rain,
    "wind": _wind,
    "thunder": _thunder,
    "church_bell": _church_bell,
    "kick_drum": _kick_drum,
    "footsteps": _footsteps,
    "clock_tick": _clock_tick,
    "water_drip": _water_drip,
    "whistle": _whistle,
}


# --------------------------------------------------------------------------------------------
# public API


def synthesize(label: str, seed: int, seconds: float = 4.0, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Synthesise one clip of class ``label``: float32 mono, round(seconds*sample_rate) samples,
    peak in [0.25, 0.9] chosen by the seed. Same arguments give bit-identical output."""
    rng = _rng(label, seed)
    if not (isinstance(seconds, (int, float, np.integer, np.floating)) and 0.0 < seconds <= MAX_SECONDS):
        raise ValueError(f"seconds must be in (0, {MAX_SECONDS:g}], got {seconds!r}.")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise ValueError(f"sample_rate must be an integer, got {sample_rate!r}.")
    if not MIN_SYNTH_SAMPLE_RATE <= sample_rate <= MAX_SYNTH_SAMPLE_RATE:
        raise ValueError(
            f"sample_rate must be between {MIN_SYNTH_SAMPLE_RATE} and {MAX_SYNTH_SAMPLE_RATE} Hz, got {sample_rate}."
        )
    sr = int(sample_rate)
    n = int(round(float(seconds) * sr))
    if n < 1:
        raise ValueError(f"seconds={seconds!r} gives no samples at {sr} Hz; ask for a longer clip.")
    peak = rng.uniform(0.25, 0.9)  # random loudness, drawn first so it never depends on the class code
    x = _SYNTHS[label](rng, n, sr)
    top = float(np.max(np.abs(x))) if x.size else 0.0
    if not math.isfinite(top) or top <= 0.0:  # cannot happen for sane inputs; never return silence
        x = rng.standard_normal(n)
        top = float(np.max(np.abs(x)))
    x = x / top + _NOISE_FLOOR * rng.standard_normal(n)
    x *= peak / float(np.max(np.abs(x)))
    return x.astype(np.float32)


def caption_for(label: str, seed: int) -> str:
    """Pick one of the class's captions, deterministically from the seed."""
    options = CAPTIONS[CLASSES[_class_index(label)]]
    # a third seed word keeps the caption choice independent of the audio's random stream
    rng = np.random.default_rng([_seed_word(seed), _class_index(label), 1])
    return options[int(rng.integers(len(options)))]


def make_dataset(
    n_per_class: int,
    seconds: float = 4.0,
    sample_rate: int = SAMPLE_RATE,
    seed: int = 0,
    classes: Sequence[str] | None = None,
) -> list[SynthClip]:
    """Make ``n_per_class`` captioned clips for each class (all classes by default), class by class.

    Clip seeds are hashed from ``(seed, index)``, so datasets with different ``seed`` do not share
    clips even when their sizes differ (safe train/test splits)."""
    if isinstance(n_per_class, bool) or not isinstance(n_per_class, (int, np.integer)) or n_per_class < 0:
        raise ValueError(f"n_per_class must be a non-negative integer, got {n_per_class!r}.")
    if isinstance(classes, str):
        raise ValueError(f"classes must be a sequence of class names, not the string {classes!r}.")
    labels = tuple(CLASSES if classes is None else classes)
    for label in labels:
        _class_index(label)
    base = _seed_word(seed)
    clip_seeds = [
        int(np.random.SeedSequence([base, i]).generate_state(1, np.uint64)[0]) >> 1 for i in range(int(n_per_class))
    ]
    return [
        SynthClip(
            audio=synthesize(label, s, seconds, sample_rate),
            label=label,
            caption=caption_for(label, s),
            seed=s,
        )
        for label in labels
        for s in clip_seeds
    ]
