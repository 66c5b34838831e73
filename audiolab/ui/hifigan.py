"""The Vocoder tab's third method: AudioLDM 2's HiFi-GAN on the same recording (or the last generated sound)."""

from __future__ import annotations

import threading
from typing import Any

import gradio as gr

from audiolab.core.audio import resample, to_mono
from audiolab.core.result import Result
from audiolab.hub.hifigan import DEFAULT_CHECKPOINT, HiFiGan
from audiolab.hub.models import is_hub_choice
from audiolab.ui.common import (
    MODEL_QUEUE,
    get_pipeline,
    result_summary,
    shows_errors,
    summary_markdown,
)

HIFIGAN_HELP = ("AudioLDM 2 decodes every sound with a HiFi-GAN (Kong et al. 2020): a GAN vocoder on a 64-band, "
                "10 ms log-mel. Here it resynthesises the same recording, beside the diffusion vocoder and "
                "Griffin-Lim. It needs an AudioLDM 2 checkpoint: a local folder, or a hub id already downloaded.")
_LOADED: dict[str, HiFiGan] = {}  # one HiFi-GAN at a time
_LOADING = threading.Lock()


def hifigan_for(preset: str, checkpoint: str | None) -> HiFiGan:
    """The HiFi-GAN of `checkpoint`; by default that of the chosen AudioLDM 2 model, else of cvssp/audioldm2."""
    source = (checkpoint or "").strip()
    if not source and is_hub_choice(preset):
        hub = get_pipeline(preset).hub
        if hub is not None and hub.model.loaded.family == "audioldm2":
            return HiFiGan(hub.model.pipe.vocoder, hub.name)  # the loaded model's own: nothing more to load
    source = source or DEFAULT_CHECKPOINT
    with _LOADING:
        if source not in _LOADED:
            _LOADED.clear()
            _LOADED[source] = HiFiGan.load(source)
        return _LOADED[source]


@shows_errors
def run_hifigan(preset: str, checkpoint: str | None, recording: str | None, last_generated: Result | None,
                source: str) -> tuple[Any, str]:
    """HiFi-GAN on the recording's (or the last generation's) audio, and how close its mel comes to the input's."""
    from audiolab.ui.vocoder import LAST_GENERATED, closeness

    pipeline = get_pipeline(preset)
    if source == LAST_GENERATED:
        if last_generated is None:
            raise ValueError("Generate a sound in the Text, Class or Reference tab first, or choose 'Recording'.")
        audio: Any = (last_generated.sample_rate, to_mono(last_generated.audio))
    elif recording is None:
        raise ValueError("Upload or record a recording to vocode, or pick an example.")
    else:
        audio = recording
    result = hifigan_for(preset, checkpoint).vocode(audio)
    original = resample(result.input_audio, result.sample_rate, pipeline.sample_rate)  # type: ignore[arg-type]
    output = resample(result.audio, result.sample_rate, pipeline.sample_rate)
    table = closeness(pipeline, pipeline.mel.log_mel(original), original if source != LAST_GENERATED else None,
                      {"HiFi-GAN": output})
    return (result.sample_rate, result.audio), f"{result_summary(result)}\n\n{table}"


def build_hifigan_section(preset: gr.Dropdown, recording: gr.Audio, last_generated: gr.State,
                          source: gr.Radio) -> None:
    """An accordion under the Vocoder tab with its own `vocode_hifigan` endpoint."""
    with gr.Accordion("A third method: AudioLDM 2's HiFi-GAN", open=False):
        gr.Markdown(HIFIGAN_HELP)
        checkpoint = gr.Textbox("", label="AudioLDM 2 checkpoint (a local folder or hub id; empty: the chosen "
                                          f"model if it is AudioLDM 2, else {DEFAULT_CHECKPOINT})")
        button = gr.Button("Vocode with HiFi-GAN")
        audio = gr.Audio(label="HiFi-GAN", type="numpy", interactive=False)
        summary = summary_markdown()
    button.click(run_hifigan, [preset, checkpoint, recording, last_generated, source], [audio, summary],
                 api_name="vocode_hifigan", concurrency_id=MODEL_QUEUE)
