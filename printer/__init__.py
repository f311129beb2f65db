"""Ticket printers: layout, ESC/POS encoding, connections, status, and one worker per printer."""

from .connection import PrinterConfig
from .layout import TicketFacts, TicketLayout
from .printers import Printers

__all__ = ["PrinterConfig", "Printers", "TicketFacts", "TicketLayout"]
