"""Hugging Face Spaces: a hub model's sampling inside ZeroGPU's `spaces.GPU`, with no effect anywhere else.

On a ZeroGPU Space a GPU is lent only while a function decorated with `@spaces.GPU(duration=...)` runs, for at most
that many seconds; the duration may be a function of the call's arguments, so it follows the step count and the
length asked for (`gpu_duration`). Where the `spaces` package is not installed (a laptop, CPU-basic, a plain GPU
Space) the import fails quietly and the work runs in place, with its Stop callback.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from audiolab.generation.pipeline import GenerationRequest

if TYPE_CHECKING:
    from audiolab.core.diffusion import Step
    from audiolab.core.result import Result
    from audiolab.hub.backend import HubGenerator

try:  # preinstalled on ZeroGPU Spaces; absent everywhere else
    import spaces  # type: ignore[import-not-found]
except ImportError:
    spaces = None

# Rough seconds of one guided model call per 10 s of audio on ZeroGPU's GPU (an A100 share), by family; Stable
# Audio Open always runs its whole 47.55 s window. A first call also pays for moving the weights onto the GPU.
GPU_SECONDS_PER_CALL = {"audioldm2": 0.05, "stable_audio": 0.15, "stable_audio_3": 0.1}
GPU_OVERHEAD_SECONDS = 20
MAX_GPU_SECONDS = 300  # ZeroGPU refuses longer requests; fewer steps or a shorter sound then

# ZeroGPU runs the decorated function in a process forked from this one: only the model's name and the request (both
# picklable) cross over, and the fork finds the loaded model here. Models are registered, never evicted.
_BACKENDS: dict[str, "HubGenerator"] = {}


def gpu_duration(name: str, request: GenerationRequest) -> int:
    """Seconds of GPU to ask for: model calls × a call's rough cost at this length, plus loading, at most 300."""
    backend = _BACKENDS[name]
    family = backend.model.loaded.family
    seconds = float(request.seconds or backend.model.default_seconds)
    length = 1.0 if family == "stable_audio" else seconds / 10.0
    steps = int(request.steps or backend.model.default_steps)
    calls = steps * int(getattr(backend.model.pipe.scheduler, "order", 1)) + steps // (request.keep_every or 1) + 2
    return min(MAX_GPU_SECONDS, math.ceil(GPU_OVERHEAD_SECONDS + calls * GPU_SECONDS_PER_CALL[family] * length))


def _sample_by_name(name: str, request: GenerationRequest) -> Iterator["Step | Result"]:
    yield from _BACKENDS[name].sample_iter(request)


_sample_on_gpu: Callable[..., Any] = (spaces.GPU(duration=gpu_duration)(_sample_by_name) if spaces is not None
                                      else _sample_by_name)


def run_on_gpu(backend: "HubGenerator", request: GenerationRequest,
               stop: Callable[[], bool] | None = None) -> Iterator["Step | Result"]:
    """`backend.sample_iter(request)`, inside `spaces.GPU` on a ZeroGPU Space, in place everywhere else."""
    if spaces is None:
        yield from backend.sample_iter(request, stop)
        return
    _BACKENDS[backend.name] = backend
    yield from _sample_on_gpu(backend.name, request)
