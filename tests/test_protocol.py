"""counter.protocol: the goiso frames and the ascii lines, both ways, and what is not a frame."""

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from counter.protocol import (
    ETX,
    KEYS,
    MAX_GARBAGE,
    MAX_PENDING,
    PROTOCOLS,
    RATING_KEYS,
    STX,
    AsciiProtocol,
    Frame,
    Garbage,
    GoisoProtocol,
    Hello,
    KeyPress,
    checksum,
    encode_frame,
    host_reply,
)

ALL_KEYS = [*KEYS, *RATING_KEYS]
DOC = Path(__file__).resolve().parent.parent / "docs" / "counter-protocol.md"


def goods(events):
    return [e for e in events if not isinstance(e, Garbage)]


def bad(events):
    return [e for e in events if isinstance(e, Garbage)]


# -- goiso: the bytes ----------------------------------------------------------------------------

def test_the_worked_example_of_the_doc():
    # docs/counter-protocol.md: keypad 5 calls number 1023, SEQ 17.
    frame = bytes.fromhex("02 05 4B 06 11 43 31 30 32 33 1A 03")
    assert checksum(0x05, "K", bytes.fromhex("11 43 31 30 32 33")) == 0x1A
    assert GoisoProtocol().key(5, 17, "C", "1023") == frame
    assert GoisoProtocol().feed(frame) == [KeyPress(5, 17, "C", "1023")]


def test_the_other_examples_of_the_doc():
    p = GoisoProtocol()
    assert p.key(5, 1, "N") == bytes.fromhex("02 05 4B 02 01 4E 03 03")  # CHK = 0x03, like ETX
    assert p.key(9, 200, "1") == bytes.fromhex("02 09 4B 02 C8 31 B9 03")
    assert p.hello(5, "kp-1.0") == bytes.fromhex("02 05 48 06 6B 70 2D 31 2E 30 52 03")
    assert p.hello(5) == bytes.fromhex("02 05 48 00 4D 03")
    assert p.ack(5, 17, True) == bytes.fromhex("02 05 41 02 11 2B 7C 03")
    assert p.ack(5, 17, False) == bytes.fromhex("02 05 41 02 11 2D 7A 03")
    assert p.display(5, "A1023") == bytes.fromhex("02 05 44 05 41 31 30 32 33 05 03")
    assert p.display(5, "----") == bytes.fromhex("02 05 44 04 2D 2D 2D 2D 45 03")
    assert p.display(5, "") == bytes.fromhex("02 05 44 00 41 03")
    assert p.brightness(0, 7) == bytes.fromhex("02 00 42 01 07 44 03")


def test_every_frame_written_in_the_doc_is_valid():
    text = DOC.read_text()
    frames = re.findall(r"`(02(?: [0-9A-F]{2}){5,})`", text)
    assert len(frames) >= 20
    for hexes in frames:
        data = bytes.fromhex(hexes)
        events = GoisoProtocol().feed(data)
        if len(events) == 1 and isinstance(events[0], Garbage) and events[0].echo:
            events = GoisoProtocol().feed_host(data)  # a host frame
        assert len(events) == 1 and not isinstance(events[0], Garbage), (hexes, events)
        event = events[0]
        if isinstance(event, KeyPress):
            assert GoisoProtocol().key(event.address, event.seq, event.key, event.digits) == data
    examples = text.split("Examples:\n\n```\n", 1)[1].split("```", 1)[0]
    for line in examples.splitlines():
        message = re.split(r"\s{2,}", line)[0].encode() + b"\r\n"
        events = AsciiProtocol().feed(message)
        if "(host)" in line:
            events = AsciiProtocol().feed_host(message)
        assert len(events) == 1 and not isinstance(events[0], Garbage), (line, events)


@pytest.mark.parametrize("key", ALL_KEYS)
def test_every_key_round_trips(key):
    digits = "B012" if key == "C" else ""
    p = GoisoProtocol()
    assert p.feed(p.key(247, 255, key, digits)) == [KeyPress(247, 255, key, digits)]


def test_hello_round_trips():
    p = GoisoProtocol()
    assert p.feed(p.hello(3) + p.hello(4, "x" * 16)) == [Hello(3), Hello(4, "x" * 16)]


