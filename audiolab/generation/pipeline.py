"""The generation task: text, a class label or a reference recording -> a sound, streamed as `Step`s.

A *backend* is anything with `generate_iter(request)` that yields `Step`s and then a `Result`
(`GenerationBackend`). `BuiltinGenerator` is the backend for the project's own presets:
Tab → `AudioLabPipeline.generate_iter` → `BuiltinGenerator.generate_iter` → `sample` (the sampler loop
in `core/diffusion.py`) → `MelDenoiser` (`mel_unet.py`) → `VocoderPipeline` for the waveform.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

import numpy as np
import torch

from audiolab.core.audio import MelTransform, level, normalize_loudness
from audiolab.core.diffusion import (
    SAMPLER_TITLES,
    SAMPLERS,
    Schedule,
    Step,
    check_guidance,
    check_steps,
    forward_trajectory,
    frame_centred,
    make_scheduler,
    sample,
)
from audiolab.core.result import AudioInput, Domain, Result, check_seed, load_input
from audiolab.generation.caption_space import CaptionSpace, shared_caption_space, training_captions
from audiolab.generation.class_prior import clip_envelope, prior_log_mel
from audiolab.generation.conditioning import check_prompt, shared_text_encoder
from audiolab.generation.preset import GeneratorModels, Preset
from audiolab.vocoder.pipeline import VocoderPipeline

if TYPE_CHECKING:
    from audiolab.generation.audio_text import TextAudioSpace

ReferenceMode = Literal["variation", "style"]
REFERENCE_MODES: tuple[str, ...] = ("variation", "style")
MIN_SECONDS = 0.5
REFERENCE_DBFS = -20.0  # references are levelled before their mel is taken, like the training clips' loudness
DEFAULT_FORWARD_T = (0, 50, 100, 200, 350, 500, 750, 999)
TIMING_STREAM = 0x7469  # the class prior's draw of a loudness curve: a random stream apart from the noise's
PRIOR_CAPTION_TEMPERATURE = 0.05  # reads a prompt's classes for the class prior when the preset does not snap


@dataclass(frozen=True)
class GenerationRequest:
    """One generation: what to condition on and how to sample. `None` means the backend's default."""

    text: str | None = None
    label: str | None = None
    reference: AudioInput | None = None
    strength: float = 0.6  # variation: how far the reference is noised (0 keeps it, 1 ignores it)
    seconds: float | None = None
    steps: int | None = None
    sampler: str | None = None
    guidance: float | None = None
    seed: int = 0
    keep_every: int | None = None
    preview_every: int | None = None  # also yield every n-th step for a live display; only kept ones are kept
    progress: bool = False
    vocoder: str | None = None
    vocoder_steps: int | None = None
    reference_mode: str = "variation"
    style_weight: float = 0.5
    negative_prompt: str | None = None  # hub models: what guidance steers away from
    inpaint: tuple[float, float] | None = None  # hub models: the span of the reference to regenerate (start, end s)


@dataclass(frozen=True)
class _Prepared:
    """One checked request made ready to sample: its condition, starting noise and what its Result will say."""

    request: GenerationRequest
    num_samples: int
    cond: torch.Tensor | None
    null: torch.Tensor
    noise: torch.Tensor
    init: torch.Tensor | None  # the reference's mel, for a variation (SDEdit)
    reference_audio: np.ndarray | None
    described: list[str]
    notes: list[str]
    generator: torch.Generator
    encode_seconds: float
    start_strength: float = 1.0  # where the reverse process starts, as a share of T (1: from pure noise)
    start_words: str = ""  # what a class-prior start started from, for the method line
    timing: torch.Tensor | None = None  # (1, frames) the loudness curve a timed network reads, NaN for none
    timing_words: str = ""  # where that curve came from, for the method line


def _one_of(step: Step, index: int) -> Step:
    """Request `index`'s share of a batched Step (the last Step's x_t and x̂_0 stay one tensor)."""
    x_t = step.x_t[index : index + 1]
    return replace(step, x_t=x_t, x0_hat=x_t if step.x0_hat is step.x_t else step.x0_hat[index : index + 1])


