"""The three generation tabs (Text to audio, Class label, Reference audio): shared settings, outputs and handlers."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import gradio as gr

from audiolab.core import plots
from audiolab.core.diffusion import SAMPLER_TITLES, SAMPLERS
from audiolab.core.pace import RunClock, Work
from audiolab.examples import EXAMPLE_PROMPTS, example_recordings
from audiolab.generation.preset import Preset, load_preset
from audiolab.pipeline import AudioLabPipeline, Result, Step
from audiolab.ui.common import (
    GENERATION_CONCURRENCY,
    GENERATION_QUEUE,
    X0_HAT_CHOICE,
    Event,
    Widgets,
    get_pipeline,
    hold_for_examples,
    hold_while_loading,
    reset_step_picker,
    result_summary,
    shows_errors,
    step_listener,
    summary_markdown,
    wire_step_listener,
)
from audiolab.ui.runs import (
    PACE,
    estimate_summary,
    run_buttons,
    run_control,
    running_summary,
    stopped_outputs,
    wire_run_start,
    wire_stop,
)

SAMPLER_CHOICES = [(SAMPLER_TITLES[name], name) for name in SAMPLERS]
VOCODER_CHOICES = [("Diffusion vocoder", "diffusion"), ("Griffin-Lim", "griffinlim")]
REFERENCE_MODE_CHOICES = [("Variation (SDEdit): keep its structure", "variation"),
                          ("Style: a new sound like it", "style")]
REFERENCE_HELP = (
    "Two ways to start from a recording. **Variation** (SDEdit): the reference's mel is noised to "
    "*strength* and the reverse process runs from there under the prompt or class, so its structure "
    "survives (strength 0 keeps it, 1 ignores it). **Style**: a trained audio encoder places the "
    "reference in the same space as text prompts, and a fresh sound is generated from that point: "
    "like the reference, not a copy of it. With a prompt, *style weight* blends the two "
    "(0 = only the prompt, 1 = only the reference)."
)
EXAMPLE_CLASSES = 6  # how many of the preset's classes the Class tab offers as examples


# ---- handlers ---------------------------------------------------------------------------------------


def make_generation_handler(require_reference: bool, tab: str) -> Callable[..., Iterator[tuple[Any, ...]]]:
    """The handler behind a generation tab (`tab`: its endpoint, whose Stop it obeys); the Reference tab's
    insists on a recording."""

    @shows_errors
    def run_generation(
        preset: str,
        text: str | None,
        label: str | None,
        reference: str | None,
        strength: float,
        seconds: float,
        steps: float,
        sampler: str,
        guidance: float,
        seed: float,
        vocoder: str = "diffusion",
        vocoder_steps: float = 6,
        reference_mode: str = "variation",
        style_weight: float = 0.5,
        request: gr.Request | None = None,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream a live x̂_0 and the run's progress (in the summary); then the audio, the trajectory grid and the
        step picker.

        No gr.Progress: a progress report between two streamed previews restarts Gradio's timer, so the summary
        keeps the time instead (steps done, time elapsed since the start, time left). On Stop it ends at the next
        step, keeping the last preview.
        """
        if require_reference and reference is None:
            raise ValueError("Upload or record a reference recording (or pick an example) to make a variation of.")
        with run_control(request, tab) as control:
            if control.stop.is_set():  # stopped while it waited in the queue
                yield stopped_outputs(7, 5)
                return
            pipeline = get_pipeline(preset)
            work = generation_work(preset, steps, seconds, vocoder)
            estimate, clock = estimate_summary(work), RunClock()
            ahead = pipeline.generation_load()
            if ahead:  # generation has its own queue (the batcher), which Gradio's status tracker does not see
                yield waiting_outputs(estimate, ahead)
            for item in pipeline.generate_iter(
                text=text, label=label or None, reference=reference, strength=strength, seconds=seconds,
                steps=int(steps), sampler=sampler, guidance=guidance, seed=seed, preview_every=1,
                vocoder=vocoder, vocoder_steps=int(vocoder_steps) if vocoder == "diffusion" else None,
                reference_mode=reference_mode, style_weight=float(style_weight),
            ):
                if control.stop.is_set():
                    yield stopped_outputs(7, 5)
                    return
                if not isinstance(item, Step):
                    PACE.record_timings(work, item.timings)
                    yield result_outputs(pipeline, item)
                elif item.index == item.total or clock.due():  # drawing every step would slow it; twice a second is live
                    done = min(item.index + 1, item.total)
                    yield preview_outputs(item, running_summary(estimate, clock, done, item.total))

    return run_generation


