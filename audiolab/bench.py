"""`python -m audiolab bench`: generation speed per sampler and step count, pipeline load time, the app's click time and memory.

Every figure is the median of several timed runs after a warm-up; these machines are noisy.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from audiolab.core.diffusion import SAMPLER_TITLES, make_scheduler
from audiolab.pipeline import AudioLabPipeline

BENCH_PROMPT = "an ambulance passing by"


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    run()  # warm-up: first calls pay for allocator growth and lazy initialisation
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def plain_loop(pipeline: AudioLabPipeline, steps: int, seconds: float, guidance: float, seed: int = 0) -> object:
    """The same DPM-Solver++ sampling written as a bare diffusers loop: no Steps, no clipping, no bookkeeping."""
    models = pipeline.models
    num_samples, frames = pipeline.frames_for(seconds)
    scheduler = make_scheduler("dpm", pipeline.schedule)
    scheduler.set_timesteps(steps)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn((1, 1, pipeline.preset.mel.n_mels, frames), generator=generator)
    with torch.no_grad():
        from audiolab.generation.conditioning import shared_text_encoder

        cond = models.condition.from_text(shared_text_encoder().encode([BENCH_PROMPT]))
        both = torch.cat([cond, models.condition.unconditional(1)])
        for t in scheduler.timesteps:
            eps_cond, eps_uncond = models.denoiser(torch.cat([x, x]), t.float().expand(2), both).chunk(2)
            x = scheduler.step(eps_uncond + guidance * (eps_cond - eps_uncond), t, x).prev_sample
    return pipeline.mel_to_audio(x, num_samples)


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cold_load_seconds(preset: str) -> float:
    code = (
        "import time; t=time.perf_counter(); from audiolab.pipeline import AudioLabPipeline; "
        f"p=AudioLabPipeline.from_preset({preset!r}); from audiolab.generation.conditioning import shared_text_encoder; "
        "shared_text_encoder(); print(time.perf_counter()-t)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return float(output.strip().splitlines()[-1])


_APP_PROBE = r"""
import json, resource, statistics, sys, time
import app
from audiolab.examples import example_recordings
from gradio_client import Client, handle_file
preset, clicks, prompt, clients = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
seconds, steps = float(sys.argv[5]), int(sys.argv[6])
demo = app.build_app(preset)
demo.queue(default_concurrency_limit=1).launch(prevent_thread_lock=True, quiet=True,
                                               **{**app.launch_settings(), "server_name": "127.0.0.1"})
client = Client(demo.local_url, verbose=False)
def click(seed):
    return client.predict(preset, prompt, seconds, steps, "dpm", 3.0, seed, "diffusion", 6, api_name="/generate_text")
times = []
for seed in range(clicks + 1):
    started = time.perf_counter()
    click(seed)
    times.append(time.perf_counter() - started)
result = {"click": statistics.median(times[1:])}
if clients:
    seeds = range(1000, 1000 + clients)
    started = time.perf_counter()
    jobs = [client.submit(preset, prompt, seconds, steps, "dpm", 3.0, seed, "diffusion", 6, api_name="/generate_text")
            for seed in seeds]
    for job in jobs:
        job.result(timeout=3600)
    result["together"] = time.perf_counter() - started
    started = time.perf_counter()
    for seed in seeds:
        click(seed)
    result["one_by_one"] = time.perf_counter() - started
recording = handle_file(str(example_recordings(16000)["church_bell"]))
client.predict(preset, "", "", recording, 0.6, seconds, steps, "dpm", 3.0, 0, "diffusion", 6, "style", 0.5,
               api_name="/generate_reference")
client.predict(preset, recording, "Recording", 6, 16, 0, 8, api_name="/vocode")
for method, task in (("diffgmm", "denoise"), ("score", "denoise"), ("score", "bandwidth")):
    client.predict(preset, recording, None, method, task, 0, 0.5, 0.5, 4000, 0, api_name="/denoise")
