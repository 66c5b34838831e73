"""Loading a hub pipeline on demand, and saying plainly, before any weight is read, why one cannot be loaded.

`load_model` resolves a hub id or a local diffusers folder (`models.resolve_model`), checks what the load needs
(the scheduler's packages, the memory), and loads the pipeline class its `model_index.json` names. Every failure is
one ValueError sentence that says what to change; the built-in presets never come here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from audiolab.hub.models import (
    Family,
    ResolvedModel,
    known_model,
    offline_message,
    pipeline_family,
    resolve_model,
)

# Schedulers whose noise comes from a Brownian tree: they import torchsde when they step.
SDE_SCHEDULERS = ("CosineDPMSolverMultistepScheduler", "DPMSolverSDEScheduler")
MEMORY_MARGIN = 1.25  # weights plus activations, the text encoders' outputs and decoded audio on top
GIB = 1024**3


@dataclass
class LoadedModel:
    """A loaded diffusers pipeline and what was resolved to load it."""

    pipe: Any  # a diffusers DiffusionPipeline of one of the supported families
    family: Family
    resolved: ResolvedModel
    name: str  # the hub id, or the folder's name (never its path: names reach the page)
    device: torch.device
    dtype: torch.dtype


def default_device() -> str:
    """CUDA where there is a GPU (a GPU Space; on ZeroGPU `spaces` makes CUDA visible), else the CPU."""
    return "cuda" if torch.cuda.is_available() else "cpu"


def display_name(resolved: ResolvedModel) -> str:
    return Path(resolved.source).name if resolved.local else resolved.source


def model_index(resolved: ResolvedModel) -> dict[str, Any]:
    """The resolved model's `model_index.json` (a local file, or the copy the hub download left in the cache)."""
    if resolved.local:
        path = Path(resolved.source) / "model_index.json"
    else:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(resolved.source, "model_index.json")
        if not isinstance(cached, str):
            return {}
        path = Path(cached)
    return json.loads(path.read_text(encoding="utf-8"))


def weights_bytes(resolved: ResolvedModel, dtype: torch.dtype = torch.float32) -> int | None:
    """What the weights take in memory at `dtype`: a local folder's weight files (one variant), or the known
    parameter count of a hub model. None when neither is known."""
    width = torch.finfo(dtype).bits // 8
    if resolved.local:
        files = [f for f in Path(resolved.source).rglob("*.safetensors") if ".fp16." not in f.name]
        files = files or [f for f in Path(resolved.source).rglob("*.bin") if ".fp16." not in f.name]
        stored = sum(f.stat().st_size for f in files)
        return int(stored * width / 4) if stored else None  # the weights are stored in fp32
    known = known_model(resolved.source)
    return int(known.parameters * 1e9 * width) if known else None


def available_memory_bytes() -> int | None:
    """Memory the system can give without swapping (MemAvailable on Linux; psutil elsewhere), or None."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        return None


def memory_problem(resolved: ResolvedModel, dtype: torch.dtype = torch.float32) -> str | None:
    """A sentence when the model will not fit in the free memory, else None."""
    needed, free = weights_bytes(resolved, dtype), available_memory_bytes()
    if needed is None or free is None or needed * MEMORY_MARGIN <= free:
        return None
    return (f"{display_name(resolved)} needs about {needed * MEMORY_MARGIN / GIB:.1f} GB of memory in "
            f"{str(dtype).removeprefix('torch.')}, and this machine has {free / GIB:.1f} GB free: close other "
            "programs, choose a smaller model, or use a machine (or Space hardware) with more memory.")


def dependency_problem(index: dict[str, Any]) -> str | None:
    """A sentence when the checkpoint's scheduler needs a package that is not installed, else None."""
    scheduler = index.get("scheduler", [None, None])[1]
    if scheduler in SDE_SCHEDULERS:
        try:
            import torchsde  # noqa: F401
        except ImportError:
            return f"Its scheduler ({scheduler}) needs the torchsde package: pip install torchsde."
    return None


def _one_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def load_model(id_or_folder: str | Path, device: str | None = None, dtype: torch.dtype | None = None) -> LoadedModel:
    """Load a supported pipeline from a hub id or a local diffusers folder, checked first.

    Half precision on a GPU, float32 on the CPU (where half precision is slower, not faster). A gated model reads
    its token from HF_TOKEN.
    """
    import diffusers

    resolved = resolve_model(id_or_folder)  # offline, gated, unknown: one sentence each
    family = pipeline_family(resolved)
    name = display_name(resolved)
    target = torch.device(device or default_device())
    dtype = dtype or (torch.float16 if target.type == "cuda" else torch.float32)
    index = model_index(resolved)
    for problem in (dependency_problem(index), memory_problem(resolved, dtype)):
        if problem:
            raise ValueError(f"Cannot load {name}: {problem}" if not problem.startswith(name) else problem)
    options: dict[str, Any] = {"dtype": dtype, "token": os.environ.get("HF_TOKEN") or None}
    try:
        if family == "audioldm2":
            # The checkpoints save `language_model` as GPT2Model, which under transformers 5 has no generation
            # helpers and fails in `generate_language_model` (diffusers issue 12630). The same weights load as
            # GPT2LMHeadModel, which has them.
            from transformers import GPT2LMHeadModel

            options["language_model"] = GPT2LMHeadModel.from_pretrained(
                resolved.source, subfolder="language_model", dtype=dtype, token=options["token"])
        pipe = getattr(diffusers, resolved.pipeline_class).from_pretrained(resolved.source, **options)
    except OSError as error:  # missing files, and offline: nothing to download them from
        if resolved.local:
            raise ValueError(f"Cannot load {name}: {_one_line(error)}") from error
        raise ValueError(offline_message(resolved.source, type(error).__name__)) from error
    pipe.to(target)
    pipe.set_progress_bar_config(disable=True)
    return LoadedModel(pipe, family, resolved, name, target, dtype)
