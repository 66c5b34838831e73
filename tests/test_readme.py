"""Every command line in README.md runs, so the README cannot drift from the command line.

Each `python -m audiolab ...` line of the README's shell blocks is a concrete command or a usage template:
`[...]` is optional, `a|b` and `( A | B )` are alternatives, DIR, N, K and GLOB are placeholders, and `...`
after a flag stands for values left out (after a placeholder, for more of the same). A template is expanded
into a few concrete commands that together use every optional part and every alternative at least once. Each
runs in-process through the real parser and handler (`audiolab.cli.main`) with tiny settings, in a folder beside
a small stand-in for `../shared/data` laid out like the developers' corpora (procedural clips), and must exit 0
(or with the status its comment documents: `# exits 2`). Training runs on a copy of its preset whose [training]
table asks for two steps on a few clips, so its checkpoint lands in the temporary folder, never in presets/.

A line that the tables below cannot map fails its test, naming the line: a new README command comes with its
tiny settings here. Commands quoted inline in the prose are checked against the parser's commands, flags and
choices, and the presets they name must exist.
"""

from __future__ import annotations

import argparse
import ast
import csv
import functools
import re
import shutil
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiolab import cli
from audiolab.bench import run_bench
from audiolab.core.choices import DEFAULT_PRESET
from audiolab.core.presets import PRESETS_DIR
from audiolab.generation import synth
from audiolab.vocoder import train as vocoder_train
from tests.conftest import ROOT
from tests.hub import tiny as tiny_hub

README = ROOT / "README.md"
PROGRAM = "python -m audiolab"
APP = "python app.py"
SHELL_LANGUAGES = {"bash", "sh", "shell", "console"}
BOX_DRAWING = re.compile("[\u2500-\u257f\u25b6]")  # the architecture diagrams name commands too
RATE = 16_000
SHARED = "../shared/data"  # relative to the repository root, as the README writes it

# Placeholders by the flag they follow, first by (command, flag), then by flag alone. A repeated placeholder
# (`--data DIR [DIR ...]`) takes the next value of its list.
PLACEHOLDERS: dict[tuple[str, ...], list[str]] = {
    ("--steps",): ["2"],
    ("--components",): ["2"],
    ("--include",): ["4-*"],
    ("--speech",): [f"{SHARED}/speech/ljspeech", f"{SHARED}/speech/librispeech"],
    ("--noise",): [f"{SHARED}/noise"],
    ("--esc50",): [f"{SHARED}/esc50"],
    ("--val",): [f"{SHARED}/speech/cmu_arctic"],
    ("train", "vocoder", "--data"): [f"{SHARED}/speech/ljspeech", f"{SHARED}/speech/librispeech"],
    ("eval", "generation", "--data"): [f"{SHARED}/esc50"],
    ("eval", "vocoder", "--data"): [f"{SHARED}/speech/cmu_arctic"],
    ("eval", "denoise", "--clean"): [f"{SHARED}/noisy_pairs/clean"],
    ("eval", "denoise", "--noisy"): [f"{SHARED}/noisy_pairs/noisy"],
    ("eval", "denoise", "--noise"): [f"{SHARED}/esc50"],
    ("vocode", "--model"): ["./my-audioldm2"],
}
# `--flag ...`: the values left out, one example each
ELIDED: dict[tuple[str, ...], list[str]] = {
    ("eval", "denoise", "--noise-classes"): ["rain", "wind"],
    ("eval", "denoise", "--task"): ["inpaint"],
    ("eval", "denoise", "--methods"): ["baseline", "score-2"],
}
# Tiny settings per command: each flag's value replaced, or the flag added (None: a switch). Training commands
# get theirs from a tiny copy of the preset (PRESET_COPIES) instead.
TINY: dict[tuple[str, ...], dict[str, list[str] | None]] = {
    ("generate",): {"--seconds": ["0.5"], "--steps": ["2"]},
    ("labels",): {},
    ("diffuse",): {},
    ("vocode",): {},
    ("denoise",): {"--steps": ["2"]},
    ("train", "generator"): {},
    ("train", "encoder"): {},
    ("train", "vocoder"): {},
    ("train", "denoiser"): {},
    ("eval", "generation"): {"--per-class": ["1"], "--steps": ["2"], "--classifier-steps": ["2"]},
    ("eval", "generator"): {"--per-class": ["1"], "--steps": ["2"], "--seconds": ["0.5"]},
    ("eval", "vocoder"): {"--limit": ["1"], "--max-seconds": ["0.5"]},
    ("eval", "denoise"): {"--limit": ["1"], "--max-seconds": ["1"]},
    ("credits",): {},
    # the app's click and its memory are measured by tests/test_bench.py; here they would cost a server start
    ("bench",): {"--samplers": ["dpm"], "--steps": ["2"], "--repeats": ["1"], "--seconds": ["0.5"], "--no-app": None,
                 "--clients": ["0"]},
}
# Commands that run on a tiny copy of their preset (the one they name, or the default): training and credits
# write beside the copy, never in presets/; the generator evals sample short clips in few steps, vocoded by a
# short Griffin-Lim, from the shipped weights. Keys are (table, key) of the preset's TOML; "" is the top level.
PRESET_COPIES: dict[tuple[str, ...], str] = {  # command: whose weights the copy names
    ("train", "generator"): "new", ("train", "encoder"): "new", ("train", "vocoder"): "new",
    ("train", "denoiser"): "new", ("credits",): "new",
    ("eval", "generation"): "shipped", ("eval", "generator"): "shipped",
}
TINY_PRESET: dict[tuple[str, str], str] = {
    ("training", "steps"): "2", ("training", "batch_size"): "4", ("training", "warmup_steps"): "1",
    ("training", "clips_per_class"): "2", ("training", "procedural_clips_per_class"): "2",
    ("training", "synthetic_speech"): "0", ("training", "noise_classes"): '["rain", "wind"]',
    ("", "default_seconds"): "2.0",  # not less: `eval generation`'s spectral features need 1.25 s
    ("sampler", "steps"): "2", ("vocoder", "method"): '"griffinlim"',
    ("vocoder", "griffin_lim_iterations"): "4",
}
ESC50_CLASSES = {"rain": "rain", "wind": "wind", "church_bells": "church_bell"}  # ESC-50 class: procedural stand-in


