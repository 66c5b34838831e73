"""Reading a free prompt as a mixture of the captions the generator was trained on.

A small generator trained on a few hundred captions has seen only a few hundred points of MiniLM's
sentence space. A paraphrase it never saw ("a puppy yapping at the mailman") lands between them,
and the text projection's answer there is weakly tied to any class. MiniLM itself, though, places
the paraphrase next to the right captions almost always. So the prompt's embedding is replaced by
a softmax-weighted mean of the training captions' embeddings,

    e' = normalize(Σ_i softmax(cos(e, c_i) / τ)_i · c_i),

which keeps the conditioning where the network was trained: a kernel-weighted nearest-neighbour
projection, like the retrieval step of kNN-Diffusion (Sheynin et al., ICLR 2023) with the training
captions as the memory. A low temperature τ picks the nearest captions; a high one blends many.
The weights are shown to the user: they say how the prompt was read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from audiolab.generation import esc50, synth
from audiolab.generation.conditioning import shared_text_encoder

if TYPE_CHECKING:
    from audiolab.generation.preset import Preset

SHOWN_CAPTIONS = 3  # how many of the heaviest captions a description names


@dataclass(frozen=True)
class CaptionReading:
    """A prompt's embedding after snapping, and the captions it was read as with their weights (heaviest first)."""

    embedding: torch.Tensor
    captions: tuple[tuple[str, float], ...]

    def describe(self) -> str:
        return ", ".join(f"'{caption}' {weight:.0%}" for caption, weight in self.captions[:SHOWN_CAPTIONS])


class CaptionSpace:
    """The training captions' MiniLM embeddings, and the snapping of a prompt embedding onto them."""

    def __init__(self, captions: Sequence[str], embeddings: torch.Tensor) -> None:
        if not captions or embeddings.shape[0] != len(captions):
            raise ValueError("A caption space needs one embedding for each of at least one caption.")
        self.captions = tuple(captions)
        self.embeddings = F.normalize(embeddings.float(), dim=-1)

    def read(self, embedding: torch.Tensor, temperature: float) -> CaptionReading:
        """Snap one (1, dim) or (dim,) embedding onto the captions at `temperature` (see the module's docstring)."""
        if not (math.isfinite(temperature) and temperature > 0):
            raise ValueError(f"The caption temperature must be above 0; got {temperature}.")
        query = F.normalize(embedding.reshape(1, -1).float(), dim=-1)
        weights = torch.softmax(query @ self.embeddings.T / temperature, dim=-1)[0]
        snapped = F.normalize(weights @ self.embeddings, dim=-1).reshape(1, -1)
        order = torch.argsort(weights, descending=True).tolist()
        return CaptionReading(snapped, tuple((self.captions[i], float(weights[i])) for i in order))


def training_captions(preset: Preset) -> tuple[tuple[str, int], ...]:
    """Every caption the preset's generator is trained on, with the index of its class, in the preset's label order."""
    table = esc50.CAPTIONS if preset.training.data == "esc50" else synth.CAPTIONS
    missing = [label for label in preset.labels if label not in table]
    if missing:
        raise ValueError(f"Preset {preset.name} has classes without training captions: {', '.join(missing[:3])}.")
    return tuple((caption, index) for index, label in enumerate(preset.labels) for caption in table[label])


@lru_cache(maxsize=4)
def shared_caption_space(captions: tuple[str, ...]) -> CaptionSpace:
    """The caption space of a set of captions, embedded once per process."""
    with torch.no_grad():
        return CaptionSpace(captions, shared_text_encoder().encode(list(captions)))