@runtime_checkable
class GenerationBackend(Protocol):
    """What the tabs and the command line need of a generator: a built-in preset or a hub model."""

    @property
    def sample_rate(self) -> int: ...

    @property
    def labels(self) -> tuple[str, ...]: ...

    def generate_iter(self, request: GenerationRequest) -> Iterator[Step | Result]: ...


class BuiltinGenerator:
    """A built-in preset's mel diffusion model behind the `GenerationBackend` interface."""

    def __init__(self, preset: Preset, models: GeneratorModels, vocoder: VocoderPipeline) -> None:
        self.preset = preset
        self.models = models
        self.vocoder = vocoder
        self.mel = MelTransform(preset.mel)
        self.schedule = preset.schedule()

    @property
    def sample_rate(self) -> int:
        return self.preset.sample_rate

    @property
    def labels(self) -> tuple[str, ...]:
        return self.preset.labels

    # ---- mels ----------------------------------------------------------------------------------

    def frames_for(self, seconds: float) -> tuple[int, int]:
        """(samples, padded mel frames) for a duration; frames round up to the network's multiple."""
        samples = int(round(seconds * self.sample_rate))
        multiple = self.preset.model.frame_multiple
        frames = self.preset.mel.frames_for(samples)
        return samples, int(math.ceil(frames / multiple) * multiple)

    def audio_to_mel(self, audio: np.ndarray, frames: int) -> torch.Tensor:
        """Waveform -> normalised mel of exactly `frames` frames (edge-padded), shape (1, 1, mels, frames)."""
        log_mel = self.mel.log_mel(audio)
        if log_mel.shape[-1] < frames:
            log_mel = torch.nn.functional.pad(log_mel.unsqueeze(0), (0, frames - log_mel.shape[-1]), mode="replicate")[0]
        return self.models.normalization.normalize(log_mel[:, :frames]).reshape(1, 1, log_mel.shape[0], frames)

    def mel_to_audio(self, x: torch.Tensor, num_samples: int, seed: int = 0, iterations: int | None = None,
                     method: str | None = None, steps: int | None = None) -> np.ndarray:
        """A normalised mel (…, mels, frames) back to a waveform: the diffusion vocoder or Griffin-Lim."""
        log_mel = self.models.normalization.denormalize(x.reshape(x.shape[-2], x.shape[-1]))
        return self.vocoder.log_mel_to_audio(log_mel, num_samples, seed, iterations, method, steps)

    def display_mel(self, tensor: torch.Tensor, domain: Domain) -> np.ndarray:
        """A Step's tensor as a normalised mel image, whichever domain it lives in."""
        if domain == "waveform":
            tensor = self.models.normalization.normalize(self.mel.log_mel(tensor.reshape(-1)))
        return tensor.reshape(tensor.shape[-2], tensor.shape[-1]).detach().cpu().numpy()

    def result_log_mel(self, result: Result) -> torch.Tensor:
        """The natural-log mel a generation ended on (what its vocoder turned into audio)."""
        if result.domain != "mel" or not result.reverse:
            raise ValueError("Only a generated sound carries a mel to vocode; generate one first.")
        x = result.reverse[-1].x0_hat
        log_mel = self.models.normalization.denormalize(x.reshape(x.shape[-2], x.shape[-1]))
        return log_mel[:, : self.preset.mel.frames_for(result.audio.size)]

    # ---- conditioning --------------------------------------------------------------------------

    def text_audio_space(self) -> "TextAudioSpace":
        """The preset's audio encoder (loaded on first use) with MiniLM: the shared text–audio space."""
        if not self.preset.audio_encoder:
            raise ValueError(f"Preset {self.preset.name} has no audio encoder for style conditioning; use the "
                             "variation mode.")
        from audiolab.generation.audio_text import shared_text_audio_space

        return shared_text_audio_space(self.preset.audio_encoder)

    def caption_space(self) -> CaptionSpace:
        """The training captions in MiniLM's space, where a prompt is snapped (`caption_space.py`)."""
        return shared_caption_space(tuple(caption for caption, _ in training_captions(self.preset)))

    def condition(self, text: str | None, label: str | None, style: torch.Tensor | None = None,
                  style_weight: float = 0.5) -> tuple[torch.Tensor | None, torch.Tensor, list[str]]:
        """Conditioning vector, the null, and a description.

        Text and a reference's style embedding share MiniLM's space: they are blended there,
        normalize((1 − w)·text + w·style), before the generator's text projection. A label's
        embedding is averaged with the result when both are given.
        """
        parts: list[torch.Tensor] = []
        described: list[str] = []
        encoder = self.models.condition
        with torch.no_grad():
            if label is not None and str(label).strip():
                index = self.preset.label_index(label)
                parts.append(encoder.from_labels(torch.tensor([index])))
                described.append(f"label '{self.labels[index]}'")
            embedding = None
            if text is not None:
                prompt = check_prompt(text)
                embedding = shared_text_encoder().encode([prompt])
                if self.preset.caption_temperature > 0:  # read as a mixture of the training captions
                    reading = self.caption_space().read(embedding, self.preset.caption_temperature)
                    embedding = reading.embedding
                    described.append(f"text '{prompt}' (read as {reading.describe()})")
                else:
                    described.append(f"text '{prompt}'")
            if style is not None:
                if embedding is None:
                    embedding = style.reshape(1, -1)
                    described.append("the reference's style")
                else:
                    if style_weight > 0:  # weight 0 keeps the prompt's own embedding, not a renormalised copy
                        mixed = (1 - style_weight) * embedding + style_weight * style.reshape(1, -1)
                        embedding = torch.nn.functional.normalize(mixed, dim=-1)
                    described.append(f"the reference's style at weight {style_weight:.2f}")
            if embedding is not None:
                parts.append(encoder.from_text(embedding))
            null = encoder.unconditional(1)
        cond = torch.stack(parts).mean(0) if parts else None
        return cond, null, described

    def class_weights(self, text: str | None, label: str | None, style: bool = False,
                      style_weight: float = 0.5) -> torch.Tensor | None:
        """How much of each class's spectrum a prompt's class prior takes (`class_prior.py`), or None without a
        condition: a label is its class; a text prompt, the classes of the training captions it is read as
        (`caption_space.py`); a reference's style, every class alike. Parts are averaged as `condition` averages."""
        classes = len(self.labels)
        parts: list[torch.Tensor] = []
        if label is not None and str(label).strip():
            parts.append(torch.nn.functional.one_hot(torch.tensor(self.preset.label_index(label)), classes).float())
        prompt_part = None
        if text is not None:
            embedding = shared_text_encoder().encode([check_prompt(text)])
            temperature = self.preset.caption_temperature or PRIOR_CAPTION_TEMPERATURE
            reading = self.caption_space().read(embedding, temperature)
            owner = dict(training_captions(self.preset))
            prompt_part = torch.zeros(classes)
            for caption, weight in reading.captions:
                prompt_part[owner[caption]] += weight
        if style:
            uniform = torch.full((classes,), 1.0 / classes)
            prompt_part = uniform if prompt_part is None else (1 - style_weight) * prompt_part + style_weight * uniform
        if prompt_part is not None:
            parts.append(prompt_part)
        return torch.stack(parts).mean(0) if parts else None

    def _class_prior(self, r: GenerationRequest, style: bool,
                     frames: int) -> tuple[torch.Tensor | None, str, torch.Tensor | None, str]:
        """The normalised starting mel of the preset's class prior for this request and the words for its method
        line, and the loudness curve (frames,) drawn for it as the network reads it (times `timing_gain`) with its
        words; None and "" for what it lacks.

        A network that reads timing (`model.timing`), or a preset with `class_prior_timing`, takes the loudness
        curve of a training recording of the prompt's class, drawn by the request's seed from a stream of its own
        (the starting noise stays as it was); with `class_prior_timing` the starting mel follows it too."""
        spectra, timings, sampler = self.models.class_spectra, self.models.class_timings, self.preset.sampler
        timed = timings is not None and (self.preset.model.timing or sampler.class_prior_timing)
        from_prior = spectra is not None and sampler.class_prior_strength < 1.0
        if not (timed or from_prior):
            return None, "", None, ""
        weights = self.class_weights(r.text, r.label, style, r.style_weight)
        if weights is None:
            return None, "", None, ""
        envelope, curve_words = None, ""
        if timed:
            assert timings is not None
            envelope, chosen = timings.pick(weights, frames, (r.seed, TIMING_STREAM))
            curve_words = f"the loudness curve of a training recording of {self.labels[chosen].replace('_', ' ')}"
        timing_words = f"timed by {curve_words}" if curve_words and self.preset.model.timing else ""
        if timing_words and sampler.timing_gain != 1.0:
            timing_words += f", read {sampler.timing_gain:g} times as deep"
        read = None if envelope is None else envelope * sampler.timing_gain  # the prior itself keeps the recorded one
        if not from_prior:
            return None, "", read, timing_words
        assert spectra is not None
        floor = math.log(self.preset.mel.log_floor)
        shaped = envelope is not None and sampler.class_prior_timing
        log_mel = prior_log_mel(spectra, weights, frames, envelope if shaped else None, floor)
        init = self.models.normalization.normalize(log_mel).reshape(1, 1, log_mel.shape[0], frames)
        words = "the prompt's class spectrum" + (f" with {curve_words}," if shaped else "")
        return init, f"{words} noised to {sampler.class_prior_strength:g}T", read, timing_words

    def _denoise_fn(self, x_t: torch.Tensor, t: torch.Tensor, cond: torch.Tensor | None,
                    timing: torch.Tensor | None = None) -> torch.Tensor:
        if cond is None:
            cond = self.models.condition.unconditional(x_t.shape[0])
        if timing is not None:  # a guided call stacks the batch twice (conditional, null): each half reads it
            timing = timing.repeat(x_t.shape[0] // timing.shape[0], 1)
        return self.models.denoiser(x_t, t, cond, timing)

    # ---- generation ----------------------------------------------------------------------------

    def check_seconds(self, seconds: float | None) -> float:
        seconds = float(self.preset.default_seconds if seconds is None else seconds)
        if not math.isfinite(seconds) or not MIN_SECONDS <= seconds <= self.preset.max_seconds:
            raise ValueError(f"Duration must be from {MIN_SECONDS} to {self.preset.max_seconds:g} s; got {seconds}.")
        return seconds

    def check_request(self, request: GenerationRequest) -> GenerationRequest:
        """The request with every default filled in and every value checked, before any work is done."""
        preset, r = self.preset, request
        seconds = self.check_seconds(r.seconds)
        steps = check_steps(preset.sampler.steps if r.steps is None else r.steps)
        sampler = (r.sampler or preset.sampler.name).lower()
        if sampler not in SAMPLERS:
            raise ValueError(f"Unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}.")
        guidance = check_guidance(preset.sampler.guidance if r.guidance is None else r.guidance)
        seed = check_seed(r.seed)
        vocoder = self.vocoder.check_method(r.vocoder)
        if vocoder == "diffusion" and r.vocoder_steps is not None:
            self.vocoder.diffusion_vocoder().check_steps(r.vocoder_steps)
        keep_every = r.keep_every  # by default about as many frames as the preset keeps at its own step count
        if keep_every is None:
            keep_every = max(1, round(steps * preset.sampler.keep_every / preset.sampler.steps))
        if r.preview_every is not None and (isinstance(r.preview_every, bool) or int(r.preview_every) < 1):
            raise ValueError(f"preview_every must be at least 1; got {r.preview_every}.")
        text = r.text
        if text is not None and not text.strip() and r.label is None and r.reference is None:
            check_prompt(text)  # raises the empty-prompt message
        if text is not None and not text.strip():
            text = None
        if text is None and (r.label is None or not str(r.label).strip()) and r.reference is None:
            raise ValueError("Give a text prompt, a class label or a reference recording to generate from.")
        if r.reference_mode not in REFERENCE_MODES:
            raise ValueError(f"Unknown reference mode {r.reference_mode!r}; choose one of {', '.join(REFERENCE_MODES)}"
                             " (inpainting needs a hub model).")
        if (r.negative_prompt or "").strip() or r.inpaint is not None:
            raise ValueError(f"Preset {preset.name} takes no negative prompt and cannot inpaint; choose a hub model "
                             "(AudioLDM 2, Stable Audio) for those.")
        if not (isinstance(r.style_weight, (int, float)) and 0.0 <= float(r.style_weight) <= 1.0):
            raise ValueError(f"The style weight must be between 0 and 1; got {r.style_weight!r}.")
        if r.reference is not None and r.reference_mode == "variation" and not 0.0 <= float(r.strength) <= 1.0:
            raise ValueError(f"The strength must be between 0 and 1; got {r.strength}.")
        return replace(r, text=text, seconds=seconds, steps=steps, sampler=sampler, guidance=guidance, seed=seed,
                       vocoder=vocoder, keep_every=keep_every, strength=float(r.strength),
                       style_weight=float(r.style_weight))

    def _prepare_reference(self, request: GenerationRequest, num_samples: int,
                           notes: list[str]) -> tuple[np.ndarray | None, torch.Tensor | None]:
        """The reference levelled and cut or looped to the output's length, and (style mode) its embedding."""
        if request.reference is None:
            return None, None
        audio = normalize_loudness(load_input(request.reference, self.sample_rate, "reference recording", notes=notes),
                                   REFERENCE_DBFS)
        style = None
        if request.reference_mode == "style":  # the whole reference (up to the longest output) informs the style
            style = self.text_audio_space().embed_audio(audio[: int(self.preset.max_seconds * self.sample_rate)])[0]
        seconds = float(request.seconds or 0)
        if audio.size > num_samples:
            notes.append(f"Used the first {seconds:g} s of the {audio.size / self.sample_rate:.1f} s reference.")
            audio = audio[:num_samples]
        elif audio.size < num_samples:
            notes.append(f"The {audio.size / self.sample_rate:.1f} s reference was looped to {seconds:g} s.")
            audio = np.tile(audio, int(math.ceil(num_samples / audio.size)))[:num_samples]
        return audio, style

    def generate_iter(self, request: GenerationRequest) -> Iterator[Step | Result]:
        """Yield kept reverse-trajectory Steps as they are sampled, then the Result.

        With `preview_every`, every n-th step is yielded as well, for a live display (a progress report at
        each step with 1); only the kept ones make the Result's trajectory.

        A reference is used one of two ways. "variation" is SDEdit (Meng et al. 2022): its mel is noised to
        `strength` and denoised under the condition, so its structure survives. "style" conditions a fresh sample
        on its place in the text–audio space, alone or blended with the prompt: like it, not a copy of it.
        """
        for items in self.generate_group_iter([request]):
            yield items[0]

    def batch_key(self, request: GenerationRequest) -> tuple[object, ...]:
        """What requests must share to run as one batch (`generate_group_iter`); a checked request's key.

        The sampling settings and the kind of start must agree; the conditions, seeds and references may
        differ. Stochastic samplers (DDPM, DPM-Solver++ SDE) batch too: each row draws its step noise from
        its own request's generator, so no result depends on its neighbours.
        """
        r = request
        variation = r.reference is not None and r.reference_mode == "variation"
        conditioned = r.text is not None or (r.label is not None and bool(str(r.label).strip())) or (
            r.reference is not None and r.reference_mode == "style")
        return (r.seconds, r.steps, r.sampler, r.guidance, r.keep_every, r.preview_every, r.vocoder, r.vocoder_steps, variation,
                r.strength if variation else None, conditioned)

    def _prepare(self, r: GenerationRequest) -> _Prepared:
        """A checked request's reference, condition and starting noise (and the reference's mel, for SDEdit)."""
        started = time.perf_counter()
        assert r.seconds is not None
        notes: list[str] = []
        num_samples, frames = self.frames_for(r.seconds)
        reference_audio, style = self._prepare_reference(r, num_samples, notes)
        cond, null, described = self.condition(r.text, r.label, style, r.style_weight)
        generator = torch.Generator().manual_seed(r.seed)
        noise = torch.randn((1, 1, self.preset.mel.n_mels, frames), generator=generator)
        if self.preset.sampler.frame_centred_noise:
            noise = frame_centred(noise)
        init, start_strength, start_words, envelope, timing_words = None, 1.0, "", None, ""
        if reference_audio is not None and r.reference_mode == "variation":
            init, start_strength = self.audio_to_mel(reference_audio, frames), float(r.strength)
            described.append(f"reference at strength {r.strength:.2f}")
            if self.preset.model.timing:  # a variation keeps the reference's own timing
                envelope = clip_envelope(init[0, 0]) * self.models.normalization.std
                timing_words = "timed by the reference's loudness curve"
        else:
            init, start_words, envelope, timing_words = self._class_prior(r, style is not None, frames)
            if init is not None:
                start_strength = self.preset.sampler.class_prior_strength
        timing = None
        if self.preset.model.timing:  # the network reads the curve in normalised units; NaN: no curve
            timing = (torch.full((1, frames), math.nan) if envelope is None
                      else (envelope.float() / self.models.normalization.std).reshape(1, frames))
        return _Prepared(r, num_samples, cond, null, noise, init, reference_audio, described, notes, generator,
                         time.perf_counter() - started, start_strength, start_words, timing, timing_words)

    def generate_group_iter(self, requests: Sequence[GenerationRequest],
                            stop: Callable[[], bool] | None = None) -> Iterator[list[Step] | list[Result]]:
        """Several requests with one `batch_key` in one batched reverse process.

        Yields, at every kept step, one Step per request (in order), then one Result per request. Each
        request's noise comes from its own seed, so its result is the one it gets alone, up to the rounding
        of batched arithmetic; only the network's calls are shared.
        """
        started = time.perf_counter()
        checked = [self.check_request(request) for request in requests]  # 0. check every input before any work
        if not checked or len({self.batch_key(r) for r in checked}) != 1:
            raise ValueError("A batch needs at least one request, and its requests must share their sampling settings.")
        prepared = [self._prepare(r) for r in checked]  # 1. references, conditions, starting noise
        r = checked[0]
        assert r.steps is not None and r.sampler is not None and r.guidance is not None
        cond = torch.cat([p.cond for p in prepared]) if prepared[0].cond is not None else None  # type: ignore[misc]
        init = torch.cat([p.init for p in prepared]) if prepared[0].init is not None else None  # type: ignore[misc]
        denoise_fn = self._denoise_fn
        if prepared[0].timing is not None:
            denoise_fn = functools.partial(self._denoise_fn, timing=torch.cat([p.timing for p in prepared]))  # type: ignore[misc]

        # 2. the reverse process, every kept (and previewed) step handed out per request
        kept: list[list[Step]] = [[] for _ in prepared]
        keep_every = r.keep_every or 1
        every = math.gcd(keep_every, int(r.preview_every)) if r.preview_every else keep_every
        sample_started = time.perf_counter()
        for step in sample(
            denoise_fn, make_scheduler(r.sampler, self.schedule), self.schedule,  # type: ignore[arg-type]
            torch.cat([p.noise for p in prepared]), r.steps, cond=cond, uncond=torch.cat([p.null for p in prepared]),
            guidance=r.guidance, keep_every=every, init=init,
            strength=prepared[0].start_strength, progress=r.progress,
            # one generator per row: a stochastic sampler's step noise for each clip is the noise it gets alone
            generator=[p.generator for p in prepared],
            x0_range=(self.models.normalization.low, self.models.normalization.high), stop=stop,
            guidance_interval=self.preset.sampler.guidance_interval,
        ):
            items = [_one_of(step, index) for index in range(len(prepared))]
            if step.index % keep_every == 0 or step.index == step.total:  # the first and the last are always kept
                for trajectory, item in zip(kept, items):
                    trajectory.append(item)
            yield items
        sample_seconds = time.perf_counter() - sample_started
        if stop is not None and stop():
            return
        yield [self._finish(p, trajectory, sample_seconds, len(prepared), started)
               for p, trajectory in zip(prepared, kept)]

    def _finish(self, p: _Prepared, kept: list[Step], sample_seconds: float, batch: int, started: float) -> Result:
        """Mel -> waveform, levelled: loudness-normalised and peak-limited to −1 dBFS (no hard clipping)."""
        r = p.request
        vocode_started = time.perf_counter()
        audio = level(self.mel_to_audio(kept[-1].x0_hat, p.num_samples, seed=r.seed, method=r.vocoder,
                                        steps=r.vocoder_steps), self.sample_rate)
        timings = {"encode": p.encode_seconds, "sample": sample_seconds,
                   "vocode": time.perf_counter() - vocode_started, "total": time.perf_counter() - started}
        notes = list(p.notes)
        if batch > 1:
            notes.append(f"Sampled in one batch with {batch - 1} other request{'s' if batch > 2 else ''} "
                         "that arrived together; the result is the same as alone.")
        conditioned = " + ".join(p.described) if p.described else "nothing (unconditional)"
        if p.start_words:
            conditioned += f", started from {p.start_words}"
        if p.timing_words:
            conditioned += f", {p.timing_words}"
        assert r.sampler is not None and r.guidance is not None
        method = (
            f"{SAMPLER_TITLES[r.sampler]}, {r.steps} steps, guidance {r.guidance:g}{self._interval_words(r.guidance)}, "
            f"seed {r.seed}; conditioned on "
            f"{conditioned}; {self.vocoder.describe(r.vocoder, r.vocoder_steps)}."  # type: ignore[arg-type]
        )
        return Result(audio, self.sample_rate, method, reverse=tuple(kept), timings=timings, notes=tuple(notes),
                      input_audio=p.reference_audio)

    def _interval_words(self, guidance: float) -> str:
        """How the preset limits guidance to an interval of t/T, for a result's method line; empty when it does not."""
        low, high = self.preset.sampler.guidance_interval
        if guidance <= 1.0 or (low, high) == (0.0, 1.0):
            return ""
        return f" for {low:g}T ≤ t ≤ {high:g}T"

    def generate_batch(self, requests: Sequence[tuple[str | None, str | None]], seeds: Sequence[int],
                       seconds: float | None = None, steps: int | None = None, guidance: float | None = None,
                       vocoder: str | None = None, progress: bool = False,
                       sampler: str | None = None) -> list[np.ndarray]:
        """Many clips in one batched reverse process: `requests` are (text, label) pairs, one seed each.

        Clip i is the same as `generate(text, label, seed=seeds[i])` would give with a deterministic
        sampler (the preset's by default), and with a stochastic one too (each row's step noise comes from its
        own seed); batching only shares the network's calls. The eval uses it.
        """
        if len(requests) != len(seeds) or not requests:
            raise ValueError("Give one seed per request, and at least one request.")
        sampler = sampler or self.preset.sampler.name
        batch = [GenerationRequest(text=text, label=label, seed=seed, seconds=seconds, steps=steps, sampler=sampler,
                                   guidance=guidance, vocoder=vocoder, keep_every=10**6, progress=progress)
                 for (text, label), seed in zip(requests, seeds)]
        results: list[Step] | list[Result] = []
        for results in self.generate_group_iter(batch):
            pass
        return [result.audio for result in results if isinstance(result, Result)]

    # ---- the forward process (the diffusion explorer) ------------------------------------------

    def diffuse(self, audio: AudioInput, timesteps: Sequence[int] = DEFAULT_FORWARD_T, schedule: str | None = None,
                domain: Domain = "mel", seed: int = 0) -> Result:
        """The forward process q(x_t | x_0) of a recording at the chosen t, in the mel or the waveform domain."""
        started = time.perf_counter()
        if domain not in ("mel", "waveform"):
            raise ValueError(f"Domain must be 'mel' or 'waveform'; got {domain!r}.")
        chosen = self.preset.schedule(schedule)
        if not timesteps:
            raise ValueError("Choose at least one timestep t to show.")
        notes: list[str] = []
        wave = load_input(audio, self.sample_rate, notes=notes)
        limit = int(self.preset.max_seconds * self.sample_rate)
        if wave.size > limit:
            notes.append(f"Showing the first {self.preset.max_seconds:g} s of {wave.size / self.sample_rate:.1f} s.")
            wave = wave[:limit]
        generator = torch.Generator().manual_seed(check_seed(seed))
        if domain == "mel":
            x0 = self.audio_to_mel(wave, self.preset.mel.frames_for(wave.size))
        else:
            x0 = torch.from_numpy(wave).reshape(1, 1, -1)
        # in the mel domain, the noise the network was trained on: frame-centred if its training was
        centred = domain == "mel" and self.preset.training.frame_centred_noise
        steps = forward_trajectory(chosen, x0, [int(t) for t in timesteps], generator, centred=centred)
        noise_words = ", frame-centred noise (as the network was trained)" if centred else ""
        method = f"Forward process q(x_t|x_0), {chosen.kind} schedule, {domain} domain{noise_words}, seed {seed}."
        return Result(wave, self.sample_rate, method, forward=tuple(steps), domain=domain, notes=tuple(notes),
                      input_audio=wave, timings={"total": time.perf_counter() - started})
