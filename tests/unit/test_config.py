"""The INI configuration and the my.cnf-style option file."""

import os
import pwd
from pathlib import Path

import pytest

from galera_snmp.cluster.peers import data_nodes, find_cluster
from galera_snmp.cluster.peerwatch import PeerWatch
from galera_snmp.config import (
    _SCHEMA,
    AgentCheckConfig,
    ClientOptions,
    ConfigError,
    HttpConfig,
    KeepalivedConfig,
    MetricsConfig,
    MysqlConfig,
    ServerConfig,
    load_config,
    read_option_file,
)
from galera_snmp.record import asdict, fields
from galera_snmp.state import HealthPolicy


def write(path, text, mode=None):
    path.write_text(text, encoding="utf-8")
    if mode is not None:
        os.chmod(path, mode)
    return path


# --- load_config -----------------------------------------------------------------------------

FULL = """\
[mysql]
option_file = secrets/client.cnf
option_group = galera-snmp
connect_timeout = 1.5
read_timeout = 3

[server]
datadir = data
defaults_file = /etc/mysql/my.cnf
mysqld = /usr/local/sbin/mariadbd
user = maria
recover = no
recover_timeout = 60

[health]
donor_serves = yes
desync_serves = On
drain_file = run/drained

[keepalived]
track_file = run/keepalived.track

[http]
enabled = yes
address = ::
port = 9201
"""


def test_full_config_resolves_relative_paths(tmp_path):
    conf = write(tmp_path / "galera-snmp.conf", FULL)
    config = load_config(conf)
    assert config.path == conf
    assert config.mysql == MysqlConfig(
        option_file=tmp_path / "secrets" / "client.cnf",
        option_group="galera-snmp",
        connect_timeout=1.5,
        read_timeout=3.0,
    )
    assert config.server == ServerConfig(
        datadir=tmp_path / "data",
        defaults_file=Path("/etc/mysql/my.cnf"),
        mysqld="/usr/local/sbin/mariadbd",
        user="maria",
        recover=False,
        recover_timeout=60.0,
    )
    assert config.health == HealthPolicy(donor_serves=True, desync_serves=True)
    assert config.drain_file == tmp_path / "run" / "drained"
    assert config.keepalived == KeepalivedConfig(track_file=tmp_path / "run" / "keepalived.track")
    assert config.http == HttpConfig(enabled=True, address="::", port=9201)


