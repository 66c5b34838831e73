"""The Denoise & restore tab: DiffGMM, score-based diffusion or a classical baseline, scored by DNSMOS and, given the
clean recording, against it."""

from __future__ import annotations

from typing import Any

import gradio as gr

from audiolab.core import plots, quality
from audiolab.core.audio import audio_seconds
from audiolab.core.dnsmos import dnsmos
from audiolab.core.pace import Work
from audiolab.examples import restoration_examples
from audiolab.pipeline import Result
from audiolab.restoration.restorer import Restorer
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
from audiolab.ui.runs import (
    PACE,
    run_buttons,
    run_until_stopped,
    stopped_outputs,
    wire_run_start,
    wire_stop,
)

METHOD_CHOICES = [("DiffGMM", "diffgmm"), ("Score-based diffusion", "score"), ("Classical baseline", "baseline")]
TASK_CHOICES = [("Denoise", "denoise"), ("Bandwidth extension", "bandwidth"), ("Declip", "declip"),
                ("Inpaint a gap", "inpaint")]
DEFAULT_TASK = "denoise"
SETTINGS = ("steps", "strength", "guidance", "attenuation_limit", "cutoff")  # those only some runs read
ATTENUATION_LIMIT_OFF_DB = 60  # the slider's top: no limit (at 60 dB what would come back is inaudible anyway)
ATTENUATION_LIMIT_LABEL = (f"Denoising: attenuation limit in dB (lower keeps more background, e.g. 12 keeps it 12 dB "
                           f"down; {ATTENUATION_LIMIT_OFF_DB} = no limit)")
DNSMOS_WINDOWS = 5  # DNSMOS windows per recording at most: a 10-minute upload is judged in seconds, not minutes
RESTORATION_HELP = (
    "Restores a recording two ways. **DiffGMM** estimates a Gaussian mixture of the noise and subtracts "
    "its mean, iteration after iteration. **Score-based** runs a diffusion model of clean speech: "
    "conditioned on the noisy input to denoise, or as a prior with *posterior sampling* (a likelihood "
    "step through x̂₀ at every step) for bandwidth extension, declipping and inpainting. **DNSMOS** rates the "
    "input and the output with no clean recording needed (1 to 5: OVRL overall, SIG the speech, BAK the "
    "background, 5 = no noise heard); give the clean recording too to see SI-SDR, PESQ and STOI, or make a test "
    "input from it. Under *Settings*, an **attenuation limit** keeps some background: what was removed comes "
    "back that many dB down, which also softens what the denoiser took from the speech."
)


# ---- handlers ---------------------------------------------------------------------------------------


@shows_errors
def run_denoise(
    preset: str,
    recording: str | None,
    clean: str | None = None,
    method: str = "diffgmm",
    task: str = "denoise",
    steps: float = 0,
    strength: float = 0.3,
    guidance: float = 0.0,
    cutoff: float = 4000.0,
    seed: float = 0,
    attenuation_limit: float = ATTENUATION_LIMIT_OFF_DB,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
    request: gr.Request | None = None,
) -> tuple[Any, ...]:
    """Restore a recording; show noisy / restored / clean spectrograms, the trajectory, DiffGMM's mixture and scores.

    `attenuation_limit` (dB, denoising only; `ATTENUATION_LIMIT_OFF_DB`: none) turns what was removed down by that
    much instead."""
    if recording is None:
        raise ValueError("Upload or record a recording to restore, or pick an example.")
    pipeline = get_pipeline(preset)
    in_use = settings_in_use(method, task)  # the settings the tab greys out are the ones not passed on
    result = run_until_stopped(request, "denoise", lambda: pipeline.denoise(
        recording, method=method, task=task, steps=int(steps) or None,
        strength=strength if in_use["strength"] else None, guidance=guidance if in_use["guidance"] else None,
        seed=seed, cutoff_hz=cutoff, progress=True,
        attenuation_limit_db=attenuation_limit
        if in_use["attenuation_limit"] and attenuation_limit < ATTENUATION_LIMIT_OFF_DB else None))
    if result is None:
        return stopped_outputs(7, 6)
    PACE.record_timings(restoration_work(method, task, steps, result.audio.size / result.sample_rate),
                        result.timings)
    reference = pipeline.restorer_reference(clean, result) if clean is not None else None
    panels = [("input", pipeline.log_mel_image(result.input_audio)), ("restored", pipeline.log_mel_image(result.audio))]
    if reference is not None:
        panels.append(("clean reference", pipeline.log_mel_image(reference)))
    comparison = plots.spectrogram_comparison(panels)
    trajectory = plots.waveform_trajectory_figure(
        result.reverse, result.sample_rate, lambda x: pipeline.log_mel_image(x.reshape(-1).numpy()),
        "Restoration trajectory: the estimate after each iteration or step (waveform above its mel)")
    mixture = pipeline.mixture_figure(result, reference) if "mixture" in result.extras else None
    lines = [result_summary(result), restoration_scores(reference, result)]
    played = result.extras.get("full_band", (result.sample_rate, result.audio))  # full band for an upload above 16 kHz
    return (played, comparison, trajectory, mixture, result, reset_step_picker(result),
            "\n\n".join(lines))


