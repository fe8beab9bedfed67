"""Opt-in speed for the plain network in kagglekit.nn: the same maths, computed with fewer passes over
memory. Each piece is tested equal to the plain path it replaces."""
