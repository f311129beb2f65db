"""The voice of the hall: the audio of a call, made offline and cached, and the chime before it.

Two sources, chosen per phrase with no code change or setting:

* a **voice pack**: a folder of WAV clips a hall recorded itself (docs/voice-pack.md). When the
  folder exists and holds a clip for every word of a phrase, the clips are trimmed of silence
  and joined with short gaps. Names of clips come from ``CLIPS``, a hand-written table: names
  are never derived by stripping diacritics, which would make một/mốt and mười/mươi collide.
* **espeak-ng** (Debian package, installed by scripts/setup) with its Vietnamese voices. Used
  when there is no pack or the pack lacks a word of the phrase (a log line names the words).

Phrases are words (display.numbers), never digits. Every result is a WAV in the cache folder,
named by a hash of the words, the voice, the speed and the pack's version; it is written to a
temporary file and moved into place, so concurrent calls never see half a file.
"""

import hashlib
import json
import logging
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import unicodedata
import wave
from array import array
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

log = logging.getLogger("goiso.display")

SETUP_HINT = "install espeak-ng (scripts/setup)"
ESPEAK_TIMEOUT = 30.0
JOIN_VERSION = 1  # bump when joining changes, so cached joins are made again

# Joining a pack's clips.
KEEP_SECONDS = 0.020  # silence kept at each end of a trimmed clip
GAP_SECONDS = 0.080  # silence between two clips
PAUSE_SECONDS = 0.250  # silence after a comma, semicolon or full stop in the phrase
SILENCE_FLOOR = 500  # 16-bit amplitude under which a sample is silence whatever the clip (-36 dB)
SILENCE_RATIO = 0.05  # ...and under this share of the clip's own peak
PUNCTUATION = ",;.:!?…\"'()“”"
PAUSES = ",;.:!?…"

# The chime: two bell-like notes, high then low (E5 then C5), 0.9 s, 22050 Hz mono 16-bit.
CHIME_RATE = 22050
CHIME_SECONDS = 0.9
CHIME_NOTES = ((0.0, 659.25), (0.32, 523.25))  # (start in seconds, frequency in Hz)

# Words and fixed phrases → clip file names (without ".wav") in a voice pack. Written by hand:
# wherever two entries lose their diacritics to the same letters (một/mốt, mười/mươi, tư/tự), each
# gets its tone's name (nang, sac, huyen, ngang) and none the bare letters, so a file name never
# leaves a doubt about what to record. docs/voice-pack.md lists the same table.
NUMBER_CLIPS = {
    "không": "khong",
    "một": "mot-nang",
    "mốt": "mot-sac",
    "hai": "hai",
    "ba": "ba",
    "bốn": "bon",
    "tư": "tu-ngang",
    "năm": "nam",
    "lăm": "lam",
    "sáu": "sau",
    "bảy": "bay",
    "tám": "tam",
    "chín": "chin",
    "mười": "muoi-huyen",
    "mươi": "muoi-ngang",
    "linh": "linh",
    "lẻ": "le",
    "trăm": "tram",
    "nghìn": "nghin",
    "ngàn": "ngan",
}
# Letter prefixes, as display.numbers.LETTERS says them.
LETTER_CLIPS = {
    "a": "letter-a", "bê": "letter-b", "xê": "letter-c", "đê": "letter-d", "e": "letter-e",
    "ép": "letter-f", "giê": "letter-g", "hát": "letter-h", "i": "letter-i", "gi": "letter-j",
    "ca": "letter-k", "e-lờ": "letter-l", "em-mờ": "letter-m", "en-nờ": "letter-n",
    "o": "letter-o", "pê": "letter-p", "quy": "letter-q", "e-rờ": "letter-r",
    "ét-sì": "letter-s", "tê": "letter-t", "u": "letter-u", "vê": "letter-v",
    "vê kép": "letter-w", "ích-xì": "letter-x", "i dài": "letter-y", "dét": "letter-z",
}
# The fixed parts of the call phrase: whole phrases as one clip (best: recorded in one breath),
# and their words one by one, for templates the hall changed.
PHRASE_CLIPS = {
    "mời công dân có số thứ tự": "moi-cong-dan-co-so-thu-tu",
    "xin mời công dân có số thứ tự": "xin-moi-cong-dan-co-so-thu-tu",
    "kính mời công dân có số thứ tự": "kinh-moi-cong-dan-co-so-thu-tu",
    "mời khách hàng có số thứ tự": "moi-khach-hang-co-so-thu-tu",
    "xin mời khách hàng có số thứ tự": "xin-moi-khach-hang-co-so-thu-tu",
    "kính mời khách hàng có số thứ tự": "kinh-moi-khach-hang-co-so-thu-tu",
    "đến quầy số": "den-quay-so",
    "mời": "moi",
    "xin": "xin",
    "kính": "kinh",
    "công": "cong",
    "dân": "dan",
    "khách": "khach",
    "hàng": "hang",
    "có": "co",
    "số": "so",
    "thứ": "thu",
    "tự": "tu-nang",
    "đến": "den",
    "quầy": "quay",
}
CLIPS = {**NUMBER_CLIPS, **LETTER_CLIPS, **PHRASE_CLIPS}
_PIECES = {tuple(words.split()): name for words, name in CLIPS.items()}
_LONGEST = max(len(piece) for piece in _PIECES)

