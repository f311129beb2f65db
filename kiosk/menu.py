"""What a kiosk offers now: fields, procedures, what is closed and why, and search."""

from dataclasses import dataclass, field
from functools import lru_cache

from hall.search import ProcedureIndex


@dataclass
class Choice:
    """One procedure button: open, or greyed with the reason it would be refused."""

    code: str
    name: str
    field: str
    field_id: int
    queue: str
    waiting: int
    refusal: object = None  # a HallError, or None when a ticket can be issued
    words: str = ""  # what else finds it: its English name and the hall's search words
    name_en: str = ""  # shown on a kiosk in English when the hall gave one


@dataclass
class Menu:
    """The kiosk's fields and procedures, in kiosk order."""

    fields: list[dict]
    choices: list[Choice] = field(default_factory=list)

    def of_field(self, field_id: int) -> list[Choice]:
        return [c for c in self.choices if c.field_id == field_id]

    def search(self, query: str, limit: int = 12) -> list[Choice]:
        """Procedures matching what was typed (no accents needed, abbreviations work)."""
        index = _index(tuple((c.code, c.name, c.field, i, c.words)
                             for i, c in enumerate(self.choices)))
        by_code = {c.code: c for c in self.choices}
        return [by_code[code] for code in index.search(query, limit)]


@lru_cache(maxsize=4)
def _index(rows: tuple) -> ProcedureIndex:
    # Rebuilt only when the catalogue changes (the rows are the cache key).
    return ProcedureIndex({"code": code, "name": name, "field": field_name, "position": pos,
                           "keywords": words} for code, name, field_name, pos, words in rows)


def build(procedures: list[dict], availability: dict[str, dict]) -> Menu:
    """The menu from the catalogue's procedures and the queues' availability now."""
    choices = []
    fields: dict[int, dict] = {}
    for proc in procedures:
        queue = proc["queue"]["code"]
        state = availability.get(queue)
        if state is None:  # an inactive queue
            continue
        choices.append(Choice(proc["code"], proc["name"], proc["field"], proc["field_id"],
                              queue, state["waiting"], state["refusal"],
                              f"{proc.get('keywords', '')} {proc.get('name_en', '')}",
                              proc.get("name_en", "")))
        entry = fields.setdefault(proc["field_id"], {"id": proc["field_id"],
                                                     "name": proc["field"],
                                                     "name_en": proc.get("field_en", ""),
                                                     "count": 0,
                                                     "open": 0})
        entry["count"] += 1
        entry["open"] += state["refusal"] is None
    return Menu(list(fields.values()), choices)
