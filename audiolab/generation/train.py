"""Training loops for the built-in models: `python -m audiolab train generator --preset NAME`.

The generator is trained with the DDPM objective L_simple = E‖ε − ε_θ(√ᾱ_t x_0 + √(1−ᾱ_t) ε, c, t)‖²
(Ho et al. 2020, eq. 14), conditions dropped to a learned null for classifier-free guidance, and an
exponential moving average of the weights as the shipped model.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from audiolab.core.audio import MelTransform
from audiolab.core.credits import write_credits
from audiolab.core.diffusion import frame_centred
from audiolab.core.training import optimizer_step, run_steps, update_ema, warmup_cosine
from audiolab.generation import esc50, synth
from audiolab.generation.caption_space import training_captions
from audiolab.generation.class_prior import ClassTimings, class_prior_statistics, clip_envelope
from audiolab.generation.conditioning import ConditionEncoder, shared_text_encoder
from audiolab.generation.mel_unet import MelDenoiser, transplant_weights
from audiolab.generation.preset import (
    GeneratorModels,
    MelNormalization,
    Preset,
    build_generator,
    load_generator,
    save_generator,
)

Logger = Callable[[str], None]


@dataclass(frozen=True)
class TrainReport:
    checkpoint: Path
    steps: int
    seconds: float
    final_loss: float
    validation_loss: float


def procedural_mels(preset: Preset, clips_per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Log-mels (N, mels, frames), label indices (N,) and captions of a seeded procedural set."""
    unknown = [label for label in preset.labels if label not in synth.CLASSES]
    if unknown:
        raise ValueError(f"Preset {preset.name} has labels the procedural set lacks: {', '.join(unknown)}.")
    clips = synth.make_dataset(
        clips_per_class, seconds=preset.training.clip_seconds, sample_rate=preset.sample_rate, seed=seed,
        classes=preset.labels,
    )
    transform = MelTransform(preset.mel)
    audio = torch.from_numpy(np.stack([clip.audio for clip in clips]))
    mels = torch.cat([transform.log_mel(chunk) for chunk in audio.split(64)])
    labels = torch.tensor([preset.labels.index(clip.label) for clip in clips])
    return mels, labels, [clip.caption for clip in clips]


def esc50_mels(preset: Preset, clips: list[esc50.Clip], log: Logger = print) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-mels (N, mels, frames) of ESC-50 clips cut or padded to the training length, and their label indices."""
    unknown = sorted({clip.label for clip in clips} - set(preset.labels))
    if unknown:
        raise ValueError(f"The data has classes preset {preset.name} lacks: {', '.join(unknown)}.")
    mels = esc50.log_mels(clips, preset.mel, preset.training.clip_seconds, log)
    return mels, torch.tensor([preset.labels.index(clip.label) for clip in clips])


def active_starts(mels: torch.Tensor, frames: int, share: float = 0.5) -> list[torch.Tensor]:
    """For each clip, the crop starts whose mean log-mel energy is in the top `share` of the clip's range.

    ESC-50 clips are padded with silence when the event is short; crops of the padding would teach
    the model that "a dog barking" may be silence.
    """
    energy = mels.mean(dim=1)  # (N, frames)
    windows = energy.unfold(-1, frames, 1).mean(-1)  # (N, starts)
    low, high = windows.min(-1, keepdim=True).values, windows.max(-1, keepdim=True).values
    keep = windows >= high - share * (high - low)
    return [torch.nonzero(row).flatten() for row in keep]


def augmented_crop(mel: torch.Tensor, starts: torch.Tensor, frames: int, generator: torch.Generator,
                   band: int = 8, span: int = 0) -> torch.Tensor:
    """A crop of `frames` at one of `starts`, with SpecAugment (Park et al. 2019): one band of up to `band`
    mel bins and, when `span` > 0, one run of up to `span` frames set to the crop's floor."""
    start = int(starts[torch.randint(len(starts), (1,), generator=generator)])
    crop = mel[:, start : start + frames].clone()
    f0 = int(torch.randint(0, crop.shape[0] - band, (1,), generator=generator))
    t0 = int(torch.randint(0, crop.shape[1] - span, (1,), generator=generator)) if span else 0
    floor = crop.min()
    crop[f0 : f0 + int(torch.randint(0, band, (1,), generator=generator))] = floor
    if span:
        crop[:, t0 : t0 + int(torch.randint(0, span, (1,), generator=generator))] = floor
    return crop


