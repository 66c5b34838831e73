"""A pretrained diffusers pipeline behind the `GenerationBackend` interface, with the same trajectory views.

`HubGenerator.generate_iter(request)` yields `Step`s while it samples and then a `Result`, exactly as the built-in
presets' `BuiltinGenerator` does, so the tabs, the command line and the plots never ask which one they hold:

    1. check the request against the model (durations, guidance, what it can be conditioned on)
    2. encode the prompt with the pipeline's own `encode_prompt`; a reference is encoded by its VAE
    3. the reverse process over the checkpoint's own scheduler (`sampling.reverse_process`), every k-th step
       decoded: VAE (and, for AudioLDM 2, HiFi-GAN) for x_t and x̂_0 together, shown as spectrograms
    4. the final latents decoded and levelled, as every generated sound in audiolab is

A kept Step holds display spectrograms (normalised log-mels); the audio of each is in `Result.extras["step_audio"]`
(what `AudioLabPipeline.step_audio` plays) and the latents themselves in `Result.extras["latents"]`.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from audiolab.core.audio import level, normalize_loudness
from audiolab.core.diffusion import (
    SAMPLER_TITLES,
    SAMPLERS,
    Step,
    check_guidance,
    check_steps,
    make_scheduler,
)
from audiolab.core.result import AudioInput, Result, check_seed, load_input
from audiolab.generation.conditioning import check_prompt
from audiolab.generation.pipeline import MIN_SECONDS, REFERENCE_DBFS, GenerationRequest
from audiolab.hub.family import LatentModel
from audiolab.hub.loading import LoadedModel, load_model
from audiolab.hub.sampling import LatentStep, Start, is_flow_matching, reverse_process

KEPT_STEPS = 6  # about this many kept (decoded) steps by default: a decode costs about as much as a model step
MAX_RUN_ENV = "AUDIOLAB_MAX_RUN_SECONDS"  # a server's limit on one hub generation (CPU-basic Spaces: set it)
HUB_REFERENCE_MODES = ("variation", "inpaint")
StepAudio = dict[str, np.ndarray]  # {"x_t": waveform, "x0_hat": waveform}, (samples,) or (samples, channels)


def latent_model(loaded: LoadedModel) -> LatentModel:
    """The `LatentModel` for a loaded pipeline's family."""
    if loaded.family == "audioldm2":
        from audiolab.hub.audioldm2 import AudioLDM2Model

        return AudioLDM2Model(loaded)
    if loaded.family == "stable_audio":
        from audiolab.hub.stable_audio import StableAudioModel

        return StableAudioModel(loaded)
    from audiolab.hub.stable_audio_3 import StableAudio3Model

    return StableAudio3Model(loaded)


def describe_duration(seconds: float) -> str:
    """A duration as people say it: "40 s", "3 min 20 s", "1 h 5 min"."""
    seconds = max(0.0, float(seconds))
    if seconds < 60:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    minutes = round(seconds / 60 * 6) / 6 if seconds < 600 else round(seconds / 60)
    if minutes < 60:
        whole = int(minutes)
        rest = round((minutes - whole) * 60)
        return f"{whole} min {rest} s" if rest else f"{whole} min"
    return f"{int(minutes // 60)} h {int(minutes % 60)} min"


def _as_output(wave: torch.Tensor) -> np.ndarray:
    """(channels, samples) -> what a Result holds: (samples,) for mono, (samples, channels) for stereo."""
    array = wave.detach().cpu().float().numpy()
    return array[0] if array.shape[0] == 1 else np.ascontiguousarray(array.T)


