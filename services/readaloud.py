"""Read aloud: a kiosk screen's words (its title and choices) as audio, in the board's offline
voice (espeak-ng through ``display.voice``), bounded in length, cached and rate-limited.

The lines come from the kiosk door, each with its language (an English screen still shows the
hall's Vietnamese names); this module turns them into one WAV file. Vietnamese uses the board's
voice and speed (``[voice]``); English uses espeak-ng's English voice at the same speed. A
voice pack is never used here: it holds the words of a call, not the names of procedures.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from pathlib import Path
from typing import TYPE_CHECKING

from display import calls, numbers
from display.voice import Speech, VoiceError
from hall import errors

if TYPE_CHECKING:
    from .runtime import Runtime

MAX_CHARS = 900  # about a minute of speech: a long list is read up to here
KEEP = 500  # screen phrases kept on disk (a hall has a few dozen screens and one per ticket)
REMEMBERED = 512  # texts whose file this process knows is made (they cost nothing again)
FRESH_PER_ADDRESS = 20  # new phrases made a minute for one client address
FRESH_IN_ALL = 120  # ...and for all addresses together
SYNTHESES_AT_ONCE = 2  # espeak-ng children at once: the server has other work
ENGLISH_VOICE = "en"
WINDOW_S = 60.0


class Reader:
    """Makes a screen's audio: remembers which texts are made, counts new ones per address."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._made: OrderedDict[tuple, Path] = OrderedDict()
        self._fresh: dict[str, deque] = {}
        self._all: deque = deque()
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(SYNTHESES_AT_ONCE)
        self._requests = 0

    def audio(self, runtime: Runtime, lines: list[tuple[str, str]], address: str) -> Path:
        """The WAV file saying ``lines`` (text, language "vi"/"en"), cut at ``MAX_CHARS``.

        Each run of lines in one language is said by that language's voice (a hall's names stay
        Vietnamese on an English screen) and the runs are joined. Raises
        ``errors.ReadAloudLimited`` when ``address`` (or everyone) asked for too many new
        readings in the last minute, and ``VoiceError`` when no audio can be made.
        """
        parts = spoken_parts(lines)
        if not parts:
            raise VoiceError("nothing to say")
        settings = runtime.settings
        folder = Path(settings.data_dir) / "audio" / "screens"
        key = (str(folder), settings.voice.voice, settings.voice.speed, tuple(parts))
        with self._lock:
            known = self._made.get(key)
            if known is not None:
                self._made.move_to_end(key)
        if known is not None and known.is_file():
            return known
        self._count(address)
        folder.mkdir(parents=True, exist_ok=True)
        with self._slots:
            made = [_speech_for(folder, _voice(runtime, language), settings.voice.speed)
                    .audio(text) for text, language in parts]
            path = made[0] if len(made) == 1 else _speech_for(
                folder, settings.voice.voice, settings.voice.speed).joined(made)
        with self._lock:
            self._made[key] = path
            while len(self._made) > REMEMBERED:
                self._made.popitem(last=False)
            self._requests += 1
            due = self._requests % calls.PRUNE_EVERY == 0
        if due:
            calls.prune(folder, KEEP, spare=path)
        return path

    def _count(self, address: str) -> None:
        now = self._clock()
        with self._lock:
            mine = self._fresh.setdefault(address, deque())
            for queue in (mine, self._all):
                while queue and queue[0] <= now - WINDOW_S:
                    queue.popleft()
            for queue, cap in ((mine, FRESH_PER_ADDRESS), (self._all, FRESH_IN_ALL)):
                if len(queue) >= cap:
                    raise errors.ReadAloudLimited(seconds=max(1, round(queue[0] + WINDOW_S - now)))
            mine.append(now)
            self._all.append(now)
            for other in [a for a, q in self._fresh.items() if not q]:
                del self._fresh[other]  # addresses that went quiet cost nothing


def _voice(runtime: Runtime, language: str) -> str:
    return runtime.settings.voice.voice if language == "vi" else ENGLISH_VOICE


_speeches: dict[tuple, Speech] = {}
_speeches_lock = threading.Lock()


def _speech_for(folder: Path, voice: str, speed: int) -> Speech:
    key = (str(folder), voice, speed)
    with _speeches_lock:
        if key not in _speeches:
            _speeches[key] = Speech(folder, voice=voice, speed=speed, pack_dir=None)
        return _speeches[key]


def spoken_parts(lines: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The lines as texts to speak, one per run of lines in the same language: each line a
    sentence, blank ones dropped, all cut at ``MAX_CHARS`` on a line's end (a first line
    longer than that alone is cut at a word)."""
    parts: list[tuple[str, str]] = []
    length = 0
    for line, language in lines:
        words = " ".join(str(line).split())
        if not words:
            continue
        if words[-1] not in ".!?:;…":
            words += "."
        if length + len(words) + 1 > MAX_CHARS:
            if not parts:
                parts.append((words[:MAX_CHARS].rsplit(" ", 1)[0], language))
            break
        length += len(words) + 1
        if parts and parts[-1][1] == language:
            parts[-1] = (f"{parts[-1][0]} {words}", language)
        else:
            parts.append((words, language))
    return parts


def ticket_number(runtime: Runtime, label: str, language: str) -> str:
    """A ticket number as the board says it ("B012" → "bê mười hai") in Vietnamese; as printed
    in English (the English voice reads digits well)."""
    if language != "vi":
        return " ".join(label) if not label.isdecimal() else label
    voice = runtime.settings.voice
    try:
        return numbers.say_number(label, style=voice.style, dialect=voice.dialect,
                                  four=voice.four)
    except ValueError:  # a label outside the board's patterns: read as written
        return label