def _caption_table(preset: Preset) -> tuple[torch.Tensor, torch.Tensor]:
    """Every caption of every class embedded once: (C, 384) and the class index of each row."""
    captions = training_captions(preset)
    return shared_text_encoder().encode([text for text, _ in captions]), torch.tensor([owner for _, owner in captions])


def _random_crops(mels: torch.Tensor, indices: torch.Tensor, frames: int, generator: torch.Generator,
                  starts_by_clip: list[torch.Tensor] | None = None,
                  envelopes: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Crops (batch, 1, mels, frames) of the clips at `indices`, and the same frames of their `envelopes`."""
    if starts_by_clip is None:
        starts = torch.randint(0, mels.shape[-1] - frames + 1, (len(indices),), generator=generator).tolist()
    else:
        starts = [int(starts_by_clip[i][torch.randint(len(starts_by_clip[i]), (1,), generator=generator)])
                  for i in indices.tolist()]
    crops = torch.stack([mels[i, :, s : s + frames] for i, s in zip(indices.tolist(), starts)]).unsqueeze(1)
    if envelopes is None:
        return crops, None
    return crops, torch.stack([envelopes[i, s : s + frames] for i, s in zip(indices.tolist(), starts)])


def clip_envelopes(mels: torch.Tensor) -> torch.Tensor:
    """Each whole clip's loudness curve (N, frames) (`class_prior.clip_envelope`): crops are timed relative to
    their clip's louder half, as the class timings the sampler draws from are."""
    return torch.stack([clip_envelope(mel) for mel in mels])


def training_data(preset: Preset, data: Path | None, log: Logger) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                                          torch.Tensor, list[torch.Tensor] | None,
                                                                          torch.Tensor]:
    """(mels, labels, validation mels, validation labels, crop starts, validation loudness curves) for the preset's
    kind of data; each validation curve is its whole clip's, over the frames of the validation mel."""
    settings = preset.training
    if settings.data == "procedural":
        if data is not None:
            raise ValueError(f"Preset {preset.name} trains on procedural sounds; drop --data.")
        mels, labels, _ = procedural_mels(preset, settings.clips_per_class, settings.seed)
        val_mels, val_labels, _ = procedural_mels(preset, 4, settings.seed + 10_000)
        return mels, labels, val_mels, val_labels, None, clip_envelopes(val_mels)
    if settings.data != "esc50":
        raise ValueError(f"Preset {preset.name} trains on {settings.data!r}; the built-in kinds are procedural and esc50.")
    if data is None:
        raise ValueError(f"Preset {preset.name} trains on ESC-50: pass --data DIR (a folder with meta.csv and audio/).")
    train_clips, held_out = esc50.split_by_fold(esc50.read_meta(data), settings.holdout_fold)
    log(f"ESC-50: {len(train_clips)} training clips, {len(held_out)} held out (fold {settings.holdout_fold})")
    mels, labels = esc50_mels(preset, train_clips, log)
    val_mels, val_labels = esc50_mels(preset, held_out[::4], log)  # a quarter of the fold: a cheap, fixed check
    # validation looks at each held-out clip's most active crop, as training does
    val_starts = [int(s[len(s) // 2]) for s in active_starts(val_mels, settings.crop_frames)]
    val_envelopes = clip_envelopes(val_mels)
    frames = settings.crop_frames
    val_envelopes = torch.stack([e[s : s + frames] for e, s in zip(val_envelopes, val_starts)])
    val_mels = torch.stack([m[:, s : s + frames] for m, s in zip(val_mels, val_starts)])
    return mels, labels, val_mels, val_labels, active_starts(mels, frames), val_envelopes


@dataclass(frozen=True)
class _GeneratorData:
    """Normalised training and validation mels with their labels, and each class's caption embeddings."""

    mels: torch.Tensor
    labels: torch.Tensor
    val_mels: torch.Tensor
    val_labels: torch.Tensor
    starts_by_clip: list[torch.Tensor] | None
    normalization: MelNormalization
    captions_by_label: list[torch.Tensor]
    class_spectra: torch.Tensor | None = None  # (classes, mels): the sampler's class prior (class_prior.py)
    class_timings: ClassTimings | None = None  # the training clips' loudness curves: the class prior's timing
    envelopes: torch.Tensor | None = None  # (N, frames) each normalised training clip's loudness curve
    val_envelopes: torch.Tensor | None = None  # (N_val, frames) the same for the validation mels


def _generator_data(preset: Preset, data: Path | None, log: Logger) -> _GeneratorData:
    """Load and normalise the training clips and the held-out validation set; embed the captions."""
    started = time.perf_counter()
    mels, labels, val_mels, val_labels, starts_by_clip, val_envelopes = training_data(preset, data, log)
    mean, std = float(mels.mean()), float(mels.std())
    # x̂_0 clip range: the log floor is a hard lower bound; the top gets half a standard deviation of room
    low = (math.log(preset.mel.log_floor) - mean) / std
    high = (float(mels.max()) - mean) / std + 0.5
    normalization = MelNormalization(mean, std, low, high)
    mels, val_mels = normalization.normalize(mels), normalization.normalize(val_mels)
    captions, caption_owner = _caption_table(preset)
    captions_by_label = [captions[caption_owner == i] for i in range(len(preset.labels))]
    log(f"data: {len(mels)} clips, mel {tuple(mels.shape[1:])}, mean {mean:.3f} std {std:.3f}, "
        f"x̂_0 range [{low:.2f}, {high:.2f}], {len(captions)} captions ({time.perf_counter() - started:.1f} s)")
    spectra, timings = _class_prior(preset, data, log) if preset.training.data == "esc50" else (None, None)
    envelopes = clip_envelopes(mels) if preset.model.timing else None  # of normalised mels: curves in σ units
    return _GeneratorData(mels, labels, val_mels, val_labels, starts_by_clip, normalization, captions_by_label,
                          spectra, timings, envelopes, val_envelopes / std if preset.model.timing else None)


def _class_prior(preset: Preset, data: Path | None, log: Logger) -> tuple[torch.Tensor, ClassTimings]:
    """The training folds' class spectra and loudness curves (class_prior.py), saved with the checkpoint for the
    sampler's start."""
    assert data is not None
    started = time.perf_counter()
    clips, _ = esc50.split_by_fold(esc50.read_meta(data), preset.training.holdout_fold)
    audio = [esc50.load_clip(clip.path, preset.mel.sample_rate, preset.training.clip_seconds) for clip in clips]
    labels = [preset.labels.index(clip.label) for clip in clips]
    spectra, timings = class_prior_statistics(audio, labels, len(preset.labels), MelTransform(preset.mel))
    log(f"data: class spectra and loudness curves of {len(clips)} training clips "
        f"({time.perf_counter() - started:.1f} s)")
    return spectra, timings


def _load_earlier(preset: Preset, start: Path) -> GeneratorModels:
    """A checkpoint to continue or fine-tune from: read with this preset's network or, failing that, with the
    network it differs from only in `conditioning` or in lacking `timing`, whose weights `transplant_weights`
    widens (time projections from "add" to "film", the input convolution by the timing channels)."""
    other = "add" if preset.model.conditioning == "film" else "film"
    candidates = [preset.model, replace(preset.model, conditioning=other)]
    if preset.model.timing:
        candidates += [replace(model, timing=False) for model in candidates]
    for model in candidates[:-1]:
        try:
            return load_generator(replace(preset, checkpoint=start, model=model))
        except ValueError:
            continue
    return load_generator(replace(preset, checkpoint=start, model=candidates[-1]))


def _generator_models(preset: Preset, out: Path, resume: bool, device: str, log: Logger,
                      init: Path | None = None) -> tuple[MelDenoiser, ConditionEncoder, int]:
    """Fresh networks, the weights of another checkpoint of the same network (`init`, for fine-tuning), or with
    `resume` the weights at `out`; in training mode, with the steps already done."""
    denoiser, condition = build_generator(preset)
    previous_steps = 0
    if resume and init is not None:
        raise ValueError("Use --resume (continue this preset's checkpoint) or --init (start from another), not both.")
    start = out if resume else init
    if start is not None:
        if not start.is_file():
            raise ValueError(f"No checkpoint at {start}: " + ("train without --resume first." if resume else
                                                              "give --init an existing .safetensors file."))
        earlier = _load_earlier(preset, start)
        different = (f"{start.name} holds a different network from preset {preset.name}'s [model]; --init and "
                     "--resume need the same layer sizes (only the conditioning may go from add to film, and "
                     "timing may be added)")
        mismatched = transplant_weights(denoiser, earlier.denoiser.state_dict())
        if mismatched:
            raise ValueError(f"{different}: {', '.join(mismatched[:3])} do not fit.")
        try:
            condition.load_state_dict(earlier.condition.state_dict())
        except RuntimeError as error:
            raise ValueError(f"{different}.") from error
        if resume:
            previous_steps = int(earlier.metadata.get("steps", "0").split()[0])
            log(f"resuming from {out} after {previous_steps} steps")
        else:
            log(f"starting from the weights of {start.name} ({earlier.metadata.get('steps', '?')} steps of "
                f"{earlier.metadata.get('preset', 'another preset')})")
    denoiser.to(device).train()
    condition.to(device).train()
    return denoiser, condition, previous_steps


class _GeneratorTraining:
    """One run's models, optimiser and EMA, and the loss, validation and checkpoint that use them."""

    def __init__(self, preset: Preset, data: _GeneratorData, generator: torch.Generator, steps: int, out: Path,
                 resume: bool, device: str, log: Logger, init: Path | None = None) -> None:
        self.preset, self.settings, self.data = preset, preset.training, data
        self.generator, self.steps, self.out = generator, steps, out
        self.denoiser, self.condition, self.previous_steps = _generator_models(preset, out, resume, device, log, init)
        self.init = init
        self.parameters = list(self.denoiser.parameters()) + list(self.condition.parameters())
        log(f"model: {sum(p.numel() for p in self.parameters) / 1e6:.2f} M parameters")
        self.optimizer = torch.optim.AdamW(self.parameters, lr=self.settings.learning_rate, weight_decay=0.01)
        self.lr_schedule = warmup_cosine(self.optimizer, self.settings.warmup_steps, steps)
        self.ema_denoiser = copy.deepcopy(self.denoiser).eval()
        self.ema_condition = copy.deepcopy(self.condition).eval()
        self.schedule = preset.schedule()

    def condition_batch(self, model_condition: ConditionEncoder, batch_labels: torch.Tensor) -> torch.Tensor:
        """Each example conditioned on its label, a random caption of its class, or the null."""
        generator, captions_by_label = self.generator, self.data.captions_by_label
        batch = len(batch_labels)
        draw = torch.rand(batch, generator=generator)
        by_label = model_condition.from_labels(batch_labels)
        caption_rows = torch.stack(
            [captions_by_label[l][torch.randint(len(captions_by_label[l]), (1,), generator=generator)][0]
             for l in batch_labels.tolist()]
        )
        by_text = model_condition.from_text(caption_rows)
        null = model_condition.unconditional(batch)
        use_null = (draw < self.settings.p_uncond).unsqueeze(1)
        use_text = (torch.rand(batch, generator=generator) < self.settings.p_text).unsqueeze(1)
        return torch.where(use_null, null, torch.where(use_text, by_text, by_label))

    def diffusion_loss(self, model: MelDenoiser, model_condition: ConditionEncoder, x0: torch.Tensor,
                       batch_labels: torch.Tensor, g: torch.Generator,
                       timing: torch.Tensor | None = None) -> torch.Tensor:
        """L_simple on `x0` for the schedule's prediction (ε or v), Min-SNR-γ weighted when the preset asks:
        t and ε from `g`, the conditioning draws from the run's generator. `timing` (batch, frames) is each
        crop's loudness curve, for a network that reads one; NaN rows have none."""
        t = torch.randint(0, self.schedule.num_train_timesteps, (len(x0),), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        if self.settings.frame_centred_noise:
            noise = frame_centred(noise)
        x_t = self.schedule.add_noise(x0, t, noise)
        output = model(x_t, t.float(), self.condition_batch(model_condition, batch_labels), timing)
        target = self.schedule.training_target(x0, noise, t)
        if self.settings.min_snr_gamma <= 0:
            return F.mse_loss(output, target)
        per_example = ((output - target) ** 2).flatten(1).mean(dim=1)
        return (self.schedule.loss_weights(t, self.settings.min_snr_gamma) * per_example).mean()

    def validation_loss(self) -> float:
        """The EMA models' loss on the validation mels."""
        g = torch.Generator().manual_seed(1234)  # same t and ε every time: comparable across the run
        with torch.no_grad():
            x0 = self.data.val_mels[:, :, : self.settings.crop_frames].unsqueeze(1)
            timing = None  # every validation crop is shown its curve: the loss of a timed sample
            if self.data.val_envelopes is not None:
                timing = self.data.val_envelopes[:, : self.settings.crop_frames]
            return float(self.diffusion_loss(self.ema_denoiser, self.ema_condition, x0, self.data.val_labels, g,
                                             timing))

    def train_step(self, step: int) -> float:
        """One optimiser step on a random batch of crops, then the EMA update; the batch loss."""
        settings, data, generator = self.settings, self.data, self.generator
        indices = torch.randint(0, len(data.mels), (settings.batch_size,), generator=generator)
        x0, timing = _random_crops(data.mels, indices, settings.crop_frames, generator, data.starts_by_clip,
                                   data.envelopes)
        if timing is not None:  # some crops without their curve, so that the network also samples untimed
            dropped = torch.rand(len(timing), generator=generator) < settings.p_timing_drop
            timing = torch.where(dropped[:, None], torch.full_like(timing, math.nan), timing)
        loss = self.diffusion_loss(self.denoiser, self.condition, x0, data.labels[indices], generator, timing)
        optimizer_step(loss, self.optimizer, self.parameters, self.lr_schedule)
        update_ema(((self.ema_denoiser, self.denoiser), (self.ema_condition, self.condition)), step,
                   settings.ema_decay)
        return loss.item()

    def validation_text(self) -> str:
        return f"val {self.validation_loss():.4f}"

    def save(self, step: int, loss_value: float, seconds: float) -> float:
        """Write the EMA weights with the numbers that describe them; the validation loss."""
        val = self.validation_loss()
        metadata = {
            "preset": self.preset.name,
            "steps": f"{self.previous_steps + step} of {self.previous_steps + self.steps}",
            "final_loss": f"{loss_value:.5f}",
            "validation_loss": f"{val:.5f}",
            "train_seconds": f"{seconds:.0f}",
            "training": json.dumps(asdict(self.settings)),
        }
        if self.init is not None:
            metadata["initialised_from"] = self.init.name
        save_generator(self.out, GeneratorModels(copy.deepcopy(self.ema_denoiser).cpu(),
                                                 copy.deepcopy(self.ema_condition).cpu(),
                                                 self.data.normalization, metadata, self.data.class_spectra,
                                                 self.data.class_timings))
        return val


def _credit_esc50(preset: Preset, out: Path, data: Path, log: Logger) -> None:
    """Credit every ESC-50 clip read (training folds and the validation fold) beside the checkpoint."""
    audio_dir = data / "audio" if (data / "audio").is_dir() else data
    credits = write_credits(out.with_suffix(".credits.md"), f"{preset.title} ({out.name})", [audio_dir],
                            note="This checkpoint was trained on the ESC-50 clips below (the held-out fold only "
                                 "for its validation loss).")
    log(f"wrote {credits}")


def train_generator(
    preset: Preset,
    steps: int | None = None,
    out: Path | None = None,
    log: Logger = print,
    log_every: int = 100,
    save_every: int = 500,
    device: str = "cpu",
    resume: bool = False,
    data: Path | None = None,
    init: Path | None = None,
) -> TrainReport:
    """Train the preset's mel denoiser and condition encoder on its procedural data; save EMA weights.

    With `resume`, training starts from the weights already at `out` (a warm restart of the
    learning-rate schedule, as in SGDR, Loshchilov & Hutter 2017) and the step counts add up.
    With `init`, it starts from another checkpoint of the same network, e.g. an ε-prediction model
    fine-tuned to v-prediction, as Lin et al. (2024) do; the step count starts at 0.
    """
    settings = preset.training
    steps = steps or settings.steps
    if steps < 1:
        raise ValueError(f"--steps must be at least 1; got {steps}.")
    if settings.crop_frames % preset.model.frame_multiple:
        raise ValueError(f"training.crop_frames must divide by {preset.model.frame_multiple}.")
    out = out or preset.checkpoint
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)

    # 1. data: training clips, and a held-out validation set drawn from other seeds
    training = _generator_data(preset, data, log)

    # 2. models, optimiser, EMA
    run = _GeneratorTraining(preset, training, generator, steps, out, resume, device, log, init)

    # 3. the loop
    loss_value, seconds = run_steps(run, log, log_every, save_every)

    # 4. save the averaged weights with the numbers that describe them
    val = run.save(steps, loss_value, seconds)
    log(f"saved {out} ({out.stat().st_size / 1e6:.1f} MB) after {seconds / 60:.1f} min; validation loss {val:.4f}")
    if data is not None:  # every clip read (training folds and the validation fold) is credited
        _credit_esc50(preset, out, data, log)
    return TrainReport(out, steps, seconds, loss_value, val)
