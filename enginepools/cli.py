"""The ``enginepools`` command: a thin layer over the library.

Subcommands live in ``enginepools.commands`` (one module each).  Errors the
user can act on are printed as one line on stderr (exit 1; usage errors exit
2); a traceback means a bug in enginepools.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys
from types import ModuleType
from typing import Sequence

from . import commands as _commands_pkg
from ._flags import GoArgumentParser
from .errors import EnginepoolsError


def _command_modules() -> dict[str, ModuleType]:
    found: dict[str, ModuleType] = {}
    for info in pkgutil.iter_modules(_commands_pkg.__path__):
        mod = importlib.import_module(f"{_commands_pkg.__name__}.{info.name}")
        name = getattr(mod, "NAME", None)
        if name:
            found[name] = mod
    return dict(sorted(found.items()))


def build_parser() -> GoArgumentParser:
    from . import __version__

    parser = GoArgumentParser(
        prog="enginepools",
        description="Do your memory pools pay? Benchmarks, profiles, statistics and verdicts.",
    )
    parser.add_argument("-V", "--version", action="version", version=f"enginepools {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=GoArgumentParser)
    for name, mod in _command_modules().items():
        p = sub.add_parser(name, help=mod.HELP, description=getattr(mod, "DESCRIPTION", mod.HELP))
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
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
