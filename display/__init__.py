"""The hall board: live calls on the TV, with a chime and a Vietnamese voice."""
