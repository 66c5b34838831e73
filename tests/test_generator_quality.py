"""The trained generator makes sounds of the class it is asked for, told apart by a classifier it never saw.

The classifier is deliberately simple and independent of the generator: a ridge-regression linear
classifier on hand-made spectral features (per-band mean and spread of the log-mel, and how fast each
band changes), fitted on fresh procedural clips whose seeds the generator did not train on.
"""

from __future__ import annotations

import numpy as np
import pytest

from audiolab.data import synth
from audiolab.pipeline import AudioLabPipeline

SECONDS = 2.0
# 0.75 with 12 classes: chance is 8%; the classifier itself is ~100% on real procedural clips, so a generator
# that has learned each class's spectral envelope and rhythm must be recognised at least three times in four.
REQUIRED_LABEL_ACCURACY = 0.75
# Prompts that avoid the class names: the text path must carry meaning, not keywords. Two in three must land.
PARAPHRASES = {
    "an ambulance rushing past": "siren",
    "a songbird tweeting in a tree": "bird_chirp",
    "a truck motor idling": "engine_hum",
    "a downpour on the pavement": "rain",
    "a gale blowing through the trees": "wind",
    "a sharp crack of a storm overhead": "thunder",
    "a bass drum beat": "kick_drum",
    "water dripping from a tap": "water_drip",
    "someone whistling a tune": "whistle",
}
REQUIRED_TEXT_ACCURACY = 2 / 3


def features(pipeline: AudioLabPipeline, audio: np.ndarray) -> np.ndarray:
    log_mel = pipeline.log_mel_image(audio)
    change = np.abs(np.diff(log_mel, axis=1)).mean(axis=1)
    return np.concatenate([log_mel.mean(axis=1), log_mel.std(axis=1), change])


class RidgeClassifier:
    """One-vs-all least squares on standardised features (closed form, deterministic)."""

    def __init__(self, x: np.ndarray, y: np.ndarray, classes: int, alpha: float = 1.0) -> None:
        self.mean, self.std = x.mean(0), x.std(0) + 1e-6
        z = np.hstack([(x - self.mean) / self.std, np.ones((len(x), 1))])
        targets = np.eye(classes)[y]
        self.weights = np.linalg.solve(z.T @ z + alpha * np.eye(z.shape[1]), z.T @ targets)

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = np.hstack([(x - self.mean) / self.std, np.ones((len(x), 1))])
        return np.argmax(z @ self.weights, axis=1)


@pytest.fixture(scope="module")
def classifier(pipeline: AudioLabPipeline) -> RidgeClassifier:
    clips = synth.make_dataset(24, seconds=SECONDS, seed=555, classes=pipeline.labels)
    x = np.stack([features(pipeline, clip.audio) for clip in clips])
    y = np.array([pipeline.labels.index(clip.label) for clip in clips])
    model = RidgeClassifier(x, y, len(pipeline.labels))
    held_out = synth.make_dataset(4, seconds=SECONDS, seed=777, classes=pipeline.labels)
    accuracy = np.mean(
        model.predict(np.stack([features(pipeline, c.audio) for c in held_out]))
        == np.array([pipeline.labels.index(c.label) for c in held_out])
    )
    assert accuracy >= 0.95, f"the reference classifier itself is weak ({accuracy:.0%}) on real procedural clips"
    return model


def test_generated_labels_are_told_apart(pipeline: AudioLabPipeline, classifier: RidgeClassifier) -> None:
    predicted, expected = [], []
    for index, label in enumerate(pipeline.labels):
        for seed in range(3):
            audio = pipeline.generate(label=label, seconds=SECONDS, steps=12, sampler="dpm", seed=seed).audio
            predicted.append(int(classifier.predict(features(pipeline, audio)[None])[0]))
            expected.append(index)
    accuracy = float(np.mean(np.array(predicted) == np.array(expected)))
    confused = sorted({pipeline.labels[e] for p, e in zip(predicted, expected) if p != e})
    assert accuracy >= REQUIRED_LABEL_ACCURACY, f"accuracy {accuracy:.0%}; confused classes: {confused}"


def test_paraphrased_prompts_land_on_the_intended_class(pipeline: AudioLabPipeline, classifier: RidgeClassifier) -> None:
    hits = 0
    for prompt, label in PARAPHRASES.items():
        audio = pipeline.generate(text=prompt, seconds=SECONDS, steps=12, sampler="dpm", seed=0).audio
        hits += int(classifier.predict(features(pipeline, audio)[None])[0]) == pipeline.labels.index(label)
    assert hits / len(PARAPHRASES) >= REQUIRED_TEXT_ACCURACY, f"{hits}/{len(PARAPHRASES)} prompts landed"