def test_relative_paths_are_relative_to_the_config_folder_not_the_cwd(tmp_path, monkeypatch):
    folder = tmp_path / "etc"
    folder.mkdir()
    write(folder / "galera-snmp.conf", "[mysql]\noption_file = client.cnf\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(str(folder / "galera-snmp.conf"))
    assert config.mysql.option_file == folder / "client.cnf"


def test_defaults(tmp_path):
    conf = write(tmp_path / "galera-snmp.conf", "[mysql]\noption_file = /etc/galera-snmp/client.cnf\n")
    config = load_config(conf)
    assert config.mysql.option_file == Path("/etc/galera-snmp/client.cnf")
    assert config.mysql.option_group == "client"
    assert config.mysql.connect_timeout == 2.0
    assert config.mysql.read_timeout == 2.0
    assert config.server == ServerConfig()
    assert config.server.datadir == Path("/var/lib/mysql")
    assert config.server.recover is True
    assert config.health == HealthPolicy(donor_serves=False, desync_serves=False)
    assert config.drain_file == Path("/var/lib/galera-snmp/drained")
    assert config.keepalived.track_file is None  # no track file unless asked for
    assert config.http == HttpConfig(enabled=False, address="0.0.0.0", port=9200)
    assert config.metrics == MetricsConfig(enabled=False, address="", port=9201, web_config=None)


def test_the_endpoints_keys_are_read_in_order_with_each_sections_defaults() -> None:
    """[http], [metrics] and [agentcheck] share their keys (EndpointConfig), not their defaults."""
    assert asdict(HttpConfig()) == {"enabled": False, "address": "0.0.0.0", "port": 9200, "request_timeout": 2.0,
                                    "max_connections": 64, "detailed_reasons": False}
    assert asdict(MetricsConfig()) == {"enabled": False, "address": "", "port": 9201, "request_timeout": 2.0,
                                       "max_connections": 16, "detailed_reasons": False, "web_config": None}
    assert asdict(AgentCheckConfig()) == {"enabled": False, "address": "0.0.0.0", "port": 9300, "request_timeout": 2.0,
                                          "max_connections": 64, "detailed_reasons": False, "queue_full": 16,
                                          "paused_full": 0.25, "floor": 10}
    assert fields(HttpConfig) == tuple(_SCHEMA["http"])
    assert fields(MetricsConfig) == tuple(_SCHEMA["metrics"])
    assert fields(AgentCheckConfig) == tuple(_SCHEMA["agentcheck"])


@pytest.mark.parametrize(
    ("value", "expected"),
    [("yes", True), ("TRUE", True), ("on", True), ("1", True), ("no", False), ("False", False), ("OFF", False),
     ("0", False)],
)
def test_bool_words(tmp_path, value, expected):
    conf = write(tmp_path / "c.conf", f"[mysql]\noption_file = x.cnf\n[health]\ndonor_serves = {value}\n")
    assert load_config(conf).health.donor_serves is expected


def nodes(init: str, cluster: str = "") -> str:
    """A config with these [init] and [cluster] lines."""
    return f"[mysql]\noption_file = c.cnf\n[init]\n{init}\n[cluster]\n{cluster}\n"


NODE_SET_ERRORS = [  # the node set and what names its nodes, refused at load (from [init] nodes)
    pytest.param(nodes("nodes = 10.0.0.11, 10.0.0.11:4567"),
                 ["[init] nodes: 10.0.0.11 is named twice (10.0.0.11, 10.0.0.11:4567)"], id="node-twice"),
    pytest.param(nodes("nodes = db1.example, DB1.Example."),
                 ["[init] nodes: db1.example is named twice (db1.example, DB1.Example.)"], id="node-twice-spelt-apart"),
    pytest.param(nodes("nodes = 10.0.0.11,,10.0.0.12"), ["[init] nodes", "'10.0.0.11,,10.0.0.12'",
                 "not a comma-separated list"], id="node-list-with-a-gap"),
    pytest.param(nodes("nodes = garbd:4567\narbitrators = GARBD"),
                 ["[init] nodes: no data node among garbd once the [init] arbitrators are left out"],
                 id="no-data-node"),
    pytest.param(nodes("arbitrators = garbd, garbd:4567"), ["[init] arbitrators: garbd is named twice"],
                 id="arbitrator-twice"),
    pytest.param(nodes("", "sites = db1=east, DB1.=west"), ["[cluster] sites: db1 is named twice (db1, DB1.)"],
                 id="site-twice-spelt-apart"),
    pytest.param(nodes("nodes = a, b", "sites = a=east, typo=west"),
                 ["[cluster] sites: typo not among the data nodes (a, b)"], id="site-not-a-node"),
    pytest.param(nodes("nodes = a, b, garbd\narbitrators = garbd", "sites = a=east, garbd=west"),
                 ["[cluster] sites: garbd not among the data nodes (a, b)"], id="site-an-arbitrator"),
    pytest.param(nodes("nodes = a, b", "writers = b, c, d"),
                 ["[cluster] writers: c, d not among the data nodes (a, b)"], id="writer-not-a-node"),
    pytest.param(nodes("nodes = a, b", "writers = a, b, A:4567"), ["[cluster] writers: a is named twice (a, A:4567)"],
                 id="writer-twice"),
    pytest.param(nodes("", "writers = a, a"), ["[cluster] writers: a is named twice"], id="writer-twice-without-nodes"),
]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param("[mysql]\noption_file = c.cnf\n[snmp]\nport = 705\n", ["[snmp]", "unknown section"],
                     id="unknown-section"),
        pytest.param("[mysql]\noption_file = c.cnf\npasword = secret\n", ["[mysql]", "'pasword'", "unknown key"],
                     id="unknown-key"),
        pytest.param("[mysql]\noption_file = c.cnf\nconnect_timeout = soon\n", ["connect_timeout", "'soon'"],
                     id="non-numeric-timeout"),
        pytest.param("[mysql]\noption_file = c.cnf\nread_timeout = 0\n", ["read_timeout"], id="zero-timeout"),
        pytest.param("[mysql]\noption_file = c.cnf\nread_timeout = -1\n", ["read_timeout"], id="negative-timeout"),
        pytest.param("[mysql]\noption_file = c.cnf\nread_timeout = nan\n", ["read_timeout"], id="nan-timeout"),
        pytest.param("[mysql]\noption_file = c.cnf\n[server]\nrecover_timeout = 86400\n", ["recover_timeout"],
                     id="huge-timeout"),
        pytest.param("[mysql]\noption_file = c.cnf\n[health]\ndonor_serves = maybe\n", ["donor_serves", "'maybe'"],
                     id="bad-bool"),
        pytest.param("[mysql]\noption_file = c.cnf\n[server]\nrecover = 2\n", ["recover", "'2'"], id="bad-bool-2"),
        pytest.param("[mysql]\noption_file = c.cnf\n[http]\nport = http\n", ["[http] port", "'http'"], id="port-word"),
        pytest.param("[mysql]\noption_file = c.cnf\n[http]\nport = 0\n", ["[http] port", "'0'"], id="port-zero"),
        pytest.param("[mysql]\noption_file = c.cnf\n[http]\nport = 65536\n", ["[http] port"], id="port-too-big"),
        pytest.param("[mysql]\noption_file = c.cnf\n[http]\nenabled = sure\n", ["[http] enabled"], id="http-bool"),
        pytest.param("[mysql]\noption_file = c.cnf\n[keepalived]\ntrack_file =\n", ["track_file", "empty"],
                     id="empty-track-file"),
        pytest.param("[mysql]\noption_group = client\n", ["option_file", "required"], id="missing-option-file"),
        pytest.param("", ["option_file"], id="empty-file"),
        pytest.param("[mysql]\noption_file =\n", ["option_file", "empty"], id="empty-option-file"),
        pytest.param("[mysql]\noption_file = c.cnf\n[server]\nmysqld =\n", ["mysqld", "empty"], id="empty-mysqld"),
        pytest.param("this is not an ini file\n", ["not a valid INI"], id="no-section-header"),
        pytest.param("<?xml version='1.0'?>\n<config/>\n", ["not a valid INI"], id="xml"),
        pytest.param("[mysql]\noption_file = a\noption_file = b\n", ["not a valid INI"], id="duplicate-key"),
        pytest.param("[mysql\noption_file = a\n", ["not a valid INI"], id="broken-header"),
        pytest.param("[mysql]\noption_file = c.cnf\n[cluster]\nsites = db1=east, db2\n", ["[cluster] sites", "'db2'",
                     "not node=site"], id="site-without-name"),
        pytest.param("[mysql]\noption_file = c.cnf\n[cluster]\nsites = db1=east, db1=west\n", ["db1 is named twice"],
                     id="site-twice"),
        *NODE_SET_ERRORS,
    ],
)
def test_bad_config_names_file_and_key(tmp_path, text, words):
    conf = write(tmp_path / "galera-snmp.conf", text)
    with pytest.raises(ConfigError) as info:
        load_config(conf)
    message = str(info.value)
    assert str(conf) in message
    for word in words:
        assert word in message
    assert len(message.splitlines()) == 1


