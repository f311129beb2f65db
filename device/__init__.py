"""The device framework: a worker thread per device (printer, serial bus, event-feed poller)."""
