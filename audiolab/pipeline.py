"""The pipeline: the one object the app and the command line drive, one method per task.

Each task returns a `Result`. Generation is also available step by step (`generate_iter`), which
yields every kept `Step` while it samples and the `Result` last, so a UI can stream the trajectory.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from audiolab.core.audio import MelTransform, load_audio, normalize_loudness
from audiolab.generation.preset import GeneratorModels, load_generator
from audiolab.vocoder.preset import load_vocoder
from audiolab.generation.conditioning import check_prompt, shared_text_encoder
from audiolab.core.diffusion import (
    SAMPLER_TITLES,
    SAMPLERS,
    Schedule,
    Step,
    check_guidance,
    check_steps,
    forward_trajectory,
    make_scheduler,
    sample,
)
from audiolab.core.presets import DEFAULT_PRESET
from audiolab.vocoder.preset import VOCODER_METHODS, load_vocoder_preset
from audiolab.generation.preset import Preset, load_preset
from audiolab.restoration.restorer import Restorer, RestoreMethod
from audiolab.vocoder.diffusion_vocoder import DiffusionVocoder, check_log_mel

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from audiolab.generation.audio_text import TextAudioSpace

AudioInput = str | Path | np.ndarray | tuple[int, np.ndarray]
Domain = Literal["mel", "waveform"]
VocoderMethod = Literal["diffusion", "griffinlim"]
ReferenceMode = Literal["variation", "style"]
REFERENCE_MODES: tuple[str, ...] = ("variation", "style")
MIN_SECONDS = 0.5
MAX_PROCESS_SECONDS = 120.0  # vocoder and denoiser work on the whole recording: two minutes keeps a click interactive
REFERENCE_DBFS = -20.0  # references are levelled before their mel is taken, like the training clips' loudness
DEFAULT_FORWARD_T = (0, 50, 100, 200, 350, 500, 750, 999)


@dataclass(frozen=True)
class Result:
    """What a task returns: audio, its trajectories and how long each part took."""

    audio: np.ndarray
    sample_rate: int
    method: str
    forward: tuple[Step, ...] = ()
    reverse: tuple[Step, ...] = ()
    domain: Domain = "mel"  # what the Steps hold: normalised log-mels or waveforms
    timings: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    input_audio: np.ndarray | None = None
    extras: dict[str, object] = field(default_factory=dict)  # task-specific results (DiffGMM's noise mixture)

    @property
    def seconds(self) -> float:
        return self.audio.size / self.sample_rate


def check_seed(seed: int | float | None) -> int:
    if seed is None:
        return 0
    if isinstance(seed, float):
        if not seed.is_integer():
            raise ValueError(f"The seed must be a whole number; got {seed}.")
        seed = int(seed)
    if not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) < 2**63:
        raise ValueError(f"The seed must be a whole number from 0 to 2^63 − 1; got {seed!r}.")
    return int(seed)


class AudioLabPipeline:
    """Owns a preset's models, the device, the mel transform and the schedule."""

    def __init__(self, preset: Preset, models: GeneratorModels, device: str = "cpu",
                 vocoder: DiffusionVocoder | None = None) -> None:
        self.preset = preset
        self.models = models
        self.device = torch.device(device)
        self.mel = MelTransform(preset.mel)
        self.schedule = Schedule(preset.schedule_kind, preset.num_train_timesteps)
        self.vocoder = vocoder
        self._restorer: Restorer | None = None  # the restoration models load on first use
        if vocoder is not None and vocoder.settings.mel != preset.mel:
            raise ValueError(f"Vocoder {preset.vocoder_preset} uses other mel settings than preset {preset.name}.")

    @classmethod
    def from_preset(cls, name: str | Path = DEFAULT_PRESET, device: str = "cpu") -> "AudioLabPipeline":
        preset = load_preset(name)
        vocoder = load_vocoder(load_vocoder_preset(preset.vocoder_preset)) if preset.vocoder_preset else None
        return cls(preset, load_generator(preset, device), device, vocoder)

    def diffusion_vocoder(self) -> DiffusionVocoder:
        if self.vocoder is None:
            raise ValueError(f"Preset {self.preset.name} has no diffusion vocoder; choose the Griffin-Lim method.")
        return self.vocoder

    def check_vocoder_method(self, method: str | None) -> VocoderMethod:
        method = (method or self.preset.vocoder_method).lower().replace("-", "").replace(" ", "")
        if method not in VOCODER_METHODS:
            raise ValueError(f"Unknown vocoder method {method!r}; choose one of {', '.join(VOCODER_METHODS)}.")
        if method == "diffusion":
            self.diffusion_vocoder()
        return method  # type: ignore[return-value]

    def describe_vocoder(self, method: VocoderMethod, steps: int | None = None, iterations: int | None = None) -> str:
        if method == "griffinlim":
            return f"Griffin-Lim (Griffin & Lim 1984), {iterations or self.preset.griffin_lim_iterations} iterations"
        settings = self.diffusion_vocoder().settings
        return (f"diffusion vocoder {self.preset.vocoder_preset}, {steps or settings.steps} "
                f"{SAMPLER_TITLES[settings.sampler].split(' (')[0]} steps")

    @property
    def labels(self) -> tuple[str, ...]:
        return self.preset.labels

    @property
    def sample_rate(self) -> int:
        return self.preset.sample_rate

    # ---- shared pieces -------------------------------------------------------------------------

    def load(self, source: AudioInput, what: str = "recording") -> np.ndarray:
        """Any accepted input as float32 mono at the preset's rate (clear errors otherwise)."""
        if isinstance(source, np.ndarray):
            source = (self.sample_rate, source)  # a bare array is taken to be at the preset's rate
        return load_audio(source, self.sample_rate, what=what)

    def check_length(self, audio: np.ndarray, what: str) -> None:
        """Refuse recordings longer than MAX_PROCESS_SECONDS with a message that says how to fix them."""
        seconds = audio.size / self.sample_rate
        if seconds > MAX_PROCESS_SECONDS:
            raise ValueError(f"The {what} is {seconds:.0f} s long; trim it to {MAX_PROCESS_SECONDS:.0f} s or less.")

    def _denoise_fn(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        if cond is None:
            cond = self.models.condition.unconditional(x_t.shape[0])
        return self.models.denoiser(x_t, t, cond)

    def text_audio_space(self) -> "TextAudioSpace":
        """The preset's audio encoder (loaded on first use) with MiniLM: the shared text–audio space."""
        if not self.preset.audio_encoder:
            raise ValueError(f"Preset {self.preset.name} has no audio encoder for style conditioning; use the "
                             "variation mode.")
        from audiolab.generation.audio_text import shared_text_audio_space

        return shared_text_audio_space(self.preset.audio_encoder)

    def _condition(self, text: str | None, label: str | None, style: torch.Tensor | None = None,
                   style_weight: float = 0.5) -> tuple[torch.Tensor | None, torch.Tensor, list[str]]:
        """Conditioning vector, the null, and a description.

        Text and a reference's style embedding share MiniLM's space: they are blended there,
        normalize((1 − w)·text + w·style), before the generator's text projection. A label's
        embedding is averaged with the result when both are given.
        """
        parts: list[torch.Tensor] = []
        described: list[str] = []
        condition = self.models.condition
        with torch.no_grad():
            if label is not None and str(label).strip():
                index = self.preset.label_index(label)
                parts.append(condition.from_labels(torch.tensor([index])))
                described.append(f"label '{self.labels[index]}'")
            embedding = None
            if text is not None:
                prompt = check_prompt(text)
                embedding = shared_text_encoder().encode([prompt])
                described.append(f"text '{prompt}'")
            if style is not None:
                if embedding is None:
                    embedding = style.reshape(1, -1)
                    described.append("the reference's style")
                else:
                    mixed = (1 - style_weight) * embedding + style_weight * style.reshape(1, -1)
                    embedding = torch.nn.functional.normalize(mixed, dim=-1)
                    described.append(f"the reference's style at weight {style_weight:.2f}")
            if embedding is not None:
                parts.append(condition.from_text(embedding))
            null = condition.unconditional(1)
        cond = torch.stack(parts).mean(0) if parts else None
        return cond, null, described

    def frames_for(self, seconds: float) -> tuple[int, int]:
        """(samples, padded mel frames) for a duration; frames round up to the network's multiple."""
        samples = int(round(seconds * self.sample_rate))
        multiple = self.preset.model.frame_multiple
        frames = self.preset.mel.frames_for(samples)
        return samples, int(math.ceil(frames / multiple) * multiple)

    def mel_to_audio(self, x: torch.Tensor, num_samples: int, seed: int = 0, iterations: int | None = None,
                     method: str | None = None, steps: int | None = None) -> np.ndarray:
        """A normalised mel (…, mels, frames) back to a waveform: the diffusion vocoder or Griffin-Lim."""
        log_mel = self.models.normalization.denormalize(x.reshape(x.shape[-2], x.shape[-1]))
        return self.log_mel_to_audio(log_mel, num_samples, seed, iterations, method, steps)

    def log_mel_to_audio(self, log_mel: torch.Tensor, num_samples: int, seed: int = 0, iterations: int | None = None,
                         method: str | None = None, steps: int | None = None) -> np.ndarray:
        frames = self.preset.mel.frames_for(num_samples)
        if self.check_vocoder_method(method) == "griffinlim":
            return self.mel.griffin_lim(
                log_mel[:, :frames], iterations or self.preset.griffin_lim_iterations, num_samples=num_samples, seed=seed
            )
        return self.diffusion_vocoder().vocode(log_mel[:, :frames], num_samples, steps=steps, seed=seed)

    def audio_to_mel(self, audio: np.ndarray, frames: int) -> torch.Tensor:
        """Waveform -> normalised mel of exactly `frames` frames (edge-padded), shape (1, 1, mels, frames)."""
        log_mel = self.mel.log_mel(audio)
        if log_mel.shape[-1] < frames:
            log_mel = torch.nn.functional.pad(log_mel.unsqueeze(0), (0, frames - log_mel.shape[-1]), mode="replicate")[0]
        return self.models.normalization.normalize(log_mel[:, :frames]).reshape(1, 1, log_mel.shape[0], frames)

    def step_audio(self, result: Result, index: int, which: Literal["x0_hat", "x_t"] = "x0_hat") -> np.ndarray:
        """The audio of one kept step of a result's reverse (or, failing that, forward) trajectory."""
        steps = result.reverse or result.forward
        if not 0 <= index < len(steps):
            raise ValueError(f"Step {index} does not exist; this trajectory kept {len(steps)} steps.")
        tensor = getattr(steps[index], which)
        if result.domain == "waveform":
            wave = tensor.reshape(-1).numpy().astype(np.float32)
            peak = float(np.abs(wave).max())
            return wave / peak * 0.9 if peak > 1 else wave
        return self.mel_to_audio(tensor, result.audio.size)

    def log_mel_image(self, audio: np.ndarray) -> np.ndarray:
        """Natural-log mel of a waveform as a 2-D array (mels × frames) for plotting."""
        return self.mel.log_mel(audio).numpy()

    def display_mel(self, tensor: torch.Tensor, domain: Domain) -> np.ndarray:
        """A Step's tensor as a normalised mel image, whichever domain it lives in."""
        if domain == "waveform":
            tensor = self.models.normalization.normalize(self.mel.log_mel(tensor.reshape(-1)))
        return tensor.reshape(tensor.shape[-2], tensor.shape[-1]).detach().cpu().numpy()

    # ---- tasks ---------------------------------------------------------------------------------

    def generate_iter(
        self,
        text: str | None = None,
        label: str | None = None,
        reference: AudioInput | None = None,
        strength: float = 0.6,
        seconds: float | None = None,
        steps: int | None = None,
        sampler: str | None = None,
        guidance: float | None = None,
        seed: int = 0,
        keep_every: int | None = None,
        progress: bool = False,
        vocoder: str | None = None,
        vocoder_steps: int | None = None,
        reference_mode: str = "variation",
        style_weight: float = 0.5,
    ) -> Iterator[Step | Result]:
        """Yield kept reverse-trajectory Steps as they are sampled, then the Result.

        A reference is used one of two ways. "variation" is SDEdit (Meng et al. 2022): its mel is
        noised to `strength` and denoised under the condition, so its structure survives.
        "style" embeds it in the text–audio space and conditions a fresh sample on that, alone or
        blended with the prompt at `style_weight`: a new sound like it, not a copy of it.
        """
        preset = self.preset
        timings: dict[str, float] = {}
        notes: list[str] = []
        started = time.perf_counter()
        # 0. check every input before any work
        seconds = float(preset.default_seconds if seconds is None else seconds)
        if not math.isfinite(seconds) or not MIN_SECONDS <= seconds <= preset.max_seconds:
            raise ValueError(f"Duration must be from {MIN_SECONDS} to {preset.max_seconds:g} s; got {seconds}.")
        steps = check_steps(preset.sampler.steps if steps is None else steps)
        sampler = (sampler or preset.sampler.name).lower()
        if sampler not in SAMPLERS:
            raise ValueError(f"Unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}.")
        guidance = check_guidance(preset.sampler.guidance if guidance is None else guidance)
        seed = check_seed(seed)
        vocoder_method = self.check_vocoder_method(vocoder)
        if vocoder_method == "diffusion" and vocoder_steps is not None:
            self.diffusion_vocoder().check_steps(vocoder_steps)
        if keep_every is None:  # about as many frames as the preset keeps at its own step count
            keep_every = max(1, round(steps * preset.sampler.keep_every / preset.sampler.steps))
        if text is not None and not text.strip() and label is None and reference is None:
            check_prompt(text)  # raises the empty-prompt message
        if text is not None and not text.strip():
            text = None
        if text is None and (label is None or not str(label).strip()) and reference is None:
            raise ValueError("Give a text prompt, a class label or a reference recording to generate from.")
        if reference_mode not in REFERENCE_MODES:
            raise ValueError(f"Unknown reference mode {reference_mode!r}; choose one of {', '.join(REFERENCE_MODES)}.")
        if not (isinstance(style_weight, (int, float)) and 0.0 <= float(style_weight) <= 1.0):
            raise ValueError(f"The style weight must be between 0 and 1; got {style_weight!r}.")
        if reference is not None and reference_mode == "variation" and not 0.0 <= float(strength) <= 1.0:
            raise ValueError(f"The strength must be between 0 and 1; got {strength}.")

        # 1. the reference, levelled and cut or looped to the output's length; then the condition
        num_samples, frames = self.frames_for(seconds)
        reference_audio = None
        style = None
        if reference is not None:
            reference_audio = normalize_loudness(self.load(reference, "reference recording"), REFERENCE_DBFS)
            if reference_mode == "style":  # the whole reference (up to the longest output) informs the style
                space = self.text_audio_space()
                style = space.embed_audio(reference_audio[: int(self.preset.max_seconds * self.sample_rate)])[0]
            if reference_audio.size > num_samples:
                notes.append(f"Used the first {seconds:g} s of the {reference_audio.size / self.sample_rate:.1f} s reference.")
                reference_audio = reference_audio[:num_samples]
            elif reference_audio.size < num_samples:
                repeats = int(math.ceil(num_samples / reference_audio.size))
                notes.append(f"The {reference_audio.size / self.sample_rate:.1f} s reference was looped to {seconds:g} s.")
                reference_audio = np.tile(reference_audio, repeats)[:num_samples]
        cond, null, described = self._condition(text, label, style, float(style_weight))
        timings["encode"] = time.perf_counter() - started

        # 2. prepare the starting noise (and the reference's mel, for SDEdit)
        generator = torch.Generator().manual_seed(seed)
        shape = (1, 1, preset.mel.n_mels, frames)
        noise = torch.randn(shape, generator=generator)
        init = None
        if reference_audio is not None and reference_mode == "variation":
            init = self.audio_to_mel(reference_audio, frames)
            described.append(f"reference at strength {float(strength):.2f}")

        # 3. the reverse process
        scheduler = make_scheduler(sampler, self.schedule)  # type: ignore[arg-type]
        kept: list[Step] = []
        sample_started = time.perf_counter()
        for step in sample(
            self._denoise_fn, scheduler, self.schedule, noise, steps, cond=cond, uncond=null, guidance=guidance,
            keep_every=keep_every, init=init, strength=float(strength) if init is not None else 1.0,
            generator=generator, progress=progress,
            x0_range=(self.models.normalization.low, self.models.normalization.high),
        ):
            kept.append(step)
            yield step
        timings["sample"] = time.perf_counter() - sample_started

        # 4. mel -> waveform
        vocode_started = time.perf_counter()
        audio = self.mel_to_audio(kept[-1].x0_hat, num_samples, seed=seed, method=vocoder_method, steps=vocoder_steps)
        timings["vocode"] = time.perf_counter() - vocode_started
        timings["total"] = time.perf_counter() - started
        conditioned = " + ".join(described) if described else "nothing (unconditional)"
        method = (
            f"{SAMPLER_TITLES[sampler]}, {steps} steps, guidance {guidance:g}, seed {seed}; conditioned on "
            f"{conditioned}; {self.describe_vocoder(vocoder_method, vocoder_steps)}."
        )
        yield Result(audio, self.sample_rate, method, reverse=tuple(kept), timings=timings, notes=tuple(notes),
                     input_audio=reference_audio)

    def generate(
        self,
        text: str | None = None,
        label: str | None = None,
        reference: AudioInput | None = None,
        strength: float = 0.6,
        seconds: float | None = None,
        steps: int | None = None,
        sampler: str | None = None,
        guidance: float | None = None,
        seed: int = 0,
        keep_every: int | None = None,
        progress: bool = False,
        vocoder: str | None = None,
        vocoder_steps: int | None = None,
        reference_mode: str = "variation",
        style_weight: float = 0.5,
    ) -> Result:
        """Generate a sound; the same arguments as `generate_iter`, run to the end."""
        result: Step | Result | None = None
        for result in self.generate_iter(
            text=text, label=label, reference=reference, strength=strength, seconds=seconds, steps=steps,
            sampler=sampler, guidance=guidance, seed=seed, keep_every=keep_every, progress=progress,
            vocoder=vocoder, vocoder_steps=vocoder_steps, reference_mode=reference_mode, style_weight=style_weight,
        ):
            pass
        assert isinstance(result, Result)
        return result

    def generate_batch(
        self,
        requests: Sequence[tuple[str | None, str | None]],
        seeds: Sequence[int],
        seconds: float | None = None,
        steps: int | None = None,
        guidance: float | None = None,
        vocoder: str | None = None,
        progress: bool = False,
    ) -> list[np.ndarray]:
        """Many clips in one batched reverse process: `requests` are (text, label) pairs, one seed each.

        Clip i is the same as `generate(text, label, seed=seeds[i])` would give with a deterministic
        sampler (DPM-Solver++ here); batching only shares the network's calls. The eval uses it.
        """
        if len(requests) != len(seeds) or not requests:
            raise ValueError("Give one seed per request, and at least one request.")
        preset = self.preset
        seconds = float(preset.default_seconds if seconds is None else seconds)
        if not math.isfinite(seconds) or not MIN_SECONDS <= seconds <= preset.max_seconds:
            raise ValueError(f"Duration must be from {MIN_SECONDS} to {preset.max_seconds:g} s; got {seconds}.")
        steps = check_steps(preset.sampler.steps if steps is None else steps)
        guidance = check_guidance(preset.sampler.guidance if guidance is None else guidance)
        method = self.check_vocoder_method(vocoder)
        conditions = [self._condition(text, label) for text, label in requests]
        if any(cond is None for cond, _, _ in conditions):
            raise ValueError("Every request needs a text or a label.")
        cond = torch.cat([c for c, _, _ in conditions])
        null = torch.cat([n for _, n, _ in conditions])
        num_samples, frames = self.frames_for(seconds)
        shape = (1, 1, preset.mel.n_mels, frames)
        noise = torch.cat([torch.randn(shape, generator=torch.Generator().manual_seed(check_seed(s))) for s in seeds])
        scheduler = make_scheduler("dpm", self.schedule)
        final = None
        for final in sample(self._denoise_fn, scheduler, self.schedule, noise, steps, cond=cond, uncond=null,
                            guidance=guidance, keep_every=10**6, progress=progress,
                            x0_range=(self.models.normalization.low, self.models.normalization.high)):
            pass
        assert final is not None
        return [self.mel_to_audio(final.x0_hat[i], num_samples, seed=check_seed(seed), method=method)
                for i, seed in enumerate(seeds)]

    def diffuse(
        self,
        audio: AudioInput,
        timesteps: Sequence[int] = DEFAULT_FORWARD_T,
        schedule: str | None = None,
        domain: Domain = "mel",
        seed: int = 0,
    ) -> Result:
        """The forward process q(x_t | x_0) of a recording at the chosen t, in the mel or the waveform domain."""
        started = time.perf_counter()
        if domain not in ("mel", "waveform"):
            raise ValueError(f"Domain must be 'mel' or 'waveform'; got {domain!r}.")
        chosen = Schedule(schedule or self.preset.schedule_kind, self.preset.num_train_timesteps)
        if not timesteps:
            raise ValueError("Choose at least one timestep t to show.")
        wave = self.load(audio)
        notes: list[str] = []
        limit = int(self.preset.max_seconds * self.sample_rate)
        if wave.size > limit:
            notes.append(f"Showing the first {self.preset.max_seconds:g} s of {wave.size / self.sample_rate:.1f} s.")
            wave = wave[:limit]
        generator = torch.Generator().manual_seed(check_seed(seed))
        if domain == "mel":
            x0 = self.audio_to_mel(wave, self.preset.mel.frames_for(wave.size))
        else:
            x0 = torch.from_numpy(wave).reshape(1, 1, -1)
        steps = forward_trajectory(chosen, x0, [int(t) for t in timesteps], generator)
        method = f"Forward process q(x_t|x_0), {chosen.kind} schedule, {domain} domain, seed {seed}."
        return Result(wave, self.sample_rate, method, forward=tuple(steps), domain=domain, notes=tuple(notes),
                      input_audio=wave, timings={"total": time.perf_counter() - started})

    def vocode(
        self,
        audio: AudioInput,
        method: str | None = None,
        steps: int | None = None,
        iterations: int | None = None,
        seed: int = 0,
        keep_every: int = 1,
        progress: bool = False,
        projections: int | None = None,
    ) -> Result:
        """Resynthesise a recording through its mel; the diffusion method keeps its waveform trajectory."""
        wave = self.load(audio)
        self.check_length(wave, "recording")
        result = self.vocode_mel(self.mel.log_mel(wave), wave.size, method, steps, iterations, seed, keep_every,
                                 progress, projections)
        return replace(result, input_audio=wave)

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
        log_mel = check_log_mel(log_mel, self.preset.mel.n_mels)[0]
        num_samples = num_samples or self.preset.mel.samples_for(log_mel.shape[-1])
        if num_samples / self.sample_rate > MAX_PROCESS_SECONDS:
            raise ValueError(f"The mel spans {num_samples / self.sample_rate:.0f} s; give {MAX_PROCESS_SECONDS:.0f} s or less.")
        method = self.check_vocoder_method(method)
        seed = check_seed(seed)
        if method == "griffinlim":
            iterations = self.preset.griffin_lim_iterations if iterations is None else iterations
            out = self.mel.griffin_lim(log_mel, iterations, num_samples=num_samples, seed=seed)
            return Result(out, self.sample_rate, self.describe_vocoder(method, iterations=iterations) +
                          f" on the {self.preset.mel.n_mels}-band mel.", timings={"total": time.perf_counter() - started})
        vocoder = self.diffusion_vocoder()
        steps = vocoder.check_steps(vocoder.settings.steps if steps is None else steps)
        projections = vocoder.settings.projection_iterations if projections is None else projections
        kept = tuple(vocoder.sample_iter(log_mel, num_samples, steps, seed=seed, keep_every=keep_every,
                                         progress=progress, projection_iterations=projections))
        out = np.clip(kept[-1].x0_hat[0].numpy(), -1.0, 1.0).astype(np.float32)
        description = (f"{self.describe_vocoder(method, steps)}, {projections} magnitude projections a step, "
                       f"seed {seed}: DiffWave-style ε-prediction on the waveform's MDCT, "
                       f"{vocoder.settings.prior} prior, T = {vocoder.settings.num_train_timesteps}.")
        return Result(out, self.sample_rate, description, reverse=kept, domain="waveform",
                      timings={"total": time.perf_counter() - started})

    def result_log_mel(self, result: Result) -> torch.Tensor:
        """The natural-log mel a generation ended on (what its vocoder turned into audio)."""
        if result.domain != "mel" or not result.reverse:
            raise ValueError("Only a generated sound carries a mel to vocode; generate one first.")
        x = result.reverse[-1].x0_hat
        log_mel = self.models.normalization.denormalize(x.reshape(x.shape[-2], x.shape[-1]))
        return log_mel[:, : self.preset.mel.frames_for(result.audio.size)]

    @property
    def restorer(self) -> Restorer:
        if self._restorer is None:
            self._restorer = Restorer()
        return self._restorer

    def denoise(self, audio: AudioInput, method: RestoreMethod = "diffgmm", task: str = "denoise",
                steps: int | None = None, strength: float | None = None, guidance: float | None = None,
                seed: int = 0, cutoff_hz: float = 4000.0, progress: bool = False) -> Result:
        """Restore a recording (denoise, bandwidth, declip or inpaint); output length equals input length.

        The Result's reverse trajectory holds the estimate after each iteration or step as waveforms
        (captions in `Step.caption`); for DiffGMM, `extras["mixture"]` is the fitted noise mixture.
        """
        seed = check_seed(seed)
        rate = self.restorer.sample_rate
        wave = load_audio((self.sample_rate, audio) if isinstance(audio, np.ndarray) else audio, rate,
                          what="recording")
        restoration = self.restorer.restore(wave, method, task, steps, strength, guidance, seed, cutoff_hz, progress)
        total = len(restoration.trajectory)
        waves = [torch.from_numpy(w)[None] for _, w in restoration.trajectory]
        reverse = tuple(
            Step(i, total - 1, float(total - 1 - i), math.inf if i == total - 1 else math.nan, wave, wave, caption=caption)
            for i, ((caption, _), wave) in enumerate(zip(restoration.trajectory, waves))
        )
        extras: dict[str, object] = {"task": task, "method_name": method}
        if restoration.mixture is not None:
            extras["mixture"] = restoration.mixture
        return Result(restoration.audio, rate, restoration.description, reverse=reverse, domain="waveform",
                      timings={"total": restoration.seconds}, notes=tuple(restoration.notes), input_audio=wave,
                      extras=extras)

    def restorer_reference(self, clean: AudioInput, result: Result) -> np.ndarray:
        """A clean reference at the restoration's rate, cut or zero-padded to the input's length."""
        reference = load_audio((self.sample_rate, clean) if isinstance(clean, np.ndarray) else clean, result.sample_rate,
                               what="clean reference")
        length = result.audio.size
        if abs(reference.size - length) > 0.05 * length:
            raise ValueError(f"The clean reference is {reference.size / result.sample_rate:.2f} s long but the input is "
                             f"{length / result.sample_rate:.2f} s; give the recording's own clean version.")
        return np.pad(reference[:length], (0, max(length - reference.size, 0)))

    def mixture_figure(self, result: Result, clean: np.ndarray | None = None) -> "Figure":
        """DiffGMM's first-iteration noise mixture over a histogram of the true residual (or of the removed noise)."""
        from audiolab.core import plots
        from audiolab.restoration.diffgmm import NoiseMixture, residual_coefficients
        from audiolab.restoration.restorer import CHUNK_SECONDS

        mixture = result.extras.get("mixture")
        if not isinstance(mixture, NoiseMixture) or result.input_audio is None:
            raise ValueError("Only a DiffGMM restoration carries a fitted noise mixture.")
        model = self.restorer.model("diffgmm")
        span = min(result.input_audio.size, int(CHUNK_SECONDS * result.sample_rate))  # the chunk the mixture was fitted on
        # the first iteration's target: the true noise if the clean recording is known, else what it removed
        other = clean if clean is not None else result.reverse[1].x0_hat.reshape(-1).numpy()
        residual = residual_coefficients(result.input_audio, other, model.settings.hop, span)
        return plots.mixture_figure(residual, mixture.pooled_density, model.settings.components, clean is not None)

    def make_test_input(self, clean: AudioInput, task: str, seed: int = 0) -> Path:
        """A degraded copy of a clean recording for `task` (noise at 5 dB for denoise), written to a temp file."""
        from audiolab.core.audio import save_audio
        from audiolab.restoration.noisy_speech import coloured_noise
        from audiolab.restoration.degradations import degrade
        from audiolab.examples import example_folder, mix_at_snr

        rate = self.restorer.sample_rate
        wave = load_audio((self.sample_rate, clean) if isinstance(clean, np.ndarray) else clean, rate, what="clean reference")
        if task == "denoise":
            degraded = mix_at_snr(wave, coloured_noise(wave.size, np.random.default_rng(seed), -3.0), 5.0)
        else:
            degraded = degrade(task, wave, rate)
        return save_audio(example_folder() / f"test-input-{task}-{seed}-{abs(hash(wave.tobytes())) % 10**8}.wav", degraded, rate)
