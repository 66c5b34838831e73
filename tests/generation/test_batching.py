"""Many callers at once: requests that wait together share one batched reverse process, each gets its own result."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from audiolab.core.diffusion import Step
from audiolab.core.result import Result
from audiolab.generation.batching import GenerationBatcher
from audiolab.generation.pipeline import GenerationRequest
from audiolab.pipeline import AudioLabPipeline

SETTINGS = {"seconds": 1.0, "steps": 4, "sampler": "dpm", "vocoder": "griffinlim"}


def _run_together(batcher: GenerationBatcher, requests: list[GenerationRequest],
                  consume: Callable[[GenerationBatcher, GenerationRequest], object] | None = None) -> list[object]:
    """Start every request in its own thread, and let the worker begin only once all of them wait."""
    consume = consume or (lambda b, r: list(b.generate_iter(r)))
    results: list[object] = [None] * len(requests)
    start_worker = batcher._start_worker
    batcher._start_worker = lambda: None  # type: ignore[method-assign]

    def run(index: int) -> None:
        try:
            results[index] = consume(batcher, requests[index])
        except Exception as error:  # noqa: BLE001 - the test inspects it
            results[index] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while len(batcher._waiting) < len(requests) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert batcher.load() == len(requests)  # all of them wait: the next caller would be told it is behind them
    batcher._start_worker = start_worker  # type: ignore[method-assign]
    with batcher._wake:
        start_worker()
        batcher._wake.notify()
    for thread in threads:
        thread.join(120)
    return results


@pytest.fixture()
def batcher(pipeline: AudioLabPipeline) -> GenerationBatcher:
    return GenerationBatcher(pipeline.generator, max_batch=4)


@pytest.mark.parametrize("sampler", ["dpm", "dpm-sde", "ddpm"])
def test_concurrent_requests_share_a_batch_and_each_gets_what_it_gets_alone(
        pipeline: AudioLabPipeline, batcher: GenerationBatcher, sampler: str) -> None:
    """Stochastic samplers too: each row draws its step noise from its own seed's generator."""
    labels = list(pipeline.labels)
    requests = [GenerationRequest(label=labels[i % len(labels)], seed=10 + i, **{**SETTINGS, "sampler": sampler})
                for i in range(3)]
    together = _run_together(batcher, requests)
    assert batcher.batch_sizes == [3]
    for request, items in zip(requests, together):
        assert isinstance(items, list) and isinstance(items[-1], Result)
        steps = [item for item in items if isinstance(item, Step)]
        assert steps and all(step.x0_hat.shape[0] == 1 for step in steps)
        alone = pipeline.generator.generate_iter(request)
        final = list(alone)[-1]
        assert isinstance(final, Result)
        error = np.linalg.norm(items[-1].audio - final.audio) / np.linalg.norm(final.audio)
        assert error < 0.01, error  # batched arithmetic rounds differently; Griffin-Lim carries it a little further
        assert "batch" in " ".join(items[-1].notes)
    first, second = together[0][-1].audio, together[1][-1].audio  # type: ignore[index]
    assert not np.allclose(first, second)  # nobody got a neighbour's sound


def test_a_stochastic_sampler_is_seeded() -> None:
    """DPM-Solver++ SDE draws fresh noise every step, from the request's seed: the same seed, the same sound."""
    from audiolab.pipeline import AudioLabPipeline as Pipeline

    pipeline = Pipeline.from_preset("synth-tiny")
    run = [pipeline.generate(label="siren", seed=s, seconds=0.5, steps=4, sampler="dpm-sde", vocoder="griffinlim").audio
           for s in (3, 3, 4)]
    np.testing.assert_allclose(run[0], run[1], atol=1e-6)
    assert not np.allclose(run[0], run[2])


def test_batches_never_exceed_max_batch(pipeline: AudioLabPipeline, batcher: GenerationBatcher) -> None:
    label = pipeline.labels[0]
    requests = [GenerationRequest(label=label, seed=i, **SETTINGS) for i in range(5)]
    requests += [GenerationRequest(label=label, seed=i, **{**SETTINGS, "sampler": "ddpm"}) for i in range(2)]
    results = _run_together(batcher, requests)
    assert all(isinstance(items, list) and isinstance(items[-1], Result) for items in results)
    assert sorted(batcher.batch_sizes) == [1, 2, 4]  # five dpm requests in two batches, the two ddpm ones in one


def test_a_bad_reference_fails_only_its_own_request(pipeline: AudioLabPipeline, batcher: GenerationBatcher) -> None:
    silent = np.zeros(16_000, dtype=np.float32)
    requests = [GenerationRequest(label=pipeline.labels[0], seed=1, **SETTINGS),
                GenerationRequest(label=pipeline.labels[0], reference=silent, reference_mode="style", seed=2, **SETTINGS),
                GenerationRequest(label=pipeline.labels[1], seed=3, **SETTINGS)]
    good, bad, other = _run_together(batcher, requests)
    assert isinstance(bad, ValueError) and "silent" in str(bad).lower()
    assert isinstance(good, list) and isinstance(good[-1], Result)
    assert isinstance(other, list) and isinstance(other[-1], Result)


def test_callers_who_leave_stop_their_batch(pipeline: AudioLabPipeline, batcher: GenerationBatcher) -> None:
    """Two callers read one Step each and go (the Stop button): the batch ends without finishing its steps."""
    calls = []
    handle = pipeline.generator.models.denoiser.register_forward_hook(lambda *args: calls.append(1))

    def leave_after_one_step(b: GenerationBatcher, request: GenerationRequest) -> str:
        iterator = b.generate_iter(request)
        next(iterator)
        iterator.close()
        return "left"

    try:
        requests = [GenerationRequest(label=pipeline.labels[0], seed=i, **{**SETTINGS, "steps": 200}) for i in range(2)]
        assert _run_together(batcher, requests, leave_after_one_step) == ["left", "left"]
        time.sleep(1.0)
        stopped_at = len(calls)
        time.sleep(0.5)
        assert len(calls) == stopped_at <= 3  # within a step of the last caller leaving, no more network calls
    finally:
        handle.remove()
    # the worker is free again for the next caller
    assert isinstance(list(batcher.generate_iter(GenerationRequest(label=pipeline.labels[0], **SETTINGS)))[-1], Result)


def test_bad_input_fails_in_the_callers_thread_before_queueing(batcher: GenerationBatcher) -> None:
    with pytest.raises(ValueError, match="step count"):
        next(batcher.generate_iter(GenerationRequest(label="x", steps=0)))
    assert batcher._waiting == [] and batcher.load() == 0
    with pytest.raises(ValueError, match="max_batch"):
        GenerationBatcher(batcher.generator, max_batch=0)
