"""Command line over the same pipeline as the app.

    python -m audiolab generate "PROMPT" --out out.wav [--label NAME] [--reference ref.wav --strength 0.6]
        [--seconds 4] [--steps 25] [--sampler dpm] [--guidance 3] [--seed 0] [--preset synth-tiny] [--plot traj.png]
    python -m audiolab generate "PROMPT" --model cvssp/audioldm2|FOLDER --out out.wav [--negative-prompt TEXT]
        [--reference ref.wav (--strength 0.6 | --inpaint START END)]
    python -m audiolab labels [--preset NAME]
    python -m audiolab diffuse in.wav --t 500 --out noisy.wav --plot forward.png
    python -m audiolab vocode in.wav --out out.wav
    python -m audiolab denoise noisy.wav --out clean.wav
    python -m audiolab train generator --preset synth-tiny
    python -m audiolab eval generator
    python -m audiolab bench

Bad input exits with status 2 and a one-line reason.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from audiolab.core.choices import (
    BETA_SCHEDULES,
    DEFAULT_PRESET,
    SAMPLERS,
    VOCODER_METHODS,
    check_writable,
)

AUDIO_OUTPUT_COMMANDS = ("generate", "diffuse", "vocode", "denoise")  # their --out is an audio file


def _pipeline(preset: str):  # noqa: ANN202 - imported lazily so `--help` stays instant
    from audiolab.pipeline import AudioLabPipeline

    return AudioLabPipeline.from_preset(preset)


def _save_figure(figure: object, path: str) -> None:
    from audiolab.core import plots

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)  # type: ignore[attr-defined]
    plots.close(figure)  # type: ignore[arg-type]
    print(f"wrote {path}")


def _check_hub_arguments(args: argparse.Namespace) -> None:
    """What a hub model cannot take, and the ranges every model shares: refused before the (slow) load."""
    from audiolab.core.diffusion import check_guidance, check_steps
    from audiolab.core.result import check_seed

    refused = {"--label": args.label, "--vocoder": args.vocoder,
               "--reference-mode style": args.reference_mode == "style" or None}
    for option, value in refused.items():
        if value is not None:
            raise ValueError(f"{option} is for the built-in presets; a hub model generates from text (and a "
                             "reference as a variation or to inpaint) and decodes with its own VAE.")
    if not args.prompt or not args.prompt.strip():
        raise ValueError("Give a text prompt: hub models generate from text.")
    if args.steps is not None:
        check_steps(args.steps)
    if args.guidance is not None:
        check_guidance(args.guidance)
    if args.seconds is not None and not 0 < args.seconds < float("inf"):
        raise ValueError(f"--seconds must be a positive duration; got {args.seconds}.")
    check_seed(args.seed)
    if not 0.0 <= args.strength <= 1.0:
        raise ValueError(f"The strength must be between 0 and 1; got {args.strength}.")
    if args.inpaint is not None and args.reference is None:
        raise ValueError("--inpaint regenerates a span of a recording: give it with --reference.")


def _generate_hub(args: argparse.Namespace) -> int:
    """`generate --model`: a hub id or a local diffusers folder, with the same outputs as a preset."""
    import time

    from audiolab.core.audio import save_audio
    from audiolab.core.diffusion import Step
    from audiolab.generation.pipeline import GenerationRequest
    from audiolab.hub.backend import HubGenerator, describe_duration

    _check_hub_arguments(args)
    backend = HubGenerator.load(args.model)
    request = backend.check_request(GenerationRequest(  # the model's own limits, still before sampling
        text=args.prompt, reference=args.reference, strength=args.strength, seconds=args.seconds, steps=args.steps,
        sampler=args.sampler, guidance=args.guidance, seed=args.seed, negative_prompt=args.negative_prompt,
        inpaint=tuple(args.inpaint) if args.inpaint else None,
        reference_mode="inpaint" if args.inpaint else "variation"))
    estimate = backend.estimate_seconds(request)
    if estimate is not None:
        print(f"estimate: about {describe_duration(estimate)} on this {backend.model.device.type.upper()} "
              f"({request.steps} steps of {request.seconds:g} s; one step measured)", flush=True)
    started, result = time.perf_counter(), None
    for item in backend.generate_iter(request):
        if isinstance(item, Step):
            print(f"  {item.label} ({time.perf_counter() - started:.1f} s)", flush=True)
        result = item
    save_audio(args.out, result.audio, result.sample_rate)  # type: ignore[union-attr]
    return _report(args, result)


def _report(args: argparse.Namespace, result: object) -> int:
    """Print what a generation wrote, its notes and timings; save its trajectory figure if asked."""
    from audiolab.core import plots

    print(f"wrote {args.out} ({result.seconds:.2f} s): {result.method}")  # type: ignore[attr-defined]
    for note in result.notes:  # type: ignore[attr-defined]
        print(f"note: {note}")
    print("timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.timings.items()))  # type: ignore[attr-defined]
    if args.plot:
        _save_figure(plots.trajectory_figure(result.reverse,  # type: ignore[attr-defined]
                                             "Reverse trajectory: x_t (top), x̂_0 (bottom)"), args.plot)
    return 0


def _generate(args: argparse.Namespace) -> int:
    from audiolab.core.audio import save_audio

    if args.model:
        return _generate_hub(args)
    pipeline = _pipeline(args.preset)
    result = pipeline.generate(
        text=args.prompt, label=args.label, reference=args.reference, strength=args.strength, seconds=args.seconds,
        steps=args.steps, sampler=args.sampler, guidance=args.guidance, seed=args.seed, progress=True,
        reference_mode=args.reference_mode, style_weight=args.style_weight, vocoder=args.vocoder,
    )
    save_audio(args.out, result.audio, result.sample_rate)
    return _report(args, result)


def _labels(args: argparse.Namespace) -> int:
    from audiolab.generation.preset import load_preset

    print("\n".join(load_preset(args.preset).labels))
    return 0


def _diffuse(args: argparse.Namespace) -> int:
    from audiolab.core import plots
    from audiolab.core.audio import save_audio
    from audiolab.pipeline import DEFAULT_FORWARD_T

    pipeline = _pipeline(args.preset)
    timesteps = sorted(set(DEFAULT_FORWARD_T) | {args.t})
    result = pipeline.diffuse(args.input, timesteps=timesteps, schedule=args.schedule, domain=args.domain, seed=args.seed)
    index = [int(step.t) for step in result.forward].index(args.t)
    if args.out:
        save_audio(args.out, pipeline.step_audio(result, index, "x_t"), result.sample_rate)
        print(f"wrote {args.out}: x_t at t={args.t} (SNR {result.forward[index].snr_db:+.1f} dB); {result.method}")
    if args.plot:
        figure = plots.trajectory_figure(
            result.forward, result.method, lambda x: pipeline.display_mel(x, result.domain), show_estimate=False
        )
        _save_figure(figure, args.plot)
    return 0


def _vocode(args: argparse.Namespace) -> int:
    from audiolab.core.audio import save_audio

    if args.method == "hifigan":
        from audiolab.hub.hifigan import DEFAULT_CHECKPOINT, HiFiGan

        result = HiFiGan.load(args.model or DEFAULT_CHECKPOINT).vocode(args.input)
        save_audio(args.out, result.audio, result.sample_rate)
        print(f"wrote {args.out}: {result.method}")
        for note in result.notes:
            print(f"note: {note}")
        return 0
    pipeline = _pipeline(args.preset)
    result = pipeline.vocode(args.input, method=args.method, steps=args.steps, iterations=args.iterations,
                             seed=args.seed, progress=True, projections=args.projections)
    save_audio(args.out, result.audio, result.sample_rate)
    print(f"wrote {args.out}: {result.method}")
    for note in result.notes:
        print(f"note: {note}")
    if args.plot:
        from audiolab.core import plots

        if result.reverse:
            figure = plots.waveform_trajectory_figure(
                result.reverse, result.sample_rate, lambda x: pipeline.log_mel_image(x.reshape(-1).numpy()),
                f"{pipeline.vocoding.vocoder_name}: trajectory of the waveform x_t (top) and its mel (bottom)",
            )
        else:
            figure = plots.spectrogram_comparison(
                [("input mel", pipeline.log_mel_image(result.input_audio)), ("output mel", pipeline.log_mel_image(result.audio))]
            )
        _save_figure(figure, args.plot)
    return 0


def _denoise(args: argparse.Namespace) -> int:
    from audiolab.core import plots
    from audiolab.core.audio import save_audio

    pipeline = _pipeline(args.preset)
    result = pipeline.denoise(args.input, method=args.method, task=args.task, steps=args.steps, strength=args.strength,
                              guidance=args.guidance, seed=args.seed, cutoff_hz=args.cutoff, progress=True,
                              attenuation_limit_db=args.attenuation_limit)
    # a denoised recording above 16 kHz is written at its own rate, full band (pipeline.denoise's extras)
    rate, audio = result.extras.get("full_band", (result.sample_rate, result.audio))  # type: ignore[misc]
    save_audio(args.out, audio, rate)
    print(f"wrote {args.out} ({result.seconds:.1f} s at {rate / 1000:g} kHz in {result.timings['total']:.1f} s): "
          f"{result.method}")
    for note in result.notes:
        print(f"note: {note}")
    if args.plot:
        figure = plots.waveform_trajectory_figure(
            result.reverse, result.sample_rate, lambda x: pipeline.log_mel_image(x.reshape(-1).numpy()),
            f"Restoration trajectory ({result.extras['method_name']}, {args.task})")
        _save_figure(figure, args.plot)
    return 0


def _vocoder_preset(name: str):  # noqa: ANN202 - a generator preset stands for the vocoder it names
    from audiolab.core.presets import list_presets
    from audiolab.generation.preset import load_preset
    from audiolab.vocoder.preset import load_vocoder_preset

    if name in list_presets("generator"):
        generator = load_preset(name)
        if not generator.vocoder_preset:
            raise ValueError(f"Preset {name} names no diffusion vocoder; pass a vocoder preset with --preset.")
        name = generator.vocoder_preset
    return load_vocoder_preset(name)


def _train(args: argparse.Namespace) -> int:
    from audiolab.generation.preset import load_preset
    from audiolab.generation.train import train_generator
    from audiolab.vocoder.train import train_vocoder

    log_file = open(args.log, "a", encoding="utf-8") if args.log else None

    def log(line: str) -> None:
        print(line, flush=True)
        if log_file:
            log_file.write(line + "\n")
            log_file.flush()

    if args.init and args.model != "generator":
        raise ValueError(f"--init is for the generator; the {args.model} continues with --resume.")
    out = Path(args.out) if args.out else None
    if args.model == "denoiser":
        from audiolab.restoration.preset import load_denoiser_preset
        from audiolab.restoration.train import train_denoiser

        preset = load_denoiser_preset(args.preset)
        train_denoiser(preset, speech=args.speech or (), noise=args.noise or (), esc50=args.esc50,
                       exclude=args.exclude or (), val_speech=args.val or (), steps=args.steps,
                       components=args.components, synthetic=args.synthetic_speech, out=out, log=log, resume=args.resume)
        return 0
    if args.model == "encoder":
        from audiolab.generation.preset import load_audio_encoder_preset
        from audiolab.generation.train_audio_encoder import train_audio_encoder

        if args.data and len(args.data) > 1:
            raise ValueError("The audio encoder trains on one ESC-50 folder: pass a single --data DIR.")
        train_audio_encoder(load_audio_encoder_preset(args.preset), data=Path(args.data[0]) if args.data else None,
                            steps=args.steps, out=out, log=log)
        return 0
    if args.model == "vocoder":
        vocoder_preset = _vocoder_preset(args.preset)
        data = args.data if args.data is not None else list(vocoder_preset.training.data)
        train_vocoder(vocoder_preset, data, exclude=args.exclude or (), validation=args.val or (), steps=args.steps,
                      out=out, log=log, resume=args.resume, cache=Path(args.cache) if args.cache else None)
        return 0
    if args.data and len(args.data) > 1:
        raise ValueError("The generator trains on one ESC-50 folder: pass a single --data DIR.")
    train_generator(load_preset(args.preset), steps=args.steps, out=out, log=log, resume=args.resume,
                    data=Path(args.data[0]) if args.data else None, init=Path(args.init) if args.init else None)
    return 0


def _credits(args: argparse.Namespace) -> int:
    from audiolab.core.credits import write_credits

    preset = _vocoder_preset(args.preset)
    data = args.data if args.data is not None else list(preset.training.data)
    path = write_credits(preset.checkpoint.with_suffix(".credits.md"), f"{preset.title} ({preset.checkpoint.name})",
                         data, args.exclude if args.exclude is not None else preset.training.exclude)
    print(f"wrote {path}")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from audiolab.bench import run_bench

    run_bench(args.preset, samplers=args.samplers, step_counts=args.steps, repeats=args.repeats,
              app=not args.no_app, seconds=args.seconds, clients=args.clients)
    return 0


def _eval_vocoder(args: argparse.Namespace) -> int:
    import torch

    from audiolab.core.audio import MelTransform
    from audiolab.vocoder.evaluate import (
        DEFAULT_METHODS,
        evaluate_vocoders,
        format_table,
    )
    from audiolab.vocoder.preset import load_vocoder

    if not args.data:
        raise ValueError("eval vocoder needs --data DIR: a folder of recordings to resynthesise.")
    if args.each is not None and (not args.include or args.each < 1):
        raise ValueError("--each N takes the first N clips of each --include glob: give --include and N ≥ 1.")
    preset = _vocoder_preset(args.preset)
    methods = args.methods or list(DEFAULT_METHODS)
    vocoder = load_vocoder(preset) if any(m.startswith("diffusion") for m in methods) else None
    scores, clips = evaluate_vocoders(args.data, vocoder, MelTransform(preset.settings.mel), methods, speech=args.speech,
                                      limit=args.limit, max_seconds=args.max_seconds, sampler=args.sampler,
                                      exclude=args.exclude or (), include=args.include or (), per_pattern=args.each)
    print(f"{clips} clips from {args.data} (each levelled to -25 dBFS, at most {args.max_seconds:g} s); "
          f"vocoder {preset.name}, sampler {args.sampler or preset.settings.sampler}, seed 0; "
          f"{torch.get_num_threads()} CPU threads")
    print(format_table(scores))
    return 0


def _eval_denoise(args: argparse.Namespace) -> int:
    from audiolab.restoration import evaluate as ev
    from audiolab.restoration.restorer import Restorer
    from audiolab.vocoder.evaluate import format_table

    if not args.clean:
        raise ValueError("eval denoise needs --clean DIR, and --noisy DIR (pairs by file name) or --noise DIR (mixed at --snrs).")
    score_preset = _denoiser_preset_name(args.score_preset, "score") if args.score_preset else None
    if (args.offset or args.rumble) and args.task != "denoise":
        raise ValueError("--offset and --rumble are for denoising; leave them out for other tasks.")
    if args.distant and (args.task != "denoise" or args.noisy or not args.noise):
        raise ValueError("--distant puts the noise mixed in by --noise DIR in a room: give --noise DIR, or leave --distant "
                         "out for real pairs and other tasks.")
    groups: dict[str, list[str]] = {}  # mixtures are also scored per SNR and per noise
    if args.task != "denoise":
        pairs = ev.degraded_pairs(args.clean, args.task, args.limit, args.max_seconds)
        source = f"{len(pairs)} clips of {args.clean}, degraded for {args.task}"
    elif args.noisy:
        pairs = ev.folder_pairs(args.clean, args.noisy, args.limit)
        source = f"{len(pairs)} pairs from {args.clean} and {args.noisy}"
    elif args.noise:
        noise = ev.noise_sources(args.noise, args.noise_classes or (), args.include or ())
        mixed = ev.mixtures(args.clean, noise, args.snrs, args.seed, args.limit, args.max_seconds, args.distant)
        pairs, groups = mixed.pairs, {"SNR": mixed.snrs, "noise": mixed.noises}
        room = ", across a reverberant room" if args.distant else ""
        source = (f"{len(pairs)} mixtures of {args.clean} with {args.noise} "
                  f"({', '.join(args.include or ['all files'])}{room}) at {', '.join(f'{s:g}' for s in args.snrs)} dB, mixing seed {args.seed}")
    else:
        raise ValueError("Give --noisy DIR (real pairs) or --noise DIR (held-out noise to mix in).")
    if args.offset or args.rumble:
        pairs = ev.with_offset_and_rumble(pairs, args.offset, args.rumble)
        added = [f"a DC offset of {args.offset:g}" if args.offset else "",
                 f"an 8 Hz rumble of {args.rumble:g}" if args.rumble else ""]
        source += f", plus {' and '.join(filter(None, added))} times each input's RMS"
    default = ev.DENOISE_METHODS if args.task == "denoise" else ev.TASK_METHODS
    methods = args.methods or list(default)
    print(f"{source}; sampling seed {args.seed}; {torch_threads()} CPU threads")
    checkpoints = args.diffgmm_checkpoints or [None]
    for checkpoint in checkpoints:
        restorer, label = ev.restorer_with_checkpoint(checkpoint) if checkpoint else (Restorer(), "")
        if score_preset:
            restorer.preset_names["score"] = score_preset
        scores, breakdown = ev.evaluate_restoration_by_group(pairs, methods, groups, args.task, restorer, args.seed)
        if label:
            print(f"\nDiffGMM checkpoint {checkpoint}: {label}")
        print(format_table(scores, ev.MEASURES))
        for grouping, by_group in breakdown.items():
            if len(by_group) < 2:
                continue  # one SNR, or one noise: the table above says it all
            if len(by_group) > ev.BREAKDOWN_MAX_GROUPS:
                print(f"\nBy {grouping}: {len(by_group)} different ones, too many for a table.")
                continue
            print(f"\nBy {grouping}:\n" + ev.format_breakdown(grouping, by_group, sort=grouping == "noise"))
    return 0


def _denoiser_preset_name(name: str, method: str) -> str:
    """`name` if it is a denoiser preset of `method`; a ValueError that lists the ones there are otherwise."""
    from audiolab.core.presets import list_presets
    from audiolab.restoration.preset import load_denoiser_preset

    names = [n for n in list_presets("denoiser") if load_denoiser_preset(n).method == method]
    if name not in names:
        raise ValueError(f"No {method} preset {name!r}; choose one of {', '.join(names)}.")
    return name


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _eval_generation(args: argparse.Namespace) -> int:
    from audiolab.generation.evaluate import evaluate_generation, format_report

    if not args.data:
        raise ValueError("eval generation needs --data DIR: an ESC-50 folder (meta.csv beside audio/).")
    pipeline = _pipeline(args.preset)
    report = evaluate_generation(
        pipeline, Path(args.data), per_class=args.per_class or 4, holdout_fold=args.holdout_fold,
        condition=args.condition, steps=args.steps, guidance=args.guidance,
        classifier_steps=args.classifier_steps, seed=args.seed, log=lambda line: print(line, flush=True),
        sampler=args.sampler,
    )
    text = format_report(report)
    print("\n" + text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
        print(f"\nwrote {args.out}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    from audiolab.generation.procedural_eval import evaluate_classes

    if args.what == "vocoder":
        return _eval_vocoder(args)
    if args.what == "denoise":
        return _eval_denoise(args)
    if args.what == "generation":
        return _eval_generation(args)
    pipeline = _pipeline(args.preset)
    args.per_class = args.per_class or 10
    report = evaluate_classes(pipeline, per_class=args.per_class, seconds=args.seconds, steps=args.steps,
                              sampler=args.sampler or "dpm", guidance=args.guidance)
    print(f"independent classifier on real procedural clips (ceiling): {report.real_accuracy:.1%}")
    print(f"generated from the label, recognised: {report.label_accuracy:.1%} "
          f"({args.per_class} clips per class, {args.seconds:g} s, {args.steps} {args.sampler or 'dpm'} steps)")
    print(f"\n{'class':<14} accuracy")
    for label, accuracy in report.per_class.items():
        print(f"{label:<14} {accuracy:>7.0%}")
    print(f"\ngenerated from a paraphrase that avoids the class name, recognised: {report.text_accuracy:.1%}")
    for prompt, hit in report.text_hits.items():
        print(f"  {'✓' if hit else '✗'} {prompt}")
    return 0


def _with_preset(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give a subcommand the --preset option."""
    command.add_argument("--preset", default=DEFAULT_PRESET, help=f"preset name (default {DEFAULT_PRESET})")
    return command