def test_host_frames_round_trip():
    p = GoisoProtocol()
    data = p.ack(5, 0, True) + p.ack(6, 255, False) + p.display(5, "A1023") + \
        p.display(0, "") + p.display(7, " 12 ") + p.brightness(5, 0) + p.brightness(0, 7)
    frames = p.decode_host(data)
    assert frames == [Frame(5, "A", b"\x00+"), Frame(6, "A", b"\xff-"), Frame(5, "D", b"A1023"),
                      Frame(0, "D", b""), Frame(7, "D", b" 12 "), Frame(5, "B", b"\x00"),
                      Frame(0, "B", b"\x07")]
    assert [host_reply(f) for f in frames] == [
        ("ack", (0, "+")), ("ack", (255, "-")), ("display", "A1023"), ("display", ""),
        ("display", " 12 "), ("brightness", 0), ("brightness", 7)]
    assert p.feed_host(data[:5]) == [] and len(p.feed_host(data[5:])) == 7  # incremental


def test_a_frame_split_byte_by_byte():
    p = GoisoProtocol()
    data = p.key(5, 17, "C", "1023") + p.hello(6, "fw")
    out = []
    for i in range(len(data)):
        out += p.feed(data[i:i + 1])
    assert out == [KeyPress(5, 17, "C", "1023"), Hello(6, "fw")]
    assert p.buffered == 0


def test_many_frames_in_one_read():
    p = GoisoProtocol()
    presses = [KeyPress(a, s, k) for a in (1, 2, 3) for s in (0, 2, 3) for k in "NRXFP12345"]
    data = b"".join(p.key(x.address, x.seq, x.key) for x in presses)
    assert p.feed(data) == presses


def test_noise_before_between_and_after():
    p = GoisoProtocol()
    one, two = p.key(2, 2, "N"), p.key(3, 3, "R")  # address 2 and seq 2 are STX bytes
    events = p.feed(b"\x00\xffhello" + one + b"\x03\x03junk" + two + b"\x7f\x80")
    assert goods(events) == [KeyPress(2, 2, "N"), KeyPress(3, 3, "R")]
    assert [g.reason for g in bad(events)] == ["noise", "noise", "noise"]
    assert [g.data for g in bad(events)] == [b"\x00\xffhello", b"\x03\x03junk", b"\x7f\x80"]


@pytest.mark.parametrize("broken, reason", [
    (bytes.fromhex("02 05 4B 02 01 4E 04 03"), "bad checksum 0x04, expected 0x03"),
    (bytes.fromhex("02 05 4B 02 01 4E 03 04"), "missing ETX"),
    (bytes([STX, 5, ord("K"), 33]) + bytes(33) + b"\x00\x03", "LEN 33 > 32"),
    (encode_frame(5, "Z", b"\x01"), "unknown command 'Z'"),
    (encode_frame(5, "k", b"\x01N"), "unknown command 'k'"),
    (bytes.fromhex("02 05 05 00 00 03"), "unknown command 0x05"),
    (encode_frame(5, "K", b"\x01"), "key frame too short"),
    (encode_frame(5, "K", b"\x01Q"), "unknown key 'Q'"),
    (encode_frame(5, "K", b"\x01N12"), "key 'N' takes no digits"),
    (encode_frame(5, "K", b"\x01C1-2"), "bad number to call '1-2'"),
    (encode_frame(5, "K", b"\x01C\xff"), "bad number to call"),
    (encode_frame(0, "K", b"\x01N"), "bad device address 0"),
    (encode_frame(248, "K", b"\x01N"), "bad device address 248"),
    (encode_frame(5, "H", b"\x01\x02"), "bad firmware name"),
    (encode_frame(5, "H", b"x" * 17), "bad firmware name"),
    (encode_frame(5, "D", b"12"), "echo of a host frame 'D'"),
])
def test_a_bad_frame_is_garbage_and_the_next_one_is_read(broken, reason):
    p = GoisoProtocol()
    good = p.key(5, 1, "N")
    events = p.feed(broken + good)
    assert events[-1] == KeyPress(5, 1, "N")
    assert all(isinstance(e, Garbage) for e in events[:-1]) and events[0].reason == reason
    assert broken.startswith(events[0].data)  # up to the next STX (here and there LEN = 2)
    assert events[0].echo is reason.startswith("echo")


@pytest.mark.parametrize("cut", range(1, 12))
def test_a_truncated_frame_followed_by_a_good_one(cut):
    p = GoisoProtocol()
    truncated = p.key(5, 17, "C", "1023")[:cut]
    good = p.key(5, 18, "N")
    events = p.feed(truncated + good)
    if goods(events) != [KeyPress(5, 18, "N")]:  # the cut frame's LEN is waiting for more
        events += p.flush()  # the line went quiet: the host drops what it holds
        events += p.feed(good)  # and the device's retry gets through
    assert goods(events) == [KeyPress(5, 18, "N")]
    assert bad(events)


