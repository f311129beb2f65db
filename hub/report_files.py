"""A province report as files: the table and charts of a hall's report
(``hall.report_files``: the same columns, words and charts), with the hub's own cache of drawn
charts."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

from hall.report_files import CHARTS, as_csv, as_xlsx, chart_data, chart_words, draw

_cache: OrderedDict = OrderedDict()
_lock = threading.Lock()  # pyplot's state is not safe across threads
CACHE_SIZE = 64


def chart(report: dict, kind: str, translate: Callable[[str], str]) -> str:
    """One of the report's charts (``CHARTS``) as SVG; drawn once while its figures stay."""
    words = chart_words(translate)
    key = (kind, chart_data(report, kind, translate), words)
    with _lock:
        if key not in _cache:
            _cache[key] = draw(kind, key[1], words)
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
        _cache.move_to_end(key)
        return _cache[key]


__all__ = ["CHARTS", "as_csv", "as_xlsx", "chart"]
