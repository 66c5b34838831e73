"""Training the audio half of the text–audio space: `python -m audiolab train encoder --preset audio-text-16k`.

Each clip is paired with a random caption of its class, embedded by the frozen MiniLM. The loss is
CLAP's symmetric InfoNCE (Elizalde et al. 2023) over the batch, with other clips of the same class
removed from the negatives (Khosla et al. 2020), plus 1 − cos(audio, caption): InfoNCE alone fixes
only angles relative to the batch, and this term puts the audio embedding where the generator's
text conditioning expects it, closing the "modality gap" (Liang et al. 2022).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from audiolab.core.audio import MelTransform
from audiolab.core.credits import write_credits
from audiolab.core.training import optimizer_step, progress_text, warmup_cosine
from audiolab.generation import esc50, synth
from audiolab.generation.audio_encoder import AudioEncoder
from audiolab.generation.conditioning import shared_text_encoder
from audiolab.generation.preset import AudioEncoderPreset, save_audio_encoder
from audiolab.generation.train import active_starts, augmented_crop

Logger = Callable[[str], None]
PROCEDURAL_PREFIX = "procedural:"


@dataclass(frozen=True)
class EncoderReport:
    checkpoint: Path
    steps: int
    seconds: float
    esc50_retrieval: float  # held-out fold: share of clips whose own class prompt is the nearest of the 50
    procedural_retrieval: float


def retrieval_accuracy(audio_embeddings: torch.Tensor, labels: torch.Tensor, prompt_embeddings: torch.Tensor) -> float:
    """Share of clips whose nearest prompt (cosine) is their own class's."""
    return float(((audio_embeddings @ prompt_embeddings.T).argmax(-1) == labels).float().mean())


def _procedural(mel: MelTransform, per_class: int, seed: int, seconds: float) -> tuple[torch.Tensor, list[str]]:
    clips = synth.make_dataset(per_class, seconds=seconds, sample_rate=mel.settings.sample_rate, seed=seed)
    audio = torch.from_numpy(np.stack([clip.audio for clip in clips]))
    return torch.cat([mel.log_mel(chunk) for chunk in audio.split(64)]), [clip.label for clip in clips]


@dataclass(frozen=True)
class _EncoderData:
    """Training mels with class indices, crop starts and caption embeddings; the held-out sets and their prompts."""

    mels: torch.Tensor
    labels: torch.Tensor
    starts_by_clip: list[torch.Tensor]
    caption_table: list[torch.Tensor]
    val_mels: torch.Tensor
    val_labels: torch.Tensor
    esc_prompts: torch.Tensor
    proc_val_mels: torch.Tensor
    proc_val_index: torch.Tensor
    proc_prompts: torch.Tensor


def _encoder_data(preset: AudioEncoderPreset, data: Path, log: Logger) -> _EncoderData:
    """ESC-50's training folds and procedural clips, each with its class's captions, and the held-out sets."""
    settings = preset.training
    mel = MelTransform(preset.mel)
    started = time.perf_counter()
    train_clips, held_out = esc50.split_by_fold(esc50.read_meta(data), settings.holdout_fold)
    log(f"ESC-50: {len(train_clips)} training clips, {len(held_out)} held out (fold {settings.holdout_fold})")
    esc_mels = esc50.log_mels(train_clips, preset.mel, 5.0, log)
    val_mels = esc50.log_mels(held_out, preset.mel, 5.0, log)
    proc_mels, proc_labels = _procedural(mel, settings.procedural_clips_per_class, settings.seed, 5.0)
    proc_val_mels, proc_val_labels = _procedural(mel, 4, settings.seed + 10_000, 5.0)
    classes = list(esc50.CLASSES) + [PROCEDURAL_PREFIX + c for c in synth.CLASSES]
    captions = {**esc50.CAPTIONS, **{PROCEDURAL_PREFIX + c: synth.CAPTIONS[c] for c in synth.CLASSES}}
    text = shared_text_encoder()
    caption_table = [text.encode(list(captions[c])) for c in classes]
    mels = torch.cat([esc_mels, proc_mels])
    labels = torch.tensor([classes.index(c.label) for c in train_clips]
                          + [classes.index(PROCEDURAL_PREFIX + c) for c in proc_labels])
    starts_by_clip = active_starts(mels, settings.crop_frames)
    esc_prompts = torch.stack([caption_table[i][0] for i in range(len(esc50.CLASSES))])
    proc_prompts = torch.stack([caption_table[classes.index(PROCEDURAL_PREFIX + c)][0] for c in synth.CLASSES])
    val_labels = torch.tensor([esc50.CLASSES.index(c.label) for c in held_out])
    proc_val_index = torch.tensor([synth.CLASSES.index(c) for c in proc_val_labels])
    log(f"data: {len(mels)} clips in {len(classes)} classes, {sum(len(t) for t in caption_table)} captions "
        f"({time.perf_counter() - started:.1f} s)")
    return _EncoderData(mels, labels, starts_by_clip, caption_table, val_mels, val_labels, esc_prompts,
                        proc_val_mels, proc_val_index, proc_prompts)


