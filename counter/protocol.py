"""The wire protocols of counter keypads, rating pads and LED number displays (pure, no I/O).

Two drivers share one interface (``docs/counter-protocol.md`` is the reference for the people
who build the devices):

* ``goiso`` (``GoisoProtocol``): binary frames ``STX ADDR CMD LEN DATA CHK ETX`` with an XOR
  checksum, for RS-232 or RS-485 multi-drop lines;
* ``ascii`` (``AsciiProtocol``): text lines such as ``K 5 17 N``, for cheap keypad boards and
  USB-serial adapters that can be set up to send a line per key.

Each protocol object is a stateful, incremental parser: ``feed()`` takes whatever bytes a read
returned (half a frame, several frames, noise) and gives back what was complete. Anything that
is not a valid frame comes out as ``Garbage`` with a reason and is never acted upon. Buffers
are bounded: a stream of noise never holds more than ``MAX_PENDING`` bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

STX = 0x02
ETX = 0x03
BROADCAST = 0  # host -> every device
MAX_ADDRESS = 247
MAX_DATA = 32  # LEN
MAX_FRAME = 4 + MAX_DATA + 2  # STX ADDR CMD LEN DATA CHK ETX
MAX_NAME = 16  # firmware name in a hello
MAX_CALL = MAX_DATA - 2  # characters after SEQ and 'C' in a key frame
MAX_TEXT = 8  # characters on an LED display
MAX_BRIGHTNESS = 7
MAX_LINE = 64  # ascii protocol: longest line kept
MAX_GARBAGE = 64  # bytes of a Garbage entry kept (the rest is counted in the reason)
MAX_PENDING = max(MAX_FRAME, MAX_LINE)

KEYS = "NRXFPC"  # the keypad's keys on the wire; what each does is hall/desk.py's
RATING_KEYS = "12345"  # 1 = the first (best) level of the rating pad
CALL = "C"
DEVICE_COMMANDS = ("K", "H")  # device -> host
HOST_COMMANDS = ("A", "D", "B")  # host -> device
DONE, REFUSED = "+", "-"


@dataclass(frozen=True)
class Frame:
    """One frame, whatever the protocol: ``command`` is one ASCII letter.

    For the host's frames, ``data`` is the same in both protocols: A = SEQ byte + b"+" or
    b"-"; D = the text (0-8 ASCII characters); B = one byte 0-7.
    """

    address: int
    command: str
    data: bytes = b""


@dataclass(frozen=True)
class KeyPress:
    """A key pressed on the device at ``address``; ``digits`` only with key 'C' (call)."""

    address: int
    seq: int
    key: str
    digits: str = ""


@dataclass(frozen=True)
class Hello:
    """A device announcing itself (power-up, then every 10 s)."""

    address: int
    name: str = ""


@dataclass(frozen=True)
class Garbage:
    """Bytes that were not a valid frame (at most ``MAX_GARBAGE`` of them kept)."""

    data: bytes
    reason: str

    @property
    def echo(self) -> bool:
        """A host frame read back (RS-485 adapters that hear themselves): not an error."""
        return self.reason.startswith("echo")


Event = KeyPress | Hello | Garbage


def garbage(data: bytes | bytearray, reason: str) -> Garbage:
    """A Garbage entry that keeps at most MAX_GARBAGE bytes of a long run of noise."""
    if len(data) > MAX_GARBAGE:
        return Garbage(bytes(data[:MAX_GARBAGE]), f"{reason} ({len(data)} bytes)")
    return Garbage(bytes(data), reason)


# -- validation shared by both protocols -------------------------------------------------------

def _printable(text: str) -> bool:
    return all(" " <= ch <= "~" for ch in text)


def check_address(address: int, *, broadcast: bool = False) -> int:
    low = BROADCAST if broadcast else 1
    if isinstance(address, bool) or not isinstance(address, int) or not (
            low <= address <= MAX_ADDRESS):
        raise ValueError(f"address must be {low}-{MAX_ADDRESS}, not {address!r}")
    return address


def check_seq(seq: int) -> int:
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= 255:
        raise ValueError(f"seq must be 0-255, not {seq!r}")
    return seq


def check_text(text: str) -> str:
    """Display text: printable ASCII, at most 8 characters ("" blanks the display)."""
    if not isinstance(text, str):
        raise ValueError(f"display text must be a str, not {type(text).__name__}")
    if len(text) > MAX_TEXT:
        raise ValueError(f"display text is at most {MAX_TEXT} characters: {text!r}")
    if not _printable(text):
        raise ValueError(f"display text must be printable ASCII: {text!r}")
    return text


def check_level(level: int) -> int:
    if isinstance(level, bool) or not isinstance(level, int) or not (
            0 <= level <= MAX_BRIGHTNESS):
        raise ValueError(f"brightness must be 0-{MAX_BRIGHTNESS}, not {level!r}")
    return level


def check_key(key: str, digits: str = "") -> tuple[str, str]:
    if not isinstance(key, str) or len(key) != 1 or (key not in KEYS and key not in RATING_KEYS):
        raise ValueError(f"unknown key {key!r}")
    if key != CALL and digits:
        raise ValueError(f"key {key!r} takes no digits")
    if len(digits) > MAX_CALL or not (digits.isascii() and (digits.isalnum() or not digits)):
        raise ValueError(f"a number to call is 1-{MAX_CALL} ASCII letters and digits: {digits!r}")
    return key, digits.upper()


def check_name(name: str) -> str:
    if len(name) > MAX_NAME or not _printable(name):
        raise ValueError(f"a firmware name is at most {MAX_NAME} printable ASCII: {name!r}")
    return name


def _key_event(address: int, seq: int, key: str, digits: str) -> KeyPress | str:
    """A KeyPress, or why not (for the decoders)."""
    if not 1 <= address <= MAX_ADDRESS:
        return f"bad device address {address}"
    if key not in KEYS and key not in RATING_KEYS:
        return f"unknown key {key!r}"
    if key != CALL and digits:
        return f"key {key!r} takes no digits"
    if len(digits) > MAX_CALL or not (digits.isascii() and digits.isalnum() or not digits):
        return f"bad number to call {digits!r}"
    return KeyPress(address, seq, key, digits.upper())


def _hello_event(address: int, name: str) -> Hello | str:
    if not 1 <= address <= MAX_ADDRESS:
        return f"bad device address {address}"
    if len(name) > MAX_NAME or not _printable(name):
        return "bad firmware name"
    return Hello(address, name)


def _host_frame(frame: Frame) -> Frame | str:
    """Check a host frame's payload (for device simulators)."""
    address, command, data = frame.address, frame.command, frame.data
    if address > MAX_ADDRESS:
        return f"bad address {address}"
    if command == "A":
        if address == BROADCAST:
            return "ack to the broadcast address"
        if len(data) != 2 or data[1:] not in (b"+", b"-"):
            return "bad ack"
    elif command == "D":
        if len(data) > MAX_TEXT or not all(0x20 <= b <= 0x7E for b in data):
            return "bad display text"
    elif command == "B" and (len(data) != 1 or data[0] > MAX_BRIGHTNESS):
        return "bad brightness"
    return frame


