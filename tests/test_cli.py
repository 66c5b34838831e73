"""The command line: the same pipeline as the app, and a one-line reason with a non-zero status on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiolab.cli import main
from tests.conftest import ROOT, TEST_PRESET


def test_labels_prints_one_per_line(capsys: pytest.CaptureFixture[str], pipeline) -> None:
    assert main(["labels", "--preset", TEST_PRESET]) == 0
    assert capsys.readouterr().out.split() == list(pipeline.labels)


def test_generate_writes_audio_and_a_trajectory_plot(tmp_path: Path) -> None:
    out, plot = tmp_path / "out.wav", tmp_path / "traj.png"
    status = main(["generate", "a ticking clock", "--out", str(out), "--seconds", "1", "--steps", "5", "--sampler",
                   "ddim", "--seed", "1", "--preset", TEST_PRESET, "--plot", str(plot)])
    assert status == 0
    audio, rate = sf.read(out)
    assert rate == 16_000 and audio.shape == (16_000,)
    assert plot.stat().st_size > 10_000


def test_generate_from_label_and_reference(tmp_path: Path, bell_wav: Path) -> None:
    out = tmp_path / "variation.wav"
    assert main(["generate", "--label", "siren", "--reference", str(bell_wav), "--strength", "0.5", "--out", str(out),
                 "--seconds", "1", "--steps", "4", "--preset", TEST_PRESET]) == 0
    assert sf.info(out).frames == 16_000


def test_diffuse_writes_noisy_audio_and_the_forward_plot(tmp_path: Path, bell_wav: Path) -> None:
    out, plot = tmp_path / "noisy.wav", tmp_path / "forward.png"
    assert main(["diffuse", str(bell_wav), "--t", "500", "--out", str(out), "--plot", str(plot),
                 "--preset", TEST_PRESET]) == 0
    assert sf.info(out).frames == 32_000 and plot.stat().st_size > 10_000


def test_vocode_and_denoise_keep_the_length(tmp_path: Path, bell_wav: Path) -> None:
    for command in ("vocode", "denoise"):
        out = tmp_path / f"{command}.wav"
        assert main([command, str(bell_wav), "--out", str(out), "--preset", TEST_PRESET]) == 0
        assert sf.info(out).frames == 32_000


def test_vocode_and_denoise_note_what_they_did_to_the_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    t = np.arange(44_100) / 44_100
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    stereo = tmp_path / "stereo44k.wav"
    sf.write(stereo, np.stack([tone, tone], axis=1), 44_100)
    for command in (["vocode", "--method", "griffinlim"], ["denoise", "--method", "baseline"]):
        assert main([command[0], str(stereo), "--out", str(tmp_path / "out.wav"), *command[1:],
                     "--preset", TEST_PRESET]) == 0
        assert "note: Recording: mixed 2 channels to mono; resampled 44.1 kHz → 16 kHz." in capsys.readouterr().out


def test_vocode_with_either_method_and_a_trajectory_plot(tmp_path: Path, bell_wav: Path) -> None:
    out, plot = tmp_path / "diffusion.wav", tmp_path / "traj.png"
    assert main(["vocode", str(bell_wav), "--out", str(out), "--method", "diffusion", "--steps", "6", "--seed", "3",
                 "--plot", str(plot), "--preset", TEST_PRESET]) == 0
    assert sf.info(out).frames == 32_000 and plot.stat().st_size > 10_000
    out = tmp_path / "gl.wav"
    assert main(["vocode", str(bell_wav), "--out", str(out), "--method", "griffinlim", "--iterations", "8",
                 "--preset", TEST_PRESET]) == 0
    assert sf.info(out).frames == 32_000


def test_eval_vocoder_prints_a_table_per_method(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from audiolab.generation import synth

    for label in ("whistle", "engine_hum"):
        sf.write(tmp_path / f"{label}.wav", synth.synthesize(label, seed=1, seconds=1.0), 16_000)
    assert main(["eval", "vocoder", "--data", str(tmp_path), "--methods", "diffusion-2", "griffinlim-4",
                 "--preset", TEST_PRESET]) == 0
    out = capsys.readouterr().out
    assert "2 clips" in out and "| diffusion-2 |" in out and "| griffinlim-4 |" in out and "MCD" in out
    assert "PESQ" not in out  # only with --speech


def test_train_generator_fine_tunes_another_checkpoint_to_v_prediction(tmp_path: Path) -> None:
    """--init starts from an ε-model's weights; a v-prediction, zero-terminal-SNR preset then trains and generates."""
    from audiolab.core.presets import PRESETS_DIR
    from audiolab.generation.preset import load_generator, load_preset

    text = (PRESETS_DIR / "synth-tiny.toml").read_text(encoding="utf-8")
    text = text.replace("num_train_timesteps = 1000", 'num_train_timesteps = 1000\nprediction = "v_prediction"\n'
                        "zero_terminal_snr = true", 1)
    text = text.replace('checkpoint = "synth-tiny.safetensors"', 'checkpoint = "v.safetensors"', 1)
    text = text.replace("clips_per_class = 96", "clips_per_class = 2\nmin_snr_gamma = 5.0", 1)
    text = text.replace("batch_size = 16", "batch_size = 4", 1)
    preset_path = tmp_path / "v.toml"
    preset_path.write_text(text, encoding="utf-8")
    init = PRESETS_DIR / "synth-tiny.safetensors"
    assert main(["train", "generator", "--preset", str(preset_path), "--steps", "2", "--init", str(init)]) == 0
    preset = load_preset(preset_path)
    models = load_generator(preset)
    assert models.metadata["steps"] == "2 of 2" and models.metadata["initialised_from"] == init.name
    assert preset.schedule().prediction == "v_prediction" and preset.schedule().terminal_snr_db < -70
    out = tmp_path / "v.wav"
    assert main(["generate", "--preset", str(preset_path), "--label", "siren", "--seconds", "0.5", "--steps", "2",
                 "--vocoder", "griffinlim", "--out", str(out)]) == 0
    assert np.isfinite(sf.read(out)[0]).all()
    # --resume and --init together, or --init for another model, are refused before any work
    assert main(["train", "generator", "--preset", str(preset_path), "--steps", "1", "--init", str(init),
                 "--resume"]) == 2
    assert main(["train", "vocoder", "--preset", "vocoder-16k", "--init", str(init)]) == 2


