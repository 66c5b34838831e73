"""`python -m audiolab eval generation --data DIR`: is what the generator makes recognisable, varied and on-prompt?

1. Recognisability. A classifier is trained here, from scratch, on the real clips of DIR's training
   folds only (it never sees a generated clip or the generator's weights). Its accuracy on generated
   clips is set beside its accuracy on DIR's held-out real fold, class by class. Those folds are the
   generator's training clips too, so this judge rewards a generator that copies them. Two more CNNs
   are trained on the held-out fold alone, each on one half by source recording and tested on the
   other half: judges that never saw a clip the generator learned from, like an outside classifier.
2. Fréchet distance (Heusel et al. 2017, as FAD, Kilgour et al. 2019) between the classifier's
   embeddings of generated clips and of one half of the held-out real clips, next to the distance
   between the two real halves: the second number is what "as close as real" looks like at this size.
3. Text-to-audio retrieval in the project's text–audio space: how often a generated clip's nearest
   prompt, of the prompts its batch was made from (one per class), is its own; for real held-out
   clips, the same against each class's first caption.
"""

from __future__ import annotations

import statistics
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from audiolab.core.training import optimizer_step, warmup_cosine
from audiolab.generation import esc50
from audiolab.generation.audio_encoder import AudioEncoder, AudioEncoderConfig
from audiolab.generation.procedural_eval import RidgeClassifier, spectral_features
from audiolab.generation.train import active_starts, augmented_crop

if TYPE_CHECKING:  # the facade that hands this package its work
    from audiolab.pipeline import AudioLabPipeline

Logger = Callable[[str], None]
CLASSIFIER = AudioEncoderConfig(channels=(16, 32, 64, 128), hidden=256)  # 0.34 M parameters: trains in minutes
FULL_SCALE = 0.999  # a sample this loud was clipped (or nearly): levelled output stays under −1 dBFS (0.891)
CONDITIONS = ("label", "text", "paraphrase")  # what the clips are generated from (see _generate_clips)
PARAPHRASES_FILE = Path(__file__).with_name("paraphrases.toml")
CLASSIFIER_POOL = 2  # the classifier sees mels at 32 ms frames: half the cost, the same classes


@dataclass
class GenerationReport:
    classes: list[str]
    real_accuracy: dict[str, float]  # the CNN on held-out real clips, per class
    generated_accuracy: dict[str, float]
    ridge_real_accuracy: float  # a second, feature-based classifier: overall accuracies
    ridge_generated_accuracy: float
    frechet_generated: float
    frechet_real_halves: float
    retrieval_generated: dict[str, float]
    retrieval_real: float
    clip_seconds: float
    click_seconds: list[float] = field(default_factory=list)
    condition: str = "label"
    sampler: str = ""
    per_class: int = 0
    held_out: int = 0
    clipped_clip_share: float = 0.0  # generated clips with any sample at full scale (|x| ≥ 0.999)
    clipped_sample_share: float = 0.0
    peak_dbfs: float = float("-inf")  # the loudest sample of all generated clips
    envelope_correlation_same_seed: float = float("nan")  # energy envelopes of different classes, one seed
    envelope_correlation_other_seeds: float = float("nan")  # the same, each class from another seed
    envelope_correlation_real: float = float("nan")  # the same between real held-out clips of different classes
    independent_real_accuracy: float = float("nan")  # CNNs trained on held-out halves: class-averaged accuracies
    independent_generated_accuracy: float = float("nan")

    @property
    def real_mean(self) -> float:
        return float(np.nanmean(list(self.real_accuracy.values())))

    @property
    def generated_mean(self) -> float:
        return float(np.nanmean(list(self.generated_accuracy.values())))

    @property
    def relative(self) -> float:
        """Class-averaged accuracy on generated clips over class-averaged accuracy on real ones."""
        return self.generated_mean / max(self.real_mean, 1e-9)

    @property
    def independent_relative(self) -> float:
        """The same ratio for the judges trained on held-out clips only (NaN when there are none)."""
        return self.independent_generated_accuracy / max(self.independent_real_accuracy, 1e-9)


def _pool(log_mel: torch.Tensor) -> torch.Tensor:
    return F.avg_pool1d(log_mel, CLASSIFIER_POOL) if log_mel.shape[-1] >= CLASSIFIER_POOL else log_mel


