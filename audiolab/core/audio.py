"""Audio in and out: loading, mono, resampling, loudness, log-mel spectrograms and Griffin-Lim.

This is the only module that imports torchaudio. Files are read and written with soundfile
(libsndfile: WAV, FLAC, OGG and, with libsndfile >= 1.1, MP3).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio

from audiolab.core.choices import check_writable

MIN_SAMPLE_RATE = 4_000
MAX_SAMPLE_RATE = 384_000
MAX_FILE_SECONDS = 600.0  # ten minutes: longer uploads are almost always a mistake on a CPU lab
SILENCE_PEAK = 1e-4  # -80 dBFS: below this a recording carries no usable sound
MIN_SECONDS = 0.1  # shorter than two 64 ms analysis windows: no spectrogram to speak of


def check_waveform(audio: np.ndarray, what: str = "audio") -> np.ndarray:
    """Return `audio` as contiguous float32 mono, or raise a ValueError that says what to change."""
    audio = np.asarray(audio)
    if not np.issubdtype(audio.dtype, np.floating):
        # integers are scaled before channels are mixed: the mix is float, and would pass unscaled
        if np.issubdtype(audio.dtype, np.integer):
            audio = audio.astype(np.float32) / float(np.iinfo(audio.dtype).max)
        else:
            raise ValueError(f"The {what} has dtype {audio.dtype}; give float or integer samples.")
    if audio.ndim == 2:
        # (samples, channels) as soundfile returns it, or (channels, samples) from torch code
        audio = to_mono(audio)
    if audio.ndim != 1:
        raise ValueError(f"The {what} must be a 1-D waveform (or 2-D samples × channels); got shape {audio.shape}.")
    if audio.size == 0:
        raise ValueError(f"The {what} is empty: give a recording with at least a few milliseconds of sound.")
    if not np.all(np.isfinite(audio)):
        bad = int(np.size(audio) - np.count_nonzero(np.isfinite(audio)))
        raise ValueError(f"The {what} contains {bad} NaN or infinite samples; repair or re-export the file.")
    return np.ascontiguousarray(audio, dtype=np.float32)


def check_not_silent(audio: np.ndarray, what: str = "audio") -> None:
    """Raise a ValueError when the waveform is digital silence (peak below -80 dBFS)."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak < SILENCE_PEAK:
        level = "digital silence" if peak == 0 else f"peak {20 * math.log10(peak):.0f} dBFS"
        raise ValueError(f"The {what} is silent ({level}); give a recording with audible sound.")


def to_mono(audio: np.ndarray) -> np.ndarray:
    """Average the channels of a 2-D array; the channel axis is the shorter one."""
    audio = np.asarray(audio)
    if audio.ndim == 1:
        return audio
    channel_axis = 1 if audio.shape[1] <= audio.shape[0] else 0
    return audio.mean(axis=channel_axis)


# Kaiser-windowed sinc, 64 zero crossings each side (as librosa's "kaiser_best"): flat to 0.9 of the lower
# Nyquist frequency. torchaudio's default (a Hann window, 6 crossings) loses about 0.7 dB at 6.5 kHz, 1.8 dB at
# 7 kHz and 3.7 dB at 7.5 kHz going from 48 to 16 kHz, which a full-band output (restoration/fullband.py) would
# hear as a dip. (The shared training and evaluation data are 16 kHz already, so no model or table depends on it.)
RESAMPLING = {"lowpass_filter_width": 64, "rolloff": 0.9475937167399596, "resampling_method": "sinc_interp_kaiser",
              "beta": 14.769656459379492}


