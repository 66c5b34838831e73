"""What a hub backend needs of a pretrained latent audio pipeline, whatever its family.

A `LatentModel` wraps one loaded diffusers pipeline and exposes the pieces of its `__call__` the trajectory views
need one at a time: encode the prompt (with the pipeline's own `encode_prompt`), the latent shape for a duration,
one guided model evaluation, decode (latents -> waveform, and a spectrogram to show), and encode (a recording ->
latents, for SDEdit, inpainting and the forward process). The reverse process itself is `sampling.reverse_process`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np
import torch
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from audiolab.core.audio import MelSettings, MelTransform
from audiolab.hub.loading import LoadedModel
from audiolab.hub.sampling import Start, fresh_scheduler, noisy_start

Conditioning = dict[str, Any]  # a family's encoded prompt: tensors for the model call, already stacked for guidance
DISPLAY_RANGE = 2.5  # the plots' normalised range is ±2.5: the log floor lands at −2.5


class DisplayMel:
    """Log-mel images scaled to the plots' fixed range, so every step of a trajectory shares one colour scale.

    The map is affine in the natural-log mel: the floor (about −100 dB) goes to −2.5, white noise at −20 dBFS to
    +1, measured once for these mel settings. Fixed, not per image: a quiet x̂_0 must look quiet.
    """

    def __init__(self, settings: MelSettings) -> None:
        self.transform = MelTransform(settings)
        floor = math.log(settings.log_floor)
        noise = torch.randn(settings.sample_rate, generator=torch.Generator().manual_seed(0)) * 0.1  # −20 dBFS
        level = float(self.transform.log_mel(noise).mean())
        self.offset, self.scale = floor, (1.0 + DISPLAY_RANGE) / (level - floor)

    def normalize(self, log_mel: torch.Tensor) -> torch.Tensor:
        """A natural-log mel (…, mels, frames) in display units."""
        return (log_mel - self.offset) * self.scale - DISPLAY_RANGE

    def of_waveform(self, wave: torch.Tensor) -> torch.Tensor:
        """(batch, channels, samples) -> (batch, 1, mels, frames): the mel of each waveform's channel mix."""
        return self.normalize(self.transform.log_mel(wave.float().mean(dim=1).cpu())).unsqueeze(1)


def display_settings(sample_rate: int) -> MelSettings:
    """Mel settings for showing a waveform at any rate: a window of about 46 ms, 64 bands up to Nyquist."""
    n_fft = 2 ** max(8, round(math.log2(0.046 * sample_rate)))
    return MelSettings(sample_rate=sample_rate, n_fft=n_fft, hop_length=n_fft // 4, n_mels=64,
                       f_max=sample_rate / 2)


class LatentModel(ABC):
    """One loaded pipeline's components behind the calls a hub backend makes."""

    title: str = "hub model"
    default_steps: int = 50
    default_guidance: float = 3.5
    default_seconds: float = 5.0

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self.pipe = loaded.pipe
        self.device = loaded.device
        self.dtype = loaded.dtype

    # ---- what the model is -----------------------------------------------------------------------

    @property
    @abstractmethod
    def sample_rate(self) -> int: ...

    @property
    @abstractmethod
    def channels(self) -> int: ...

    @property
    def max_seconds(self) -> float:
        return 30.0

    @property
    def uses_guidance(self) -> bool:
        """False for distilled models whose guidance is baked into the weights (the scale is then ignored)."""
        return True

    def scheduler(self) -> SchedulerMixin:
        """A fresh copy of the checkpoint's own scheduler."""
        return fresh_scheduler(self.pipe.scheduler)

    def describe_scheduler(self, scheduler: SchedulerMixin) -> str:
        return type(scheduler).__name__.removesuffix("Scheduler")

    def display_t(self, t: float) -> float:
        """A scheduler timestep on the 0–1000 scale the trajectory labels use."""
        return t

    # ---- the pieces of the pipeline's __call__ ---------------------------------------------------

    @abstractmethod
    def encode_prompt(self, prompt: str, negative: str | None, guidance: float, seconds: float) -> Conditioning:
        """The pipeline's own prompt encoding, stacked [negative, positive] when guidance is on."""

    @abstractmethod
    def latent_shape(self, seconds: float) -> tuple[int, ...]:
        """The shape (1, …) of the latents that decode to at least `seconds` of audio."""

    @abstractmethod
    def model_output(self, x_in: torch.Tensor, t: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        """One guided evaluation: ε̂, v̂ or the velocity, whatever the scheduler expects."""

    @abstractmethod
    def decode(self, latents: torch.Tensor, num_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Latents (batch, …) -> waveforms (batch, channels, num_samples) and display mels (batch, 1, mels, frames),
        both float32 on the CPU."""

    @abstractmethod
    def encode_audio(self, wave: np.ndarray, shape: tuple[int, ...]) -> torch.Tensor:
        """A (channels, samples) recording at the model's rate -> its latents, padded or cut to `shape`."""

    # ---- starting points -------------------------------------------------------------------------

    def start(self, scheduler: SchedulerMixin, steps: int, noise: torch.Tensor, init: torch.Tensor | None,
              strength: float) -> Start | None:
        """From noise, or SDEdit from `init` at `strength` (None: strength 0 leaves nothing to run)."""
        return noisy_start(scheduler, steps, noise, init, strength)

    def inpaint_condition(self, cond: Conditioning, latents: torch.Tensor, keep: torch.Tensor) -> bool:
        """Give a model trained for inpainting the reference and its mask (`keep`: 1 = keep, along latent time);
        True when it took them, False when the backend should blend the kept region back in after every step."""
        return False

    def latent_frames_per_second(self, shape: tuple[int, ...], seconds: float) -> float:
        """Latent frames along the time axis (axis 2 in every family) per second of audio."""
        return shape[2] / seconds

    def forward_noise(self, scheduler: SchedulerMixin, x0: torch.Tensor, noise: torch.Tensor,
                      t: int) -> tuple[torch.Tensor, float, float]:
        """q(x_t | x_0) in the model's own parameterisation at training timestep t (0–999): the state in the scale
        the model sees, its timestep and its SNR in dB. The default reads ᾱ_t off the scheduler's schedule."""
        alpha_bar = float(scheduler.alphas_cumprod[t])
        x_t = math.sqrt(alpha_bar) * x0 + math.sqrt(1 - alpha_bar) * noise
        snr = math.inf if alpha_bar >= 1 else 10 * math.log10(alpha_bar / (1 - alpha_bar))
        return x_t, float(t), snr
