"""The vocoding task: a natural-log mel -> a waveform, by the diffusion vocoder or by Griffin-Lim.

Tab → `AudioLabPipeline.vocode` → `VocoderPipeline.vocode_mel` → `DiffusionVocoder.sample_iter`
(the sampler loop in `core/diffusion.py`) → `VocoderNet`.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np
import torch

from audiolab.core.audio import MelSettings, MelTransform, peak_limit
from audiolab.core.choices import VOCODER_METHODS
from audiolab.core.diffusion import SAMPLER_TITLES
from audiolab.core.result import MAX_PROCESS_SECONDS, Result, check_seed
from audiolab.vocoder.diffusion_vocoder import check_log_mel
from audiolab.vocoder.preset import Vocoder

VocoderMethod = Literal["diffusion", "griffinlim"]


class VocoderPipeline:
    """Owns the mel transform, the (optional) diffusion vocoder and the Griffin-Lim default."""

    def __init__(self, mel: MelSettings, vocoder: Vocoder | None, vocoder_name: str = "",
                 default_method: str = "griffinlim", griffin_lim_iterations: int = 32, owner: str = "") -> None:
        if vocoder is not None and vocoder.settings.mel != mel:
            raise ValueError(f"Vocoder {vocoder_name} uses other mel settings than preset {owner}.")
        self.settings = mel
        self.mel = MelTransform(mel)
        self.vocoder = vocoder
        self.vocoder_name = vocoder_name
        self.default_method = default_method
        self.griffin_lim_iterations = griffin_lim_iterations
        self.owner = owner  # the generator preset this vocoder serves, for messages

    @property
    def sample_rate(self) -> int:
        return self.settings.sample_rate

    def diffusion_vocoder(self) -> Vocoder:
        if self.vocoder is None:
            raise ValueError(f"Preset {self.owner} has no diffusion vocoder; choose the Griffin-Lim method.")
        return self.vocoder

    def check_method(self, method: str | None) -> VocoderMethod:
        method = (method or self.default_method).lower().replace("-", "").replace(" ", "")
        if method not in VOCODER_METHODS:
            raise ValueError(f"Unknown vocoder method {method!r}; choose one of {', '.join(VOCODER_METHODS)}.")
        if method == "diffusion":
            self.diffusion_vocoder()
        return method  # type: ignore[return-value]

    def describe(self, method: VocoderMethod, steps: int | None = None, iterations: int | None = None) -> str:
        if method == "griffinlim":
            return f"Griffin-Lim (Griffin & Lim 1984), {iterations or self.griffin_lim_iterations} iterations"
        settings = self.diffusion_vocoder().settings
        return (f"diffusion vocoder {self.vocoder_name}, {steps or settings.steps} "
                f"{SAMPLER_TITLES[settings.sampler].split(' (')[0]} steps")

    def log_mel_to_audio(self, log_mel: torch.Tensor, num_samples: int, seed: int = 0, iterations: int | None = None,
                         method: str | None = None, steps: int | None = None) -> np.ndarray:
        """The waveform for a (mels, frames) log-mel, without a trajectory (generation's last step)."""
        frames = self.settings.frames_for(num_samples)
        if self.check_method(method) == "griffinlim":
            return self.mel.griffin_lim(log_mel[:, :frames], iterations or self.griffin_lim_iterations,
                                        num_samples=num_samples, seed=seed)
        return self.diffusion_vocoder().vocode(log_mel[:, :frames], num_samples, steps=steps, seed=seed)

    def vocode_mel(
        self,
        log_mel: torch.Tensor | np.ndarray,
        num_samples: int | None = None,
        method: str | None = None,
        steps: int | None = None,
        iterations: int | None = None,
        seed: int = 0,
        keep_every: int = 1,
        progress: bool = False,
        projections: int | None = None,
    ) -> Result:
        """A natural-log mel (mels, frames) to a waveform of `num_samples` (default: the mel's span).

        `projections`: Griffin-Lim projections of each step's x̂_0 onto the mel's magnitude (default: the
        vocoder preset's); 0 runs the pure reverse process.
        """
        started = time.perf_counter()
        # 1. check the mel, the length, the method and the seed before any work
        log_mel = check_log_mel(log_mel, self.settings.n_mels)[0]
        num_samples = num_samples or self.settings.samples_for(log_mel.shape[-1])
        if num_samples / self.sample_rate > MAX_PROCESS_SECONDS:
            raise ValueError(f"The mel spans {num_samples / self.sample_rate:.0f} s; give {MAX_PROCESS_SECONDS:.0f} s or less.")
        method = self.check_method(method)
        seed = check_seed(seed)
        if method == "griffinlim":
            iterations = self.griffin_lim_iterations if iterations is None else iterations
            out = self.mel.griffin_lim(log_mel, iterations, num_samples=num_samples, seed=seed)
            return Result(out, self.sample_rate, self.describe(method, iterations=iterations) +
                          f" on the {self.settings.n_mels}-band mel.", timings={"total": time.perf_counter() - started})
        # 2. the reverse process on the waveform, every kept step a waveform
        vocoder = self.diffusion_vocoder()
        steps = vocoder.check_steps(vocoder.settings.steps if steps is None else steps)
        projections = vocoder.settings.projection_iterations if projections is None else projections
        kept = tuple(vocoder.sample_iter(log_mel, num_samples, steps, seed=seed, keep_every=keep_every,
                                         progress=progress, projection_iterations=projections))
        out = peak_limit(kept[-1].x0_hat[0].numpy(), self.sample_rate)  # never hard-clipped
        description = (f"{self.describe(method, steps)}, {projections} magnitude projections a step, "
                       f"seed {seed}: {vocoder.describe(steps)}.")
        return Result(out, self.sample_rate, description, reverse=kept, domain="waveform",
                      timings={"total": time.perf_counter() - started})
