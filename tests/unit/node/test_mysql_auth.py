"""The probe never sends the password in clear over TCP, whatever answers on the server's port."""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

import pytest
from support import stopped_node_config

from galera_snmp.config import load_config
from galera_snmp.node.probe import MysqlReader
from galera_snmp.state import MysqlFailure

PASSWORD = b"s3cret"  # what stopped_node_config writes into the option file
# CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | CLIENT_PLUGIN_AUTH
CAPABILITIES = 0x0200 | 0x8000 | 0x10000 | 0x80000


def packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def handshake() -> bytes:
    salt = b"abcdefghijklmnopqrst"
    return (
        b"\x0a5.5.5-10.11.6-MariaDB-fake\x00" + struct.pack("<I", 7) + salt[:8] + b"\x00"
        + struct.pack("<H", CAPABILITIES & 0xFFFF) + b"\x21" + struct.pack("<H", 2)
        + struct.pack("<H", CAPABILITIES >> 16) + bytes([len(salt) + 1]) + b"\x00" * 10
        + salt[8:] + b"\x00" + b"mysql_native_password\x00"
    )  # fmt: skip


class FakeServer:
    """Greets, takes the client's login, then asks to switch to ``plugin``; keeps what comes after."""

    def __init__(self, plugin: bytes, data: bytes) -> None:
        self.switch = b"\xfe" + plugin + b"\x00" + data
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.after_switch = b""
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.settimeout(5)
            conn.sendall(packet(0, handshake()))
            header = conn.recv(4)
            conn.recv(int.from_bytes(header[:3], "little"))  # the login: a scramble, no password
            conn.sendall(packet(2, self.switch))
            while chunk := conn.recv(4096):
                self.after_switch += chunk

    def close(self) -> None:
        self.thread.join(10)
        self.listener.close()


@pytest.mark.parametrize(("plugin", "data"), [(b"mysql_clear_password", b""), (b"dialog", b"\x03Password: ")])
def test_an_auth_switch_to_a_clear_text_plugin_is_refused(tmp_path: Path, plugin: bytes, data: bytes) -> None:
    server = FakeServer(plugin, data)
    config_path = stopped_node_config(tmp_path)
    option_file = tmp_path / "client.cnf"
    option_file.write_text(f"[client]\nuser = monitor\npassword = {PASSWORD.decode()}\nhost = 127.0.0.1\n"
                           f"port = {server.port}\n")
    reader = MysqlReader(load_config(config_path))
    try:
        reading = reader.read()
    finally:
        reader.close()
        server.close()
    assert PASSWORD not in server.after_switch
    assert (reading.failure, reading.error) == (
        MysqlFailure.ERROR, "refusing to send the password in clear text over TCP (the server asked for it)"
    )
