"""The probe: the only code that reads a node (mysqld over one reused connection, Galera's
files, /proc, ``--wsrep-recover``). It gathers what it read into an :class:`Observation` and
leaves every decision about it to :func:`~galera_snmp.node.assemble.assemble`.

It never raises for a node problem: what it cannot read becomes ``unknown`` plus a note.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import pwd
import sys
import tempfile
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

from ..config import ClientOptions, Config, ConfigError, ServerConfig, read_option_file
from ..record import replace
from ..safeio import read_regular, write_atomically
from ..state import Member, MysqlFailure, NodeState, Position, ProcessState, SeqnoSource
from . import history, promotion
from .assemble import RECOVERY_PENDING, MysqlReading, Observation, assemble, recovery_wanted
from .galerafiles import GaleraFileError, GraState, parse_grastate, parse_recovered_position
from .phase import read_phase
from .process import ProcessInfo, find_server

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: check_galera starts faster
if TYPE_CHECKING:
    import pymysql

log = logging.getLogger(__name__)

# Variables (not status) the snapshot needs; one multi-statement query reads them with the status.
VARIABLES = (
    "wsrep_on",
    "wsrep_desync",
    "wsrep_reject_queries",
    "wsrep_cluster_name",
    "wsrep_node_name",
    "wsrep_sst_method",
    "wsrep_sst_donor_rejects_queries",
    "wsrep_notify_cmd",  # galera-snmp doctor: is our hook the one mysqld runs?
    "read_only",
    "super_read_only",  # MySQL and Percona only
    "pxc_maint_mode",  # Percona XtraDB Cluster only
    "wsrep_provider_options",  # gcache.size
)
# Last, because it needs a SELECT grant and fails on a non-Primary node; the SHOWs still count.
_MEMBERS = (
    "SELECT node_uuid, node_name, node_incoming_address, cluster_uuid FROM mysql.wsrep_cluster_members"
    " ORDER BY node_uuid"
)
_QUERY = "SHOW GLOBAL STATUS LIKE 'wsrep%'; SHOW GLOBAL VARIABLES WHERE Variable_name IN ({}); {}".format(
    ", ".join(f"'{name}'" for name in VARIABLES), _MEMBERS
)


CLEAR_TEXT_PLUGINS = (b"mysql_clear_password", b"dialog")  # the password itself goes on the wire


class ClearTextRefused(Exception):
    """The server asked for the password in clear text over TCP, or to encrypt it with a key
    only the server vouches for."""


class _RefuseClearText:
    """PyMySQL's handler for those plugins (it calls ``authenticate`` before its own code)."""

    def __init__(self, connection: object) -> None:
        self.connection = connection

    def authenticate(self, packet: object) -> None:
        raise ClearTextRefused("refusing to send the password in clear text over TCP (the server asked for it)")


KEY_REFUSED = ("refusing to encrypt the password with a public key the server sent (anyone on its port could "
               "have sent it): set ssl_ca or server_public_key_path in the option file, or use the socket")


def _tcp_connection_class(pymysql: ModuleType) -> type:
    """PyMySQL's connection, for TCP without TLS: caching_sha2_password's full authentication and
    sha256_password encrypt the password with the server's RSA key, and PyMySQL asks the server
    for it; whatever holds the port would then decrypt the password. Here only a key the operator
    pinned (server_public_key_path) is used, and a key the server sends is refused."""

    class PinnedKeyConnection(pymysql.connections.Connection):  # type: ignore[name-defined,misc]
        @property
        def server_public_key(self) -> bytes | None:
            return self._pinned_key

        @server_public_key.setter
        def server_public_key(self, key: bytes | None) -> None:
            if "_pinned_key" in self.__dict__:  # set once by __init__; after that only by the server
                raise ClearTextRefused(KEY_REFUSED)
            self._pinned_key = key

    return PinnedKeyConnection


