"""audiolab in the browser: a thin Gradio UI over `audiolab.AudioLabPipeline`.

Run `python app.py` and open the printed address. Every handler builds its request, calls the
pipeline, draws the result with `audiolab.core.plots`, and returns; errors reach the page as messages.
This file only assembles the page: each tab's widgets and handlers live in `audiolab/ui/`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline-first: no usage pings

import gradio as gr

from audiolab.core.choices import DEFAULT_PRESET
from audiolab.examples import example_folder
from audiolab.generation.preset import load_preset
from audiolab.ui.explorer import build_explorer_tab
from audiolab.ui.generation import (
    build_class_tab,
    build_reference_tab,
    build_text_tab,
    class_examples_for_preset,
    labels_for_preset,
)
from audiolab.ui.models import model_dropdown, model_status, on_model_change
from audiolab.ui.restoration import build_restoration_tab
from audiolab.ui.vocoder import build_vocoder_tab

# labels_for_preset: re-exported for callers of `app`
__all__ = ["MAX_UPLOAD_SIZE", "build_app", "labels_for_preset", "launch_settings", "main"]

REPOSITORY = Path(__file__).resolve().parent
MAX_UPLOAD_SIZE = "100mb"  # about ten minutes of 16-bit stereo WAV at 44.1 kHz; far longer as FLAC or MP3


def build_app(default_preset: str = DEFAULT_PRESET) -> gr.Blocks:
    """The whole page: the header, the model picker shared by every tab (built-in presets, hub models, a local
    diffusers folder) with what the choice needs, and the six tabs."""
    defaults = load_preset(default_preset)
    with gr.Blocks(title="audiolab: audio diffusion you can watch") as demo:
        gr.Markdown(
            "# audiolab\nGenerate sounds by reversing a noise process, and watch it happen: every tab shows the "
            "trajectory, and any kept step is one click from your ears. Runs offline on a CPU with built-in models."
        )
        preset = model_dropdown(default_preset)  # a preset given by path (not built in) is listed too
        status = gr.Markdown(model_status(default_preset))
        last_generated = gr.State(None)  # the latest generation, for the Vocoder tab

        with gr.Tab("Text to audio"):
            build_text_tab(preset, defaults, last_generated)
        with gr.Tab("Class label"):
            label, class_count, class_examples = build_class_tab(preset, default_preset, defaults, last_generated)
        with gr.Tab("Reference audio"):
            reference_label = build_reference_tab(preset, defaults, last_generated)
        with gr.Tab("Vocoder"):
            build_vocoder_tab(preset, defaults, last_generated)
        with gr.Tab("Denoise & restore"):
            build_restoration_tab(preset)
        with gr.Tab("Diffusion explorer"):
            build_explorer_tab(preset, defaults)
        # The examples change after the pickers, so a picked example is never overwritten by the preset's first class.
        preset.change(on_model_change, preset, [label, reference_label, class_count, status], api_name=False).then(
            class_examples_for_preset, preset, class_examples, api_name=False)
    return demo


def launch_settings(max_file_size: str | int = MAX_UPLOAD_SIZE) -> dict[str, Any]:
    """How `main` serves the page: the files it may hand out, the upload cap, errors and the address.

    Gradio serves uploads and its own cache; besides them only the examples folder is allowed. The repository's
    code and models are blocked as well, since a blocked path wins over any path allowed later.
    """
    return {
        "allowed_paths": [str(example_folder())],
        "blocked_paths": [str(REPOSITORY / name) for name in ("app.py", "audiolab", "presets", "tests", ".git")],
        "max_file_size": max_file_size,
        "show_error": False,  # handlers word their own messages (ui/common.py); anything else must not reach the page
        "server_name": os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
    }


def main() -> None:
    """Serve the page locally, one model job at a time. AUDIOLAB_PRELOAD (comma-separated hub ids or folders) loads
    hub models at start-up, as a ZeroGPU Space needs: its GPU functions run in processes forked from this one."""
    from audiolab.ui.common import get_pipeline

    for choice in filter(None, (c.strip() for c in os.environ.get("AUDIOLAB_PRELOAD", "").split(","))):
        get_pipeline(choice)
    demo = build_app(os.environ.get("AUDIOLAB_PRESET", DEFAULT_PRESET))
    demo.queue(default_concurrency_limit=1).launch(**launch_settings())


if __name__ == "__main__":
    main()