# Threads making the same file wait for each other (striped: a bounded set of locks).
LOCK_SLOTS = 64
_locks: dict[int, threading.Lock] = {}


class VoiceError(Exception):
    """The audio of a call cannot be made; the text says why and what to do."""


class WavInfo(NamedTuple):
    channels: int
    sample_width: int  # bytes
    rate: int
    frames: int

    @property
    def duration(self) -> float:
        return self.frames / self.rate


def check_wav(path: str | Path) -> WavInfo:
    """Validate a PCM WAV file's RIFF/WAVE header and chunk sizes; VoiceError if it is damaged."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise VoiceError(f"cannot read {path}: {e}") from e
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise VoiceError(f"{path} is not a RIFF/WAVE file")
    riff_size = struct.unpack_from("<I", data, 4)[0]
    if riff_size + 8 != len(data):
        raise VoiceError(f"{path}: the RIFF header says {riff_size + 8} bytes, the file has "
                         f"{len(data)} (cut short or written twice?)")
    fmt = None
    data_size = None
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = struct.unpack_from("<4sI", data, offset)
        body = offset + 8
        if body + size > len(data):
            raise VoiceError(f"{path}: the {chunk.decode('latin-1')!r} chunk says {size} bytes, "
                             f"only {len(data) - body} follow")
        if chunk == b"fmt ":
            if size < 16:
                raise VoiceError(f"{path}: the fmt chunk is too short")
            fmt = struct.unpack_from("<HHIIHH", data, body)
            if fmt[0] == 0xFFFE and size >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format counts
                fmt = (struct.unpack_from("<H", data, body + 24)[0], *fmt[1:])
        elif chunk == b"data":
            data_size = size
        offset = body + size + (size & 1)
    if fmt is None or data_size is None:
        raise VoiceError(f"{path}: no {'fmt' if fmt is None else 'data'} chunk")
    audio_format, channels, rate, byte_rate, block_align, bits = fmt
    if audio_format != 1:
        raise VoiceError(f"{path}: not PCM (format {audio_format})")
    if not channels or not rate or bits not in (8, 16, 24, 32) \
            or block_align != channels * bits // 8 or byte_rate != rate * block_align:
        raise VoiceError(f"{path}: inconsistent fmt chunk {fmt}")
    if data_size % block_align:
        raise VoiceError(f"{path}: the data chunk is not a whole number of frames")
    return WavInfo(channels, bits // 8, rate, data_size // block_align)


def duration(path: str | Path) -> float:
    """Seconds of audio in a WAV file."""
    return check_wav(path).duration


def _lock(target: Path) -> threading.Lock:
    digest = hashlib.sha256(str(target.resolve()).encode()).digest()
    slot = digest[0] % LOCK_SLOTS
    found = _locks.get(slot)
    if found is None:
        # Made at first use from ``threading`` as it is then, not at import: under ``goiso
        # serve`` gevent has patched it by now, so a greenlet that holds the lock while it
        # waits for espeak-ng lets another greenlet wait its turn. A lock made at import was
        # the OS's own: the second board asking for a call's audio blocked the event loop's
        # thread for good (two boards at once hung the whole server).
        found = _locks.setdefault(slot, threading.Lock())
    return found


def _write_atomically(target: Path, make: Callable[[Path], None]) -> WavInfo:
    """Have ``make`` write a temporary WAV next to ``target``, check it, move it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tmp-", suffix=".wav", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        make(tmp)
        info = check_wav(tmp)
        if not info.frames:
            raise VoiceError(f"no audio was made for {target.name}")
        tmp.chmod(0o644)  # mkstemp makes it 0600
        os.replace(tmp, target)
        return info
    finally:
        tmp.unlink(missing_ok=True)


