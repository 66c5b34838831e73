"""The model choice every tab shares: the built-in presets first, then the hub models, or a folder typed in.

`hub_pipeline(choice)` maps a hub id or a local diffusers folder to the default preset's pipeline with that model
generating (`AudioLabPipeline.with_backend`); one hub model is held at a time, since each takes gigabytes.
`model_status(choice)` says, before anything loads, what the choice needs and what is missing: the network, a
token, a package, memory; and, once the model has run here, how long a generation takes on this machine.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import gradio as gr
import torch

from audiolab.core.choices import DEFAULT_PRESET
from audiolab.core.presets import list_presets
from audiolab.generation.pipeline import GenerationRequest
from audiolab.hub.models import (
    FAMILY_TITLES,
    KNOWN_MODELS,
    is_hub_choice,
    known_model,
    pipeline_family,
    resolve_model,
)
from audiolab.pipeline import AudioLabPipeline
from audiolab.ui.common import get_pipeline, without_paths

MODEL_LABEL = "Model: a built-in preset, a hub model (AudioLDM 2, Stable Audio), or a local diffusers folder's path"
_HUB: dict[str, AudioLabPipeline] = {}  # at most one hub model: loading another frees the last
_LOADING = threading.Lock()


def model_choices(default: str = DEFAULT_PRESET) -> list[tuple[str, str]]:
    """(label, value) for the dropdown: the presets (and a preset given by path), then the known hub models."""
    presets = list_presets()
    names = presets if default in presets or is_hub_choice(default) else [default, *presets]
    return [(name, name) for name in names] + [(f"{m.title}: {m.model_id}", m.model_id) for m in KNOWN_MODELS]


def model_dropdown(default: str = DEFAULT_PRESET) -> gr.Dropdown:
    """The shared model picker; a typed value (a hub id, a folder) is accepted as it is."""
    return gr.Dropdown(model_choices(default), value=default, label=MODEL_LABEL, allow_custom_value=True)


LOCAL_ADDRESSES = ("127.0.0.1", "localhost", "::1")


def _looks_like_path(choice: str) -> bool:
    """A folder path rather than a hub id (owner/name): absolute, home- or dot-relative, or deeper than owner/name."""
    return choice.startswith(("/", "~", ".")) or choice.count("/") > 1 or "\\" in choice


def check_folder_allowed(choice: str) -> None:
    """Refuse a typed-in folder unless the page is served to this machine alone or the folder is allowed.

    On a shared server (GRADIO_SERVER_NAME other than localhost, or a Hugging Face Space) a visitor must not
    read the server's folders, nor learn which exist: paths are refused before anything is looked up, unless
    they lie under a folder the server's owner lists in AUDIOLAB_MODEL_FOLDERS (separated by os.pathsep).
    """
    from pathlib import Path

    if not _looks_like_path(choice):
        return
    served_locally = (os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1") in LOCAL_ADDRESSES
                      and not os.environ.get("SPACE_ID"))
    if served_locally:
        return
    roots = [Path(root).expanduser().resolve() for root in os.environ.get("AUDIOLAB_MODEL_FOLDERS", "").split(os.pathsep)
             if root.strip()]
    folder = Path(choice).expanduser().resolve()
    if not any(folder == root or root in folder.parents for root in roots):
        raise ValueError("This server does not read model folders typed into the page; choose a built-in preset or a "
                         "hub model (its owner can allow folders with AUDIOLAB_MODEL_FOLDERS).")


def hub_pipeline(choice: str) -> AudioLabPipeline:
    """The default preset's pipeline with the hub model `choice` generating, loaded on first use."""
    key = str(choice).strip()
    check_folder_allowed(key)
    with _LOADING:
        if key not in _HUB:
            from audiolab.hub.backend import HubGenerator

            _HUB.clear()  # let the previous model go before the next one needs the memory
            base = os.environ.get("AUDIOLAB_PRESET", DEFAULT_PRESET)  # the app's preset keeps the other tasks
            base = DEFAULT_PRESET if is_hub_choice(base) else base
            _HUB[key] = get_pipeline(base).with_backend(HubGenerator.load(key))
        return _HUB[key]


def _device_line() -> str:
    if torch.cuda.is_available():
        return f"Runs on the GPU ({torch.cuda.get_device_name(0)})."
    return (f"Runs on this CPU ({os.cpu_count()} cores): a large model takes seconds to minutes a step; the time "
            "is measured on the first generation and shown here.")


def model_status(choice: str) -> str:
    """What the choice is, and plainly what it needs that is missing (nothing is loaded or downloaded here)."""
    from audiolab.hub.loading import (
        dependency_problem,
        display_name,
        memory_problem,
        model_index,
        weights_bytes,
    )

    choice = str(choice or "").strip()
    if not is_hub_choice(choice):
        return f"Built-in preset **{choice}**: small, trained by the project, runs offline on this machine."
    try:
        check_folder_allowed(choice)
        resolved = resolve_model(choice)
        family = pipeline_family(resolved)
    except ValueError as error:
        return f"**Cannot use {without_paths(choice)}:** {without_paths(str(error))}"
    name, known = display_name(resolved), known_model(resolved.source)
    lines = [f"**{FAMILY_TITLES[family]}**: {name}" + (f", {known.sample_rate / 1000:g} kHz" if known else "")]
    dtype = torch.float16 if torch.cuda.is_available() else torch.float32
    size = weights_bytes(resolved, dtype)
    problems = [problem for problem in (dependency_problem(model_index(resolved)), memory_problem(resolved, dtype))
                if problem]
    if known and known.gated and not os.environ.get("HF_TOKEN") and not resolved.local:
        problems.append("It is gated: accept its licence on its hub page and set HF_TOKEN (needed to download it).")
    lines += [f"**Missing:** {without_paths(problem)}" for problem in problems]
    if size:
        lines.append(f"Weights: about {size / 1024**3:.1f} GB in {str(dtype).removeprefix('torch.')}; "
                     "loaded on first use (the first generation waits for it).")
    lines.append(_device_line())
    pipeline = _HUB.get(choice)
    if pipeline is not None and pipeline.hub is not None:
        hub = pipeline.hub
        estimate = hub.estimate_seconds(GenerationRequest(text="-"), measure=False)
        if estimate is not None:
            from audiolab.hub.backend import describe_duration

            model = hub.model
            lines.append(f"Measured here: about {describe_duration(estimate)} for {model.default_steps} steps of "
                         f"{min(model.default_seconds, model.max_seconds):g} s (the defaults).")
    return "\n\n".join(lines)


def on_model_change(choice: str) -> tuple[Any, Any, str, str]:
    """A new choice: the class pickers list the preset's labels (a hub model has none) and the status updates."""
    from audiolab.ui.generation import labels_for_preset

    status = model_status(choice)
    if not is_hub_choice(choice):
        label, reference_label, count = labels_for_preset(choice)
        return label, reference_label, count, status
    note = ("A hub model is conditioned on text: use the Text or Reference tab (class labels belong to the "
            "built-in presets).")
    return gr.update(choices=[], value=None), gr.update(choices=[""], value=""), note, status