def test_a_long_truncated_header_waits_then_flush_drops_it():
    p = GoisoProtocol()
    assert p.feed(bytes([STX, 5, ord("K"), 32])) == []
    assert p.flush() == [Garbage(bytes([STX, 5, ord("K"), 32]), "truncated frame")]
    assert p.flush() == []
    assert p.feed(p.key(5, 1, "N")) == [KeyPress(5, 1, "N")]


def test_buffers_stay_small_under_a_flood_of_noise():
    p = GoisoProtocol()
    events = p.feed(bytes(range(4, 256)) * 4000)  # no STX: one garbage entry, bytes cut short
    assert len(events) == 1 and len(events[0].data) == MAX_GARBAGE
    assert events[0].reason == f"noise ({252 * 4000} bytes)"
    assert p.buffered == 0
    stx_noise = bytes([STX, 5, ord("K"), 20]) * 1000
    p.feed(stx_noise)
    assert p.buffered <= MAX_PENDING
    a = AsciiProtocol()
    a.feed(b"x" * 100_000)
    assert a.buffered <= MAX_PENDING
    assert a.feed(b"more\nK 5 1 N\n")[-1] == KeyPress(5, 1, "N")


def test_encoders_refuse_what_a_device_cannot_show_or_send():
    for proto in (GoisoProtocol(), AsciiProtocol()):
        for text in ("123456789", "Số 12", "A\n1", "\x02", 12):
            with pytest.raises(ValueError):
                proto.display(5, text)
        assert proto.display(5, "12345678")
        for args in ((0, 1, True), (248, 1, True), (5, 256, True), (5, -1, True)):
            with pytest.raises(ValueError):
                proto.ack(*args)
        with pytest.raises(ValueError):
            proto.brightness(5, 8)
        with pytest.raises(ValueError):
            proto.display(248, "1")
        for key, digits in (("Q", ""), ("N", "12"), ("C", "1 2"), ("C", "1" * 31), ("NN", "")):
            with pytest.raises(ValueError):
                proto.key(5, 1, key, digits)
        with pytest.raises(ValueError):
            proto.hello(5, "x" * 17)


def test_a_call_number_is_upper_case():
    for proto in (GoisoProtocol(), AsciiProtocol()):
        assert proto.feed(proto.key(5, 1, "C", "b012")) == [KeyPress(5, 1, "C", "B012")]


def test_protocols_by_name():
    assert set(PROTOCOLS) == {"goiso", "ascii"}
    assert all(PROTOCOLS[name].name == name for name in PROTOCOLS)


# -- ascii lines ---------------------------------------------------------------------------------

def test_ascii_bytes():
    a = AsciiProtocol()
    assert a.key(5, 17, "C", "1023") == b"K 5 17 C1023\r\n"
    assert a.key(9, 3, "1") == b"K 9 3 1\r\n"
    assert a.hello(5, "kp-1.0") == b"H 5 kp-1.0\r\n" and a.hello(5) == b"H 5\r\n"
    assert a.ack(5, 17, True) == b"A 5 17 +\r\n" and a.ack(5, 17, False) == b"A 5 17 -\r\n"
    assert a.display(5, "A1023") == b"D 5 A1023\r\n" and a.display(5, "") == b"D 5 \r\n"
    assert a.brightness(0, 3) == b"B 0 3\r\n"


@pytest.mark.parametrize("key", ALL_KEYS)
def test_ascii_keys_round_trip(key):
    a = AsciiProtocol()
    digits = "A001" if key == "C" else ""
    assert a.feed(a.key(12, 200, key, digits)) == [KeyPress(12, 200, key, digits)]


def test_ascii_lines_with_lf_cr_lf_blanks_tabs_and_split_reads():
    a = AsciiProtocol()
    data = b"K 5 1 N\n\r\n\nK\t5  2 R\r\nH 7 my pad \r\nH 8\n"
    out = []
    for i in range(len(data)):
        out += a.feed(data[i:i + 1])
    assert out == [KeyPress(5, 1, "N"), KeyPress(5, 2, "R"), Hello(7, "my pad"), Hello(8)]


def test_ascii_host_lines_round_trip():
    a = AsciiProtocol()
    data = a.ack(5, 0, True) + a.ack(6, 255, False) + a.display(5, "A1023") + \
        a.display(0, "") + a.display(7, " 12 ") + a.brightness(5, 0) + b"D 3\n"
    assert a.decode_host(data) == [
        Frame(5, "A", b"\x00+"), Frame(6, "A", b"\xff-"), Frame(5, "D", b"A1023"),
        Frame(0, "D", b""), Frame(7, "D", b" 12 "), Frame(5, "B", b"\x00"), Frame(3, "D", b"")]


