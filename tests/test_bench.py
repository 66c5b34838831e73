"""`python -m audiolab bench` runs end to end and prints every figure it promises (timings are reported, never asserted)."""

from __future__ import annotations

from audiolab.bench import run_bench
from tests.conftest import TEST_PRESET


def test_bench_prints_sampler_rows_load_time_and_app_memory() -> None:
    lines: list[str] = []
    run_bench(TEST_PRESET, samplers=["ddim", "heun"], step_counts=[2], repeats=1, seconds=1.0, app=True,
              print_line=lines.append, load_repeats=1, app_clicks=1, restore_seconds=1.0, clients=2,
              click=(1.0, 4))
    text = "\n".join(lines)
    assert "pipeline load" in text and "DDIM" in text and "Heun" in text and "RTF" in text
    assert "written plainly" in text
    assert "peak memory after using every tab" in text and "MB" in text
    assert "a Generate click (text, 1 s, 4 steps" in text
    assert "2 simultaneous clicks" in text and "one at a time" in text
    assert "Griffin-Lim, 100 iterations" in text and "diffusion, 6 steps, no projections" in text
    assert "DiffGMM" in text and "posterior sampling" in text and "48 kHz in, full band out" in text
