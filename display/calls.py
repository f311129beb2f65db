"""How a call is said: the words of "1023 → counter 3" and their audio, under the hall's settings.

Shared by the board's audio route and ``goiso announce``; no Flask here.
"""

import threading
from pathlib import Path

from .config import VoiceOptions

KEEP = 2000  # phrases kept on disk; a busy hall calls a few hundred numbers a day
PRUNE_EVERY = 100  # look at the folder once every this many requests

_speeches: dict = {}
_lock = threading.Lock()
_requests = [0]


def words(voice: VoiceOptions, number: str, counter: int) -> str:
    """The phrase of a call, in words (numbers spelled by the project, not by the engine)."""
    from .numbers import phrase

    return phrase(voice.template, number, counter, style=voice.style, dialect=voice.dialect,
                  four=voice.four)


def audio(voice: VoiceOptions, audio_dir: Path, pack_dir: Path, number: str,
          counter: int) -> Path:
    """The WAV file of a call: from the voice pack when it has every word, else espeak-ng;
    made once per phrase and kept in ``audio_dir`` (the oldest beyond ``KEEP`` are dropped)."""
    path = speech(voice, audio_dir, pack_dir).audio(words(voice, number, counter))
    with _lock:
        _requests[0] += 1
        due = _requests[0] % PRUNE_EVERY == 0
    if due:
        prune(audio_dir, KEEP, spare=path)
    return path


def prune(audio_dir: Path, keep: int, spare: Path | None = None) -> int:
    """Delete the oldest phrases beyond ``keep`` (a disk must not fill with every number a
    request ever asked for); returns how many went. The chime and ``spare`` stay."""
    phrases = sorted(Path(audio_dir).glob("speech-*.wav"), key=lambda p: p.stat().st_mtime,
                     reverse=True)
    gone = 0
    for path in phrases[keep:]:
        if spare is not None and path == spare:
            continue
        try:
            path.unlink()
            gone += 1
        except FileNotFoundError:  # another request dropped it first
            pass
    return gone


def speech(voice: VoiceOptions, audio_dir: Path, pack_dir: Path):
    """The synthesiser for these settings (one per process and settings, kept)."""
    from .voice import Speech

    key = (str(audio_dir), str(pack_dir), voice.voice, voice.speed)
    with _lock:
        if key not in _speeches:
            _speeches[key] = Speech(audio_dir, voice=voice.voice, speed=voice.speed,
                                    pack_dir=pack_dir)
        return _speeches[key]


def folders(data_dir: Path, voice: VoiceOptions) -> tuple[Path, Path]:
    """Where call audio is kept, and where a voice pack is looked for."""
    audio_dir = Path(data_dir) / "audio"
    audio_dir.mkdir(parents=True, exist_ok=True)
    pack_dir = Path(voice.pack_dir) if voice.pack_dir else Path(data_dir) / "voice-pack"
    return audio_dir, pack_dir