class _EncoderTraining:
    """One run's encoder and optimiser, and the batches, loss and validation that use them."""

    def __init__(self, preset: AudioEncoderPreset, data: _EncoderData, generator: torch.Generator, steps: int,
                 log: Logger) -> None:
        self.settings, self.data, self.generator = preset.training, data, generator
        self.encoder = AudioEncoder(preset.model)
        log(f"model: {sum(p.numel() for p in self.encoder.parameters()) / 1e6:.2f} M parameters")
        self.parameters = list(self.encoder.parameters())
        self.optimizer = torch.optim.AdamW(self.parameters, lr=self.settings.learning_rate, weight_decay=0.01)
        self.lr_schedule = warmup_cosine(self.optimizer, self.settings.warmup_steps, steps)

    def batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Augmented active crops of random clips, their labels, and a random caption embedding of each class."""
        settings, data, generator = self.settings, self.data, self.generator
        indices = torch.randint(0, len(data.mels), (settings.batch_size,), generator=generator)
        crops = [augmented_crop(data.mels[i], data.starts_by_clip[i], settings.crop_frames, generator, band=8, span=16)
                 for i in indices.tolist()]
        batch_labels = data.labels[indices]
        caption_table = data.caption_table
        caption_rows = torch.stack([caption_table[l][torch.randint(len(caption_table[l]), (1,), generator=generator)][0]
                                    for l in batch_labels.tolist()])
        return torch.stack(crops), batch_labels, caption_rows

    def loss(self, audio: torch.Tensor, batch_labels: torch.Tensor, texts: torch.Tensor) -> tuple[torch.Tensor, float]:
        """Symmetric InfoNCE without same-class negatives, plus the weighted 1 − cos term; and that term alone."""
        logits = audio @ texts.T / self.settings.temperature
        same_class = batch_labels.unsqueeze(0) == batch_labels.unsqueeze(1)
        negatives_only = same_class & ~torch.eye(len(batch_labels), dtype=torch.bool)
        logits = logits.masked_fill(negatives_only, float("-inf"))
        targets = torch.arange(len(batch_labels))
        contrastive = 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits.T, targets))
        alignment = (1 - (audio * texts).sum(-1)).mean()
        return contrastive + self.settings.alignment_weight * alignment, float(alignment.detach())

    def validate(self) -> tuple[float, float]:
        """Held-out retrieval accuracy: ESC-50's held-out fold and the procedural validation clips."""
        encoder, data = self.encoder, self.data
        encoder.eval()
        with torch.no_grad():
            esc = torch.cat([F.normalize(encoder(chunk), dim=-1) for chunk in data.val_mels.split(64)])
            proc = F.normalize(encoder(data.proc_val_mels), dim=-1)
        encoder.train()
        return (retrieval_accuracy(esc, data.val_labels, data.esc_prompts),
                retrieval_accuracy(proc, data.proc_val_index, data.proc_prompts))

    def train_step(self) -> tuple[float, float]:
        """One optimiser step on a fresh batch; its loss and its 1 − cos term."""
        crops, batch_labels, texts = self.batch()
        loss, alignment = self.loss(F.normalize(self.encoder(crops), dim=-1), batch_labels, texts)
        optimizer_step(loss, self.optimizer, self.parameters, self.lr_schedule)
        return loss.item(), alignment