def train_classifier(mels: torch.Tensor, labels: torch.Tensor, classes: int, steps: int = 1500, batch_size: int = 32,
                     seed: int = 0, log: Logger = print) -> AudioEncoder:
    """A CNN classifier on real clips (2 s active crops, SpecAugment, label smoothing), AdamW with a cosine schedule."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model = AudioEncoder(CLASSIFIER, out_dim=classes)
    pooled = _pool(mels)
    crop = 64
    starts_by_clip = active_starts(pooled, crop)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.05)
    schedule = warmup_cosine(optimizer, 100, steps)
    model.train()
    started = time.perf_counter()
    for step in range(1, steps + 1):
        indices = torch.randint(0, len(pooled), (batch_size,), generator=generator)
        crops = [augmented_crop(pooled[i], starts_by_clip[i], crop, generator, band=8) for i in indices.tolist()]
        loss = F.cross_entropy(model(torch.stack(crops)), labels[indices], label_smoothing=0.1)
        optimizer_step(loss, optimizer, list(model.parameters()), schedule)
        if step % 250 == 0 or step == steps:
            log(f"  classifier step {step}/{steps} loss {loss.item():.3f} ({time.perf_counter() - started:.0f} s)")
    return model.eval()


@torch.no_grad()
def classify(model: AudioEncoder, log_mels: list[torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """(predicted class, pooled features) of whole clips."""
    predictions, features = [], []
    for log_mel in log_mels:
        x = _pool(log_mel.unsqueeze(0))
        feature = model.features(x)
        predictions.append(int(model.head(feature).argmax(-1)))
        features.append(feature[0].numpy())
    return np.array(predictions), np.stack(features)


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """‖μ_a − μ_b‖² + Tr(Σ_a + Σ_b − 2 (Σ_a Σ_b)^½) between Gaussians fitted to two sets of embeddings."""
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr (Σ_a Σ_b)^½ = Σ √λ of Σ_a^½ Σ_b Σ_a^½, which is symmetric positive semi-definite: eigh is exact
    # and stays stable when few clips make the covariances singular (a general sqrtm does not)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
    return float(np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root)


def held_out_paraphrases() -> dict[str, list[str]]:
    """The eval's own paraphrases of each ESC-50 class (paraphrases.toml): none names its class or is trained on."""
    with PARAPHRASES_FILE.open("rb") as handle:
        return {label: list(texts) for label, texts in tomllib.load(handle).items()}


def _check_request(pipeline: AudioLabPipeline, condition: str, per_class: int) -> None:
    """Refuse a bad condition or clip count, and a preset whose classes lack ESC-50 captions."""
    if condition not in CONDITIONS:
        raise ValueError(f"--condition must be one of {', '.join(CONDITIONS)}; got {condition!r}.")
    if not 1 <= per_class <= 100:
        raise ValueError(f"--per-class must be from 1 to 100; got {per_class}.")
    unknown = [c for c in pipeline.labels if c not in esc50.CAPTIONS]
    if unknown:
        raise ValueError(f"Preset {pipeline.preset.name} has classes without ESC-50 captions ({', '.join(unknown[:3])}…); "
                         "eval generation needs an ESC-50 preset.")


@dataclass(frozen=True)
class _RealClips:
    """DIR's clips of the preset's classes: log-mels and labels of the classifier's training set and held-out set."""

    classes: list[str]
    train_mels: torch.Tensor
    train_labels: torch.Tensor
    held_mels: torch.Tensor
    held_labels: np.ndarray
    held_out: int
    held_halves: tuple[np.ndarray, np.ndarray]  # the held-out clips' indices in two halves by source recording


