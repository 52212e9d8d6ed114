"""Reading nodes from outside: a peer that still publishes the seed's snmpd extend lines instead
of GALERA-MIB."""

from __future__ import annotations

import pytest

from galera_snmp.snmp.client import Missing
from galera_snmp.snmp.remote import SEED_SEQNO, SEED_STATUS, extend_oid, seed_report
from galera_snmp.state import SEQNO_MAX, Position, SeqnoSource, Status


def seed(status: object, seqno: object) -> dict:
    return {extend_oid(SEED_STATUS): status, extend_oid(SEED_SEQNO): seqno}


def test_extend_oid_is_the_name_as_a_length_prefixed_index():
    assert extend_oid("galeraStatus")[-13:] == (12, *b"galeraStatus")
    assert extend_oid("galeraStatus")[:13] == (1, 3, 6, 1, 4, 1, 8072, 1, 3, 2, 3, 1, 1)


@pytest.mark.parametrize(
    ("status", "seqno", "want_status", "want_seqno"),
    [
        (b"running\n", b"1234", Status.RUNNING, 1234),
        (b"stopped", b"4294967396", Status.STOPPED, 4294967396),  # above 2^32: an integer, not a string
        (b"initiating", b"-1", Status.INITIATING, -1),
        (b"stopped", b"99abc", Status.STOPPED, -1),  # garbage never becomes a number
        (b"stopped", str(SEQNO_MAX + 1).encode(), Status.STOPPED, -1),
        (b"stopped", b"-7", Status.STOPPED, -1),
        (b"stopped", Missing("NoSuchInstance"), Status.STOPPED, -1),
        (b"maybe", b"5", Status.UNKNOWN, 5),
        (7, b"5", Status.UNKNOWN, -1),  # the wrong type: nothing is known
        (Missing("NoSuchObject"), b"5", Status.UNKNOWN, -1),
    ],
)
def test_seed_lines_are_read_strictly(status, seqno, want_status, want_seqno):
    report = seed_report(seed(status, seqno))
    assert report.state.status is want_status
    # the seed publishes no history and no source: never a bootstrap voter
    assert report.state.position == Position(None, want_seqno, SeqnoSource.UNKNOWN, None)
    assert report.state.position.is_known is False
    assert report.health.healthy is None

