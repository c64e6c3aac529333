"""Search over strategies: enumerate a space, evaluate it as arrays, rank and explain."""
