"""Exceptions shared by the library and the CLI.

The CLI prints an ``EnginepoolsError`` as one line on stderr and exits 1; a
``UsageError`` exits 2, like a bad flag.  Library code raises the standard
types (``ValueError``, ``RuntimeError``) or these subclasses of them.
"""
from __future__ import annotations


class EnginepoolsError(Exception):
    """An error the CLI reports as one line (exit 1)."""

    exit_code = 1


class UsageError(EnginepoolsError, ValueError):
    """Bad command-line input (exit 2)."""

    exit_code = 2


class InputError(EnginepoolsError, ValueError):
    """A file or argument the user gave us is wrong (exit 1)."""
