"""The hall's domain core: the rules of the queue on SQLite, with no web and no hardware."""

from .errors import HallError
from .rules import Rules
from .site import Hall

__all__ = ["Hall", "HallError", "Rules"]
