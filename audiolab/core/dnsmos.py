"""Speech quality without a clean reference: DNSMOS P.835 (Reddy, Gopal & Cutler, ICASSP 2022).

A network trained on listeners' ITU-T P.835 ratings predicts three mean opinion scores (1 to 5,
higher is better) from the recording alone: SIG (the speech itself), BAK (the background noise:
5 is none) and OVRL (overall). Its ONNX model ships inside the `speechmos` package (Microsoft,
MIT licence), read from the installed package: nothing is downloaded.

As in the DNS Challenge's reference script (`dnsmos_local.py`), the model sees 9.01 s windows of
16 kHz audio, one starting every second, and the scores are the means over windows; each raw
output is mapped through that script's P.835 polynomial. A recording shorter than a window is
looped to fill one (the reference script loops it too).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from audiolab.core.audio import check_not_silent, check_waveform, resample

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

DNSMOS_RATE = 16_000  # the model's only rate
WINDOW_SAMPLES = 144_160  # 9.01 s at 16 kHz: the model's fixed input length
HOP_SAMPLES = DNSMOS_RATE  # one window per second, as the reference script
INSTALL = "the speechmos and onnxruntime packages: pip install -r requirements.txt"
MIN_SECONDS = 1.0  # a shorter clip, looped nine times or more to fill a window, is mostly repetition: no fair judgement
# the reference script's non-personalised P.835 mappings from raw outputs to MOS (highest power first)
POLYNOMIALS: dict[str, tuple[float, ...]] = {
    "sig": (-0.08397278, 1.22083953, 0.0052439),
    "bak": (-0.13166888, 1.60915514, -0.39604546),
    "ovrl": (-0.06766283, 1.11546468, 0.04602535),
}


@dataclass(frozen=True)
class DNSMOSScores:
    """P.835 mean opinion scores, 1 (bad) to 5 (excellent)."""

    ovrl: float  # overall quality
    sig: float  # the speech signal (distortion)
    bak: float  # the background (intrusiveness of noise)


class DNSMOS:
    """The P.835 model in one ONNX Runtime session (load once, reuse: `dnsmos_model()` keeps one per process)."""

    def __init__(self, threads: int | None = None) -> None:
        import torch

        try:
            import onnxruntime
        except ModuleNotFoundError as error:
            raise ImportError(f"DNSMOS needs {INSTALL}") from error
        options = onnxruntime.SessionOptions()
        # as many threads as torch uses (OMP_NUM_THREADS), so a one-thread run stays on one thread
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        self.session = onnxruntime.InferenceSession(
            str(model_path()), options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def score(self, audio: np.ndarray, sample_rate: int = DNSMOS_RATE, max_windows: int | None = None) -> DNSMOSScores:
        """OVRL, SIG and BAK of a mono speech recording (resampled to 16 kHz); `max_windows` spreads at most that
        many windows evenly over a long recording instead of one a second (faster, an estimate of the same mean)."""
        if max_windows is not None and max_windows < 1:
            raise ValueError(f"DNSMOS needs at least one window per recording; got max_windows={max_windows}.")
        wave = check_waveform(audio, "recording")
        check_not_silent(wave, "recording")
        seconds = wave.size / sample_rate
        if seconds < MIN_SECONDS:
            raise ValueError(f"DNSMOS judges at least {MIN_SECONDS:g} s of speech; this recording is {seconds:.2f} s. "
                             "Give a longer recording.")
        if sample_rate != DNSMOS_RATE:
            wave = resample(wave, sample_rate, DNSMOS_RATE)
        wave = np.clip(wave, -1.0, 1.0).astype(np.float32)  # the model was trained on audio within full scale
        if wave.size < WINDOW_SAMPLES:
            wave = np.resize(wave, WINDOW_SAMPLES)  # loop it
        # the reference script's window count: whole seconds, less the window, plus one
        starts = np.arange(int(math.floor(wave.size / DNSMOS_RATE) - WINDOW_SAMPLES / DNSMOS_RATE) + 1) * HOP_SAMPLES
        if max_windows is not None and starts.size > max_windows:
            starts = starts[np.linspace(0, starts.size - 1, max_windows).round().astype(int)]
        raw = np.stack([self.session.run(None, {self.input_name: wave[None, s : s + WINDOW_SAMPLES]})[0][0]
                        for s in starts])  # (windows, 3): sig, bak, ovrl
        means = {name: float(np.mean(np.polyval(POLYNOMIALS[name], raw[:, column])))
                 for column, name in enumerate(("sig", "bak", "ovrl"))}
        return DNSMOSScores(**means)


def model_path() -> Traversable:
    """The P.835 model file inside the installed `speechmos` package. Only the package is imported, not its
    `dnsmos` module, which would import librosa (and requests) for the P.808 score that is not used here."""
    from importlib.resources import files

    try:
        return files("speechmos") / "dnsmos_models" / "sig_bak_ovr.onnx"
    except ModuleNotFoundError as error:
        raise ImportError(f"DNSMOS needs {INSTALL}") from error


@functools.cache
def dnsmos_model() -> DNSMOS:
    """The process's one DNSMOS session (ONNX Runtime sessions may run from several threads at once)."""
    return DNSMOS()


def dnsmos(audio: np.ndarray, sample_rate: int = DNSMOS_RATE, max_windows: int | None = None) -> DNSMOSScores:
    """DNSMOS P.835 scores of a recording with the shared session; see `DNSMOS.score`."""
    return dnsmos_model().score(audio, sample_rate, max_windows)
