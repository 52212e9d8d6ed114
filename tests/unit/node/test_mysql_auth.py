"""The probe never gives the password away over TCP, whatever answers on the server's port: not
in clear text, not encrypted with a key that server sent, not over TLS it did not prove."""

from __future__ import annotations

import datetime
import socket
import struct
import sys
import threading
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from support import stopped_node_config

from galera_snmp.config import load_config
from galera_snmp.node.probe import KEY_REFUSED, MysqlReader
from galera_snmp.state import MysqlFailure

PASSWORD = b"s3cret"  # what stopped_node_config writes into the option file
SALT = b"abcdefghijklmnopqrst"
# CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION | CLIENT_MULTI_STATEMENTS | CLIENT_PLUGIN_AUTH
CAPABILITIES = 0x0200 | 0x8000 | 0x10000 | 0x80000
CLIENT_SSL = 0x0800
FULL_AUTH = b"\x01\x04"  # caching_sha2_password: the fast path failed, send the password
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA1()), algorithm=hashes.SHA1(), label=None)


def packet(seq: int, payload: bytes) -> bytes:
    return struct.pack("<I", len(payload))[:3] + bytes([seq]) + payload


def handshake(capabilities: int) -> bytes:
    return (
        b"\x0a5.5.5-10.11.6-MariaDB-fake\x00" + struct.pack("<I", 7) + SALT[:8] + b"\x00"
        + struct.pack("<H", capabilities & 0xFFFF) + b"\x21" + struct.pack("<H", 2)
        + struct.pack("<H", capabilities >> 16) + bytes([len(SALT) + 1]) + b"\x00" * 10
        + SALT[8:] + b"\x00" + b"mysql_native_password\x00"
    )  # fmt: skip


def switch(plugin: bytes, data: bytes = SALT + b"\x00") -> bytes:
    return b"\xfe" + plugin + b"\x00" + data


def key_pair() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, pem


def certificate() -> bytes:
    """A self-signed CA certificate, as an operator's ssl_ca."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "galera test CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))  # fmt: skip
    return cert.public_bytes(serialization.Encoding.PEM)


def recovered(key: rsa.RSAPrivateKey, blob: bytes) -> bytes | None:
    """The password in ``blob`` if ``key`` decrypts it (PyMySQL XORs it with the salt first)."""
    try:
        plain = key.decrypt(blob, OAEP)
    except ValueError:
        return None
    return bytes(b ^ SALT[i % len(SALT)] for i, b in enumerate(plain)).rstrip(b"\0")


class FakeServer:
    """Greets, takes the client's login, then plays ``replies`` one by one, each answered by one
    client packet (kept in ``received``); keeps whatever else comes."""

    def __init__(self, replies: list[bytes], capabilities: int = CAPABILITIES) -> None:
        self.replies, self.capabilities = replies, capabilities
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.login = b""
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @staticmethod
    def read_packet(conn: socket.socket) -> bytes:
        header = conn.recv(4)
        if len(header) < 4:
            return b""
        size, data = int.from_bytes(header[:3], "little"), b""
        while len(data) < size and (chunk := conn.recv(size - len(data))):
            data += chunk
        return data

    def serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            conn.settimeout(5)
            conn.sendall(packet(0, handshake(self.capabilities)))
            self.login = self.read_packet(conn)  # a scramble, no password
            seq = 2
            for reply in self.replies:
                conn.sendall(packet(seq, reply))
                answer = self.read_packet(conn)
                if not answer:
                    return
                self.received.append(answer)
                seq += 2
            while chunk := conn.recv(4096):
                self.received.append(chunk)

    def close(self) -> None:
        self.thread.join(10)
        self.listener.close()


def read_through(tmp_path: Path, server: FakeServer, options: str = ""):
    config_path = stopped_node_config(tmp_path)
    (tmp_path / "client.cnf").write_text(f"[client]\nuser = monitor\npassword = {PASSWORD.decode()}\n"
                                         f"host = 127.0.0.1\nport = {server.port}\n{options}")
    reader = MysqlReader(load_config(config_path))
    try:
        return reader.read()
    finally:
        reader.close()
        server.close()


@pytest.mark.parametrize(("plugin", "data"), [(b"mysql_clear_password", b""), (b"dialog", b"\x03Password: ")])
def test_an_auth_switch_to_a_clear_text_plugin_is_refused(tmp_path: Path, plugin: bytes, data: bytes) -> None:
    server = FakeServer([switch(plugin, data)])
    reading = read_through(tmp_path, server)
    assert not any(PASSWORD in sent for sent in server.received)
    assert (reading.failure, reading.error) == (
        MysqlFailure.ERROR, "refusing to send the password in clear text over TCP (the server asked for it)"
    )


@pytest.mark.parametrize(
    "replies",
    [
        # caching_sha2_password (MySQL 8's default, in MariaDB as a plugin): fast path refused,
        # the client asks for the server's key to encrypt the password with
        lambda pem: [switch(b"caching_sha2_password"), FULL_AUTH, b"\x01" + pem],
        # sha256_password: the client asks for the key at once
        lambda pem: [switch(b"sha256_password"), b"\x01" + pem],
    ],
    ids=["caching_sha2_password", "sha256_password"],
)
def test_a_key_the_server_sends_never_encrypts_the_password(tmp_path: Path, replies) -> None:
    """A fake server on the port holds the private key of what it sends: it would decrypt the password."""
    key, pem = key_pair()
    server = FakeServer(replies(pem))
    reading = read_through(tmp_path, server)
    assert [recovered(key, sent) for sent in server.received if len(sent) == 256] == []
    assert (reading.failure, reading.error) == (MysqlFailure.ERROR, KEY_REFUSED)


def test_a_pinned_key_is_used_and_none_is_asked_for(tmp_path: Path) -> None:
    genuine, pinned = key_pair()
    (tmp_path / "server.pem").write_bytes(pinned)
    fake, pem = key_pair()
    server = FakeServer([switch(b"caching_sha2_password"), FULL_AUTH, b"\x01" + pem])
    read_through(tmp_path, server, f"server_public_key_path = {tmp_path / 'server.pem'}\n")
    scramble, encrypted = server.received[:2]  # no key request (b"\x02") in between
    assert len(scramble) == 32 and len(encrypted) == 256
    assert recovered(fake, encrypted) is None  # whoever holds the port cannot read it
    assert recovered(genuine, encrypted) == PASSWORD  # the server the operator pinned can


def test_tls_is_never_negotiated_unverified(tmp_path: Path) -> None:
    """PyMySQL, once ``ssl`` is loaded, tries TLS with any certificate when nothing is configured,
    and then sends the password in clear inside it: over TCP without ssl_ca we never ask for TLS."""
    import ssl  # noqa: F401 - loaded, as in a process that serves HTTPS

    assert "ssl" in sys.modules
    server = FakeServer([], capabilities=CAPABILITIES | CLIENT_SSL)
    read_through(tmp_path, server)
    flags = struct.unpack("<I", server.login[:4])[0]
    assert not flags & CLIENT_SSL and len(server.login) > 32  # a login, not a TLS request


def test_with_ssl_ca_a_server_without_tls_is_refused_before_the_login(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_bytes(certificate())
    server = FakeServer([])
    reading = read_through(tmp_path, server, f"ssl_ca = {tmp_path / 'ca.pem'}\n")
    assert server.login == b"" and reading.failure is MysqlFailure.ERROR
    assert "SSL is required" in (reading.error or "")
