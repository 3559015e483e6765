"""The ``provenance`` command line: thin shells over the library (specs/cli.md)."""