def _write_wav(path: Path, frames: bytes, *, channels: int, rate: int, sample_width: int = 2):
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(sample_width)
        out.setframerate(rate)
        out.writeframes(frames)


def _clean(words: str) -> str:
    return " ".join(unicodedata.normalize("NFC", words).split())


def _tokens(text: str) -> list[tuple[str, bool]]:
    """Lower-case words without punctuation, each with whether a pause follows it."""
    tokens: list[tuple[str, bool]] = []
    for raw in text.lower().split():
        word = raw.strip(PUNCTUATION)
        pause = any(c in PAUSES for c in raw[len(raw.rstrip(PUNCTUATION)):])
        if word:
            tokens.append((word, pause))
        elif tokens and pause:
            tokens[-1] = (tokens[-1][0], True)
    return tokens


class Clip(NamedTuple):
    path: Path
    pause: bool  # a longer pause follows


def _read_clip(path: Path) -> tuple[tuple[int, int, int], bytes]:
    """A pack clip's (channels, sample width, rate) and frames."""
    try:
        with wave.open(str(path), "rb") as clip:
            params = (clip.getnchannels(), clip.getsampwidth(), clip.getframerate())
            return params, clip.readframes(clip.getnframes())
    except (wave.Error, EOFError, OSError) as e:
        raise VoiceError(f"voice pack clip {path.name} is not a PCM WAV file: {e}") from e


