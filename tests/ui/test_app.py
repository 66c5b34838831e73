"""The app's API, driven through gradio_client against a launched local server, as a remote user would."""

from __future__ import annotations

import http.client
import os
import socket
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf
from gradio_client import Client, handle_file

from audiolab.examples import SHIPPED_EXAMPLES, example_folder
from audiolab.generation import synth
from tests.conftest import ROOT, TEST_PRESET

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

UPLOAD_CAP = 2 * 1024 * 1024  # the test server's cap: small enough to exceed quickly, big enough for test recordings


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The app served in-process with the launch settings `app.main` uses (a smaller upload cap)."""
    import app

    demo = app.build_app(TEST_PRESET)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = {**app.launch_settings(max_file_size=UPLOAD_CAP), "server_name": "127.0.0.1", "server_port": port}
    demo.queue().launch(prevent_thread_lock=True, quiet=True, **settings)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture(scope="module")
def client(server: str) -> Client:
    return Client(server, verbose=False)


def _frames(path: str) -> int:
    return sf.info(path).frames


def test_text_endpoint_returns_audio_plot_and_steps(client: Client) -> None:
    audio, preview, plot, picker, summary = client.predict(
        TEST_PRESET, "church bells ringing", 1.0, 5, "dpm", 3.0, 0, "diffusion", 6, api_name="/generate_text"
    )
    assert _frames(audio) == 16_000
    assert plot is not None and "5 steps" in summary and "church bells ringing" in summary
    assert "diffusion vocoder" in summary


def test_label_endpoint(client: Client) -> None:
    audio, *_rest, summary = client.predict(TEST_PRESET, "kick_drum", 1.0, 4, "euler", 2.0, 1, "griffinlim", 6,
                                            api_name="/generate_label")
    assert _frames(audio) == 16_000 and "kick_drum" in summary and "Griffin-Lim" in summary


def test_reference_endpoint(client: Client, bell_wav) -> None:
    audio, *_rest, summary = client.predict(
        TEST_PRESET, "", "siren", handle_file(str(bell_wav)), 0.5, 1.0, 4, "ddim", 3.0, 0, "diffusion", 2,
        "variation", 0.5, api_name="/generate_reference",
    )
    assert _frames(audio) == 16_000 and "reference at strength 0.50" in summary
    audio, *_rest, summary = client.predict(
        TEST_PRESET, "a police siren", "", handle_file(str(bell_wav)), 0.5, 1.0, 4, "dpm", 3.0, 0, "griffinlim", 2,
        "style", 0.3, api_name="/generate_reference",
    )
    assert _frames(audio) == 16_000 and "style at weight 0.30" in summary and "strength" not in summary


def test_explorer_vocoder_and_denoise_endpoints(client: Client, bell_wav) -> None:
    forward, schedule, picker, summary = client.predict(
        TEST_PRESET, handle_file(str(bell_wav)), [0, 500, 999], "linear", "waveform", 0, api_name="/diffuse"
    )
    assert forward is not None and schedule is not None and "waveform domain" in summary
    audio, griffin_lim, plot, trajectory, picker, summary = client.predict(
        TEST_PRESET, handle_file(str(bell_wav)), "Recording", 6, 16, 0, 8, api_name="/vocode"
    )
    assert _frames(audio) == _frames(griffin_lim) == 32_000
    assert "diffusion vocoder" in summary and "Griffin-Lim" in summary and "MR-STFT" in summary
    assert plot is not None and trajectory is not None
    audio, plot, trajectory, mixture, picker, summary = client.predict(
        TEST_PRESET, handle_file(str(bell_wav)), None, "baseline", "denoise", 0, 0.5, 0.5, 4000, 0, api_name="/denoise")
    assert _frames(audio) == 32_000 and "Wiener" in summary and plot is not None and trajectory is not None
    assert "| | DNSMOS OVRL ↑ | SIG ↑ | BAK ↑ |" in summary and "SI-SDR" not in summary  # no clean recording given
    assert "Attenuation limited" not in summary  # the slider's default: no limit
    limited, *_rest, summary = client.predict(TEST_PRESET, handle_file(str(bell_wav)), None, "baseline", "denoise", 0,
                                              0.5, 0.5, 4000, 0, 12, api_name="/denoise")  # attenuation limit 12 dB
    assert _frames(limited) == 32_000 and "Attenuation limited to 12 dB" in summary


def test_denoise_endpoint_restores_a_shipped_example_and_rates_it(client: Client) -> None:
    from audiolab.ui.restoration import example_rows

    recording, clean, method, task = example_rows()[0]
    audio, *_rest, summary = client.predict(TEST_PRESET, handle_file(recording), handle_file(clean), method, task,
                                            0, 0.3, 0.05, 4000, 0, api_name="/denoise")
    assert _frames(audio) == _frames(recording) and "DiffGMM" in summary
    assert "| | DNSMOS OVRL ↑ | SIG ↑ | BAK ↑ | SI-SDR dB ↑ | PESQ-wb ↑ | STOI ↑ |" in summary
    assert "| input |" in summary and "| restored |" in summary


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", 1.0, 5, "dpm", 3.0, 0, "diffusion", 6), "prompt is empty"),
        (("rain", 1.0, 1001, "dpm", 3.0, 0, "diffusion", 6), "1000"),
        (("rain", 1.0, 5, "dpm", 3.0, 0, "diffusion", 500), "maximum value 50"),
    ],
)
def test_bad_input_reaches_the_user_as_a_message(client: Client, args: tuple, message: str) -> None:
    with pytest.raises(Exception, match=message):
        client.predict(TEST_PRESET, *args, api_name="/generate_text")


def test_reference_tab_asks_for_a_recording(client: Client) -> None:
    with pytest.raises(Exception, match="reference recording"):
        client.predict(TEST_PRESET, "", "siren", None, 0.5, 1.0, 4, "ddim", 3.0, 0, "diffusion", 6, "style", 0.5,
                       api_name="/generate_reference")


def test_silent_upload_is_refused_with_a_message(client: Client, tmp_path) -> None:
    silent = tmp_path / "silence.wav"
    sf.write(silent, np.zeros(16_000, np.float32), 16_000)
    with pytest.raises(Exception, match="silent"):
        client.predict(TEST_PRESET, handle_file(str(silent)), "Recording", 6, 32, 0, 8, api_name="/vocode")


def test_vocoder_tab_asks_for_a_generation_before_using_its_mel(client: Client) -> None:
    fresh = Client(client.src, verbose=False)  # a new session: nothing generated yet
    with pytest.raises(Exception, match="Generate a sound"):
        fresh.predict(TEST_PRESET, None, "Last generated sound", 6, 32, 0, 8, api_name="/vocode")


def test_vocoder_tab_vocodes_the_last_generated_sound(client: Client) -> None:
    generated, *_rest = client.predict(TEST_PRESET, "rain on a tin roof", 1.0, 4, "dpm", 3.0, 0, "griffinlim", 6,
                                       api_name="/generate_text")
    audio, griffin_lim, _plot, _trajectory, _picker, summary = client.predict(
        TEST_PRESET, None, "Last generated sound", 4, 8, 0, 0, api_name="/vocode"
    )
    assert _frames(audio) == _frames(griffin_lim) == _frames(generated) == 16_000
    assert "4 Euler steps" in summary and "MR-STFT" not in summary  # no recording, so only the mel is compared


def test_default_app_offers_all_50_esc50_classes_and_switches_with_the_preset() -> None:
    import gradio as gr

    import app

    demo = app.build_app()  # the default preset: esc50-small
    dropdowns = {block.label: block for block in demo.blocks.values() if isinstance(block, gr.Dropdown)}
    from audiolab.ui.models import MODEL_LABEL

    assert dropdowns[MODEL_LABEL].value == "esc50-small"
    offered = [value for _, value in dropdowns[MODEL_LABEL].choices]  # the presets, then the hub models
    assert offered.index("synth-tiny") < offered.index("cvssp/audioldm2") and dropdowns[MODEL_LABEL].allow_custom_value
    classes = [value for _, value in dropdowns["Class"].choices]
    assert len(classes) == 50 and "dog" in classes and "sea_waves" in classes
    class_update, reference_update, text = app.labels_for_preset("synth-tiny")
    assert len(class_update["choices"]) == 12 and class_update["value"] == "siren"
    assert reference_update["choices"][0] == "" and "12 classes" in text


# ---- safe to expose --------------------------------------------------------------------------------


def _get(server: str, path: str) -> tuple[int, bytes]:
    """GET `path` exactly as written: httpx would resolve `..` and re-encode before sending it."""
    address = urllib.parse.urlsplit(server)
    connection = http.client.HTTPConnection(address.hostname or "127.0.0.1", address.port, timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _refused_paths() -> list[str]:
    """Files the server must not hand out, named directly, relatively, by traversal and URL-encoded."""
    examples = example_folder()
    app_py, preset = ROOT / "app.py", ROOT / "presets" / f"{TEST_PRESET}.toml"
    shipped = SHIPPED_EXAMPLES / "CREDITS.md"  # inside the package, so refused: the app serves copies of its recordings
    climb = os.path.relpath(app_py, examples)  # ../../<repository>/app.py, out of the examples folder
    plain = ["/etc/passwd", str(app_py), str(preset), str(shipped), "app.py", f"presets/{TEST_PRESET}.toml",
             f"{examples}/../../../../etc/passwd", f"{examples}/{climb}", f"{examples}/../{ROOT.name}/app.py"]
    encoded = [urllib.parse.quote(path, safe="") for path in plain]
    dotted = [path.replace("..", "%2e%2e") for path in plain if ".." in path]
    slashed = [path.replace("../", "..%2f") for path in plain if ".." in path]
    double = [urllib.parse.quote(path, safe="") for path in encoded]
    return plain + encoded + dotted + slashed + double


def test_file_routes_serve_only_the_examples_and_uploads(server: str, bell_wav: Path) -> None:
    example = next(example_folder().glob("*.wav"))
    status, body = _get(server, f"/gradio_api/file={example}")
    assert status == 200 and body.startswith(b"RIFF")  # the examples folder is served ...
    status, body = _get(server, f"/gradio_api/file={example_folder() / 'denoise-rain-5dB.flac'}")
    assert status == 200 and body.startswith(b"fLaC")  # ... with the Denoise tab's shipped recordings ...
    uploaded = httpx.post(server + "gradio_api/upload", files={"files": ("bell.wav", bell_wav.read_bytes())})
    status, body = _get(server, f"/gradio_api/file={uploaded.json()[0]}")
    assert status == 200 and body == bell_wav.read_bytes()  # ... and so are uploads
    secrets = (b"root:", b"import ", b"[model]", b"[sampler]", b"# Example recordings")
    for path in _refused_paths():
        for route in ("/gradio_api/file=", "/gradio_api/file/", "/file=", "/static/", "/assets/"):
            status, body = _get(server, route + path)
            assert status in (403, 404), route + path
            assert not any(secret in body for secret in secrets), route + path


def test_an_upload_over_the_cap_is_refused_with_a_message(server: str, client: Client, tmp_path: Path) -> None:
    refused = httpx.post(server + "gradio_api/upload", files={"files": ("big.wav", bytes(UPLOAD_CAP + 1))})
    assert refused.status_code == 413 and f"maximum allowed size of {UPLOAD_CAP} bytes" in refused.text
    accepted = httpx.post(server + "gradio_api/upload", files={"files": ("big.wav", bytes(UPLOAD_CAP))})
    assert accepted.status_code == 200
    big = tmp_path / "big.wav"
    big.write_bytes(bytes(UPLOAD_CAP + 1))
    with pytest.raises(Exception, match="maximum (allowed|file) size"):  # gradio_client checks the cap first
        client.predict(TEST_PRESET, handle_file(str(big)), "Recording", 6, 16, 0, 8, api_name="/vocode")


JUNK_CALLS = {
    "/vocode": lambda junk: (TEST_PRESET, junk, "Recording", 6, 16, 0, 8),
    "/denoise": lambda junk: (TEST_PRESET, junk, None, "baseline", "denoise", 0, 0.5, 0.5, 4000, 0),
    "/generate_reference": lambda junk: (TEST_PRESET, "", "siren", junk, 0.5, 1.0, 4, "ddim", 3.0, 0, "diffusion", 2,
                                         "variation", 0.5),
}


@pytest.mark.parametrize("api_name", list(JUNK_CALLS))
def test_a_junk_upload_is_refused_by_name_without_server_paths(client: Client, tmp_path: Path, api_name: str) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(np.random.default_rng(0).bytes(20_000))
    with pytest.raises(Exception) as caught:
        client.predict(*JUNK_CALLS[api_name](handle_file(str(junk))), api_name=api_name)
    shown = str(caught.value)
    assert "junk.wav" in shown or "cannot be read" in shown.lower()
    assert not any(leak in shown for leak in ("/tmp", "/gradio", "Traceback", str(tmp_path)))


def test_an_unexpected_failure_shows_a_short_message(client: Client, bell_wav: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from audiolab.ui.common import get_pipeline

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("out of memory loading /srv/models/unet.bin")

    monkeypatch.setattr(get_pipeline(TEST_PRESET), "diffuse", fail)  # the served app shares this process's cache
    with pytest.raises(Exception, match="Something went wrong") as caught:
        client.predict(TEST_PRESET, handle_file(str(bell_wav)), [0, 500], "linear", "waveform", 0, api_name="/diffuse")
    shown = str(caught.value)
    assert "the inputs are kept" in shown
    assert not any(leak in shown for leak in ("/srv", "RuntimeError", "out of memory", "Traceback"))


# ---- what was done to the input --------------------------------------------------------------------


def test_the_summary_says_how_the_recording_was_converted(client: Client, tmp_path: Path) -> None:
    clip = synth.synthesize("whistle", seed=1, seconds=2.0, sample_rate=44_100)
    path = tmp_path / "stereo44k.wav"
    sf.write(path, np.stack([clip, 0.5 * clip], axis=1), 44_100)
    converted = "mixed 2 channels to mono; resampled 44.1 kHz → 16 kHz"
    *_rest, summary = client.predict(TEST_PRESET, handle_file(str(path)), "Recording", 2, 8, 0, 0, api_name="/vocode")
    assert converted in summary
    *_rest, summary = client.predict(TEST_PRESET, handle_file(str(path)), None, "baseline", "denoise", 0, 0.5, 0.5,
                                     4000, 0, api_name="/denoise")
    assert converted in summary
    *_rest, summary = client.predict(TEST_PRESET, "", "siren", handle_file(str(path)), 0.5, 1.0, 4, "ddim", 3.0, 0,
                                     "griffinlim", 2, "variation", 0.5, api_name="/generate_reference")
    assert converted in summary


# ---- API names -------------------------------------------------------------------------------------


def test_every_endpoint_names_its_inputs_and_outputs(client: Client, bell_wav: Path) -> None:
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert {"/generate_text", "/generate_label", "/generate_reference", "/vocode", "/denoise", "/make_test_input",
            "/diffuse"} <= set(endpoints)
    for api_name, endpoint in endpoints.items():
        names = [p["parameter_name"] for p in endpoint["parameters"]] + [p["label"] for p in endpoint["parameters"]]
        names += [r["label"] for r in endpoint["returns"]]
        assert not [name for name in names if name.startswith(("value_", "parameter_"))], api_name
    text = next(p for p in endpoints["/generate_reference"]["parameters"] if p["parameter_name"] == "text")
    assert text["parameter_has_default"] and text["parameter_default"] == ""
    audio, *_rest = client.predict(preset=TEST_PRESET, label="siren", reference=handle_file(str(bell_wav)), seconds=1.0,
                                   steps=4, vocoder="griffinlim", api_name="/generate_reference")  # no prompt given
    assert _frames(audio) == 16_000


def test_simultaneous_clients_are_batched_and_each_gets_its_own_sound(client: Client) -> None:
    """Six clients at once, distinct seeds: every request succeeds, with the sound it gets when made alone."""
    from audiolab.ui.common import get_pipeline

    def request(seed: int) -> tuple[str, str]:
        audio, *_rest, summary = client.predict(TEST_PRESET, "kick_drum", 1.0, 8, "dpm", 2.0, seed, "griffinlim", 6,
                                                api_name="/generate_label")
        return audio, summary

    batcher = get_pipeline(TEST_PRESET).batcher
    before = len(batcher.batch_sizes)
    jobs = [client.submit(TEST_PRESET, "kick_drum", 1.0, 8, "dpm", 2.0, seed, "griffinlim", 6,
                          api_name="/generate_label") for seed in range(100, 106)]
    together = [job.result(timeout=300) for job in jobs]
    assert max(batcher.batch_sizes[before:]) > 1  # some of them shared a batch
    for seed, outputs in zip(range(100, 106), together):
        alone, summary = request(seed)
        assert f"seed {seed}" in outputs[-1] and f"seed {seed}" in summary
        mixed, single = sf.read(outputs[0])[0], sf.read(alone)[0]
        assert np.linalg.norm(mixed - single) < 0.01 * np.linalg.norm(single)  # its own sound, up to rounding
