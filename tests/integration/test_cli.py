"""The fynlo-edge command: every subcommand documents itself and refuses what it cannot do."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from cloud.relay.config import RelayConfig
from edge.app.cli import build_parser
from edge.app.config import EdgeConfig
from tests.support.server import cli

BIN_DIR = Path(sys.executable).parent

SUBCOMMANDS = ("init", "serve", "rebuild", "pairing-code", "enroll")


def test_every_subcommand_is_listed_in_the_top_level_help() -> None:
    out = cli("--help").stdout
    for name in SUBCOMMANDS:
        assert name in out


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_has_help(name: str) -> None:
    out = cli(name, "--help").stdout
    assert "--data" in out


def test_the_parser_knows_no_undocumented_subcommand() -> None:
    parser = build_parser()
    actions = [a for a in parser._actions if a.dest == "command"]
    assert set(actions[0].choices) == set(SUBCOMMANDS)  # type: ignore[arg-type]


def test_init_twice_is_refused_unless_if_missing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = cli("init", "--data", str(data))
    assert "owner PIN" in first.stdout
    again = cli("init", "--data", str(data), check=False)
    assert again.returncode == 2 and "already" in again.stderr
    assert cli("init", "--data", str(data), "--if-missing").returncode == 0


def test_commands_on_a_missing_store_fail_cleanly(tmp_path: Path) -> None:
    for name in ("rebuild", "pairing-code"):
        result = cli(name, "--data", str(tmp_path / "nothing"), check=False)
        assert result.returncode == 2
        assert "no store" in result.stderr


def test_the_readme_documents_every_subcommand() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    for name in SUBCOMMANDS:
        assert f"fynlo-edge {name}" in readme


@pytest.mark.parametrize("command", ["fynlo-edge", "fynlo-relay"])
def test_help_names_every_setting_variable_and_there_is_a_version(command: str) -> None:
    config, prefix = (
        (EdgeConfig, "FYNLO_") if command == "fynlo-edge" else (RelayConfig, "FYNLO_RELAY_")
    )
    run = BIN_DIR / command
    shown = subprocess.run([str(run), "--help"], capture_output=True, text=True, check=True).stdout
    for f in fields(config):
        if f.name != "data_dir":
            assert f"{prefix}{f.name.upper()} " in shown, f.name
    version = subprocess.run([str(run), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.split() == [command, importlib.metadata.version("fynlo")]