def test_binary_config_is_config_error(tmp_path):
    conf = tmp_path / "galera-snmp.conf"
    conf.write_bytes(b"\xff\xfe\x00\x01[mysql]\x80\x81\n")
    with pytest.raises(ConfigError, match="not a valid INI") as info:
        load_config(conf)
    assert str(conf) in str(info.value)


def test_missing_config_file(tmp_path):
    conf = tmp_path / "nowhere" / "galera-snmp.conf"
    with pytest.raises(ConfigError, match="cannot read config") as info:
        load_config(conf)
    assert str(conf) in str(info.value)
    assert "No such file" in str(info.value)


def test_config_that_is_a_directory(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path)
    assert str(tmp_path) in str(info.value)


# --- read_option_file ------------------------------------------------------------------------

OPTIONS = """\
# credentials for galera-snmp
[mysqld]
port = 3307

[client]
user = monitor
password = "s3cr3t pass"
socket = '/run/mysqld/mysqld.sock'
host = 127.0.0.11
port = 3306
"""


def test_read_option_file(tmp_path):
    path = write(tmp_path / "client.cnf", OPTIONS, 0o600)
    options = read_option_file(path)
    assert options == ClientOptions(
        user="monitor", password="s3cr3t pass", host="127.0.0.11", port=3306, socket="/run/mysqld/mysqld.sock"
    )
    assert type(options.port) is int


