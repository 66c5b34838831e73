"""Training a vocoder: `python -m audiolab train vocoder --preset NAME --data DIR [DIR …]`.

Each batch mixes random crops of the given folders (each folder equally likely) with a share of
the procedural sounds, at random loudness. The loss is the vocoder's own: `DiffusionVocoder.loss`
(DiffWave's L_simple on PriorGrad-whitened MDCT coefficients) or `FlowVocoder.loss` (flow matching
on the log STFT magnitude); the shipped weights are an exponential moving average. Every
`log_every` steps the log shows the running loss and validation figures: the log-mel L1 and
PESQ-WB of held-out clips' 6-step resynthesis (no magnitude projections), next to Griffin-Lim's
(32 iterations).
"""

from __future__ import annotations

import copy
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from audiolab.core.audio import MelTransform, normalize_loudness
from audiolab.core.corpus import AudioSource
from audiolab.core.credits import write_credits
from audiolab.core.quality import log_mel_l1, pesq_wb
from audiolab.core.training import optimizer_step, run_steps, update_ema, warmup_cosine
from audiolab.generation import synth
from audiolab.vocoder.diffusion_vocoder import DiffusionVocoder, VocoderSettings
from audiolab.vocoder.flow_vocoder import FlowVocoder
from audiolab.vocoder.preset import (
    Vocoder,
    VocoderPreset,
    build_vocoder,
    load_vocoder,
    save_vocoder,
)

Logger = Callable[[str], None]
VALIDATION_SECONDS = 3.0


@dataclass(frozen=True)
class VocoderTrainReport:
    checkpoint: Path
    steps: int
    seconds: float
    final_loss: float
    validation_l1: float


def _procedural_clips(sample_rate: int, seed: int, per_class: int = 8) -> list[np.ndarray]:
    return [clip.audio for clip in synth.make_dataset(per_class, seconds=4.0, sample_rate=sample_rate, seed=seed)]


def _validation_clips(validation: Sequence[AudioSource], sample_rate: int, seed: int) -> list[np.ndarray]:
    """Held-out clips for the validation figure: the --val folders, else procedural clips from other seeds."""
    samples = int(VALIDATION_SECONDS * sample_rate)
    rng = np.random.default_rng(seed + 7)
    if validation:
        return [source.crop(samples, rng, level_dbfs=(-25.0, -25.0)) for source in validation for _ in range(4)]
    return [normalize_loudness(clip[:samples], -25.0) for clip in _procedural_clips(sample_rate, seed + 10_000, 1)[:4]]


@dataclass(frozen=True)
class _VocoderData:
    """The training recordings (each folder a source), the procedural sounds and the held-out validation clips."""

    sources: list[AudioSource]
    procedural: AudioSource
    val_clips: list[np.ndarray]
    transform: MelTransform


def _griffin_lim_companions(source: AudioSource, transform: MelTransform, iterations: int,
                            cache: Path | None) -> list[np.ndarray]:
    """Griffin-Lim of every clip of `source`, read from `cache` when an earlier run computed the same thing.

    The cache file's name hashes what the result depends on: the mel settings, the iterations, and each
    clip's length and a sparse checksum of its samples; a changed folder makes a new file.
    """
    def compute() -> list[np.ndarray]:
        return [transform.griffin_lim(transform.log_mel(clip), iterations, num_samples=clip.size)
                for clip in source.clips]

    if cache is None:
        return compute()
    fingerprint = json.dumps({"mel": asdict(transform.settings), "iterations": iterations,
                              "clips": [[clip.size, float(np.sum(clip[::997], dtype=np.float64))] for clip in source.clips]})
    path = cache / f"{source.name}-griffin-lim-{hashlib.sha1(fingerprint.encode()).hexdigest()[:16]}.npy"
    if path.is_file():
        flat = np.load(path)
        return np.split(flat, np.cumsum([clip.size for clip in source.clips])[:-1])
    companions = compute()
    cache.mkdir(parents=True, exist_ok=True)
    np.save(path, np.concatenate(companions).astype(np.float32))
    return companions