class HubGenerator:
    """A hub model (AudioLDM 2, Stable Audio Open, Stable Audio 3) as a generation backend."""

    def __init__(self, model: LatentModel) -> None:
        self.model = model
        self.seconds_per_call: dict[int, float] = {}  # latent elements -> measured seconds of one guided model call
        # One generation at a time: a large model's activations are the memory problem, and two runs sharing a CPU
        # each take twice as long.
        self._running = threading.Lock()

    @classmethod
    def load(cls, id_or_folder: str | Path, device: str | None = None) -> "HubGenerator":
        """Load a hub id or a local diffusers folder (see `loading.load_model`)."""
        return cls(latent_model(load_model(id_or_folder, device)))

    @property
    def name(self) -> str:
        return self.model.loaded.name

    @property
    def sample_rate(self) -> int:
        return self.model.sample_rate

    @property
    def labels(self) -> tuple[str, ...]:
        return ()  # hub models are conditioned on text, not on a list of classes

    @property
    def max_seconds(self) -> float:
        return self.model.max_seconds

    # ---- checking a request ----------------------------------------------------------------------

    def check_request(self, request: GenerationRequest) -> GenerationRequest:
        """The request with the model's defaults filled in and everything checked, before any work is done."""
        r, model = request, self.model
        if r.label is not None and str(r.label).strip():
            raise ValueError(f"{self.name} is conditioned on text, not on a class label: describe the sound in "
                             "the prompt (the Text or Reference tab), or choose a built-in preset for classes.")
        if r.reference is not None and r.reference_mode not in HUB_REFERENCE_MODES:
            raise ValueError(f"{self.name} uses a reference as a variation (SDEdit) or to inpaint a span; style "
                             "transfer needs a built-in preset's audio encoder.")
        text = check_prompt(r.text or "")
        seconds = float(min(model.default_seconds, model.max_seconds) if r.seconds is None else r.seconds)
        shortest = min(MIN_SECONDS, model.max_seconds)
        if not math.isfinite(seconds) or not shortest <= seconds <= model.max_seconds:
            raise ValueError(f"{self.name} makes from {shortest:g} to {model.max_seconds:g} s; got {seconds:g}.")
        steps = check_steps(model.default_steps if r.steps is None else r.steps)
        guidance = check_guidance(model.default_guidance if r.guidance is None else r.guidance)
        sampler = None if r.sampler is None else str(r.sampler).lower()
        if sampler is not None and sampler not in SAMPLERS:
            raise ValueError(f"Unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}.")
        if not 0.0 <= float(r.strength) <= 1.0:
            raise ValueError(f"The strength must be between 0 and 1; got {r.strength}.")
        inpaint = None
        if r.reference_mode == "inpaint" or r.inpaint is not None:
            if r.reference is None or r.inpaint is None:
                raise ValueError("Inpainting needs a reference recording and the span to regenerate (start, end) "
                                 "in seconds.")
            start, end = (float(v) for v in r.inpaint)
            if not 0.0 <= start < end <= seconds:
                raise ValueError(f"The span to inpaint must lie within the {seconds:g} s output, start before end; "
                                 f"got {start:g}–{end:g} s.")
            inpaint = (start, end)
        keep_every = r.keep_every if r.keep_every is not None else max(1, round(steps / KEPT_STEPS))
        if keep_every < 1:
            raise ValueError(f"keep_every must be at least 1; got {keep_every}.")
        return replace(r, text=text, seconds=seconds, steps=steps, guidance=guidance, sampler=sampler,
                       seed=check_seed(r.seed), strength=float(r.strength), keep_every=keep_every, inpaint=inpaint,
                       reference_mode="inpaint" if inpaint else r.reference_mode,
                       negative_prompt=(r.negative_prompt or "").strip() or None)

    def batch_key(self, request: GenerationRequest) -> tuple[object, ...]:
        """Hub requests never share a batch: each runs alone (a large model's batch is its own memory problem)."""
        return (id(request),)

    # ---- generation ------------------------------------------------------------------------------

    def generate_iter(self, request: GenerationRequest,
                      stop: Callable[[], bool] | None = None) -> Iterator[Step | Result]:
        """Yield kept reverse-trajectory Steps as they are sampled, then the Result. On a ZeroGPU Space the work
        runs inside `spaces.GPU` with a duration that follows the steps and the length (`hub/spaces.py`)."""
        from audiolab.hub.spaces import run_on_gpu

        checked = self.check_request(request)  # 0. bad input fails before any model work
        with self._running:
            self.check_time(checked)
            yield from run_on_gpu(self, checked, stop)

    def check_time(self, request: GenerationRequest) -> None:
        """Refuse a run the server's limit (AUDIOLAB_MAX_RUN_SECONDS) says is too long, with the measured estimate."""
        limit = os.environ.get(MAX_RUN_ENV, "").strip()
        if not limit:
            return
        estimate = self.estimate_seconds(request)
        if estimate is not None and estimate > float(limit):
            raise ValueError(f"{self.name} would take about {describe_duration(estimate)} for {request.steps} steps "
                             f"of {request.seconds:g} s on this {self.model.device.type.upper()} (measured), over "
                             f"this server's limit of {describe_duration(float(limit))}: use fewer steps or a "
                             "shorter sound.")

    def _scheduler(self, sampler: str | None, notes: list[str]) -> Any:
        """The checkpoint's scheduler, or one of audiolab's samplers on the same training schedule where the
        checkpoint's schedule is discrete (AudioLDM 2's DDIM); σ- and flow-based checkpoints keep their own."""
        scheduler = self.model.scheduler()
        if sampler is None:
            return scheduler
        if not hasattr(scheduler, "alphas_cumprod") or is_flow_matching(scheduler):
            notes.append(f"{self.name} samples with its own {type(scheduler).__name__}; the {sampler} sampler "
                         "choice was not used.")
            return scheduler
        return make_scheduler(sampler, _ScheduleView(scheduler))  # type: ignore[arg-type]

    def _reference(self, request: GenerationRequest, num_samples: int, notes: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The reference at the model's rate, levelled like the built-in presets' references and cut or looped to
        the output's length: (mono for the Result, (channels, samples) for the VAE)."""
        assert request.reference is not None
        audio = normalize_loudness(load_input(request.reference, self.sample_rate, "reference recording", notes=notes),
                                   REFERENCE_DBFS)
        if audio.size > num_samples:
            notes.append(f"Used the first {num_samples / self.sample_rate:g} s of the "
                         f"{audio.size / self.sample_rate:.1f} s reference.")
        elif audio.size < num_samples:
            notes.append(f"The {audio.size / self.sample_rate:.1f} s reference was looped to "
                         f"{num_samples / self.sample_rate:g} s.")
            audio = np.tile(audio, math.ceil(num_samples / audio.size))
        audio = audio[:num_samples]
        return audio, np.repeat(audio[None], self.model.channels, axis=0)

    def sample_iter(self, request: GenerationRequest,
                    stop: Callable[[], bool] | None = None) -> Iterator[Step | Result]:
        """The work behind `generate_iter` for a checked request (what runs on the GPU on a ZeroGPU Space)."""
        started = time.perf_counter()
        r, model = request, self.model
        assert r.seconds is not None and r.steps is not None and r.guidance is not None and r.text is not None
        notes: list[str] = []
        num_samples = round(r.seconds * self.sample_rate)
        shape = model.latent_shape(r.seconds)
        scheduler = self._scheduler(r.sampler, notes)
        if r.guidance != model.default_guidance and not model.uses_guidance:
            notes.append(f"{self.name} is distilled with guidance in its weights; the guidance scale was not used.")

        # 1. the reference: SDEdit's start, or the kept part of an inpainting
        reference_audio, reference_latents, keep = None, None, None
        if r.reference is not None:
            reference_audio, channels = self._reference(r, num_samples, notes)
            reference_latents = model.encode_audio(channels, shape).to(model.device)
            if r.inpaint is not None:
                keep = self._keep_mask(shape, r.seconds, r.inpaint)

        # 2. the prompt, with the pipeline's own encoder
        with torch.no_grad():
            cond = model.encode_prompt(r.text, r.negative_prompt, r.guidance, r.seconds)
        blend = keep is not None and not model.inpaint_condition(cond, reference_latents, keep)  # type: ignore[arg-type]
        encoded = time.perf_counter()

        # 3. the starting point: noise from the seed (drawn on the CPU: the same on every device)
        generator = torch.Generator().manual_seed(r.seed)
        noise = torch.randn(shape, generator=generator).to(model.device)
        variation = reference_latents is not None and keep is None
        start = model.start(scheduler, r.steps, noise, reference_latents if variation else None,
                            r.strength if variation else 1.0)
        if start is None:  # strength 0: the reference's own latents, decoded
            start = Start(torch.zeros(0), reference_latents)  # type: ignore[arg-type]
        after_step = self._blend(scheduler, start, reference_latents, noise, keep) if blend else None

        # 4. the reverse process, every kept step decoded for the views and the step player
        kept: list[Step] = []
        step_audio: list[StepAudio] = []
        latents: list[tuple[torch.Tensor, torch.Tensor]] = []
        final_wave: torch.Tensor | None = None
        calls = time.perf_counter()

        def timed_output(x_in: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            nonlocal calls
            calls = time.perf_counter()
            output = model.model_output(x_in, t, cond)
            self.seconds_per_call[math.prod(shape)] = time.perf_counter() - calls
            return output

        for point in reverse_process(timed_output, scheduler, start, r.keep_every or 1, generator, after_step, stop):
            step, audio, final = self._decoded_step(point, num_samples)
            kept.append(step)
            step_audio.append(audio)
            latents.append((point.x_t.cpu(), point.x0_hat.cpu()))
            final_wave = final
            yield step
        if stop is not None and stop():
            return
        sampled = time.perf_counter()

        # 5. the sound: levelled (loudness-normalised, peak-limited) as every generated sound in audiolab is
        assert final_wave is not None
        audio = _as_output(torch.from_numpy(level(final_wave.numpy(), self.sample_rate)))
        timings = {"encode": encoded - started, "sample": sampled - encoded, "total": time.perf_counter() - started}
        result = Result(audio, self.sample_rate, self._method(r, scheduler), reverse=tuple(kept), timings=timings,
                        notes=tuple(notes), input_audio=reference_audio,
                        extras={"step_audio": tuple(step_audio), "latents": tuple(latents), "model": self.name,
                                "channels": model.channels})
        yield result

    def _decoded_step(self, point: LatentStep, num_samples: int) -> tuple[Step, StepAudio, torch.Tensor]:
        """A latent step decoded: x_t and x̂_0 through the VAE (and vocoder) as one batch of two."""
        last = point.x_t is point.x0_hat
        waves, images = self.model.decode(point.x_t if last else torch.cat([point.x_t, point.x0_hat]), num_samples)
        x0_index = 0 if last else 1
        step = Step(point.index, point.total, self.model.display_t(point.t), point.snr_db, images[0:1],
                    images[0:1] if last else images[x0_index : x0_index + 1])
        audio = {"x_t": _as_output(waves[0]), "x0_hat": _as_output(waves[x0_index])}
        return step, audio, waves[x0_index]

    def _keep_mask(self, shape: tuple[int, ...], seconds: float, span: tuple[float, float]) -> torch.Tensor:
        """1 along latent time where the reference is kept, 0 over the span to regenerate."""
        rate = self.model.latent_frames_per_second(shape, seconds)
        keep = torch.ones(shape[2], device=self.model.device)
        keep[math.floor(span[0] * rate) : math.ceil(span[1] * rate)] = 0.0
        return keep

    def _blend(self, scheduler: Any, start: Start, reference: torch.Tensor | None, noise: torch.Tensor,
               keep: torch.Tensor | None) -> Callable[[torch.Tensor, int], torch.Tensor]:
        """Blended latent inpainting (Avrahami et al. 2023): after each step the kept region is replaced by the
        reference noised to the next step's level, so only the span is generated, in keeping with its edges."""
        assert reference is not None and keep is not None
        shape = [1] * reference.dim()
        shape[2] = keep.numel()
        mask = keep.reshape(shape)
        timesteps = start.timesteps

        def after_step(x: torch.Tensor, index: int) -> torch.Tensor:
            if index + 1 >= len(timesteps):
                known = reference
            elif is_flow_matching(scheduler):
                known = scheduler.scale_noise(reference, timesteps[index + 1 : index + 2], noise)
            else:
                known = scheduler.add_noise(reference, noise, timesteps[index + 1 : index + 2])
            return mask * known + (1 - mask) * x

        return after_step

    def _method(self, r: GenerationRequest, scheduler: Any) -> str:
        """What the Result's summary says was done."""
        sampler = SAMPLER_TITLES.get(r.sampler or "", None) if r.sampler and hasattr(scheduler, "alphas_cumprod") \
            and not is_flow_matching(scheduler) else None
        sampling = sampler or self.model.describe_scheduler(scheduler)
        guidance = f"guidance {r.guidance:g}" if self.model.uses_guidance else "guidance distilled into the weights"
        conditioned = [f"text '{r.text}'"]
        if r.negative_prompt:
            conditioned.append(f"negative prompt '{r.negative_prompt}'")
        if r.reference is not None and r.inpaint is not None:
            conditioned.append(f"the reference, {r.inpaint[0]:g}–{r.inpaint[1]:g} s inpainted")
        elif r.reference is not None:
            conditioned.append(f"reference at strength {r.strength:.2f} (SDEdit)")
        return (f"{self.model.title} ({self.name}), {sampling}, {r.steps} steps, {guidance}, seed {r.seed}; "
                f"conditioned on {' + '.join(conditioned)}; decoded by its VAE"
                f"{' and HiFi-GAN' if self.model.loaded.family == 'audioldm2' else ''}.")

    # ---- time ------------------------------------------------------------------------------------

    def calibrate(self, seconds: float, guidance: float) -> float:
        """Time one model call at this length on this machine (one step's worth of work, done once)."""
        shape = self.model.latent_shape(seconds)
        size = math.prod(shape)
        if size not in self.seconds_per_call:
            scheduler = self.model.scheduler()
            scheduler.set_timesteps(2)
            with torch.no_grad():
                cond = self.model.encode_prompt("", None, guidance, seconds)
                x = torch.zeros(shape, device=self.model.device)
                began = time.perf_counter()
                self.model.model_output(x, scheduler.timesteps[0], cond)
                self.seconds_per_call[size] = time.perf_counter() - began
        return self.seconds_per_call[size]

    def estimate_seconds(self, request: GenerationRequest, measure: bool = True) -> float | None:
        """How long a request will take here: model calls × the measured time of one (scaled by latent size),
        plus a decode per kept step (about a call each). None when nothing has been measured and `measure` is off."""
        r = self.check_request(request)
        assert r.seconds is not None and r.steps is not None and r.guidance is not None
        size = math.prod(self.model.latent_shape(r.seconds))
        if size not in self.seconds_per_call and measure:
            self.calibrate(r.seconds, r.guidance)
        if not self.seconds_per_call:
            return None
        measured_size, per_call = min(self.seconds_per_call.items(), key=lambda item: abs(item[0] - size))
        per_call *= size / measured_size
        order = int(getattr(self.model.pipe.scheduler, "order", 1))
        run = r.steps if r.reference is None or r.inpaint is not None else max(1, round(r.steps * r.strength))
        kept = run // (r.keep_every or 1) + 2
        return per_call * (run * order + kept)

    # ---- the forward process (the diffusion explorer) --------------------------------------------

    def diffuse(self, audio: AudioInput, timesteps: Sequence[int], seed: int = 0) -> Result:
        """The forward process in the model's latent space: encode the recording, noise it to each t with the
        model's own parameterisation (one shared ε), decode every x_t (Rombach et al. 2022's latent diffusion)."""
        started = time.perf_counter()
        if not timesteps:
            raise ValueError("Choose at least one timestep t to show.")
        if any(not 0 <= int(t) <= 999 for t in timesteps):
            raise ValueError("Timesteps must lie in [0, 999].")
        notes: list[str] = []
        wave = load_input(audio, self.sample_rate, notes=notes)
        limit = int(min(self.model.max_seconds, 30.0) * self.sample_rate)
        if wave.size > limit:
            notes.append(f"Showing the first {limit / self.sample_rate:g} s of {wave.size / self.sample_rate:.1f} s.")
            wave = wave[:limit]
        seconds = max(wave.size / self.sample_rate, min(MIN_SECONDS, self.model.max_seconds))
        shape = self.model.latent_shape(seconds)
        x0 = self.model.encode_audio(np.repeat(wave[None], self.model.channels, axis=0), shape).to(self.model.device)
        noise = torch.randn(shape, generator=torch.Generator().manual_seed(check_seed(seed))).to(self.model.device)
        scheduler = self.model.scheduler()
        clean_wave, clean_image = self.model.decode(x0, wave.size)
        points: list[Step] = []
        step_audio: list[StepAudio] = []
        ordered = sorted(int(t) for t in timesteps)
        for index, t in enumerate(ordered):
            x_t, label_t, snr = self.model.forward_noise(scheduler, x0, noise, t)
            noisy_wave, image = self.model.decode(x_t, wave.size)
            points.append(Step(index, len(ordered), label_t, snr, image, clean_image))
            step_audio.append({"x_t": _as_output(noisy_wave[0]), "x0_hat": _as_output(clean_wave[0])})
        method = (f"Forward process q(x_t|x_0) in {self.model.title}'s latent space ({self.name}): the recording "
                  f"encoded by its VAE, noised with its own schedule, each x_t decoded; seed {seed}.")
        return Result(wave, self.sample_rate, method, forward=tuple(points), notes=tuple(notes), input_audio=wave,
                      timings={"total": time.perf_counter() - started},
                      extras={"step_audio": tuple(step_audio), "model": self.name})


class _ScheduleView:
    """Enough of `core.diffusion.Schedule` for `make_scheduler`: the checkpoint's own training schedule."""

    def __init__(self, scheduler: Any) -> None:
        self._config = _training_schedule(scheduler)

    def scheduler_config(self) -> dict[str, object]:
        return dict(self._config)


def _training_schedule(scheduler: Any) -> dict[str, object]:
    """The training-schedule settings a discrete scheduler's config carries (β range and shape, prediction)."""
    config = scheduler.config
    keys = ("num_train_timesteps", "beta_start", "beta_end", "beta_schedule", "trained_betas", "prediction_type",
            "steps_offset")
    return {key: config[key] for key in keys if key in config}
