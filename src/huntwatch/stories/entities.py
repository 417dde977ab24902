"""Entity keys: how a lead's entities become the values stories are joined on.

Windows names the same thing several ways (``CORP\\alice``, ``alice@corp.local``, ``ws1`` and
``ws1.corp.local``), and some ids only mean something on one device (a logon id, a process id), so every
value is normalised into a key here, once, and the rest of the package only compares keys.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

# Accounts every Windows machine runs things as: never evidence that two activities are related.
WELL_KNOWN_ACCOUNTS = frozenset(
    {
        "",
        "-",
        "system",
        "local system",
        "localsystem",
        "nt authority\\system",
        "local service",
        "localservice",
        "network service",
        "networkservice",
        "anonymous logon",
        "anonymous",
        "iusr",
        "trustedinstaller",
    }
)
_VIRTUAL_ACCOUNT = re.compile(r"^(dwm|umfd)-\d+$")
# Logon sessions shared by every process of a kind on a device (SYSTEM, LOCAL/NETWORK SERVICE, none).
WELL_KNOWN_LOGONS = frozenset({"0x3e7", "0x3e4", "0x3e5", "0x0", "0", "999", "996", "997", "-", ""})
_HASH = re.compile(r"^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$")
_GUID = re.compile(r"^\{?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}?$")
_PID = re.compile(r"^(?:\d+|0x[0-9a-f]+)$")
# A path with a drive or share, outside the folders Windows and installers own (Windows\Temp is anyone's):
# a payload's own place.
_PLACED_PATH = re.compile(
    r"^(?:[a-z]:|\\\\[^\\]+\\[^\\]+)\\"  # drive or \\server\share
    r"(?!windows\\(?!temp\\)|program files(?: \(x86\))?\\)"
    r"(?:[^\\]+\\)*[^\\]+\.[a-z0-9]{1,8}$"
)
# Names a logon records when the client gave none of its own.
_NO_HOST = frozenset({"", "-", "localhost", "unknown"})


@dataclass(frozen=True, slots=True)
class EntityKey:
    """One normalised entity of a lead: ``key`` is what is compared, ``value`` what people read."""

    kind: str
    value: str
    key: str


@lru_cache(maxsize=65536)
def device_key(name: str) -> str:
    """The host part of a device name, lower case, so NetBIOS and DNS spellings meet."""
    name = name.strip().lower().rstrip(".")
    if not name:
        return ""
    try:
        ipaddress.ip_address(name)
        return name
    except ValueError:
        return name.split(".", 1)[0]


@lru_cache(maxsize=65536)
def account_name(value: str) -> str:
    """The user part of an account (``CORP\\alice``, ``alice@corp`` → ``alice``), lower case.

    The domain is dropped on purpose: the same person shows up with NetBIOS, DNS or no domain depending
    on the event, and the time window plus the prevalence filter keep same-named local accounts apart.
    """
    v = value.strip().lower()
    if "\\" in v:
        v = v.rsplit("\\", 1)[1]
    if "@" in v:
        v = v.split("@", 1)[0]
    return v


def is_well_known_account(name: str) -> bool:
    return name in WELL_KNOWN_ACCOUNTS or bool(_VIRTUAL_ACCOUNT.match(name))


def principals(entities: Mapping[str, Iterable[str]]) -> list[str]:
    """Whom a lead is about: its people's accounts, or, when it names none, its devices (as keys).

    Machine accounts (``HOST$``) and well-known ones are the device itself, not a person.
    """
    people = {
        f"account:{n}"
        for n in (account_name(str(a)) for a in entities.get("account", ()))
        if not is_well_known_account(n) and not n.endswith("$")
    }
    if people:
        return sorted(people)
    return sorted({f"device:{d}" for d in (device_key(str(x)) for x in entities.get("device", ())) if d})


def is_hash(value: str) -> bool:
    """An MD5, SHA-1 or SHA-256 in lower-case hex (how files are keyed; anything else is a name or path)."""
    return bool(_HASH.match(value))


@lru_cache(maxsize=65536)
def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a value spells (brackets, zone and IPv4-mapped form taken off), or None."""
    try:
        ip = ipaddress.ip_address(value.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def _usable_ip(value: str) -> bool:
    ip = _address(value)
    return ip is not None and not (ip.is_loopback or ip.is_unspecified or ip.is_link_local or ip.is_multicast)


def normalise_ip(value: str) -> str:
    v = value.strip().strip("[]").split("%", 1)[0].lower()
    if v.startswith("::ffff:"):
        v = v[7:]
    return v


def lead_keys(entities: Mapping[str, Iterable[str]]) -> list[EntityKey]:
    """Every join key of a lead's entities, sorted, without well-known or meaningless values.

    Logon and process ids are scoped to the lead's devices because they repeat across machines; Sysmon
    process GUIDs are unique already. Processes join only by id, files by hash or by a full path outside
    the Windows and Program Files folders (the DLL a scheduled task runs from a user's Temp folder, named
    again by its run hours later): a name like ``cmd.exe`` proves nothing. A remote host name joins leads
    that name the same peer (one spraying tool's workstation seen by the server it guessed at and by the
    domain controller that checked the guesses).
    """
    devices = sorted({device_key(d) for d in entities.get("device", ()) if device_key(d)})
    out: dict[str, EntityKey] = {}

    def add(kind: str, value: str, key: str) -> None:
        out.setdefault(key, EntityKey(kind, value, key))

    for d in devices:
        add("device", d, f"device:{d}")
    for raw in entities.get("account", ()):
        name = account_name(str(raw))
        if not is_well_known_account(name):
            add("account", str(raw), f"account:{name}")
    for raw in entities.get("logon", ()):
        v = str(raw).strip().lower()
        if v not in WELL_KNOWN_LOGONS:
            for d in devices:
                add("logon", str(raw), f"logon:{d}|{v}")
    for raw in entities.get("process", ()):
        v = str(raw).strip().lower()
        if _GUID.match(v):
            add("process", str(raw), f"process:{v.strip('{}')}")
        elif _PID.match(v):  # a process name (``whoami.exe``) is no more evidence than a file path
            for d in devices:
                add("process", str(raw), f"process:{d}|{v}")
    for raw in entities.get("file", ()):
        v = str(raw).strip().strip('"').lower()
        if is_hash(v) or _PLACED_PATH.match(v):
            add("file", str(raw), f"file:{v}")
    for raw in entities.get("remote_ip", ()):
        if _usable_ip(str(raw)):
            add("remote_ip", str(raw), f"remote_ip:{normalise_ip(str(raw))}")
    for raw in entities.get("remote_device", ()):
        host = device_key(str(raw))
        if host not in _NO_HOST and host not in devices and _address(host) is None:
            add("remote_device", str(raw), f"remote_device:{host}")
    for raw in entities.get("remote_url", ()):
        v = str(raw).strip().lower().rstrip(".")
        if v:
            add("remote_url", str(raw), f"remote_url:{v}")
    return [out[k] for k in sorted(out)]
