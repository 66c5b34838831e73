"""The pipeline: the one object the app and the command line hold, a thin facade over one pipeline per task.

`AudioLabPipeline` owns the preset and the device and hands each task to its own pipeline:
generation to the preset's backend (`generation/pipeline.py`), vocoding to `vocoder/pipeline.py`,
restoration to `restoration/pipeline.py` (its models load on first use), and the forward process
to the generation backend. Each task returns a `Result`; generation also streams its `Step`s.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import torch

from audiolab.core.audio import resample, to_mono
from audiolab.core.choices import DEFAULT_PRESET
from audiolab.core.diffusion import Step
from audiolab.core.result import (
    MAX_PROCESS_SECONDS,
    AudioInput,
    Domain,
    Result,
    check_length,
    check_seed,
    load_input,
)
from audiolab.generation.batching import GenerationBatcher
from audiolab.generation.pipeline import (
    DEFAULT_FORWARD_T,
    REFERENCE_MODES,
    BuiltinGenerator,
    GenerationRequest,
)
from audiolab.generation.preset import (
    GeneratorModels,
    Preset,
    load_generator,
    load_preset,
)
from audiolab.restoration.pipeline import RestorationPipeline
from audiolab.restoration.restorer import RestoreMethod
from audiolab.vocoder.pipeline import VocoderMethod, VocoderPipeline
from audiolab.vocoder.preset import Vocoder, load_vocoder, load_vocoder_preset

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from audiolab.hub.backend import HubGenerator

__all__ = ["DEFAULT_FORWARD_T", "MAX_PROCESS_SECONDS", "REFERENCE_MODES", "AudioLabPipeline", "AudioInput", "Result",
           "Step", "check_seed"]


class AudioLabPipeline:
    """Owns a preset and the device; each task goes to its own pipeline."""

    def __init__(self, preset: Preset, models: GeneratorModels, device: str = "cpu",
                 vocoder: Vocoder | None = None) -> None:
        self.preset = preset
        self.device = torch.device(device)
        self.vocoding = VocoderPipeline(preset.mel, vocoder, preset.vocoder_preset, preset.vocoder_method,
                                        preset.griffin_lim_iterations, owner=preset.name)
        self.generator = BuiltinGenerator(preset, models, self.vocoding)
        self.batcher = GenerationBatcher(self.generator)  # concurrent callers share batched reverse processes
        self.restoration = RestorationPipeline(preset.sample_rate)
        self.hub: HubGenerator | None = None  # a hub model that generates in the preset's place (`with_backend`)

    @classmethod
    def from_preset(cls, name: str | Path = DEFAULT_PRESET, device: str = "cpu") -> "AudioLabPipeline":
        preset = load_preset(name)
        vocoder = load_vocoder(load_vocoder_preset(preset.vocoder_preset)) if preset.vocoder_preset else None
        return cls(preset, load_generator(preset, device), device, vocoder)

    @classmethod
    def from_model(cls, choice: str | Path = DEFAULT_PRESET, device: str | None = None) -> "AudioLabPipeline":
        """A built-in preset (name or .toml path), or a hub id or local diffusers folder (AudioLDM 2, Stable Audio)
        that generates while the default preset keeps the vocoder, restoration and waveform tasks."""
        from audiolab.hub.models import is_hub_choice

        if not is_hub_choice(choice):
            return cls.from_preset(choice, device or "cpu")
        from audiolab.hub.backend import HubGenerator

        return cls.from_preset(DEFAULT_PRESET).with_backend(HubGenerator.load(choice, device))

    def with_backend(self, hub: "HubGenerator") -> "AudioLabPipeline":
        """This pipeline with `hub` generating (and showing the forward process) in place of the preset; the
        preset's vocoder, restoration and models stay shared, not copied."""
        twin = copy.copy(self)
        twin.hub = hub
        return twin

    @property
    def backend(self) -> Any:
        """What generates: the hub model, or the preset's `BuiltinGenerator`."""
        return self.hub if self.hub is not None else self.generator

    # ---- what the preset holds -------------------------------------------------------------------

    @property
    def models(self) -> GeneratorModels:
        return self.generator.models

    @property
    def vocoder(self) -> Vocoder | None:
        return self.vocoding.vocoder

    @property
    def mel(self) -> Any:
        return self.generator.mel

    @property
    def schedule(self) -> Any:
        return self.generator.schedule

    @property
    def labels(self) -> tuple[str, ...]:
        return self.preset.labels

    @property
    def sample_rate(self) -> int:
        return self.preset.sample_rate

    @property
    def restorer(self) -> Any:
        return self.restoration.restorer

    def load(self, source: AudioInput, what: str = "recording", notes: list[str] | None = None) -> np.ndarray:
        """Any accepted input as float32 mono at the preset's rate (clear errors otherwise); see `load_input`."""
        return load_input(source, self.sample_rate, what, notes=notes)

    def check_length(self, audio: np.ndarray, what: str) -> None:
        """Refuse recordings longer than MAX_PROCESS_SECONDS with a message that says how to fix them."""
        check_length(audio, self.sample_rate, what)

    # ---- generation ----------------------------------------------------------------------------

    def generate_iter(self, text: str | None = None, label: str | None = None, reference: AudioInput | None = None,
                      **settings: Any) -> Iterator[Step | Result]:
        """Yield kept reverse-trajectory Steps as they are sampled, then the Result.

        `settings` are the other fields of `GenerationRequest` (strength, seconds, steps, sampler, guidance,
        seed, keep_every, preview_every, progress, vocoder, vocoder_steps, reference_mode, style_weight; for a hub
        model also negative_prompt and inpaint). Calls from several threads at once are batched
        (`generation/batching.py`): each gets the result it would get alone. A hub model runs one request at a time.
        """
        request = GenerationRequest(text, label, reference, **settings)
        if self.hub is not None:
            return self.hub.generate_iter(request)
        if threading.current_thread() is threading.main_thread():
            # a script or the command line: no one to share a batch with, and torch's CPU kernels run about a
            # fifth faster on the main thread than on the batcher's worker (measured on the default preset)
            return self.generator.generate_iter(request)
        return self.batcher.generate_iter(request)

    def generation_load(self) -> int:
        """Requests the built-in generator is sampling or holding now (a hub model's own queue is Gradio's)."""
        return 0 if self.hub is not None else self.batcher.load()

    def generate(self, text: str | None = None, label: str | None = None, reference: AudioInput | None = None,
                 **settings: Any) -> Result:
        """Generate a sound; the same arguments as `generate_iter`, run to the end."""
        result: Step | Result | None = None
        for result in self.generate_iter(text, label, reference, **settings):
            pass
        assert isinstance(result, Result)
        return result

    def generate_batch(self, requests: Sequence[tuple[str | None, str | None]], seeds: Sequence[int],
                       seconds: float | None = None, steps: int | None = None, guidance: float | None = None,
                       vocoder: str | None = None, progress: bool = False,
                       sampler: str | None = None) -> list[np.ndarray]:
        """Many (text, label) requests in one batched reverse process, one seed each."""
        return self.generator.generate_batch(requests, seeds, seconds, steps, guidance, vocoder, progress, sampler)

    def frames_for(self, seconds: float) -> tuple[int, int]:
        return self.generator.frames_for(seconds)

    def audio_to_mel(self, audio: np.ndarray, frames: int) -> torch.Tensor:
        return self.generator.audio_to_mel(audio, frames)

    def mel_to_audio(self, x: torch.Tensor, num_samples: int, seed: int = 0, iterations: int | None = None,
                     method: str | None = None, steps: int | None = None) -> np.ndarray:
        return self.generator.mel_to_audio(x, num_samples, seed, iterations, method, steps)

    def result_log_mel(self, result: Result) -> torch.Tensor:
        """The natural-log mel a generation ended on; for a hub model's sound, the preset's mel of its audio."""
        if "step_audio" in result.extras:
            wave = resample(to_mono(result.audio), result.sample_rate, self.sample_rate)
            return self.mel.log_mel(wave)
        return self.generator.result_log_mel(result)

    def text_audio_space(self) -> Any:
        return self.generator.text_audio_space()

    def diffuse(self, audio: AudioInput, timesteps: Sequence[int] = DEFAULT_FORWARD_T, schedule: str | None = None,
                domain: Domain = "mel", seed: int = 0) -> Result:
        """The forward process q(x_t | x_0) of a recording (the diffusion explorer); with a hub model, in the mel
        domain, in its latent space (its own schedule: `schedule` does not apply)."""
        if self.hub is not None and domain == "mel":
            return self.hub.diffuse(audio, timesteps, seed)
        return self.generator.diffuse(audio, timesteps, schedule, domain, seed)

    # ---- vocoding ------------------------------------------------------------------------------

    def diffusion_vocoder(self) -> Vocoder:
        return self.vocoding.diffusion_vocoder()

    def check_vocoder_method(self, method: str | None) -> VocoderMethod:
        return self.vocoding.check_method(method)

    def describe_vocoder(self, method: VocoderMethod, steps: int | None = None, iterations: int | None = None) -> str:
        return self.vocoding.describe(method, steps, iterations)

    def vocode(self, audio: AudioInput, method: str | None = None, steps: int | None = None,
               iterations: int | None = None, seed: int = 0, keep_every: int = 1, progress: bool = False,
               projections: int | None = None) -> Result:
        """Resynthesise a recording through its mel; the diffusion method keeps its waveform trajectory.

        The notes say what was done to the recording to fit the preset (mixed to mono, resampled).
        """
        notes: list[str] = []
        wave = self.load(audio, notes=notes)
        self.check_length(wave, "recording")
        result = self.vocoding.vocode_mel(self.mel.log_mel(wave), wave.size, method, steps, iterations, seed,
                                          keep_every, progress, projections)
        return replace(result, input_audio=wave, notes=(*notes, *result.notes))

    def vocode_mel(self, log_mel: torch.Tensor | np.ndarray, num_samples: int | None = None, method: str | None = None,
                   steps: int | None = None, iterations: int | None = None, seed: int = 0, keep_every: int = 1,
                   progress: bool = False, projections: int | None = None) -> Result:
        """A natural-log mel (mels, frames) to a waveform (see `VocoderPipeline.vocode_mel`)."""
        return self.vocoding.vocode_mel(log_mel, num_samples, method, steps, iterations, seed, keep_every, progress,
                                        projections)

    # ---- restoration ---------------------------------------------------------------------------

    def denoise(self, audio: AudioInput, method: RestoreMethod | None = None, task: str = "denoise",
                steps: int | None = None, strength: float | None = None, guidance: float | None = None,
                seed: int = 0, cutoff_hz: float = 4000.0, progress: bool = False,
                attenuation_limit_db: float | None = None) -> Result:
        """Restore a recording: denoise, bandwidth, declip or inpaint (see `RestorationPipeline.denoise`)."""
        return self.restoration.denoise(audio, method, task, steps, strength, guidance, seed, cutoff_hz, progress,
                                        attenuation_limit_db=attenuation_limit_db)

    def restorer_reference(self, clean: AudioInput, result: Result) -> np.ndarray:
        return self.restoration.reference(clean, result)

    def mixture_figure(self, result: Result, clean: np.ndarray | None = None) -> "Figure":
        return self.restoration.mixture_figure(result, clean)

    def make_test_input(self, clean: AudioInput, task: str, seed: int = 0) -> Path:
        return self.restoration.make_test_input(clean, task, seed)

    # ---- any task's trajectory -----------------------------------------------------------------

    def step_audio(self, result: Result, index: int, which: Literal["x0_hat", "x_t"] = "x0_hat") -> np.ndarray:
        """The audio of one kept step of a result's reverse (or, failing that, forward) trajectory."""
        steps = result.reverse or result.forward
        if not 0 <= index < len(steps):
            raise ValueError(f"Step {index} does not exist; this trajectory kept {len(steps)} steps.")
        decoded = result.extras.get("step_audio")  # a hub model decoded every kept step while it sampled
        if decoded is not None:
            wave = np.asarray(decoded[index][which], dtype=np.float32)
            peak = float(np.abs(wave).max())
            return wave / peak * 0.9 if peak > 1 else wave
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
        return self.generator.display_mel(tensor, domain)