client.predict(preset, recording, [0, 500, 999], "linear", "waveform", 0, api_name="/diffuse")
demo.close()
result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def app_click_and_memory(preset: str, repeats: int, clients: int = 0, seconds: float = 4.0,
                         steps: int = 25) -> dict[str, float]:
    """Launch the app in a fresh process and drive it through its API as users would.

    Times a Generate click (text, `seconds` long, `steps` steps: 4 s and 25 are the default click) and, with
    `clients`, that many simultaneous requests (distinct seeds) against the same requests one at a time; then
    uses every other tab (reference, vocoder, denoise with both models, explorer) before reading the process's
    peak memory.
    """
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    output = subprocess.run(
        [sys.executable, "-c", _APP_PROBE, preset, str(repeats), BENCH_PROMPT, str(clients), str(seconds), str(steps)],
        capture_output=True, text=True, cwd=root, check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def vocoder_bench(pipeline: AudioLabPipeline, seconds: float, repeats: int, print_line: Callable[[str], None]) -> None:
    """Mel -> waveform for `seconds` of a procedural sound, per method: wall time and real-time factor."""
    from audiolab.generation import synth

    log_mel = pipeline.mel.log_mel(synth.synthesize("engine_hum", seed=0, seconds=seconds))
    samples = int(seconds * pipeline.sample_rate)
    methods: list[tuple[str, dict[str, object]]] = [
        ("Griffin-Lim, 32 iterations", {"method": "griffinlim", "iterations": 32}),
        ("Griffin-Lim, 100 iterations", {"method": "griffinlim", "iterations": 100}),
    ]
    if pipeline.vocoder is not None:
        default = pipeline.vocoder.settings.projection_iterations
        methods += [(f"diffusion, {n} steps, {default} projections a step", {"method": "diffusion", "steps": n})
                    for n in (6, 12, 50)]
        methods.append(("diffusion, 6 steps, no projections", {"method": "diffusion", "steps": 6, "projections": 0}))
    print_line(f"\nvocode {seconds:g} s of audio from its mel; median of {repeats} runs")
    print_line(f"{'method':<44} {'wall s':>8} {'RTF':>6}")
    for name, kwargs in methods:
        wall = median_seconds(lambda: pipeline.vocode_mel(log_mel, samples, **kwargs), repeats)  # type: ignore[arg-type]
        print_line(f"{name:<44} {wall:>8.2f} {wall / seconds:>6.3f}")


def restoration_bench(pipeline: AudioLabPipeline, seconds: float, repeats: int,
                      print_line: Callable[[str], None]) -> None:
    """Restore `seconds` of a noisy (or low-passed) procedural recording, per method and task: wall time and RTF."""
    from audiolab.core.audio import resample
    from audiolab.examples import mix_at_snr
    from audiolab.generation import synth
    from audiolab.restoration.degradations import degrade
    from audiolab.restoration.noisy_speech import coloured_noise

    rate = pipeline.restorer.sample_rate
    clean = synth.synthesize("whistle", seed=0, seconds=seconds)
    noisy = mix_at_snr(clean, coloured_noise(clean.size, np.random.default_rng(0), -3.0), 5.0)
    low_passed = degrade("bandwidth", clean, rate)
    noisy_48k = (48_000, resample(noisy, rate, 48_000))  # a 48 kHz upload: resampled in, full band out
    runs: list[tuple[str, np.ndarray | tuple[int, np.ndarray], dict[str, object]]] = [
        ("denoise: Wiener baseline", noisy, {"method": "baseline"}),
        ("denoise: DiffGMM (preset iterations)", noisy, {"method": "diffgmm"}),
        ("denoise: DiffGMM, 48 kHz in, full band out", noisy_48k, {"method": "diffgmm"}),
        ("denoise: score, conditional (preset steps)", noisy, {"method": "score"}),
        ("bandwidth: score, posterior sampling (preset steps)", low_passed, {"method": "score", "task": "bandwidth"}),
    ]
    print_line(f"\nrestore {seconds:g} s of audio; median of {repeats} runs")
    print_line(f"{'method':<52} {'wall s':>8} {'RTF':>6}")
    for name, audio, kwargs in runs:
        pipeline.denoise(audio, **kwargs)  # type: ignore[arg-type]  # first use loads the model: not timed
        wall = median_seconds(lambda: pipeline.denoise(audio, **kwargs), repeats)  # type: ignore[arg-type]
        print_line(f"{name:<52} {wall:>8.2f} {wall / seconds:>6.3f}")


def run_bench(
    preset: str,
    samplers: Sequence[str],
    step_counts: Sequence[int],
    repeats: int = 5,
    app: bool = True,
    seconds: float = 4.0,
    print_line: Callable[[str], None] = print,
    load_repeats: int = 3,
    app_clicks: int = 3,
    restore_seconds: float = 10.0,
    clients: int = 20,
    click: tuple[float, int] = (4.0, 25),
) -> None:
    """Print the speed table: generation per sampler and step count, the pipeline's overhead, the vocoders, the
    restorers, and (with `app`) the app's whole click of `click` = (seconds, steps) and its peak memory."""
    print_line(f"machine: {_cpu_name()}, {os.cpu_count()} CPUs, "
               f"torch {torch.__version__} with {torch.get_num_threads()} threads, Python {platform.python_version()}")
    loads = [_cold_load_seconds(preset) for _ in range(load_repeats)]
    print_line(f"pipeline load (fresh process, imports + weights + text encoder): median {statistics.median(loads):.2f} s "
               f"of {load_repeats}")
    pipeline = AudioLabPipeline.from_preset(preset)
    guidance = pipeline.preset.sampler.guidance
    vocoder = pipeline.describe_vocoder(pipeline.check_vocoder_method(None))
    print_line(f"\ngenerate {seconds:g} s of audio from text, guidance {guidance:g}, vocoder included ({vocoder}); "
               f"median of {repeats} runs")
    print_line(f"{'sampler':<34} {'steps':>5} {'wall s':>8} {'RTF':>6}")
    for sampler in samplers:
        for steps in step_counts:
            wall = median_seconds(
                lambda: pipeline.generate(text=BENCH_PROMPT, seconds=seconds, steps=steps, sampler=sampler,
                                          guidance=guidance),
                repeats,
            )
            print_line(f"{SAMPLER_TITLES[sampler]:<34} {steps:>5} {wall:>8.2f} {wall / seconds:>6.3f}")
    steps = max(step_counts)
    plain = median_seconds(lambda: plain_loop(pipeline, steps, seconds, guidance), repeats)
    ours = median_seconds(lambda: pipeline.generate(text=BENCH_PROMPT, seconds=seconds, steps=steps, sampler="dpm",
                                                    guidance=guidance), repeats)
    print_line(f"\nDPM-Solver++ {steps} steps: pipeline {ours:.2f} s vs the same loop written plainly {plain:.2f} s "
               f"(overhead {100 * (ours / plain - 1):+.0f}%)")
    vocoder_bench(pipeline, seconds, repeats, print_line)
    restoration_bench(pipeline, restore_seconds, repeats, print_line)
    if app:
        measured = app_click_and_memory(preset, app_clicks, clients, *click)
        print_line(f"\napp: a Generate click (text, {click[0]:g} s, {click[1]} steps, plots included) "
                   f"median {measured['click']:.2f} s")
        if clients:
            print_line(f"app: {clients} simultaneous clicks (distinct seeds) served in {measured['together']:.1f} s "
                       f"({measured['together'] / measured['click']:.1f} clicks' time), against "
                       f"{measured['one_by_one']:.1f} s one at a time")
        print_line(f"app: peak memory after using every tab {measured['peak_mb']:.0f} MB")
