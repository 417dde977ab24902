"""Scope of compromise: the typed facts of a story, serialised into ``Story.scope``.

Everything here is derived from the leads and the lake, never typed by hand, so an expert can trust
each field and see where it came from (event keys are kept where there is one).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb
import pyarrow as pa

from huntwatch.stories.attack import tactics_in_order
from huntwatch.stories.correlation import LateralEdge
from huntwatch.stories.entities import account_name, device_key, is_hash, is_well_known_account
from huntwatch.stories.lateral import DeviceDirectory
from huntwatch.stories.timeline import ProcessForest, TimelineEvent

ADMIN_GROUPS_DOMAIN = ("domain admins", "enterprise admins", "schema admins")
ADMIN_GROUPS_LOCAL = ("administrators",)


@dataclass
class DeviceScope:
    name: str
    first_seen: str
    last_seen: str
    leads: int
    roles: list[str]  # entry | lateral-movement source | lateral-movement target | domain controller


@dataclass
class AccountScope:
    name: str
    domain: str
    devices: list[str]
    privileges: list[str]  # domain admin | local admin | service account | machine account | privileged logon
    evidence: list[str]  # why each privilege was inferred


@dataclass
class FileScope:
    sha256: str
    path: str
    devices: list[str]
    prevalence: int  # devices of the tenant on which this file (by hash, else by path) was seen


@dataclass
class RemoteAddress:
    address: str
    kind: str  # ip | domain | host (a peer named by host name, e.g. the workstation a spray came from)
    devices: list[str]
    internal: bool  # an address one of the tenant's own devices used


@dataclass
class LateralMovement:
    source: str
    target: str
    account: str
    method: str
    time: str
    event_key: str


@dataclass
class Root:
    kind: str  # process | logon
    device: str
    time: str
    description: str
    account: str
    event_key: str
    method_of_entry: str


@dataclass
class Scope:
    devices: list[DeviceScope]
    accounts: list[AccountScope]
    files: list[FileScope]
    remote_addresses: list[RemoteAddress]
    domains: list[str]
    lateral_movement: list[LateralMovement]
    first_activity: str
    last_activity: str
    dwell_seconds: float
    tactics: list[dict[str, Any]]
    root: Root | None = None
    bridges: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LeadFacts:
    """The parts of a Lead the scope needs (kept apart from the ORM so scope can be built anywhere)."""

    id: int
    title: str
    severity: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    tactics: list[str]
    techniques: list[str]
    entities: dict[str, list[str]]
    hunt_id: str = ""


# Parents that mark where activity entered a device, and what that says about the way in.
ENTRY_PARENTS = {
    "explorer.exe": "user execution in an interactive session",
    "userinit.exe": "user execution in an interactive session",
    "winlogon.exe": "an interactive or RDP logon session",
    "services.exe": "a service (remote service install such as PsExec, or a local service)",
    "wmiprvse.exe": "WMI execution (e.g. wmiexec or remote WMI)",
    "wsmprovhost.exe": "PowerShell remoting (WinRM)",
    "mmc.exe": "DCOM execution (MMC20.Application)",
    "taskeng.exe": "a scheduled task",
    "w3wp.exe": "exploitation of a web server (web shell)",
    "sqlservr.exe": "abuse of a SQL server",
    "outlook.exe": "a malicious e-mail attachment or link (phishing)",
    "winword.exe": "a malicious Office document (phishing)",
    "excel.exe": "a malicious Office document (phishing)",
    "powerpnt.exe": "a malicious Office document (phishing)",
}
_SVCHOST = "a scheduled task or service running in svchost"


def privileges(
    con: duckdb.DuckDBPyConnection, accounts: list[str], until: dt.datetime
) -> dict[str, tuple[list[str], list[str]]]:
    """Privilege of each account (lower-case user name) from what the lake shows up to ``until``.

    4672 (special privileges) on a domain controller or membership of Domain/Enterprise Admins → domain
    admin; 4672 elsewhere or membership of a local Administrators group → local admin; service logons or a
    svc-like name → service account; a trailing ``$`` → machine account.
    """
    out: dict[str, tuple[list[str], list[str]]] = {a: ([], []) for a in accounts}
    if not accounts:
        return out
    con.register("scope_accounts", pa.table({"a": accounts}))
    dcs = {
        r[0]
        for r in con.execute(
            "SELECT DISTINCT DeviceName FROM DeviceLogonEvents "
            "WHERE ActionType IN ('KerberosTgtRequested', 'KerberosServiceTicketRequested')"
        ).fetchall()
    }
    rows = con.execute(
        """
        SELECT lower(AccountName) AS a, DeviceName, ActionType, lower(coalesce(ObjectName, '')) AS g, min(EventKey)
        FROM DeviceEvents
        WHERE (ActionType = 'SpecialPrivilegesAssigned' OR ActionType LIKE 'UserAccountAddedTo%')
          AND lower(AccountName) IN (SELECT a FROM scope_accounts) AND Timestamp <= ?
        GROUP BY ALL
        UNION ALL
        SELECT lower(AccountName), DeviceName, 'ServiceLogon', '', min(EventKey) FROM DeviceLogonEvents
        WHERE ActionType = 'LogonSuccess' AND LogonType = 'Service'
          AND lower(AccountName) IN (SELECT a FROM scope_accounts) AND Timestamp <= ?
        GROUP BY ALL
        ORDER BY 1, 2, 3, 4
        """,
        [until, until],
    ).fetchall()
    for a, device, action, group, key in rows:
        privs, why = out[a]

        def grant(p: str, reason: str, privs: list[str] = privs, why: list[str] = why) -> None:
            if p not in privs:
                privs.append(p)
                why.append(reason)

        if action == "SpecialPrivilegesAssigned":
            if device in dcs:
                grant("domain admin", f"special privileges (4672) on domain controller {device} [{key}]")
            else:
                grant("local admin", f"special privileges (4672) on {device} [{key}]")
        elif action == "ServiceLogon":
            grant("service account", f"service logon on {device} [{key}]")
        elif group in ADMIN_GROUPS_DOMAIN:
            grant("domain admin", f"added to {group} on {device} [{key}]")
        elif group in ADMIN_GROUPS_LOCAL:
            grant("domain admin" if device in dcs else "local admin", f"added to {group} on {device} [{key}]")
    for a, (privs, why) in out.items():
        if a.endswith("$") and "machine account" not in privs:
            privs.append("machine account")
            why.append("name ends with $")
        if (a.startswith("svc") or a.endswith("svc") or "service" in a) and "service account" not in privs:
            privs.append("service account")
            why.append("service-account name")
        if a == "administrator" and not {"local admin", "domain admin"} & set(privs):
            privs.append("local admin")
            why.append("built-in Administrator account")
    return out


def _ours(directory: DeviceDirectory, address: str, kind: str) -> bool:
    """Whether a remote address (ip) or host name (host) is one of the tenant's devices; a domain never is."""
    if kind == "domain":
        return False
    return directory.resolve(address if kind == "host" else None, address if kind == "ip" else None) is not None