class Unmappable(Exception):
    """A README line that the tables above do not cover."""


# ---- reading the README ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadmeCommand:
    """One command of README.md: its line, its text without the comment, and the comment."""

    line: int
    text: str
    comment: str = ""

    def __str__(self) -> str:
        return f"README.md:{self.line}: `{self.text}`"


def _split_comment(line: str) -> tuple[str, str]:
    """`cmd  # note` -> ("cmd", "note"); a `#` inside quotes or a word belongs to the command."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip(), line[index + 1 :].strip()
    return line.rstrip(), ""


def fenced_blocks(text: str) -> Iterator[tuple[str, int, list[str]]]:
    """(language, line number of the block's first line, its lines) of every fenced block."""
    language, start, lines = None, 0, []
    for number, line in enumerate(text.splitlines(), start=1):
        fence = re.match(r"^\s*```\s*(\S*)", line)
        if fence and language is None:
            language, start, lines = fence.group(1).lower(), number + 1, []
        elif fence:
            yield language, start, lines
            language = None
        elif language is not None:
            lines.append(line)


def fenced_commands(text: str) -> list[ReadmeCommand]:
    """The `python -m audiolab` and `python app.py` lines of the shell blocks (`\\` continues a line)."""
    commands = []
    for language, start, lines in fenced_blocks(text):
        if language not in SHELL_LANGUAGES:
            continue
        pending, first = "", 0
        for offset, raw in enumerate(lines):
            first = first if pending else start + offset
            stripped = raw.strip()
            if stripped.endswith("\\"):
                pending += stripped[:-1] + " "
                continue
            command, comment = _split_comment(pending + stripped)
            pending = ""
            if command == PROGRAM or command.startswith((PROGRAM + " ", APP)):
                commands.append(ReadmeCommand(first, " ".join(command.split()), comment))
    return commands


def inline_commands(text: str) -> list[ReadmeCommand]:
    """`python -m audiolab ...` quoted inline in the prose (a span may run over a line break)."""
    lines = text.splitlines()
    for _, start, block in fenced_blocks(text):  # blank the blocks, keeping the line numbers
        lines[start - 1 : start - 1 + len(block)] = [""] * len(block)
    prose = "\n".join(line if not line.lstrip().startswith("```") else "" for line in lines)
    commands = []
    for match in re.finditer(r"`([^`]+)`", prose):
        span = " ".join(match.group(1).split())
        if span == PROGRAM or span.startswith(PROGRAM + " "):
            commands.append(ReadmeCommand(prose.count("\n", 0, match.start()) + 1, span))
    return commands


def _test_id(command: ReadmeCommand) -> str:
    """line73-train-generator: where the line is, and what it runs."""
    words = [w for w in command.text.split()[1:] if w not in ("-m", "audiolab")][:2]
    return "-".join([f"line{command.line}", *(re.sub(r"[^\w.-]", "", w) for w in words)])


README_TEXT = README.read_text(encoding="utf-8")
FENCED = fenced_commands(README_TEXT)
INLINE = inline_commands(README_TEXT)


# ---- templates ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    """One word of a template; a quoted one is never a placeholder or a set of alternatives."""

    text: str
    quoted: bool = False

    @property
    def placeholder(self) -> bool:
        return not self.quoted and re.fullmatch(r"[A-Z][A-Z0-9_]*", self.text) is not None


@dataclass(eq=False)  # compared by identity: a template may hold two equal groups
class OptionalPart:
    """`[...]`: words that may be left out."""

    parts: list


@dataclass(eq=False)
class Alternatives:
    """`a|b` or `( A | B )`: one of the options."""

    options: list[list]


_TOKEN = re.compile(r"""'([^']*)'|"([^"]*)"|([^\s'"]+)""")


def _tokens(template: str) -> list[tuple[str, str]]:
    """(kind, text): kind is "word", "quoted", or one of `[ ] ( ) |`; brackets are peeled off words."""
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(template):
        single, double, bare = match.groups()
        if bare is None:
            tokens.append(("quoted", single if single is not None else double))
            continue
        core = bare.lstrip("[(")
        tokens += [(char, char) for char in bare[: len(bare) - len(core)]]
        closers = core[len(core.rstrip("])")) :]
        core = core[: len(core) - len(closers)]
        if core:
            tokens.append(("|", "|") if core == "|" else ("word", core))
        tokens += [(char, char) for char in closers]
    return tokens


def _parse(tokens: list[tuple[str, str]], index: int = 0, closer: str | None = None) -> tuple[list[list], int]:
    """The alternatives (split at `|`) of the sequence that runs to `closer`, and the index after it."""
    alternatives: list[list] = [[]]
    while index < len(tokens):
        kind, text = tokens[index]
        index += 1
        if kind == closer:
            return alternatives, index
        if kind in ("]", ")"):
            raise Unmappable(f"unmatched {kind}")
        if kind == "|":
            alternatives.append([])
        elif kind in ("[", "("):
            inner, index = _parse(tokens, index, "]" if kind == "[" else ")")
            if kind == "[":
                alternatives[-1].append(OptionalPart(inner[0] if len(inner) == 1 else [Alternatives(inner)]))
            elif len(inner) > 1:
                alternatives[-1].append(Alternatives(inner))
            else:
                alternatives[-1].extend(inner[0])
        elif kind == "word" and "|" in text:
            alternatives[-1].append(Alternatives([[Word(option)] for option in text.split("|")]))
        else:
            alternatives[-1].append(Word(text, quoted=kind == "quoted"))
    if closer:
        raise Unmappable(f"missing {closer}")
    return alternatives, index


def _optionals(sequence: list) -> set[OptionalPart]:
    found: set[OptionalPart] = set()
    for node in sequence:
        if isinstance(node, OptionalPart):
            found |= {node} | _optionals(node.parts)
        elif isinstance(node, Alternatives):
            for option in node.options:
                found |= _optionals(option)
    return found


def _choices(sequence: list, optionals: tuple = (), picks: tuple = ()) -> Iterator[tuple[Alternatives, tuple, tuple]]:
    """Every Alternatives with the optional groups around it and the picks of the choices around it."""
    for node in sequence:
        if isinstance(node, OptionalPart):
            yield from _choices(node.parts, (*optionals, node), picks)
        elif isinstance(node, Alternatives):
            yield node, optionals, picks
            for index, option in enumerate(node.options):
                yield from _choices(option, optionals, (*picks, (node, index)))


def _render(sequence: list, included: set[OptionalPart], picks: dict[Alternatives, int]) -> list[Word]:
    words: list[Word] = []
    for node in sequence:
        if isinstance(node, Word):
            words.append(node)
        elif isinstance(node, OptionalPart):
            words += _render(node.parts, included, picks) if node in included else []
        else:
            words += _render(node.options[picks.get(node, 0)], included, picks)
    return words


def expand(template: str, bare: bool = True) -> list[list[Word]]:
    """Concrete word lists that together use every optional part and every alternative at least once.

    The first leaves out every optional part (unless `bare` is False), the next puts every one in (first
    alternatives throughout); then each further alternative alone, with the optional parts around it and inside it.
    """
    alternatives, _ = _parse(_tokens(template))
    sequence = alternatives[0] if len(alternatives) == 1 else [Alternatives(alternatives)]
    plans: list[tuple[set[OptionalPart], dict[Alternatives, int]]] = [(set(), {})] if bare else []
    plans.append((_optionals(sequence), {}))
    for choice, optionals, picks in _choices(sequence):
        for index in range(1, len(choice.options)):
            plans.append((set(optionals) | _optionals(choice.options[index]), {**dict(picks), choice: index}))
    variants: list[list[Word]] = []
    for included, chosen in plans:
        words = _render(sequence, included, chosen)
        if words not in variants:
            variants.append(words)
    return variants


def command_key(argv: list[str]) -> tuple[str, ...]:
    """("train", "vocoder"), ("generate",): the command, and its model or measure for train and eval."""
    return tuple(argv[:2]) if argv and argv[0] in ("train", "eval") else tuple(argv[:1])


def _lookup(table: dict[tuple[str, ...], list[str]], key: tuple[str, ...], flag: str | None) -> list[str] | None:
    return table.get((*key, flag or "")) or table.get((flag or "",))


def _concrete(words: list[Word]) -> list[str]:
    """The argv of a word list: placeholders and left-out values filled in, tiny settings applied."""
    if [w.text for w in words[:3]] != PROGRAM.split():
        raise Unmappable("not a `python -m audiolab` command")
    words = words[3:]
    key = command_key([w.text for w in words])
    if key not in TINY:
        raise Unmappable(f"no tiny settings for `{' '.join(key)}`: add them to TINY in tests/test_readme.py")
    argv: list[str] = []
    flag: str | None = None
    used: dict[str | None, int] = {}
    for index, word in enumerate(words):
        if not word.quoted and word.text.startswith("--"):
            flag = word.text
        if word.text == "..." and not word.quoted:
            previous = words[index - 1]
            if previous.placeholder:
                continue  # `DIR ...`: more of the same; one is enough
            values = _lookup(ELIDED, key, flag) if previous.text == flag else None
            if values is None:
                raise Unmappable(f"no example values for `{flag} ...`: add them to ELIDED in tests/test_readme.py")
            argv += values
        elif word.placeholder:
            values = _lookup(PLACEHOLDERS, key, flag)
            if values is None:
                raise Unmappable(f"no value for {word.text} after {flag or 'the command'}: add it to PLACEHOLDERS")
            argv.append(values[min(used.get(flag, 0), len(values) - 1)])
            used[flag] = used.get(flag, 0) + 1
        else:
            argv.append(word.text)
    for name, values in TINY[key].items():
        argv = _with_option(argv, name, values)
    if "--inpaint" in argv:  # the span to inpaint has to lie inside the shortened output
        argv = _with_option(argv, "--inpaint", ["0.1", "0.3"])
    return argv


def _with_option(argv: list[str], name: str, values: list[str] | None) -> list[str]:
    """`argv` with option `name` set to `values` (None: a switch), replacing any values it had."""
    if name not in argv:
        return [*argv, name, *(values or [])]
    start = argv.index(name) + 1
    end = start
    while values is not None and end < len(argv) and not argv[end].startswith("--"):
        end += 1
    return [*argv[:start], *(values or []), *argv[end:]]


def concrete_commands(command: ReadmeCommand) -> list[list[str]]:
    """The argv lists that run a README line; Unmappable names what the tables lack."""
    runs: list[list[str]] = []
    parsed: list[dict[str, object]] = []
    # a training run costs seconds of data and validation: train once with every optional part (and each further
    # alternative), not once more without them
    for words in expand(command.text, bare=command.text.split()[3:4] != ["train"]):
        argv = _concrete(words)
        try:
            arguments = vars(cli.build_parser().parse_args(argv))
        except SystemExit:
            arguments = {"unparsed": argv}  # the run will show the parser's complaint
        if arguments not in parsed:  # a default spelled out, or tiny settings, can make two variants one
            runs.append(argv)
            parsed.append(arguments)
    return runs


# ---- a stand-in for ../shared/data -------------------------------------------------------------------------


def _write(path: Path, audio: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, RATE)


def write_shared_data(data: Path) -> None:
    """Procedural clips where the README's commands look: ESC-50 (`<fold>-<recording>-<take>.wav` and a meta.csv
    with the licence columns), speech corpora, background noise, and noisy/clean pairs."""
    rows = []
    for fold in (1, 2, 3, 4):
        for index, (category, procedural) in enumerate(ESC50_CLASSES.items()):
            for take in range(2):
                name = f"{fold}-{1000 * fold + 10 * index + take}-A.wav"
                clip = synth.synthesize(procedural, seed=10 * fold + take, seconds=5.0)
                _write(data / "esc50" / "audio" / name, clip)
                rows.append({"filename": name, "fold": fold, "target": index, "category": category,
                             "source_file": f"{category}.wav", "source_url": f"http://freesound.org/s/{index}/",
                             "author": "someone", "license": "CC-BY" if take else "CC0"})
    with (data / "esc50" / "meta.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for corpus, (label, seed) in {"ljspeech": ("whistle", 1), "librispeech": ("bird_chirp", 2),
                                  "cmu_arctic": ("siren", 3)}.items():
        for take in range(2):
            clip = synth.synthesize(label, seed=seed + take, seconds=2.0)
            _write(data / "speech" / corpus / f"{corpus}_{take}.wav", clip)
    for name, label in {"doing_the_dishes": "rain", "exercise_bike": "engine_hum", "freesound_1": "wind",
                        "running_tap": "water_drip"}.items():
        _write(data / "noise" / f"{name}.wav", synth.synthesize(label, seed=4, seconds=3.0))
    rng = np.random.default_rng(0)
    for take in range(2):
        clean = synth.synthesize("whistle", seed=20 + take, seconds=1.5)
        _write(data / "noisy_pairs" / "clean" / f"p287_{take}.wav", clean)
        _write(data / "noisy_pairs" / "noisy" / f"p287_{take}.wav",
               clean + 0.05 * rng.standard_normal(clean.size).astype(np.float32))


def write_inputs(folder: Path) -> None:
    """The recordings the README's commands read: in.wav, ref.wav, and a noisy.wav that every restoration task
    accepts (noisy, clipped at 30% of its peak, with a 100 ms gap)."""
    bell = synth.synthesize("church_bell", seed=7, seconds=1.0)
    _write(folder / "in.wav", bell)
    _write(folder / "ref.wav", synth.synthesize("whistle", seed=7, seconds=1.0))
    noisy = bell + 0.03 * np.random.default_rng(7).standard_normal(bell.size).astype(np.float32)
    ceiling = 0.3 * float(np.abs(noisy).max())
    noisy = np.clip(noisy, -ceiling, ceiling)
    noisy[RATE // 2 : RATE // 2 + RATE // 10] = 0.0
    _write(folder / "noisy.wav", noisy)


def tiny_preset(name: str, folder: Path, weights: str) -> Path:
    """A copy of presets/NAME.toml with the TINY_PRESET values, in `folder`.

    `weights`: "new" (the checkpoint it names is beside the copy, where training writes it: a README command
    cannot touch presets/), "resume" (the same, starting as a copy of the shipped checkpoint) or "shipped" (it
    names the shipped checkpoint, read in place).
    """
    source = PRESETS_DIR / f"{name}.toml"
    assert source.is_file(), f"the README names preset {name}, which presets/ lacks"
    section, lines, skipping = "", [], False
    for line in source.read_text(encoding="utf-8").splitlines():
        if skipping:  # the rest of a replaced multi-line array
            skipping = "]" not in line.split("#")[0]
            continue
        header, key = re.match(r"\[(\w+)\]", line), re.match(r"(\w+)\s*=\s*(.*)", line)
        section = header.group(1) if header else section
        if key and (section, key.group(1)) in TINY_PRESET:
            value = key.group(2).split("#")[0]
            skipping = value.startswith("[") and "]" not in value
            line = f"{key.group(1)} = {TINY_PRESET[section, key.group(1)]}"
        elif key and section == "model" and key.group(1) == "checkpoint" and weights == "shipped":
            line = f'checkpoint = "{(PRESETS_DIR / tomllib.loads(line)["checkpoint"]).as_posix()}"'  # absolute
        lines.append(line)
    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / source.name
    copy.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if weights == "resume":  # a copy, since training overwrites it
        checkpoint = tomllib.loads(copy.read_text(encoding="utf-8"))["model"]["checkpoint"]
        shutil.copyfile(PRESETS_DIR / checkpoint, folder / checkpoint)
    return copy


def _files(folder: Path, pattern: str = "*") -> dict[Path, tuple[int, int]]:
    """Size and modification time of each file: what a run changed."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.glob(pattern) if p.is_file()}


# ---- running them ------------------------------------------------------------------------------------------

# The local diffusers folders the README's `--model ./FOLDER` lines name, as tiny random checkpoints of the same kind
MODEL_FOLDERS: dict[str, Callable[[Path], Path]] = {
    "./my-audioldm2": tiny_hub.audioldm2_folder,
    "./stable-audio-3": tiny_hub.stable_audio_3_folder,
}


def write_model_folders(work: Path, runs: list[list[str]]) -> None:
    """Build each `--model ./FOLDER` a line names; a folder the table lacks fails the test with the line."""
    for argv in runs:
        if "--model" not in argv:
            continue
        model = argv[argv.index("--model") + 1]
        if not model.startswith("."):
            continue  # a hub id: offline it exits 2, as the README line documents
        if model not in MODEL_FOLDERS:
            pytest.fail(f"README names the model folder {model}; add a tiny checkpoint for it to MODEL_FOLDERS")
        if not (work / model).is_dir():
            MODEL_FOLDERS[model](work / model)


@pytest.fixture(scope="module")
def readme_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding shared/data; each README line runs in a sibling folder, so `../shared/data` resolves."""
    root = tmp_path_factory.mktemp("readme")
    write_shared_data(root / "shared" / "data")
    return root


# One pipeline per preset for the whole module: the README's commands load the same few presets again and again
_cached_pipeline = functools.cache(cli._pipeline)
_procedural_clips = vocoder_train._procedural_clips


def _few_procedural_clips(sample_rate: int, seed: int, per_class: int = 8) -> list[np.ndarray]:
    """One second of one clip per procedural class."""
    return [clip[:sample_rate] for clip in _procedural_clips(sample_rate, seed, 1)]


def _timed_once(run: Callable[[], object], repeats: int) -> float:
    """bench's median_seconds without the warm-up and the repeats."""
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _documented_status(comment: str) -> int:
    """The exit status a line's comment documents (`# exits 2`); 0 where it documents none."""
    found = re.search(r"\bexits? (?:with )?(?:status )?(\d+)", comment)
    return int(found.group(1)) if found else 0


def _check_app_command(command: ReadmeCommand) -> None:
    """`python app.py` is how the app starts: the Space's app_file, and a script whose __main__ serves the page."""
    front_matter = re.search(r"^app_file:\s*(\S+)", README_TEXT, re.MULTILINE)
    script = command.text.split()[1]
    assert front_matter and front_matter.group(1) == script, f"{command}: the front matter's app_file differs"
    tree = ast.parse((ROOT / script).read_text(encoding="utf-8"))
    guards = [node for node in tree.body if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)]
    assert guards and "main()" in ast.unparse(guards[0]), f"{command}: {script} does not serve the page when run"
    functions = {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}
    assert "main" in functions and ".launch(" in ast.unparse(functions["main"]), f"{command}: main() launches nothing"


def _small_workloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Shrink the few fixed workloads that no flag or preset value reaches."""
    monkeypatch.setattr(cli, "_pipeline", _cached_pipeline)
    # bench's fixed workloads are sized for measuring: three fresh-process loads, a warm-up before every timing, a
    # 10 s restoration. tests/test_bench.py runs them small; here they would dominate the file
    monkeypatch.setattr("audiolab.bench._cold_load_seconds", lambda preset: 0.0)
    monkeypatch.setattr("audiolab.bench.median_seconds", _timed_once)
    monkeypatch.setattr("audiolab.bench.run_bench", functools.partial(run_bench, restore_seconds=1.0))
    # vocoder training resynthesises 96 procedural clips by Griffin-Lim before its first step, and validates on 3 s
    # clips: a few clips, and 1 s, do here
    monkeypatch.setattr("audiolab.vocoder.train._procedural_clips", _few_procedural_clips)
    monkeypatch.setattr("audiolab.vocoder.train.VALIDATION_SECONDS", 1.0)


def _on_tiny_preset(argv: list[str], work: Path) -> list[str]:
    """`argv` with its preset replaced by a tiny copy in work/tiny-presets, for the commands in PRESET_COPIES."""
    weights = PRESET_COPIES.get(command_key(argv))
    if not weights:
        return argv
    argv = argv if "--preset" in argv else [*argv, "--preset", DEFAULT_PRESET]
    at = argv.index("--preset") + 1
    copy = tiny_preset(argv[at], work / "tiny-presets", "resume" if "--resume" in argv else weights)
    return [*argv[:at], str(copy), *argv[at + 1 :]]


def _run(command: ReadmeCommand, argv: list[str], work: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Run one expansion of a README line; check its status, that presets/ is untouched and what it wrote."""
    argv = _on_tiny_preset(argv, work)
    shown = f"{command} ran as `python -m audiolab {' '.join(argv)}`"
    checkpoints = _files(work / "tiny-presets", "*.safetensors")
    presets = _files(PRESETS_DIR)
    try:
        status = cli.main(argv)
    except SystemExit as refused:  # the parser's refusal: the README names a wrong flag or choice
        status = refused.code
    except Exception as error:
        error.add_note(shown)
        raise
    err = capsys.readouterr().err
    assert _files(PRESETS_DIR) == presets, f"{shown} and changed presets/"
    expected = _documented_status(command.comment)
    assert status == expected, f"{shown} and exited {status}, not {expected}:\n{err[-2000:]}"
    if status:
        return
    for option in ("--out", "--plot"):
        if option in argv and argv[0] != "train":
            written = Path(argv[argv.index(option) + 1])
            assert written.is_file() and written.stat().st_size > 0, f"{shown} and wrote no {written}"
    if argv[0] == "train":
        after = _files(work / "tiny-presets", "*.safetensors")
        saved = [path for path, stamp in after.items() if checkpoints.get(path) != stamp]
        assert saved, f"{shown} and wrote no checkpoint"
    if argv[0] == "credits":
        assert list((work / "tiny-presets").glob("*.credits.md")), f"{shown} and wrote no credits file"


@pytest.mark.parametrize("command", FENCED, ids=[_test_id(c) for c in FENCED])
def test_readme_command_runs(command: ReadmeCommand, readme_root: Path, monkeypatch: pytest.MonkeyPatch,
                             capsys: pytest.CaptureFixture[str]) -> None:
    if command.text.startswith(APP):
        _check_app_command(command)
        return
    try:
        runs = concrete_commands(command)
    except Unmappable as reason:
        pytest.fail(f"{command}: cannot map this README line: {reason}")
    work = readme_root / f"line{command.line}"
    work.mkdir(exist_ok=True)
    write_inputs(work)
    write_model_folders(work, runs)
    monkeypatch.chdir(work)
    _small_workloads(monkeypatch)
    for argv in runs:
        _run(command, argv, work, capsys)


# ---- the commands quoted in the prose ----------------------------------------------------------------------


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = cli.build_parser()
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def flag_problems(words: list[Word]) -> list[str]:
    """What in a (possibly partial) command the parser would refuse: an unknown command, flag, choice or preset."""
    argv = [w.text for w in words[3:]]
    commands = _subcommands()
    if not argv:
        return []
    if argv[0] not in commands:
        return [f"no command {argv[0]!r}"]
    parser = commands[argv[0]]
    problems = []
    positional = [a for a in parser._actions if not a.option_strings and a.choices]
    if positional and len(argv) > 1 and argv[1] not in positional[0].choices:
        problems.append(f"{argv[0]} has no {argv[1]!r}; choose from {', '.join(positional[0].choices)}")
    for index, word in enumerate(words[3:]):
        if word.quoted or not word.text.startswith("--"):
            continue
        action = parser._option_string_actions.get(word.text)
        if action is None:
            problems.append(f"{argv[0]} has no {word.text}")
            continue
        values = []
        for value in words[3 + index + 1 :]:
            if value.text.startswith("--") and not value.quoted:
                break
            values.append(value)
        concrete = [v.text for v in values if not v.placeholder and v.text != "..."]
        if action.choices:
            problems += [f"{word.text} {v!r} is not one of {', '.join(action.choices)}" for v in concrete
                         if v not in action.choices]
        if word.text == "--preset":
            problems += [f"no preset {v}" for v in concrete if not (PRESETS_DIR / f"{v}.toml").is_file()]
    return problems


@pytest.mark.parametrize("command", INLINE, ids=[_test_id(c) for c in INLINE])
def test_readme_inline_command_uses_real_flags(command: ReadmeCommand) -> None:
    try:
        variants = expand(command.text)
    except Unmappable as reason:
        pytest.fail(f"{command}: cannot read this command: {reason}")
    problems = [problem for words in variants for problem in flag_problems(words)]
    assert not problems, f"{command}: {'; '.join(sorted(set(problems)))}"


# ---- the reader itself -------------------------------------------------------------------------------------


def test_every_command_of_the_command_line_has_a_readme_line() -> None:
    """The other direction: a new command, model to train or measure comes with its README line (and so a run)."""
    documented = {command_key([w.text for w in words[3:]]) for c in FENCED if c.text.startswith(PROGRAM)
                  for words in expand(c.text)}
    for name, parser in _subcommands().items():
        positional = [a for a in parser._actions if not a.option_strings and a.choices]
        wanted = [(name, choice) for choice in positional[0].choices] if positional else [(name,)]
        missing = [" ".join(key) for key in wanted if key not in documented]
        assert not missing, f"README.md's Command line block has no `python -m audiolab {missing[0]}`"


def test_every_command_is_found_and_outside_shell_blocks_only_diagrams_name_one() -> None:
    assert any(c.text.startswith(APP) for c in FENCED)
    for language, start, lines in fenced_blocks(README_TEXT):
        if language in SHELL_LANGUAGES:
            continue
        for offset, line in enumerate(lines):
            if line.strip().startswith(PROGRAM) and not BOX_DRAWING.search(line):
                pytest.fail(f"README.md:{start + offset}: a command outside a ```bash block would not be tested")


def test_templates_expand_to_every_optional_part_and_alternative() -> None:
    texts = [" ".join(w.text for w in words) for words in
             expand("p --a x|y [--b N] (--c | --d [--e GLOB]) [--f u|v]")]
    assert texts == [
        "p --a x --c",
        "p --a x --b N --c --f u",
        "p --a y --c",
        "p --a x --d --e GLOB",
        "p --a x --c --f v",
    ]
    argv = _concrete(_words("python -m audiolab train vocoder --data DIR DIR --steps N"))
    assert argv == ["train", "vocoder", "--data", f"{SHARED}/speech/ljspeech", f"{SHARED}/speech/librispeech",
                    "--steps", "2"]
    assert _concrete(_words("python -m audiolab bench --steps 10 25"))[1:4] == ["--steps", "2", "--samplers"]
    with pytest.raises(Unmappable, match="no tiny settings for `eval everything`"):
        _concrete(_words("python -m audiolab eval everything"))
    with pytest.raises(Unmappable, match="ELIDED"):
        _concrete(_words("python -m audiolab eval vocoder --methods ..."))


def _words(text: str) -> list[Word]:
    return [Word(word) for word in text.split()]


def test_every_table_ends_at_a_blank_line() -> None:
    """A prose line right after a table's last row renders as one more row (GitHub Markdown ends a table at a
    blank line or another block such as a heading or a fence), so the paragraph vanishes into the table."""
    fenced = False
    lines = README_TEXT.splitlines()
    for number, (row, after) in enumerate(zip(lines, lines[1:]), start=1):
        fenced ^= row.startswith("```")
        if not fenced and row.startswith("|") and after.strip() and not after.startswith(("|", "```", "#")):
            pytest.fail(f"README.md:{number + 1}: put a blank line between the table and {after[:40]!r}")
