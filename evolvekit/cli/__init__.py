"""The ``evolvekit`` command line: one small module per command group."""