def _trim(frames: bytes, channels: int, rate: int, name: str) -> bytes:
    """16-bit frames without the silence at either end (KEEP_SECONDS of it kept)."""
    samples = array("h", frames)
    if sys.byteorder == "big":
        samples.byteswap()
    peak = max(map(abs, samples), default=0)
    threshold = max(SILENCE_FLOOR, int(peak * SILENCE_RATIO))
    first = next((i for i, s in enumerate(samples) if abs(s) >= threshold), None)
    if first is None:
        raise VoiceError(f"voice pack clip {name} is silent")
    last = next(i for i in range(len(samples) - 1, -1, -1) if abs(samples[i]) >= threshold)
    keep = round(KEEP_SECONDS * rate)
    start = max(0, first // channels - keep)
    end = min(len(samples) // channels, last // channels + 1 + keep)
    return frames[start * channels * 2:end * channels * 2]


def _describe(params: tuple[int, int, int]) -> str:
    channels, width, rate = params
    return f"{rate} Hz {8 * width}-bit {'mono' if channels == 1 else f'{channels} channels'}"


def join_clips(clips: list[Clip], out: Path) -> None:
    """Trim and join WAV clips into ``out``, GAP_SECONDS apart (PAUSE_SECONDS after a pause).

    Every clip must be 16-bit PCM with the same channels and rate: else a VoiceError names the
    clips that differ from the others.
    """
    if not clips:
        raise VoiceError("nothing to join")
    read = [(clip, *_read_clip(clip.path)) for clip in clips]
    usual = Counter(params for _, params, _ in read).most_common(1)[0][0]
    odd = sorted({clip.path.name for clip, params, _ in read if params != usual})
    if odd:
        found = next(params for clip, params, _ in read if clip.path.name == odd[0])
        raise VoiceError(f"voice pack clip {', '.join(odd)} is {_describe(found)} but the others "
                         f"are {_describe(usual)}: record or convert every clip the same way")
    channels, width, rate = usual
    if width != 2:
        raise VoiceError(f"voice pack clips are {8 * width}-bit ({clips[0].path.name}); they "
                         "must be 16-bit")
    joined = bytearray()
    for i, (clip, _, frames) in enumerate(read):
        joined += _trim(frames, channels, rate, clip.path.name)
        if i < len(read) - 1:
            gap = PAUSE_SECONDS if clip.pause else GAP_SECONDS
            joined += bytes(round(gap * rate) * channels * width)
    _write_wav(out, bytes(joined), channels=channels, rate=rate, sample_width=width)


class Speech:
    """The audio of phrases: a hall's voice pack when it has every word, else espeak-ng; cached."""

    def __init__(self, cache_dir: Path, *, voice: str = "vi", speed: int = 150,
                 pack_dir: Path | None = None, espeak: str = "espeak-ng",
                 timeout: float = ESPEAK_TIMEOUT):
        if not voice or voice.startswith("-") or any(c.isspace() for c in voice):
            raise ValueError(f"not an espeak-ng voice name: {voice!r}")
        if not 80 <= speed <= 450:
            raise ValueError(f"espeak-ng speed is 80–450 words a minute, not {speed}")
        self.cache_dir = Path(cache_dir)
        self.voice = voice
        self.speed = speed
        self.pack_dir = Path(pack_dir) if pack_dir is not None else None
        self.espeak = espeak
        self.timeout = timeout
        self._warned: set[str] = set()

    def audio(self, words: str) -> Path:
        """A WAV file saying ``words`` (made once, then taken from the cache)."""
        text = _clean(words)
        if not text:
            raise VoiceError("nothing to say")
        clips, missing = self.pack_plan(text)
        if clips is not None and not missing:
            version = [(c.path.name, *_stat(c.path)) for c in clips]
            key = self._key("pack", text, [JOIN_VERSION, version])
            return self._cached(key, lambda tmp: join_clips(clips, tmp))
        if missing and text not in self._warned:
            self._warned.add(text)
            log.warning("voice pack %s has no clip for %s; speaking %r with espeak-ng",
                        self.pack_dir, ", ".join(missing), text)
        key = self._key("espeak", text, None)
        return self._cached(key, lambda tmp: self._synthesize(text, tmp))

    def joined(self, parts: list[Path]) -> Path:
        """One WAV of ``parts`` (WAV files of the same rate, such as espeak-ng's in any of its
        voices) trimmed and joined with a short pause between them; made once, then cached."""
        clips = [Clip(Path(part), True) for part in parts]
        version = [(clip.path.name, *_stat(clip.path)) for clip in clips]
        key = self._key("join", "", [JOIN_VERSION, version])
        return self._cached(key, lambda tmp: join_clips(clips, tmp))

    def pack_plan(self, words: str) -> tuple[list[Clip] | None, list[str]]:
        """The pack's clips for ``words``, longest known piece first, and the words it lacks.

        (None, []) when there is no pack folder. A missing word is given with the file it needs
        ("mốt (mot-sac.wav)") or as "ông (no clip name)" for a word the table does not know.
        """
        if self.pack_dir is None or not self.pack_dir.is_dir():
            return None, []
        tokens = _tokens(_clean(words))
        clips: list[Clip] = []
        missing: list[str] = []
        i = 0
        while i < len(tokens):
            for length in range(min(_LONGEST, len(tokens) - i), 0, -1):
                piece = tuple(word for word, _ in tokens[i:i + length])
                name = _PIECES.get(piece)
                if name and (self.pack_dir / f"{name}.wav").is_file():
                    clips.append(Clip(self.pack_dir / f"{name}.wav", tokens[i + length - 1][1]))
                    i += length
                    break
            else:
                word = tokens[i][0]
                name = _PIECES.get((word,))
                missing.append(f"{word} ({name}.wav)" if name else f"{word} (no clip name)")
                i += 1
        return clips, missing

    def _key(self, source: str, text: str, pack_version) -> str:
        blob = json.dumps([source, text, self.voice, self.speed, pack_version], ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def _cached(self, key: str, make: Callable[[Path], None]) -> Path:
        target = self.cache_dir / f"speech-{key}.wav"
        with _lock(target):
            if target.exists():
                try:
                    if check_wav(target).frames:
                        return target
                except VoiceError as e:
                    log.warning("cached speech is damaged, making it again: %s", e)
            _write_atomically(target, make)
        return target

    def _synthesize(self, text: str, out: Path) -> None:
        exe = shutil.which(self.espeak)
        if exe is None:
            raise VoiceError(f"espeak-ng not found ({self.espeak}): {SETUP_HINT}")
        command = [exe, "-v", self.voice, "-s", str(self.speed), "-w", str(out), "--", text]
        try:
            result = subprocess.run(command, capture_output=True, timeout=self.timeout,
                                    check=False)
        except FileNotFoundError as e:
            raise VoiceError(f"espeak-ng not found ({self.espeak}): {SETUP_HINT}") from e
        except subprocess.TimeoutExpired as e:
            raise VoiceError(f"espeak-ng took more than {self.timeout:g} s for {text!r}") from e
        if result.returncode != 0:
            detail = result.stderr.decode(errors="replace").strip() or "no message"
            raise VoiceError(f"espeak-ng failed (exit {result.returncode}, voice "
                             f"{self.voice!r}): {detail}")


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _chime_frames() -> bytes:
    n = round(CHIME_SECONDS * CHIME_RATE)
    mix = [0.0] * n
    attack = round(0.006 * CHIME_RATE)
    for start, freq in CHIME_NOTES:
        first = round(start * CHIME_RATE)
        # A soft bell: the note, a quieter octave that dies sooner and a hint of the twelfth.
        partials = ((freq, 1.0, 0.28), (2 * freq, 0.35, 0.12), (3 * freq, 0.1, 0.07))
        for i in range(n - first):
            t = i / CHIME_RATE
            rise = min(1.0, i / attack)
            mix[first + i] += rise * sum(amp * math.exp(-t / tau) * math.sin(2 * math.pi * f * t)
                                         for f, amp, tau in partials)
    fade = round(0.05 * CHIME_RATE)
    for i in range(fade):
        mix[n - 1 - i] *= i / fade
    peak = max(abs(x) for x in mix)
    scale = 0.6 * 32767 / peak
    samples = array("h", (round(x * scale) for x in mix))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def chime(path: Path) -> Path:
    """Write the call chime (two notes, ~0.9 s, 22050 Hz mono 16-bit) to ``path`` unless there.

    Made here with math: the hall ships no sound files it did not make.
    """
    path = Path(path)
    with _lock(path):
        if path.exists():
            try:
                if check_wav(path).frames:
                    return path
            except VoiceError:
                pass
        frames = _chime_frames()
        _write_atomically(path, lambda tmp: _write_wav(tmp, frames, channels=1, rate=CHIME_RATE))
    return path
