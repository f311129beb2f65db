"""Procedure search for the kiosk: typed without diacritics, with the short forms people use."""

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping

_NON_ALNUM = re.compile(r"[\W_]+")

# Vietnamese administrative short forms, folded, each to its folded expansion. It is a plain
# table: a hall adds its own (ABBREVIATIONS["gpkd"] = "giay phep kinh doanh") before building a
# ProcedureIndex. Initials of name words already work without an entry here ("gplx" finds
# "giay phep lai xe"); the table is for forms whose words are not all in the name, or are
# split differently ("oto" -> "o to").
ABBREVIATIONS: dict[str, str] = {
    "gplx": "giay phep lai xe",
    "gp": "giay phep",
    "gcn": "giay chung nhan",
    "gks": "giay khai sinh",
    "dk": "dang ky",
    "dky": "dang ky",
    "dkkd": "dang ky kinh doanh",
    "kd": "kinh doanh",
    "pt": "phuong tien",
    "ptvt": "phuong tien van tai",
    "xm": "xe may",
    "ot": "o to",
    "oto": "o to",
    "dtnd": "duong thuy noi dia",
    "tthc": "thu tuc hanh chinh",
    "hs": "ho so",
    "cmnd": "chung minh nhan dan",
    "cccd": "can cuoc cong dan",
    "hk": "ho khau",
    "ks": "khai sinh",
    "qsdd": "quyen su dung dat",
    "bhxh": "bao hiem xa hoi",
    "bhyt": "bao hiem y te",
    "ubnd": "uy ban nhan dan",
}

# Longest run of name words whose initials are indexed: abbreviations of more than 8 words are
# not typed, and the cap keeps the index linear in name length.
_MAX_RUN = 8


def fold(text: str) -> str:
    """'Đổi giấy phép lái xe (GPLX)' -> 'doi giay phep lai xe gplx'."""
    # NFD splits a precomposed letter into base + marks, so precomposed and decomposed input end
    # up the same; Mn are the marks (tone and vowel marks), dropped.
    text = unicodedata.normalize("NFD", text.casefold())
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    # đ/Đ are letters of their own, not d + a mark: Unicode gives them no decomposition, so NFD
    # leaves them and they are mapped by hand (Đ is already đ after casefold).
    text = text.replace("đ", "d")
    return _NON_ALNUM.sub(" ", text).strip()


