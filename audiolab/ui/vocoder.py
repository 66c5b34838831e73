"""The Vocoder tab: the diffusion vocoder and Griffin-Lim on the same mel, side by side."""

from __future__ import annotations

from typing import Any

import gradio as gr

from audiolab.core import plots, quality
from audiolab.core.audio import audio_seconds
from audiolab.core.pace import Work
from audiolab.examples import example_recordings
from audiolab.generation.preset import Preset
from audiolab.pipeline import AudioLabPipeline, Result
from audiolab.ui.common import (
    MODEL_QUEUE,
    X_T_CHOICE,
    Widgets,
    get_pipeline,
    hold_for_examples,
    pipeline_audio,
    reset_step_picker,
    result_summary,
    shows_errors,
    step_listener,
    summary_markdown,
    wire_step_listener,
)
from audiolab.ui.runs import (
    PACE,
    run_buttons,
    run_until_stopped,
    stopped_outputs,
    wire_run_start,
    wire_stop,
)

LAST_GENERATED = "Last generated sound"
VOCODER_HELP = ("Turns a mel-spectrogram back into a waveform two ways, side by side: the preset's trained vocoder "
                "(an iterative denoising process conditioned on the mel; for vocoder-flow-16k, a few flow-matching "
                "steps from noise around the mel's envelope to the STFT magnitude, then its phase) and Griffin-Lim "
                "phase recovery. Below, the vocoder's trajectory: every kept step is playable.")


@shows_errors
def run_vocoder(
    preset: str,
    recording: str | None,
    last_generated: Result | None,
    source: str,
    steps: float,
    iterations: float,
    seed: float,
    projections: float | None = None,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
    request: gr.Request | None = None,
) -> tuple[Any, ...]:
    """Diffusion vocoder and Griffin-Lim on the same mel, side by side, with the diffusion trajectory."""
    pipeline = get_pipeline(preset)
    if projections is None:  # an API call without it: the vocoder preset's own
        projections = pipeline.diffusion_vocoder().settings.projection_iterations
    settings: dict[str, Any] = {"steps": int(steps), "seed": seed, "progress": True, "projections": int(projections)}
    original: Any = None
    if source == LAST_GENERATED:
        if last_generated is None:
            raise ValueError("Generate a sound in the Text, Class or Reference tab first, or choose 'Recording'.")
        log_mel = pipeline.result_log_mel(last_generated)
        samples = int(round(last_generated.seconds * pipeline.sample_rate))
        diffusion = run_until_stopped(request, "vocode", lambda: pipeline.vocode_mel(
            log_mel, samples, method="diffusion", **settings))
    else:
        if recording is None:
            raise ValueError("Upload or record a recording to vocode, or pick an example.")
        # `vocode` loads and checks the recording, and notes what it did to it (mixed to mono, resampled)
        diffusion = run_until_stopped(request, "vocode", lambda: pipeline.vocode(recording, method="diffusion",
                                                                                 **settings))
    if diffusion is None:
        return stopped_outputs(7, 6)
    if source != LAST_GENERATED:
        original = diffusion.input_audio
        log_mel, samples = pipeline.mel.log_mel(original), original.size
    PACE.record_timings(vocoder_work(preset, samples / pipeline.sample_rate, steps, projections), diffusion.timings)
    griffin_lim = pipeline.vocode_mel(log_mel, samples, method="griffinlim", iterations=int(iterations), seed=seed)
    comparison = plots.spectrogram_comparison([
        ("input mel", log_mel.numpy()),
        (f"diffusion vocoder, {int(steps)} steps", pipeline.log_mel_image(diffusion.audio)),
        (f"Griffin-Lim, {int(iterations)} iterations", pipeline.log_mel_image(griffin_lim.audio)),
    ])
    trajectory = plots.waveform_trajectory_figure(
        diffusion.reverse, pipeline.sample_rate, lambda x: pipeline.log_mel_image(x.reshape(-1).numpy()),
        "The vocoder's trajectory: waveform x_t (top) and its mel (bottom)",
    )
    lines = [result_summary(diffusion),
             f"**Compared with:** {griffin_lim.method} ({griffin_lim.timings['total']:.2f} s)",
             closeness(pipeline, log_mel, original, {"diffusion": diffusion.audio, "Griffin-Lim": griffin_lim.audio})]
    return (pipeline_audio(pipeline, diffusion.audio), pipeline_audio(pipeline, griffin_lim.audio), comparison,
            trajectory, diffusion, reset_step_picker(diffusion), "\n\n".join(lines))


def vocoder_work(preset: str, seconds: float, steps: float, projections: float) -> Work:
    """A diffusion vocoding's size, for its estimate: its steps over its seconds (projections change a step's cost)."""
    return Work(f"vocoder {preset}, {int(projections)} projections", int(steps), seconds)


def vocoder_estimate(preset: str, recording: str | None, last_generated: Result | None, source: str, steps: float,
                     projections: float) -> Work | None:
    """The size of the run the Vocode button is about to start (None when there is nothing to vocode yet)."""
    if source == LAST_GENERATED:
        seconds = last_generated.audio.size / last_generated.sample_rate if last_generated is not None else None
    else:
        seconds = audio_seconds(recording) if recording is not None else None
    return vocoder_work(preset, seconds, steps, projections) if seconds is not None else None


