"""Which hub models the app knows, and how a hub id or a local diffusers folder is resolved to its pipeline class."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Family = Literal["audioldm2", "stable_audio", "stable_audio_3"]

# The diffusers pipeline classes a hub backend can drive, by the family of code that drives them. Stable Audio 3's
# audio-to-audio and inpainting pipelines share its components, so one backend serves all three.
PIPELINE_FAMILIES: dict[str, Family] = {
    "AudioLDM2Pipeline": "audioldm2",
    "StableAudioPipeline": "stable_audio",
    "StableAudio3Pipeline": "stable_audio_3",
    "StableAudio3AudioToAudioPipeline": "stable_audio_3",
    "StableAudio3InpaintPipeline": "stable_audio_3",
}

FAMILY_TITLES: dict[Family, str] = {
    "audioldm2": "AudioLDM 2 (Liu et al. 2024)",
    "stable_audio": "Stable Audio Open (Evans et al. 2024)",
    "stable_audio_3": "Stable Audio 3",
}


@dataclass(frozen=True)
class HubModel:
    """A pretrained pipeline the tabs can offer beside the built-in presets."""

    model_id: str
    title: str
    sample_rate: int
    gated: bool = False  # the hub asks for an accepted licence and a token (read from HF_TOKEN)
    parameters: float = 1.0  # billions, all components together: what loading costs in memory (4 bytes each in fp32)


KNOWN_MODELS: tuple[HubModel, ...] = (
    # Parameter counts from the checkpoints' files: UNet 350 M (large: 750 M), Flan-T5-large encoder 341 M,
    # CLAP 194 M, GPT-2 124 M, VAE and HiFi-GAN 55 M each.
    HubModel("cvssp/audioldm2", "AudioLDM 2 (Liu et al. 2024)", 16_000, parameters=1.12),
    HubModel("cvssp/audioldm2-large", "AudioLDM 2 large", 16_000, parameters=1.52),
    HubModel("cvssp/audioldm2-music", "AudioLDM 2 music", 16_000, parameters=1.12),
    # DiT 1.06 B, T5-base encoder 110 M, Oobleck VAE 157 M.
    HubModel("stabilityai/stable-audio-open-1.0", "Stable Audio Open 1.0 (Evans et al. 2024)", 44_100, gated=True,
             parameters=1.33),
)


def known_model(model_id: str) -> HubModel | None:
    """The KNOWN_MODELS entry for a hub id, or None."""
    return next((model for model in KNOWN_MODELS if model.model_id == model_id), None)


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model's files are and the diffusers pipeline class its `model_index.json` names."""

    source: str  # a local folder, or the hub id
    pipeline_class: str
    local: bool


def is_hub_choice(choice: str | Path) -> bool:
    """True for a hub id or a local diffusers folder; False for a built-in preset's name or a preset .toml path."""
    from audiolab.core.presets import PRESETS_DIR

    text = str(choice).strip()
    if text.endswith(".toml") or (PRESETS_DIR / f"{text}.toml").is_file():
        return False
    return is_local_folder(text) or "/" in text


def is_local_folder(id_or_folder: str | Path) -> bool:
    return Path(id_or_folder).expanduser().is_dir()


def read_model_index(folder: str | Path) -> str:
    """The pipeline class named by a diffusers folder's `model_index.json`; a ValueError says what is missing."""
    index = Path(folder).expanduser() / "model_index.json"
    if not index.is_file():
        raise ValueError(f"{folder} is not a diffusers folder: it has no model_index.json. Give a folder saved by "
                         "`pipeline.save_pretrained(...)` or a hub id such as cvssp/audioldm2.")
    try:
        class_name = json.loads(index.read_text(encoding="utf-8")).get("_class_name")
    except (json.JSONDecodeError, AttributeError) as error:
        raise ValueError(f"{index} is not valid JSON ({error}).") from error
    if not isinstance(class_name, str) or not class_name:
        raise ValueError(f"{index} names no pipeline class (_class_name is missing).")
    return class_name


def resolve_model(id_or_folder: str | Path) -> ResolvedModel:
    """A local diffusers folder, or a hub id whose `model_index.json` is fetched (or found in the local cache).

    Offline, or for a gated model without `HF_TOKEN`, the ValueError says so in one sentence.
    """
    if not str(id_or_folder).strip():
        raise ValueError("Give a hub id (owner/name) or a local diffusers folder; got nothing, which is neither a "
                         "folder nor a hub id.")
    if is_local_folder(id_or_folder):
        folder = str(Path(id_or_folder).expanduser().resolve())
        return ResolvedModel(folder, read_model_index(folder), local=True)
    model_id = str(id_or_folder).strip()
    if model_id.count("/") != 1 or any(part == "" for part in model_id.split("/")):
        raise ValueError(f"{id_or_folder!r} is neither a folder nor a hub id of the form owner/name.")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        index = hf_hub_download(model_id, "model_index.json", token=os.environ.get("HF_TOKEN") or None)
    except GatedRepoError as error:
        raise ValueError(f"{model_id} is gated: accept its licence on the hub and set HF_TOKEN.") from error
    except RepositoryNotFoundError as error:
        raise ValueError(f"{model_id} was not found on the hub (or is private: set HF_TOKEN).") from error
    except Exception as error:  # offline: LocalEntryNotFoundError, connection errors, HF_HUB_OFFLINE=1
        raise ValueError(offline_message(model_id, type(error).__name__)) from error
    return ResolvedModel(model_id, read_model_index(Path(index).parent), local=False)


def offline_message(model_id: str, reason: str) -> str:
    """The one line that says a hub model is neither cached nor downloadable, and what to do about it."""
    return (f"{model_id} is not on this machine and the hub cannot be reached ({reason}); audiolab stays offline "
            "unless HF_HUB_OFFLINE=0 is set: connect to the network and set it, or give a local diffusers folder.")


def pipeline_family(resolved: ResolvedModel) -> Family:
    """Which hub backend drives the resolved pipeline class; a ValueError names the ones audiolab drives."""
    family = PIPELINE_FAMILIES.get(resolved.pipeline_class)
    if family is None:
        raise ValueError(f"{Path(resolved.source).name if resolved.local else resolved.source} holds a "
                         f"{resolved.pipeline_class}, which audiolab cannot drive; it drives "
                         f"{', '.join(PIPELINE_FAMILIES)}.")
    if family == "stable_audio_3" and not stable_audio_3_available():
        import diffusers

        raise ValueError(f"{resolved.pipeline_class} needs a diffusers release that has StableAudio3Pipeline; "
                         f"diffusers {diffusers.__version__} has not: upgrade diffusers.")
    return family


def stable_audio_3_available() -> bool:
    """Whether the installed diffusers has Stable Audio 3 (0.42.1, the pinned release, has)."""
    try:
        from diffusers import StableAudio3Pipeline  # noqa: F401
    except ImportError:
        return False
    return True