def _add_generation_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`generate` and `labels`."""
    generate = _with_preset(commands.add_parser("generate", help="generate a sound from text, a label or a reference"))
    generate.add_argument("prompt", nargs="?", default=None, help="text prompt (optional with --label or --reference)")
    generate.add_argument("--out", required=True, help="output audio file (.wav, .flac or .ogg)")
    generate.add_argument("--label", default=None, help="class label (see `labels`)")
    generate.add_argument("--reference", default=None, help="reference recording: an SDEdit variation, or a style")
    generate.add_argument("--reference-mode", choices=["variation", "style"], default="variation",
                          help="variation: noise the reference's mel and denoise it; style: a new sound like it")
    generate.add_argument("--strength", type=float, default=0.6, help="variation: how far to noise the reference (0–1)")
    generate.add_argument("--style-weight", type=float, default=0.5,
                          help="style: the reference's share against the prompt (0 = prompt only, 1 = reference only)")
    generate.add_argument("--seconds", type=float, default=None)
    generate.add_argument("--steps", type=int, default=None)
    generate.add_argument("--sampler", choices=SAMPLERS, default=None)
    generate.add_argument("--guidance", type=float, default=None, help="classifier-free guidance scale")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--vocoder", choices=VOCODER_METHODS, default=None,
                          help="mel -> waveform: the diffusion vocoder or Griffin-Lim (default: the preset's)")
    generate.add_argument("--plot", default=None, help="save the reverse trajectory figure here")
    generate.add_argument("--model", default=None,
                          help="a hub model instead of the preset: a hub id (cvssp/audioldm2, cvssp/audioldm2-large, "
                               "cvssp/audioldm2-music, stabilityai/stable-audio-open-1.0) or a local diffusers folder")
    generate.add_argument("--negative-prompt", default=None, help="hub models: what guidance steers away from")
    generate.add_argument("--inpaint", nargs=2, type=float, default=None, metavar=("START", "END"),
                          help="hub models: regenerate this span (seconds) of --reference, keeping the rest")
    generate.set_defaults(handler=_generate)

    labels = _with_preset(commands.add_parser("labels", help="list the preset's class labels, one per line"))
    labels.set_defaults(handler=_labels)


def _add_audio_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`diffuse`, `vocode` and `denoise`: the processes run on a recording."""
    diffuse = _with_preset(commands.add_parser("diffuse", help="run the forward (noising) process on a recording"))
    diffuse.add_argument("input")
    diffuse.add_argument("--t", type=int, default=500, help="timestep whose x_t is written to --out (0–999)")
    diffuse.add_argument("--out", default=None, help="write the audio of x_t here")
    diffuse.add_argument("--plot", default=None, help="save the forward trajectory figure here")
    diffuse.add_argument("--schedule", choices=BETA_SCHEDULES, default=None)
    diffuse.add_argument("--domain", choices=["mel", "waveform"], default="mel")
    diffuse.add_argument("--seed", type=int, default=0)
    diffuse.set_defaults(handler=_diffuse)

    vocode = _with_preset(commands.add_parser("vocode", help="resynthesise a recording through its mel"))
    vocode.add_argument("input")
    vocode.add_argument("--out", required=True)
    vocode.add_argument("--method", choices=["diffusion", "griffinlim", "hifigan"], default=None,
                        help="default: the preset's (the diffusion vocoder where it has one); hifigan: AudioLDM 2's, "
                             "from --model")
    vocode.add_argument("--model", default=None,
                        help="hifigan: the AudioLDM 2 checkpoint (a local folder or hub id; default cvssp/audioldm2)")
    vocode.add_argument("--steps", type=int, default=None, help="diffusion vocoder steps (default: its preset's, 6)")
    vocode.add_argument("--iterations", type=int, default=None, help="Griffin-Lim iterations")
    vocode.add_argument("--projections", type=int, default=None,
                        help="diffusion: magnitude projections per step (GLA-Grad; default the preset's, 0 = none)")
    vocode.add_argument("--plot", default=None, help="save the waveform trajectory (or mel comparison) to this PNG")
    vocode.add_argument("--seed", type=int, default=0)
    vocode.set_defaults(handler=_vocode)

    denoise = _with_preset(commands.add_parser("denoise", help="clean a noisy recording"))
    denoise.add_argument("input")
    denoise.add_argument("--out", required=True)
    denoise.add_argument("--method", choices=["diffgmm", "score", "baseline"], default=None,
                         help="diffgmm, score (conditional / posterior sampling) or baseline (Wiener, or the input); "
                              "default: diffgmm to denoise, score for the other tasks")
    denoise.add_argument("--task", choices=["denoise", "bandwidth", "declip", "inpaint"], default="denoise")
    denoise.add_argument("--steps", type=int, default=None,
                         help="DiffGMM iterations, or diffusion steps (default: the method's preset)")
    denoise.add_argument("--strength", type=float, default=None, help="score, denoise: where the reverse process starts (0–1]")
    denoise.add_argument("--guidance", type=float, default=None, help="score, posterior sampling: ζ")
    denoise.add_argument("--cutoff", type=float, default=4000.0, help="bandwidth: the input's low-pass cut-off in Hz")
    denoise.add_argument("--attenuation-limit", type=float, default=None, metavar="DB",
                         help="denoise: turn the removed noise down by at most DB decibels (default: no limit)")
    denoise.add_argument("--seed", type=int, default=0)
    denoise.add_argument("--plot", default=None, help="save the restoration trajectory to this PNG")
    denoise.set_defaults(handler=_denoise)


