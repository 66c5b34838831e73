"""audiolab in the browser: a thin Gradio UI over `audiolab.AudioLabPipeline`.

Run `python app.py` and open the printed address. Every handler builds its request, calls the
pipeline, draws the result with `audiolab.core.plots`, and returns; errors reach the page as messages.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # offline-first: no usage pings

import gradio as gr

from audiolab.core import plots, quality
from audiolab.core.diffusion import BETA_SCHEDULES, SAMPLER_TITLES, SAMPLERS
from audiolab.examples import EXAMPLE_PROMPTS, example_folder, example_recordings, noisy_speech_examples
from audiolab.pipeline import DEFAULT_FORWARD_T, AudioLabPipeline, Result, Step
from audiolab.core.presets import DEFAULT_PRESET, list_presets
from audiolab.generation.preset import load_preset

_PIPELINES: dict[str, AudioLabPipeline] = {}  # the one cache: a pipeline per preset, built on first use
FORWARD_T_CHOICES = [0, 10, 50, 100, 200, 350, 500, 750, 900, 999]
SAMPLER_CHOICES = [(SAMPLER_TITLES[name], name) for name in SAMPLERS]
VOCODER_CHOICES = [("Diffusion vocoder", "diffusion"), ("Griffin-Lim", "griffinlim")]
LAST_GENERATED = "Last generated sound"
REFERENCE_MODE_CHOICES = [("Variation (SDEdit): keep its structure", "variation"),
                          ("Style: a new sound like it", "style")]
# Every event that runs a model or draws a figure shares one queue: one CPU job at a time keeps clicks
# fast and deterministic (torch's RNG and pyplot are process-wide).
MODEL_QUEUE = "model"


def get_pipeline(preset: str) -> AudioLabPipeline:
    if preset not in _PIPELINES:
        _PIPELINES[preset] = AudioLabPipeline.from_preset(preset)
    return _PIPELINES[preset]


def shows_errors(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the library's ValueErrors into messages on the page (the inputs stay as they were)."""

    if _is_generator(handler):

        @functools.wraps(handler)
        def streaming(*args: Any, **kwargs: Any) -> Iterator[Any]:
            try:
                yield from handler(*args, **kwargs)
            except ValueError as error:
                raise gr.Error(str(error)) from error

        return streaming

    @functools.wraps(handler)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except ValueError as error:
            raise gr.Error(str(error)) from error

    return wrapped


def _is_generator(function: Callable[..., Any]) -> bool:
    import inspect

    return inspect.isgeneratorfunction(function)


def _audio(pipeline: AudioLabPipeline, audio: Any) -> tuple[int, Any]:
    return (pipeline.sample_rate, audio)


def _summary(result: Result) -> str:
    timings = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result.timings.items())
    lines = [f"**Method:** {result.method}", f"**Time:** {timings}"]
    lines += [f"*{note}*" for note in result.notes]
    return "\n\n".join(lines)


def _step_choices(result: Result) -> list[tuple[str, int]]:
    steps = result.reverse or result.forward
    return [(step.label, index) for index, step in enumerate(steps)]


# ---- generation (Text, Class, Reference tabs) ------------------------------------------------------


def make_generation_handler(require_reference: bool) -> Callable[..., Iterator[tuple[Any, ...]]]:
    """The handler behind the three generation tabs; the Reference tab's insists on a recording."""

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
        progress: gr.Progress = gr.Progress(track_tqdm=True),
    ) -> Iterator[tuple[Any, ...]]:
        """Stream a preview of x̂_0 while sampling; then the audio, the trajectory grid and the step picker."""
        if require_reference and reference is None:
            raise ValueError("Upload or record a reference recording (or pick an example) to make a variation of.")
        pipeline = get_pipeline(preset)
        for item in pipeline.generate_iter(
            text=text, label=label or None, reference=reference, strength=strength, seconds=seconds,
            steps=int(steps), sampler=sampler, guidance=guidance, seed=seed, progress=True,
            vocoder=vocoder, vocoder_steps=int(vocoder_steps) if vocoder == "diffusion" else None,
            reference_mode=reference_mode, style_weight=float(style_weight),
        ):
            if isinstance(item, Step):
                preview = plots.spectrogram_image(item.x0_hat)
                yield gr.skip(), preview, gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            else:
                figure = plots.trajectory_figure(item.reverse, "Reverse trajectory: x_t (top) and x̂_0 (bottom)")
                picker = gr.update(choices=_step_choices(item), value=None)
                yield _audio(pipeline, item.audio), gr.skip(), figure, item, picker, _summary(item), item

    return run_generation


