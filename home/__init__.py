"""The hall's front page: where to go for the kiosk, boards, counters, admin and the API."""
