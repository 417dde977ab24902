"""The simulated organisation: devices, people and accounts, built from a seed.

Everything here is a plain frozen value so one organisation can be shared by the day planner, every
device generator and the scenarios without any of them changing it.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

Role = Literal["workstation", "dc", "fileserver", "backup", "sccm", "app", "sql", "rds"]
AccountKind = Literal["user", "admin", "service"]


FIRST_NAMES = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "nina",
    "oscar",
    "peggy",
    "quentin",
    "rupert",
    "sybil",
    "trent",
    "ursula",
    "victor",
    "walter",
    "xena",
    "yusuf",
    "zoe",
    "amir",
    "bianca",
    "chen",
    "dmitri",
    "elena",
    "farah",
    "goran",
    "hana",
    "ines",
    "jamal",
    "kenji",
    "leila",
    "marco",
    "noor",
    "olga",
    "pavel",
    "rosa",
    "sanjay",
    "tomas",
    "uma",
    "vera",
    "wen",
    "yara",
    "zlatan",
]
LAST_NAMES = [
    "smith",
    "jones",
    "brown",
    "garcia",
    "miller",
    "davis",
    "lopez",
    "wilson",
    "anderson",
    "thomas",
    "moore",
    "martin",
    "lee",
    "perez",
    "white",
    "harris",
    "clark",
    "lewis",
    "walker",
    "hall",
    "young",
    "king",
    "wright",
    "scott",
    "green",
    "baker",
    "adams",
    "nelson",
    "hill",
    "campbell",
    "mitchell",
    "roberts",
    "carter",
    "phillips",
    "evans",
    "turner",
    "torres",
    "parker",
    "collins",
    "edwards",
    "stewart",
    "morris",
    "murphy",
    "cook",
    "rogers",
    "morgan",
]
_DEPARTMENTS = ("Finance", "Sales", "HR", "Engineering", "Marketing", "Legal", "Operations")


def stable_hex(*parts: object, length: int = 32) -> str:
    """Hex digits that depend only on ``parts``: stable ids across runs and machines."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class Domain:
    """The Active Directory domain: NetBIOS name (``CORP``), DNS name (``corp.example``) and SID."""

    netbios: str
    dns: str
    sid: str

    @classmethod
    def named(cls, name: str) -> Domain:
        """A domain for an organisation name; the SID's sub-authorities follow from the name."""
        digest = int(stable_hex("domain", name.lower(), length=24), 16)
        parts = [(digest >> shift) % 4_000_000_000 + 100_000_000 for shift in (0, 32, 64)]
        slug = "".join(c for c in name.lower() if c.isalnum()) or "corp"
        return cls(slug.upper()[:15], f"{slug}.example", "S-1-5-21-" + "-".join(map(str, parts)))


DEFAULT_DOMAIN = Domain.named("corp")


@dataclass(frozen=True)
class Account:
    """A domain account; admins are separate ``adm.*`` accounts, as good practice asks."""

    name: str
    kind: AccountKind
    rid: int
    display: str
    department: str = ""
    developer: bool = False
    local_admin: bool = False
    domain: Domain = DEFAULT_DOMAIN

    @property
    def sid(self) -> str:
        return f"{self.domain.sid}-{self.rid}"

    @property
    def qualified(self) -> str:
        return f"{self.domain.netbios}\\{self.name}"


@dataclass(frozen=True)
class Device:
    name: str
    role: Role
    ip: str
    index: int
    owner: Account | None = None
    domain: Domain = DEFAULT_DOMAIN

    @cached_property
    def fqdn(self) -> str:
        return f"{self.name}.{self.domain.dns}"

    @property
    def machine_account(self) -> str:
        return f"{self.name}$"

    @property
    def machine_prefix(self) -> str:
        """First block of every Sysmon ProcessGuid on this device (Sysmon derives it from the machine)."""
        return stable_hex("machine", self.name, length=8)

    @property
    def is_server(self) -> bool:
        return self.role != "workstation"


