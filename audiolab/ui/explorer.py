"""The Diffusion explorer tab: the forward process applied to a recording, every noised step playable."""

from __future__ import annotations

from typing import Any

import gradio as gr

from audiolab.core import plots
from audiolab.core.diffusion import BETA_SCHEDULES
from audiolab.examples import example_recordings
from audiolab.generation.preset import Preset
from audiolab.pipeline import DEFAULT_FORWARD_T, Result
from audiolab.ui.common import (
    MODEL_QUEUE,
    Widgets,
    get_pipeline,
    hold_for_examples,
    reset_step_picker,
    result_summary,
    shows_errors,
    summary_markdown,
)
from audiolab.ui.runs import wire_run_start

FORWARD_T_CHOICES = [0, 10, 50, 100, 200, 350, 500, 750, 900, 999]
MEL_DOMAIN = "mel (what the generator diffuses)"
EXPLORER_HELP = ("The forward process q(x_t | x_0) = N(√ᾱ_t·x_0, (1 − ᾱ_t)·I) applied to a recording: "
                 "in the mel domain (what the generator diffuses) or on the waveform itself.")


@shows_errors
def run_explorer(
    preset: str, recording: str | None, timesteps: list[int], schedule: str, domain: str, seed: float
) -> tuple[Any, Any, Any, Any, str]:
    """Noise the recording to each chosen t; the trajectory, the schedule with those t marked, and the step picker."""
    if recording is None:
        raise ValueError("Upload or record a recording, or pick an example, to watch it being noised.")
    pipeline = get_pipeline(preset)
    result = pipeline.diffuse(recording, timesteps=sorted(int(t) for t in timesteps), schedule=schedule,
                              domain="waveform" if domain.startswith("waveform") else "mel", seed=seed)
    figure = plots.trajectory_figure(
        result.forward, f"Forward process, {schedule} schedule", lambda x: pipeline.display_mel(x, result.domain),
        show_estimate=False,
    )
    schedule_plot = plots.schedule_figure(pipeline.preset.num_train_timesteps, marks=[int(s.t) for s in result.forward])
    return figure, schedule_plot, result, reset_step_picker(result), result_summary(result)


@shows_errors
def listen_to_forward(preset: str, result: Result | None, index: int | None) -> tuple[int, Any] | None:
    """The audio of the noised recording x_t at one of the chosen t."""
    if result is None or index is None:
        return None
    pipeline = get_pipeline(preset)
    return (result.sample_rate, pipeline.step_audio(result, int(index), "x_t"))


def build_explorer_tab(preset: gr.Dropdown, defaults: Preset) -> None:
    """The Diffusion explorer tab, with its `diffuse` endpoint."""
    gr.Markdown(EXPLORER_HELP)
    inputs = _explorer_inputs(defaults)
    button = gr.Button("Diffuse", variant="primary")
    summary = summary_markdown()
    plot = gr.Plot(label="Forward trajectory")
    schedule_plot = gr.Plot(label="Schedules")
    with gr.Row():
        picker = gr.Dropdown([], label="Listen to x_t at", value=None)
        audio = gr.Audio(label="Audio of x_t", type="numpy", interactive=False)
    state = gr.State(None)
    recordings = example_recordings(defaults.sample_rate)
    examples = gr.Examples([[str(path)] for path in recordings.values()][:3], [inputs["recording"]],
                           label="Example recordings")
    hold_for_examples(examples, button)
    wire_run_start(button, [plot, schedule_plot, state, picker, audio], summary)
    button.click(run_explorer,
                 [preset, *(inputs[k] for k in ("recording", "timesteps", "schedule", "domain", "seed"))],
                 [plot, schedule_plot, state, picker, summary], api_name="diffuse", concurrency_id=MODEL_QUEUE,
                 show_progress_on=[plot, schedule_plot])  # not the summary
    picker.input(listen_to_forward, [preset, state, picker], audio, api_name=False, concurrency_id=MODEL_QUEUE)


def _explorer_inputs(defaults: Preset) -> Widgets:
    """The recording, the timesteps to show, the schedule, the domain and the seed."""
    with gr.Row():
        recording = gr.Audio(label="Recording", type="filepath")
        with gr.Column():
            timesteps = gr.CheckboxGroup(FORWARD_T_CHOICES, value=list(DEFAULT_FORWARD_T), label="Timesteps t to show")
            schedule = gr.Radio(list(BETA_SCHEDULES), value=defaults.schedule_kind, label="Schedule")
            domain = gr.Radio([MEL_DOMAIN, "waveform"], value=MEL_DOMAIN, label="Domain")
            seed = gr.Number(0, precision=0, label="Seed")
    return {"recording": recording, "timesteps": timesteps, "schedule": schedule, "domain": domain, "seed": seed}
