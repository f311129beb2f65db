"""The kiosk: citizens pick a field and a procedure and get a printed ticket."""
