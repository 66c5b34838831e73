"""Which hub models the app knows, and how a hub id or a local diffusers folder is resolved to its pipeline class."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class HubModel:
    """A pretrained pipeline the tabs can offer beside the built-in presets."""

    model_id: str
    title: str
    sample_rate: int
    gated: bool = False  # the hub asks for an accepted licence and a token (read from HF_TOKEN)


KNOWN_MODELS: tuple[HubModel, ...] = (
    HubModel("cvssp/audioldm2", "AudioLDM 2 (Liu et al. 2024)", 16_000),
    HubModel("cvssp/audioldm2-large", "AudioLDM 2 large", 16_000),
    HubModel("cvssp/audioldm2-music", "AudioLDM 2 music", 16_000),
    HubModel("stabilityai/stable-audio-open-1.0", "Stable Audio Open 1.0 (Evans et al. 2024)", 44_100, gated=True),
)


@dataclass(frozen=True)
class ResolvedModel:
    """Where a model's files are and the diffusers pipeline class its `model_index.json` names."""

    source: str  # a local folder, or the hub id
    pipeline_class: str
    local: bool


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
        raise ValueError(f"{model_id} is not on this machine and the hub cannot be reached ({type(error).__name__}); "
                         "connect to the network (and unset HF_HUB_OFFLINE) or give a local diffusers folder.") from error
    return ResolvedModel(model_id, read_model_index(Path(index).parent), local=False)