def tcp_connect_arguments(opts: ClientOptions) -> dict[str, object]:
    """How to reach the server over TCP without giving the password to whoever holds the port:
    TLS with the server's certificate and name verified (ssl_ca), else a pinned RSA key for the
    plugins that encrypt the password; the clear-text plugins are always refused."""
    kwargs: dict[str, object] = {
        "host": opts.host or "localhost",
        "port": opts.port,
        "auth_plugin_map": dict.fromkeys(CLEAR_TEXT_PLUGINS, _RefuseClearText),
    }
    if opts.ssl_ca:
        kwargs.update(ssl_ca=opts.ssl_ca, ssl_verify_cert=True, ssl_verify_identity=True)
        return kwargs
    # Once ``ssl`` is loaded, PyMySQL tries TLS with any certificate unless told not to, and then
    # sends the password in clear inside it (the server "is secure").
    kwargs["ssl_disabled"] = True
    if opts.server_public_key_path:
        try:
            kwargs["server_public_key"] = Path(opts.server_public_key_path).read_bytes()
        except OSError as err:
            raise ConfigError(f"server_public_key_path {opts.server_public_key_path}: {err.strerror}") from None
    return kwargs


class RecoveryError(Exception):
    """``--wsrep-recover`` could not run or found no position."""


def _load_pymysql(over_socket: bool, tls: bool) -> ModuleType:
    """PyMySQL, loaded without the modules this connection never uses.

    On a unix socket the server takes the password without TLS or an RSA exchange; loading
    ``ssl`` and ``cryptography`` for nothing is about a third of a short-lived check's run time.
    Over TCP ``cryptography`` stays (a pinned RSA key needs it), and ``ssl`` when the option file
    asks for TLS. PyMySQL treats both as optional; a process that already has PyMySQL keeps it.
    """
    if "pymysql" in sys.modules:
        return sys.modules["pymysql"]
    unused = ("ssl", "cryptography") if over_socket else () if tls else ("ssl",)
    hidden = [name for name in unused if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import pymysql
    finally:
        for name in hidden:
            del sys.modules[name]
    return pymysql


def _classify_error(exc: BaseException) -> MysqlFailure:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain:
        chain.append(current)
        current = getattr(current, "original_exception", None) or current.__cause__ or current.__context__
    for item in chain:
        if isinstance(item, TimeoutError):
            return MysqlFailure.TIMEOUT
        if isinstance(item, (ConnectionRefusedError, FileNotFoundError)):
            return MysqlFailure.REFUSED
    if _mysql_error_code(exc) in (1044, 1045, 1698):
        return MysqlFailure.ACCESS_DENIED
    return MysqlFailure.ERROR


def _is_pymysql_error(exc: BaseException) -> bool:
    errors = sys.modules.get("pymysql.err")  # loaded by whoever raised one
    return errors is not None and isinstance(exc, errors.MySQLError)


def _mysql_error_code(exc: BaseException) -> int | None:
    """The error number of a PyMySQL error (it carries ``(code, message)``), else None."""
    return exc.args[0] if _is_pymysql_error(exc) and len(exc.args) >= 2 else None


def _error_text(exc: BaseException) -> str:
    if _mysql_error_code(exc) is not None:
        return f"{exc.args[1]} ({exc.args[0]})"
    return str(exc) or type(exc).__name__


MULTI_STATEMENTS = 1 << 16  # pymysql.constants.CLIENT.MULTI_STATEMENTS: the probe's one round trip


def connect(opts: ClientOptions, **kwargs: object) -> pymysql.connections.Connection:
    """A connection as the option file says: its unix socket (host unset or localhost), else TCP
    as :func:`tcp_connect_arguments` makes it safe. Every connection we open goes through here."""
    over_socket = bool(opts.socket) and opts.host in (None, "localhost")
    pymysql = _load_pymysql(over_socket, tls=bool(opts.ssl_ca))
    kwargs.update(user=opts.user or "", password=opts.password or "", autocommit=True)
    if over_socket:
        # TLS on a local socket buys nothing and costs ~45 ms a connect
        return pymysql.connect(unix_socket=opts.socket, ssl_disabled=True, **kwargs)
    kwargs.update(tcp_connect_arguments(opts))
    connection = pymysql.connections.Connection if opts.ssl_ca else _tcp_connection_class(pymysql)
    return connection(**kwargs)


class MysqlReader:
    """Reads wsrep status and variables over one connection, reconnecting after any error."""

    def __init__(self, config: Config) -> None:
        self._config = config
        self._conn: pymysql.connections.Connection | None = None
        read_option_file(config.mysql.option_file, config.mysql.option_group)  # fail early and clearly

    def _connect(self) -> pymysql.connections.Connection:
        cfg = self._config.mysql
        return connect(read_option_file(cfg.option_file, cfg.option_group), connect_timeout=cfg.connect_timeout,
                       read_timeout=cfg.read_timeout, write_timeout=cfg.read_timeout, client_flag=MULTI_STATEMENTS)

    def read(self) -> MysqlReading:
        try:
            if self._conn is None:
                self._conn = self._connect()
            with self._conn.cursor() as cur:
                cur.execute(_QUERY)
                status = {str(k).lower(): _decode(v) for k, v in cur.fetchall()}
                cur.nextset()
                variables = {str(k).lower(): _decode(v) for k, v in cur.fetchall()}
                members, members_error = self._members(cur)
            return MysqlReading(status=status, variables=variables, members=members, members_error=members_error)
        except ConfigError as err:
            self.close()
            return MysqlReading(failure=MysqlFailure.ERROR, error=str(err))
        except Exception as err:  # noqa: BLE001 - any failure is reported, never raised
            self.close()
            return MysqlReading(failure=_classify_error(err), error=_error_text(err))

    @staticmethod
    def _members(cur: pymysql.cursors.Cursor) -> tuple[tuple[Member, ...] | None, str | None]:
        try:
            cur.nextset()
            rows = cur.fetchall()
        except Exception as err:
            if not _is_pymysql_error(err):
                raise
            return None, _error_text(err)
        return tuple(Member(*(_decode(v) for v in row)) for row in rows), None

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # closing a broken connection may fail; nothing to do
                self._conn.close()
            self._conn = None


def _decode(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


@contextlib.contextmanager
def datadir_lock(datadir: Path) -> Iterator[None]:
    """Exclusive use of the datadir among our programs: a recovery run, or galera-init starting
    mysqld, never overlaps another (two mariadbd on one datadir would fight over InnoDB)."""
    try:
        fd = os.open(datadir, os.O_RDONLY)
    except OSError as err:
        raise RecoveryError(f"cannot open datadir {datadir}: {err.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def recover_position(server: ServerConfig) -> Position:
    """Run ``mysqld --wsrep-recover`` and read the position from its error log.

    MariaDB writes the position to the error log, not stdout, so the log goes to a private
    temporary file. The datadir is flock()ed so two probes never recover at once.
    """
    import subprocess  # here: a check_galera run never recovers, and never pays for it

    with tempfile.TemporaryDirectory(prefix="galera-recover-") as tmp:
        os.chmod(tmp, 0o711)  # the server drops to its user and must reach the log file
        logfile = Path(tmp) / "recover.log"
        logfile.touch(mode=0o600)
        argv = [server.mysqld]
        if server.defaults_file:
            argv.append(f"--defaults-file={server.defaults_file}")
        argv += [f"--datadir={server.datadir}", "--wsrep-recover", f"--log-error={logfile}"]
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam(server.user)
            except KeyError:
                raise RecoveryError(f"no such user {server.user!r} to run the recovery as") from None
            os.chown(logfile, account.pw_uid, account.pw_gid)
            argv.append(f"--user={server.user}")
        try:
            with datadir_lock(server.datadir):
                if find_server(server).state is not ProcessState.ABSENT:
                    raise RecoveryError("mysqld started meanwhile; recovery skipped")
                subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    timeout=server.recover_timeout,
                    check=False,
                )
        except subprocess.TimeoutExpired:
            raise RecoveryError(f"--wsrep-recover did not finish within {server.recover_timeout:g} s") from None
        except OSError as err:
            raise RecoveryError(f"cannot run {server.mysqld}: {err.strerror or err}") from None
        try:
            return parse_recovered_position(logfile.read_bytes())
        except GaleraFileError as err:
            raise RecoveryError(str(err)) from None


def read_grastate(datadir: Path) -> GraState | str | None:
    """The datadir's grastate.dat parsed, None when there is none, or why it cannot be read."""
    path = datadir / "grastate.dat"
    try:
        return parse_grastate(read_regular(path)[0])
    except FileNotFoundError:
        return None
    except OSError as err:
        return f"cannot read {path}: {err.strerror}"
    except GaleraFileError as err:
        return f"{path}: {err}"


RECOVERED_FILE = "recovered.json"  # in [agent] state_dir: the agent's last recovery, for one-shot commands


class Probe(contextlib.AbstractContextManager["Probe"]):
    """Takes snapshots of the local node. Keep one per process: it reuses its connection and
    remembers a recovered position until the datadir changes.

    Only a long-running probe (``recover=True``: the agent, galera-init) runs ``--wsrep-recover``;
    it keeps the outcome in ``[agent] state_dir``. One-shot commands (galera-check, check_galera,
    the track-file writer: a ``vrrp_script`` runs them every second, as root) read that file, and
    report the position as unknown, with the reason, when it does not match the datadir as it is.
    """

    def __init__(self, config: Config, recover: bool = True) -> None:
        self.config = config
        self.recover = recover
        self._mysql = MysqlReader(config)
        self._recovered: tuple[tuple[object, ...], Position | str] | None = None
        self._committed: deque[tuple[float, Position]] = deque()  # live positions in a Primary, oldest first

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._mysql.close()

    def snapshot(self) -> NodeState:
        """The node now: observe, recover when :func:`recovery_wanted` says so, assemble."""
        observation = self.observe()
        recover = self.config.server.recover
        if recovery_wanted(observation, recover):
            outcome = self._recover() if self.recover else self._kept(self._datadir_key())
            observation = replace(observation, recovered=outcome)
        state = assemble(observation, recover=recover)
        if self.recover and isinstance(observation.history, history.KnownHistory):
            self._keep_history(observation.history, state)
        return state

    def _keep_history(self, known: history.KnownHistory, state: NodeState) -> None:
        """Remember the node's history and the last position it saw committed in it
        (node/history.py); failing to is logged, never fatal."""
        taken = history.to_keep(known, state)
        keep = history.seen_to_keep(taken or known, self._committed_long_enough(state), time.time()) or taken
        if keep is None:
            return
        try:
            history.write(self.config.agent.state_dir, keep)
            if keep.uuid != known.uuid:
                log.info("history %s kept", keep.uuid)
        except OSError as err:
            log.warning("cannot keep the history in %s: %s", self.config.agent.state_dir, err.strerror or err)

    def _committed_long_enough(self, state: NodeState) -> Position | None:
        """The newest live position of a Primary component seen at least SEEN_LAG seconds ago (a
        crash may lose the last second of commits from InnoDB's log without losing them from the
        cluster): what may be kept as seen."""
        now = time.monotonic()
        position = state.position
        if state.says_primary and position.source is SeqnoSource.LIVE and position.is_known:
            self._committed.append((now, position))
        while len(self._committed) > 1 and now - self._committed[1][0] >= history.SEEN_LAG:
            self._committed.popleft()
        if self._committed and now - self._committed[0][0] >= history.SEEN_LAG:
            return self._committed[0][1]
        return None

    def exit_snapshot(self, pid: int) -> NodeState:
        """The node the moment its mysqld (``pid``) exited, from another thread than snapshot()'s:
        no MySQL read (there is no server to ask, and the probe's connection is the other thread's)
        and no ``--wsrep-recover`` (it takes a while: the next snapshot runs it). The track file and
        the HTTP check say so at once."""
        observation = self.observe(exited=pid)
        if recovery_wanted(observation, self.config.server.recover):
            observation = replace(observation, recovered=RECOVERY_PENDING)
        return assemble(observation, recover=self.config.server.recover)

    def observe(self, exited: int | None = None) -> Observation:
        """Everything a snapshot needs from the node, except a recovery run. ``exited``: the pid of
        a mysqld known to have exited (its pidfd said so): it is not asked."""
        taken_at = time.time()
        datadir = self.config.server.datadir
        if exited is not None:
            reading = MysqlReading(failure=MysqlFailure.REFUSED, error=f"mysqld (pid {exited}) exited")
        else:
            reading = self._mysql.read()
        # After the read, so the process state explains its outcome: a server that was just
        # stopped by a signal or died while we waited shows as such, not as it was before. One
        # that has just exited is gone (no /proc scan: this snapshot is to be out at once).
        proc = ProcessInfo(ProcessState.ABSENT, None) if exited is not None else find_server(self.config.server)
        if exited is None and proc.state is ProcessState.ABSENT and reading.failure is MysqlFailure.ERROR:
            # No server, yet the socket took the connection: a --wsrep-recover run binds it for a
            # moment and resets what it accepted when it exits. Asking again tells that apart
            # from a server we cannot see.
            reading = self._mysql.read()
            proc = find_server(self.config.server)
        return Observation(
            taken_at=taken_at,
            reading=reading,
            process=proc.state,
            pid=proc.pid,
            grastate=self._grastate(),
            sst_in_progress=(datadir / "sst_in_progress").exists(),
            initialized=(datadir / "mysql").is_dir(),
            gvwstate_present=(datadir / "gvwstate.dat").exists(),
            phase=read_phase(self.config.init.phase_file),
            drained=self.config.drain_file.exists(),
            history=history.read(self.config.agent.state_dir),
            promotion=promotion.read(self.config.agent.state_dir),
        )

    def _grastate(self) -> GraState | str:
        """The parsed grastate.dat, or the note saying why there is none."""
        grastate = read_grastate(self.config.server.datadir)
        return f"{self.config.server.datadir / 'grastate.dat'} does not exist" if grastate is None else grastate

    def _datadir_key(self) -> tuple[object, ...]:
        """Changes whenever something may have changed the recovered position."""
        key: list[object] = []
        for name in ("grastate.dat", "ib_logfile0", "ibdata1"):
            try:
                info = os.stat(self.config.server.datadir / name)
                key.append((name, info.st_mtime_ns, info.st_size, info.st_ino))
            except OSError:
                key.append((name, None))
        return tuple(key)

    def _recover(self) -> Position | str:
        """The recovered position, or the recovery's error, both remembered until the datadir
        changes: a failing recovery is not rerun at every refresh. A position another probe kept
        for the datadir as it is (the agent's, read by galera-init at boot, or by the agent itself
        after a restart) is that run's result: recovering again would find the same."""
        key = self._datadir_key()
        if self._recovered and self._recovered[0] == key:
            return self._recovered[1]
        kept = self._kept(key)
        if isinstance(kept, Position):
            self._recovered = (key, kept)
            return kept
        outcome: Position | str
        try:
            outcome = recover_position(self.config.server)
            log.info("recovered position %s", outcome)
        except RecoveryError as err:
            outcome = str(err)
        except OSError as err:  # temporary directory, chown, lock: never escapes the probe
            outcome = f"recovery could not run: {err.strerror or err}"
        self._recovered = (self._datadir_key(), outcome)
        self._keep(*self._recovered)
        return outcome

    def _keep(self, key: tuple[object, ...], outcome: Position | str) -> None:
        """Leave the outcome for one-shot commands; failing to is logged, never fatal."""
        record: dict[str, object] = {"datadir": str(self.config.server.datadir), "key": key}
        if isinstance(outcome, Position):
            record |= {"uuid": outcome.uuid, "seqno": outcome.seqno}
        else:
            record["error"] = outcome
        folder = self.config.agent.state_dir
        try:
            folder.mkdir(mode=0o755, parents=True, exist_ok=True)
            write_atomically(folder / RECOVERED_FILE, json.dumps(record) + "\n")
        except OSError as err:
            log.warning("cannot keep the recovered position in %s: %s", folder, err.strerror or err)

    def _kept(self, key: tuple[object, ...]) -> Position | str:
        """The outcome kept in ``state_dir`` for the datadir in state ``key``, or why there is none."""
        path = self.config.agent.state_dir / RECOVERED_FILE
        hint = "one-shot commands never run --wsrep-recover; galera-snmp-agent does and keeps its result"
        try:
            record = json.loads(read_regular(path)[0])
            key = json.loads(json.dumps(key))  # as it was written
            if record.get("datadir") != str(self.config.server.datadir) or record.get("key") != key:
                return f"no recovered position for the datadir as it is now ({hint})"
            if "error" in record:
                return f"the agent's recovery failed: {record['error']}"
            uuid, seqno = record["uuid"], record["seqno"]
            if not isinstance(uuid, str) or type(seqno) is not int:
                raise ValueError("not a position")
            return Position(uuid, seqno, SeqnoSource.RECOVERED)
        except FileNotFoundError:
            return f"no recovered position in {path} ({hint})"
        except (OSError, ValueError, KeyError, TypeError) as err:
            return f"cannot read {path}: {err}"