run_generation = make_generation_handler(require_reference=False)
run_reference_generation = make_generation_handler(require_reference=True)


@shows_errors
def listen_to_step(preset: str, result: Result | None, index: int | None, which: str) -> tuple[int, Any] | None:
    if result is None or index is None:
        return None
    pipeline = get_pipeline(preset)
    return _audio(pipeline, pipeline.step_audio(result, int(index), "x_t" if which.startswith("x_t") else "x0_hat"))


def generation_controls(defaults: Any) -> dict[str, gr.components.Component]:
    """The sampling settings every generation tab shares."""
    with gr.Accordion("Sampling settings", open=True):
        with gr.Row():
            seconds = gr.Slider(0.5, defaults.max_seconds, value=defaults.default_seconds, step=0.5, label="Seconds")
            steps = gr.Slider(1, 1000, value=defaults.sampler.steps, step=1, label="Steps")
            guidance = gr.Slider(0, 10, value=defaults.sampler.guidance, step=0.5, label="Guidance scale (0 = unconditional)")
        with gr.Row():
            sampler = gr.Dropdown(SAMPLER_CHOICES, value=defaults.sampler.name, label="Sampler")
            seed = gr.Number(0, precision=0, label="Seed")
        with gr.Row():
            vocoder = gr.Radio(VOCODER_CHOICES, value=defaults.vocoder_method, label="Vocoder (mel -> waveform)")
            vocoder_steps = gr.Slider(1, 50, value=6, step=1, label="Diffusion vocoder steps")
    return {"seconds": seconds, "steps": steps, "guidance": guidance, "sampler": sampler, "seed": seed,
            "vocoder": vocoder, "vocoder_steps": vocoder_steps}


def generation_outputs() -> dict[str, gr.components.Component]:
    with gr.Row():
        audio = gr.Audio(label="Generated audio", type="numpy", interactive=False)
        preview = gr.Image(label="Live x̂_0 while sampling", height=160, interactive=False)
    summary = gr.Markdown()
    figure = gr.Plot(label="Reverse trajectory")
    with gr.Row():
        picker = gr.Dropdown([], label="Listen to a kept step", value=None)
        which = gr.Radio(["x̂_0 (clean estimate)", "x_t (noisy state)"], value="x̂_0 (clean estimate)", label="Which")
        step_audio = gr.Audio(label="Audio of that step", type="numpy", interactive=False)
    state = gr.State(None)
    return {"audio": audio, "preview": preview, "summary": summary, "figure": figure, "picker": picker,
            "which": which, "step_audio": step_audio, "state": state}


def wire_generation(
    button: gr.Button, preset: gr.Dropdown, text: Any, label: Any, reference: Any, strength: Any,
    controls: dict[str, Any], outputs: dict[str, Any], api_name: str, last_generated: gr.State,
    reference_controls: tuple[Any, Any] = (),
) -> None:
    handler = run_reference_generation if reference is not None else run_generation
    none = gr.State(None)
    inputs = [preset, text or none, label or none, reference or none, strength or gr.State(0.6),
              controls["seconds"], controls["steps"], controls["sampler"], controls["guidance"], controls["seed"],
              controls["vocoder"], controls["vocoder_steps"], *reference_controls]
    targets = [outputs[k] for k in ("audio", "preview", "figure", "state", "picker", "summary")] + [last_generated]
    button.click(handler, inputs, targets, api_name=api_name, concurrency_id=MODEL_QUEUE)
    for trigger in (outputs["picker"].change, outputs["which"].change):
        trigger(listen_to_step, [preset, outputs["state"], outputs["picker"], outputs["which"]], outputs["step_audio"],
                api_name=False, concurrency_id=MODEL_QUEUE)