def _small_synth_tiny(tmp_path: Path, name: str, model_line: str) -> tuple[Path, str]:
    """synth-tiny's preset with one more [model] line, a checkpoint of its own and a two-clip, batch-4 training set:
    its path and text."""
    from audiolab.core.presets import PRESETS_DIR

    text = (PRESETS_DIR / "synth-tiny.toml").read_text(encoding="utf-8")
    text = text.replace('checkpoint = "synth-tiny.safetensors"', f'{model_line}\ncheckpoint = "{name}.safetensors"', 1)
    text = text.replace("clips_per_class = 96", "clips_per_class = 2", 1).replace("batch_size = 16", "batch_size = 4", 1)
    preset_path = tmp_path / f"{name}.toml"
    preset_path.write_text(text, encoding="utf-8")
    return preset_path, text


def test_train_generator_fine_tunes_an_add_checkpoint_into_film_conditioning(tmp_path: Path) -> None:
    """--init widens an "add"-conditioned checkpoint's time projections for a "film" preset, then it trains."""
    from audiolab.core.presets import PRESETS_DIR
    from audiolab.generation.preset import load_generator, load_preset

    preset_path, text = _small_synth_tiny(tmp_path, "f", 'conditioning = "film"')
    init = PRESETS_DIR / "synth-tiny.safetensors"
    assert main(["train", "generator", "--preset", str(preset_path), "--steps", "1", "--init", str(init)]) == 0
    models = load_generator(load_preset(preset_path))
    original = dict(load_generator(load_preset("synth-tiny")).denoiser.named_parameters())
    widened = {n: p for n, p in models.denoiser.named_parameters() if n.endswith("time_emb_proj.weight")}
    assert widened and all(p.shape[0] == 2 * original[n].shape[0] for n, p in widened.items())
    assert models.metadata["initialised_from"] == init.name
    # a checkpoint of another width is refused with a sentence, not a traceback
    text = text.replace("block_out_channels = [48, 96, 128]", "block_out_channels = [64, 96, 128]", 1)
    preset_path.write_text(text, encoding="utf-8")
    assert main(["train", "generator", "--preset", str(preset_path), "--steps", "1", "--init", str(init)]) == 2