def _real_clips(pipeline: AudioLabPipeline, data: Path, holdout_fold: int | None, log: Logger) -> _RealClips:
    """Read DIR and split it: a held-out fold, or with one fold only every other source recording."""
    clips = [c for c in esc50.read_meta(data) if c.label in pipeline.labels]
    classes = [c for c in pipeline.labels if any(clip.label == c for clip in clips)]
    folds = sorted({c.fold for c in clips})
    if len(folds) > 1 or holdout_fold is not None:
        holdout_fold = folds[-1] if holdout_fold is None else holdout_fold
        train_clips, held_out = esc50.split_by_fold(clips, holdout_fold)
        where = f"fold {holdout_fold}"
    else:  # one fold only: hold out every other source recording (clips of one recording stay together)
        train_clips, held_out = esc50.split_by_recording(clips)
        where = "every other source recording"
    if not train_clips or not held_out:
        raise ValueError(f"{data} needs real clips both to train the classifier and to hold out; it has {len(clips)}.")
    mel = pipeline.preset.mel
    log(f"real clips: {len(train_clips)} to train the classifier, {len(held_out)} held out ({where})")
    train_mels = esc50.log_mels(train_clips, mel, 5.0, log)
    held_mels = esc50.log_mels(held_out, mel, 5.0, log)
    train_labels = torch.tensor([classes.index(c.label) for c in train_clips])
    held_labels = np.array([classes.index(c.label) for c in held_out])
    # takes of one source recording stay in one half, so neither half's judge has heard the other's recordings
    first_half = {clip.path for clip in esc50.split_by_recording(held_out)[0]}
    in_first = np.array([clip.path in first_half for clip in held_out])
    halves = (np.flatnonzero(in_first), np.flatnonzero(~in_first))
    return _RealClips(classes, train_mels, train_labels, held_mels, held_labels, len(held_out), halves)


def independent_accuracies(real: _RealClips, generated_mels: list[torch.Tensor], generated_labels: np.ndarray,
                           steps: int, seed: int, log: Logger) -> tuple[float, float]:
    """Class-averaged accuracy on real and on generated clips of CNNs that never saw the generator's training clips.

    Each half of the held-out clips (split by source recording) trains one CNN, which is tested on the other
    half's real clips and on every generated clip; the two judges' figures are averaged. NaN when a half is empty.
    """
    if not all(len(half) for half in real.held_halves):
        return float("nan"), float("nan")
    real_scores, generated_scores = [], []
    for train, test in (real.held_halves, real.held_halves[::-1]):
        log(f"  independent judge: {len(train)} held-out clips to train on, {len(test)} to test")
        judge = train_classifier(real.held_mels[train], torch.from_numpy(real.held_labels[train]), len(real.classes),
                                 steps=steps, seed=seed, log=log)
        real_predicted, _ = classify(judge, list(real.held_mels[test]))
        generated_predicted, _ = classify(judge, generated_mels)
        real_scores.append(np.nanmean(list(_per_class_accuracy(real_predicted, real.held_labels[test],
                                                               real.classes).values())))
        generated_scores.append(np.nanmean(list(_per_class_accuracy(generated_predicted, generated_labels,
                                                                    real.classes).values())))
    return float(np.mean(real_scores)), float(np.mean(generated_scores))


def real_envelope_correlation(real: _RealClips, seconds: float, frames_per_second: float) -> float:
    """The mean correlation of energy envelopes (the first `seconds`) between real held-out clips of different
    classes: what unrelated timing looks like, beside the generated clips' same-seed figure."""
    frames = max(2, int(round(seconds * frames_per_second)))
    envelopes = [energy_envelope(mel[:, :frames]) for mel in real.held_mels]
    labels = real.held_labels
    return mean_correlation([(envelopes[i], envelopes[j]) for i in range(len(envelopes))
                             for j in range(i + 1, len(envelopes)) if labels[i] != labels[j]])


def _ridge_accuracy(ridge: RidgeClassifier, log_mels: Sequence[torch.Tensor], labels: np.ndarray) -> float:
    """Share of clips the ridge classifier on spectral features gets right."""
    return float(np.mean(ridge.predict(np.stack([spectral_features(m.numpy()) for m in log_mels])) == labels))


