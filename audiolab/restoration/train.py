"""Training a restoration model: `python -m audiolab train denoiser --preset NAME [--speech DIR …] [--noise DIR …]`.

Every batch is drawn fresh by `NoisySpeechStream`: clean speech (real folders plus espeak-ng
utterances) mixed with real noise (folders and chosen ESC-50 classes) or procedural noise at
−5…20 dB SNR (a share, the preset's `high_snr_share`, from there up to `high_snr_max_db`). The method
comes from the preset: DiffGMM (`audiolab.restoration.diffgmm`) or the score model
(`audiolab.restoration.score`). Every `log_every` steps the log shows the running loss and the mean SI-SDR
gain on fixed held-out mixtures (held-out speech with held-out noise); the shipped weights are an
exponential moving average, saved every `save_every` steps.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from audiolab.core.corpus import AudioSource
from audiolab.core.credits import write_credits
from audiolab.core.quality import si_sdr
from audiolab.core.training import (
    optimizer_step,
    progress_text,
    update_ema,
    warmup_cosine,
)
from audiolab.restoration.noisy_speech import (
    NoisySpeechStream,
    esc50_noise,
    held_out_source,
    speech_sources,
)
from audiolab.restoration.preset import (
    DenoiserPreset,
    build_denoiser,
    load_denoiser,
    save_denoiser,
)
from audiolab.restoration.tts import synthetic_speech

Logger = Callable[[str], None]
VALIDATION_SECONDS = 3.0
VALIDATION_SNRS_DB = (-5.0, 0.0, 5.0, 10.0)


@dataclass(frozen=True)
class DenoiserTrainReport:
    checkpoint: Path
    steps: int
    seconds: float
    final_loss: float
    validation_si_sdr_gain: float


def restore_for_validation(model: torch.nn.Module, noisy: torch.Tensor) -> torch.Tensor:
    """The default restoration of a (1, samples) batch by either kind of model."""
    with torch.no_grad():
        if hasattr(model, "iterate"):  # one frame offset: validation figures stay comparable across runs
            return list(model.iterate(noisy, shifts=1))[-1][0]
        return list(model.denoise_iter(noisy))[-1][1]


def validation_pairs(speech: Sequence[AudioSource], noise: Sequence[AudioSource], sample_rate: int,
                     seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fixed held-out mixtures: eight mixtures of held-out speech and noise, two each at −5, 0, 5 and 10 dB."""
    stream = NoisySpeechStream(speech, noise, sample_rate, procedural_share=0.0 if noise else 1.0)
    rng = np.random.default_rng(seed + 99)
    pairs = []
    for snr in VALIDATION_SNRS_DB * 2:
        stream.snr_db = (snr, snr)
        pairs.append(stream.pair(int(VALIDATION_SECONDS * sample_rate), rng))
    return pairs


@dataclass(frozen=True)
class _DenoiserInputs:
    """What a run reads: the folders, exclusions and synthetic utterances, the preset's where none were given."""

    speech: list[str | Path]
    noise: list[str | Path]
    esc50: str | Path | None
    excluded: tuple[str, ...]
    synthetic: int
    val_speech: Sequence[str | Path]
    val_noise: Sequence[str | Path]


def _held_out_noise(inputs: _DenoiserInputs, preset: DenoiserPreset) -> list[AudioSource]:
    """The validation noise: the --val-noise folders, else what the exclusions keep out of the training noise."""
    rate, excluded, esc50 = preset.sample_rate, inputs.excluded, inputs.esc50
    held_noise = [AudioSource.from_folder(folder, rate) for folder in inputs.val_noise]
    if not inputs.val_noise:  # the excluded files of the noise folders and the held-out ESC-50 fold
        held_noise = [s for s in (held_out_source(folder, rate, excluded) for folder in inputs.noise) if s is not None]
        if esc50 and excluded:
            try:
                held_noise.append(esc50_noise(esc50, preset.training.noise_classes, rate, excluded, held_out=True))
            except ValueError:
                pass
    return held_noise


