"""The ``enginepools`` command: a thin layer over the library.

Subcommands live in ``enginepools.commands`` (one module each).  Errors the
user can act on are printed as one line on stderr (exit 1; usage errors exit
2); a traceback means a bug in enginepools.
"""
from __future__ import annotations

import importlib
import os
import sys
from types import ModuleType
from typing import Sequence

from . import commands as _commands_pkg
from ._flags import GoArgumentParser
from .errors import EnginepoolsError


def _command_modules(only: str | None = None) -> dict[str, ModuleType]:
    """The command modules by NAME; with `only`, just that command's module
    when a module of that name defines it (a command imports only what it
    needs: ``enginepools top`` never loads the statistics or the charts)."""
    found: dict[str, ModuleType] = {}
    # the modules of commands/ (a listing, not pkgutil: its import costs a small run 5%)
    names = sorted(f[:-3] for d in _commands_pkg.__path__ for f in os.listdir(d)
                   if f.endswith(".py") and f != "__init__.py")
    if only is not None and only in names:
        mod = importlib.import_module(f"{_commands_pkg.__name__}.{only}")
        if getattr(mod, "NAME", None) == only:
            return {only: mod}
    for name in names:
        mod = importlib.import_module(f"{_commands_pkg.__name__}.{name}")
        name = getattr(mod, "NAME", None)
        if name:
            found[name] = mod
    return dict(sorted(found.items()))


def build_parser(only: str | None = None) -> GoArgumentParser:
    """The command line parser: every command, or (`only`) just the one named."""
    from . import __version__

    parser = GoArgumentParser(
        prog="enginepools",
        description="Do your memory pools pay? Benchmarks, profiles, statistics and verdicts.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"enginepools {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=GoArgumentParser)
    for name, mod in _command_modules(only).items():
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def _subparser(parser: GoArgumentParser, name: str | None) -> GoArgumentParser | None:
    import argparse

    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and name in action.choices:
            return action.choices[name]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    first = args_list[0] if args_list else ""
    parser = build_parser(first if first and not first.startswith("-") else None)
    args, extra = parser.parse_known_args(args_list)
    if extra:  # named by the subcommand, whose -h lists what it takes
        sub = _subparser(parser, getattr(args, "command", None))
        (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except EnginepoolsError as e:
        print(f"enginepools {args.command}: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"enginepools {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as e:
        # the file system said no (disk full, read-only, permissions) in a
        # place no earlier check covered: still one line naming the file
        where = f"{e.filename}: " if e.filename else ""
        print(f"enginepools {args.command}: {where}{e.strerror or e}", file=sys.stderr)
        return 1
