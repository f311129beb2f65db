"""The counter: clerks call and serve; keypads, LED displays and the rating pad."""