# -- goiso: binary frames ----------------------------------------------------------------------

def checksum(address: int, command: str | int, data: bytes = b"") -> int:
    """XOR of ADDR, CMD, LEN and every DATA byte."""
    value = address ^ (ord(command) if isinstance(command, str) else command) ^ len(data)
    for byte in data:
        value ^= byte
    return value


def encode_frame(address: int, command: str, data: bytes = b"") -> bytes:
    """``STX ADDR CMD LEN DATA CHK ETX`` (no check of the meaning, only of the sizes)."""
    if not 0 <= address <= 255:
        raise ValueError(f"address must fit a byte, not {address}")
    if len(command) != 1 or not command.isascii():
        raise ValueError(f"a command is one ASCII letter, not {command!r}")
    if len(data) > MAX_DATA:
        raise ValueError(f"at most {MAX_DATA} data bytes, not {len(data)}")
    return bytes([STX, address, ord(command), len(data), *data,
                  checksum(address, command, data), ETX])


class FrameReader:
    """Incremental parser of ``goiso`` frames: bytes in, ``Frame`` or ``Garbage`` out.

    It resynchronises on the next STX after anything that is not a frame, so noise, a frame cut
    short or a corrupted one never swallows the good frame that follows. Frames with any ASCII
    letter as command come out; what they mean is the caller's business.
    """

    def __init__(self) -> None:
        self._buf = b""

    @property
    def buffered(self) -> int:
        """Bytes held (the start of a frame not yet complete)."""
        return len(self._buf)

    def feed(self, data: bytes) -> list[Frame | Garbage]:
        buf = self._buf + bytes(data)
        out: list[Frame | Garbage] = []
        i, n = 0, len(buf)
        while i < n:
            if buf[i] != STX:
                j = buf.find(STX, i)
                j = n if j < 0 else j
                out.append(garbage(buf[i:j], "noise"))
                i = j
                continue
            if n - i < 4:
                break  # wait for the header
            address, command, length = buf[i + 1], buf[i + 2], buf[i + 3]
            problem = None
            if length > MAX_DATA:
                problem = f"LEN {length} > {MAX_DATA}"
            elif not (0x41 <= command <= 0x5A or 0x61 <= command <= 0x7A):
                problem = f"unknown command 0x{command:02x}"
            else:
                end = i + 4 + length + 2
                if end > n:
                    break  # wait for the rest
                body = buf[i + 4:i + 4 + length]
                if buf[end - 1] != ETX:
                    problem = "missing ETX"
                elif buf[end - 2] != checksum(address, command, body):
                    problem = (f"bad checksum 0x{buf[end - 2]:02x}, expected "
                               f"0x{checksum(address, command, body):02x}")
                else:
                    out.append(Frame(address, chr(command), body))
                    i = end
                    continue
            # Not a frame: drop up to the next STX (which may lie inside this "frame").
            j = buf.find(STX, i + 1)
            j = n if j < 0 else j
            out.append(garbage(buf[i:j], problem))
            i = j
        self._buf = buf[i:]
        return out

    def flush(self) -> list[Garbage]:
        """Drop a frame left incomplete (the line went quiet in the middle of it)."""
        if not self._buf:
            return []
        held, self._buf = self._buf, b""
        return [garbage(held, "truncated frame")]


