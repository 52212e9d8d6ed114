"""node/sst.py: an SST script told from its command line, and the bytes a transfer's processes moved."""

from __future__ import annotations

import os
import signal
import subprocess
import time

from galera_snmp.node.sst import SstProcesses, counter_of, io_counter, moved_bytes, script_arguments, sst_processes


def test_the_script_is_found_behind_its_interpreter_with_its_role_and_address() -> None:
    argv = ["/bin/bash", "-ue", "/usr//bin/wsrep_sst_rsync", "--role", "donor", "--address",
            "10.0.0.13:4444/rsync_sst", "--socket", "/run/mysqld/mysqld.sock", "--datadir", "/var/lib/mysql/"]
    assert script_arguments(argv) == ("donor", "rsync", "10.0.0.13:4444/rsync_sst")
    assert script_arguments(["wsrep_sst_mariabackup", "--role=joiner", "--address=[::1]:4444"]) == (
        "joiner", "mariabackup", "[::1]:4444")


def test_a_donor_script_in_bypass_mode_hands_over_an_ist() -> None:
    argv = ["/bin/bash", "-ue", "/usr/bin/wsrep_sst_rsync", "--role", "donor", "--address", "10.0.0.13:4444/rsync_sst",
            "--bypass", "--gtid", "cf45eb64-e601-11f1-9293-5ec05f0f5611:160"]
    assert script_arguments(argv) == ("donor", "ist", "10.0.0.13:4444/rsync_sst")


def test_anything_else_is_no_script() -> None:
    assert script_arguments(["/usr/bin/rsync", "--daemon"]) is None
    assert script_arguments(["wsrep_sst_", "--role", "donor"]) is None  # no method
    assert script_arguments(["wsrep_sst_rsync", "--role", "spectator"]) is None
    assert script_arguments(["wsrep_sst_rsync"]) is None
    assert script_arguments([]) is None


def test_an_io_counter_is_read_by_name_or_is_nothing() -> None:
    text = "rchar: 100\nwchar: 2048\nsyscr: 3\nsyscw: 4\nread_bytes: 0\nwrite_bytes: 4096\n"
    assert (io_counter(text, "wchar"), io_counter(text, "write_bytes")) == (2048, 4096)
    assert io_counter("rchar: 1\n", "wchar") is None
    assert io_counter("wchar: lots\n", "wchar") is None


def test_the_count_is_the_sum_over_the_processes_alive() -> None:
    # the daemon holds what its reaped children moved; the running one counts its own
    alive = {1: 12_000, 2: 300, 3: 8}  # an rsync daemon, its running child, the SST script
    assert moved_bytes(alive) == 12_308
    assert moved_bytes({}) == 0


def test_each_method_is_counted_where_its_bytes_flow_once() -> None:
    # rsync: what the joiner stores (its receiver pipes the stream on), what the donor sends
    assert counter_of("joiner", "rsync") == ("write_bytes", None)
    assert counter_of("donor", "rsync") == ("wchar", None)
    # a stream: at its network end on both sides (mbstream stores it 10 MiB at once; the donor's
    # mariabackup and socat each write it once)
    assert counter_of("joiner", "mariabackup") == ("rchar", ("socat", "nc", "ncat", "netcat"))
    assert counter_of("donor", "mariabackup") == ("wchar", ("socat", "nc", "ncat", "netcat"))
    assert counter_of("donor", "xtrabackup-v2") == counter_of("donor", "mariabackup")
    # anything else: what the joiner stores; the donor's side is not counted
    assert counter_of("joiner", "mysqldump") == ("write_bytes", None)
    assert counter_of("donor", "mysqldump") is None


def test_a_process_without_an_sst_script_below_it_has_none() -> None:
    assert sst_processes(os.getpid()) is None


def test_a_running_script_and_its_bytes_are_found_under_its_parent(tmp_path) -> None:
    script = tmp_path / "wsrep_sst_rsync"
    script.write_text("#!/usr/bin/python3\nimport sys, time\nsys.stdout.buffer.write(bytes(1 << 20))\n"
                      "sys.stdout.flush()\ntime.sleep(60)\n")
    script.chmod(0o755)
    found = script_seen(script, lambda found: moved_bytes(found.written) >= 1 << 20)
    assert (found.role, found.method, found.address) == ("donor", "rsync", "10.0.0.13:4444/rsync_sst")


def test_a_streaming_donor_counts_only_what_its_network_end_writes(tmp_path) -> None:
    # the script writes 1 MiB itself (as mariabackup writes the stream into the pipe) and starts a
    # "socat" that writes 3 MiB: the count is the socat's alone
    sender = tmp_path / "socat"
    sender.write_text("#!/usr/bin/python3\nimport sys, time\nsys.stdout.buffer.write(bytes(3 << 20))\n"
                      "sys.stdout.flush()\ntime.sleep(60)\n")
    script = tmp_path / "wsrep_sst_mariabackup"
    script.write_text(f"#!/usr/bin/python3\nimport subprocess, sys, time\nsys.stdout.buffer.write(bytes(1 << 20))\n"
                      f"sys.stdout.flush()\nsubprocess.Popen(['{sender}']).wait()\n")
    for program in (sender, script):
        program.chmod(0o755)
    found = script_seen(script, lambda found: len(found.written) == 1 and moved_bytes(found.written) >= 3 << 20)
    assert (found.role, found.method) == ("donor", "mariabackup")
    assert moved_bytes(found.written) < 4 << 20


def script_seen(script, done) -> SstProcesses:
    """``script`` run as a donor under this process, looked at until ``done`` holds (30 s)."""
    with open(os.devnull, "wb") as sink:
        child = subprocess.Popen([str(script), "--role", "donor", "--address", "10.0.0.13:4444/rsync_sst"],
                                 stdout=sink, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        found = sst_processes(os.getpid())
        while (found is None or not done(found)) and time.monotonic() < deadline:
            time.sleep(0.05)
            found = sst_processes(os.getpid())
        assert found is not None and done(found), found
        return found
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
