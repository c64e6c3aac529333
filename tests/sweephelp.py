"""Task functions for the executor tests: worker processes import them by module name."""


def square(x, offset=0):
    return x * x + offset


def fail(x):
    raise ValueError(f"task {x} failed")
