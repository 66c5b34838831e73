"""audiolab: audio diffusion you can watch. The public API is short:

    from audiolab import AudioLabPipeline
    pipe = AudioLabPipeline.from_preset("synth-tiny")
    result = pipe.generate(text="an ambulance passing by", steps=25, seed=0)
"""

import os

# Everything the built-in presets need is on disk; never reach for the hub unless asked (HF_HUB_OFFLINE=0).
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from audiolab.core.diffusion import SAMPLERS, Schedule, Step, make_scheduler, sample
from audiolab.core.presets import list_presets
from audiolab.generation.preset import Preset, load_preset
from audiolab.pipeline import AudioLabPipeline, Result

__all__ = [
    "SAMPLERS",
    "AudioLabPipeline",
    "Preset",
    "Result",
    "Schedule",
    "Step",
    "list_presets",
    "load_preset",
    "make_scheduler",
    "sample",
]