class GoisoProtocol:
    """The ``goiso`` v1 binary protocol (see docs/counter-protocol.md)."""

    name = "goiso"

    def __init__(self) -> None:
        self._devices = FrameReader()  # what devices send (read by the host)
        self._host = FrameReader()  # what the host sends (read by simulated devices)

    @property
    def buffered(self) -> int:
        return self._devices.buffered + self._host.buffered

    # -- the host side ---------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Event]:
        """Parse bytes from the devices: key presses, hellos, garbage."""
        return [self._event(item) for item in self._devices.feed(data)]

    def flush(self) -> list[Event]:
        """The line went quiet: an incomplete frame is dropped (as garbage)."""
        return list(self._devices.flush())

    @staticmethod
    def _event(item: Frame | Garbage) -> Event:
        if isinstance(item, Garbage):
            return item
        raw = encode_frame(item.address, item.command, item.data)
        data = item.data
        if item.command == "K":
            if len(data) < 2:
                return garbage(raw, "key frame too short")
            try:
                digits = data[2:].decode("ascii")
            except UnicodeDecodeError:
                return garbage(raw, "bad number to call")
            event = _key_event(item.address, data[0], chr(data[1]), digits)
        elif item.command == "H":
            try:
                event = _hello_event(item.address, data.decode("ascii"))
            except UnicodeDecodeError:
                event = "bad firmware name"
        elif item.command in HOST_COMMANDS:
            return garbage(raw, f"echo of a host frame {item.command!r}")
        else:
            return garbage(raw, f"unknown command {item.command!r}")
        return garbage(raw, event) if isinstance(event, str) else event

    def ack(self, address: int, seq: int, ok: bool) -> bytes:
        check_address(address)
        return encode_frame(address, "A", bytes([check_seq(seq), ord(DONE if ok else REFUSED)]))

    def display(self, address: int, text: str) -> bytes:
        check_address(address, broadcast=True)
        return encode_frame(address, "D", check_text(text).encode("ascii"))

    def brightness(self, address: int, level: int) -> bytes:
        check_address(address, broadcast=True)
        return encode_frame(address, "B", bytes([check_level(level)]))

    # -- the device side (simulators, tests) -----------------------------------------------

    def key(self, address: int, seq: int, key: str, digits: str = "") -> bytes:
        check_address(address)
        key, digits = check_key(key, digits)
        return encode_frame(address, "K", bytes([check_seq(seq), ord(key)]) + digits.encode())

    def hello(self, address: int, name: str = "") -> bytes:
        check_address(address)
        return encode_frame(address, "H", check_name(name).encode("ascii"))

    def feed_host(self, data: bytes) -> list[Frame | Garbage]:
        """Parse bytes from the host (incremental): A, D and B frames as ``Frame``."""
        out: list[Frame | Garbage] = []
        for item in self._host.feed(data):
            if isinstance(item, Frame):
                raw = encode_frame(item.address, item.command, item.data)
                if item.command in DEVICE_COMMANDS:
                    item = garbage(raw, f"echo of a device frame {item.command!r}")
                elif item.command not in HOST_COMMANDS:
                    item = garbage(raw, f"unknown command {item.command!r}")
                else:
                    checked = _host_frame(item)
                    item = garbage(raw, checked) if isinstance(checked, str) else checked
            out.append(item)
        return out

    def decode_host(self, data: bytes) -> list[Frame | Garbage]:
        """Parse a complete capture of host bytes in one go (a fresh parser)."""
        reader = GoisoProtocol()
        return reader.feed_host(data) + list(reader._host.flush())