def _encoder_loop(run: _EncoderTraining, steps: int, log: Logger, log_every: int) -> float:
    """Train for `steps` steps, logging the running figures and held-out retrieval; the seconds taken."""
    run.encoder.train()
    started = time.perf_counter()
    running, running_alignment = 0.0, 0.0
    for step in range(1, steps + 1):
        loss_value, alignment = run.train_step()
        running += loss_value
        running_alignment += alignment
        if step % log_every == 0 or step == steps:
            count = log_every if step % log_every == 0 else step % log_every
            esc_accuracy, proc_accuracy = run.validate()
            log(f"step {step}/{steps} loss {running / count:.4f} 1−cos {running_alignment / count:.3f} "
                f"held-out retrieval: ESC-50 {esc_accuracy:.1%} procedural {proc_accuracy:.1%} "
                f"{progress_text(step, steps, started, run.lr_schedule)}")
            running, running_alignment = 0.0, 0.0
    return time.perf_counter() - started


def _save_encoder(preset: AudioEncoderPreset, run: _EncoderTraining, data: Path, out: Path, steps: int,
                  seconds: float, log: Logger) -> tuple[float, float]:
    """Save with the numbers that describe it and the credits of its clips; the held-out retrieval accuracies."""
    esc_accuracy, proc_accuracy = run.validate()
    metadata = {
        "preset": preset.name, "steps": str(steps), "train_seconds": f"{seconds:.0f}",
        "esc50_heldout_retrieval": f"{esc_accuracy:.4f}", "procedural_retrieval": f"{proc_accuracy:.4f}",
        "training": json.dumps(asdict(replace(preset.training, esc50=str(data)))),
    }
    save_audio_encoder(out, run.encoder.eval(), metadata)
    audio_dir = data / "audio" if (data / "audio").is_dir() else data
    credits = write_credits(out.with_suffix(".credits.md"), f"{preset.title} ({out.name})", [audio_dir],
                            note="This checkpoint was trained on the ESC-50 clips below (the held-out fold only for "
                                 "its validation figures) and on the project's own procedural sounds.")
    log(f"saved {out} ({out.stat().st_size / 1e6:.1f} MB) after {seconds / 60:.1f} min; held-out retrieval "
        f"ESC-50 {esc_accuracy:.1%}, procedural {proc_accuracy:.1%}; wrote {credits}")
    return esc_accuracy, proc_accuracy


def train_audio_encoder(preset: AudioEncoderPreset, data: Path | None = None, steps: int | None = None,
                        out: Path | None = None, log: Logger = print, log_every: int = 250) -> EncoderReport:
    """Train the encoder on ESC-50's training folds and the procedural sounds; save it with its credits."""
    settings = preset.training
    steps = steps or settings.steps
    if steps < 1:
        raise ValueError(f"--steps must be at least 1; got {steps}.")
    data = Path(data or settings.esc50)
    out = out or preset.checkpoint
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)

    # 1. data: ESC-50 training folds and procedural clips, each with its class's captions
    training = _encoder_data(preset, data, log)

    # 2. model and optimiser
    run = _EncoderTraining(preset, training, generator, steps, log)

    # 3. the loop
    seconds = _encoder_loop(run, steps, log, log_every)

    # 4. save with the numbers that describe it, and the credits of the clips it learned from
    esc_accuracy, proc_accuracy = _save_encoder(preset, run, data, out, steps, seconds, log)
    return EncoderReport(out, steps, seconds, esc_accuracy, proc_accuracy)