def closeness(pipeline: AudioLabPipeline, log_mel: Any, original: Any, outputs: dict[str, Any]) -> str:
    """A small table: how close each output's mel (and, given the recording, its spectrum) is to the input."""
    header = "| method | log-mel L1 ↓ |" + (" MR-STFT ↓ |" if original is not None else "")
    rows = [header, "|---|---:|" + ("---:|" if original is not None else "")]
    for name, audio in outputs.items():
        # Against the input mel itself, not a waveform's: a generated sound's mel is the model's, not its audio's.
        mel_l1 = float((pipeline.mel.log_mel(audio)[:, : log_mel.shape[-1]] - log_mel).abs().mean())
        row = f"| {name} | {mel_l1:.3f} |"
        if original is not None:
            row += f" {quality.mr_stft_distance(original, audio):.3f} |"
        rows.append(row)
    return "\n".join(rows)


def build_vocoder_tab(preset: gr.Dropdown, defaults: Preset, last_generated: gr.State) -> None:
    """The Vocoder tab: a recording's (or the last generation's) mel back to audio two ways; the `vocode` endpoint."""
    gr.Markdown(VOCODER_HELP)
    inputs = _vocoder_inputs(defaults)
    button, stop = run_buttons("Vocode")
    outputs = _vocoder_outputs()
    recordings = example_recordings(defaults.sample_rate)
    examples = gr.Examples([[str(path)] for path in recordings.values()][:3], [inputs["recording"]],
                           label="Example recordings")
    hold_for_examples(examples, button)
    wire_run_start(button, [outputs[k] for k in ("diffusion", "griffin_lim", "plot", "trajectory", "state", "picker",
                                                 "step_audio")], outputs["summary"], stop, "vocode", vocoder_estimate,
                   [preset, inputs["recording"], last_generated, inputs["source"], inputs["steps"],
                    inputs["projections"]])
    run = button.click(
        run_vocoder,
        [preset, inputs["recording"], last_generated, inputs["source"], inputs["steps"], inputs["iterations"],
         inputs["seed"], inputs["projections"]],
        [outputs[k] for k in ("diffusion", "griffin_lim", "plot", "trajectory", "state", "picker", "summary")],
        api_name="vocode", concurrency_id=MODEL_QUEUE,
        show_progress_on=[outputs[k] for k in ("diffusion", "griffin_lim", "plot", "trajectory")],  # not the summary
    )
    wire_stop(stop, button, run, outputs["summary"], "vocode")
    wire_step_listener(preset, outputs["state"], outputs["picker"], outputs["which"], outputs["step_audio"])
    from audiolab.ui.hifigan import (
        build_hifigan_section,  # a third method, from an AudioLDM 2 checkpoint
    )

    build_hifigan_section(preset, inputs["recording"], last_generated, inputs["source"])


def _vocoder_defaults(defaults: Preset) -> tuple[int, int]:
    """The preset's vocoder's own steps and projections a step (6 and 16 when the preset has none)."""
    if not defaults.vocoder_preset:
        return 6, 16
    from audiolab.vocoder.preset import load_vocoder_preset

    settings = load_vocoder_preset(defaults.vocoder_preset).settings
    return settings.steps, settings.projection_iterations


def _vocoder_inputs(defaults: Preset) -> Widgets:
    """The recording, whose mel to vocode, and both methods' settings."""
    with gr.Row():
        recording = gr.Audio(label="Recording", type="filepath")
        with gr.Column():
            source = gr.Radio(["Recording", LAST_GENERATED], value="Recording", label="Mel of")
            default_steps, default_projections = _vocoder_defaults(defaults)
            steps = gr.Slider(1, 50, value=default_steps, step=1, label="Diffusion vocoder steps")
            iterations = gr.Slider(1, 200, value=defaults.griffin_lim_iterations, step=1,
                                   label="Griffin-Lim iterations")
            projections = gr.Slider(0, 64, value=default_projections, step=1,
                                    label="Magnitude projections onto the mel per step (0 = the learned process alone)")
            seed = gr.Number(0, precision=0, label="Seed")
    return {"recording": recording, "source": source, "steps": steps, "iterations": iterations,
            "projections": projections, "seed": seed}


def _vocoder_outputs() -> Widgets:
    """Both outputs, their mels, the diffusion trajectory, and its step listener."""
    with gr.Row():
        diffusion = gr.Audio(label="Diffusion vocoder", type="numpy", interactive=False)
        griffin_lim = gr.Audio(label="Griffin-Lim", type="numpy", interactive=False)
    summary = summary_markdown()
    plot = gr.Plot(label="Input mel and both outputs' mels")
    trajectory = gr.Plot(label="Waveform reverse trajectory")
    picker, which, step_audio = step_listener(X_T_CHOICE)
    state = gr.State(None)
    return {"diffusion": diffusion, "griffin_lim": griffin_lim, "summary": summary, "plot": plot,
            "trajectory": trajectory, "picker": picker, "which": which, "step_audio": step_audio, "state": state}