def _vocoder_data(preset: VocoderPreset, data: Sequence[str | Path], excluded: tuple[str, ...],
                  validation: Sequence[str | Path], log: Logger, cache: Path | None = None) -> _VocoderData:
    """Every folder in memory, the procedural set, held-out validation clips; Griffin-Lim hints if the preset asks."""
    settings, sample_rate = preset.training, preset.sample_rate
    started = time.perf_counter()
    sources = [AudioSource.from_folder(folder, sample_rate, excluded) for folder in data]
    procedural = AudioSource("procedural", _procedural_clips(sample_rate, settings.seed))
    held_out = [AudioSource.from_folder(folder, sample_rate) for folder in validation]
    val_clips = _validation_clips(held_out, sample_rate, settings.seed)
    transform = MelTransform(preset.settings.mel)
    for source in sources + [procedural]:
        log(f"data: {source.name}: {len(source.clips)} recordings, {source.seconds / sample_rate / 60:.1f} min")
    hint_iterations = preset.settings.griffin_lim_hint if isinstance(preset.settings, VocoderSettings) else 0
    if hint_iterations:  # once per clip, not per step: Griffin-Lim is scale-equivariant
        hint_started = time.perf_counter()
        for source in sources + [procedural]:
            source.companions = _griffin_lim_companions(source, transform, hint_iterations, cache)
        log(f"data: Griffin-Lim ({hint_iterations} iterations) of every clip in "
            f"{time.perf_counter() - hint_started:.0f} s")
    log(f"data: excluded {', '.join(excluded) or 'nothing'}; {len(val_clips)} validation clips; "
        f"loaded in {time.perf_counter() - started:.0f} s")
    return _VocoderData(sources, procedural, val_clips, transform)


def _vocoder_model(preset: VocoderPreset, out: Path, resume: bool, log: Logger) -> tuple[Vocoder, int]:
    """A fresh vocoder, or with `resume` the one at `out`; and the steps already done."""
    previous_steps = 0
    if resume:
        if not out.is_file():
            raise ValueError(f"--resume needs an existing checkpoint at {out}; train without --resume first.")
        vocoder = load_vocoder(preset, out)
        previous_steps = int(vocoder.metadata.get("steps", "0").split()[0])
        log(f"resuming from {out} after {previous_steps} steps")
    else:
        vocoder = build_vocoder(preset.settings)
    return vocoder, previous_steps


def validation_figures(clips: Sequence[np.ndarray], transform: MelTransform,
                       vocode: Callable[[torch.Tensor, int], np.ndarray]) -> tuple[float, float | None]:
    """Mean log-mel L1 and mean PESQ-WB (None for clips PESQ cannot score, such as non-speech) of `vocode`."""
    l1s, pesqs = [], []
    for clip in clips:
        out = vocode(transform.log_mel(clip), clip.size)
        l1s.append(log_mel_l1(clip, out))
        try:
            pesqs.append(pesq_wb(clip, out, transform.settings.sample_rate))
        except ValueError:
            pass
    return float(np.mean(l1s)), (float(np.mean(pesqs)) if pesqs else None)


