"""What the page shows when a handler fails: the library's message without server paths, or a short generic one."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator

import gradio as gr
import pytest

from audiolab.ui.common import shows_errors


def _shown(handler: object) -> str:
    """The message a failing handler puts on the page."""
    with pytest.raises(gr.Error) as caught:
        handler()  # type: ignore[operator]
    return str(caught.value.message)


def test_a_library_message_names_files_by_their_base_name() -> None:
    @shows_errors
    def handler() -> None:
        raise ValueError("Cannot read junk.wav as audio (Error opening '/tmp/gradio/ab12/junk.wav': Format not "
                         "recognised.); No file at /home/someone/clips/bell take 2.wav")

    shown = _shown(handler)
    assert shown.startswith("Cannot read junk.wav as audio (Error opening 'junk.wav': Format not recognised.)")
    assert "/tmp" not in shown and "/home" not in shown and "/gradio" not in shown


@pytest.mark.parametrize("message", ["Compare log-mel L1 / MR-STFT.", "Resampled 44.1 kHz → 16 kHz.",
                                     "Give a prompt and/or a class.", "Used 1/2 of the clip."])
def test_messages_without_paths_are_shown_as_they_are(message: str) -> None:
    @shows_errors
    def handler() -> None:
        raise ValueError(message)

    assert _shown(handler) == message


def test_any_other_error_becomes_a_short_message_and_goes_to_the_log(caplog: pytest.LogCaptureFixture) -> None:
    @shows_errors
    def handler() -> None:
        raise RuntimeError("out of memory loading /opt/models/unet.bin")

    with caplog.at_level(logging.ERROR):
        shown = _shown(handler)
    assert shown.startswith("Something went wrong") and "the inputs are kept" in shown
    assert "/opt" not in shown and "RuntimeError" not in shown and "Traceback" not in shown
    logged = [record for record in caplog.records if record.exc_info]
    assert logged and "out of memory" in str(logged[0].exc_info[1])  # type: ignore[index]


def test_streaming_handlers_stay_generators_and_fail_the_same_way() -> None:
    @shows_errors
    def stream() -> Iterator[int]:
        yield 1
        raise KeyError("model")

    assert inspect.isgeneratorfunction(stream)
    items = stream()
    assert next(items) == 1
    with pytest.raises(gr.Error, match="Something went wrong"):
        next(items)


def test_a_message_meant_for_the_page_passes_unchanged() -> None:
    @shows_errors
    def handler() -> None:
        raise gr.Error("Pick a step first.")

    assert _shown(handler) == "Pick a step first."
