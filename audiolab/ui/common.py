"""What every tab shares: the pipeline cache, error display, result summaries and the step listener."""

from __future__ import annotations

import functools
import inspect
import logging
import re
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr

from audiolab.core.stopping import Stopped
from audiolab.pipeline import AudioLabPipeline, Result

# Every event that runs a model or draws a figure shares one queue: one CPU job at a time keeps clicks
# fast and deterministic (torch's RNG and pyplot are process-wide).
MODEL_QUEUE = "model"
# Generation has its own group that admits many clicks at once: they wait together in the pipeline's batcher
# (`generation/batching.py`), which runs the model one batch at a time, so N waiting users share its calls.
GENERATION_QUEUE = "generation"
GENERATION_CONCURRENCY = 16

X0_HAT_CHOICE = "x̂_0 (clean estimate)"
X_T_CHOICE = "x_t (noisy state)"
WHICH_STEP_CHOICES = [X0_HAT_CHOICE, X_T_CHOICE]

Component = gr.components.Component
Widgets = dict[str, Component]  # a tab's widgets by short name, for the function that wires them
Event = gr.events.Dependency  # what an event listener returns: something to chain after, or to cancel

UNEXPECTED_ERROR = ("Something went wrong on the server; the inputs are kept. Try again, or try other settings or "
                    "another recording.")
# An absolute path: a slash (or a drive letter) that does not follow a word, a dot, a colon or another slash, so
# "and/or", "1/2", "L1 / MR-STFT", "../x" and URLs stay as they are. Group 1 is the path's last part.
ABSOLUTE_PATH = re.compile(r"(?<![\w.:/\\])(?:/|[A-Za-z]:\\)(?:[^\s/\\'\"]+[/\\])*([^\s/\\'\",;:()]+)")

logger = logging.getLogger(__name__)
_PIPELINES: dict[str, AudioLabPipeline] = {}  # the one cache: a pipeline per preset, built on first use


def get_pipeline(preset: str) -> AudioLabPipeline:
    """The preset's pipeline, loaded on first use and kept for the life of the process; a hub id or a local
    diffusers folder gets the default preset's pipeline with that model generating (`ui/models.py`)."""
    from audiolab.hub.models import is_hub_choice

    if is_hub_choice(preset):
        from audiolab.ui.models import hub_pipeline

        return hub_pipeline(preset)
    if preset not in _PIPELINES:
        _PIPELINES[preset] = AudioLabPipeline.from_preset(preset)
    return _PIPELINES[preset]


def shows_errors(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Show the library's ValueErrors and a stopped run's message on the page (naming files, never their folders), and
    any other failure as a short generic message, logged here with its traceback; the inputs stay as they were."""

    # A streaming handler must stay a generator function, or Gradio would not stream it.
    if inspect.isgeneratorfunction(handler):

        @functools.wraps(handler)
        def streaming(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from handler(*args, **kwargs)
            except Exception as error:
                raise page_error(handler, error) from error

        return streaming

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as error:
            raise page_error(handler, error) from error

    return wrapped


def page_error(handler: Callable[..., Any], error: Exception) -> gr.Error:
    """The message a failed handler shows: a ValueError's own words, anything else the generic line."""
    if isinstance(error, gr.Error):  # already worded for the page (gr.Error is itself a ValueError)
        return error
    if isinstance(error, (ValueError, Stopped)):
        return gr.Error(without_paths(str(error)))
    logger.exception("%s failed", handler.__qualname__)  # the traceback stays in the server's log
    return gr.Error(UNEXPECTED_ERROR)


def without_paths(message: str) -> str:
    """`message` with every absolute path cut to its last part: a file's name, not where the server keeps it."""
    return ABSOLUTE_PATH.sub(lambda match: match.group(1), message)


def pipeline_audio(pipeline: AudioLabPipeline, audio: Any) -> tuple[int, Any]:
    """A waveform at the pipeline's rate, as a numpy-type gr.Audio takes it."""
    return (pipeline.sample_rate, audio)


def result_summary(result: Result) -> str:
    """The method, its timings and its notes, as Markdown."""
    timings = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result.timings.items())
    lines = [f"**Method:** {result.method}", f"**Time:** {timings}"]
    lines += [f"*{note}*" for note in result.notes]
    return "\n\n".join(lines)


def summary_markdown() -> gr.Markdown:
    """Where a tab's result summary goes. A Markdown shows no label, but the label names the output in the API."""
    return gr.Markdown(label="Summary")


def step_choices(result: Result) -> list[tuple[str, int]]:
    """(label, index) of each kept step: the reverse trajectory, or the forward one when there is none."""
    steps = result.reverse or result.forward
    return [(step.label, index) for index, step in enumerate(steps)]


def reset_step_picker(result: Result) -> dict[str, Any]:
    """Offer the new result's steps, with none chosen (so an old step's audio is not replayed)."""
    return gr.update(choices=step_choices(result), value=None)


@shows_errors
def listen_to_step(preset: str, result: Result | None, index: int | None, which: str) -> tuple[int, Any] | None:
    """The audio of one kept step: its noisy state x_t or its clean estimate x̂_0."""
    if result is None or index is None:
        return None
    pipeline = get_pipeline(preset)
    kind = "x_t" if which.startswith("x_t") else "x0_hat"
    return (result.sample_rate, pipeline.step_audio(result, int(index), kind))  # a hub model's rate may differ


def step_listener(which_value: str) -> tuple[gr.Dropdown, gr.Radio, gr.Audio]:
    """A row to play any kept step: the step picker, x_t or x̂_0, and the player."""
    with gr.Row():
        picker = gr.Dropdown([], label="Listen to a kept step", value=None)
        which = gr.Radio(WHICH_STEP_CHOICES, value=which_value, label="Which")
        step_audio = gr.Audio(label="Audio of that step", type="numpy", interactive=False)
    return picker, which, step_audio


def wire_step_listener(
    preset: gr.Dropdown, state: gr.State, picker: gr.Dropdown, which: gr.Radio, step_audio: gr.Audio
) -> None:
    """Play the chosen step whenever the user picks a step or x_t / x̂_0 (no API endpoint). On the user's input
    only: a run resetting the picker is no reason to queue a job behind everyone's model runs."""
    for trigger in (picker.input, which.input):
        trigger(listen_to_step, [preset, state, picker, which], step_audio, api_name=False, concurrency_id=MODEL_QUEUE)


def _button_updates(count: int, interactive: bool) -> str:
    """A browser-side function (no server round trip) that makes `count` buttons (non-)interactive."""
    update = f"{{__type__: 'update', interactive: {'true' if interactive else 'false'}}}"
    return f"() => [{', '.join([update] * count)}]"


def hold_while_loading(dataset: gr.Dataset, loaded: Event, *buttons: gr.Button) -> None:
    """Keep `buttons` disabled from a click on an example until the example's values have reached its inputs.

    An example fills its inputs from the server's reply to the click, and a button's event reads its inputs in
    the browser when it is clicked: clicked before that reply, it would send the inputs as they were (no
    recording at all). Both updates run in the browser, so the first lands before any later click can.
    """
    dataset.select(None, None, list(buttons), js=_button_updates(len(buttons), False), queue=False,
                   show_progress="hidden", api_name=False)
    loaded.then(None, None, list(buttons), js=_button_updates(len(buttons), True), queue=False,
                show_progress="hidden", api_name=False)


def hold_for_examples(examples: gr.Examples, *buttons: gr.Button) -> None:
    """`hold_while_loading` for a gr.Examples: its dataset and the event that loads a clicked example."""
    hold_while_loading(examples.dataset, examples.load_input_event, *buttons)

