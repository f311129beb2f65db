"""A short soak (``python -m bench soak`` runs the full ten minutes): kiosks issuing, counters
calling, boards and phones following, against a real server; nothing lost, nothing doubled,
no error, memory and descriptors flat."""

import pytest

from bench.soak import FD_SLACK, run

pytestmark = pytest.mark.slow


def test_a_busy_hall_for_forty_five_seconds():
    report = run(minutes=0.75, kiosks=8, counters=30, boards=6, phones=300, issue_every=1.0,
                 call_every=4.0, sample_every=3.0, say=lambda _: None,
                 quick_streams=True)
    tally = report.tally
    assert tally.error_count == 0, tally.errors
    assert tally.answers.get("issued", 0) > 100 and tally.answers.get("called", 0) > 50
    assert report.lost == 0 and report.doubled == 0
    # Every stream followed the whole soak: as many events as the log got meanwhile.
    assert min(f.events for f in report.followers) > 150
    assert report.rss_growth <= 15.0, report.samples
    assert report.fds_growth <= FD_SLACK, report.samples
    assert report.fds_after <= report.fds_idle + FD_SLACK
