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

from audiolab.audio import MelTransform
from audiolab.checkpoints import GeneratorModels, MelNormalization, build_generator, load_generator, save_generator
from audiolab.conditioning import shared_text_encoder
from audiolab.data import synth
from audiolab.diffusion import Schedule
from audiolab.presets import Preset
from audiolab.training_loop import optimizer_step, progress_text, update_ema, warmup_cosine

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


def _caption_table(preset: Preset) -> tuple[torch.Tensor, torch.Tensor]:
    """Every caption of every class embedded once: (C, 384) and the class index of each row."""
    texts: list[str] = []
    owners: list[int] = []
    for index, label in enumerate(preset.labels):
        for caption in synth.CAPTIONS[label]:
            texts.append(caption)
            owners.append(index)
    return shared_text_encoder().encode(texts), torch.tensor(owners)


def _random_crops(mels: torch.Tensor, indices: torch.Tensor, frames: int, generator: torch.Generator) -> torch.Tensor:
    starts = torch.randint(0, mels.shape[-1] - frames + 1, (len(indices),), generator=generator)
    return torch.stack([mels[i, :, s : s + frames] for i, s in zip(indices.tolist(), starts.tolist())]).unsqueeze(1)


def train_generator(
    preset: Preset,
    steps: int | None = None,
    out: Path | None = None,
    log: Logger = print,
    log_every: int = 100,
    save_every: int = 500,
    device: str = "cpu",
    resume: bool = False,
) -> TrainReport:
    """Train the preset's mel denoiser and condition encoder on its procedural data; save EMA weights.

    With `resume`, training starts from the weights already at `out` (a warm restart of the
    learning-rate schedule, as in SGDR, Loshchilov & Hutter 2017) and the step counts add up.
    """
    settings = preset.training
    steps = steps or settings.steps
    if steps < 1:
        raise ValueError(f"--steps must be at least 1; got {steps}.")
    if settings.data != "procedural":
        raise ValueError(f"Preset {preset.name} trains on {settings.data!r}; only 'procedural' data is built in here.")
    if settings.crop_frames % preset.model.frame_multiple:
        raise ValueError(f"training.crop_frames must divide by {preset.model.frame_multiple}.")
    out = out or preset.checkpoint
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)

    # 1. data: training clips, and a held-out validation set drawn from other seeds
    started = time.perf_counter()
    mels, labels, _ = procedural_mels(preset, settings.clips_per_class, settings.seed)
    val_mels, val_labels, _ = procedural_mels(preset, 4, settings.seed + 10_000)
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

    # 2. models, optimiser, EMA
    denoiser, condition = build_generator(preset)
    previous_steps = 0
    if resume:
        if not out.is_file():
            raise ValueError(f"--resume needs an existing checkpoint at {out}; train without --resume first.")
        earlier = load_generator(replace(preset, checkpoint=out))
        denoiser.load_state_dict(earlier.denoiser.state_dict())
        condition.load_state_dict(earlier.condition.state_dict())
        previous_steps = int(earlier.metadata.get("steps", "0").split()[0])
        log(f"resuming from {out} after {previous_steps} steps")
    denoiser.to(device).train()
    condition.to(device).train()
    parameters = list(denoiser.parameters()) + list(condition.parameters())
    log(f"model: {sum(p.numel() for p in parameters) / 1e6:.2f} M parameters")
    optimizer = torch.optim.AdamW(parameters, lr=settings.learning_rate, weight_decay=0.01)
    lr_schedule = warmup_cosine(optimizer, settings.warmup_steps, steps)
    ema_denoiser, ema_condition = copy.deepcopy(denoiser).eval(), copy.deepcopy(condition).eval()
    schedule = Schedule(preset.schedule_kind, preset.num_train_timesteps)

    def condition_batch(model_condition: torch.nn.Module, batch_labels: torch.Tensor) -> torch.Tensor:
        """Each example conditioned on its label, a random caption of its class, or the null."""
        batch = len(batch_labels)
        draw = torch.rand(batch, generator=generator)
        by_label = model_condition.from_labels(batch_labels)
        caption_rows = torch.stack(
            [captions_by_label[l][torch.randint(len(captions_by_label[l]), (1,), generator=generator)][0]
             for l in batch_labels.tolist()]
        )
        by_text = model_condition.from_text(caption_rows)
        null = model_condition.unconditional(batch)
        use_null = (draw < settings.p_uncond).unsqueeze(1)
        use_text = (torch.rand(batch, generator=generator) < settings.p_text).unsqueeze(1)
        return torch.where(use_null, null, torch.where(use_text, by_text, by_label))

    def diffusion_loss(model: torch.nn.Module, model_condition: torch.nn.Module, x0: torch.Tensor,
                       batch_labels: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        t = torch.randint(0, schedule.num_train_timesteps, (len(x0),), generator=g)
        noise = torch.randn(x0.shape, generator=g)
        x_t = schedule.add_noise(x0, t, noise)
        eps = model(x_t, t.float(), condition_batch(model_condition, batch_labels))
        return F.mse_loss(eps, noise)

    def validation_loss() -> float:
        g = torch.Generator().manual_seed(1234)  # same t and ε every time: comparable across the run
        with torch.no_grad():
            x0 = val_mels[:, :, : settings.crop_frames].unsqueeze(1)
            return float(diffusion_loss(ema_denoiser, ema_condition, x0, val_labels, g))

    def save(step: int, loss_value: float, seconds: float) -> float:
        val = validation_loss()
        metadata = {
            "preset": preset.name,
            "steps": f"{previous_steps + step} of {previous_steps + steps}",
            "final_loss": f"{loss_value:.5f}",
            "validation_loss": f"{val:.5f}",
            "train_seconds": f"{seconds:.0f}",
            "training": json.dumps(asdict(settings)),
        }
        save_generator(out, GeneratorModels(copy.deepcopy(ema_denoiser).cpu(), copy.deepcopy(ema_condition).cpu(),
                                            normalization, metadata))
        return val

    # 3. the loop
    running, started = 0.0, time.perf_counter()
    loss_value = float("nan")
    for step in range(1, steps + 1):
        indices = torch.randint(0, len(mels), (settings.batch_size,), generator=generator)
        x0 = _random_crops(mels, indices, settings.crop_frames, generator)
        loss = diffusion_loss(denoiser, condition, x0, labels[indices], generator)
        optimizer_step(loss, optimizer, parameters, lr_schedule)
        update_ema(((ema_denoiser, denoiser), (ema_condition, condition)), step, settings.ema_decay)
        loss_value = loss.item()
        running += loss_value
        if step % log_every == 0 or step == steps:
            count = log_every if step % log_every == 0 else step % log_every
            log(f"step {step}/{steps} loss {running / count:.4f} val {validation_loss():.4f} "
                f"{progress_text(step, steps, started, lr_schedule)}")
            running = 0.0
        if step % save_every == 0 and step < steps:
            save(step, loss_value, time.perf_counter() - started)  # a usable checkpoint even if the run is cut short

    # 4. save the averaged weights with the numbers that describe them
    seconds = time.perf_counter() - started
    val = save(steps, loss_value, seconds)
    log(f"saved {out} ({out.stat().st_size / 1e6:.1f} MB) after {seconds / 60:.1f} min; validation loss {val:.4f}")
    return TrainReport(out, steps, seconds, loss_value, val)