def test_train_generator_adds_timing_to_a_checkpoint_and_resumes_it(tmp_path: Path) -> None:
    """A preset with model.timing starts from an untimed checkpoint (its new input kernels at zero), trains with
    each crop's loudness curve, resumes, and generates; a variation is timed by its reference."""
    from audiolab.core.presets import PRESETS_DIR
    from audiolab.generation.preset import load_generator, load_preset

    preset_path, _ = _small_synth_tiny(tmp_path, "t", "timing = true")
    init = PRESETS_DIR / "synth-tiny.safetensors"
    assert main(["train", "generator", "--preset", str(preset_path), "--steps", "1", "--init", str(init)]) == 0
    assert main(["train", "generator", "--preset", str(preset_path), "--steps", "1", "--resume"]) == 0
    models = load_generator(load_preset(preset_path))
    original = load_generator(load_preset("synth-tiny")).denoiser.unet.conv_in.weight
    kernels = models.denoiser.unet.conv_in.weight
    assert models.metadata["steps"] == "2 of 2" and kernels.shape[1] == original.shape[1] + 2
    assert float(kernels.detach()[:, original.shape[1]:].abs().max()) > 0  # training reached the curve's kernels
    out = tmp_path / "t.wav"
    assert main(["generate", "--preset", str(preset_path), "--label", "siren", "--seconds", "0.5", "--steps", "2",
                 "--vocoder", "griffinlim", "--out", str(out)]) == 0
    assert np.isfinite(sf.read(out)[0]).all()
    from audiolab.pipeline import AudioLabPipeline

    pipeline = AudioLabPipeline.from_preset(str(preset_path))
    reference = np.sin(np.linspace(0, 400 * np.pi, 8000)).astype(np.float32) * np.linspace(0, 0.5, 8000)
    result = pipeline.generate(reference=(16000, reference), seconds=0.5, steps=2, vocoder="griffinlim", seed=1)
    assert "timed by the reference's loudness curve" in result.method


def test_train_vocoder_runs_resumes_and_reuses_its_griffin_lim_cache(tmp_path: Path) -> None:
    from audiolab.generation import synth
    from audiolab.vocoder.preset import load_vocoder, load_vocoder_preset

    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    sf.write(data / "hum.wav", synth.synthesize("engine_hum", seed=2, seconds=3.0), 16_000)
    out = tmp_path / "vocoder.safetensors"
    # the shipped preset with a 4-iteration Griffin-Lim hint: the same network, the cache at a fraction of the cost
    shipped = (Path(__file__).parents[1] / "presets" / "vocoder-16k.toml").read_text(encoding="utf-8")
    assert "griffin_lim_hint = 100" in shipped
    preset = tmp_path / "vocoder-16k.toml"
    preset.write_text(shipped.replace("griffin_lim_hint = 100", "griffin_lim_hint = 4"), encoding="utf-8")
    command = ["train", "vocoder", "--preset", str(preset), "--data", str(data), "--steps", "2", "--out", str(out),
               "--log", str(tmp_path / "log.txt"), "--cache", str(cache)]
    assert main(command) == 0
    vocoder = load_vocoder(load_vocoder_preset("vocoder-16k"), out)
    assert vocoder.metadata["steps"] == "2 of 2" and vocoder.prior_scale > 0
    assert "val log-mel L1" in (tmp_path / "log.txt").read_text()
    cached = sorted(cache.glob("*.npy"))
    assert [path.name.split("-griffin-lim-")[0] for path in cached] == ["data", "procedural"]
    stamps = [path.stat().st_mtime_ns for path in cached]
    assert main([*command[:6], "--steps", "1", *command[8:], "--resume"]) == 0
    assert [path.stat().st_mtime_ns for path in sorted(cache.glob("*.npy"))] == stamps  # read, not recomputed
    assert load_vocoder(load_vocoder_preset("vocoder-16k"), out).metadata["steps"] == "3 of 3"


def test_train_flow_vocoder_resumes_without_any_griffin_lim_pass(tmp_path: Path) -> None:
    from audiolab.generation import synth
    from audiolab.vocoder.flow_vocoder import FlowVocoder
    from audiolab.vocoder.preset import load_vocoder, load_vocoder_preset

    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    sf.write(data / "hum.wav", synth.synthesize("engine_hum", seed=2, seconds=3.0), 16_000)
    out, log = tmp_path / "flow.safetensors", tmp_path / "log.txt"
    command = ["train", "vocoder", "--preset", "vocoder-flow-16k", "--data", str(data), "--steps", "2", "--out", str(out),
               "--log", str(log), "--cache", str(cache)]
    assert main(command) == 0
    assert main([*command, "--resume"]) == 0
    assert not list(cache.glob("*.npy"))  # the magnitude flow needs no Griffin-Lim of its training clips
    vocoder = load_vocoder(load_vocoder_preset("vocoder-flow-16k"), out)
    assert isinstance(vocoder, FlowVocoder) and vocoder.metadata["steps"] == "4 of 4"
    text = log.read_text()
    assert "RMS of z_1" in text and "PESQ-WB" in text or "val log-mel L1" in text