def _add_training_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`train` and `credits`."""
    train = _with_preset(commands.add_parser("train", help="train a built-in model"))
    train.add_argument("model", choices=["generator", "vocoder", "denoiser", "encoder"],
                       help="which model to train (encoder: the audio half of the text–audio space)")
    train.add_argument("--data", nargs="+", default=None, help="vocoder: folders of recordings to train on; generator (esc50 presets): the ESC-50 folder")
    train.add_argument("--exclude", nargs="+", default=None, help="vocoder: file-name globs to hold out")
    train.add_argument("--cache", default=None,
                       help="vocoder: a folder for the training clips' Griffin-Lim estimates, reused by later runs")
    train.add_argument("--val", nargs="+", default=None,
                       help="vocoder, denoiser: folders of held-out clips (denoiser: held-out speech) for the validation figure")
    train.add_argument("--speech", nargs="+", default=None, help="denoiser: folders of clean speech (default: the preset's)")
    train.add_argument("--noise", nargs="+", default=None, help="denoiser: folders of noise recordings (default: the preset's)")
    train.add_argument("--esc50", default=None, help="denoiser: an ESC-50 folder whose noise classes join the noise")
    train.add_argument("--synthetic-speech", type=int, default=None, help="denoiser: espeak-ng utterances to add (0: none)")
    train.add_argument("--components", type=int, default=None, help="denoiser: DiffGMM mixture components K")
    train.add_argument("--steps", type=int, default=None, help="optimiser steps (default: the preset's)")
    train.add_argument("--out", default=None, help="checkpoint path (default: the preset's)")
    train.add_argument("--log", default=None, help="also append the log to this file")
    train.add_argument("--resume", action="store_true", help="continue from the checkpoint's weights (warm restart)")
    train.add_argument("--init", default=None,
                       help="generator: start from another checkpoint of the same network (fine-tuning)")
    train.set_defaults(handler=_train)

    credits = _with_preset(commands.add_parser("credits", help="write the vocoder checkpoint's credits file"))
    credits.add_argument("--data", nargs="+", default=None, help="training folders (default: the preset's)")
    credits.add_argument("--exclude", nargs="+", default=None, help="held-out globs (default: the preset's)")
    credits.set_defaults(handler=_credits)


def _add_eval_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`eval`: generator, vocoder, denoise and generation measurements."""
    evaluate = _with_preset(commands.add_parser("eval", help="measure quality"))
    evaluate.add_argument("what", choices=["generator", "vocoder", "denoise", "generation"],
                          help="generator: are the classes told apart? vocoder: how close is mel -> wave to the original? "
                               "denoise: how close is the restored recording to the clean one? generation: recognisable, close to "
                               "real, on-prompt (ESC-50 presets)?")
    evaluate.add_argument("--clean", default=None, help="denoise: folder of clean references")
    evaluate.add_argument("--noisy", default=None, help="denoise: folder of noisy recordings named like the clean ones")
    evaluate.add_argument("--noise", default=None, help="denoise: folder of held-out noise to mix in (or an ESC-50 folder)")
    evaluate.add_argument("--noise-classes", nargs="+", default=None, help="denoise: ESC-50 classes to take from --noise")
    evaluate.add_argument("--include", nargs="+", default=None,
                          help="vocoder: only clips matching these globs; denoise: only noise files matching them")
    evaluate.add_argument("--each", type=int, default=None,
                          help="vocoder: with --include, the first N clips of each glob (e.g. 2 per held-out speaker)")
    evaluate.add_argument("--distant", action="store_true",
                          help="denoise: put each noise excerpt across a random reverberant room, as distant talkers are "
                               "(a set of its own: the rooms are drawn from the same seeded generator)")
    evaluate.add_argument("--snrs", nargs="+", type=float, default=[0.0, 5.0, 10.0],
                          help="denoise: mixing SNRs in dB (the scores also come per SNR and per noise)")
    evaluate.add_argument("--task", choices=["denoise", "bandwidth", "declip", "inpaint"], default="denoise")
    evaluate.add_argument("--offset", type=float, default=0.0,
                          help="denoise: add a DC offset of this many times each noisy input's RMS (robustness)")
    evaluate.add_argument("--rumble", type=float, default=0.0,
                          help="denoise: add an 8 Hz rumble of this many times each noisy input's RMS (robustness)")
    evaluate.add_argument("--seed", type=int, default=0, help="denoise: mixing and sampling seed")
    evaluate.add_argument("--diffgmm-checkpoints", nargs="+", default=None,
                          help="denoise: evaluate these DiffGMM checkpoints (e.g. K = 1, 3, 5) one table each")
    evaluate.add_argument("--score-preset", default=None,
                          help="denoise: the score model's preset (default score-16k), e.g. a retrained one to compare")
    evaluate.add_argument("--data", default=None,
                          help="vocoder: a folder of recordings to resynthesise; generation: an ESC-50 folder")
    evaluate.add_argument("--speech", action="store_true", help="vocoder: the clips are speech; add PESQ and STOI")
    evaluate.add_argument("--methods", nargs="+", default=None,
                          help="vocoder: e.g. diffusion-6 diffusion-12 griffinlim-100; denoise: noisy wiener noisereduce "
                               "diffgmm[-ITERATIONS] score[-STEPS], any with @DB for an attenuation limit (other tasks: degraded "
                               "baseline score)")
    evaluate.add_argument("--limit", type=int, default=None, help="vocoder, denoise: use only the first N clips")
    evaluate.add_argument("--max-seconds", type=float, default=10.0, help="vocoder, denoise: cut longer clips")
    evaluate.add_argument("--exclude", nargs="+", default=None, help="vocoder: file-name globs to skip")
    evaluate.add_argument("--per-class", type=int, default=None,
                          help="generated clips per class (generator: default 10; generation: default 4)")
    evaluate.add_argument("--condition", choices=["label", "text", "paraphrase"], default="label",
                          help="generation: generate from each class's label (default), from its training "
                               "captions (a different one each round), or from held-out paraphrases that never "
                               "name the class (audiolab/generation/paraphrases.toml)")
    evaluate.add_argument("--holdout-fold", type=int, default=None,
                          help="generation: the real fold held out from the classifier (default: the highest in --data)")
    evaluate.add_argument("--classifier-steps", type=int, default=1500, help="generation: the judge's training steps")
    evaluate.add_argument("--out", default=None, help="generation: also write the Markdown report here")
    evaluate.add_argument("--seconds", type=float, default=2.0)
    evaluate.add_argument("--steps", type=int, default=25)
    evaluate.add_argument("--sampler", choices=SAMPLERS, default=None,
                          help="generator: default dpm; generation: default the preset's; vocoder: the vocoder preset's")
    evaluate.add_argument("--guidance", type=float, default=None)
    evaluate.set_defaults(handler=_eval)


