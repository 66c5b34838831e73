"""audiolab in the browser: a thin Gradio UI over `audiolab.AudioLabPipeline`.

Run `python app.py` and open the printed address. Every handler builds its request, calls the
pipeline, draws the result with `audiolab.core.plots`, and returns; errors reach the page as messages.
This file only assembles the page: each tab's widgets and handlers live in `audiolab/ui/`.
"""

from __future__ import annotations

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline-first: no usage pings

import gradio as gr

from audiolab.core.choices import DEFAULT_PRESET
from audiolab.core.presets import list_presets
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
from audiolab.ui.restoration import build_restoration_tab
from audiolab.ui.vocoder import build_vocoder_tab

__all__ = ["build_app", "labels_for_preset", "main"]  # labels_for_preset: re-exported for callers of `app`


def build_app(default_preset: str = DEFAULT_PRESET) -> gr.Blocks:
    """The whole page: the header, the preset picker shared by every tab, and the six tabs."""
    defaults = load_preset(default_preset)
    with gr.Blocks(title="audiolab: audio diffusion you can watch") as demo:
        gr.Markdown(
            "# audiolab\nGenerate sounds by reversing a noise process, and watch it happen: every tab shows the "
            "trajectory, and any kept step is one click from your ears. Runs offline on a CPU with built-in models."
        )
        presets = list_presets()
        # A preset given by path (not built in) still has to be a choice for the dropdown to show it.
        choices = presets if default_preset in presets else [default_preset, *presets]
        preset = gr.Dropdown(choices, value=default_preset, label="Preset (built-in models)")
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
        preset.change(labels_for_preset, preset, [label, reference_label, class_count], api_name=False).then(
            class_examples_for_preset, preset, class_examples, api_name=False)
    return demo


def main() -> None:
    """Serve the page locally, one model job at a time."""
    demo = build_app(os.environ.get("AUDIOLAB_PRESET", DEFAULT_PRESET))
    demo.queue(default_concurrency_limit=1).launch(
        allowed_paths=[str(example_folder())], max_file_size="100mb",
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
    )


if __name__ == "__main__":
    main()