def test_bad_input_exits_non_zero_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(16_000, np.float32), 16_000)
    cases = [
        ["generate", "", "--out", str(tmp_path / "x.wav"), "--preset", TEST_PRESET],
        ["generate", "--label", "unicorn", "--out", str(tmp_path / "x.wav"), "--preset", TEST_PRESET],
        ["generate", "rain", "--steps", "100000", "--out", str(tmp_path / "x.wav"), "--preset", TEST_PRESET],
        ["diffuse", str(silent), "--out", str(tmp_path / "y.wav"), "--preset", TEST_PRESET],
        ["labels", "--preset", "no-such-preset"],
        ["vocode", str(silent), "--out", str(tmp_path / "z.wav"), "--preset", TEST_PRESET],
        ["vocode", str(silent).replace("silent", "missing"), "--out", str(tmp_path / "z.wav"), "--preset", TEST_PRESET],
        ["eval", "vocoder", "--preset", TEST_PRESET],
        ["eval", "vocoder", "--data", str(tmp_path / "nowhere"), "--preset", TEST_PRESET],
        ["eval", "vocoder", "--data", str(tmp_path), "--methods", "wavenet-3", "--preset", TEST_PRESET],
        ["train", "vocoder", "--data", str(tmp_path / "nowhere"), "--steps", "1", "--preset", "vocoder-16k"],
        ["eval", "denoise", "--clean", str(tmp_path), "--noisy", str(tmp_path), "--score-preset", "diffgmm-16k"],
        ["eval", "denoise", "--clean", str(tmp_path), "--noisy", str(tmp_path), "--score-preset", "no-such-preset"],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: ") and "\n" not in err, err


def test_module_entry_point_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "audiolab", "labels", "--preset", TEST_PRESET], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "siren" in done.stdout


def test_help_and_argument_errors_import_no_model_code() -> None:
    """`--help` and argument errors answer at once: building the parser imports neither torch nor gradio."""
    probe = ("import sys; from audiolab.cli import build_parser; build_parser(); "
             "print(sorted(m for m in ('torch', 'torchaudio', 'diffusers', 'gradio') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("command", [["generate", "rain"], ["vocode", "in.wav"], ["denoise", "in.wav"]])
def test_an_unwritable_output_format_is_refused_before_any_model_loads(
        command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def no_models(preset: str) -> None:
        raise AssertionError("a model was loaded before the output format was checked")

    monkeypatch.setattr("audiolab.cli._pipeline", no_models)
    assert main([*command, "--out", "out.mp3", "--preset", TEST_PRESET]) == 2
    assert "Cannot write out.mp3" in capsys.readouterr().err


def test_generate_takes_a_vocoder_choice(tmp_path: Path, capsys: pytest.CaptureFixture[str], pipeline) -> None:
    out = tmp_path / "gl.wav"
    assert main(["generate", "--label", pipeline.labels[0], "--vocoder", "griffinlim", "--seconds", "1", "--steps", "3",
                 "--out", str(out), "--preset", TEST_PRESET]) == 0
    assert "Griffin-Lim" in capsys.readouterr().out and sf.info(out).frames == 16_000


def test_task_alone_picks_a_method_that_can_do_it(tmp_path: Path, bell: np.ndarray,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from audiolab.restoration.degradations import degrade

    low_passed = tmp_path / "low.wav"
    sf.write(low_passed, degrade("bandwidth", bell, 16_000), 16_000)
    out = tmp_path / "wide.wav"
    assert main(["denoise", str(low_passed), "--task", "bandwidth", "--steps", "3", "--out", str(out),
                 "--preset", TEST_PRESET]) == 0
    assert sf.info(out).frames == bell.size and "posterior" in capsys.readouterr().out.lower()


def test_eval_denoise_refuses_distant_without_mixed_noise(tmp_path, capsys) -> None:
    """`--distant` rooms the noise that `--noise` mixes in: with real pairs or another task it says so."""
    for extra in (["--noisy", str(tmp_path)], ["--noise", str(tmp_path), "--task", "bandwidth"]):
        assert main(["eval", "denoise", "--clean", str(tmp_path), *extra, "--distant"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error: --distant") and "\n" not in err, err
