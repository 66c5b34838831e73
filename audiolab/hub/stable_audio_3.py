"""Stable Audio 3 as a `LatentModel`: a rectified-flow DiT over SAME autoencoder latents, from a converted folder.

The pipeline's own `encode_prompt` (T5Gemma), `encode_duration` and `prepare_cross_attention` build the condition;
the timesteps are its log-SNR-warped σ schedule (`logsnr_sigma_schedule`), which audio-to-audio compresses to
[strength, 0] after mixing the reference with noise, x = (1 − s)·x_ref + s·ε, as its audio-to-audio pipeline does.
Inpainting gives the DiT the reference latents and the mask through its local-additive input (`local_add_cond`),
as its inpainting pipeline does. The distilled checkpoint has guidance baked in: the scale is then not used.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from diffusers.schedulers.scheduling_utils import SchedulerMixin

from audiolab.hub.family import Conditioning, DisplayMel, LatentModel, display_settings
from audiolab.hub.loading import LoadedModel
from audiolab.hub.sampling import Start

LOGSNR_MIN, LOGSNR_MAX = -6.2, 2.0  # the pipelines' defaults: the ends of the log-SNR grid the σ schedule follows


class StableAudio3Model(LatentModel):
    """A `StableAudio3Pipeline` (or its audio-to-audio or inpainting sibling)'s components, one call at a time."""

    title = "Stable Audio 3"
    default_guidance = 1.0  # distilled: classifier-free guidance is in the weights
    default_seconds = 10.0

    def __init__(self, loaded: LoadedModel) -> None:
        super().__init__(loaded)
        self.display = DisplayMel(display_settings(self.sample_rate))
        # 8 ping-pong steps for the distilled checkpoint, 100 Euler steps for the base one (the pipelines' rule)
        self.default_steps = 8 if self.pipe.scheduler.config.get("stochastic_sampling", False) else 100

    @property
    def sample_rate(self) -> int:
        return int(self.pipe.vae.config.sampling_rate)

    @property
    def channels(self) -> int:
        return int(self.pipe.vae.config.audio_channels)

    @property
    def max_seconds(self) -> float:
        return 384.0  # the duration embedder's upper bound (StableAudio3DurationEmbedder.max_val)

    @property
    def uses_guidance(self) -> bool:
        return not self.pipe.scheduler.config.get("stochastic_sampling", False)

    def encode_prompt(self, prompt: str, negative: str | None, guidance: float, seconds: float) -> Conditioning:
        pipe, guided = self.pipe, guidance > 1.0 and self.uses_guidance
        duration = pipe.encode_duration(seconds, self.device, 1, 1)
        embeds, mask = pipe.prepare_cross_attention(*pipe.encode_prompt(prompt, self.device, 1), duration)
        if guided:
            negative_embeds, negative_mask = pipe.prepare_cross_attention(
                *pipe.encode_prompt(negative or "", self.device, 1), duration)
            embeds, mask = torch.cat([negative_embeds, embeds]), torch.cat([negative_mask, mask])
            duration = torch.cat([duration, duration])
        return {"encoder_hidden_states": embeds, "encoder_attention_mask": mask, "global_hidden_states": duration,
                "guidance": guidance if guided else 1.0, "local_add_cond": None}

    def latent_shape(self, seconds: float) -> tuple[int, ...]:
        ratio = self.pipe.vae.downsampling_ratio
        return (1, int(self.pipe.vae.config.latent_dim), math.ceil(seconds * self.sample_rate / ratio))

    def model_output(self, x_in: torch.Tensor, t: torch.Tensor, cond: Conditioning) -> torch.Tensor:
        guided = cond["guidance"] > 1.0
        x = torch.cat([x_in, x_in]) if guided else x_in
        local = cond["local_add_cond"]
        if local is not None and guided:
            local = torch.cat([local, local])
        velocity = self.pipe.transformer(
            x.to(self.dtype), t.expand(x.shape[0]).to(self.device), encoder_hidden_states=cond["encoder_hidden_states"],
            global_hidden_states=cond["global_hidden_states"], encoder_attention_mask=cond["encoder_attention_mask"],
            local_add_cond=local, return_dict=False)[0]
        if not guided:
            return velocity.float()
        uncond, text = velocity.float().chunk(2)
        return uncond + cond["guidance"] * (text - uncond)

    def decode(self, latents: torch.Tensor, num_samples: int) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.no_grad():
            wave = self.pipe.vae.decode(latents.to(self.device, self.dtype)).sample[..., :num_samples]
        wave = wave.float().clamp(-1.0, 1.0).cpu()  # the pipelines clamp the decoded audio too
        return wave, self.display.of_waveform(wave)

    def encode_audio(self, wave: np.ndarray, shape: tuple[int, ...]) -> torch.Tensor:
        with torch.no_grad():
            latents = self.pipe.vae.encode(torch.from_numpy(wave)[None].to(self.device, self.dtype)).latents.float()
        if latents.shape[-1] < shape[-1]:
            latents = torch.nn.functional.pad(latents, (0, shape[-1] - latents.shape[-1]))
        return latents[..., : shape[-1]]

    def start(self, scheduler: SchedulerMixin, steps: int, noise: torch.Tensor, init: torch.Tensor | None,
              strength: float) -> Start | None:
        from diffusers.pipelines.stable_audio_3.pipeline_stable_audio_3 import (
            logsnr_sigma_schedule,
        )

        level = 1.0 if init is None else strength
        if level <= 0.0:
            return None
        scheduler.set_timesteps(sigmas=logsnr_sigma_schedule(steps, LOGSNR_MIN, LOGSNR_MAX, sigma_max=level),
                                device=noise.device)
        x = noise if init is None else (1.0 - level) * init + level * noise
        return Start(scheduler.timesteps, x)

    def inpaint_condition(self, cond: Conditioning, latents: torch.Tensor, keep: torch.Tensor) -> bool:
        mask = keep.reshape(1, 1, -1).to(latents)
        cond["local_add_cond"] = torch.cat([mask, latents * mask], dim=1).to(self.device, self.dtype)
        return True

    def forward_noise(self, scheduler: SchedulerMixin, x0: torch.Tensor, noise: torch.Tensor,
                      t: int) -> tuple[torch.Tensor, float, float]:
        """Rectified flow's straight path x_t = (1 − σ)·x_0 + σ·ε with σ = t/1000."""
        sigma = t / 1000
        snr = math.inf if sigma == 0 else 20 * math.log10((1 - sigma) / sigma)
        return (1 - sigma) * x0 + sigma * noise, float(t), snr

    def display_t(self, t: float) -> float:
        """Flow-matching timesteps are σ·(training timesteps): shown on a 0–1000 scale."""
        return 1000 * t / float(self.pipe.scheduler.config.num_train_timesteps)
