"""AudioLDM 2's HiFi-GAN (Kong et al. 2020) as a third vocoder beside the diffusion vocoder and Griffin-Lim.

A recording's log-mel in AudioLDM's own settings (16 kHz, 1024-point STFT, 10 ms hop, 64 Slaney bands,
log(clamp(magnitude, 1e-5))) goes through the checkpoint's `vocoder` subfolder, a `SpeechT5HifiGan`: the GAN that
AudioLDM 2 decodes every sound with, here applied to a real recording's mel.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiolab.core.audio import MelSettings, MelTransform, peak_limit
from audiolab.core.result import AudioInput, Result, check_length, load_input
from audiolab.hub.models import pipeline_family, resolve_model

DEFAULT_CHECKPOINT = "cvssp/audioldm2"


class HiFiGan:
    """A loaded HiFi-GAN and the mel settings it was trained on."""

    def __init__(self, vocoder: Any, name: str) -> None:
        self.vocoder = vocoder.eval()
        self.name = name
        config = vocoder.config
        self.sample_rate = int(config.sampling_rate)
        self.settings = MelSettings(sample_rate=self.sample_rate, n_fft=1024,
                                    hop_length=int(np.prod(config.upsample_rates)), n_mels=int(config.model_in_dim),
                                    f_max=self.sample_rate / 2)
        self.mel = MelTransform(self.settings)

    @classmethod
    def load(cls, id_or_folder: str | Path = DEFAULT_CHECKPOINT) -> "HiFiGan":
        """The `vocoder` of an AudioLDM 2 checkpoint (a local folder or a hub id): about 55 M parameters."""
        from transformers import SpeechT5HifiGan

        resolved = resolve_model(id_or_folder)
        if pipeline_family(resolved) != "audioldm2":
            raise ValueError(f"The HiFi-GAN comes from an AudioLDM 2 checkpoint; {resolved.pipeline_class} has none.")
        name = Path(resolved.source).name if resolved.local else resolved.source
        try:
            vocoder = SpeechT5HifiGan.from_pretrained(resolved.source, subfolder="vocoder",
                                                      token=os.environ.get("HF_TOKEN") or None)
        except OSError as error:
            raise ValueError(f"Cannot load the HiFi-GAN of {name}: its vocoder is not on this machine and the hub "
                             "cannot be reached (set HF_HUB_OFFLINE=0 online), or the folder lacks it.") from error
        return cls(vocoder, name)

    def vocode(self, audio: AudioInput, notes: list[str] | None = None) -> Result:
        """A recording -> its AudioLDM mel -> HiFi-GAN's waveform, peak-limited (never hard-clipped)."""
        started = time.perf_counter()
        notes = [] if notes is None else notes
        wave = load_input(audio, self.sample_rate, notes=notes)
        check_length(wave, self.sample_rate, "recording")
        log_mel = self.mel.log_mel(wave)  # (mels, frames)
        with torch.no_grad():
            out = self.vocoder(log_mel.T[None].to(self.vocoder.dtype)).float()[0, : wave.size].numpy()
        method = (f"HiFi-GAN (Kong et al. 2020) of AudioLDM 2 ({self.name}) on its {self.settings.n_mels}-band, "
                  f"{1000 * self.settings.hop_length / self.sample_rate:g} ms log-mel.")
        return Result(peak_limit(out, self.sample_rate), self.sample_rate, method, notes=tuple(notes),
                      input_audio=wave, timings={"total": time.perf_counter() - started})
