"""The trained generator makes sounds of the class it is asked for, told apart by a classifier it never saw.

The classifier (audiolab.metrics) is deliberately simple and independent of the generator: ridge
regression on hand-made spectral features, fitted on fresh procedural clips whose seeds the generator
did not train on. `python -m audiolab eval generator` prints the same measurement per class.
"""

from __future__ import annotations

from audiolab.metrics import evaluate_classes
from audiolab.pipeline import AudioLabPipeline

# 12 classes, so chance is 8%. The classifier recognises real procedural clips ~100% of the time; a
# generator that has learned each class's spectral envelope and rhythm must reach three in four.
REQUIRED_LABEL_ACCURACY = 0.75
# Paraphrases never name the class ("an ambulance rushing past" → siren): two in three must land.
REQUIRED_TEXT_ACCURACY = 2 / 3


def test_generated_classes_are_told_apart_by_an_independent_classifier(pipeline: AudioLabPipeline) -> None:
    report = evaluate_classes(pipeline, per_class=3, seconds=2.0, steps=12)
    assert report.real_accuracy >= 0.95, f"the reference classifier itself is weak: {report.real_accuracy:.0%}"
    weak = {label: accuracy for label, accuracy in report.per_class.items() if accuracy < 1}
    assert report.label_accuracy >= REQUIRED_LABEL_ACCURACY, f"accuracy {report.label_accuracy:.0%}; misses: {weak}"
    missed = [prompt for prompt, hit in report.text_hits.items() if not hit]
    assert report.text_accuracy >= REQUIRED_TEXT_ACCURACY, f"text accuracy {report.text_accuracy:.0%}; missed {missed}"