def waiting_outputs(estimate: str, ahead: int) -> tuple[Any, ...]:
    """A generation tab's summary while its request waits for the model: its place in the queue."""
    line = (f"**Queue:** position {ahead + 1}: the model is busy with {ahead} other request{'s' if ahead > 1 else ''}; "
            "yours starts with the next batch (requests with the same settings share one).")
    return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(), "\n\n".join(p for p in (estimate, line) if p), gr.skip()


def preview_outputs(step: Step, summary: str) -> tuple[Any, ...]:
    """A generation tab's outputs while it samples: the live x̂_0, and its progress in the summary."""
    return gr.skip(), plots.spectrogram_image(step.x0_hat), gr.skip(), gr.skip(), gr.skip(), summary, gr.skip()


def result_outputs(pipeline: AudioLabPipeline, result: Result) -> tuple[Any, ...]:
    """A generation tab's outputs at the end: the audio, the trajectory grid, the step picker and the summary (and
    the result twice: the tab's own, and the Vocoder tab's last generation)."""
    figure = plots.trajectory_figure(result.reverse, "Reverse trajectory: x_t (top) and x̂_0 (bottom)")
    audio = (result.sample_rate, result.audio)  # a hub model's own rate, which need not be the preset's
    return (audio, gr.skip(), figure, result, reset_step_picker(result), result_summary(result), result)


def generation_work(preset: str, steps: float, seconds: float, vocoder: str) -> Work:
    """A generation's size, for its estimate: its steps over its seconds, with this preset and vocoder."""
    return Work(f"generation {preset} {vocoder}", int(steps), float(seconds))


@shows_errors
def labels_for_preset(preset: str) -> tuple[Any, Any, str]:
    """When the preset changes, the class pickers list its labels."""
    labels = list(load_preset(preset).labels)
    return (gr.update(choices=labels, value=labels[0]), gr.update(choices=[""] + labels, value=""),
            class_count(preset, labels))


@shows_errors
def class_examples_for_preset(preset: str) -> gr.Dataset:
    """When the preset changes, the example classes are the new preset's."""
    return gr.Dataset(samples=class_example_rows(load_preset(preset).labels))


def class_example_rows(labels: Sequence[str]) -> list[list[str]]:
    """The example classes, one per row: the preset's first few."""
    return [[name] for name in labels[:EXAMPLE_CLASSES]]


def pick_example_class(row: list[str]) -> str:
    """A clicked example class becomes the picker's value; its choices (the preset's classes) stay."""
    return row[0]


def class_count(preset: str, labels: list[str]) -> str:
    """How many classes the preset knows, and the command that lists them."""
    return f"Preset **{preset}** knows {len(labels)} classes (`python -m audiolab labels --preset {preset}`)."


# ---- widgets and wiring shared by the three tabs ----------------------------------------------------


