"""Command line: `python -m audiolab generate|labels|diffuse|vocode|denoise|train|bench`, over the same pipeline as the app."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _train(args: argparse.Namespace) -> int:
    from audiolab.presets import load_preset
    from audiolab.train import train_generator

    preset = load_preset(args.preset)
    log_file = open(args.log, "a", encoding="utf-8") if args.log else None

    def log(line: str) -> None:
        print(line, flush=True)
        if log_file:
            log_file.write(line + "\n")
            log_file.flush()

    train_generator(preset, steps=args.steps, out=Path(args.out) if args.out else None, log=log)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m audiolab", description="Audio diffusion lab.")
    commands = parser.add_subparsers(dest="command", required=True)

    train = commands.add_parser("train", help="train a built-in model")
    train.add_argument("model", choices=["generator"], help="which model to train")
    train.add_argument("--preset", default="synth-tiny")
    train.add_argument("--steps", type=int, default=None, help="optimiser steps (default: the preset's)")
    train.add_argument("--out", default=None, help="checkpoint path (default: the preset's)")
    train.add_argument("--log", default=None, help="also append the log to this file")
    train.set_defaults(handler=_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
