"""Quality measures. Here: does the generator make the class it is asked for?

An independent reference classifier (ridge regression on hand-made spectral features, fitted on fresh
procedural clips whose seeds the generator never trained on) is asked to recognise generated clips;
its accuracy on real procedural clips is reported beside it, as the ceiling.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from audiolab.generation import synth

if TYPE_CHECKING:  # the facade that hands this package its work
    from audiolab.pipeline import AudioLabPipeline

# Prompts that avoid the class names: the text path must carry meaning, not keywords.
PARAPHRASES: dict[str, str] = {
    "an ambulance rushing past": "siren",
    "a songbird tweeting in a tree": "bird_chirp",
    "a truck motor idling": "engine_hum",
    "a downpour on the pavement": "rain",
    "a gale blowing through the trees": "wind",
    "a sharp crack of a storm overhead": "thunder",
    "a cathedral chiming the hour": "church_bell",
    "a bass drum beat": "kick_drum",
    "someone pacing across a wooden floor": "footsteps",
    "a pendulum swinging in a quiet study": "clock_tick",
    "water dripping from a tap": "water_drip",
    "a shrill tune blown through pursed lips": "whistle",
}


def spectral_features(log_mel: np.ndarray) -> np.ndarray:
    """Hand-made, level-free features of a log-mel (mels × frames).

    Spectral shape (per-band mean relative to the clip's overall level) and its 10th/50th/90th
    percentiles over time, per-band spread, how fast each band changes from frame to frame, and the
    log modulation spectrum of the overall envelope (rhythm: ticks, steps and beats). A class is what
    it sounds like, not how loud it is.
    """
    band_mean = log_mel.mean(axis=1)
    level = band_mean.mean()
    percentiles = np.percentile(log_mel, [10, 50, 90], axis=1) - level
    change = np.abs(np.diff(log_mel, axis=1)).mean(axis=1)
    envelope = log_mel.mean(axis=0)
    modulation = np.log(np.abs(np.fft.rfft(envelope - envelope.mean()))[1:40] + 1e-3)
    return np.concatenate([band_mean - level, percentiles.ravel(), log_mel.std(axis=1), change, modulation])


class RidgeClassifier:
    """One-vs-all least squares on standardised features (closed form, deterministic)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, classes: int, alpha: float = 1.0) -> None:
        self.mean, self.std = x.mean(0), x.std(0) + 1e-6
        z = self._design(x)
        self.weights = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ np.eye(classes)[y])

    def _design(self, x: np.ndarray) -> np.ndarray:
        return np.hstack([(x - self.mean) / self.std, np.ones((len(x), 1))])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.argmax(self._design(np.atleast_2d(x)) @ self.weights, axis=1)


@dataclass(frozen=True)
class ClassReport:
    label_accuracy: float  # generated from the label, recognised as that label
    per_class: dict[str, float]
    real_accuracy: float  # the classifier on real (procedural) held-out clips: the ceiling
    text_accuracy: float  # generated from a paraphrase, recognised as the intended class
    text_hits: dict[str, bool]


def reference_classifier(
    labels: Sequence[str], log_mel: Callable[[np.ndarray], np.ndarray], seconds: float, clips_per_class: int = 24
) -> tuple[RidgeClassifier, float]:
    """Fit on fresh procedural clips (seed 555); return it with its accuracy on other fresh clips (seed 777)."""
    train = synth.make_dataset(clips_per_class, seconds=seconds, seed=555, classes=labels)
    model = RidgeClassifier(
        np.stack([spectral_features(log_mel(c.audio)) for c in train]),
        np.array([labels.index(c.label) for c in train]),
        len(labels),
        alpha=100.0,  # strong shrinkage: the features outnumber the clips of a class
    )
    held_out = synth.make_dataset(4, seconds=seconds, seed=777, classes=labels)
    predicted = model.predict(np.stack([spectral_features(log_mel(c.audio)) for c in held_out]))
    accuracy = float(np.mean(predicted == np.array([labels.index(c.label) for c in held_out])))
    return model, accuracy


def evaluate_classes(
    pipeline: AudioLabPipeline,
    per_class: int = 3,
    seconds: float = 2.0,
    steps: int = 12,
    sampler: str = "dpm",
    guidance: float | None = None,
) -> ClassReport:
    """Generate `per_class` clips for every label (seeds 0…) and each paraphrase, and classify them."""
    labels = list(pipeline.labels)
    log_mel = pipeline.log_mel_image
    classifier, real_accuracy = reference_classifier(labels, log_mel, seconds)

    def recognised(audio: np.ndarray) -> int:
        return int(classifier.predict(spectral_features(log_mel(audio)))[0])

    # one batched reverse process for all the label clips and one for the paraphrases: each clip is the one
    # `generate` would make with its seed, the network's calls are shared
    label_audio = pipeline.generate_batch([(None, label) for label in labels for _ in range(per_class)],
                                          [seed for _ in labels for seed in range(per_class)],
                                          seconds=seconds, steps=steps, guidance=guidance, sampler=sampler)
    per_label = {label: float(np.mean([recognised(audio) == index
                                       for audio in label_audio[index * per_class:(index + 1) * per_class]]))
                 for index, label in enumerate(labels)}
    prompts = [(prompt, label) for prompt, label in PARAPHRASES.items() if label in labels]
    text_audio = pipeline.generate_batch([(prompt, None) for prompt, _ in prompts], [0] * len(prompts),
                                         seconds=seconds, steps=steps, guidance=guidance,
                                         sampler=sampler) if prompts else []
    text_hits = {prompt: recognised(audio) == labels.index(label)
                 for (prompt, label), audio in zip(prompts, text_audio)}
    return ClassReport(
        label_accuracy=float(np.mean(list(per_label.values()))),
        per_class=per_label,
        real_accuracy=real_accuracy,
        text_accuracy=float(np.mean(list(text_hits.values()))) if text_hits else float("nan"),
        text_hits=text_hits,
    )