# -- ascii: text lines -------------------------------------------------------------------------

def _number(text: str, low: int, high: int) -> int | None:
    if not (text.isascii() and text.isdigit()) or len(text) > 3:
        return None
    value = int(text)
    return value if low <= value <= high else None


class LineReader:
    """Incremental splitter of LF-terminated lines (CR LF too), bounded to MAX_LINE bytes.

    Control or non-ASCII bytes at the start of a line (a power-up glitch) are split off as
    noise; a line longer than MAX_LINE is dropped whole.
    """

    def __init__(self) -> None:
        self._buf = b""
        self._skipped = 0  # > 0: inside an overlong line, dropping up to its LF

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[str | Garbage]:
        out: list[str | Garbage] = []
        buf = self._buf + bytes(data)
        start = 0
        while True:
            end = buf.find(b"\n", start)
            if end < 0:
                break
            line = buf[start:end]
            start = end + 1
            if self._skipped:
                out.append(Garbage(line[:MAX_GARBAGE],
                                   f"end of a line too long ({self._skipped + len(line)} bytes)"))
                self._skipped = 0
                continue
            out.extend(self._line(line))
        rest = buf[start:]
        if self._skipped or len(rest) > MAX_LINE:
            if not self._skipped:
                out.append(garbage(rest, "line too long"))
            self._skipped += len(rest)
            rest = b""
        self._buf = rest
        return out

    @staticmethod
    def _line(line: bytes) -> list[str | Garbage]:
        if len(line) > MAX_LINE:
            return [garbage(line, "line too long")]
        line = line.removesuffix(b"\r")
        lead = 0
        while lead < len(line) and not 0x20 <= line[lead] <= 0x7E:
            lead += 1
        out: list[str | Garbage] = []
        if lead:
            out.append(garbage(line[:lead], "noise"))
            line = line[lead:]
        if not line.strip():
            return out  # blank lines are allowed (and noise alone was reported)
        if not all(0x20 <= b <= 0x7E or b == 0x09 for b in line):
            out.append(garbage(line, "not ASCII text"))
        else:
            out.append(line.decode("ascii"))
        return out

    def flush(self) -> list[Garbage]:
        """A line ends only at its LF: a partial line is kept (nothing to drop)."""
        return []