def _initials(words: tuple[str, ...]) -> dict[str, list[tuple[int, int]]]:
    """Initials of every run of 2.._MAX_RUN consecutive words -> the runs' (start, end) spans."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for start in range(len(words)):
        letters = words[start][0]
        for end in range(start + 2, min(start + _MAX_RUN, len(words)) + 1):
            letters += words[end - 1][0]
            spans.setdefault(letters, []).append((start, end))
    return spans


def _phrase_spans(words: tuple[str, ...], phrase: tuple[str, ...]) -> list[tuple[int, int]]:
    n = len(phrase)
    return [(i, i + n) for i in range(len(words) - n + 1) if words[i:i + n] == phrase]


class _Entry:
    __slots__ = ("code", "name", "field", "initials", "code_words", "code_compact", "order")
    # ``field`` holds the field's words and the procedure's search words (``keywords``, an
    # English name): they find a procedure, after those whose name matches.

    def __init__(self, proc: Mapping):
        self.code = str(proc["code"])
        self.name = tuple(fold(str(proc["name"])).split())
        self.field = tuple(fold(f"{proc.get('field') or ''} {proc.get('keywords') or ''}")
                           .split())
        self.initials = _initials(self.name)
        folded_code = fold(self.code)
        self.code_words = frozenset(folded_code.split())
        self.code_compact = folded_code.replace(" ", "")
        position = proc.get("position")
        # Procedures without a position sort after those with one.
        self.order = (position is None, position if position is not None else 0, self.code)


class ProcedureIndex:
    """Built once from the catalogue; search() is then a few set lookups and a small sort."""

    def __init__(self, procedures: Iterable[Mapping]):
        self._entries = [_Entry(p) for p in procedures]
        # Inverted indexes only narrow the candidates; _score() decides what really matches.
        self._postings: dict[str, set[int]] = {}
        self._by_initials: dict[str, set[int]] = {}
        self._by_code_word: dict[str, set[int]] = {}
        for i, e in enumerate(self._entries):
            for word in e.name + e.field:
                self._postings.setdefault(word, set()).add(i)
            for letters in e.initials:
                self._by_initials.setdefault(letters, set()).add(i)
            for word in e.code_words:
                self._by_code_word.setdefault(word, set()).add(i)
        self._vocab = sorted(self._postings)  # sorted, so words with a prefix are one slice

    def search(self, query: str, limit: int = 20) -> list[str]:
        """Codes of the procedures matching every word of query, best first."""
        tokens = fold(query).split()
        if not tokens or limit <= 0:
            return []
        units = [(t, tuple(ABBREVIATIONS[t].split()) if t in ABBREVIATIONS else None)
                 for t in tokens]
        candidates: set[int] | None = None
        for token, expansion in units:
            found = self._candidates(token, expansion)
            candidates = found if candidates is None else candidates & found
            if not candidates:
                return []
        compact = "".join(tokens)
        scored = []
        for i in candidates:
            key = self._score(self._entries[i], units, compact)
            if key is not None:
                scored.append(key)
        scored.sort()
        return [key[-1] for key in scored[:limit]]

    def _candidates(self, token: str, expansion: tuple[str, ...] | None) -> set[int]:
        found: set[int] = set()
        # Every vocabulary word starting with token: the citizen may not have finished typing.
        at = bisect_left(self._vocab, token)
        while at < len(self._vocab) and self._vocab[at].startswith(token):
            found |= self._postings[self._vocab[at]]
            at += 1
        found |= self._by_initials.get(token, set())
        found |= self._by_code_word.get(token, set())
        if any(ch.isdigit() for ch in token):
            found |= {i for i, e in enumerate(self._entries) if token in e.code_compact}
        if expansion:
            # All words present; whether they form the phrase is checked in _score.
            sets = [self._postings.get(w, set()) for w in expansion]
            found |= set.intersection(*sets)
        return found

    def _score(self, e: _Entry, units, compact: str):
        """Sort key (smaller is better) for a candidate, or None if a token is not satisfied."""
        in_name = exact = adjacent = 0
        previous_ends: set[int] = set()
        for token, expansion in units:
            # (start, end, exact) spans of name words this token stands for.
            spans = [(i, i + 1, w == token) for i, w in enumerate(e.name) if w.startswith(token)]
            # Initials are a guess ("co" could be "cap o to"), so they count like a prefix.
            spans += [(s, t, False) for s, t in e.initials.get(token, ())]
            if expansion:
                spans += [(s, t, True) for s, t in _phrase_spans(e.name, expansion)]
            if spans:
                in_name += 1
                exact += any(x for _, _, x in spans)
                # Why: "doi gplx" should prefer "doi giay phep lai xe" over the words scattered.
                adjacent += any(s in previous_ends for s, _, _ in spans)
                previous_ends = {t for _, t, _ in spans}
                continue
            previous_ends = set()
            # Not in the name: the field, then the code, may still satisfy the token.
            field_exact = token in e.field or bool(
                expansion and _phrase_spans(e.field, expansion))
            if field_exact or any(w.startswith(token) for w in e.field):
                exact += field_exact
            elif token in e.code_words:
                exact += 1
            elif not (any(ch.isdigit() for ch in token) and token in e.code_compact):
                return None
        # A typed code ("gt-009", "009", "DEMO-GT-009") is the one thing asked for: it goes first.
        code_hit = any(ch.isdigit() for ch in compact) and e.code_compact.endswith(compact)
        # Why this order: name beats field-only, exact beats prefix, phrase beats scattered
        # words, then the shorter name (fewer extra words) and finally the hall's own order.
        return (not code_hit, -in_name, -exact, -adjacent, len(e.name), *e.order)
