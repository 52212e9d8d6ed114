"""A node read from the outside, through its snmpd: what its agent publishes in GALERA-MIB.

The one reader shared by check_galera's SNMP modes, galera-init and ``galera-snmp status``.

A node still set up the seed project's way publishes only two snmpd ``extend`` lines,
``galeraStatus`` and ``galeraSeqno`` (NET-SNMP-EXTEND-MIB nsExtendOutput1Line). Those are read
too, so a cluster can move to galera-snmp node by node. They carry no state UUID, so such a
node can be joined but cannot take part in a bootstrap election (which compares positions
only within one history).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from ..state import SEQNO_MAX, UNKNOWN_SEQNO, Health, HealthCode, NodeReport, NodeState, Position, Status
from . import mib
from .client import OID, Client, Missing, SnmpError, Target

NS_EXTEND_OUTPUT_1LINE: OID = (1, 3, 6, 1, 4, 1, 8072, 1, 3, 2, 3, 1, 1)
SEED_STATUS, SEED_SEQNO = "galeraStatus", "galeraSeqno"
SEED_SOURCE = "the seed's snmpd extend lines (no GALERA-MIB)"


def extend_oid(name: str) -> OID:
    """nsExtendOutput1Line."name": the index is the name as a length-prefixed string."""
    return (*NS_EXTEND_OUTPUT_1LINE, len(name), *name.encode())


def read_report(target: Target, members: bool = False) -> NodeReport:
    """The node's report; SnmpError when it does not answer (never a guess)."""
    status_oid = (*mib.BY_NAME["galeraStatus"].oid, 0)
    with Client(target) as client:
        values = client.get([(*obj.oid, 0) for obj in mib.SCALARS])
        if isinstance(values.get(status_oid), Missing):
            return seed_report(client.get([extend_oid(SEED_STATUS), extend_oid(SEED_SEQNO)]))
        rows = dict(client.walk(mib.MEMBER_ENTRY)) if members else None
    return mib.read_node(values, mib.read_members(rows) if rows is not None else None)


def seed_report(values: dict[OID, object]) -> NodeReport:
    word = _line(values.get(extend_oid(SEED_STATUS)))
    number = _line(values.get(extend_oid(SEED_SEQNO)))
    if word is None:
        state = NodeState(time.time(), Status.UNKNOWN, "neither GALERA-MIB nor the seed's extend lines answer")
        return NodeReport(state, Health(None, state.reason, HealthCode.NO_CURRENT_DATA), False, None, state.reason)
    try:
        status = Status(word)
    except ValueError:
        status = Status.UNKNOWN
    seqno = int(number) if number is not None and re.fullmatch(r"-?\d{1,20}", number) else UNKNOWN_SEQNO
    if not UNKNOWN_SEQNO <= seqno <= SEQNO_MAX:
        seqno = UNKNOWN_SEQNO
    state = NodeState(
        taken_at=time.time(),
        status=status,
        reason=f"{word!r} from {SEED_SOURCE}",
        position=Position(seqno=seqno),  # no UUID, no source (live, grastate, recovered): the seed says neither
    )
    health = Health(None, f"{SEED_SOURCE} say nothing about health", HealthCode.UNCLASSIFIED)
    return NodeReport(state, health, None, None, "")


def _line(value: object) -> str | None:
    if not isinstance(value, bytes):
        return None
    return value.decode("utf-8", "replace").strip()


def read_all(targets: Sequence[Target], members: bool = False) -> list[NodeReport | str]:
    """Every node's report (with its member table if asked), asked in parallel; a node that does
    not answer gives the reason."""
    from concurrent.futures import ThreadPoolExecutor  # here: check_galera never pays for it

    def ask(target: Target) -> NodeReport | str:
        try:
            return read_report(target, members)
        except SnmpError as err:
            return str(err)

    with ThreadPoolExecutor(max(1, len(targets))) as pool:
        return list(pool.map(ask, targets))

