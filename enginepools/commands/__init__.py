"""CLI subcommands, one module each.

A command module defines ``NAME`` (the subcommand), ``HELP`` (one line),
``add_arguments(parser)`` and ``run(args) -> int``.  ``enginepools.cli``
finds every module here, so adding a command never touches the others.
"""
