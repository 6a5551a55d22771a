"""The lyra-sim command line as a whole (lyra_sim/cli/__init__.py): every subcommand listed and
reached, a fast --help, the console-script entry point, the README's command, and errors a user
can fix as one line with exit code 2."""

from __future__ import annotations

import argparse
import importlib
import re
import subprocess
import sys

from lyra_sim.cli import COMMAND_MODULES, build_parser, parse_args


def test_console_script_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "lyra_sim.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0 and "render" in proc.stdout and "info" in proc.stdout


def command_names() -> list[str]:
    return [name.replace("_", "-") for name in COMMAND_MODULES]


def test_help_lists_every_subcommand_and_each_has_its_own_module():
    proc = subprocess.run([sys.executable, "-m", "lyra_sim.cli", "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    listed = re.search(r"\{([a-z0-9,-]+)\}", proc.stdout).group(1).split(",")
    assert listed == command_names()
    assert set(listed) >= {"generate", "render", "sdg", "info", "train", "eval", "export", "check", "world",
                           "model-info", "convert-gen3c", "convert-lyra"}
    for name in COMMAND_MODULES:  # each module builds its parser and points it at its own handler
        module = importlib.import_module(f"lyra_sim.cli.{name}")
        sub = argparse.ArgumentParser().add_subparsers(dest="command")
        parser = module.add_parser(sub)
        assert parser.get_default("func") is module.run


def test_help_starts_without_torch_pxr_or_omegaconf():
    """Subcommand modules import heavy packages inside their handlers, so --help stays fast."""
    code = ("import sys; from lyra_sim.cli import build_parser; build_parser(); "
            "print(sorted(m for m in ('torch', 'pxr', 'numpy', 'omegaconf', 'rich') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_a_user_error_is_one_line_and_exit_2_an_interrupt_130(capsys):
    from lyra_sim.cli.shared import run_command
    from lyra_sim.errors import InvalidInputError

    def bad(args):
        raise InvalidInputError("frames must be positive")

    def interrupted(args):
        raise KeyboardInterrupt

    assert run_command("render", bad, argparse.Namespace()) == 2
    assert capsys.readouterr().err == "lyra-sim render: error: frames must be positive\n"
    assert run_command("sdg", interrupted, argparse.Namespace()) == 130
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_readme_has_the_two_setup_commands_and_the_main_one_parses():
    """The README's two set-up commands (one line each); the main one ends in a lyra-sim command
    this CLI accepts, and the test command is what .ci/run extracts."""
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    blocks = {tag: re.findall(rf"<!-- {tag} -->\n```bash\n(.*?)\n```", readme, re.S) for tag in ("main-command", "test-command")}
    assert all(len(v) == 1 and "\n" not in v[0] for v in blocks.values()), blocks
    main_cmd = blocks["main-command"][0]
    assert main_cmd.startswith("python3 -m venv .venv") and "pip install torch==2.13.0 && pip install -e ." in main_cmd
    lyra = shlex.split(main_cmd.split("&& lyra-sim ", 1)[1])
    args = build_parser().parse_args(lyra)
    assert args.command == "generate" and args.prompt
    assert 'ruff check . && python -m pytest -m "not gpu"' in blocks["test-command"][0]


SETTINGS_COMMANDS = {"generate", "export", "train", "eval", "world", "render", "sdg"}
"""The commands with a ``*Cfg`` of their own; the others (info, check, convert, convert-gen3c,
convert-lyra, model-info, view) have no settings, only flags (model-info's and convert-lyra's
config is the decoder architecture they read, not settings of the command)."""


def test_every_command_with_settings_takes_config_and_overrides_the_same_way():
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"lyra_sim.cli.{name}")
        assert hasattr(module, "cfg_from_args") == (name in SETTINGS_COMMANDS), name
        if name in SETTINGS_COMMANDS:
            parser = module.add_parser(argparse.ArgumentParser().add_subparsers(dest="command"))
            options = {opt for action in parser._actions for opt in action.option_strings}
            positional = [action.dest for action in parser._actions if not action.option_strings]
            assert "--config" in options, name
            assert "overrides" in positional, name


def test_every_lyra_sim_command_in_the_readmes_parses():
    """Each `lyra-sim ...` line of a bash block in README.md and configs/README.md (comments cut,
    backslash continuations joined) is accepted by the parser, and its key=value items reach
    the command's settings."""
    import shlex
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    lines = []
    for readme in (repo / "README.md", repo / "configs" / "README.md"):
        for block in re.findall(r"```bash\n(.*?)```", readme.read_text(), re.S):
            text = block.replace("\\\n", " ")
            lines += [line for line in text.splitlines() if line.startswith("lyra-sim ")]
    assert len(lines) >= 15
    for line in lines:
        argv = shlex.split(line, comments=True)[1:]
        args = parse_args(build_parser(), argv)
        module = importlib.import_module(f"lyra_sim.cli.{args.command.replace('-', '_')}")
        if hasattr(module, "cfg_from_args"):
            module.cfg_from_args(args)


OVERRIDE_COMMANDS = {  # command -> (its positional arguments, its required options)
    "generate": ([], ["--prompt", "a room", "--out", "o"]),
    "export": (["s.ply"], ["--out", "o"]),
    "render": (["s.ply"], ["--out", "o"]),
    "sdg": ([], ["--out", "o"]),
    "eval": ([], ["--decoder", "d", "--data", "d1", "d2", "--out", "o"]),
    "world": (["w1", "w2"], ["--out", "o"]),
    "train": ([], ["--config", "c.yaml"]),
    "model-info": (["c.yaml"], []),
}


def test_overrides_are_accepted_anywhere_on_the_line_by_every_command():
    """Before, between and after the positional arguments and the options, one or split: every
    command with settings gets the same overrides and the same positional arguments."""
    parser = build_parser()
    assert set(OVERRIDE_COMMANDS) == {n for n, p in parser.subcommands.items()
                                      if any(a.dest == "overrides" for a in p._actions)}
    ov = ["a.b=1", "c=[x,y]"]
    for command, (pos, opts) in OVERRIDE_COMMANDS.items():
        for argv in ([*ov, *pos, *opts], [*pos, *ov, *opts], [*pos, *opts, *ov], [ov[0], *pos, *opts, ov[1]],
                     [*pos[:1], ov[0], *pos[1:], *opts, ov[1]]):
            args = parse_args(parser, [command, *argv])
            assert args.overrides == ov, (command, argv, args.overrides)
            dest = {"export": "scene", "render": "scene", "world": "scenes", "model-info": "config"}.get(command)
            value = getattr(args, dest) if dest else []
            given = [str(x) for x in value] if isinstance(value, list) else [str(value)]
            assert given == pos, (command, argv, given)
    # The value of an option is never taken for an override.
    args = parse_args(parser, ["generate", "--prompt", "light=warm", "--out", "o", "seed=3"])
    assert (args.prompt, args.overrides) == ("light=warm", ["seed=3"])