def _add_bench_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`bench`: speed and memory."""
    bench = _with_preset(commands.add_parser("bench", help="measure generation speed and the app's memory"))
    bench.add_argument("--samplers", nargs="+", choices=SAMPLERS, default=list(SAMPLERS))
    bench.add_argument("--steps", nargs="+", type=int, default=[10, 25, 50])
    bench.add_argument("--repeats", type=int, default=5, help="timed runs per setting (the median is reported)")
    bench.add_argument("--seconds", type=float, default=4.0, help="audio length generated")
    bench.add_argument("--no-app", action="store_true", help="skip the app click and memory measurement")
    bench.add_argument("--clients", type=int, default=20,
                       help="simultaneous app requests to time against the same requests one at a time (0 skips)")
    bench.set_defaults(handler=_bench)


def build_parser() -> argparse.ArgumentParser:
    """The `python -m audiolab` parser: one subcommand per task, each with its handler."""
    parser = argparse.ArgumentParser(prog="python -m audiolab", description="audiolab: audio diffusion you can watch.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_generation_commands(commands)
    _add_audio_commands(commands)
    _add_training_commands(commands)
    _add_eval_command(commands)
    _add_bench_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command in AUDIO_OUTPUT_COMMANDS and args.out:
            check_writable(args.out)  # before any model loads: a wrong format must not cost a whole generation
        return int(args.handler(args))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
