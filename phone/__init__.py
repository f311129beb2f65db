"""The citizen's phone: the status page a ticket's QR code leads to."""