def test_read_option_file_other_group_and_defaults(tmp_path):
    path = write(tmp_path / "client.cnf", "[galera-snmp]\nuser=probe\n[client]\nuser=other\n", 0o600)
    options = read_option_file(path, "galera-snmp")
    assert options.user == "probe"
    assert options.password is None
    assert options.host is None
    assert options.socket is None
    assert options.port == 3306


def test_read_option_file_quoted_port(tmp_path):
    path = write(tmp_path / "client.cnf", "[client]\nport = '3307'\n", 0o600)
    assert read_option_file(path).port == 3307


def test_read_option_file_unquoted_hash_starts_a_comment(tmp_path):
    # As the MySQL client library reads it: my_print_defaults prints --password=pa here.
    path = write(tmp_path / "client.cnf", "[client]\npassword = pa#ss  # the monitor password\n", 0o600)
    assert read_option_file(path).password == "pa"


def test_read_option_file_quoted_password_with_comment_character(tmp_path):
    # MySQL: quote a value "which is useful if the value contains a # comment character".
    path = write(tmp_path / "client.cnf", '[client]\nuser = monitor\npassword = "se #cret"\n', 0o600)
    assert read_option_file(path).password == "se #cret"


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o400, 0o660])
def test_option_file_readable_by_group_is_accepted(tmp_path, mode):
    path = write(tmp_path / "client.cnf", "[client]\nuser = monitor\npassword = x\n", mode)
    assert read_option_file(path).user == "monitor"


@pytest.mark.parametrize("mode", [0o644, 0o606, 0o604, 0o602, 0o666])
def test_option_file_accessible_by_others_is_refused(tmp_path, mode):
    path = write(tmp_path / "client.cnf", "[client]\nuser = monitor\npassword = x\n", mode)
    with pytest.raises(ConfigError, match="others") as info:
        read_option_file(path)
    message = str(info.value)
    assert str(path) in message
    assert f"{mode:04o}" in message
    assert "password = x" not in message


def test_option_file_missing_group(tmp_path):
    path = write(tmp_path / "client.cnf", "[mysqld]\nport = 3306\n", 0o600)
    with pytest.raises(ConfigError, match=r"no \[client\] group") as info:
        read_option_file(path)
    assert str(path) in str(info.value)


def test_option_file_missing(tmp_path):
    path = tmp_path / "absent.cnf"
    with pytest.raises(ConfigError, match="cannot read option file") as info:
        read_option_file(path)
    assert str(path) in str(info.value)


def test_option_file_directory_is_refused(tmp_path):
    folder = tmp_path / "client.cnf"
    folder.mkdir(mode=0o700)
    with pytest.raises(ConfigError, match="not a regular file"):
        read_option_file(folder)


