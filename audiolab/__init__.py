"""audiolab: audio diffusion you can watch. The public API is short:

    from audiolab import AudioLabPipeline
    pipe = AudioLabPipeline.from_preset("synth-tiny")
    result = pipe.generate(text="an ambulance passing by", steps=25, seed=0)
    hub = AudioLabPipeline.from_model("cvssp/audioldm2")  # a hub model (or a local diffusers folder) generating

The names below load on first use (PEP 562), so `python -m audiolab --help` does not import torch.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# Everything the built-in presets need is on disk; never reach for the hub unless asked (HF_HUB_OFFLINE=0).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

_PUBLIC = {  # name -> the module that defines it
    "SAMPLERS": "audiolab.core.choices",
    "AudioLabPipeline": "audiolab.pipeline",
    "HubGenerator": "audiolab.hub.backend",
    "Result": "audiolab.core.result",
    "Preset": "audiolab.generation.preset",
    "Schedule": "audiolab.core.diffusion",
    "Step": "audiolab.core.diffusion",
    "list_presets": "audiolab.core.presets",
    "load_preset": "audiolab.generation.preset",
    "make_scheduler": "audiolab.core.diffusion",
    "sample": "audiolab.core.diffusion",
}
__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    if name not in _PUBLIC:
        raise AttributeError(f"module 'audiolab' has no attribute {name!r}")
    return getattr(importlib.import_module(_PUBLIC[name]), name)