def file_prevalence(con: duckdb.DuckDBPyConnection, hashes: list[str], paths: list[str]) -> dict[str, int]:
    """Number of devices of the tenant that saw each hash (or path, where no hash is known), in one scan."""
    if not hashes and not paths:
        return {}
    con.register("scope_hashes", pa.table({"v": pa.array(hashes, pa.string())}))
    con.register("scope_paths", pa.table({"v": pa.array(paths, pa.string())}))
    rows = con.execute(
        """WITH seen AS MATERIALIZED (
             SELECT h, p, d FROM (
               SELECT lower(SHA256) h, lower(FolderPath) p, DeviceName d FROM DeviceProcessEvents
               UNION ALL SELECT lower(SHA256), lower(FolderPath), DeviceName FROM DeviceFileEvents
               UNION ALL SELECT lower(SHA256), lower(FolderPath), DeviceName FROM DeviceImageLoadEvents
               UNION ALL SELECT lower(InitiatingProcessSHA256), NULL, DeviceName FROM DeviceNetworkEvents
             ) WHERE h IN (SELECT v FROM scope_hashes) OR p IN (SELECT v FROM scope_paths)
           )
           SELECT h, count(DISTINCT d) FROM seen WHERE h IN (SELECT v FROM scope_hashes) GROUP BY h
           UNION ALL
           SELECT p, count(DISTINCT d) FROM seen WHERE p IN (SELECT v FROM scope_paths) GROUP BY p"""
    ).fetchall()
    return dict(rows)


def address_prevalence(con: duckdb.DuckDBPyConnection, ips: list[str], urls: list[str]) -> dict[str, int]:
    """Number of devices of the tenant that talked to each remote address or URL (both lower case)."""
    out: dict[str, int] = {}
    for column, values, table in (("RemoteIP", ips, "scope_ips"), ("RemoteUrl", urls, "scope_urls")):
        if not values:
            continue
        con.register(table, pa.table({"v": values}))
        for v, n in con.execute(
            f"""SELECT lower({column}) v, count(DISTINCT DeviceName) FROM DeviceNetworkEvents
                WHERE lower({column}) IN (SELECT v FROM {table}) GROUP BY v"""
        ).fetchall():
            out[v] = n
    return out


