"""The voice of the hall (display.voice): espeak-ng, the cache, voice packs and the chime."""

import logging
import math
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import threading
import unicodedata
import wave
from array import array
from pathlib import Path

import pytest

from display import voice
from display.numbers import DEFAULT_TEMPLATE, LETTERS, phrase, say_number, spell
from display.voice import CLIPS, Speech, VoiceError, check_wav, chime, duration

ROOT = Path(__file__).resolve().parent.parent
ESPEAK = shutil.which("espeak-ng")
needs_espeak = pytest.mark.skipif(ESPEAK is None, reason="espeak-ng is not installed")
CALL = phrase(DEFAULT_TEMPLATE, "1023", 3)


def spy_espeak(tmp_path: Path) -> tuple[str, Path]:
    """A wrapper that logs each call, then runs the real espeak-ng."""
    log = tmp_path / "espeak-calls.log"
    script = tmp_path / "espeak-spy"
    script.write_text(f'#!/bin/sh\necho call >> "{log}"\nexec "{ESPEAK}" "$@"\n')
    script.chmod(0o755)
    return str(script), log


def calls(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def samples_of(path: Path) -> tuple[int, array]:
    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        rate = w.getframerate()
        data = array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        data.byteswap()
    return rate, data


def tone(path: Path, freq: float, seconds: float, *, rate: int = 16000, lead: float = 0.3,
         trail: float = 0.25, channels: int = 1, width: int = 2, seed: int = 1) -> float:
    """A clip: quiet noise, a sine tone with 5 ms ramps, quiet noise. Returns the tone's length."""
    noise = random.Random(seed)
    n_tone = round(seconds * rate)
    ramp = round(0.005 * rate)
    values = [noise.randint(-120, 120) for _ in range(round(lead * rate))]
    for i in range(n_tone):
        env = min(1.0, i / ramp, (n_tone - 1 - i) / ramp)
        values.append(round(16000 * env * math.sin(2 * math.pi * freq * i / rate)))
    values += [noise.randint(-120, 120) for _ in range(round(trail * rate))]
    if width == 1:
        frames = bytes((v // 256 + 128) for v in values for _ in range(channels))
    else:
        data = array("h", (v for v in values for _ in range(channels)))
        if sys.byteorder == "big":
            data.byteswap()
        frames = data.tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    return n_tone / rate


def segments(path: Path, threshold: int = 2000, gap: float = 0.03) -> list[tuple[float, float]]:
    """(length in seconds, frequency in Hz) of each loud stretch, in order."""
    rate, data = samples_of(path)
    loud = [i for i, s in enumerate(data) if abs(s) >= threshold]
    runs, start, prev = [], loud[0], loud[0]
    for i in loud[1:]:
        if i - prev > gap * rate:
            runs.append((start, prev))
            start = i
        prev = i
    runs.append((start, prev))
    found = []
    for a, b in runs:
        crossings = sum(1 for i in range(a, b) if (data[i] < 0) != (data[i + 1] < 0))
        length = (b - a + 1) / rate
        found.append((length, crossings / 2 / length))
    return found


# --- espeak-ng -------------------------------------------------------------------------------


@needs_espeak
def test_espeak_makes_a_valid_wav_of_a_sane_length(tmp_path):
    speech = Speech(tmp_path / "cache")
    path = speech.audio(CALL)
    head = path.read_bytes()[:44]
    assert head[:4] == b"RIFF" and head[8:12] == b"WAVE" and head[12:16] == b"fmt "
    assert struct.unpack_from("<H", head, 20)[0] == 1  # PCM
    info = check_wav(path)
    assert info.frames > 0 and info.sample_width == 2 and info.channels == 1
    assert 1.5 <= duration(path) <= 12
    short = speech.audio("một")
    assert 0.1 <= duration(short) < duration(path)
    longer = speech.audio(phrase(DEFAULT_TEMPLATE, "9999", 9999))
    assert duration(longer) > duration(path)
    assert path.parent == tmp_path / "cache"
    assert path.suffix == ".wav"


@needs_espeak
def test_the_cache_answers_without_synthesis(tmp_path):
    espeak, log = spy_espeak(tmp_path)
    speech = Speech(tmp_path / "cache", espeak=espeak)
    first = speech.audio(CALL)
    mtime = first.stat().st_mtime_ns
    assert calls(log) == 1
    assert speech.audio(CALL) == first
    assert speech.audio(f"  {unicodedata.normalize('NFD', CALL)} ") == first  # same words
    assert Speech(tmp_path / "cache", espeak=espeak).audio(CALL) == first  # a new process
    assert calls(log) == 1 and first.stat().st_mtime_ns == mtime
    # Another voice, speed or phrase is another file.
    other_voice = Speech(tmp_path / "cache", voice="vi-vn-x-south", espeak=espeak).audio(CALL)
    faster = Speech(tmp_path / "cache", speed=200, espeak=espeak).audio(CALL)
    assert len({first, other_voice, faster, speech.audio("hai")}) == 4
    assert duration(faster) < duration(first)
    assert calls(log) == 4


@needs_espeak
def test_a_damaged_cache_file_is_made_again(tmp_path):
    speech = Speech(tmp_path / "cache")
    path = speech.audio("ba")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(VoiceError):
        check_wav(path)
    assert speech.audio("ba") == path
    assert check_wav(path).frames > 0


@needs_espeak
def test_concurrent_calls_for_one_phrase_give_one_valid_file(tmp_path):
    espeak, log = spy_espeak(tmp_path)
    speeches = [Speech(tmp_path / "cache", espeak=espeak) for _ in range(2)]
    barrier = threading.Barrier(8)
    results, errors = [], []

    def call(i):
        barrier.wait()
        try:
            results.append(speeches[i % 2].audio(CALL))
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1
    assert check_wav(results[0]).frames > 0
    assert calls(log) == 1
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [results[0].name]


@needs_espeak
def test_concurrent_processes_never_leave_half_a_file(tmp_path):
    cache = tmp_path / "cache"
    code = ("import sys; from pathlib import Path; from display.voice import Speech; "
            "print(Speech(Path(sys.argv[1])).audio(sys.argv[2]))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(cache), CALL], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = {p.communicate(timeout=30)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(outputs) == 1
    assert check_wav(Path(outputs.pop())).frames > 0
    assert len(list(cache.iterdir())) == 1  # no temporary files left


def test_missing_espeak_says_how_to_fix_it(tmp_path):
    for espeak in (str(tmp_path / "no-such-espeak"), "no-such-espeak-ng-binary"):
        with pytest.raises(VoiceError, match=re.escape("install espeak-ng (scripts/setup)")):
            Speech(tmp_path / "cache", espeak=espeak).audio("một")
    assert not any((tmp_path / "cache").glob("*"))


@needs_espeak
def test_an_unknown_voice_is_a_voice_error(tmp_path):
    with pytest.raises(VoiceError, match="qqq"):
        Speech(tmp_path / "cache", voice="qqq").audio("một")
    assert not any((tmp_path / "cache").glob("*"))


def test_speech_refuses_bad_settings(tmp_path):
    with pytest.raises(ValueError):
        Speech(tmp_path, speed=20)
    with pytest.raises(ValueError):
        Speech(tmp_path, voice="-w /etc/passwd")
    with pytest.raises(VoiceError):
        Speech(tmp_path).audio("   ")


# --- voice packs -----------------------------------------------------------------------------

# "a hai mươi ba": letter-a, hai, muoi-ngang, ba — each its own pitch and length.
A023 = {"letter-a": (300, 0.15), "hai": (500, 0.20), "muoi-ngang": (700, 0.25), "ba": (900, 0.30)}


def make_pack(folder: Path, clips: dict[str, tuple[float, float]], **options) -> dict[str, float]:
    folder.mkdir(parents=True, exist_ok=True)
    return {name: tone(folder / f"{name}.wav", freq, seconds, seed=i, **options)
            for i, (name, (freq, seconds)) in enumerate(clips.items())}


def test_a_pack_is_joined_trimmed_and_in_order(tmp_path):
    pack = tmp_path / "pack"
    lengths = make_pack(pack, A023)
    speech = Speech(tmp_path / "cache", pack_dir=pack, espeak=str(tmp_path / "no-espeak"))
    words = say_number("A023")
    assert words == "a hai mươi ba"
    path = speech.audio(words)  # no espeak-ng needed at all
    info = check_wav(path)
    assert (info.rate, info.channels, info.sample_width) == (16000, 1, 2)
    keep, gap = voice.KEEP_SECONDS, voice.GAP_SECONDS
    expected = sum(t + 2 * keep for t in lengths.values()) + 3 * gap
    assert duration(path) == pytest.approx(expected, abs=0.01)
    # Untrimmed the clips would add 0.55 s of silence each.
    assert duration(path) < sum(lengths.values()) + 4 * 0.55
    found = segments(path)
    assert len(found) == 4
    for (length, freq), name in zip(found, ["letter-a", "hai", "muoi-ngang", "ba"], strict=True):
        assert length == pytest.approx(A023[name][1], abs=0.01)
        assert freq == pytest.approx(A023[name][0], rel=0.05)
    # Silence at the ends is trimmed to the kept 20 ms.
    rate, data = samples_of(path)
    first_loud = next(i for i, s in enumerate(data) if abs(s) >= 2000)
    assert first_loud / rate == pytest.approx(keep, abs=0.005)


def test_the_longest_known_piece_comes_first(tmp_path):
    pack = tmp_path / "pack"
    words = {"moi": 200, "cong": 220, "dan": 240, "co": 260, "so": 280, "thu": 300, "tu-nang": 320,
             "den": 340, "quay": 360, "mot-nang": 380, "nghin": 400, "khong": 420, "tram": 440,
             "hai": 460, "muoi-ngang": 480, "ba": 500}
    make_pack(pack, {name: (freq, 0.05) for name, freq in words.items()})
    speech = Speech(tmp_path / "cache", pack_dir=pack)
    by_words = ["moi", "cong", "dan", "co", "so", "thu", "tu-nang", "mot-nang", "nghin", "khong",
                "tram", "hai", "muoi-ngang", "ba", "den", "quay", "so", "ba"]
    clips, missing = speech.pack_plan(CALL)
    assert not missing and [c.path.stem for c in clips] == by_words
    make_pack(pack, {"moi-cong-dan-co-so-thu-tu": (600, 0.4), "den-quay-so": (700, 0.2)})
    clips, missing = speech.pack_plan(CALL)
    assert not missing
    assert [c.path.stem for c in clips] == ["moi-cong-dan-co-so-thu-tu", "mot-nang", "nghin",
                                            "khong", "tram", "hai", "muoi-ngang", "ba",
                                            "den-quay-so", "ba"]
    found = segments(speech.audio(CALL))
    assert len(found) == 10
    assert found[0][0] == pytest.approx(0.4, abs=0.01)
    assert found[-2][0] == pytest.approx(0.2, abs=0.01)


def test_a_comma_gives_a_longer_pause(tmp_path):
    pack = tmp_path / "pack"
    make_pack(pack, {"mot-nang": (400, 0.1), "khong": (600, 0.1)})
    speech = Speech(tmp_path / "cache", pack_dir=pack)
    plain = duration(speech.audio("một không"))
    paused = duration(speech.audio("một, không."))
    assert paused - plain == pytest.approx(voice.PAUSE_SECONDS - voice.GAP_SECONDS, abs=0.002)


def test_a_pack_clip_of_another_rate_is_named(tmp_path):
    pack = tmp_path / "pack"
    make_pack(pack, A023)
    tone(pack / "muoi-ngang.wav", 700, 0.25, rate=22050)
    with pytest.raises(VoiceError, match=r"muoi-ngang\.wav.*22050 Hz.*16000 Hz"):
        Speech(tmp_path / "cache", pack_dir=pack).audio("a hai mươi ba")
    assert not any((tmp_path / "cache").glob("*"))


def test_pack_clips_must_be_16_bit_and_not_silent(tmp_path):
    pack = tmp_path / "pack"
    make_pack(pack, {"hai": (500, 0.1), "ba": (700, 0.1)}, width=1)
    with pytest.raises(VoiceError, match="16-bit"):
        Speech(tmp_path / "cache", pack_dir=pack).audio("hai ba")
    make_pack(pack, {"hai": (500, 0.1)})
    with wave.open(str(pack / "ba.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(3200))
    with pytest.raises(VoiceError, match=r"ba\.wav is silent"):
        Speech(tmp_path / "cache", pack_dir=pack).audio("hai ba")
    (pack / "ba.wav").write_bytes(b"not a wav")
    with pytest.raises(VoiceError, match=r"ba\.wav"):
        Speech(tmp_path / "cache", pack_dir=pack).audio("hai ba")


def test_a_stereo_pack_works_when_every_clip_is_stereo(tmp_path):
    pack = tmp_path / "pack"
    lengths = make_pack(pack, {"hai": (500, 0.1), "ba": (700, 0.2)}, channels=2, rate=22050)
    path = Speech(tmp_path / "cache", pack_dir=pack).audio("hai ba")
    info = check_wav(path)
    assert info.channels == 2 and info.rate == 22050
    expected = sum(lengths.values()) + 4 * voice.KEEP_SECONDS + voice.GAP_SECONDS
    assert info.duration == pytest.approx(expected, abs=0.01)


@needs_espeak
def test_a_pack_missing_a_word_falls_back_to_espeak(tmp_path, caplog):
    pack = tmp_path / "pack"
    make_pack(pack, {"hai": (500, 0.2), "ba": (700, 0.2)})
    espeak, log = spy_espeak(tmp_path)
    speech = Speech(tmp_path / "cache", pack_dir=pack, espeak=espeak)
    with caplog.at_level(logging.WARNING, logger="goiso.display"):
        path = speech.audio("a hai mươi ba")
    assert calls(log) == 1
    assert check_wav(path).rate == 22050  # espeak-ng's, not the pack's 16000
    assert "letter-a.wav" in caplog.text and "muoi-ngang.wav" in caplog.text
    assert "hai.wav" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="goiso.display"):
        speech.audio("hai ông ba")
    assert "ông (no clip name)" in caplog.text
    assert check_wav(speech.audio("hai ba")).rate == 16000  # the words it has: the pack


@needs_espeak
def test_a_pack_folder_switches_on_and_follows_new_recordings(tmp_path):
    pack = tmp_path / "pack"
    espeak, log = spy_espeak(tmp_path)
    speech = Speech(tmp_path / "cache", pack_dir=pack, espeak=espeak)
    before = speech.audio("a hai mươi ba")
    assert check_wav(before).rate == 22050 and calls(log) == 1
    make_pack(pack, A023)
    joined = speech.audio("a hai mươi ba")
    assert joined != before and check_wav(joined).rate == 16000 and calls(log) == 1
    assert speech.audio("a hai mươi ba") == joined
    tone(pack / "ba.wav", 900, 0.6)  # re-recorded, longer
    again = speech.audio("a hai mươi ba")
    assert again != joined
    assert duration(again) == pytest.approx(duration(joined) + 0.3, abs=0.01)


# --- the clip table --------------------------------------------------------------------------


def strip_marks(text: str) -> str:
    plain = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in plain if not unicodedata.combining(c)).replace(" ", "-")


def test_clip_names_are_unique_and_never_an_ambiguous_stripped_word():
    names = list(CLIPS.values())
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name) for name in names)
    assert all(words == unicodedata.normalize("NFC", words).lower() for words in CLIPS)
    by_stripped: dict[str, list[str]] = {}
    for words in CLIPS:
        by_stripped.setdefault(strip_marks(words), []).append(words)
    collisions = {plain: group for plain, group in by_stripped.items() if len(group) > 1}
    assert {"mot", "muoi"} <= set(collisions)
    for plain, group in collisions.items():
        assert plain not in names, (plain, group)
    assert CLIPS["một"] != CLIPS["mốt"] and CLIPS["mười"] != CLIPS["mươi"]


def test_every_spoken_word_has_a_clip_name():
    needed = set(LETTERS.values())
    for n in range(10000):
        for dialect in ("north", "south"):
            needed.update(spell(n, dialect=dialect, four="tư").split())
        needed.update(spell(n).split())
    needed.update(DEFAULT_TEMPLATE.lower().replace("{number}", "").replace("{counter}", "").split())
    assert needed <= set(CLIPS), needed - set(CLIPS)
    assert CLIPS["mời công dân có số thứ tự"] == "moi-cong-dan-co-so-thu-tu"
    assert CLIPS["đến quầy số"] == "den-quay-so"


def test_the_voice_pack_guide_lists_every_clip():
    guide = (ROOT / "docs" / "voice-pack.md").read_text()
    rows = re.findall(r"^\| `([a-z0-9-]+)\.wav` \|(?: [A-Z] \|)? ([^|(]+?) (?:\(|\|)",
                      guide, re.M)
    assert len(rows) == len(CLIPS)
    assert {name: words.lower() for name, words in rows} == {v: k for k, v in CLIPS.items()}
    assert "goiso announce 1023 3 --out test.wav" in guide


# --- the chime and WAV checks ----------------------------------------------------------------


def test_chime_is_a_valid_wav_of_about_point_nine_seconds(tmp_path):
    path = chime(tmp_path / "audio" / "chime.wav")
    info = check_wav(path)
    assert (info.channels, info.sample_width, info.rate) == (1, 2, 22050)
    assert info.duration == pytest.approx(0.9, abs=0.05)
    rate, data = samples_of(path)
    peak = max(map(abs, data))
    assert 10000 < peak < 32767
    assert abs(data[0]) < 500 and abs(data[-1]) < 100  # no click at either end
    # Two notes: the second starts loud again after the first has decayed.
    window = rate // 50
    energy = [max(map(abs, data[i:i + window])) for i in range(0, len(data) - window, window)]
    second = round(voice.CHIME_NOTES[1][0] * 50)
    assert energy[second + 1] > energy[second - 1] * 1.2
    mtime = path.stat().st_mtime_ns
    assert chime(path) == path and path.stat().st_mtime_ns == mtime
    path.write_bytes(path.read_bytes()[:1000])
    assert check_wav(chime(path)).frames == info.frames
    assert [p.name for p in path.parent.iterdir()] == ["chime.wav"]


def test_check_wav_refuses_damaged_files(tmp_path):
    good = tmp_path / "good.wav"
    tone(good, 440, 0.1)
    data = good.read_bytes()
    assert check_wav(good).frames == len(data[44:]) // 2
    cases = {
        "empty": b"",
        "not-riff": b"RIFX" + data[4:],
        "not-wave": data[:8] + b"AVI " + data[12:],
        "cut": data[:-10],
        "longer": data + b"\0\0",
        "no-data": struct.pack("<4sI4s", b"RIFF", 28, b"WAVE") + data[12:36],
        "odd-data": (struct.pack("<4sI", b"RIFF", len(data) - 8 + 1) + data[8:40]
                     + struct.pack("<I", len(data) - 44 + 1) + data[44:] + b"\0"),
        "float": data[:20] + struct.pack("<H", 3) + data[22:],
    }
    for name, content in cases.items():
        path = tmp_path / f"{name}.wav"
        path.write_bytes(content)
        with pytest.raises(VoiceError):
            check_wav(path)
        with pytest.raises(VoiceError):
            duration(path)
    with pytest.raises(VoiceError):
        check_wav(tmp_path / "absent.wav")


def test_duration(tmp_path):
    seconds = tone(tmp_path / "t.wav", 440, 0.5, lead=0.25, trail=0.25)
    assert seconds == 0.5
    assert duration(tmp_path / "t.wav") == pytest.approx(1.0)
    assert os.path.getsize(tmp_path / "t.wav") == 44 + 16000 * 2


def test_the_cache_locks_are_made_at_first_use_from_threading_as_it_is_then(monkeypatch,
                                                                              tmp_path):
    """Under ``goiso serve`` gevent patches ``threading`` after this module is imported; a lock
    made at import would be the OS's own and block the event loop's thread when a second
    greenlet waits for it (two boards asking for a call's audio hung the server)."""
    import threading

    from display import voice

    made = []

    class Cooperative:
        def __init__(self):
            made.append(self)

    monkeypatch.setattr(voice, "_locks", {})
    monkeypatch.setattr(threading, "Lock", Cooperative)
    first = voice._lock(tmp_path / "a.wav")
    assert isinstance(first, Cooperative) and voice._lock(tmp_path / "a.wav") is first