def restoration_work(method: str, task: str, steps: float, seconds: float) -> Work:
    """A restoration's size, for its estimate: its steps (0: the method's default) over its seconds."""
    steps = steps if settings_in_use(method, task)["steps"] else 0  # a greyed-out leftover value is no new kind
    return Work(f"restoration {method} {task} {int(steps) or 'default'}", int(steps), seconds)


def restoration_estimate(recording: str | None, method: str, task: str, steps: float) -> Work | None:
    """The size of the run the Restore button is about to start (None without a readable recording)."""
    seconds = audio_seconds(recording) if recording is not None else None
    return restoration_work(method, task, steps, seconds) if seconds is not None else None


def restoration_scores(clean: Any, result: Result) -> str:
    """Input against output: DNSMOS P.835 (Reddy et al. 2022; no reference needed) and, given the clean reference,
    SI-SDR, PESQ and STOI against it."""
    header = "| | DNSMOS OVRL ↑ | SIG ↑ | BAK ↑ |" + (" SI-SDR dB ↑ | PESQ-wb ↑ | STOI ↑ |" if clean is not None else "")
    rows = [header, "|---|" + "---:|" * header.count("↑")]
    note = ""
    for name, audio in (("input", result.input_audio), ("restored", result.audio)):
        try:
            mos = dnsmos(audio, result.sample_rate, max_windows=DNSMOS_WINDOWS)
            cells = [f"{mos.ovrl:.2f}", f"{mos.sig:.2f}", f"{mos.bak:.2f}"]
        except ValueError as error:  # too short to judge: the restoration still stands
            cells, note = ["—"] * 3, f"DNSMOS: {error}"
        if clean is not None:
            try:
                pesq = f"{quality.pesq_wb(clean, audio, result.sample_rate):.2f}"
            except ValueError:
                pesq = "—"  # PESQ needs speech in the reference
            cells += [f"{quality.si_sdr(clean, audio):.2f}", pesq,
                      f"{quality.stoi(clean, audio, result.sample_rate):.3f}"]
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(rows) + (f"\n\n{note}" if note else "")


def settings_in_use(method: str, task: str) -> dict[str, bool]:
    """Which settings a run with this method and task reads: iterations or steps (not the classical baseline), start
    strength (score denoising), guidance ζ (score posterior sampling), the attenuation limit (denoising) and the
    cut-off (bandwidth extension)."""
    return {"steps": method != "baseline", "strength": method == "score" and task == "denoise",
            "guidance": method == "score" and task != "denoise", "attenuation_limit": task == "denoise",
            "cutoff": task == "bandwidth"}


def settings_for(method: str, task: str) -> tuple[Any, ...]:
    """Grey out the settings the run would ignore (in `SETTINGS` order): moving one must never seem to do nothing."""
    in_use = settings_in_use(method, task)
    return tuple(gr.update(interactive=in_use[name]) for name in SETTINGS)


def method_for_task(method: str, task: str) -> Any:
    """Picking a task picks its default method, as `--task` alone does on the command line (DiffGMM to denoise,
    the score model for the rest, since DiffGMM only denoises); the classical baseline, chosen on purpose, stays."""
    default = Restorer.default_method(task)
    return gr.update(value=default) if method not in ("baseline", default) else gr.update()


def on_task_change(method: str, task: str) -> tuple[Any, ...]:
    """The method for the new task and the settings for both, in one reply: two handlers on one change could
    answer in either order, and the one that saw the old method could grey out the wrong settings last."""
    update = method_for_task(method, task)
    return (update, *settings_for(update.get("value", method), task))


@shows_errors
def listen_to_restoration_step(result: Result | None, index: int | None) -> tuple[int, Any] | None:
    """The restorer's estimate after one iteration or step (at the restorer's own rate)."""
    if result is None or index is None:
        return None
    return (result.sample_rate, result.reverse[int(index)].x0_hat.reshape(-1).numpy())


@shows_errors
def make_test_input(preset: str, clean: str | None, task: str, seed: float) -> str:
    """Degrade the clean reference for the chosen task (noise for denoise) and return the file to restore."""
    if clean is None:
        raise ValueError("Upload a clean recording as the reference first; the test input is made from it.")
    return str(get_pipeline(preset).make_test_input(clean, task, int(seed)))


# ---- the tab ----------------------------------------------------------------------------------------


