"""Pure core: encoding, crypto, Merkle trees, signed notes, events, rules, offline verification.

No module here does I/O or reads the clock; time is always a parameter.
"""
