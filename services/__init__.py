"""The application layer: what a person or a device asks the hall to do, done the same way
whichever door it came through (a page, the JSON API, a keypad, the command line)."""