def _generate_clips(pipeline: AudioLabPipeline, classes: list[str], per_class: int, condition: str,
                    steps: int | None, guidance: float | None, seed: int, vocoder: str | None,
                    log: Logger, sampler: str | None = None) -> tuple[list[np.ndarray], np.ndarray, list[list[str]]]:
    """`per_class` clips of each class in batches of one clip per class: audio, class indices, each round's prompts."""
    seconds = pipeline.preset.default_seconds
    generated: list[np.ndarray] = []
    generated_labels: list[int] = []
    round_prompts: list[list[str]] = []  # the prompt each clip was made from (the class prompt for labels)
    paraphrases = held_out_paraphrases() if condition == "paraphrase" else {}
    started = time.perf_counter()
    for round_index in range(per_class):
        if condition == "label":
            requests = [(None, c) for c in classes]
        elif condition == "paraphrase":  # held-out wording: never trained on, never naming the class
            requests = [(paraphrases[c][round_index % len(paraphrases[c])], None) for c in classes]
        else:  # each round takes the next training caption, so most prompts do not name the class
            requests = [(esc50.CAPTIONS[c][(round_index + 1) % len(esc50.CAPTIONS[c])], None) for c in classes]
        round_prompts.append([text or esc50.CAPTIONS[label][0] for text, label in requests])
        seeds = [seed + 1000 * round_index + i for i in range(len(classes))]
        generated += pipeline.generate_batch(requests, seeds, seconds=seconds, steps=steps, guidance=guidance,
                                             vocoder=vocoder, sampler=sampler)
        generated_labels += list(range(len(classes)))
        log(f"  generated {len(generated)}/{per_class * len(classes)} clips ({time.perf_counter() - started:.0f} s)")
    return generated, np.array(generated_labels), round_prompts


