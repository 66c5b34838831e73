"""The shared text–audio space: MiniLM sentence embeddings for text, the project's trained CNN for audio.

Both land on the same 384-dimensional unit sphere, so a recording can stand in for a prompt
(style conditioning), and "is this generated clip closest to its own prompt?" is a cosine away
(the eval's text-to-audio retrieval, as CLAP-score style metrics do).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F

from audiolab.core.audio import MelTransform
from audiolab.generation.audio_encoder import AudioEncoder
from audiolab.generation.conditioning import shared_text_encoder
from audiolab.generation.preset import (
    AudioEncoderPreset,
    load_audio_encoder,
    load_audio_encoder_preset,
)


class TextAudioSpace:
    """Embeds recordings (through the audio encoder) and prompts (through MiniLM) as unit vectors."""

    def __init__(self, preset: AudioEncoderPreset, encoder: AudioEncoder) -> None:
        self.preset = preset
        self.encoder = encoder.eval()
        self.mel = MelTransform(preset.mel)

    @classmethod
    def from_preset(cls, name: str) -> "TextAudioSpace":
        preset = load_audio_encoder_preset(name)
        return cls(preset, load_audio_encoder(preset))

    @property
    def sample_rate(self) -> int:
        return self.preset.sample_rate

    @torch.no_grad()
    def embed_log_mels(self, log_mels: torch.Tensor) -> torch.Tensor:
        """(N, mels, frames) natural-log mels → (N, 384) unit vectors."""
        return F.normalize(self.encoder(log_mels), dim=-1)

    def embed_log_mels_list(self, log_mels: Sequence[torch.Tensor]) -> torch.Tensor:
        """Clips of different lengths, one at a time → (N, 384) unit vectors."""
        return torch.cat([self.embed_log_mels(m.unsqueeze(0)) for m in log_mels])

    def embed_audio(self, clips: Sequence[np.ndarray] | np.ndarray) -> torch.Tensor:
        """Waveforms at the preset's rate (one array or a list of any lengths) → (N, 384) unit vectors."""
        if isinstance(clips, np.ndarray) and clips.ndim == 1:
            clips = [clips]
        return torch.cat([self.embed_log_mels(self.mel.log_mel(np.asarray(c, dtype=np.float32)).unsqueeze(0))
                          for c in clips])

    @staticmethod
    def embed_text(prompts: Sequence[str]) -> torch.Tensor:
        return shared_text_encoder().encode(prompts)


@lru_cache(maxsize=2)
def shared_text_audio_space(name: str) -> TextAudioSpace:
    """One loaded audio encoder per preset name and process."""
    return TextAudioSpace.from_preset(name)
