"""The operator files against check_galera's own parser, statically (no Nagios, no Icinga
needed): contrib/nagios/check_galera.cfg defines one command per mode whose command lines,
with the macros filled in as Nagios would, parse; contrib/icinga2/check_galera.conf only
passes options the plugin knows, one CheckCommand per mode."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from galera_snmp.cli.check_galera import MODES, build_parser

REPO = Path(__file__).resolve().parents[2]
NAGIOS = REPO / "contrib" / "nagios" / "check_galera.cfg"
ICINGA = REPO / "contrib" / "icinga2" / "check_galera.conf"
PLUGIN_DIR = "/usr/lib/nagios/plugins"
HOST_ADDRESS = "192.0.2.11"
# what resource.cfg holds in $USER3$, as the file's header says: the credentials file
SNMP_CREDENTIALS = {"file": "/etc/nagios4/galera-snmp.cred"}


def parse(argv: list[str]):
    """build_parser() on argv; its exit 3 (unknown option, bad value) becomes a test failure."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            return build_parser().parse_args(argv)
    except SystemExit as exit_:
        pytest.fail(f"check_galera refuses {argv} (exit {exit_.code}): {stderr.getvalue().strip()}")


def nagios_commands() -> dict[str, dict]:
    """command_name -> command_line and the `# example: check_command ...` lines above it."""
    commands: dict[str, dict] = {}
    text = NAGIOS.read_text()
    for block in re.finditer(r"((?:^#[^\n]*\n)*)define command\s*\{([^}]*)\}", text, re.MULTILINE):
        comments = block.group(1).splitlines()
        directives = dict(
            line.strip().split(None, 1) for line in block.group(2).strip().splitlines() if line.strip()
        )  # fmt: skip
        name = directives["command_name"]
        assert name not in commands, f"{name} is defined twice"
        examples = [m.group(1) for line in comments if (m := re.match(r"#\s*example:\s*check_command\s+(.+)", line))]
        commands[name] = {"line": directives["command_line"], "examples": examples}
    return commands


def nagios_argv(command_line: str, example: str, credentials: str) -> list[str]:
    """The argv Nagios runs for ``check_command example`` ($ARGn$ from the ! fields)."""
    _name, *values = example.split("!")
    used = {int(n) for n in re.findall(r"\$ARG(\d+)\$", command_line)}
    assert len(values) <= max(used, default=0), f"{example}: more arguments than the command takes"
    line = command_line.replace("$USER1$", PLUGIN_DIR).replace("$USER3$", credentials)
    line = line.replace("$HOSTADDRESS$", HOST_ADDRESS)
    for number in sorted(used, reverse=True):  # $ARG10$ before $ARG1$
        line = line.replace(f"$ARG{number}$", values[number - 1] if number <= len(values) else "")
    assert "$" not in line, f"a macro is left in {line!r}"
    return shlex.split(line)


def test_one_nagios_command_per_mode() -> None:
    commands = nagios_commands()
    assert sorted(commands) == sorted(f"check_galera_{mode.replace('-', '_')}" for mode in MODES)
    for name, command in commands.items():
        assert command["line"].startswith("$USER1$/check_galera "), name
        modes = re.findall(r"--mode\s+(\S+)", command["line"])
        assert modes == [name.removeprefix("check_galera_").replace("_", "-")], (name, modes)
        assert command["examples"], f"{name} has no '# example: check_command {name}...' comment"
        # spelled out in full: argparse would also take an abbreviation such as --sourc
        for option in (word for word in command["line"].split() if word.startswith("-")):
            assert option in known_options(), f"{name}: check_galera has no option {option}"


@pytest.mark.parametrize("credentials", sorted(SNMP_CREDENTIALS))
def test_nagios_command_lines_parse(credentials: str) -> None:
    for name, command in nagios_commands().items():
        for example in command["examples"]:
            assert example.split("!")[0] == name, example
            argv = nagios_argv(command["line"], example, SNMP_CREDENTIALS[credentials])
            assert argv[0] == f"{PLUGIN_DIR}/check_galera"
            args = parse(argv[1:])
            assert args.mode == name.removeprefix("check_galera_").replace("_", "-")
            if args.mode == "peers":
                assert args.peers and args.hostname is None, argv
            else:
                assert args.hostname == HOST_ADDRESS and args.source == "snmp", argv
            # the secrets come from the file only, never from the command line
            assert args.credentials == SNMP_CREDENTIALS[credentials], argv
            assert (args.community, args.authpasswd, args.privpasswd) == (None, None, None), argv


def test_nagios_extra_options_may_be_empty() -> None:
    """The last $ARGn$ of each command is optional: with it empty the line still parses."""
    for name, command in nagios_commands().items():
        used = sorted({int(n) for n in re.findall(r"\$ARG(\d+)\$", command["line"])})
        example = command["examples"][0].split("!")
        values = [*(example[1:] + [""] * len(used))[: len(used) - 1], ""]
        argv = nagios_argv(command["line"], "!".join([name, *values]), SNMP_CREDENTIALS["file"])
        parse(argv[1:])


def test_the_parse_check_catches_unknown_options() -> None:
    """The checks above would notice an option check_galera does not have."""
    with pytest.raises(pytest.fail.Exception, match="exit 3"):
        parse(["--mode", "node", "--no-such-option"])


# --- Icinga 2 -------------------------------------------------------------------------------


def icinga_blocks() -> dict[str, str]:
    """Object or template name -> its body (the file's blocks start at column 0, end with "}")."""
    text = ICINGA.read_text()
    return dict(re.findall(r'^(?:object|template) CheckCommand "([^"]+)" \{\n(.*?)^\}', text, re.M | re.S))


def known_options() -> set[str]:
    return {option for action in build_parser()._actions for option in action.option_strings}


def test_icinga_arguments_are_check_galera_options() -> None:
    blocks = icinga_blocks()
    assert "galera-base" in blocks
    known = known_options()
    for name, body in blocks.items():
        keys = re.findall(r'^\t\t"([^"]+)" = \{', body, re.M)
        removed = re.findall(r'"(-[^"]+)"', "".join(re.findall(r"for \(name in \[(.*?)\]\)", body)))
        assert keys or name != "galera-base", name
        for option in keys + removed:
            assert option in known, f"{name}: check_galera has no option {option}"


def test_one_icinga_command_per_mode() -> None:
    blocks = icinga_blocks()
    commands = {name: body for name, body in blocks.items() if name != "galera-base"}
    assert sorted(commands) == sorted(f"galera-{mode}" for mode in MODES)
    for name, body in commands.items():
        assert 'import "galera-base"' in body, name
        mode = re.search(r'"--mode" = \{\s*value = "([^"]+)"', body)
        assert mode and mode.group(1) == name.removeprefix("galera-"), name


def test_icinga_variables_are_documented() -> None:
    """Every galera_* custom variable the file uses is explained in its header comment."""
    text = ICINGA.read_text()
    header = text[: text.index("*/")]
    body = text[len(header) :]
    used = set(re.findall(r"\$(galera_\w+)\$", body)) | set(re.findall(r"vars\.(galera_\w+)", body))
    assert used >= {"galera_source", "galera_host", "galera_peers", "galera_community", "galera_privpasswd"}
    for variable in sorted(used):
        assert variable in header, f"{variable} is not documented in the header of {ICINGA.name}"