def _denoiser_data(preset: DenoiserPreset, inputs: _DenoiserInputs,
                   log: Logger) -> tuple[NoisySpeechStream, list[tuple[np.ndarray, np.ndarray]]]:
    """The stream of training mixtures and the fixed held-out validation mixtures."""
    training, rate, excluded = preset.training, preset.sample_rate, inputs.excluded
    started = time.perf_counter()
    spoken = synthetic_speech(inputs.synthetic, training.seed, rate) if inputs.synthetic else []
    speech_set = speech_sources(inputs.speech, rate, excluded, spoken)
    noise_set = [AudioSource.from_folder(folder, rate, excluded) for folder in inputs.noise]
    if inputs.esc50:
        noise_set.append(esc50_noise(inputs.esc50, training.noise_classes, rate, excluded))
    stream = NoisySpeechStream(speech_set, noise_set, rate, (training.snr_low_db, training.snr_high_db),
                               procedural_share=training.procedural_share, babble_share=training.babble_share,
                               competing_share=training.competing_share,
                               competing_snr_db=(training.competing_snr_low_db, training.snr_high_db),
                               colouring_share=training.colouring_share, reverb_share=training.reverb_share,
                               clipping_share=training.clipping_share, high_snr_share=training.high_snr_share,
                               high_snr_db=(training.snr_high_db, training.high_snr_max_db),
                               distant_talker_share=training.distant_talker_share)
    for source in speech_set + noise_set:
        log(f"data: {source.name}: {len(source.clips)} clips, {source.seconds / rate / 60:.1f} min")
    held_speech = [AudioSource.from_folder(folder, rate) for folder in inputs.val_speech]
    held_noise = _held_out_noise(inputs, preset)
    val_pairs = validation_pairs(held_speech or speech_set, held_noise, rate, training.seed)
    log(f"data: excluded {', '.join(excluded) or 'nothing'}; {len(val_pairs)} validation mixtures; "
        f"ready in {time.perf_counter() - started:.0f} s")
    return stream, val_pairs


def _denoiser_model(preset: DenoiserPreset, out: Path, resume: bool, stream: NoisySpeechStream,
                    rng: np.random.Generator, log: Logger) -> tuple[torch.nn.Module, int]:
    """A fresh (score: calibrated) model, or with `resume` the one at `out`; and the steps already done."""
    previous_steps = 0
    if resume:
        if not out.is_file():
            raise ValueError(f"--resume needs an existing checkpoint at {out}; train without --resume first.")
        model = load_denoiser(preset, out, grow=True)
        previous_steps = int(model.metadata.get("steps", "0").split()[0])
        log(f"resuming from {out} after {previous_steps} steps")
        if model.grown:
            log(f"growing: the preset adds {', '.join(model.grown)}, which starts with zero output")
    else:
        model = build_denoiser(preset)
        if preset.method == "score":  # band levels of clean speech, measured once
            model.calibrate(torch.from_numpy(np.concatenate([stream.batch(16, 32000, rng)[0] for _ in range(4)])))
    return model, previous_steps


class _DenoiserTraining:
    """One run's model, optimiser and EMA, and the step, validation and checkpoint that use them."""

    def __init__(self, preset: DenoiserPreset, inputs: _DenoiserInputs, stream: NoisySpeechStream,
                 val_pairs: list[tuple[np.ndarray, np.ndarray]], generator: torch.Generator, rng: np.random.Generator,
                 steps: int, out: Path, resume: bool, log: Logger) -> None:
        training = preset.training
        self.preset, self.inputs, self.stream, self.val_pairs = preset, inputs, stream, val_pairs
        self.generator, self.rng, self.steps, self.out = generator, rng, steps, out
        self.model, self.previous_steps = _denoiser_model(preset, out, resume, stream, rng, log)
        self.model.train()
        log(f"model: {preset.method}, {sum(p.numel() for p in self.model.parameters()) / 1e6:.2f} M parameters")
        self.parameters = list(self.model.parameters())
        self.optimizer = torch.optim.AdamW(self.parameters, lr=training.learning_rate, weight_decay=0.01)
        self.lr_schedule = warmup_cosine(self.optimizer, training.warmup_steps, steps)
        self.ema = copy.deepcopy(self.model).eval()
        self.crop = int(training.crop_seconds * preset.sample_rate)
        self.noisy_si_sdr = float(np.mean([si_sdr(clean, noisy) for clean, noisy in val_pairs]))

    def validation_gain(self) -> float:
        """Mean SI-SDR gain of the EMA model's restorations of the validation mixtures over the mixtures."""
        val_pairs, ema = self.val_pairs, self.ema
        restored = [restore_for_validation(ema, torch.from_numpy(noisy)[None])[0].numpy() for _, noisy in val_pairs]
        return float(np.mean([si_sdr(clean, r) for (clean, _), r in zip(val_pairs, restored)])) - self.noisy_si_sdr

    def train_step(self, step: int) -> tuple[float, dict[str, float]]:
        """One optimiser step on a fresh batch of mixtures, then the EMA update; the loss and its parts."""
        preset, model = self.preset, self.model
        clean, noisy = (torch.from_numpy(a) for a in self.stream.batch(preset.training.batch_size, self.crop, self.rng))
        loss, parts = model.loss(clean, noisy, self.generator) if preset.method == "score" else model.loss(clean, noisy)
        optimizer_step(loss, self.optimizer, self.parameters, self.lr_schedule)
        update_ema(((self.ema, model),), step, preset.training.ema_decay)
        return loss.item(), parts

    def save(self, step: int, loss_value: float, seconds: float, gain: float | None = None) -> float:
        """Write the EMA weights with the numbers that describe them; the validation gain (measured if not given)."""
        preset = self.preset
        gain = self.validation_gain() if gain is None else gain
        save_denoiser(self.out, self.ema, {
            "preset": preset.name, "method": preset.method,
            "steps": f"{self.previous_steps + step} of {self.previous_steps + self.steps}",
            "final_loss": f"{loss_value:.5f}", "validation_si_sdr_gain_db": f"{gain:.2f}",
            "train_seconds": f"{seconds:.0f}", "settings": json.dumps(asdict(preset.settings)),
            "training": json.dumps(asdict(preset.training)), "synthetic_speech": str(self.inputs.synthetic),
        })
        return gain