@pytest.mark.parametrize("port", ["abc", "3306x", "33.06"])
def test_option_file_port_not_a_number(tmp_path, port):
    path = write(tmp_path / "client.cnf", f"[client]\nuser = monitor\nport = {port}\n", 0o600)
    with pytest.raises(ConfigError, match="port") as info:
        read_option_file(path)
    assert str(path) in str(info.value)
    assert repr(port) in str(info.value)


def test_option_file_not_ini(tmp_path):
    path = write(tmp_path / "client.cnf", "user=monitor\n", 0o600)
    with pytest.raises(ConfigError, match=r"not a valid my\.cnf") as info:
        read_option_file(path)
    assert str(path) in str(info.value)


def test_client_options_repr_hides_password():
    options = ClientOptions(user="monitor", password="hunter2-very-secret", host="127.0.0.11")
    assert "hunter2-very-secret" not in repr(options)
    assert "hunter2-very-secret" not in str(options)
    assert "monitor" in repr(options)


def test_client_options_from_file_repr_hides_password(tmp_path):
    path = write(tmp_path / "client.cnf", "[client]\nuser = monitor\npassword = 'hunter2-very-secret'\n", 0o600)
    options = read_option_file(path)
    assert options.password == "hunter2-very-secret"
    assert "hunter2-very-secret" not in repr(options)


def test_the_readme_example_config_loads_as_documented(tmp_path):
    """The INI example in the README (with its inline comments) means what it says."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("## Configuration", 1)[1].split("```ini", 1)[1].split("```", 1)[0]
    path = tmp_path / "galera-snmp.conf"
    path.write_text(example)
    config = load_config(path)
    assert config.mysql.option_file == Path("/etc/galera-snmp/client.cnf")
    assert config.mysql.connect_timeout == 2.0
    assert config.server.defaults_file == Path("/etc/mysql/my.cnf")
    assert config.health.donor_serves is False
    assert config.drain_file == Path("/var/lib/galera-snmp/drained")
    assert config.keepalived.track_file == Path("/run/galera-snmp/keepalived.track")
    assert config.http == HttpConfig(enabled=False, address="0.0.0.0", port=9200)
    assert config.metrics == MetricsConfig(enabled=False, address="192.0.2.11", port=9201, web_config=None)
    assert config.agent.socket == Path("/var/agentx/master")


def test_the_init_doc_example_config_loads_as_documented(tmp_path):
    """docs/INIT.md's [init] example, arbitrators included, means what it says."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "INIT.md").read_text()
    example = doc.split("## Configuration", 1)[1].split("```ini", 1)[1].split("```", 1)[0]
    path = tmp_path / "galera-snmp.conf"
    path.write_text("[mysql]\noption_file = client.cnf\n" + example)
    init = load_config(path).init
    assert (init.nodes, init.address, init.arbitrators) == (
        ("10.0.0.11", "10.0.0.12", "10.0.0.13"), "10.0.0.11", ("10.0.0.20",))
    assert (init.poll_period, init.deadline, init.stop_command) == (2.0, 60.0, "")
    assert (init.spare_writer, init.donor_file) == (False, Path("/etc/mysql/mariadb.conf.d/99-galera-snmp-donor.cnf"))


def test_init_arbitrators_are_a_list_and_default_to_none(tmp_path):
    conf = write(tmp_path / "c.conf", "[mysql]\noption_file = x.cnf\n[init]\narbitrators = garbd1, 10.0.0.20:4567\n")
    assert load_config(conf).init.arbitrators == ("garbd1", "10.0.0.20")  # normalised, as the nodes
    plain = write(tmp_path / "d.conf", "[mysql]\noption_file = x.cnf\n")
    assert load_config(plain).init.arbitrators == ()


def test_cluster_sites_map_nodes_to_sites_and_default_to_none(tmp_path):
    conf = write(tmp_path / "c.conf", "[mysql]\noption_file = x.cnf\n[cluster]\n"
                 "sites = db1=east,db2 = east , db3=west\nsilent_after = 30\n")
    cluster = load_config(conf).cluster
    assert dict(cluster.sites) == {"db1": "east", "db2": "east", "db3": "west"} and cluster.silent_after == 30
    plain = write(tmp_path / "d.conf", "[mysql]\noption_file = x.cnf\n")
    assert dict(load_config(plain).cluster.sites) == {} and load_config(plain).cluster.watch