def build_restoration_tab(preset: gr.Dropdown) -> None:
    """The Denoise & restore tab, with its `denoise` and `make_test_input` endpoints."""
    gr.Markdown(RESTORATION_HELP)
    inputs = _restoration_inputs()
    button, stop = run_buttons("Restore")
    outputs = _restoration_outputs()
    examples = gr.Examples(example_rows(), [inputs["recording"], inputs["clean"], inputs["method"], inputs["task"]],
                           label="Examples: real speech, noisy, low-passed, clipped or with gaps (with the clean recording)")
    hold_for_examples(examples, button, inputs["make"])
    wire_run_start(button, [outputs[k] for k in ("audio", "plot", "trajectory", "mixture", "state", "picker",
                                                 "step_audio")], outputs["summary"], stop, "denoise",
                   restoration_estimate, [inputs[k] for k in ("recording", "method", "task", "steps")])
    run = button.click(
        run_denoise,
        [preset, *(inputs[k] for k in ("recording", "clean", "method", "task", "steps", "strength", "guidance",
                                        "cutoff", "seed", "attenuation_limit"))],
        [outputs[k] for k in ("audio", "plot", "trajectory", "mixture", "state", "picker", "summary")],
        api_name="denoise", concurrency_id=MODEL_QUEUE,
        show_progress_on=[outputs[k] for k in ("audio", "plot", "trajectory", "mixture")],  # not the summary
    )
    wire_stop(stop, button, run, outputs["summary"], "denoise")
    outputs["picker"].input(listen_to_restoration_step, [outputs["state"], outputs["picker"]], outputs["step_audio"],
                            api_name=False, concurrency_id=MODEL_QUEUE)
    settings = [inputs[k] for k in SETTINGS]
    choices = [inputs["method"], inputs["task"]]
    inputs["task"].change(on_task_change, choices, [inputs["method"], *settings], api_name=False, queue=False)
    inputs["method"].change(settings_for, choices, settings, api_name=False, queue=False)
    inputs["make"].click(make_test_input, [preset, inputs["clean"], inputs["task"], inputs["seed"]],
                         inputs["recording"], api_name="make_test_input", concurrency_id=MODEL_QUEUE)


def example_rows() -> list[list[str]]:
    """Recording, clean reference, method, task: real speech (LJ Speech) degraded for each task, each row with its
    task and that task's default method, since DiffGMM only denoises."""
    return [[str(degraded), str(clean), example.method, example.task]
            for example, degraded, clean in restoration_examples()]


def _restoration_inputs() -> Widgets:
    """The recording and its optional clean reference, the method and task, and the settings."""
    with gr.Row():
        recording = gr.Audio(label="Recording to restore (noisy, low-passed, clipped or with a silent gap)",
                             type="filepath")
        clean = gr.Audio(label="Clean reference (optional)", type="filepath")
    with gr.Row():
        method = gr.Radio(METHOD_CHOICES, value=Restorer.default_method(DEFAULT_TASK), label="Method")
        task = gr.Radio(TASK_CHOICES, value=DEFAULT_TASK, label="Task")
    in_use = settings_in_use(method.value, task.value)  # the start; `settings_for` follows each change
    with gr.Accordion("Settings", open=False):
        with gr.Row():
            steps = gr.Slider(0, 500, value=0, step=1, interactive=in_use["steps"],
                              label="Iterations (DiffGMM) or diffusion steps (0 = the preset's default)")
            strength = gr.Slider(0.05, 1.0, value=0.3, step=0.05, interactive=in_use["strength"],
                                 label="Score denoising: start strength (1 = from pure noise)")
            guidance = gr.Slider(
                0.0, 2.0, value=0.0, step=0.01, interactive=in_use["guidance"],
                label="Posterior sampling: likelihood step ζ (0, the default: every step is projected onto the input)")
        with gr.Row():
            attenuation_limit = gr.Slider(1, ATTENUATION_LIMIT_OFF_DB, value=ATTENUATION_LIMIT_OFF_DB, step=1,
                                          interactive=in_use["attenuation_limit"], label=ATTENUATION_LIMIT_LABEL)
            cutoff = gr.Slider(1000, 7500, value=4000, step=100, interactive=in_use["cutoff"],
                               label="Bandwidth: the input's cut-off (Hz)")
            seed = gr.Number(0, precision=0, label="Seed")
            make = gr.Button("Make a test input from the clean reference")
    return {"recording": recording, "clean": clean, "method": method, "task": task, "steps": steps,
            "strength": strength, "guidance": guidance, "cutoff": cutoff, "seed": seed, "make": make,
            "attenuation_limit": attenuation_limit}


def _restoration_outputs() -> Widgets:
    """The restored audio, the mels, the trajectory with its step player, and DiffGMM's mixture."""
    audio = gr.Audio(label="Restored", type="numpy", interactive=False)
    summary = summary_markdown()
    plot = gr.Plot(label="Input, restored and clean mels")
    trajectory = gr.Plot(label="Restoration trajectory")
    with gr.Row():
        picker = gr.Dropdown([], label="Listen to a step of the trajectory", value=None)
        step_audio = gr.Audio(label="Audio of that step", type="numpy", interactive=False)
    mixture = gr.Plot(label="DiffGMM: fitted noise mixture over the residual's histogram")
    state = gr.State(None)
    return {"audio": audio, "summary": summary, "plot": plot, "trajectory": trajectory, "picker": picker,
            "step_audio": step_audio, "mixture": mixture, "state": state}
