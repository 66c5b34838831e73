"""The real page in a real browser: type a prompt on "Text to audio", press Generate, get audio and a trajectory plot.

Drives headless Chromium through Playwright's sync API against the app served in-process on a free localhost
port. Uses the system's Chromium (nothing is downloaded: no `playwright install`); skips when either is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no phoning home from the in-process server

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="the playwright Python package is not importable: `pip install -r requirements.txt` to run the browser test",
)

TEST_PRESET = os.environ.get("AUDIOLAB_TEST_PRESET", "synth-tiny")
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else None)
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
TIMEOUT_MS = 90_000  # generous: CI machines and 2-core laptops are slow; a pass takes a few seconds of sampling

pytestmark = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Chromium not found: install it with `apt-get install -y chromium` (Debian) to run the browser test",
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    import app

    demo = app.build_app(TEST_PRESET)
    port = _free_port()
    demo.queue().launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()


@pytest.fixture()
def page(server_url: str) -> Iterator[sync_api.Page]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1600})
            # Only the app itself: web fonts and anything else off-machine are refused, so the run is the same
            # with or without a network.
            context.route(
                lambda url: not url.startswith(server_url.rstrip("/")),
                lambda route: route.abort(),
            )
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            page.goto(server_url)
            yield page
        finally:
            browser.close()


def test_text_to_audio_generates_audio_and_trajectory(page: sync_api.Page, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Text to audio").click()
    panel = page.get_by_role("tabpanel").filter(visible=True)

    panel.get_by_label("Prompt", exact=True).fill("a siren wailing")
    _set_numbers(panel, Steps="5", Seconds="2")  # a short, cheap run

    panel.get_by_role("button", name="Generate", exact=True).click()

    audio_block = panel.locator(".block").filter(has=page.get_by_test_id("block-label").filter(has_text="Generated audio"))
    plot_block = panel.locator(".block").filter(has=page.get_by_test_id("block-label").filter(has_text="Reverse trajectory"))
    waveform = audio_block.get_by_test_id("waveform-Generated audio")
    plot_image = plot_block.get_by_test_id("matplotlib").locator("img")
    error_toast = page.get_by_test_id("toast-body")

    # Wait for the result, or for an error message on the page (a gr.Error), whichever comes first.
    plot_image.or_(error_toast).first.wait_for(state="visible", timeout=TIMEOUT_MS)
    if error_toast.count() and error_toast.first.is_visible():
        page.screenshot(path=tmp_path / "failure.png", full_page=True)
        pytest.fail(f"the page showed an error instead of a result: {error_toast.first.inner_text()!r}")

    # The audio player: a waveform with its <audio> element, whose download link serves a real WAV file.
    sync_api.expect(waveform).to_be_visible()
    sync_api.expect(audio_block.get_by_test_id("audio-player-Generated audio")).to_be_attached()
    href = audio_block.get_by_test_id("download-link").get_attribute("href")
    assert href, "the generated audio has no download link"
    wav = page.request.get(href)
    assert wav.ok, f"fetching the generated audio failed: HTTP {wav.status}"
    assert wav.body()[:4] == b"RIFF" and len(wav.body()) > 1000, "the generated audio is not a WAV file"

    # The trajectory plot: a decoded image of real size.
    sync_api.expect(plot_image).to_be_visible()
    assert (plot_image.get_attribute("src") or "").startswith("data:image/")
    plot_image.evaluate("img => img.decode()")
    width, height = plot_image.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert width > 200 and height > 100, f"the trajectory plot is too small to be real: {width}×{height}"

    # What was typed and asked for reached the pipeline (the summary names the prompt and the step count).
    sync_api.expect(panel.get_by_text("conditioned on text 'a siren wailing'")).to_be_visible()
    sync_api.expect(panel.get_by_text("5 steps")).to_be_visible()

    # Any kept step plays: pick one, and its audio appears.
    panel.get_by_label("Listen to a kept step").click()
    page.get_by_role("option").first.click()
    sync_api.expect(panel.get_by_test_id("waveform-Audio of that step")).to_be_visible()

    screenshot = tmp_path / "text_to_audio.png"
    page.screenshot(path=screenshot, full_page=True)
    assert screenshot.stat().st_size > 0


def _click_and_wait(page: sync_api.Page, panel: sync_api.Locator, button: str, result: sync_api.Locator,
                    tmp_path: Path) -> None:
    """Click `button` once and wait for `result`; fail with the page's message if an error shows instead."""
    error_toast = page.get_by_test_id("toast-body")
    panel.get_by_role("button", name=button, exact=True).click()
    result.or_(error_toast).first.wait_for(state="visible", timeout=TIMEOUT_MS)
    if error_toast.count() and error_toast.first.is_visible():
        page.screenshot(path=tmp_path / "failure.png", full_page=True)
        pytest.fail(f"the page showed an error instead of a result: {error_toast.first.inner_text()!r}")