# --- the node set, [cluster] sites and writers ----------------------------------------------

GOOD_NODE_SETS = [  # [init] and [cluster] lines, wsrep_cluster_address; the nodes, sites and writers' order
    pytest.param("nodes = 10.0.0.13, 10.0.0.11:4567, 10.0.0.12\naddress = 10.0.0.13\n", "", "",
                 (("10.0.0.13", "10.0.0.11", "10.0.0.12"), {}, ("10.0.0.11", "10.0.0.12", "10.0.0.13")),
                 id="listed-order-kept-writers-by-address"),
    pytest.param("nodes = DB1.Example., [FD00::0001]:4567, 10.0.0.3:4567\naddress = fd00::1\n",
                 "sites = db1.example=east, FD00:0::1=west\nwriters = fd00::1, DB1.example\n", "",
                 (("db1.example", "fd00::1", "10.0.0.3"), {"db1.example": "east", "fd00::1": "west"},
                  ("fd00::1", "db1.example")), id="normal-forms"),
    pytest.param("nodes = 10.0.0.11, garbd.example:4567, 10.0.0.12\naddress = 10.0.0.11\n"
                 "arbitrators = GARBD.example\n", "sites = 10.0.0.11=east\n", "",
                 (("10.0.0.11", "10.0.0.12"), {"10.0.0.11": "east"}, ("10.0.0.11", "10.0.0.12")),
                 id="arbitrator-left-out"),
    pytest.param("nodes = db2, fd00::2, 10.0.0.10, 10.0.0.9\naddress = 10.0.0.9\n", "writers = 10.0.0.10\n", "",
                 (("db2", "fd00::2", "10.0.0.10", "10.0.0.9"), {}, ("10.0.0.10",)), id="writers-a-subset"),
    pytest.param("nodes = db2, fd00::2, 10.0.0.10, 10.0.0.9\naddress = 10.0.0.9\n", "", "",
                 (("db2", "fd00::2", "10.0.0.10", "10.0.0.9"), {}, ("10.0.0.9", "10.0.0.10", "fd00::2", "db2")),
                 id="default-writers-ipv4-ipv6-names"),
    pytest.param("address = 10.0.0.11\narbitrators = garbd\n",
                 "sites = 10.0.0.11=east, 10.0.0.12:4567=west\nwriters = 10.0.0.12, 10.0.0.11\n",
                 "gcomm://10.0.0.12:4567,10.0.0.11,garbd:4567?pc.wait_prim=no",
                 (("10.0.0.12", "10.0.0.11"), {"10.0.0.11": "east", "10.0.0.12": "west"}, ("10.0.0.12", "10.0.0.11")),
                 id="from-wsrep-cluster-address"),
]


@pytest.mark.parametrize(("init", "cluster", "cluster_address", "expected"), GOOD_NODE_SETS)
def test_good_configs_give_the_consumers_their_nodes_sites_and_writers(tmp_path, init, cluster, cluster_address,
                                                                       expected):
    """What galera-init, the agent's node set, ``galera-snmp status`` and the peer watch (sites,
    writer) work with, from [init] nodes or wsrep_cluster_address."""
    write(tmp_path / "my.cnf", f"[galera]\nwsrep_cluster_address = {cluster_address}\n" if cluster_address else "")
    conf = write(tmp_path / "galera-snmp.conf", "[mysql]\noption_file = x.cnf\n[server]\ndefaults_file = my.cnf\n"
                 f"[init]\nallow_v2c = yes\n{init}[cluster]\n{cluster}")
    config = load_config(conf)
    watch = PeerWatch(config, read=lambda targets: [])
    nodes, sites, writers = expected
    assert (data_nodes(config), find_cluster(config).nodes) == (nodes, nodes)
    assert (dict(watch.configured), watch.order) == (sites, writers)