class _VocoderTraining:
    """One run's vocoder, optimiser and EMA, and the batches, validation and checkpoint that use them."""

    def __init__(self, preset: VocoderPreset, data: _VocoderData, folders: Sequence[str | Path],
                 generator: torch.Generator, rng: np.random.Generator, steps: int, out: Path, resume: bool,
                 log: Logger) -> None:
        settings = preset.training
        self.preset, self.data, self.folders = preset, data, folders
        self.generator, self.rng, self.steps, self.out = generator, rng, steps, out
        self.vocoder, self.previous_steps = _vocoder_model(preset, out, resume, log)
        self.net = self.vocoder.net.train()
        self.crop = int(settings.crop_seconds * preset.sample_rate)
        if not resume and isinstance(self.vocoder, DiffusionVocoder):
            self.calibrate_prior(log)
        if isinstance(self.vocoder, FlowVocoder):  # ρ is a preset setting: say whether the data agrees
            with torch.no_grad():
                rho = float(np.sqrt(np.mean([self.vocoder.residual_std(self.batch()[0]) ** 2 for _ in range(8)])))
            log(f"data: RMS of z_1 = log(|S|/σ) {rho:.3f} (the preset's residual_std: {preset.settings.residual_std})")
        log(f"model: {type(self.vocoder).__name__}, {sum(p.numel() for p in self.net.parameters()) / 1e6:.2f} M parameters")
        self.parameters = list(self.net.parameters())
        self.optimizer = torch.optim.AdamW(self.parameters, lr=settings.learning_rate, weight_decay=0.01)
        self.lr_schedule = warmup_cosine(self.optimizer, settings.warmup_steps, steps)
        self.ema = copy.deepcopy(self.vocoder)
        self.ema.net.eval()
        transform = data.transform
        self.griffin_lim_figures = validation_figures(data.val_clips, transform, lambda log_mel, samples: (
            transform.griffin_lim(log_mel, 32, num_samples=samples)))

    def batch(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Waveform crops and, with the hint on, the same crops of their Griffin-Lim reconstructions."""
        settings, sources, rng = self.preset.training, self.data.sources, self.rng
        crops, hints = [], []
        for _ in range(settings.batch_size):
            source = self.data.procedural if not sources or rng.random() < settings.procedural_share else (
                sources[rng.integers(len(sources))])
            excerpt, hint = source.crop_pair(self.crop, rng)
            crops.append(excerpt)
            hints.append(hint)
        hint_batch = torch.from_numpy(np.stack(hints)) if hints[0] is not None else None
        return torch.from_numpy(np.stack(crops)), hint_batch

    def calibrate_prior(self, log: Logger) -> None:
        """Set the prior's scale σ from eight batches of training targets."""
        vocoder = self.vocoder
        # calibrate σ so the bulk of the whitened data has unit variance, as the Gaussian prior assumes. A robust
        # estimate (median |y_0| / 0.6745, digital silence left out): the RMS is carried by a few peaky clips
        # (tones, clicks) and would make the prior twice too loud for speech.
        with torch.no_grad():
            y0 = torch.cat([vocoder.training_targets(*self.batch())[0].flatten() for _ in range(8)])
        y0 = y0[y0 != 0]
        vocoder.prior_scale = float(y0.abs().median() / 0.6745)
        log(f"prior scale: {vocoder.prior_scale:.4g}")

    def validation(self) -> tuple[float, float | None]:
        """Log-mel L1 and PESQ-WB of the EMA vocoder's 6-step resynthesis of the validation clips."""
        # the diffusion vocoder's reverse process alone; the flow vocoder's projections onto the mel are part of it
        projections = 0 if isinstance(self.ema, DiffusionVocoder) else None
        with torch.no_grad():
            return validation_figures(self.data.val_clips, self.data.transform, lambda log_mel, samples: (
                self.ema.vocode(log_mel, samples, steps=6, seed=0, projection_iterations=projections)))

    def train_step(self, step: int) -> float:
        """One optimiser step on a fresh batch, then the EMA update; the batch loss."""
        waves, hint_waves = self.batch()
        loss = self.vocoder.loss(waves, self.generator, hint_waves)
        optimizer_step(loss, self.optimizer, self.parameters, self.lr_schedule)
        update_ema(((self.ema.net, self.net),), step, self.preset.training.ema_decay)
        return loss.item()

    def validation_text(self) -> str:
        (l1, pesq), (gl_l1, gl_pesq) = self.validation(), self.griffin_lim_figures
        text = f"val log-mel L1 {l1:.3f} (Griffin-Lim 32: {gl_l1:.3f})"
        return text if pesq is None or gl_pesq is None else f"{text} PESQ-WB {pesq:.3f} (Griffin-Lim 32: {gl_pesq:.3f})"

    def save(self, step: int, loss_value: float, seconds: float) -> float:
        """Write the EMA vocoder with the numbers that describe it; the validation L1."""
        val, pesq = self.validation()
        metadata = {
            "preset": self.preset.name,
            "steps": f"{self.previous_steps + step} of {self.previous_steps + self.steps}",
            "final_loss": f"{loss_value:.5f}",
            "validation_log_mel_l1": f"{val:.4f}",
            **({"validation_pesq_wb": f"{pesq:.3f}"} if pesq is not None else {}),
            "train_seconds": f"{seconds:.0f}",
            "data": json.dumps([str(Path(folder).name) for folder in self.folders]),
            "training": json.dumps(asdict(self.preset.training)),
        }
        save_vocoder(self.out, self.ema, metadata)
        return val


def train_vocoder(
    preset: VocoderPreset,
    data: Sequence[str | Path],
    exclude: Sequence[str] = (),
    validation: Sequence[str | Path] = (),
    steps: int | None = None,
    out: Path | None = None,
    log: Logger = print,
    log_every: int = 100,
    save_every: int = 500,
    resume: bool = False,
    cache: Path | None = None,
) -> VocoderTrainReport:
    """Train the preset's vocoder on the folders in `data` (plus procedural sounds); save EMA weights.

    `cache`: a folder to keep the Griffin-Lim estimates of the training clips in between runs (they take
    longer to compute than a thousand training steps).
    """
    settings = preset.training
    steps = steps or settings.steps
    if steps < 1:
        raise ValueError(f"--steps must be at least 1; got {steps}.")
    if not data and settings.procedural_share <= 0:
        raise ValueError("Give at least one --data folder of recordings to train the vocoder on.")
    out = out or preset.checkpoint
    torch.manual_seed(settings.seed)
    generator = torch.Generator().manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)

    # 1. data: every folder in memory, the procedural set, held-out validation clips
    excluded = tuple(exclude) or settings.exclude
    training = _vocoder_data(preset, data, excluded, validation, log, cache)

    # 2. model, optimiser, EMA
    run = _VocoderTraining(preset, training, data, generator, rng, steps, out, resume, log)

    # 3. the loop
    loss_value, seconds = run_steps(run, log, log_every, save_every)

    # 4. save the averaged weights, and the credits of the recordings they learned from
    val = run.save(steps, loss_value, seconds)
    credits = write_credits(out.with_suffix(".credits.md"), f"{preset.title} ({out.name})", data, excluded)
    log(f"wrote {credits}")
    log(f"saved {out} ({out.stat().st_size / 1e6:.1f} MB) after {seconds / 60:.1f} min; validation log-mel L1 {val:.3f}")
    return VocoderTrainReport(out, steps, seconds, loss_value, val)