def _process_entry(key_events: list[TimelineEvent], forest: ProcessForest, event_proc: dict[str, str]) -> Root | None:
    """The process that started the earliest evidence process chain, with the entry its parent reveals."""
    for e in key_events:
        nid = event_proc.get(e.event_key)
        if nid is None:
            continue
        # A parent known only by a pid, with no name, explains nothing: leave it out of the chain.
        chain = [n for n in (forest.nodes[nid], *forest.ancestors(nid)) if n.seen or n.name]
        chosen, method = chain[-1], ""
        for node, parent in itertools.pairwise(chain):
            pname = parent.name.lower()
            if pname in ENTRY_PARENTS or pname == "svchost.exe":
                chosen, method = node, ENTRY_PARENTS.get(pname, _SVCHOST)
                break
        when = (chosen.time or e.time).isoformat()
        desc = f"{chosen.name} ({chosen.command_line})" if chosen.command_line else chosen.name or e.summary
        return Root("process", chosen.device, when, desc, chosen.account, chosen.event_key, method)
    return None


def find_root(
    events: list[TimelineEvent],
    forest: ProcessForest,
    event_proc: dict[str, str],
    edges: list[LateralEdge],
) -> Root | None:
    """The earliest process or logon that explains the chain, and how the attacker got there.

    A logon or remote share access as the earliest evidence is its own root. Otherwise the earliest
    evidence process is walked up to the child of the first process that marks an entry point (explorer,
    services, wmiprvse, an Office app, ...); that parent names the way in. An earlier lateral movement into
    the root's device is put in front, since that is how the attacker reached it.
    """
    key_events = [e for e in events if e.key]
    if not key_events:
        return None
    first = key_events[0]
    when = first.time.isoformat()
    r = first.row
    process_root = _process_entry(key_events, forest, event_proc)
    if first.table == "DeviceLogonEvents":
        src = r.get("RemoteDeviceName") or r.get("RemoteIP") or "an unknown source"
        method = f"valid account via {r.get('LogonType') or 'a'} logon from {src}"
        root = Root("logon", first.device, when, first.summary, first.account, first.event_key, method)
    elif r.get("ShareName") or (first.table != "DeviceNetworkEvents" and r.get("RemoteIP")):
        src = r.get("RequestSourceIP") or r.get("RemoteIP") or "an unknown source"
        how = f"share {r['ShareName']}" if r.get("ShareName") else "a remote connection"
        user = r.get("RequestAccountName") or first.account
        method = f"remote access to {how} from {src}" + (f" as {user}" if user else "")
        root = Root("remote access", first.device, when, first.summary, user or "", first.event_key, method)
    elif process_root is not None:
        root = process_root
    else:
        root = Root("event", first.device, when, first.summary, first.account, first.event_key, "")
    if process_root is not None and root is not process_root and process_root.method_of_entry:
        root.method_of_entry = f"{root.method_of_entry}, then {process_root.method_of_entry}"
    here = device_key(root.device)
    before = [e for e in edges if device_key(e.dst_device) == here and e.time.isoformat() <= root.time]
    if before:
        e = before[-1]
        prefix = f"lateral movement from {e.src_device} as {e.account} ({e.method})"
        root.method_of_entry = f"{prefix}, then {root.method_of_entry}" if root.method_of_entry else prefix
    if not root.method_of_entry:
        root.method_of_entry = "unknown: the earliest evidence has no known parent"
    return root


