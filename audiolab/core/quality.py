"""Signal-quality measures between a reference waveform and an estimate of it.

- Multi-resolution STFT distance: spectral convergence + log-magnitude L1 at three resolutions
  (Yamamoto et al., 2020, Parallel WaveGAN, eqs. 4-6), averaged.
- Log-mel L1: mean |log mel(ref) − log mel(est)| with the project's mel settings (natural log).
- Mel-cepstral distortion (Kubichek, 1993): (10 / ln 10)·sqrt(2·Σ_d (c_d − ĉ_d)²), d = 1..24, over
  frames with energy, from a 40-band mel cepstrum (no time warping: the signals are aligned).
- PESQ, wide-band (ITU-T P.862.2) through the `pesq` package, and STOI (Taal et al., 2011) through
  `pystoi`; both need 16 kHz speech.
- SI-SDR (Le Roux et al., 2019).
- Log-spectral distance (as in bandwidth-extension papers, e.g. Kuleshov et al. 2017): RMS over
  frequency of the dB difference of power spectra, averaged over frames.
- Distortion and leftover noise of a denoiser (`denoising_error_parts`): the output's attenuation in each
  STFT bin applied to the speech and to the noise apart ("shadow filtering"), which splits the error into
  speech distortion and leftover noise, as the speech-distortion index and noise-reduction factor of Chen,
  Benesty, Huang & Doclo (2006, "New insights into the noise reduction Wiener filter") split a filter's.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from audiolab.core.audio import MelSettings, MelTransform, resample

MR_STFT_RESOLUTIONS: tuple[tuple[int, int], ...] = ((512, 128), (1024, 256), (2048, 512))  # (n_fft, hop)
PESQ_RATE = 16_000


def _aligned(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if reference.ndim != 1 or estimate.ndim != 1:
        raise ValueError("Quality measures take mono waveforms (1-D arrays).")
    length = min(reference.size, estimate.size)
    if length == 0:
        raise ValueError("Cannot compare empty waveforms.")
    return reference[:length].astype(np.float64), estimate[:length].astype(np.float64)


def mr_stft_distance(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Spectral convergence + log-STFT-magnitude L1, averaged over three resolutions (lower is better)."""
    ref, est = (torch.from_numpy(x) for x in _aligned(reference, estimate))
    total = 0.0
    for n_fft, hop in MR_STFT_RESOLUTIONS:
        window = torch.hann_window(n_fft, dtype=torch.float64)
        spec_ref = torch.stft(ref, n_fft, hop, window=window, return_complex=True).abs().clamp_min(1e-7)
        spec_est = torch.stft(est, n_fft, hop, window=window, return_complex=True).abs().clamp_min(1e-7)
        convergence = torch.linalg.norm(spec_ref - spec_est) / torch.linalg.norm(spec_ref)
        log_l1 = (spec_ref.log() - spec_est.log()).abs().mean()
        total += float(convergence + log_l1)
    return total / len(MR_STFT_RESOLUTIONS)


def log_mel_l1(reference: np.ndarray, estimate: np.ndarray, settings: MelSettings | None = None) -> float:
    """Mean absolute difference of natural-log mel magnitudes (lower is better)."""
    ref, est = _aligned(reference, estimate)
    transform = MelTransform(settings or MelSettings())
    return float((transform.log_mel(ref.astype(np.float32)) - transform.log_mel(est.astype(np.float32))).abs().mean())


_CEPSTRUM_MEL = MelSettings(n_fft=1024, hop_length=160, n_mels=40, log_floor=1e-6)


def mel_cepstrum(audio: np.ndarray, coefficients: int = 25) -> tuple[np.ndarray, np.ndarray]:
    """(frames, coefficients) mel-cepstrum and each frame's log energy.

    c_m are the cosine-series coefficients of the log *amplitude* mel spectrum,
    log|X(ω̃)| ≈ c_0 + 2·Σ_m c_m·cos(m·ω̃) on the mel-warped axis (the convention of SPTK's mcep,
    which MCD figures in the literature use), computed from 40 mel bands.
    """
    transform = MelTransform(_CEPSTRUM_MEL)
    log_amplitude = transform.log_mel(audio.astype(np.float32)).numpy().T  # (frames, bands)
    bands = log_amplitude.shape[1]
    n = np.arange(bands)
    dct = np.cos(np.pi / bands * (n[None, :] + 0.5) * np.arange(coefficients)[:, None]) / bands
    return log_amplitude @ dct.T, np.log(np.exp(2 * log_amplitude).sum(1) + 1e-12)


def mel_cepstral_distortion(reference: np.ndarray, estimate: np.ndarray, floor_db: float = 40.0) -> float:
    """MCD in dB over the reference's frames within `floor_db` of its loudest frame (lower is better)."""
    ref, est = _aligned(reference, estimate)
    c_ref, energy = mel_cepstrum(ref)
    c_est, _ = mel_cepstrum(est)
    keep = energy >= energy.max() - floor_db * math.log(10) / 10
    diff = c_ref[keep, 1:] - c_est[keep, 1:]  # c_0 (overall level) excluded, as is usual
    return float(np.mean(10 / math.log(10) * np.sqrt(2 * np.sum(diff**2, axis=1))))


def pesq_wb(reference: np.ndarray, estimate: np.ndarray, sample_rate: int = PESQ_RATE) -> float:
    """Wide-band PESQ (MOS-LQO, about 1.0 to 4.64; higher is better)."""
    from pesq import PesqError, pesq

    ref, est = _aligned(reference, estimate)
    if sample_rate != PESQ_RATE:
        ref = resample(ref.astype(np.float32), sample_rate, PESQ_RATE).astype(np.float64)
        est = resample(est.astype(np.float32), sample_rate, PESQ_RATE).astype(np.float64)
    try:
        return float(pesq(PESQ_RATE, ref, est, "wb"))
    except PesqError as error:  # e.g. no utterance detected in the reference
        raise ValueError(f"PESQ cannot score this pair ({error}); it needs speech in the reference.") from error


