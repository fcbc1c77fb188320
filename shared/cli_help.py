"""What both command lines print beside their flags: their version and the FYNLO_* settings."""

from __future__ import annotations

import argparse
from dataclasses import MISSING, fields
from importlib.metadata import PackageNotFoundError, version
from typing import Any


def package_version() -> str:
    try:
        return version("fynlo")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def settings_epilog(config: type[Any], prefix: str) -> str:
    """Every setting of a process's config dataclass as the variable that sets it, with its
    default: flags win over variables, which win over defaults."""
    lines = [f"settings from the environment (a flag of the same name wins): {prefix}<NAME>"]
    for f in fields(config):
        if f.default is MISSING:
            continue  # given on the command line (the data directory)
        lines.append(f"  {prefix}{f.name.upper():<28} default {f.default}")
    return "\n".join(lines)


def parser(prog: str, description: str, config: type[Any], prefix: str) -> argparse.ArgumentParser:
    """A command's top-level parser: --version, and the settings it reads from the environment
    listed under --help."""
    made = argparse.ArgumentParser(
        prog=prog,
        description=description,
        epilog=settings_epilog(config, prefix),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    made.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    return made
