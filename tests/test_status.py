"""printer.status.read on the bytes real printers send back for DLE EOT 1-4."""

import pytest

from printer import status
from printer.status import PrinterStatus, read, valid
from tests.fakeprinter import PrinterState, status_byte

EXPECTED = {
    PrinterState.READY: (status.READY, True),
    PrinterState.PAPER_LOW: (status.PAPER_LOW, True),
    PrinterState.PAPER_OUT: (status.PAPER_OUT, False),
    PrinterState.COVER_OPEN: (status.COVER_OPEN, False),
    PrinterState.OFFLINE: (status.OFFLINE, False),
    PrinterState.ERROR: (status.ERROR, False),
    PrinterState.SILENT: (status.NO_ANSWER, False),
}


def printer_in(state, asked: list[int] | None = None):
    """A query function answering as a printer in ``state`` does."""
    def query(n: int) -> int | None:
        if asked is not None:
            asked.append(n)
        return status_byte(state, n)
    return query


def answering(replies: dict[int, int | None]):
    return lambda n: replies.get(n)


@pytest.mark.parametrize("state", list(PrinterState))
def test_every_state_reads_right(state):
    reading = read(printer_in(state))
    want, ready = EXPECTED[state]
    assert reading.state == want
    assert reading.ready is ready
    assert reading.words == status.WORDS[want]


def test_questions_asked():
    asked: list[int] = []
    read(printer_in("ready", asked))
    assert asked == [1, 4]  # online: then the paper sensor
    asked.clear()
    read(printer_in("error", asked))
    assert asked == [1, 2, 3]  # offline: why, then which error
    asked.clear()
    read(printer_in("silent", asked))
    assert asked == [1]  # no answer: do not wait three more times


def test_details_say_what_was_read():
    assert "hết giấy" in read(printer_in("paper_out")).detail
    assert "nắp" in read(printer_in("cover_open")).detail
    assert "không tự phục hồi" in read(printer_in("error")).detail
    assert "không có trả lời" in read(printer_in("silent")).detail


@pytest.mark.parametrize("reply", [0xFF, 0x00, 0x80, 0x01, 0x10, 0x02])
def test_garbage_is_never_ready(reply):
    reading = read(lambda n: reply)
    assert not valid(reply)
    assert reading.state == status.NO_ANSWER and not reading.ready
    assert f"0x{reply:02x}" in reading.detail


def test_no_answer_is_not_ready():
    reading = read(lambda n: None)
    assert reading == PrinterStatus(status.NO_ANSWER, reading.detail)
    assert not reading.ready


def test_offline_with_unclear_cause_is_offline():
    for cause in (None, 0xFF):
        reading = read(answering({1: 0x1A, 2: cause}))
        assert reading.state == status.OFFLINE and not reading.ready
    unknown_error = read(answering({1: 0x1A, 2: 0x52, 3: None}))
    assert unknown_error.state == status.ERROR and "không rõ" in unknown_error.detail
    cutter = read(answering({1: 0x1A, 2: 0x52, 3: 0x1A}))
    assert cutter.state == status.ERROR and "dao cắt" in cutter.detail


def test_paper_sensor_without_answer_keeps_the_printer_usable():
    # Online, but no (or a broken) paper-sensor reply: ready, as the printer said it is online.
    assert read(answering({1: 0x12})).state == status.READY
    assert read(answering({1: 0x12, 4: 0xFF})).state == status.READY


def test_only_some_states_are_ready():
    assert set(status.READY_STATES) == {status.READY, status.PAPER_LOW, status.WRITE_ONLY}
    for state in status.WORDS:
        assert PrinterStatus(state).ready is (state in status.READY_STATES)