def resample(audio: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Band-limited (Kaiser-windowed sinc) resampling via torchaudio."""
    for name, rate in (("source", orig_sr), ("target", target_sr)):
        if not MIN_SAMPLE_RATE <= int(rate) <= MAX_SAMPLE_RATE:
            raise ValueError(
                f"The {name} sample rate {rate} Hz is outside {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz; re-export the file."
            )
    if orig_sr == target_sr:
        return np.asarray(audio, dtype=np.float32)
    tensor = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))
    out = torchaudio.functional.resample(tensor, int(orig_sr), int(target_sr), **RESAMPLING)
    return out.numpy().astype(np.float32, copy=False)


def normalize_loudness(audio: np.ndarray, target_dbfs: float = -20.0, peak_limit: float = 0.99) -> np.ndarray:
    """Scale to a target RMS level in dBFS, then scale down if the peak would exceed `peak_limit`."""
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    if rms <= 0.0:
        return audio.astype(np.float32)
    gain = 10 ** (target_dbfs / 20) / rms
    peak = float(np.max(np.abs(audio))) * gain
    if peak > peak_limit:
        gain *= peak_limit / peak
    return (audio * gain).astype(np.float32)


PEAK_CEILING = 10 ** (-1.0 / 20)  # −1 dBFS: headroom for lossy encoders and inter-sample peaks
LIMITER_LOOKAHEAD_SECONDS = 0.005  # the gain ramps over ±5 ms: fast enough for clicks, too slow to distort a tone


def peak_limit(audio: np.ndarray, sample_rate: int, ceiling: float = PEAK_CEILING,
               lookahead_seconds: float = LIMITER_LOOKAHEAD_SECONDS) -> np.ndarray:
    """A look-ahead peak limiter: a smooth gain that keeps every |sample| ≤ `ceiling`, with no hard clipping.

    Each sample needs the gain g = min(1, ceiling / |x|). Spreading g by a minimum filter over ±L samples and
    then averaging over the same ±L keeps the bound exact (every value averaged around a peak is at most that
    peak's own need) while the gain moves over 2L samples instead of jumping.
    """
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    audio = np.asarray(audio, dtype=np.float32)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= ceiling:
        return audio
    if audio.ndim > 1:  # a batch: each waveform (the last axis) is limited on its own
        rows = audio.reshape(-1, audio.shape[-1])
        return np.stack([peak_limit(row, sample_rate, ceiling, lookahead_seconds) for row in rows]).reshape(audio.shape)
    span = 2 * max(1, int(lookahead_seconds * sample_rate)) + 1
    need = np.minimum(1.0, ceiling / np.maximum(np.abs(audio).astype(np.float64), 1e-12))
    gain = uniform_filter1d(minimum_filter1d(need, span, mode="nearest"), span, mode="nearest")
    limited = audio * gain
    top = float(np.max(np.abs(limited)))
    if top > ceiling:  # float rounding in the moving average: a scale of at most a few ulps
        limited *= ceiling / top
    return limited.astype(np.float32)


def level(audio: np.ndarray, sample_rate: int, target_dbfs: float = -20.0, ceiling: float = PEAK_CEILING,
          max_limiting_db: float = 6.0) -> np.ndarray:
    """Loudness-normalise to `target_dbfs` RMS, then peak-limit to `ceiling`.

    The limiter takes at most `max_limiting_db` off the loudest peak; a clip whose peaks stand further above
    its loudness (a single bark in silence) is turned down as a whole instead, so it is never squashed.
    """
    audio = np.asarray(audio, dtype=np.float32)
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64)))) if audio.size else 0.0
    if rms <= 0.0:
        return audio
    gain = 10 ** (target_dbfs / 20) / rms
    allowed_peak = ceiling * 10 ** (max_limiting_db / 20)
    peak = float(np.max(np.abs(audio))) * gain
    if peak > allowed_peak:
        gain *= allowed_peak / peak
    return peak_limit(audio * gain, sample_rate, ceiling)


def load_audio(
    source: str | Path | tuple[int, np.ndarray],
    sample_rate: int = 16_000,
    max_seconds: float = MAX_FILE_SECONDS,
    what: str = "recording",
    notes: list[str] | None = None,
) -> np.ndarray:
    """Read a file (or a `(rate, samples)` pair as Gradio gives) into float32 mono at `sample_rate`.

    Raises ValueError for unreadable, empty, non-finite, silent or over-long input. Given `notes`, appends a
    note of what was done to the recording to fit (mixed to mono, resampled), so a task can say so.
    """
    if isinstance(source, tuple):
        orig_sr, data = int(source[0]), np.asarray(source[1])
    else:
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"No file at {path}; check the path.")
        try:
            info = sf.info(str(path))
        except Exception as error:  # libsndfile's own message names the problem
            reason = _reason(error, path)
            raise ValueError(f"Cannot read {path.name} as audio ({reason}); use WAV, FLAC, OGG or MP3.") from error
        if info.frames > 0 and info.duration > max_seconds:
            raise ValueError(
                f"{path.name} is {info.duration:.0f} s long; the limit is {max_seconds:.0f} s. Trim it first."
            )
        try:
            data, orig_sr = sf.read(str(path), dtype="float32", always_2d=True)
        except Exception as error:
            reason = _reason(error, path)
            raise ValueError(f"Cannot decode {path.name} ({reason}); re-export it as WAV or FLAC.") from error
    channels = min(data.shape) if data.ndim == 2 else 1  # the shorter axis, as `to_mono` takes it
    audio = check_waveform(data, what)
    if audio.size < MIN_SECONDS * orig_sr:
        raise ValueError(f"The {what} is {audio.size / orig_sr * 1000:.0f} ms long; give at least {MIN_SECONDS * 1000:.0f} ms.")
    if audio.size / max(orig_sr, 1) > max_seconds:
        raise ValueError(f"The {what} is {audio.size / orig_sr:.0f} s long; the limit is {max_seconds:.0f} s. Trim it first.")
    audio = resample(audio, orig_sr, sample_rate)
    check_not_silent(audio, what)
    if notes is not None:
        notes.extend(conversion_notes(what, channels, orig_sr, sample_rate))
    return audio


def source_rate(source: str | Path | np.ndarray | tuple[int, np.ndarray], array_rate: int) -> int:
    """The sample rate a recording arrives at: a file's own, a `(rate, samples)` pair's, `array_rate` for an array.

    Call it after `load_audio` accepted the source: an unreadable file has had its clear error there."""
    if isinstance(source, tuple):
        return int(source[0])
    if isinstance(source, np.ndarray):
        return int(array_rate)
    return int(sf.info(str(source)).samplerate)


def conversion_notes(what: str, channels: int, orig_sr: int, sample_rate: int) -> list[str]:
    """What loading did to a recording, e.g. "Recording: mixed 2 channels to mono; resampled 44.1 kHz → 16 kHz."

    No note when the recording was already mono at `sample_rate`.
    """
    done = []
    if channels > 1:
        done.append(f"mixed {channels} channels to mono")
    if orig_sr != sample_rate:
        done.append(f"resampled {orig_sr / 1000:g} kHz → {sample_rate / 1000:g} kHz")
    return [f"{what[:1].upper()}{what[1:]}: {'; '.join(done)}."] if done else []


def _reason(error: Exception, path: Path) -> str:
    """libsndfile's reason for refusing a file, without the folder it lies in (a server's upload path)."""
    reason = getattr(error, "error_string", None) or str(error).replace(str(path), path.name)
    return str(reason).strip().rstrip(".")


def audio_seconds(path: str | Path) -> float | None:
    """A file's duration from its header, without decoding it (None if it cannot be read)."""
    try:
        return float(sf.info(str(path)).duration)
    except Exception:  # unreadable here: the run that loads it says why
        return None


def save_audio(path: str | Path, audio: np.ndarray, sample_rate: int) -> Path:
    """Write a float waveform as 16-bit PCM (format from the suffix: .wav, .flac, .ogg); (samples, channels)
    keeps its channels (a stereo hub model's sound)."""
    path = Path(check_writable(str(path)))
    path.parent.mkdir(parents=True, exist_ok=True)
    audio = np.asarray(audio)
    if audio.ndim == 2 and 1 < audio.shape[1] <= 8 < audio.shape[0]:
        clipped = np.clip(np.stack([check_waveform(channel) for channel in audio.T], axis=1), -1.0, 1.0)
    else:
        clipped = np.clip(check_waveform(audio), -1.0, 1.0)
    subtype = "PCM_16" if path.suffix.lower() in {".wav", ".flac"} else None
    sf.write(str(path), clipped, sample_rate, subtype=subtype)
    return path


@dataclass(frozen=True)
class MelSettings:
    """Short-time Fourier and mel filterbank settings shared by the models of a preset."""

    sample_rate: int = 16_000
    n_fft: int = 1024  # 64 ms window at 16 kHz
    hop_length: int = 256  # 16 ms: 62.5 frames a second
    n_mels: int = 64  # AudioLDM's band count at 16 kHz
    f_min: float = 0.0
    f_max: float = 8_000.0  # Nyquist at 16 kHz
    log_floor: float = 1e-5  # clamp before log: about -100 dB, below any real recording's floor

    def frames_for(self, num_samples: int) -> int:
        """Number of STFT frames torch.stft(center=True) gives for `num_samples` samples."""
        return num_samples // self.hop_length + 1

    def samples_for(self, num_frames: int) -> int:
        return (num_frames - 1) * self.hop_length


class MelTransform:
    """Log-magnitude mel spectrogram and its (approximate) inverse: pseudo-inverse filterbank + Griffin-Lim."""

    def __init__(self, settings: MelSettings) -> None:
        self.settings = settings
        s = settings
        self._mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=s.sample_rate,
            n_fft=s.n_fft,
            hop_length=s.hop_length,
            n_mels=s.n_mels,
            f_min=s.f_min,
            f_max=s.f_max,
            power=1.0,  # magnitude mel, as HiFi-GAN and DiffWave use
            norm="slaney",
            mel_scale="slaney",
            center=True,
        )
        self._inverse_mel = torchaudio.transforms.InverseMelScale(
            n_stft=s.n_fft // 2 + 1,
            n_mels=s.n_mels,
            sample_rate=s.sample_rate,
            f_min=s.f_min,
            f_max=s.f_max,
            norm="slaney",
            mel_scale="slaney",
        )
        self._window = torch.hann_window(s.n_fft)

    @property
    def filterbank(self) -> torch.Tensor:
        """The mel filterbank as (STFT bins, mels): band m's weight on each linear-frequency bin."""
        return self._mel.mel_scale.fb

    @property
    def window_energy(self) -> float:
        """Σ w[n]² of the analysis window: E|STFT|² of white noise with unit variance."""
        return float((self._window**2).sum())

    def log_mel(self, audio: np.ndarray | torch.Tensor, differentiable: bool = False) -> torch.Tensor:
        """(..., samples) waveform -> (..., n_mels, frames) natural-log magnitude mel.

        With `differentiable` the gradient flows back to a tensor `audio` (a training loss on the mel).
        """
        wave = torch.as_tensor(np.asarray(audio, dtype=np.float32) if isinstance(audio, np.ndarray) else audio)
        with torch.set_grad_enabled(differentiable and torch.is_grad_enabled()):
            mel = self._mel(wave.float())
        return torch.log(torch.clamp(mel, min=self.settings.log_floor))

    def mel_to_magnitude(self, log_mel: torch.Tensor, iterations: int = 64,
                         init: torch.Tensor | None = None) -> torch.Tensor:
        """Non-negative least-squares inverse of the mel filterbank.

        Starts from the clamped minimum-norm least-squares solution (or from `init`, a magnitude to pull
        towards the mel) and refines it with the multiplicative NNLS updates of Lee & Seung (2001); the
        clamp alone loses most of the energy between a harmonic's bins, which Griffin-Lim then cannot
        recover (its mel error halves here).
        """
        with torch.no_grad():
            target = torch.exp(log_mel.float())
            basis = self._mel.mel_scale.fb.T  # (mels, stft bins)
            magnitude = (self._inverse_mel(target) if init is None else init.float()).clamp_min(1e-6)
            numerator = basis.T @ target
            for _ in range(iterations):
                magnitude = magnitude * numerator / (basis.T @ (basis @ magnitude) + 1e-10)
            return magnitude

    def project_to_magnitude(self, wave: torch.Tensor, magnitude: torch.Tensor, iterations: int) -> torch.Tensor:
        """Griffin-Lim iterations started from `wave`'s own phase: the nearest signals whose STFT
        magnitude is `magnitude` (…, bins, frames), as in GLA-Grad (Liu et al., 2024)."""
        s = self.settings
        num_samples = wave.shape[-1]
        for _ in range(iterations):
            spectrum = torch.stft(wave, s.n_fft, s.hop_length, window=self._window, return_complex=True)
            spectrum = magnitude * torch.exp(1j * torch.angle(spectrum))
            wave = torch.istft(spectrum, s.n_fft, s.hop_length, window=self._window, length=num_samples)
        return wave

    def refine_to_mel(self, wave: torch.Tensor, log_mel: torch.Tensor, iterations: int,
                      nnls_iterations: int = 4) -> torch.Tensor:
        """Alternating projections between the signals whose STFT is consistent and the magnitudes whose mel is
        `log_mel`: each iteration keeps `wave`'s phase and pulls its STFT magnitude onto the mel by a few NNLS
        updates (Lee & Seung 2001) started from that magnitude, then inverts. Griffin-Lim with the mel, not one
        fixed magnitude, as its constraint; it lowers the log-mel error of any starting waveform."""
        s = self.settings
        num_samples = wave.shape[-1]
        with torch.no_grad():
            for _ in range(iterations):
                spectrum = torch.stft(wave, s.n_fft, s.hop_length, window=self._window, return_complex=True)
                magnitude = self.mel_to_magnitude(log_mel, nnls_iterations, init=spectrum.abs())
                wave = torch.istft(magnitude * torch.exp(1j * torch.angle(spectrum)), s.n_fft, s.hop_length,
                                   window=self._window, length=num_samples)
        return wave

    def griffin_lim(
        self, log_mel: torch.Tensor, n_iter: int = 32, num_samples: int | None = None, seed: int = 0
    ) -> np.ndarray:
        """Griffin & Lim (1984) phase reconstruction with the fast momentum of Perraudin et al. (2013)."""
        if not 1 <= n_iter <= 1000:
            raise ValueError(f"Griffin-Lim iterations must be between 1 and 1000; got {n_iter}.")
        wave = self.phase_from_magnitude(self.mel_to_magnitude(log_mel), n_iter, num_samples, seed)
        return peak_limit(wave.numpy(), self.settings.sample_rate)  # phase retrieval can overshoot: limit, never clip

    def phase_from_magnitude(self, magnitude: torch.Tensor, n_iter: int, num_samples: int | None = None,
                             seed: int = 0) -> torch.Tensor:
        """A waveform whose STFT magnitude is close to `magnitude` (…, bins, frames): fast Griffin-Lim
        (Perraudin et al. 2013, momentum 0.99) from a seeded random phase; not limited."""
        s = self.settings
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the random initial phase, made reproducible
            with torch.no_grad():
                wave = torchaudio.functional.griffinlim(
                    magnitude,
                    window=self._window,
                    n_fft=s.n_fft,
                    hop_length=s.hop_length,
                    win_length=s.n_fft,
                    power=1.0,
                    n_iter=n_iter,
                    momentum=0.99,
                    length=num_samples,
                    rand_init=True,
                )
        return wave
