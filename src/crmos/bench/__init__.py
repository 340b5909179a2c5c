"""Bench: the benchmarks behind ``crmos bench NAME``, each beside a reference run alongside.

Sits on top: may import any room.
"""
