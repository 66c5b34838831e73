"""What every task uses: audio I/O, STFT/mel and Griffin-Lim (`audio`), the MDCT, the schedule, forward process
and sampler loop with its `Step` (`diffusion`), the `Result` a task returns, plots, quality metrics, presets and
checkpoints, data folders, credits, the training loops' shared steps, a run's pace and clock (`pace`) and
stopping a run between its steps (`stopping`)."""