def generation_controls(defaults: Preset) -> Widgets:
    """The sampling settings every generation tab shares."""
    with gr.Accordion("Sampling settings", open=True):
        with gr.Row():
            seconds = gr.Slider(0.5, defaults.max_seconds, value=defaults.default_seconds, step=0.5, label="Seconds")
            steps = gr.Slider(1, 1000, value=defaults.sampler.steps, step=1, label="Steps")
            guidance = gr.Slider(0, 10, value=defaults.sampler.guidance, step=0.5,
                                 label="Guidance scale (0 = unconditional)")
        with gr.Row():
            sampler = gr.Dropdown(SAMPLER_CHOICES, value=defaults.sampler.name, label="Sampler")
            seed = gr.Number(0, precision=0, label="Seed")
        with gr.Row():
            vocoder = gr.Radio(VOCODER_CHOICES, value=defaults.vocoder_method, label="Vocoder (mel -> waveform)")
            vocoder_steps = gr.Slider(1, 50, value=6, step=1, label="Diffusion vocoder steps")
    return {"seconds": seconds, "steps": steps, "guidance": guidance, "sampler": sampler, "seed": seed,
            "vocoder": vocoder, "vocoder_steps": vocoder_steps}


def generation_outputs() -> Widgets:
    """The audio, the live x̂_0 preview, the trajectory and the step listener of a generation tab."""
    with gr.Row():
        audio = gr.Audio(label="Generated audio", type="numpy", interactive=False)
        preview = gr.Image(label="Live x̂_0 while sampling", height=160, interactive=False)
    summary = summary_markdown()
    figure = gr.Plot(label="Reverse trajectory")
    picker, which, step_audio = step_listener(X0_HAT_CHOICE)
    state = gr.State(None)
    return {"audio": audio, "preview": preview, "summary": summary, "figure": figure, "picker": picker,
            "which": which, "step_audio": step_audio, "state": state}


def wire_generation_start(button: gr.Button, stop: gr.Button, preset: gr.Dropdown, controls: Widgets,
                          outputs: Widgets, tab: str) -> None:
    """When a generation tab's button is clicked, before the run (register it first): empty its outputs, show the
    estimate and enable Stop."""
    cleared = [outputs[k] for k in ("audio", "preview", "figure", "state", "picker", "step_audio")]
    wire_run_start(button, cleared, outputs["summary"], stop, tab, generation_work,
                   [preset, controls["steps"], controls["seconds"], controls["vocoder"]])


def wire_generation(
    button: gr.Button, preset: gr.Dropdown, text: Any, label: Any, reference: Any, strength: Any,
    controls: Widgets, outputs: Widgets, api_name: str, last_generated: gr.State,
    reference_controls: tuple[Any, ...] = (),
) -> Event:
    """Generate on click (the tab's API endpoint), and play kept steps; a missing input is passed as None.
    Returns the run, for its Stop."""
    handler = make_generation_handler(require_reference=reference is not None, tab=api_name)
    none = gr.State(None)
    inputs = [preset, text or none, label or none, reference or none, strength or gr.State(0.6),
              controls["seconds"], controls["steps"], controls["sampler"], controls["guidance"], controls["seed"],
              controls["vocoder"], controls["vocoder_steps"], *reference_controls]
    targets = [outputs[k] for k in ("audio", "preview", "figure", "state", "picker", "summary")] + [last_generated]
    run = button.click(handler, inputs, targets, api_name=api_name, concurrency_id=GENERATION_QUEUE,
                       concurrency_limit=GENERATION_CONCURRENCY,
                       show_progress_on=[outputs["audio"], outputs["preview"], outputs["figure"]])  # not the summary
    wire_step_listener(preset, outputs["state"], outputs["picker"], outputs["which"], outputs["step_audio"])
    return run


# ---- the tabs ---------------------------------------------------------------------------------------


def build_text_tab(preset: gr.Dropdown, defaults: Preset, last_generated: gr.State) -> None:
    """Text to audio: a prompt, the sampling settings, and example prompts."""
    prompt = gr.Textbox(label="Prompt", placeholder="e.g. an ambulance passing by", lines=1)
    controls = generation_controls(defaults)
    button, stop = run_buttons("Generate")
    outputs = generation_outputs()
    examples = gr.Examples([[p] for p in EXAMPLE_PROMPTS], [prompt], label="Example prompts")
    hold_for_examples(examples, button)
    wire_generation_start(button, stop, preset, controls, outputs, "generate_text")
    run = wire_generation(button, preset, prompt, None, None, None, controls, outputs, "generate_text", last_generated)
    wire_stop(stop, button, run, outputs["summary"], "generate_text")


