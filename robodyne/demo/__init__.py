"""The demo restaurant: seed rows, its floor, and simulated robots over real TCP."""