def _denoiser_loop(run: _DenoiserTraining, log: Logger, log_every: int,
                   save_every: int) -> tuple[float, float | None, float]:
    """Train for `run.steps` steps, logging and saving on the way; the last loss, last validation gain and seconds."""
    steps = run.steps
    running: dict[str, tuple[float, int]] = {}
    started = time.perf_counter()
    loss_value = float("nan")
    gain = None
    for step in range(1, steps + 1):
        loss_value, parts = run.train_step(step)
        for key, value in {"loss": loss_value, **parts}.items():
            if np.isfinite(value):  # a batch without prior examples has no prior loss
                total, count = running.get(key, (0.0, 0))
                running[key] = (total + value, count + 1)
        gain = None  # the validation figure, when this step has computed it
        if step % log_every == 0 or step == steps:
            gain = run.validation_gain()
            figures = " ".join(f"{key} {total / max(count, 1):.4f}" for key, (total, count) in running.items())
            log(f"step {step}/{steps} {figures} val SI-SDR gain {gain:+.2f} dB "
                f"(noisy {run.noisy_si_sdr:.2f} dB) {progress_text(step, steps, started, run.lr_schedule)}")
            running = {}
        if step % save_every == 0 and step < steps:
            run.save(step, loss_value, time.perf_counter() - started, gain)
    return loss_value, gain, time.perf_counter() - started


def _credit_denoiser(preset: DenoiserPreset, inputs: _DenoiserInputs, out: Path, log: Logger) -> None:
    """Credit the speech and noise the checkpoint learned from, and describe the synthetic speech."""
    synthetic, esc50 = inputs.synthetic, inputs.esc50
    extra = [f"## Synthetic speech: {synthetic} utterances", "",
             "Rendered by espeak-ng (GPL-3.0 program; its output is not covered by its licence) from random "
             "sentences built from the words of the Harvard sentences (IEEE Recommended Practice for Speech "
             "Quality Measurements, 1969).", ""] if synthetic else []
    credits = write_credits(out.with_suffix(".credits.md"), f"{preset.title} ({out.name})",
                            [*inputs.speech, *inputs.noise, *([esc50] if esc50 else [])], inputs.excluded,
                            categories=preset.training.noise_classes or None, extra=extra)
    log(f"wrote {credits}")


def train_denoiser(
    preset: DenoiserPreset,
    speech: Sequence[str | Path] = (),
    noise: Sequence[str | Path] = (),
    esc50: str | Path | None = None,
    exclude: Sequence[str] = (),
    val_speech: Sequence[str | Path] = (),
    val_noise: Sequence[str | Path] = (),
    steps: int | None = None,
    components: int | None = None,
    synthetic: int | None = None,
    out: Path | None = None,
    log: Logger = print,
    log_every: int = 100,
    save_every: int = 500,
    resume: bool = False,
) -> DenoiserTrainReport:
    """Train the preset's model on freshly mixed noisy speech; save the EMA weights and a credits file."""
    training = preset.training
    steps = steps or training.steps
    if steps < 1:
        raise ValueError(f"--steps must be at least 1; got {steps}.")
    if components is not None:
        if preset.method != "diffgmm" or not 1 <= components <= 16:
            raise ValueError("--components (1 to 16) applies to DiffGMM presets only.")
        preset = replace(preset, settings=replace(preset.settings, components=components))
    inputs = _DenoiserInputs(
        speech=list(speech) or list(training.speech), noise=list(noise) or list(training.noise),
        esc50=esc50 if esc50 is not None else training.esc50, excluded=tuple(exclude) or training.exclude,
        synthetic=training.synthetic_speech if synthetic is None else synthetic,
        val_speech=val_speech, val_noise=val_noise,
    )
    out = out or preset.checkpoint
    torch.manual_seed(training.seed)
    generator = torch.Generator().manual_seed(training.seed)
    rng = np.random.default_rng(training.seed)

    # 1. data
    stream, val_pairs = _denoiser_data(preset, inputs, log)

    # 2. model, optimiser, EMA
    run = _DenoiserTraining(preset, inputs, stream, val_pairs, generator, rng, steps, out, resume, log)

    # 3. the loop
    loss_value, gain, seconds = _denoiser_loop(run, log, log_every, save_every)

    # 4. save the averaged weights, and the credits of what they learned from
    gain = run.save(steps, loss_value, seconds, gain)
    _credit_denoiser(preset, inputs, out, log)
    log(f"saved {out} ({out.stat().st_size / 1e6:.1f} MB) after {seconds / 60:.1f} min; validation SI-SDR gain {gain:+.2f} dB")
    return DenoiserTrainReport(out, steps, seconds, loss_value, gain)