def stoi(reference: np.ndarray, estimate: np.ndarray, sample_rate: int = PESQ_RATE) -> float:
    """Short-time objective intelligibility, 0 to 1 (higher is better)."""
    from pystoi import stoi as pystoi_stoi

    ref, est = _aligned(reference, estimate)
    return float(pystoi_stoi(ref, est, sample_rate, extended=False))


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (higher is better)."""
    ref, est = _aligned(reference, estimate)
    ref = ref - ref.mean()
    est = est - est.mean()
    scale = np.dot(est, ref) / (np.dot(ref, ref) + 1e-12)
    target = scale * ref
    residual = est - target
    return float(10 * np.log10((np.dot(target, target) + 1e-12) / (np.dot(residual, residual) + 1e-12)))


PART_RATIO_CAP_DB: float = 100.0  # a part that is (numerically) absent: an input left alone has no distortion


def denoising_error_parts(clean: np.ndarray, noisy: np.ndarray, denoised: np.ndarray,
                          n_fft: int = 512, hop: int = 128) -> tuple[float, float]:
    """(speech-to-distortion, speech-to-leftover-noise) in dB, each capped at PART_RATIO_CAP_DB.

    The denoiser's attenuation in each STFT bin, G = min(|Y| / |X|, 1), is applied to the clean speech's and
    the noise's STFTs apart (the noise is noisy − clean): the speech it kept, whose difference from the speech
    is the distortion, and the noise it left. For a denoiser that applies a real gain of at most one per bin
    (a mask) the two parts sum to its output; for one that also moves phases or adds energy they describe its
    attenuation only. A real gain rather than the complex Y / X, because where speech and noise nearly cancel
    |X| is tiny and a complex gain would blow both parts up in opposite directions. Which part is larger (the
    lower ratio) says whether a denoiser errs by taking speech away or by leaving noise."""
    speech, mixture = _aligned(clean, noisy)
    _, output = _aligned(clean, denoised)
    length = min(speech.size, mixture.size, output.size)
    if length < n_fft:
        raise ValueError(f"The error split needs at least {n_fft} samples; got {length}.")
    speech, mixture, output = speech[:length], mixture[:length], output[:length]
    window = torch.hann_window(n_fft, dtype=torch.float64)

    def spectrum(x: np.ndarray) -> torch.Tensor:
        return torch.stft(torch.from_numpy(x), n_fft, hop, window=window, return_complex=True)

    def waveform(spec: torch.Tensor) -> np.ndarray:
        return torch.istft(spec, n_fft, hop, window=window, length=length).numpy()

    speech_power = float(np.sum(speech**2))
    if not np.isfinite(speech_power) or speech_power == 0.0 or not np.all(np.isfinite(output)):
        raise ValueError("The error split needs a finite, non-silent reference and a finite output.")
    magnitude = spectrum(mixture).abs()
    present = magnitude > 1e-9  # where the input is digital silence the gain is undefined: nothing kept
    gain = torch.where(present, (spectrum(output).abs() / magnitude.clamp_min(1e-9)).clamp(max=1.0), 0.0)
    kept_speech = waveform(gain * spectrum(speech))
    left_noise = waveform(gain * spectrum(mixture - speech))

    def ratio_db(part: np.ndarray) -> float:
        power = float(np.sum(part**2))
        if power <= speech_power * 10 ** (-PART_RATIO_CAP_DB / 10):
            return PART_RATIO_CAP_DB
        return float(10 * np.log10(speech_power / power))

    return ratio_db(kept_speech - speech), ratio_db(left_noise)


def log_spectral_distance(reference: np.ndarray, estimate: np.ndarray, n_fft: int = 2048, hop: int = 512) -> float:
    """LSD in dB: mean over frames of sqrt(mean over bins of (10·log10 P_ref − 10·log10 P_est)²)."""
    ref, est = _aligned(reference, estimate)
    window = torch.hann_window(n_fft, dtype=torch.float64)
    powers = [torch.stft(torch.from_numpy(x), n_fft, hop, window=window, return_complex=True).abs() ** 2 for x in (ref, est)]
    difference = 10 * torch.log10(powers[0] + 1e-10) - 10 * torch.log10(powers[1] + 1e-10)
    return float(difference.pow(2).mean(0).sqrt().mean())


def gap_log_spectral_distance(reference: np.ndarray, estimate: np.ndarray, observed: np.ndarray,
                              n_fft: int = 512, hop: int = 128) -> float:
    """LSD in dB over the gaps only: each run of `observed == 0` (a mask: 1 observed, 0 missing) is cut out of
    both signals and compared with a short STFT (32 ms at 16 kHz, so a 100 ms gap has frames of its own);
    the mean over gaps. Inpainting is judged where it invents, not on the samples it keeps."""
    ref, est = _aligned(reference, estimate)
    missing = np.asarray(observed[: ref.size]) == 0
    edges = np.flatnonzero(np.diff(np.concatenate([[0], missing.astype(np.int8), [0]])))
    distances = [log_spectral_distance(ref[a:b], est[a:b], n_fft=n_fft, hop=hop)
                 for a, b in zip(edges[::2], edges[1::2]) if b - a >= n_fft // 2]
    if not distances:
        raise ValueError(f"No gap of at least {n_fft // 2} samples to measure.")
    return float(np.mean(distances))
