"""Lateral movement edges found in the lake: who reached which device of the tenant from which other one.

Four signals, each a fact an expert would accept: a network or RDP logon whose source is another device
of the tenant (by name or by an address that device used), explicit credentials used against another
device (4648, e.g. ``net use``), a write to an admin share (ADMIN$, C$) from another device, and a service
installed from a network logon session (PsExec and friends). Machine accounts (``WS1$``) are left out:
machines authenticate to each other all day.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping

import duckdb

from huntwatch.stories.correlation import LateralEdge
from huntwatch.stories.entities import account_name, device_key, is_well_known_account, normalise_ip

_REMOTE_LOGON_TYPES = ("Network", "RemoteInteractive", "NetworkCleartext", "NewCredentials")

_LOGONS = """
SELECT Timestamp, DeviceName, RemoteDeviceName, RemoteIP, AccountDomain, AccountName, LogonType, LogonId, EventKey
FROM DeviceLogonEvents
WHERE ActionType = 'LogonSuccess' AND LogonType IN ({types}) AND Timestamp BETWEEN ? AND ?
"""
_EXPLICIT = """
SELECT Timestamp, DeviceName, TargetServerName, RemoteIP, AccountDomain, TargetAccountName, EventKey
FROM DeviceLogonEvents
WHERE ActionType = 'LogonAttemptedWithExplicitCredentials' AND Timestamp BETWEEN ? AND ?
"""
_SHARES = """
SELECT Timestamp, DeviceName, RequestSourceIP, RequestAccountDomain, RequestAccountName, ShareName, EventKey
FROM DeviceFileEvents
WHERE ActionType IN ('ShareAccessed', 'ShareObjectAccessChecked')
  AND (upper(ShareName) LIKE '%\\ADMIN$' OR upper(ShareName) LIKE '%\\C$')
  AND Timestamp BETWEEN ? AND ?
"""
_SERVICES = """
SELECT e.Timestamp, e.DeviceName, l.RemoteDeviceName, l.RemoteIP, l.AccountDomain, l.AccountName, l.LogonId,
       e.EventKey, e.ObjectName
FROM DeviceEvents e
JOIN DeviceLogonEvents l
  ON l.DeviceName = e.DeviceName AND l.LogonId = e.InitiatingProcessLogonId
 AND l.ActionType = 'LogonSuccess' AND l.LogonType = 'Network'
WHERE e.ActionType = 'ServiceInstalled' AND e.Timestamp BETWEEN ? AND ?
"""
_ADDRESSES = """
SELECT DISTINCT DeviceName, LocalIP FROM DeviceNetworkEvents
WHERE LocalIP IS NOT NULL AND LocalIP <> ''
"""
_DEVICES = "SELECT DISTINCT DeviceName FROM RawEvents WHERE DeviceName IS NOT NULL"


class DeviceDirectory:
    """The tenant's devices and the addresses they used, to tell which remote peer is one of ours."""

    def __init__(self, devices: Iterable[str], addresses: Iterable[tuple[str, str]]) -> None:
        self.names: dict[str, str] = {}
        for d in devices:
            if d:
                self.names.setdefault(device_key(d), d)
        owners: dict[str, set[str]] = defaultdict(set)
        for device, ip in addresses:
            if device and ip:
                owners[normalise_ip(ip)].add(device)
        # An address two devices used (DHCP churn, NAT) names neither of them.
        self.by_ip = {ip: next(iter(ds)) for ip, ds in owners.items() if len(ds) == 1}

    @classmethod
    def load(cls, con: duckdb.DuckDBPyConnection) -> DeviceDirectory:
        devices = [r[0] for r in con.execute(_DEVICES).fetchall()]
        addresses = [(r[0], r[1]) for r in con.execute(_ADDRESSES).fetchall()]
        return cls(devices, addresses)

    def resolve(self, name: str | None, ip: str | None) -> str | None:
        """The tenant device a remote name or address belongs to, or None if it is not one of ours."""
        if name:
            found = self.names.get(device_key(name))
            if found:
                return found
        if ip:
            return self.by_ip.get(normalise_ip(ip))
        return None

    def sources(self, entities: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
        """The tenant devices a lead's remote peers are (by host name or address), other than its own."""
        own = {device_key(d) for d in entities.get("device", ())}
        found = {self.resolve(str(name), None) for name in entities.get("remote_device", ())}
        found |= {self.resolve(None, str(ip)) for ip in entities.get("remote_ip", ())}
        return tuple(sorted(d for d in found if d and device_key(d) not in own))


def _user(domain: str | None, name: str | None) -> str:
    name = (name or "").strip()
    if not name:
        return ""
    return f"{domain}\\{name}" if domain and "\\" not in name else name


def _routine(account: str) -> bool:
    name = account_name(account)
    return not name or is_well_known_account(name) or name.endswith("$")


def find_lateral_edges(
    con: duckdb.DuckDBPyConnection, directory: DeviceDirectory, start: dt.datetime, end: dt.datetime
) -> list[LateralEdge]:
    """Every lateral-movement edge between devices of the tenant (``con``'s) in [start, end], oldest first.

    Repeats of the same (from, to, account, method) within an hour are collapsed to the first one.
    """
    edges: list[LateralEdge] = []
    types = ", ".join(f"'{t}'" for t in _REMOTE_LOGON_TYPES)
    for ts, dst, rname, rip, dom, acc, ltype, logon, key in con.execute(
        _LOGONS.format(types=types), [start, end]
    ).fetchall():
        src = directory.resolve(rname, rip)
        method = "rdp" if ltype == "RemoteInteractive" else "network logon"
        edges.append(LateralEdge(src or "", dst, _user(dom, acc), method, ts, logon or "", rip or "", key))
    for ts, src, target, rip, dom, acc, key in con.execute(_EXPLICIT, [start, end]).fetchall():
        dst = directory.resolve(target, rip)
        edges.append(LateralEdge(src, dst or "", _user(dom, acc), "explicit credentials", ts, "", rip or "", key))
    for ts, dst, rip, dom, acc, _share, key in con.execute(_SHARES, [start, end]).fetchall():
        src = directory.resolve(None, rip)
        edges.append(LateralEdge(src or "", dst, _user(dom, acc), "admin share", ts, "", rip or "", key))
    for ts, dst, rname, rip, dom, acc, logon, key, _svc in con.execute(_SERVICES, [start, end]).fetchall():
        src = directory.resolve(rname, rip)
        edges.append(
            LateralEdge(src or "", dst, _user(dom, acc), "remote service install", ts, logon or "", rip or "", key)
        )
    return _collapse(e for e in edges if e.src_device and e.dst_device and not _routine(e.account))


def _collapse(edges: Iterable[LateralEdge]) -> list[LateralEdge]:
    last: dict[tuple[str, str, str, str], dt.datetime] = {}
    out: list[LateralEdge] = []
    for e in sorted(edges, key=lambda e: (e.time, e.src_device, e.dst_device, e.account, e.method, e.event_key)):
        if device_key(e.src_device) == device_key(e.dst_device):
            continue
        k = (device_key(e.src_device), device_key(e.dst_device), account_name(e.account), e.method)
        seen = last.get(k)
        if seen is not None and e.time - seen < dt.timedelta(hours=1):
            continue
        last[k] = e.time
        out.append(e)
    return out
