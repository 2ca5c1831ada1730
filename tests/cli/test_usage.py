"""The command line's manners: a command line that does not parse and a value an option refuses are each one
`error: …` line with their own exit code, the exit codes are listed in `npuport --help`, shell completion works, and
every help shows its placeholders in one style."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from cli_runner import npuport  # type: ignore[import-not-found]
from typer.testing import CliRunner

from npuport.cli import app
from npuport.cli.errors import exit_codes
from npuport.core.errors import InputError, ModelLoadError, UsageError


def invoke(*args: str) -> tuple[int, str, str]:
    """In-process (these fail while the command line is parsed, before any library loads): code, stdout, stderr."""
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(("args", "message"), [
    (["convert", "m", "-o", "x", "--opset", "abc"], "error: Invalid value for '--opset'"),
    (["predict", "a", "-t", "x", "--top-k", "abc"], "error: Invalid value for '--top-k'"),
    (["serve", "a", "--port", "abc"], "error: Invalid value for '--port'"),
    (["doctor", "a"], "error: Missing option '--variant'. (see `npuport doctor --help`)"),
    (["buckets", "plan", "m"], "error: Missing option '--texts'. (see `npuport buckets plan --help`)"),
    (["predict", "a", "--no-such-option"], "error: No such option: --no-such-option"),
    (["no-such-command"], "error: No such command 'no-such-command'."),
])
def test_a_command_line_that_does_not_parse_is_one_line_and_the_usage_code(args, message):
    code, stdout, stderr = invoke(*args)
    assert code == UsageError.exit_code != ModelLoadError.exit_code
    assert stderr.startswith(message) and stderr.count("\n") == 1 and stdout == ""


@pytest.mark.parametrize(("args", "message"), [
    (["predict", "a", "-t", "x", "--device", "cpu:1"], "error: bad device 'cpu:1': there is one CPU device, named cpu"),
    (["predict", "a", "-t", "x", "--device", "cpu:"], "error: bad device 'cpu:': there is one CPU device"),
    (["validate", "a", "--device", "cpu:1"], "error: bad device 'cpu:1'"),
    (["validate", "a", "--device", "tpu"], "error: unknown device 'tpu'; use cpu, cuda[:N] or npu[:N]"),
    (["package", "a", "-o", "p", "--device", "npu:x"], "error: bad device index in 'npu:x'"),
    (["report", "a", "--device", "gpu"], "error: unknown device 'gpu'"),
    (["predict", "a", "-t", "x", "--threshold", "calm=0.4,calm=0.6"], "error: --threshold names 'calm' twice"),
    (["eval", "a", "--threshold", "1.5"], "error: --threshold '1.5' must be a number between 0 and 1"),
])
def test_a_value_an_option_refuses_is_an_input_error_before_anything_runs(args, message):
    code, stdout, stderr = invoke(*args)  # "a" does not exist: nothing was opened
    assert (code, stdout) == (InputError.exit_code, "")
    assert stderr.startswith(message) and stderr.count("\n") == 1


def test_help_lists_every_exit_code_once():
    listed = re.search(r"Exit codes: (.*?)\.\s*$", " ".join(invoke("--help")[1].split()))
    assert listed is not None
    codes = [int(code) for code in re.findall(r"(\d+) [a-z]", listed.group(1))]
    assert codes == [code for code, _ in exit_codes()] and len(set(codes)) == len(codes)
    assert {0, 1, 2, 7, 8, UsageError.exit_code, 130} <= set(codes)


def test_bash_completion_script_and_answers():
    # typer's --show-completion otherwise detects the shell from the parent processes (shellingham), and ignores
    # "bash": under a test runner started without a shell it found none and printed "Shell  not supported".
    script = npuport("--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert script.returncode == 0 and "complete -o default -F _npuport_completion npuport" in script.stdout
    # what the script asks the command when TAB is pressed after `npuport con` and `npuport predict --dev`
    for words, expected in (("npuport con", "convert"), ("npuport predict --dev", "--device")):
        answer = npuport(env={"_NPUPORT_COMPLETE": "complete_bash", "COMP_WORDS": words,
                              "COMP_CWORD": str(words.count(" "))})
        assert answer.returncode == 0 and expected in answer.stdout.split(), (words, answer.stdout, answer.stderr)


def _commands(group: typer.core.TyperGroup, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], object]]:
    found: list[tuple[tuple[str, ...], object]] = [(path, group)]
    for name, command in group.commands.items():
        found += (_commands(command, (*path, name)) if isinstance(command, typer.core.TyperGroup)
                  else [((*path, name), command)])
    return found


def test_every_help_shows_placeholders_in_one_style():
    commands = _commands(typer.main.get_command(app))  # type: ignore[arg-type]
    assert len(commands) > 15
    for path, command in commands:
        code, text, _ = invoke(*path, "--help")
        assert code == 0, path
        usage = next(line for line in text.splitlines() if "Usage:" in line)
        assert re.fullmatch(r"\s*Usage: npuport[a-z ]* \[OPTIONS\]( [A-Z_]+(\.\.\.)?)*( COMMAND \[ARGS\]\.\.\.)?\s*", usage), usage
        leaks = re.findall(r"<[a-z][a-zA-Z\[\], ]*>|\{[a-zA-Z_]+\}", text)
        assert not leaks, (path, leaks)
        with typer.Context(command) as context:  # type: ignore[arg-type]
            for param in command.get_params(context):  # type: ignore[attr-defined]
                flag = getattr(param, "is_flag", False)
                assert (param.metavar == "") if flag else re.fullmatch(r"[A-Z][A-Z_]*", param.metavar), (path, param.name)


def test_shared_options_are_declared_once():
    import npuport.cli

    sources = "".join(path.read_text(encoding="utf-8") for path in Path(npuport.cli.__file__).parent.glob("*.py"))
    for name in ("--device", "--output", "--profile", "--threshold", "--variants", "--json", "--threads"):
        assert sources.count(f'"{name}"') == 1, name
