"""Stable Audio Open (Evans et al. 2024) as a `LatentModel`: a stereo 44.1 kHz Oobleck VAE and a DiT.

The prompt goes through the pipeline's `encode_prompt` (T5) and `encode_duration` (start and end seconds); the DiT
predicts v under the cosine DPM-Solver++ (SDE) scheduler with EDM preconditioning (Karras et al. 2022), whose
Brownian-tree noise needs `torchsde`. Like the pipeline, the model always generates its whole window (47.55 s for
1.0) and the audio is cut to the duration asked for, which the model is told through the end-seconds condition.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from diffusers.models.embeddings import get_1d_rotary_pos_embed
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from audiolab.hub.family import Conditioning, DisplayMel, LatentModel, display_settings
from audiolab.hub.loading import LoadedModel


class StableAudioModel(LatentModel):
    """A `StableAudioPipeline`'s components, one call at a time."""

    title = "Stable Audio Open (Evans et al. 2024)"
    default_steps = 100  # the pipeline's default
    default_guidance = 7.0  # the pipeline's default
    default_seconds = 10.0

    def __init__(self, loaded: LoadedModel) -> None:
        super().__init__(loaded)
        self.display = DisplayMel(display_settings(self.sample_rate))

    @property
    def sample_rate(self) -> int:
        return int(self.pipe.vae.config.sampling_rate)

    @property
    def channels(self) -> int:
        return int(self.pipe.vae.config.audio_channels)

    @property
    def max_seconds(self) -> float:
        """The DiT's window: `sample_size` latent frames of `hop_length` samples."""
        return self.pipe.transformer.config.sample_size * self.pipe.vae.hop_length / self.sample_rate

    def encode_prompt(self, prompt: str, negative: str | None, guidance: float, seconds: float) -> Conditioning:
        guided = guidance > 1.0
        pipe = self.pipe
        embeds = pipe.encode_prompt(prompt, self.device, guided, negative_prompt=negative if guided else None)
        start, end = pipe.encode_duration(0.0, seconds, self.device, guided and negative is not None, 1)
        text = torch.cat([embeds, start, end], dim=1)  # the text tokens, then the two seconds tokens
        duration = torch.cat([start, end], dim=2)  # the global condition
        if guided and negative is None:  # no negative prompt: the unconditional half is all zeros, as in training
            text = torch.cat([torch.zeros_like(text), text])
            duration = torch.cat([duration, duration])
        rotary = get_1d_rotary_pos_embed(pipe.rotary_embed_dim, pipe.transformer.config.sample_size + duration.shape[1],
                                         use_real=True, repeat_interleave_real=False)
        return {"encoder_hidden_states": text, "global_hidden_states": duration, "rotary_embedding": rotary,
                "guidance": guidance}

    def latent_shape(self, seconds: float) -> tuple[int, ...]:
        config = self.pipe.transformer.config
        return (1, int(config.in_channels), int(config.sample_size))

    def model_output(self, x_in: torch.Tensor, t: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        guided = cond["guidance"] > 1.0
        x = torch.cat([x_in, x_in]) if guided else x_in
        v = self.pipe.transformer(x.to(self.dtype), t.reshape(1).to(self.device),
                                  encoder_hidden_states=cond["encoder_hidden_states"],
                                  global_hidden_states=cond["global_hidden_states"],
                                  rotary_embedding=cond["rotary_embedding"], return_dict=False)[0]
        if not guided:
            return v.float()
        uncond, text = v.float().chunk(2)
        return uncond + cond["guidance"] * (text - uncond)

    def decode(self, latents: torch.Tensor, num_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            wave = self.pipe.vae.decode(latents.to(self.device, self.dtype)).sample[..., :num_samples].float().cpu()
        return wave, self.display.of_waveform(wave)

    def encode_audio(self, wave: np.ndarray, shape: tuple[int, ...]) -> torch.Tensor:
        samples = shape[2] * self.pipe.vae.hop_length
        audio = np.zeros((self.channels, samples), dtype=np.float32)
        audio[:, : min(samples, wave.shape[1])] = wave[:, :samples]
        with torch.no_grad():
            posterior = self.pipe.vae.encode(torch.from_numpy(audio)[None].to(self.device, self.dtype)).latent_dist
        return posterior.mode().float()

    def forward_noise(self, scheduler: SchedulerMixin, x0: torch.Tensor, noise: torch.Tensor,
                      t: int) -> tuple[torch.Tensor, float, float]:
        """EDM's x = x_0 + σ·ε (Karras et al. 2022) with σ spaced as the scheduler's exponential schedule over
        t = 0–999, shown in the model's input scale x / √(σ² + σ_data²)."""
        config = scheduler.config
        fraction = t / 999
        sigma = math.exp((1 - fraction) * math.log(config.sigma_min) + fraction * math.log(config.sigma_max))
        x_t = (x0 + sigma * noise) / math.sqrt(sigma**2 + config.sigma_data**2)
        return x_t, float(t), 20 * math.log10(config.sigma_data / sigma)

    def display_t(self, t: float) -> float:
        """The scheduler's timesteps are atan(σ)·2/π, in (0, 1): shown on the 0–1000 scale of the other models."""
        return 1000 * t