# ---- vocoder, denoise, explorer -------------------------------------------------------------------


@shows_errors
def run_vocoder(
    preset: str,
    recording: str | None,
    last_generated: Result | None,
    source: str,
    steps: float,
    iterations: float,
    seed: float,
    projections: float = 16,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[Any, ...]:
    """Diffusion vocoder and Griffin-Lim on the same mel, side by side, with the diffusion trajectory."""
    pipeline = get_pipeline(preset)
    if source == LAST_GENERATED:
        if last_generated is None:
            raise ValueError("Generate a sound in the Text, Class or Reference tab first, or choose 'Recording'.")
        log_mel = pipeline.result_log_mel(last_generated)
        samples, original = last_generated.audio.size, None
    else:
        if recording is None:
            raise ValueError("Upload or record a recording to vocode, or pick an example.")
        original = pipeline.load(recording)
        pipeline.check_length(original, "recording")
        log_mel, samples = pipeline.mel.log_mel(original), original.size
    diffusion = pipeline.vocode_mel(log_mel, samples, "diffusion", steps=int(steps), seed=seed, progress=True,
                                    projections=int(projections))
    griffin_lim = pipeline.vocode_mel(log_mel, samples, "griffinlim", iterations=int(iterations), seed=seed)
    comparison = plots.spectrogram_comparison([
        ("input mel", log_mel.numpy()),
        (f"diffusion vocoder, {int(steps)} steps", pipeline.log_mel_image(diffusion.audio)),
        (f"Griffin-Lim, {int(iterations)} iterations", pipeline.log_mel_image(griffin_lim.audio)),
    ])
    trajectory = plots.waveform_trajectory_figure(
        diffusion.reverse, pipeline.sample_rate, lambda x: pipeline.log_mel_image(x.reshape(-1).numpy()),
        "Diffusion vocoder, reverse trajectory: waveform x_t (top) and its mel (bottom)",
    )
    lines = [_summary(diffusion), f"**Compared with:** {griffin_lim.method} ({griffin_lim.timings['total']:.2f} s)"]
    lines.append(_closeness(pipeline, log_mel, original, {"diffusion": diffusion.audio, "Griffin-Lim": griffin_lim.audio}))
    picker = gr.update(choices=_step_choices(diffusion), value=None)
    return (_audio(pipeline, diffusion.audio), _audio(pipeline, griffin_lim.audio), comparison, trajectory,
            diffusion, picker, "\n\n".join(lines))


def _closeness(pipeline: AudioLabPipeline, log_mel: Any, original: Any, outputs: dict[str, Any]) -> str:
    """A small table: how close each output's mel (and, given the recording, its spectrum) is to the input."""
    header = "| method | log-mel L1 ↓ |" + (" MR-STFT ↓ |" if original is not None else "")
    rows = [header, "|---|---:|" + ("---:|" if original is not None else "")]
    for name, audio in outputs.items():
        mel_l1 = float((pipeline.mel.log_mel(audio)[:, : log_mel.shape[-1]] - log_mel).abs().mean())
        row = f"| {name} | {mel_l1:.3f} |"
        if original is not None:
            row += f" {quality.mr_stft_distance(original, audio):.3f} |"
        rows.append(row)
    return "\n".join(rows)


METHOD_CHOICES = [("DiffGMM", "diffgmm"), ("Score-based diffusion", "score"), ("Classical baseline", "baseline")]
TASK_CHOICES = [("Denoise", "denoise"), ("Bandwidth extension", "bandwidth"), ("Declip", "declip"), ("Inpaint a gap", "inpaint")]


@shows_errors
def run_denoise(
    preset: str,
    recording: str | None,
    clean: str | None = None,
    method: str = "diffgmm",
    task: str = "denoise",
    steps: float = 0,
    strength: float = 0.3,
    guidance: float = 0.05,
    cutoff: float = 4000.0,
    seed: float = 0,
    progress: gr.Progress = gr.Progress(track_tqdm=True),
) -> tuple[Any, ...]:
    """Restore a recording; show noisy / restored / clean spectrograms, the trajectory, DiffGMM's mixture and scores."""
    if recording is None:
        raise ValueError("Upload or record a recording to restore, or pick an example.")
    pipeline = get_pipeline(preset)
    result = pipeline.denoise(recording, method=method, task=task, steps=int(steps) or None,
                              strength=strength if method == "score" and task == "denoise" else None,
                              guidance=guidance if method == "score" and task != "denoise" else None,
                              seed=seed, cutoff_hz=cutoff, progress=True)
    reference = pipeline.restorer_reference(clean, result) if clean is not None else None
    panels = [("input", pipeline.log_mel_image(result.input_audio)), ("restored", pipeline.log_mel_image(result.audio))]
    if reference is not None:
        panels.append(("clean reference", pipeline.log_mel_image(reference)))
    comparison = plots.spectrogram_comparison(panels)
    trajectory = plots.waveform_trajectory_figure(
        result.reverse, result.sample_rate, lambda x: pipeline.log_mel_image(x.reshape(-1).numpy()),
        "Restoration trajectory: the estimate after each iteration or step (waveform above its mel)")
    mixture = pipeline.mixture_figure(result, reference) if "mixture" in result.extras else None
    lines = [_summary(result)]
    if reference is not None:
        lines.append(_restoration_scores(reference, result))
    picker = gr.update(choices=_step_choices(result), value=None)
    return ((result.sample_rate, result.audio), comparison, trajectory, mixture, result, picker, "\n\n".join(lines))


def _restoration_scores(clean: Any, result: Result) -> str:
    """SI-SDR, PESQ and STOI of the input and of the output against the clean reference."""
    rows = ["| | SI-SDR dB ↑ | PESQ-wb ↑ | STOI ↑ |", "|---|---:|---:|---:|"]
    for name, audio in (("input", result.input_audio), ("restored", result.audio)):
        try:
            pesq = f"{quality.pesq_wb(clean, audio, result.sample_rate):.2f}"
        except ValueError:
            pesq = "—"  # PESQ needs speech in the reference
        rows.append(f"| {name} | {quality.si_sdr(clean, audio):.2f} | {pesq} | "
                    f"{quality.stoi(clean, audio, result.sample_rate):.3f} |")
    return "\n".join(rows)


@shows_errors
def listen_to_restoration_step(result: Result | None, index: int | None) -> tuple[int, Any] | None:
    if result is None or index is None:
        return None
    return (result.sample_rate, result.reverse[int(index)].x0_hat.reshape(-1).numpy())


@shows_errors
def make_test_input(preset: str, clean: str | None, task: str, seed: float) -> str:
    """Degrade the clean reference for the chosen task (noise for denoise) and return the file to restore."""
    if clean is None:
        raise ValueError("Upload a clean recording as the reference first; the test input is made from it.")
    return str(get_pipeline(preset).make_test_input(clean, task, int(seed)))


@shows_errors
def run_explorer(
    preset: str, recording: str | None, timesteps: list[int], schedule: str, domain: str, seed: float
) -> tuple[Any, Any, Any, Any, str]:
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
    picker = gr.update(choices=_step_choices(result), value=None)
    return figure, schedule_plot, result, picker, _summary(result)


@shows_errors
def listen_to_forward(preset: str, result: Result | None, index: int | None) -> tuple[int, Any] | None:
    if result is None or index is None:
        return None
    pipeline = get_pipeline(preset)
    return _audio(pipeline, pipeline.step_audio(result, int(index), "x_t"))


# ---- the page -------------------------------------------------------------------------------------


def build_app(default_preset: str = DEFAULT_PRESET) -> gr.Blocks:
    defaults = load_preset(default_preset)
    recordings = example_recordings(defaults.sample_rate)
    noisy_speech = noisy_speech_examples(16000)
    with gr.Blocks(title="audiolab: audio diffusion you can watch") as demo:
        gr.Markdown(
            "# audiolab\nGenerate sounds by reversing a noise process, and watch it happen: every tab shows the "
            "trajectory, and any kept step is one click from your ears. Runs offline on a CPU with built-in models."
        )
        presets = list_presets()
        choices = presets if default_preset in presets else [default_preset, *presets]
        preset = gr.Dropdown(choices, value=default_preset, label="Preset (built-in models)")
        last_generated = gr.State(None)  # the latest generation, for the Vocoder tab

        with gr.Tab("Text to audio"):
            prompt = gr.Textbox(label="Prompt", placeholder="e.g. an ambulance passing by", lines=1)
            controls = generation_controls(defaults)
            button = gr.Button("Generate", variant="primary")
            outputs = generation_outputs()
            gr.Examples([[p] for p in EXAMPLE_PROMPTS], [prompt], label="Example prompts")
            wire_generation(button, preset, prompt, None, None, None, controls, outputs, "generate_text", last_generated)

        with gr.Tab("Class label"):
            class_count = gr.Markdown(_class_count(default_preset, list(defaults.labels)))
            label = gr.Dropdown(list(defaults.labels), value=defaults.labels[0], label="Class")
            controls = generation_controls(defaults)
            button = gr.Button("Generate", variant="primary")
            outputs = generation_outputs()
            gr.Examples([[name] for name in defaults.labels[:6]], [label], label="Example classes")
            wire_generation(button, preset, None, label, None, None, controls, outputs, "generate_label", last_generated)

        with gr.Tab("Reference audio"):
            gr.Markdown(
                "Two ways to start from a recording. **Variation** (SDEdit): the reference's mel is noised to "
                "*strength* and the reverse process runs from there under the prompt or class, so its structure "
                "survives (strength 0 keeps it, 1 ignores it). **Style**: a trained audio encoder places the "
                "reference in the same space as text prompts, and a fresh sound is generated from that point: "
                "like the reference, not a copy of it. With a prompt, *style weight* blends the two "
                "(0 = only the prompt, 1 = only the reference)."
            )
            with gr.Row():
                reference = gr.Audio(label="Reference recording", type="filepath")
                with gr.Column():
                    ref_mode = gr.Radio(REFERENCE_MODE_CHOICES, value="variation",
                                        label="Use the reference for")
                    strength = gr.Slider(0, 1, value=0.6, step=0.05, label="Strength (variation)")
                    style_weight = gr.Slider(0, 1, value=0.5, step=0.05, label="Style weight against the prompt (style)")
                    ref_prompt = gr.Textbox(label="Prompt (optional)")
                    ref_label = gr.Dropdown([""] + list(defaults.labels), value="", label="Class (optional)")
            controls = generation_controls(defaults)
            button = gr.Button("Generate from the reference", variant="primary")
            outputs = generation_outputs()
            gr.Examples(
                [[str(recordings["church_bell"]), "style", "", ""],
                 [str(recordings["siren"]), "variation", "an ambulance passing by", ""],
                 [str(recordings["bird_chirp"]), "style", "rain falling on leaves", ""]],
                [reference, ref_mode, ref_prompt, ref_label],
                label="Example recordings (reference, mode, prompt, class)",
            )
            wire_generation(button, preset, ref_prompt, ref_label, reference, strength, controls, outputs,
                            "generate_reference", last_generated, (ref_mode, style_weight))

        with gr.Tab("Vocoder"):
            gr.Markdown("Turns a mel-spectrogram back into a waveform two ways, side by side: the diffusion vocoder "
                        "(the reverse process on the waveform, conditioned on the mel) and Griffin-Lim phase recovery. "
                        "Below, the diffusion vocoder's waveform trajectory: every kept step is playable.")
            with gr.Row():
                voc_in = gr.Audio(label="Recording", type="filepath")
                with gr.Column():
                    voc_source = gr.Radio(["Recording", LAST_GENERATED], value="Recording", label="Mel of")
                    voc_steps = gr.Slider(1, 50, value=6, step=1, label="Diffusion vocoder steps")
                    iterations = gr.Slider(1, 200, value=defaults.griffin_lim_iterations, step=1,
                                           label="Griffin-Lim iterations")
                    voc_projections = gr.Slider(0, 32, value=16, step=1,
                                                label="Magnitude projections per step (GLA-Grad; 0 = pure diffusion)")
                    voc_seed = gr.Number(0, precision=0, label="Seed")
            voc_button = gr.Button("Vocode", variant="primary")
            with gr.Row():
                voc_out = gr.Audio(label="Diffusion vocoder", type="numpy", interactive=False)
                voc_gl = gr.Audio(label="Griffin-Lim", type="numpy", interactive=False)
            voc_summary = gr.Markdown()
            voc_plot = gr.Plot(label="Input mel and both outputs' mels")
            voc_trajectory = gr.Plot(label="Waveform reverse trajectory")
            with gr.Row():
                voc_picker = gr.Dropdown([], label="Listen to a kept step", value=None)
                voc_which = gr.Radio(["x̂_0 (clean estimate)", "x_t (noisy state)"], value="x_t (noisy state)",
                                     label="Which")
                voc_step_audio = gr.Audio(label="Audio of that step", type="numpy", interactive=False)
            voc_state = gr.State(None)
            gr.Examples([[str(path)] for path in recordings.values()][:3], [voc_in], label="Example recordings")
            voc_button.click(run_vocoder, [preset, voc_in, last_generated, voc_source, voc_steps, iterations, voc_seed,
                              voc_projections],
                             [voc_out, voc_gl, voc_plot, voc_trajectory, voc_state, voc_picker, voc_summary],
                             api_name="vocode", concurrency_id=MODEL_QUEUE)
            for trigger in (voc_picker.change, voc_which.change):
                trigger(listen_to_step, [preset, voc_state, voc_picker, voc_which], voc_step_audio, api_name=False,
                        concurrency_id=MODEL_QUEUE)

        with gr.Tab("Denoise & restore"):
            gr.Markdown(
                "Restores a recording two ways. **DiffGMM** estimates a Gaussian mixture of the noise and subtracts "
                "its mean, iteration after iteration. **Score-based** runs a diffusion model of clean speech: "
                "conditioned on the noisy input to denoise, or as a prior with *posterior sampling* (a likelihood "
                "step through x̂₀ at every step) for bandwidth extension, declipping and inpainting. Give the clean "
                "recording too to see SI-SDR, PESQ and STOI, or make a test input from it."
            )
            with gr.Row():
                den_in = gr.Audio(label="Recording to restore (noisy, low-passed, clipped or with a silent gap)",
                                  type="filepath")
                den_clean = gr.Audio(label="Clean reference (optional)", type="filepath")
            with gr.Row():
                den_method = gr.Radio(METHOD_CHOICES, value="diffgmm", label="Method")
                den_task = gr.Radio(TASK_CHOICES, value="denoise", label="Task")
            with gr.Accordion("Settings", open=False):
                with gr.Row():
                    den_steps = gr.Slider(0, 500, value=0, step=1,
                                          label="Iterations (DiffGMM) or diffusion steps (0 = the preset's default)")
                    den_strength = gr.Slider(0.05, 1.0, value=0.3, step=0.05,
                                             label="Score denoising: start strength (1 = from pure noise)")
                    den_guidance = gr.Slider(0.0, 2.0, value=0.05, step=0.01, label="Posterior sampling: guidance ζ (share of the measurement error removed per step)")
                with gr.Row():
                    den_cutoff = gr.Slider(1000, 7500, value=4000, step=100, label="Bandwidth: the input's cut-off (Hz)")
                    den_seed = gr.Number(0, precision=0, label="Seed")
                    den_make = gr.Button("Make a test input from the clean reference")
            den_button = gr.Button("Restore", variant="primary")
            den_out = gr.Audio(label="Restored", type="numpy", interactive=False)
            den_summary = gr.Markdown()
            den_plot = gr.Plot(label="Input, restored and clean mels")
            den_trajectory = gr.Plot(label="Restoration trajectory")
            with gr.Row():
                den_picker = gr.Dropdown([], label="Listen to a step of the trajectory", value=None)
                den_step_audio = gr.Audio(label="Audio of that step", type="numpy", interactive=False)
            den_mixture = gr.Plot(label="DiffGMM: fitted noise mixture over the residual's histogram")
            den_state = gr.State(None)
            gr.Examples([[str(noisy_path), str(clean_path)] for noisy_path, clean_path in noisy_speech.values()],
                        [den_in, den_clean], label="Example noisy mixtures (with their clean references)")
            den_button.click(run_denoise, [preset, den_in, den_clean, den_method, den_task, den_steps, den_strength,
                                           den_guidance, den_cutoff, den_seed],
                             [den_out, den_plot, den_trajectory, den_mixture, den_state, den_picker, den_summary],
                             api_name="denoise", concurrency_id=MODEL_QUEUE)
            den_picker.change(listen_to_restoration_step, [den_state, den_picker], den_step_audio, api_name=False,
                              concurrency_id=MODEL_QUEUE)
            den_make.click(make_test_input, [preset, den_clean, den_task, den_seed], den_in, api_name="make_test_input",
                           concurrency_id=MODEL_QUEUE)

        with gr.Tab("Diffusion explorer"):
            gr.Markdown("The forward process q(x_t | x_0) = N(√ᾱ_t·x_0, (1 − ᾱ_t)·I) applied to a recording: "
                        "in the mel domain (what the generator diffuses) or on the waveform itself.")
            with gr.Row():
                exp_in = gr.Audio(label="Recording", type="filepath")
                with gr.Column():
                    exp_t = gr.CheckboxGroup(FORWARD_T_CHOICES, value=list(DEFAULT_FORWARD_T), label="Timesteps t to show")
                    exp_schedule = gr.Radio(list(BETA_SCHEDULES), value=defaults.schedule_kind, label="Schedule")
                    exp_domain = gr.Radio(["mel (what the generator diffuses)", "waveform"],
                                          value="mel (what the generator diffuses)", label="Domain")
                    exp_seed = gr.Number(0, precision=0, label="Seed")
            exp_button = gr.Button("Diffuse", variant="primary")
            exp_summary = gr.Markdown()
            exp_plot = gr.Plot(label="Forward trajectory")
            exp_schedule_plot = gr.Plot(label="Schedules")
            with gr.Row():
                exp_picker = gr.Dropdown([], label="Listen to x_t at", value=None)
                exp_audio = gr.Audio(label="Audio of x_t", type="numpy", interactive=False)
            exp_state = gr.State(None)
            gr.Examples([[str(path)] for path in recordings.values()][:3], [exp_in], label="Example recordings")
            exp_button.click(run_explorer, [preset, exp_in, exp_t, exp_schedule, exp_domain, exp_seed],
                             [exp_plot, exp_schedule_plot, exp_state, exp_picker, exp_summary], api_name="diffuse",
                             concurrency_id=MODEL_QUEUE)
            exp_picker.change(listen_to_forward, [preset, exp_state, exp_picker], exp_audio, api_name=False,
                              concurrency_id=MODEL_QUEUE)
        preset.change(labels_for_preset, preset, [label, ref_label, class_count], api_name=False)
    return demo


@shows_errors
def labels_for_preset(preset: str) -> tuple[Any, Any, str]:
    """When the preset changes, the class pickers list its labels."""
    labels = list(load_preset(preset).labels)
    return (gr.update(choices=labels, value=labels[0]), gr.update(choices=[""] + labels, value=""),
            _class_count(preset, labels))


def _class_count(preset: str, labels: list[str]) -> str:
    return f"Preset **{preset}** knows {len(labels)} classes (`python -m audiolab labels --preset {preset}`)."


def main() -> None:
    demo = build_app(os.environ.get("AUDIOLAB_PRESET", DEFAULT_PRESET))
    demo.queue(default_concurrency_limit=1).launch(
        allowed_paths=[str(example_folder())], max_file_size="100mb",
        server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
    )


if __name__ == "__main__":
    main()
