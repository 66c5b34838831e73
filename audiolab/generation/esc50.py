"""ESC-50 (Piczak 2015): its metadata, clips as log-mels, and captions that describe each class in plain words.

The captions are what the text-conditioned generator is trained on: several per class, most of
them never naming the class, so that an unseen paraphrase ("a puppy yapping", which is not among
them) lands on the same sound as the label ("dog"). The first caption of each class is its
canonical prompt.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from audiolab.core.audio import MelSettings

CLASSES: tuple[str, ...] = (
    "dog", "rooster", "pig", "cow", "frog", "cat", "hen", "insects", "sheep", "crow",
    "rain", "sea_waves", "crackling_fire", "crickets", "chirping_birds", "water_drops", "wind", "pouring_water",
    "toilet_flush", "thunderstorm", "crying_baby", "sneezing", "clapping", "breathing", "coughing", "footsteps",
    "laughing", "brushing_teeth", "snoring", "drinking_sipping", "door_knock", "mouse_click", "keyboard_typing",
    "door_wood_creaks", "can_opening", "washing_machine", "vacuum_cleaner", "clock_alarm", "clock_tick",
    "glass_breaking", "helicopter", "chainsaw", "siren", "car_horn", "engine", "train", "church_bells", "airplane",
    "fireworks", "hand_saw",
)

CAPTIONS: dict[str, tuple[str, ...]] = {
    "dog": ("a dog barking", "a small dog yipping", "a large hound woofing loudly", "a dog growls and barks at a stranger",
            "an excited pet barking in the yard", "barking from a guard dog"),
    "rooster": ("a rooster crowing", "a cockerel crowing at dawn", "cock-a-doodle-doo on a farm in the morning",
                "a farmyard bird's loud wake-up call", "a cock crows twice"),
    "pig": ("a pig oinking", "pigs grunting and snorting in a sty", "a hog squealing", "snorting swine at feeding time",
            "a piglet squeals and grunts"),
    "cow": ("a cow mooing", "cattle lowing in a field", "a long deep moo from a dairy cow", "a calf bellowing for its mother",
            "a bovine calling across the pasture"),
    "frog": ("a frog croaking", "frogs ribbiting by a pond at night", "a toad's repeated croak",
             "a chorus of croaking amphibians in the marsh", "bullfrogs calling"),
    "cat": ("a cat meowing", "a kitten mewing", "a cat yowls at the door", "a hungry house cat miaowing",
            "an angry tomcat hissing and meowing"),
    "hen": ("a hen clucking", "chickens clucking in a coop", "a hen cackling after laying an egg",
            "poultry pecking and clucking", "a mother hen calling her chicks"),
    "insects": ("insects buzzing", "a fly buzzing around", "bees humming over flowers", "a mosquito whining near the ear",
                "a swarm of flying insects droning"),
    "sheep": ("a sheep bleating", "a lamb baaing", "a flock of sheep bleating in a meadow", "a goat-like baa from the field",
              "ewes calling to their lambs"),
    "crow": ("a crow cawing", "ravens croaking overhead", "a harsh caw caw from a black bird", "crows calling in the trees",
             "a rook squawking"),
    "rain": ("rain falling", "a rainstorm soaking the garden", "a steady downpour", "raindrops pattering on a window",
             "a rain shower hitting the pavement", "drizzle on leaves"),
    "sea_waves": ("sea waves", "surf pounding the coast", "the ocean surf rolling onto a beach",
                  "breakers washing over pebbles", "the tide coming in at the seaside"),
    "crackling_fire": ("a crackling fire", "logs crackling in a fireplace", "a campfire popping and hissing",
                       "wood burning in a stove", "the snap and crackle of a bonfire"),
    "crickets": ("crickets chirping", "crickets at night in the grass", "a summer night with chirping crickets",
                 "cicadas trilling", "a grasshopper's rhythmic chirp"),
    "chirping_birds": ("birds chirping", "birdsong in the morning", "songbirds twittering in a forest",
                       "sparrows tweeting in the garden", "a dawn chorus of small birds"),
    "water_drops": ("water dripping", "drops of water falling into a sink", "a leaky tap dripping",
                    "droplets plinking into a puddle", "slow drips in a cave"),
    "wind": ("wind blowing", "a strong gust of wind", "wind howling through the trees", "a gale whistling outside",
             "a breeze rushing past the microphone"),
    "pouring_water": ("water pouring", "pouring water into a glass", "liquid poured from a jug",
                      "filling a bottle from the tap", "a stream of water splashing into a bucket"),
    "toilet_flush": ("a toilet flushing", "someone flushes the toilet", "the rush of a flushing cistern",
                     "a lavatory flush and refill", "water swirling down a toilet bowl"),
    "thunderstorm": ("a thunderstorm", "thunder rumbling in the distance", "a loud thunderclap during a storm",
                     "lightning and rolling thunder", "a storm with heavy thunder"),
    "crying_baby": ("a baby crying", "an infant wailing", "a newborn screaming and sobbing", "a toddler crying loudly",
                    "a little child bawling"),
    "sneezing": ("someone sneezing", "a loud achoo", "a person sneezes several times", "a man sneezing into his hand",
                 "a sudden sneeze"),
    "clapping": ("people clapping", "applause from an audience", "hands clapping together", "a round of applause",
                 "a person claps their hands rhythmically"),
    "breathing": ("someone breathing", "heavy breathing", "a person inhaling and exhaling slowly", "panting after a run",
                  "deep breaths close to the microphone"),
    "coughing": ("someone coughing", "a person with a bad cough", "a dry hacking cough", "a man clears his throat and coughs",
                 "repeated coughs from a sick person"),
    "footsteps": ("footsteps", "someone walking on a wooden floor", "shoes stepping on gravel", "a person walking down a hallway",
                  "heels clicking on a pavement"),
    "laughing": ("someone laughing", "people laughing out loud", "a child giggling", "a hearty chuckle",
                 "a woman bursts into laughter"),
    "brushing_teeth": ("brushing teeth", "a toothbrush scrubbing teeth", "someone brushing their teeth at the sink",
                       "the scratchy sound of a toothbrush", "an electric toothbrush whirring"),
    "snoring": ("someone snoring", "a man snoring loudly in his sleep", "a sleeper's rasping snore",
                "heavy snoring at night", "a person sleeping and snoring"),
    "drinking_sipping": ("someone drinking", "sipping a hot drink", "gulping water from a glass", "slurping through a straw",
                         "a person swallowing a drink"),
    "door_knock": ("knocking on a door", "a knock at the door", "someone raps on a wooden door", "three knocks on a door",
                   "knuckles tapping on a door"),
    "mouse_click": ("a mouse clicking", "computer mouse clicks", "someone clicking a mouse button",
                    "rapid clicks of a computer mouse", "a click click of a mouse"),
    "keyboard_typing": ("typing on a keyboard", "someone typing fast on a computer keyboard", "keys clattering on a laptop",
                        "an office worker typing", "the tapping of keyboard keys"),
    "door_wood_creaks": ("a creaking door", "an old wooden door creaking open", "a squeaky door hinge",
                         "a door slowly groaning as it opens", "a creaky wooden door in a haunted house"),
    "can_opening": ("a can opening", "cracking open a soda can", "the pop and fizz of a drink can",
                    "pulling the tab on a beer can", "a fizzy drink being opened"),
    "washing_machine": ("a washing machine", "a washing machine spinning", "a laundry machine churning",
                        "the hum and slosh of a washer", "clothes tumbling in a washing machine"),
    "vacuum_cleaner": ("a vacuum cleaner", "someone vacuuming the carpet", "the loud whine of a hoover",
                       "a vacuum cleaner running", "a vacuum sucking up dust"),
    "clock_alarm": ("an alarm clock ringing", "an alarm clock beeping", "a bell alarm going off in the morning",
                    "a loud wake-up alarm", "a ringing clock alarm"),
    "clock_tick": ("a clock ticking", "the tick tock of a clock", "a wall clock ticking steadily",
                   "a pocket watch ticking", "a metronome-like ticking"),
    "glass_breaking": ("glass breaking", "a window shattering", "a glass smashing on the floor", "a bottle breaks into pieces",
                       "shards of glass falling"),
    "helicopter": ("a helicopter", "a helicopter flying overhead", "the chopping of rotor blades",
                   "a chopper hovering nearby", "a helicopter taking off"),
    "chainsaw": ("a chainsaw", "a chainsaw cutting wood", "a chainsaw revving", "a lumberjack's saw buzzing through a tree",
                 "a motor saw idling and roaring"),
    "siren": ("a siren", "a police siren wailing", "an ambulance siren passing by", "a fire engine's siren",
              "an emergency vehicle siren in the city"),
    "car_horn": ("a car horn", "a car honking", "a driver blowing the horn in traffic", "a loud beep from a car",
                 "honking horns in the street"),
    "engine": ("an engine running", "a car engine idling", "a motor revving", "a truck engine rumbling",
               "an engine starting up"),
    "train": ("a train", "a train passing by", "a train rattling along the tracks", "a locomotive rumbling past",
              "railway carriages clattering on the rails"),
    "church_bells": ("church bells", "church bells ringing", "a bell tower chiming", "cathedral bells tolling",
                     "bells pealing on a sunday morning"),
    "airplane": ("an airplane", "an airplane flying overhead", "a jet roaring across the sky", "a plane passing high above",
                 "the drone of an aircraft engine"),
    "fireworks": ("fireworks", "fireworks exploding", "firecrackers popping", "rockets bursting in the night sky",
                  "bangs and crackles of a firework display"),
    "hand_saw": ("a hand saw", "sawing wood by hand", "a saw cutting through a plank", "a carpenter sawing back and forth",
                 "the rasp of a handsaw"),
}


@dataclass(frozen=True)
class Clip:
    path: Path
    fold: int
    label: str
    license: str
    author: str
    source_url: str


def read_meta(folder: str | Path) -> list[Clip]:
    """The clips listed in an ESC-50 folder's meta.csv whose audio file is present."""
    folder = Path(folder)
    meta = folder / "meta.csv"
    if not meta.is_file():
        raise ValueError(f"{folder} has no meta.csv: point --data at an ESC-50 folder (meta.csv beside audio/).")
    audio_dir = folder / "audio" if (folder / "audio").is_dir() else folder
    with meta.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    missing_columns = {"filename", "fold", "category"} - set(rows[0] if rows else {})
    if missing_columns:
        raise ValueError(f"{meta} lacks the column(s) {', '.join(sorted(missing_columns))}.")
    clips = [
        Clip(audio_dir / row["filename"], int(row["fold"]), row["category"], row.get("license", ""),
             row.get("author", ""), row.get("source_url", ""))
        for row in rows if (audio_dir / row["filename"]).is_file()
    ]
    if not clips:
        raise ValueError(f"None of the files in {meta} are in {audio_dir}.")
    unknown = sorted({clip.label for clip in clips} - set(CLASSES))
    if unknown:
        raise ValueError(f"{meta} has categories outside ESC-50: {', '.join(unknown)}.")
    return clips


