"""The student side of the trust boundary (runtime.py, wire.py) and the judge's client for it."""