def build_scope(
    con: duckdb.DuckDBPyConnection,
    leads: list[LeadFacts],
    events: list[TimelineEvent],
    forest: ProcessForest,
    event_proc: dict[str, str],
    edges: list[LateralEdge],
    directory: DeviceDirectory,
) -> Scope:
    """Devices, accounts, files, addresses, lateral movement, times, tactics and root of one story."""
    first = min(lead.first_seen for lead in leads)
    last = max(lead.last_seen for lead in leads)
    key_events = [e for e in events if e.key]
    if key_events:
        first, last = min(first, key_events[0].time), max(last, key_events[-1].time)

    dev_leads: dict[str, list[LeadFacts]] = defaultdict(list)
    dev_names: dict[str, str] = {}
    for lead in leads:
        for d in lead.entities.get("device", []):
            dev_leads[device_key(d)].append(lead)
            dev_names.setdefault(device_key(d), d.lower())
    for e in key_events:
        dev_names.setdefault(device_key(e.device), e.device)
    story_devices = set(dev_names)
    edges = [e for e in edges if device_key(e.src_device) in story_devices or device_key(e.dst_device) in story_devices]
    for e in edges:
        dev_names.setdefault(device_key(e.src_device), e.src_device)
        dev_names.setdefault(device_key(e.dst_device), e.dst_device)

    root = find_root(events, forest, event_proc, edges)
    dcs = {
        device_key(r[0])
        for r in con.execute(
            "SELECT DISTINCT DeviceName FROM DeviceLogonEvents "
            "WHERE ActionType IN ('KerberosTgtRequested', 'KerberosServiceTicketRequested')"
        ).fetchall()
    }
    devices = []
    for k, name in sorted(dev_names.items()):
        ls = dev_leads.get(k, [])
        evs = [e for e in key_events if device_key(e.device) == k]
        times = [lead.first_seen for lead in ls] + [e.time for e in evs]
        ends = [lead.last_seen for lead in ls] + [e.time for e in evs]
        edge_times = [e.time for e in edges if k in (device_key(e.src_device), device_key(e.dst_device))]
        roles = []
        if root and device_key(root.device) == k:
            roles.append("entry")
        if any(device_key(e.src_device) == k for e in edges):
            roles.append("lateral-movement source")
        if any(device_key(e.dst_device) == k for e in edges):
            roles.append("lateral-movement target")
        if k in dcs:
            roles.append("domain controller")
        devices.append(
            DeviceScope(
                name=name,
                first_seen=min(times or edge_times).isoformat(),
                last_seen=max(ends or edge_times).isoformat(),
                leads=len(ls),
                roles=roles,
            )
        )

    acc_devices: dict[str, set[str]] = defaultdict(set)
    acc_domain: dict[str, str] = {}
    for lead in leads:
        for raw in lead.entities.get("account", []):
            a = account_name(raw)
            if is_well_known_account(a):
                continue
            if "\\" in raw:
                acc_domain.setdefault(a, raw.split("\\", 1)[0])
            acc_devices[a].update(dev_names.get(device_key(d), d) for d in lead.entities.get("device", []))
    for e in key_events:
        a = account_name(e.account)
        if a and not is_well_known_account(a) and a in acc_devices:
            acc_devices[a].add(e.device)
    for e in edges:
        a = account_name(e.account)
        if a in acc_devices:
            acc_devices[a].update({e.src_device, e.dst_device})
    privs = privileges(con, sorted(acc_devices), last)
    accounts = [
        AccountScope(a, acc_domain.get(a, ""), sorted(acc_devices[a]), *privs.get(a, ([], [])))
        for a in sorted(acc_devices)
    ]

    hashes: dict[str, set[str]] = defaultdict(set)
    paths: dict[str, set[str]] = defaultdict(set)
    path_hash: dict[str, str] = {}
    for lead in leads:
        devs = {dev_names.get(device_key(d), d) for d in lead.entities.get("device", [])}
        for raw in lead.entities.get("file", []):
            v = raw.strip().lower()
            (hashes if is_hash(v) else paths)[v].update(devs)
    for e in key_events:
        p = (e.row.get("FolderPath") or "").lower()
        h = (e.row.get("SHA256") or "").lower()
        if p and p in paths and h:
            path_hash[p] = h
    prevalence = file_prevalence(con, sorted(hashes), sorted(paths))
    files = [FileScope(h, "", sorted(d), prevalence.get(h, 0)) for h, d in sorted(hashes.items())]
    files += [
        FileScope(path_hash.get(p, ""), p, sorted(d), prevalence.get(path_hash.get(p, ""), prevalence.get(p, 0)))
        for p, d in sorted(paths.items())
    ]

    remote: dict[tuple[str, str], set[str]] = defaultdict(set)
    for lead in leads:
        devs = {dev_names.get(device_key(d), d) for d in lead.entities.get("device", [])}
        for ip in lead.entities.get("remote_ip", []):
            remote[(ip, "ip")].update(devs)
        for url in lead.entities.get("remote_url", []):
            remote[(url.lower(), "domain")].update(devs)
        for host in lead.entities.get("remote_device", []):
            if device_key(host) not in dev_names:  # a device of the story is in its scope already
                remote[(host.lower(), "host")].update(devs)
    for e in key_events:
        if e.row.get("RemoteIP"):
            remote[(e.row["RemoteIP"], "ip")].add(e.device)
        if e.row.get("RemoteUrl"):
            remote[(e.row["RemoteUrl"].lower(), "domain")].add(e.device)
    addresses = [
        RemoteAddress(addr, kind, sorted(devs), _ours(directory, addr, kind))
        for (addr, kind), devs in sorted(remote.items())
    ]
    tactics = tactics_in_order((lead.tactics, lead.techniques) for lead in leads)
    return Scope(
        devices=devices,
        accounts=accounts,
        files=files,
        remote_addresses=addresses,
        domains=sorted({a.address for a in addresses if a.kind == "domain"}),
        lateral_movement=[
            LateralMovement(e.src_device, e.dst_device, e.account, e.method, e.time.isoformat(), e.event_key)
            for e in edges
        ],
        first_activity=first.isoformat(),
        last_activity=last.isoformat(),
        dwell_seconds=(last - first).total_seconds(),
        tactics=tactics,
        root=root,
    )
