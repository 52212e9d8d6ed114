"""Setting one Galera provider option on this node's server, as an administrator: make-primary's
``pc.bootstrap`` and crash eviction's ``evs.evict``.

MariaDB up to 10.11 takes provider options in ``wsrep_provider_options``; with the wsrep_provider
plugin (MariaDB 11.x; Debian 13's 11.8 loads it) each option is a variable of its own
(``wsrep_provider_pc_bootstrap``) and ``wsrep_provider_options`` refuses changes (error 1210).
The statement is chosen from the server's own variables.
"""

from __future__ import annotations

import os
import pwd
import re

from ..config import ClientOptions, Config, ConfigError, read_option_file
from ..record import replace
from .probe import connect

VALUE = re.compile(r"[A-Za-z0-9-]{0,64}")  # empty: evs.evict's "clear the list"


class AdminError(Exception):
    """No administrator's connection, or the server refused the option."""


def provider_statement(option: str, value: str, variables: set[str]) -> str:
    """The SET GLOBAL that sets ``option`` to ``value`` on a server with ``variables`` (their names)."""
    if not VALUE.fullmatch(value):
        raise ValueError(f"{value!r} is not a provider option value this tool sets")
    variable = "wsrep_provider_" + option.replace(".", "_")
    if variable in variables:
        return f"SET GLOBAL {variable} = " + ("ON" if value == "YES" else f"'{value}'")
    return f"SET GLOBAL wsrep_provider_options='{option}={value}'"


def set_provider_option(config: Config, option: str, value: str) -> str:
    """Set it over the local socket as the configured administrator ([mysql] admin_group), else as
    the account of this process's own user, which MariaDB's unix_socket authentication lets in
    (root; mysql on Debian, the agent's user). Returns the statement run; AdminError otherwise."""
    mysql = config.mysql
    try:  # read at each call: an option file gone or made unreadable since the start is said, not raised
        options = read_option_file(mysql.option_file, mysql.option_group)
        admin = ClientOptions(user=pwd.getpwuid(os.geteuid()).pw_name)
        if mysql.admin_group:
            admin = read_option_file(mysql.option_file, mysql.admin_group)
    except ConfigError as err:
        raise AdminError(str(err)) from None
    try:  # TCP (a host in the admin group) is guarded as the probe's connection is
        conn = connect(replace(admin, socket=admin.socket or options.socket), connect_timeout=mysql.connect_timeout,
                       read_timeout=mysql.read_timeout)
    except Exception as err:  # noqa: BLE001 - PyMySQL's errors, a refused key exchange, a socket error
        raise AdminError(f"cannot connect as an administrator ({err}): set [mysql] admin_group, or run as "
                         "root") from None
    try:
        with conn.cursor() as cur:
            variable = "wsrep_provider_" + option.replace(".", "_")
            cur.execute("SHOW GLOBAL VARIABLES LIKE %s", (variable,))
            statement = provider_statement(option, value, {str(row[0]).lower() for row in cur.fetchall()})
            cur.execute(statement)
    except Exception as err:  # noqa: BLE001 - the server's refusal, a lost connection
        raise AdminError(f"the server refused {option}={value}: {err}") from None
    finally:
        conn.close()
    return statement