# --- the main config as root -----------------------------------------------------------------

root_only = pytest.mark.skipif(os.geteuid() != 0, reason="the ownership rule applies to root")


@root_only
def test_as_root_a_config_another_user_owns_is_refused(tmp_path):
    conf = write(tmp_path / "galera-snmp.conf", "[mysql]\noption_file = client.cnf\n", 0o644)
    nobody = pwd.getpwnam("nobody")
    os.chown(conf, nobody.pw_uid, nobody.pw_gid)
    with pytest.raises(ConfigError) as info:
        load_config(conf)
    assert str(info.value) == (
        f"config {conf} is owned by uid {nobody.pw_uid}, not root; it names commands run as root: chown root it"
    )


@root_only
@pytest.mark.parametrize("mode", [0o664, 0o646, 0o666])
def test_as_root_a_config_others_may_write_is_refused(tmp_path, mode):
    conf = write(tmp_path / "galera-snmp.conf", "[mysql]\noption_file = client.cnf\n", mode)
    with pytest.raises(ConfigError, match=f"writable by others \\(mode {mode:04o}\\)"):
        load_config(conf)


@root_only
@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600, 0o444])
def test_as_root_a_root_owned_config_not_writable_by_others_loads(tmp_path, mode):
    write(tmp_path / "client.cnf", "[client]\nuser = monitor\n", 0o600)
    conf = write(tmp_path / "galera-snmp.conf", "[mysql]\noption_file = client.cnf\n", mode)
    assert load_config(conf).mysql.option_file == tmp_path / "client.cnf"


@root_only
@pytest.mark.parametrize(("mode", "owner", "refused"), [
    (0o777, 0, True),  # anyone may rename another file into its place
    (0o775, 0, True),
    (0o755, "nobody", True),  # its owner may
    (0o1777, 0, False),  # sticky, like /tmp: others cannot replace root's file
    (0o755, 0, False),
])
def test_as_root_a_config_in_a_folder_others_may_write_is_refused(tmp_path, mode, owner, refused):
    folder = tmp_path / "etc"
    folder.mkdir()
    conf = write(folder / "galera-snmp.conf", "[mysql]\noption_file = client.cnf\n", 0o644)
    os.chown(folder, pwd.getpwnam(owner).pw_uid if owner == "nobody" else 0, 0)
    folder.chmod(mode)
    if refused:
        with pytest.raises(ConfigError, match=f"its folder {folder} .* may be written by others"):
            load_config(conf)
    else:
        assert load_config(conf).path == conf


@root_only
def test_as_root_a_link_to_a_config_counts_the_folders_it_passes(tmp_path):
    trusted, open_ = tmp_path / "trusted", tmp_path / "open"
    trusted.mkdir()
    open_.mkdir(mode=0o777)
    open_.chmod(0o777)
    conf = write(trusted / "galera-snmp.conf", "[mysql]\noption_file = client.cnf\n", 0o644)
    (open_ / "link.conf").symlink_to(conf)  # whoever can write open/ can point the link elsewhere
    with pytest.raises(ConfigError, match=f"its folder {open_} "):
        load_config(open_ / "link.conf")


def test_a_fifo_option_file_is_refused_without_hanging(tmp_path):
    fifo = tmp_path / "client.cnf"
    os.mkfifo(fifo, 0o600)
    with pytest.raises(ConfigError, match="not a regular file"):
        read_option_file(fifo)


@pytest.mark.parametrize("value", ["²", "٣", "1²"])
def test_numbers_are_ascii_digits_only(tmp_path, value):
    """str.isdigit() takes superscripts and other scripts' digits, which int() then refuses."""
    write(tmp_path / "client.cnf", "[client]\nuser = monitor\n", 0o600)
    conf = write(tmp_path / "galera-snmp.conf", f"[mysql]\noption_file = client.cnf\n[http]\nport = {value}\n")
    with pytest.raises(ConfigError, match="port"):
        load_config(conf)
