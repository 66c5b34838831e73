"""Credits for a checkpoint trained on other people's recordings.

ESC-50 (K. J. Piczak, "ESC: Dataset for Environmental Sound Classification", ACM MM 2015) takes
its clips from Freesound; CC-BY clips require attribution. When a training folder holds ESC-50
clips (a `meta.csv` beside or above them), every CC-BY clip that training used is listed with its
author, source URL and licence.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from audiolab.core.corpus import audio_files

DEFAULT_NOTE = "This checkpoint was trained on the recordings below, and on the project's own procedural sounds."
ESC50_CITATION = (
    'K. J. Piczak, "ESC: Dataset for Environmental Sound Classification", Proceedings of the 23rd ACM '
    "International Conference on Multimedia (ACM MM), 2015. https://github.com/karolpiczak/ESC-50"
)
KNOWN_FOLDERS = {
    "ljspeech": "LJ Speech (K. Ito and L. Johnson, 2017), public domain. https://keithito.com/LJ-Speech-Dataset/",
    "librispeech": "LibriSpeech (V. Panayotov et al., ICASSP 2015), CC BY 4.0. https://www.openslr.org/12",
    "librispeech_train_clean_100": "LibriSpeech train-clean-100, one utterance per speaker (V. Panayotov et al., "
                                   "ICASSP 2015), CC BY 4.0. https://www.openslr.org/12",
    "speechocean762": "speechocean762 (J. Zhang et al., \"speechocean762: An Open-Source Non-native English Speech Corpus "
                      "for Pronunciation Assessment\", Interspeech 2021), Apache-2.0. https://www.openslr.org/101",
    "noise": "Background-noise recordings: those named after activities (doing_the_dishes, exercise_bike, running_tap, "
             "dude_miaowing) are from Speech Commands (P. Warden, 2018, https://arxiv.org/abs/1804.03209), CC BY 4.0; "
             "freesound_* are Freesound recordings, CC0.",
    "cmu_arctic": "CMU ARCTIC (J. Kominek and A. W. Black, 2004), free licence. http://festvox.org/cmu_arctic/",
}


def _esc50_meta(folder: Path) -> Path | None:
    """ESC-50's metadata beside or above the folder (other corpora's meta.csv files have other columns)."""
    for candidate in (folder / "meta.csv", folder.parent / "meta.csv"):
        if candidate.is_file():
            with candidate.open(encoding="utf-8", newline="") as handle:
                if {"filename", "category", "license", "author"} <= set(next(csv.reader(handle), [])):
                    return candidate
    return None


def credits_markdown(title: str, folders: Sequence[str | Path], exclude: Sequence[str] = (),
                     categories: Sequence[str] | None = None, extra: Sequence[str] = (),
                     note: str = DEFAULT_NOTE) -> str:
    """A Markdown credits page for a model trained on `folders` (minus `exclude` globs).

    `categories` limits ESC-50 folders to those classes (for models that used only some);
    `extra` lines describe further sources (synthetic speech, for instance).
    """
    lines = [f"# Credits: {title}", "", note, ""]
    for folder in map(Path, folders):
        used = audio_files(folder, tuple(exclude))
        meta = _esc50_meta(folder)
        if meta is None:
            source = KNOWN_FOLDERS.get(folder.name, "recordings supplied by the person training")
            names = ", ".join(p.stem for p in used)
            lines += [f"## {folder.name}: {len(used)} recordings", "", f"{source}", "", f"Files: {names}.", ""]
            continue
        with meta.open(encoding="utf-8", newline="") as handle:
            rows = {row["filename"]: row for row in csv.DictReader(handle)}
        used_rows = [rows[p.name] for p in used if p.name in rows
                     and (categories is None or rows[p.name]["category"] in categories)]
        attributed = [row for row in used_rows if row["license"].upper().startswith("CC-BY")]
        lines += [
            f"## ESC-50: {len(used_rows)} clips ({len(attributed)} under CC BY, the rest CC0)", "",
            ESC50_CITATION, "",
            "Clips derived from Freesound.org recordings. Every CC BY clip used, with its author and source:", "",
            "| clip | class | author | source | licence |", "|---|---|---|---|---|",
        ]
        for row in sorted(attributed, key=lambda r: r["filename"]):
            lines.append(f"| {row['filename']} | {row['category']} | {row['author']} | {row['source_url']} | "
                         f"{row['license']} (https://creativecommons.org/licenses/by/3.0/) |")
        lines.append("")
    lines += list(extra)
    return "\n".join(lines)


def write_credits(path: Path, title: str, folders: Sequence[str | Path], exclude: Sequence[str] = (),
                  categories: Sequence[str] | None = None, extra: Sequence[str] = (), note: str = DEFAULT_NOTE) -> Path:
    path.write_text(credits_markdown(title, folders, exclude, categories, extra, note), encoding="utf-8")
    return path