def _frechet_distances(real_features: np.ndarray, gen_features: np.ndarray, held_out: int,
                       seed: int) -> tuple[float, float]:
    """Fréchet distances at matched sizes: generated vs real half B, real half A vs real half B."""
    order = np.random.default_rng(seed).permutation(held_out)
    half_a, half_b = order[: len(order) // 2], order[len(order) // 2 :]
    size = min(len(half_a), len(gen_features))
    pick = np.random.default_rng(seed + 1).permutation(len(gen_features))[:size]
    frechet_generated = frechet_distance(gen_features[pick], real_features[half_b])
    frechet_halves = frechet_distance(real_features[half_a[:size]], real_features[half_b])
    return frechet_generated, frechet_halves


def _nearest_prompts(pipeline: AudioLabPipeline, real: _RealClips, generated_mels: list[torch.Tensor],
                     round_prompts: list[list[str]]) -> tuple[np.ndarray, np.ndarray]:
    """Index of each generated clip's nearest prompt among its round's, and of each real clip's among the classes'."""
    space = pipeline.text_audio_space()
    generated_embeddings = space.embed_log_mels_list(generated_mels).reshape(len(round_prompts), len(real.classes), -1)
    gen_nearest = np.concatenate([
        (embedded @ space.embed_text(prompts).T).argmax(-1).numpy()
        for embedded, prompts in zip(generated_embeddings, round_prompts)])
    class_prompts = space.embed_text([esc50.CAPTIONS[c][0] for c in real.classes])
    real_nearest = (space.embed_log_mels_list(list(real.held_mels)) @ class_prompts.T).argmax(-1).numpy()
    return gen_nearest, real_nearest


def _click_times(pipeline: AudioLabPipeline, classes: list[str], clicks: int) -> list[float]:
    """Seconds of `clicks` default generations (one clip at the preset's defaults, vocoder included)."""
    click_times = []
    for repeat in range(clicks):
        tick = time.perf_counter()
        pipeline.generate(text=esc50.CAPTIONS[classes[repeat % len(classes)]][0], seed=repeat)
        click_times.append(time.perf_counter() - tick)
    return click_times


def _per_class_accuracy(predicted: np.ndarray, truth: np.ndarray, classes: list[str]) -> dict[str, float]:
    """Accuracy within each class (NaN for a class with no clips)."""
    return {c: float(np.mean(predicted[truth == i] == i)) if np.any(truth == i) else float("nan")
            for i, c in enumerate(classes)}


def clipping(clips: Sequence[np.ndarray]) -> tuple[float, float, float]:
    """(share of clips with a sample at full scale, share of such samples, loudest peak in dBFS)."""
    at_full_scale = [np.abs(clip) >= FULL_SCALE for clip in clips]
    peak = max(float(np.max(np.abs(clip))) for clip in clips)
    return (float(np.mean([bool(mask.any()) for mask in at_full_scale])),
            float(np.sum([mask.sum() for mask in at_full_scale]) / max(sum(clip.size for clip in clips), 1)),
            20 * np.log10(max(peak, 1e-10)))


def energy_envelope(log_mel: torch.Tensor) -> np.ndarray:
    """A clip's loudness over time: the mean natural-log mel energy of each frame."""
    return log_mel.mean(0).numpy().astype(np.float64)


def mean_correlation(pairs: Sequence[tuple[np.ndarray, np.ndarray]]) -> float:
    """The mean Pearson correlation over pairs of envelopes (flat envelopes are left out)."""
    values = [float(np.corrcoef(a, b)[0, 1]) for a, b in pairs if a.std() > 1e-9 and b.std() > 1e-9]
    return float(np.mean(values)) if values else float("nan")


def envelope_correlations(pipeline: AudioLabPipeline, classes: list[str], steps: int | None, guidance: float | None,
                          vocoder: str | None, seeds: tuple[int, int] = (7, 8),
                          sampler: str | None = None) -> tuple[float, float]:
    """Does the starting noise, not the prompt, set the timing? Every class is generated from the same two seeds;
    the envelopes of different classes are correlated within a seed and across the two seeds. Prompt-driven timing
    gives about the same (low) figure both ways; noise-driven timing makes the same-seed figure high."""
    envelopes = []
    for seed in seeds:
        clips = pipeline.generate_batch([(None, c) for c in classes], [seed] * len(classes),
                                        seconds=pipeline.preset.default_seconds, steps=steps, guidance=guidance,
                                        vocoder=vocoder, sampler=sampler)
        envelopes.append([energy_envelope(pipeline.mel.log_mel(clip)) for clip in clips])
    first, second = envelopes
    others = [(i, j) for i in range(len(classes)) for j in range(len(classes)) if i != j]
    same = mean_correlation([(first[i], first[j]) for i, j in others if i < j] +
                            [(second[i], second[j]) for i, j in others if i < j])
    return same, mean_correlation([(first[i], second[j]) for i, j in others])


def _levels_and_timing(pipeline: AudioLabPipeline, generated: list[np.ndarray], classes: list[str],
                       steps: int | None, guidance: float | None, vocoder: str | None,
                       sampler: str | None = None) -> dict[str, float]:
    """The report's clipping and envelope-correlation fields."""
    clipped_clips, clipped_samples, peak_dbfs = clipping(generated)
    same_seed, other_seeds = envelope_correlations(pipeline, classes, steps, guidance, vocoder, sampler=sampler)
    return {"clipped_clip_share": clipped_clips, "clipped_sample_share": clipped_samples, "peak_dbfs": peak_dbfs,
            "envelope_correlation_same_seed": same_seed, "envelope_correlation_other_seeds": other_seeds}


def evaluate_generation(pipeline: AudioLabPipeline, data: Path, per_class: int = 4, holdout_fold: int | None = None,
                        condition: str = "label", steps: int | None = None, guidance: float | None = None,
                        classifier_steps: int = 1500, seed: int = 0, clicks: int = 4, vocoder: str | None = None,
                        log: Logger = print, sampler: str | None = None) -> GenerationReport:
    """Train the judge, generate `per_class` clips of every class DIR holds, and measure (see the module's docstring).

    `clicks` default generations are timed (the first only warms up); `vocoder` and `sampler` override the preset's.
    """
    _check_request(pipeline, condition, per_class)
    real = _real_clips(pipeline, data, holdout_fold, log)
    classes, held_labels = real.classes, real.held_labels

    # 1. the judges: a CNN and, as a second opinion, ridge regression on hand-made spectral features
    classifier = train_classifier(real.train_mels, real.train_labels, len(classes), steps=classifier_steps, seed=seed,
                                  log=log)
    ridge = RidgeClassifier(np.stack([spectral_features(m.numpy()) for m in real.train_mels]),
                            real.train_labels.numpy(), len(classes), alpha=100.0)
    real_predicted, real_features = classify(classifier, list(real.held_mels))
    ridge_real = _ridge_accuracy(ridge, real.held_mels, held_labels)

    # 2. the generated clips, `per_class` of each class, in batches of one clip per class
    generated, generated_labels, round_prompts = _generate_clips(pipeline, classes, per_class, condition, steps,
                                                                 guidance, seed, vocoder, log, sampler)
    generated_mels = [pipeline.mel.log_mel(audio) for audio in generated]
    gen_predicted, gen_features = classify(classifier, generated_mels)
    ridge_generated = _ridge_accuracy(ridge, generated_mels, generated_labels)

    # 3. Fréchet distances at matched sizes: generated vs real half B, real half A vs real half B
    frechet_generated, frechet_halves = _frechet_distances(real_features, gen_features, real.held_out, seed)

    # 4. text-to-audio retrieval: is a clip's nearest prompt, of the one prompt per class it was made among, its own?
    gen_nearest, real_nearest = _nearest_prompts(pipeline, real, generated_mels, round_prompts)

    # 5. levels and timing: clipping, and whether one seed gives every class the same energy envelope
    levels = _levels_and_timing(pipeline, generated, classes, steps, guidance, vocoder, sampler)
    mel = pipeline.preset.mel
    real_envelopes = real_envelope_correlation(real, pipeline.preset.default_seconds, mel.sample_rate / mel.hop_length)

    # 6. judges that never saw the generator's training clips
    independent_real, independent_generated = independent_accuracies(real, generated_mels, generated_labels,
                                                                      classifier_steps, seed, log)

    # 7. the default click: one clip at the preset's defaults, vocoder included
    click_times = _click_times(pipeline, classes, clicks)
    return GenerationReport(
        classes=classes,
        real_accuracy=_per_class_accuracy(real_predicted, held_labels, classes),
        generated_accuracy=_per_class_accuracy(gen_predicted, generated_labels, classes),
        ridge_real_accuracy=ridge_real,
        ridge_generated_accuracy=ridge_generated,
        frechet_generated=frechet_generated,
        frechet_real_halves=frechet_halves,
        retrieval_generated=_per_class_accuracy(gen_nearest, generated_labels, classes),
        retrieval_real=float(np.mean(real_nearest == held_labels)),
        clip_seconds=pipeline.preset.default_seconds,
        click_seconds=click_times[1:],  # the first warms the caches
        condition=condition,
        sampler=sampler or pipeline.preset.sampler.name,
        per_class=per_class,
        held_out=real.held_out,
        envelope_correlation_real=real_envelopes,
        independent_real_accuracy=independent_real,
        independent_generated_accuracy=independent_generated,
        **levels,
    )


def format_report(report: GenerationReport) -> str:
    """The summary table and the per-class table, in Markdown."""
    click = statistics.median(report.click_seconds) if report.click_seconds else float("nan")
    lines = [
        f"Generated: {report.per_class} clips per class × {len(report.classes)} classes, "
        f"{report.clip_seconds:g} s each, conditioned on {report.condition}, sampler {report.sampler or 'dpm'}; "
        f"real held-out clips: {report.held_out}.",
        "",
        "| measure | generated | real held-out |",
        "| --- | --- | --- |",
        f"| CNN classifier accuracy (class-averaged) | {report.generated_mean:.1%} | {report.real_mean:.1%} |",
        f"| relative recognisability (generated / real) | **{report.relative:.1%}** | |",
        f"| CNNs trained on held-out halves only (never the generator's clips): accuracy | "
        f"{report.independent_generated_accuracy:.1%} | {report.independent_real_accuracy:.1%} (other half) |",
        f"| relative recognisability by those independent judges | **{report.independent_relative:.1%}** | |",
        f"| ridge-on-spectral-features accuracy | {report.ridge_generated_accuracy:.1%} | {report.ridge_real_accuracy:.1%} |",
        f"| Fréchet distance to real half B (CNN embeddings) | {report.frechet_generated:.2f} | "
        f"{report.frechet_real_halves:.2f} (half A) |",
        f"| text-to-audio retrieval, top-1 of {len(report.classes)} prompts | "
        f"{np.mean(list(report.retrieval_generated.values())):.1%} | {report.retrieval_real:.1%} |",
        f"| clips with samples at full scale (share of samples) | {report.clipped_clip_share:.0%} "
        f"({report.clipped_sample_share:.2%}) | |",
        f"| loudest peak | {report.peak_dbfs:.2f} dBFS | |",
        f"| energy-envelope correlation between classes: same seed / other seeds | "
        f"{report.envelope_correlation_same_seed:.2f} / {report.envelope_correlation_other_seeds:.2f} | "
        f"{report.envelope_correlation_real:.2f} |",
        f"| default click ({report.clip_seconds:g} s, vocoded), median of {len(report.click_seconds)} | {click:.2f} s | |",
        "",
        "| class | real | generated | relative | retrieval |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in report.classes:
        real, gen = report.real_accuracy[c], report.generated_accuracy[c]
        relative = f"{gen / real:.0%}" if real > 0 else "—"
        lines.append(f"| {c} | {real:.0%} | {gen:.0%} | {relative} | {report.retrieval_generated[c]:.0%} |")
    return "\n".join(lines)