@dataclass(frozen=True)
class Organisation:
    devices: tuple[Device, ...]
    users: tuple[Account, ...]
    admins: tuple[Account, ...]
    services: tuple[Account, ...]
    it_staff: tuple[Account, ...] = field(default=())
    domain: Domain = DEFAULT_DOMAIN

    def device(self, name: str) -> Device:
        for d in self.devices:
            if d.name == name:
                return d
        raise KeyError(name)

    @cached_property
    def _roles(self) -> dict[str, tuple[Device, ...]]:
        roles: dict[str, list[Device]] = {}
        for d in self.devices:
            roles.setdefault(d.role, []).append(d)
        return {role: tuple(devices) for role, devices in roles.items()}

    def by_role(self, role: Role) -> tuple[Device, ...]:
        return self._roles.get(role, ())

    @property
    def dc(self) -> Device:
        return self.by_role("dc")[0]

    @property
    def fileserver(self) -> Device:
        return self.by_role("fileserver")[0]

    @property
    def workstations(self) -> tuple[Device, ...]:
        return self.by_role("workstation")

    @cached_property
    def servers(self) -> tuple[Device, ...]:
        return tuple(d for d in self.devices if d.is_server)

    def service(self, name: str) -> Account:
        for a in self.services:
            if a.name == name:
                return a
        raise KeyError(name)

    def admin_of(self, user: Account) -> Account | None:
        """The ``adm.`` account of an IT staff member."""
        for a in self.admins:
            if a.name == f"adm.{user.name}":
                return a
        return None


_SERVER_ROLES: tuple[tuple[str, Role], ...] = (
    ("DC-01", "dc"),
    ("FS-01", "fileserver"),
    ("BKP-01", "backup"),
    ("SCCM-01", "sccm"),
    ("RDS-01", "rds"),
    ("APP-01", "app"),
    ("SQL-01", "sql"),
)

MIN_DEVICES = 10


def build_organisation(devices: int, seed: int, name: str = "corp") -> Organisation:
    """Servers first (one of each core role, more app/sql servers as the company grows), then workstations.

    About one device in twelve is a server, as in a typical mid-size company; one user in ten is a
    developer, one in thirty works in IT and holds a separate admin account. ``name`` gives the domain
    (``CORP``, ``corp.example``) so several labs can stand for several customers.
    """
    domain = Domain.named(name)
    if devices < MIN_DEVICES:
        raise ValueError(f"a lab needs at least {MIN_DEVICES} devices (got {devices})")
    rng = random.Random(f"{seed}|org")
    n_servers = max(len(_SERVER_ROLES), devices // 12)
    server_specs = list(_SERVER_ROLES)
    extra = n_servers - len(server_specs)
    for i in range(extra):
        role: Role = "app" if i % 2 == 0 else "sql"
        server_specs.append((f"{role.upper()}-{i // 2 + 2:02d}", role))
    n_wks = devices - len(server_specs)

    used: set[str] = set()
    users: list[Account] = []
    for i in range(n_wks):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        base = f"{first}.{last}"
        login, k = base, 2
        while login in used:
            login, k = f"{base}{k}", k + 1
        used.add(login)
        users.append(
            Account(
                name=login,
                kind="user",
                rid=1104 + i,
                display=f"{first.title()} {last.title()}",
                department=rng.choice(_DEPARTMENTS),
                developer=rng.random() < 0.1,
                local_admin=rng.random() < 0.15,
                domain=domain,
            )
        )
    n_it = max(2, n_wks // 30)
    users[:n_it] = [
        Account(u.name, u.kind, u.rid, u.display, "IT", u.developer, local_admin=True, domain=domain)
        for u in users[:n_it]
    ]
    it_staff = tuple(users[:n_it])
    admins = tuple(
        Account(f"adm.{u.name}", "admin", 20000 + i, f"{u.display} (admin)", "IT", local_admin=True, domain=domain)
        for i, u in enumerate(it_staff)
    )
    services = (
        Account("svc_backup", "service", 30001, "Backup service", local_admin=True, domain=domain),
        Account("svc_sccm", "service", 30002, "Configuration Manager push", local_admin=True, domain=domain),
        Account("svc_sql", "service", 30003, "SQL Server service", domain=domain),
        Account("svc_app", "service", 30004, "Line-of-business application pool", domain=domain),
    )
    device_list: list[Device] = [
        Device(host, role, f"10.10.1.{10 + i}", i, domain=domain) for i, (host, role) in enumerate(server_specs)
    ]
    for i, user in enumerate(users):
        idx = len(device_list)
        device_list.append(
            Device(f"WKS-{i + 1:04d}", "workstation", f"10.10.{20 + i // 250}.{i % 250 + 2}", idx, user, domain)
        )
    return Organisation(tuple(device_list), tuple(users), admins, services, it_staff, domain)
