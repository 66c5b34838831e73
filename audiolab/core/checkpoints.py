"""Reading and writing safetensors checkpoints: float16 on disk, float32 in memory, metadata that says what made them.

Each task's package builds its networks and calls these (`generation/preset.py`, `vocoder/preset.py`,
`restoration/preset.py`).
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def save_half(path: Path, state: dict[str, torch.Tensor], metadata: dict[str, str]) -> Path:
    """Floating-point tensors in float16 (half the file; they load back as float32), the rest as they are."""
    tensors = {k: v.detach().half().contiguous() if v.is_floating_point() else v.detach().contiguous()
               for k, v in state.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(path), metadata=dict(metadata))
    return path


def read_checkpoint(checkpoint: Path, what: str, command: str) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file; a ValueError that says how to get it back otherwise."""
    from safetensors import SafetensorError, safe_open

    if not checkpoint.is_file():
        raise ValueError(f"{what} checkpoint {checkpoint.name} is missing; train it with `{command}`.")
    try:
        with safe_open(str(checkpoint), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
        return load_file(str(checkpoint)), metadata
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{what} checkpoint {checkpoint.name} is unreadable ({error}); retrain or restore it.") from error


def load_weights(module: torch.nn.Module, tensors: dict[str, torch.Tensor], checkpoint: Path, preset_file: Path,
                 what: str) -> None:
    """Float32 copies of `tensors` into `module`; a ValueError if the checkpoint and the preset disagree."""
    try:
        module.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in tensors.items()})
    except RuntimeError as error:
        raise ValueError(f"{what} checkpoint {checkpoint.name} does not match {preset_file.name}: {error}") from error