def split_by_fold(clips: Sequence[Clip], holdout_fold: int) -> tuple[list[Clip], list[Clip]]:
    """(training, held-out): whole folds, as ESC-50 asks (clips of one recording share a fold)."""
    folds = sorted({clip.fold for clip in clips})
    if holdout_fold not in folds:
        raise ValueError(f"Fold {holdout_fold} is not in the data (folds present: {folds}).")
    return [c for c in clips if c.fold != holdout_fold], [c for c in clips if c.fold == holdout_fold]


def _recording(clip: Clip) -> str:
    """The Freesound recording a clip was cut from: ESC-50 names files `<fold>-<freesound id>-<take>`."""
    parts = clip.path.stem.split("-")
    return parts[1] if len(parts) >= 3 else clip.path.stem


def split_by_recording(clips: Sequence[Clip]) -> tuple[list[Clip], list[Clip]]:
    """(training, held-out) for data of a single fold: every other source recording of each class is held out,
    so takes of one recording stay on one side."""
    recordings: dict[str, list[str]] = {}
    for clip in clips:
        recordings.setdefault(clip.label, []).append(_recording(clip))
    held = {(label, r) for label, ids in recordings.items() for r in sorted(set(ids))[1::2]}
    return ([c for c in clips if (c.label, _recording(c)) not in held],
            [c for c in clips if (c.label, _recording(c)) in held])


def load_clip(path: Path, sample_rate: int, seconds: float) -> np.ndarray:
    """A mono float32 clip at `sample_rate`, zero-padded or cut to `seconds`."""
    from audiolab.core.audio import load_audio

    audio = load_audio(path, sample_rate, what=f"clip {path.name}")
    length = int(round(seconds * sample_rate))
    out = np.zeros(length, dtype=np.float32)
    out[: min(length, len(audio))] = audio[:length]
    return out


def log_mels(clips: Sequence[Clip], mel: "MelSettings", seconds: float,
             log: Callable[[str], None] = print) -> "torch.Tensor":
    """Natural-log mels (N, mels, frames) of clips cut or padded to `seconds`."""
    import torch

    from audiolab.core.audio import MelTransform

    transform = MelTransform(mel)
    mels: list[torch.Tensor] = []
    for index, clip in enumerate(clips):
        mels.append(transform.log_mel(torch.from_numpy(load_clip(clip.path, mel.sample_rate, seconds))))
        if (index + 1) % 250 == 0:
            log(f"  read {index + 1}/{len(clips)} clips")
    return torch.stack(mels)