def _seconds(text: str) -> float:
    """A duration as the page writes it ("7 min 02 s", "1 h 05 min", "3.2 s"), in seconds."""
    units = {"h": 3600, "min": 60, "s": 1}
    return sum(float(number) * units[unit] for number, unit in re.findall(r"([\d.]+) (h|min|s)\b", text))


def _block(page: sync_api.Page, panel: sync_api.Locator, label: str) -> sync_api.Locator:
    """The block of the widget labelled `label`."""
    return panel.locator(".block").filter(has=page.get_by_test_id("block-label").filter(has_text=label))


def _set_numbers(panel: sync_api.Locator, **values: str) -> None:
    """Type into the number boxes of the named sliders (Steps="5") and wait until each holds its value."""
    for name, value in values.items():
        box = panel.get_by_label(f"number input for {name}", exact=True)
        box.fill(value)
        box.press("Enter")
        sync_api.expect(box).to_have_value(value)


def test_denoise_tab_restores_an_example_and_shows_scores_and_the_mixture(page: sync_api.Page, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Denoise & restore").click()
    panel = page.get_by_role("tabpanel").filter(visible=True)
    mixture_block = panel.locator(".block").filter(
        has=page.get_by_test_id("block-label").filter(has_text="DiffGMM: fitted noise mixture"))
    mixture_image = mixture_block.get_by_test_id("matplotlib").locator("img")
    # The first example pair (noisy recording and its clean reference), then Restore at once: the click must
    # send the example's files, however soon it comes after the example's.
    panel.get_by_test_id("dataset-cell-0-0").click()
    _click_and_wait(page, panel, "Restore", mixture_image, tmp_path)
    trajectory_block = panel.locator(".block").filter(
        has=page.get_by_test_id("block-label").filter(has_text="Restoration trajectory"))
    sync_api.expect(trajectory_block.get_by_test_id("matplotlib").locator("img")).to_be_visible()
    sync_api.expect(panel.get_by_text("DiffGMM, K = 5")).to_be_visible()
    sync_api.expect(panel.get_by_role("cell", name="restored", exact=True)).to_be_visible()  # the score table
    page.screenshot(path=tmp_path / "denoise.png", full_page=True)


def test_denoise_tab_attenuation_limit_reaches_the_result(page: sync_api.Page, tmp_path: Path) -> None:
    from audiolab.ui.restoration import ATTENUATION_LIMIT_LABEL

    page.get_by_role("tab", name="Denoise & restore").click()
    panel = page.get_by_role("tabpanel").filter(visible=True)
    panel.get_by_test_id("dataset-cell-0-0").click()
    panel.locator("button.label-wrap", has_text="Settings").click()  # the closed accordion
    _set_numbers(panel, **{ATTENUATION_LIMIT_LABEL: "12"})
    limited = panel.get_by_text("Attenuation limited to 12 dB", exact=False)
    _click_and_wait(page, panel, "Restore", limited.first, tmp_path)
    sync_api.expect(panel.get_by_role("cell", name="restored", exact=True)).to_be_visible()


def test_denoise_tab_examples_pick_their_task_and_method(page: sync_api.Page) -> None:
    from audiolab.ui.restoration import METHOD_CHOICES, TASK_CHOICES, example_rows

    page.get_by_role("tab", name="Denoise & restore").click()
    panel = page.get_by_role("tabpanel").filter(visible=True)
    methods, tasks = ({value: label for label, value in choices} for choices in (METHOD_CHOICES, TASK_CHOICES))
    for index, (_recording, _clean, method, task) in reversed(list(enumerate(example_rows()))):
        panel.get_by_test_id(f"dataset-cell-{index}-0").click()
        sync_api.expect(panel.get_by_label(tasks[task], exact=True)).to_be_checked(timeout=TIMEOUT_MS)
        sync_api.expect(panel.get_by_label(methods[method], exact=True)).to_be_checked()


def test_denoise_tab_greys_out_the_settings_its_method_and_task_ignore(page: sync_api.Page) -> None:
    from audiolab.ui.restoration import ATTENUATION_LIMIT_LABEL

    page.get_by_role("tab", name="Denoise & restore").click()
    panel = page.get_by_role("tabpanel").filter(visible=True)
    panel.locator("button.label-wrap", has_text="Settings").click()  # the closed accordion
    boxes = {name: panel.get_by_label(f"number input for {label}", exact=True) for name, label in (
        ("steps", "Iterations (DiffGMM) or diffusion steps (0 = the preset's default)"),
        ("limit", ATTENUATION_LIMIT_LABEL), ("cutoff", "Bandwidth: the input's cut-off (Hz)"))}
    sync_api.expect(boxes["limit"]).to_be_enabled(timeout=TIMEOUT_MS)  # DiffGMM denoising, the start
    sync_api.expect(boxes["cutoff"]).to_be_disabled()
    panel.get_by_label("Bandwidth extension", exact=True).check()
    sync_api.expect(panel.get_by_label("Score-based diffusion", exact=True)).to_be_checked()  # DiffGMM only denoises
    sync_api.expect(boxes["cutoff"]).to_be_enabled()
    sync_api.expect(boxes["limit"]).to_be_disabled()
    panel.get_by_label("Classical baseline", exact=True).check()
    sync_api.expect(boxes["steps"]).to_be_disabled()
    panel.get_by_label("Denoise", exact=True).check()
    sync_api.expect(panel.get_by_label("Classical baseline", exact=True)).to_be_checked()  # the user's choice stands
    sync_api.expect(boxes["limit"]).to_be_enabled()
    sync_api.expect(boxes["cutoff"]).to_be_disabled()
    panel.get_by_label("Score-based diffusion", exact=True).check()
    panel.get_by_label("Declip", exact=True).check()
    panel.get_by_label("Denoise", exact=True).check()
    sync_api.expect(panel.get_by_label("DiffGMM", exact=True)).to_be_checked()  # denoising's default again


def test_reference_tab_generates_from_a_reference_style(page: sync_api.Page, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Reference audio").click()
    panel = page.get_by_role("tabpanel").filter(visible=True)
    _set_numbers(panel, Steps="5", Seconds="2")
    plot_block = panel.locator(".block").filter(has=page.get_by_test_id("block-label").filter(has_text="Reverse trajectory"))
    plot_image = plot_block.get_by_test_id("matplotlib").locator("img")
    panel.get_by_test_id("dataset-cell-0-0").click()  # the first example: a bell recording, style mode
    _click_and_wait(page, panel, "Generate from the reference", plot_image, tmp_path)  # at once, as in the Denoise tab
    sync_api.expect(panel.get_by_label("Style: a new sound like it")).to_be_checked()
    sync_api.expect(panel.get_by_text("conditioned on the reference's style")).to_be_visible()
    page.screenshot(path=tmp_path / "reference.png", full_page=True)


def test_class_examples_follow_the_preset(page: sync_api.Page, tmp_path: Path) -> None:
    from audiolab.core.presets import list_presets
    from audiolab.generation.preset import load_preset

    other = next(name for name in list_presets() if name != TEST_PRESET)
    old_labels, new_labels = load_preset(TEST_PRESET).labels, load_preset(other).labels
    page.get_by_role("tab", name="Class label").click()
    panel = page.get_by_role("tabpanel").filter(visible=True)
    examples = panel.locator(".block").filter(has=page.get_by_text("Example classes", exact=True))
    sync_api.expect(examples.get_by_text(old_labels[0], exact=True)).to_be_visible()

    from audiolab.ui.models import MODEL_LABEL

    page.get_by_label(MODEL_LABEL).click()
    page.get_by_role("option", name=other, exact=True).click()
    # The examples name the new preset's classes, and none of the old preset's.
    sync_api.expect(examples.get_by_text(new_labels[1], exact=True)).to_be_visible()
    for label in set(old_labels) - set(new_labels):
        sync_api.expect(examples.get_by_text(label, exact=True)).to_have_count(0)

    # Picking one fills the class picker without undoing the preset's classes, and generating from it works.
    _set_numbers(panel, Steps="2", Seconds="1")
    examples.get_by_text(new_labels[1], exact=True).click()
    summary = panel.get_by_text(f"conditioned on label '{new_labels[1]}'")
    _click_and_wait(page, panel, "Generate", summary, tmp_path)
    sync_api.expect(panel.get_by_label("Class", exact=True)).to_have_value(new_labels[1])


def test_an_error_clears_the_previous_result(page: sync_api.Page, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Text to audio").click()
    panel = page.get_by_role("tabpanel").filter(visible=True)
    prompt = panel.get_by_label("Prompt", exact=True)
    prompt.fill("rain on a tin roof")
    _set_numbers(panel, Steps="3", Seconds="1")
    summary = panel.get_by_text("conditioned on text 'rain on a tin roof'")
    waveform = panel.get_by_test_id("waveform-Generated audio")
    plot_block = panel.locator(".block").filter(has=page.get_by_test_id("block-label").filter(has_text="Reverse trajectory"))
    plot_image = plot_block.get_by_test_id("matplotlib").locator("img")
    preview_block = panel.locator(".block").filter(has=page.get_by_test_id("block-label").filter(has_text="Live x̂_0"))
    preview_image = preview_block.locator("img")
    _click_and_wait(page, panel, "Generate", summary, tmp_path)
    for shown in (waveform, plot_image, preview_image):
        sync_api.expect(shown).to_be_visible()

    prompt.fill("")  # an empty prompt: the run fails with a message
    panel.get_by_role("button", name="Generate", exact=True).click()
    sync_api.expect(page.get_by_test_id("toast-body")).to_contain_text("prompt is empty")
    for gone in (summary, waveform, plot_image, preview_image):  # no old result under the error
        sync_api.expect(gone).to_have_count(0)


def test_stop_ends_a_long_run_at_once_and_the_queue_moves_on(page: sync_api.Page, tmp_path: Path) -> None:
    page.get_by_role("tab", name="Text to audio").click()
    panel = page.get_by_role("tabpanel").filter(visible=True)
    panel.get_by_label("Prompt", exact=True).fill("wind through the trees")
    done = panel.get_by_text("conditioned on text 'wind through the trees'")
    stop = panel.get_by_role("button", name="Stop", exact=True)
    sync_api.expect(stop).to_be_disabled()  # nothing to stop yet
    _set_numbers(panel, Steps="3", Seconds="1")
    _click_and_wait(page, panel, "Generate", done, tmp_path)  # a short run: this machine's pace, for the estimate

    _set_numbers(panel, Steps="1000", Seconds="10")  # minutes of work
    panel.get_by_role("button", name="Generate", exact=True).click()
    # Before it ends: the estimate, then the steps done and the time left, in the summary ...
    sync_api.expect(panel.get_by_text(re.compile(r"Estimate: about .+ for 1000 steps"))).to_be_visible()
    running = panel.get_by_text(re.compile(r"Running: step \d+ of 1000 · .+ elapsed · about .+ left"))
    sync_api.expect(running).to_be_visible()
    left = _seconds(running.inner_text().split("about")[-1])
    # ... which no progress display covers: that shows on the result widgets.
    summary_block = panel.locator(".block").filter(has=running)
    sync_api.expect(summary_block.get_by_test_id("status-tracker")).to_be_hidden()
    sync_api.expect(_block(page, panel, "Live x̂_0").get_by_test_id("status-tracker")).to_be_visible()

    # Someone else asks for a sound meanwhile: they wait in the queue and are told their place in it.
    other = page.context.new_page()
    other.goto(page.url)
    other.get_by_role("tab", name="Text to audio").click()
    other_panel = other.get_by_role("tabpanel").filter(visible=True)
    other_panel.get_by_label("Prompt", exact=True).fill("a dog barking")
    _set_numbers(other_panel, Steps="3", Seconds="1")
    other_panel.get_by_role("button", name="Generate", exact=True).click()
    sync_api.expect(other_panel.get_by_text(re.compile(r"Queue: position 2"))).to_be_visible()

    stopped_at = time.monotonic()
    stop.click()
    sync_api.expect(panel.get_by_text("Stopped.")).to_be_visible()
    sync_api.expect(stop).to_be_disabled()  # the run is over
    # The queue moves on: the other run gets its sound, and this page runs again.
    sync_api.expect(other_panel.get_by_text("conditioned on text 'a dog barking'")).to_be_visible(timeout=TIMEOUT_MS)
    _set_numbers(panel, Steps="3", Seconds="1")
    _click_and_wait(page, panel, "Generate", done, tmp_path)
    assert time.monotonic() - stopped_at < left / 2, "the stopped run held the model queue"