def build_class_tab(
    preset: gr.Dropdown, default_preset: str, defaults: Preset, last_generated: gr.State
) -> tuple[gr.Dropdown, gr.Markdown, gr.Dataset]:
    """Class label: one of the preset's classes. Returns the class picker, the class count and the example
    classes, for preset changes."""
    count = gr.Markdown(class_count(default_preset, list(defaults.labels)))
    label = gr.Dropdown(list(defaults.labels), value=defaults.labels[0], label="Class")
    controls = generation_controls(defaults)
    button, stop = run_buttons("Generate")
    outputs = generation_outputs()
    # Not gr.Examples: it loads an example with the picker's choices as built, the first preset's classes,
    # so after a preset change a picked example would undo the new preset's choices. Shown as text: a
    # dropdown's example is drawn by its name among those same first choices.
    examples = gr.Dataset(components=["textbox"], samples=class_example_rows(defaults.labels), type="values",
                          label="Example classes")
    picked = examples.click(pick_example_class, examples, label, queue=False, show_progress="hidden", api_name=False)
    hold_while_loading(examples, picked, button)
    wire_generation_start(button, stop, preset, controls, outputs, "generate_label")
    run = wire_generation(button, preset, None, label, None, None, controls, outputs, "generate_label", last_generated)
    wire_stop(stop, button, run, outputs["summary"], "generate_label")
    return label, count, examples


def build_reference_tab(preset: gr.Dropdown, defaults: Preset, last_generated: gr.State) -> gr.Dropdown:
    """Reference audio: a variation or a style transfer of a recording. Returns the optional class picker."""
    gr.Markdown(REFERENCE_HELP)
    inputs = _reference_inputs(defaults)
    controls = generation_controls(defaults)
    button, stop = run_buttons("Generate from the reference")
    outputs = generation_outputs()
    recordings = example_recordings(defaults.sample_rate)
    examples = gr.Examples(
        [[str(recordings["church_bell"]), "style", "", ""],
         [str(recordings["siren"]), "variation", "an ambulance passing by", ""],
         [str(recordings["bird_chirp"]), "style", "rain falling on leaves", ""]],
        [inputs["reference"], inputs["mode"], inputs["prompt"], inputs["label"]],
        label="Example recordings (reference, mode, prompt, class)",
    )
    hold_for_examples(examples, button)
    wire_generation_start(button, stop, preset, controls, outputs, "generate_reference")
    run = wire_generation(button, preset, inputs["prompt"], inputs["label"], inputs["reference"], inputs["strength"],
                          controls, outputs, "generate_reference", last_generated,
                          (inputs["mode"], inputs["style_weight"]))
    wire_stop(stop, button, run, outputs["summary"], "generate_reference")
    return inputs["label"]


def _reference_inputs(defaults: Preset) -> Widgets:
    """The recording, how to use it, and the optional prompt and class."""
    with gr.Row():
        reference = gr.Audio(label="Reference recording", type="filepath")
        with gr.Column():
            mode = gr.Radio(REFERENCE_MODE_CHOICES, value="variation", label="Use the reference for")
            strength = gr.Slider(0, 1, value=0.6, step=0.05, label="Strength (variation)")
            style_weight = gr.Slider(0, 1, value=0.5, step=0.05, label="Style weight against the prompt (style)")
            prompt = gr.Textbox("", label="Prompt (optional)")  # a value makes the API parameter optional
            label = gr.Dropdown([""] + list(defaults.labels), value="", label="Class (optional)")
    return {"reference": reference, "mode": mode, "strength": strength, "style_weight": style_weight,
            "prompt": prompt, "label": label}