class AsciiProtocol:
    """The ``ascii`` line protocol: ``K <addr> <seq> <key>[<digits>]``, ``H <addr> [name]``
    from the devices; ``A <addr> <seq> <+|->``, ``D <addr> <text>``, ``B <addr> <n>`` from
    the host; decimal numbers, lines ending in LF or CR LF."""

    name = "ascii"
    EOL = b"\r\n"

    def __init__(self) -> None:
        self._devices = LineReader()
        self._host = LineReader()

    @property
    def buffered(self) -> int:
        return self._devices.buffered + self._host.buffered

    # -- the host side ---------------------------------------------------------------------

    def feed(self, data: bytes) -> list[Event]:
        out: list[Event] = []
        for item in self._devices.feed(data):
            out.append(item if isinstance(item, Garbage) else self._event(item))
        return out

    def flush(self) -> list[Event]:
        return list(self._devices.flush())

    @staticmethod
    def _event(line: str) -> Event:
        raw = line.encode("ascii")
        parts = line.split()
        command = parts[0]
        event: KeyPress | Hello | str
        if command == "K":
            if len(parts) != 4:
                return garbage(raw, "malformed key line")
            address = _number(parts[1], 1, MAX_ADDRESS)
            seq = _number(parts[2], 0, 255)
            if address is None or seq is None:
                return garbage(raw, "bad address or seq")
            event = _key_event(address, seq, parts[3][0], parts[3][1:])
        elif command == "H":
            head = line.split(None, 2)
            address = _number(head[1], 1, MAX_ADDRESS) if len(head) > 1 else None
            if address is None:
                return garbage(raw, "bad address")
            event = _hello_event(address, head[2].strip() if len(head) > 2 else "")
        elif command in HOST_COMMANDS:
            return garbage(raw, f"echo of a host line {command!r}")
        else:
            return garbage(raw, f"unknown line {command[:8]!r}")
        return garbage(raw, event) if isinstance(event, str) else event

    def ack(self, address: int, seq: int, ok: bool) -> bytes:
        check_address(address)
        check_seq(seq)
        return f"A {address} {seq} {DONE if ok else REFUSED}".encode() + self.EOL

    def display(self, address: int, text: str) -> bytes:
        check_address(address, broadcast=True)
        return f"D {address} {check_text(text)}".encode("ascii") + self.EOL

    def brightness(self, address: int, level: int) -> bytes:
        check_address(address, broadcast=True)
        return f"B {address} {check_level(level)}".encode() + self.EOL

    # -- the device side (simulators, tests) -----------------------------------------------

    def key(self, address: int, seq: int, key: str, digits: str = "") -> bytes:
        check_address(address)
        check_seq(seq)
        key, digits = check_key(key, digits)
        return f"K {address} {seq} {key}{digits}".encode() + self.EOL

    def hello(self, address: int, name: str = "") -> bytes:
        check_address(address)
        name = check_name(name).strip()
        return (f"H {address} {name}" if name else f"H {address}").encode() + self.EOL

    def feed_host(self, data: bytes) -> list[Frame | Garbage]:
        """Parse the host's lines (incremental) into the same ``Frame`` objects as goiso."""
        out: list[Frame | Garbage] = []
        for item in self._host.feed(data):
            out.append(item if isinstance(item, Garbage) else self._host_line(item))
        return out

    def decode_host(self, data: bytes) -> list[Frame | Garbage]:
        return AsciiProtocol().feed_host(data)

    @staticmethod
    def _host_line(line: str) -> Frame | Garbage:
        raw = line.encode("ascii")
        command, _, rest = line.partition(" ")
        if command == "D":  # the text is everything after "D <addr> ", spaces included
            addr_text, _, text = rest.partition(" ")
            address = _number(addr_text, 0, MAX_ADDRESS)
            frame: Frame | str = ("bad address" if address is None else
                                  _host_frame(Frame(address, "D", text.encode("ascii"))))
        elif command in ("A", "B"):
            parts = rest.split()
            address = _number(parts[0], 0, MAX_ADDRESS) if parts else None
            if address is None:
                frame = "bad address"
            elif command == "A" and len(parts) == 3 and parts[2] in (DONE, REFUSED):
                seq = _number(parts[1], 0, 255)
                frame = ("bad seq" if seq is None else
                         _host_frame(Frame(address, "A", bytes([seq]) + parts[2].encode())))
            elif command == "B" and len(parts) == 2:
                level = _number(parts[1], 0, 255)
                frame = ("bad level" if level is None else
                         _host_frame(Frame(address, "B", bytes([level]))))
            else:
                frame = f"malformed {command} line"
        elif command in DEVICE_COMMANDS:
            frame = f"echo of a device line {command!r}"
        else:
            frame = f"unknown line {command[:8]!r}"
        return garbage(raw, frame) if isinstance(frame, str) else frame


PROTOCOLS: dict[str, type[GoisoProtocol] | type[AsciiProtocol]] = {
    "goiso": GoisoProtocol, "ascii": AsciiProtocol}


def host_reply(frame: Frame) -> tuple[str, object]:
    """What a host frame says, for simulators: ('ack', (seq, '+'|'-')), ('display', text) or
    ('brightness', level)."""
    if frame.command == "A":
        return "ack", (frame.data[0], chr(frame.data[1]))
    if frame.command == "D":
        return "display", frame.data.decode("ascii")
    if frame.command == "B":
        return "brightness", frame.data[0]
    raise ValueError(f"not a host frame: {frame.command!r}")
