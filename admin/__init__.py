"""The back office: printers and tickets that did not print, for now."""
