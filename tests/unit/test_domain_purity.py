"""edge/domain stays pure: its modules import only I/O-free stdlib, msgspec and our own schemas."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import edge.domain

DOMAIN_DIR = Path(edge.domain.__file__).parent

ALLOWED_TOP = frozenset(
    {
        "__future__",
        "dataclasses",
        "datetime",
        "decimal",
        "enum",
        "typing",
        "collections",
        "functools",
        "itertools",
        "math",
        "zoneinfo",
        "re",
        "operator",
        "abc",
        "bisect",
        "heapq",
        "string",
        "msgspec",
    }
)
ALLOWED_PACKAGES = ("shared.schemas", "edge.domain")
FORBIDDEN = frozenset(
    {
        "os",
        "io",
        "socket",
        "sqlite3",
        "apsw",
        "pathlib",
        "time",
        "random",
        "uuid",
        "secrets",
        "httpx",
        "asyncio",
        "threading",
        "subprocess",
        "logging",
        "litestar",
        "pycrdt",
    }
)


def imported_modules(source: str) -> list[str]:
    """Absolute names of every module a source imports; relative imports stay inside the package."""
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                names.append("edge.domain")
            else:
                assert node.module is not None
                names.append(node.module)
    return names


def is_allowed(module: str) -> bool:
    """Whether edge/domain may import ``module``."""
    top = module.split(".")[0]
    if top in FORBIDDEN:
        return False
    if top in ALLOWED_TOP:
        return True
    return any(module == p or module.startswith(p + ".") for p in ALLOWED_PACKAGES)


def domain_sources() -> list[Path]:
    return sorted(DOMAIN_DIR.rglob("*.py"))


def test_the_domain_has_modules_to_check() -> None:
    assert len(domain_sources()) > 1


@pytest.mark.parametrize("path", domain_sources(), ids=lambda p: p.name)
def test_domain_module_imports_nothing_that_does_io(path: Path) -> None:
    bad = [m for m in imported_modules(path.read_text()) if not is_allowed(m)]
    assert bad == [], f"{path.name} imports {bad}"


def test_forbidden_modules_are_never_allowed() -> None:
    assert not FORBIDDEN & ALLOWED_TOP


@pytest.mark.parametrize(
    "source",
    [
        "import os",
        "import time",
        "from pathlib import Path",
        "import os.path",
        "from edge.store import db",
        "from shared import sync",
        "import sqlite3 as db",
        "def f():\n    import random\n",
        "from uuid import uuid4",
        "import edge",
    ],
)
def test_checker_flags_an_io_import(source: str) -> None:
    assert not all(is_allowed(m) for m in imported_modules(source))


@pytest.mark.parametrize(
    "source",
    [
        "from __future__ import annotations",
        "import msgspec",
        "from datetime import UTC, datetime",
        "from shared.schemas.documents import Order",
        "from edge.domain.errors import Conflict",
        "from . import errors",
        "from collections.abc import Sequence",
    ],
)
def test_checker_accepts_a_pure_import(source: str) -> None:
    assert all(is_allowed(m) for m in imported_modules(source))
