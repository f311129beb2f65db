"""The back office: printers and tickets that did not print, for now."""

from .views import bp

__all__ = ["bp"]