@pytest.mark.parametrize("line, reason", [
    (b"K 5 1", "malformed key line"),
    (b"K 5 1 N extra", "malformed key line"),
    (b"K x 1 N", "bad address or seq"),
    (b"K 0 1 N", "bad address or seq"),
    (b"K 248 1 N", "bad address or seq"),
    (b"K 5 256 N", "bad address or seq"),
    (b"K 5 -1 N", "bad address or seq"),
    (b"K 5 1 Q", "unknown key 'Q'"),
    (b"K 5 1 N7", "key 'N' takes no digits"),
    (b"K 5 1 C1.5", "bad number to call '1.5'"),
    (b"H", "bad address"),
    (b"H five", "bad address"),
    (b"H 5 " + b"x" * 17, "bad firmware name"),
    (b"k 5 1 N", "unknown line 'k'"),
    (b"hello world", "unknown line 'hello'"),
    ("K 5 1 Ñ".encode(), "not ASCII text"),
    (b"D 5 12", "echo of a host line 'D'"),
    (b"x" * 70, "line too long"),
])
def test_ascii_malformed_lines_are_garbage(line, reason):
    a = AsciiProtocol()
    events = a.feed(line + b"\r\nK 5 9 F\n")
    assert events[-1] == KeyPress(5, 9, "F")
    assert len(events) == 2 and events[0].reason.startswith(reason)


def test_ascii_noise_before_a_line_is_split_off():
    a = AsciiProtocol()
    assert a.feed(b"\x00\xffK 5 1 N\n") == [Garbage(b"\x00\xff", "noise"), KeyPress(5, 1, "N")]


def test_ascii_an_overlong_line_across_reads_is_dropped_whole():
    a = AsciiProtocol()
    events = a.feed(b"y" * 50) + a.feed(b"y" * 50) + a.feed(b"y" * 50) + a.feed(b"\nK 5 1 N\n")
    assert goods(events) == [KeyPress(5, 1, "N")]
    assert [g.reason for g in bad(events)] == ["line too long (100 bytes)",
                                               "end of a line too long (150 bytes)"]


@pytest.mark.parametrize("line", [b"A 5 1", b"A 0 1 +", b"A 5 1 *", b"B 5 8", b"B 5",
                                  b"D x 12", b"D 5 123456789", b"K 5 1 N", b"Z 1"])
def test_ascii_malformed_host_lines_are_garbage(line):
    assert all(isinstance(e, Garbage) for e in AsciiProtocol().decode_host(line + b"\n"))


# -- hypothesis: noise never becomes a key press ---------------------------------------------------

PRESSES = st.builds(KeyPress, st.integers(1, 247), st.integers(0, 255),
                    st.sampled_from([k for k in ALL_KEYS if k != "C"]))
NO_STX = st.binary(max_size=40).map(lambda b: b.replace(bytes([STX]), b""))


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.tuples(NO_STX, PRESSES), max_size=12), NO_STX, st.integers(1, 17))
def test_real_frames_among_noise_without_stx_come_out_exactly(pairs, tail, chunk):
    p = GoisoProtocol()
    data = b"".join(noise + p.key(k.address, k.seq, k.key) for noise, k in pairs) + tail
    events = []
    for i in range(0, len(data), chunk):
        events += p.feed(data[i:i + chunk])
        assert p.buffered <= MAX_PENDING
    events += p.flush()
    assert [e for e in events if isinstance(e, KeyPress)] == [k for _, k in pairs]


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(st.one_of(st.binary(max_size=50), st.sampled_from(
    [bytes([STX]), bytes([STX, 5, ord("K")]), bytes([ETX]), bytes([STX, 5, ord("K"), 2])])),
    max_size=30))
def test_random_noise_with_stx_never_raises_nor_invents_a_key(chunks):
    data = b"".join(chunks)
    for proto in (GoisoProtocol(), AsciiProtocol()):
        events = []
        for chunk in chunks:
            events += proto.feed(chunk)
            assert proto.buffered <= MAX_PENDING
        events += proto.flush()
        for event in events:
            if isinstance(event, Garbage):
                assert len(event.data) <= MAX_GARBAGE
            elif isinstance(event, KeyPress) and proto.name == "goiso":
                # only a whole, checksummed frame that is in the input
                assert proto.key(event.address, event.seq, event.key, event.digits) in data


@settings(max_examples=200, deadline=None, database=None)
@given(st.binary(max_size=200))
def test_random_host_bytes_never_raise(data):
    for proto in (GoisoProtocol(), AsciiProtocol()):
        for item in proto.feed_host(data):
            if isinstance(item, Frame):
                host_reply(item)
