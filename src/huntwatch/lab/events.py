"""Event builders in the flat OTRF/NXLog shape, with the state that keeps a device's telemetry coherent.

A :class:`HostState` lives for the whole lab (record numbers, ProcessGuid counter, the long-lived system
processes); a :class:`DeviceDay` collects one device's events for one day. Every builder takes the
processes and logon sessions it refers to, so parent/child chains, logon ids and hashes always agree.
Events carry only Windows' own field names; ground truth travels beside them as a tag, never inside.
"""

from __future__ import annotations

import base64
import contextlib
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from huntwatch.lab.catalog import BINARIES, DLLS, Binary
from huntwatch.lab.org import Account, Device, Organisation

SYSMON = "Microsoft-Windows-Sysmon/Operational"
SECURITY = "Security"
SYSTEM = "System"
PS_OPERATIONAL = "Microsoft-Windows-PowerShell/Operational"
PS_CLASSIC = "Windows PowerShell"

PROVIDERS: dict[str, tuple[str, str | None]] = {
    SYSMON: ("Microsoft-Windows-Sysmon", "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}"),
    SECURITY: ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}"),
    SYSTEM: ("Service Control Manager", "{555908D1-A6D7-4695-8E1E-26931D2012F4}"),
    PS_OPERATIONAL: ("Microsoft-Windows-PowerShell", "{A0C1853B-5C40-4B15-8766-3CF1C58F985A}"),
    PS_CLASSIC: ("PowerShell", None),
}
CHANNELS = tuple(PROVIDERS)

_LABELS = {"Low": "S-1-16-4096", "Medium": "S-1-16-8192", "High": "S-1-16-12288", "System": "S-1-16-16384"}
ADMIN_PRIVILEGES = "\r\n\t\t\t".join(
    (
        "SeSecurityPrivilege",
        "SeBackupPrivilege",
        "SeRestorePrivilege",
        "SeTakeOwnershipPrivilege",
        "SeDebugPrivilege",
        "SeSystemEnvironmentPrivilege",
        "SeLoadDriverPrivilege",
        "SeImpersonatePrivilege",
        "SeDelegateSessionUserImpersonatePrivilege",
    )
)
SECOND = 1_000_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE


_DATES: dict[int, str] = {}


def _date(day: int) -> str:
    text = _DATES.get(day)
    if text is None:
        t = time.gmtime(day * 86400)
        text = _DATES[day] = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
    return text


_CLOCK: list[str] = []


def _split(us: int) -> tuple[str, str]:
    """Date and clock text of a UTC time in microseconds; a table of the day's 86,400 seconds makes the
    hottest function of the generator a pair of lookups."""
    if not _CLOCK:
        _CLOCK.extend(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))
    sec, rem = divmod(us, SECOND)
    day, sec = divmod(sec, 86400)
    return _date(day), f"{_CLOCK[sec]}.{rem // 1000:03d}"


def iso(us: int) -> str:
    """``@timestamp`` text as OTRF writes it: UTC, milliseconds, ``Z``."""
    date, clock = _split(us)
    return f"{date}T{clock}Z"


def utc_time(us: int) -> str:
    """Sysmon's ``UtcTime`` text."""
    date, clock = _split(us)
    return f"{date} {clock}"


def encode_command(script: str) -> str:
    """What ``powershell -EncodedCommand`` takes: UTF-16LE, base64."""
    return base64.b64encode(script.encode("utf-16-le")).decode()


@dataclass
class Session:
    """A logon session: who, which logon id, and (for interactive logons) the desktop process."""

    sid: str
    name: str
    domain: str
    logon_id: int
    logon_guid: str
    logon_type: int
    sysmon_user: str
    terminal: int = 0
    integrity: str = "Medium"
    start: int = 0
    end: int = 0
    src_ip: str = "-"
    account: Account | None = None
    desktop: Proc | None = None
    apps: dict[str, Proc] = field(default_factory=dict)

    @property
    def logon_hex(self) -> str:
        return f"0x{self.logon_id:x}"


@dataclass
class Proc:
    guid: str
    pid: int
    image: str
    cmdline: str
    session: Session
    integrity: str
    binary: Binary | None = None
    cwd: str = "C:\\Windows\\system32\\"


@dataclass(frozen=True)
class Tag:
    """Ground-truth label of an event: which scenario instance (or benign look-alike) produced it."""

    key: str
    technique: str = ""


@dataclass
class HostState:
    """What a device remembers from one day to the next."""

    device: Device
    counters: dict[str, int] = field(default_factory=dict)
    guid_counter: int = 0
    next_logon: int = 0x3A000
    procs: dict[str, Proc] = field(default_factory=dict)
    system: Session | None = None
    lab: dict[str, Any] = field(default_factory=dict)

    def next_record(self, channel: str) -> int:
        n = self.counters.get(channel, 0) + 1
        self.counters[channel] = n
        return n


@dataclass(order=True)
class Pending:
    ts: int
    seq: int
    channel: str = field(compare=False)
    event_id: int = field(compare=False)
    body: dict[str, Any] = field(compare=False)
    tag: Tag | None = field(compare=False)


class DeviceDay:
    """Builds one device's events for one day; actions call the builders, the writer sorts and numbers."""

    def __init__(self, org: Organisation, host: HostState, rng: random.Random, day_start: int) -> None:
        self.org = org
        self.domain = org.domain
        self.host = host
        self.device = host.device
        self.rng = rng
        self.day_start = day_start
        self.day_end = day_start + 24 * HOUR
        self.day_iso = iso(day_start)[:10]
        self.events: list[Pending] = []
        self.sessions: list[Session] = []
        self._seq = 0
        self._tag: Tag | None = None
        if host.system is None:
            host.system = Session(
                "S-1-5-18",
                self.device.machine_account,
                self.domain.netbios,
                0x3E7,
                "{00000000-0000-0000-0000-000000000000}",
                0,
                "NT AUTHORITY\\SYSTEM",
                integrity="System",
            )
        if not host.procs:
            self._pre_existing()

    # -- identity helpers -------------------------------------------------------------------------
    @property
    def system(self) -> Session:
        assert self.host.system is not None
        return self.host.system

    def proc(self, name: str) -> Proc:
        return self.host.procs[name]

    def uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def pid(self) -> int:
        return self.rng.randrange(1000, 16000, 4)

    def port(self) -> int:
        return self.rng.randint(49670, 65000)

    def _guid(self, ts: int) -> str:
        self.host.guid_counter += 1
        c = self.host.guid_counter
        t = ts // SECOND
        prefix = self.device.machine_prefix
        return f"{{{prefix}-{t & 0xFFFF:04x}-{(t >> 16) & 0xFFFF:04x}-{c & 0xFFFF:04x}-{c >> 16:06x}000400}}"

    def new_session(
        self,
        account: Account,
        logon_type: int,
        ts: int,
        *,
        src_ip: str = "-",
        elevated: bool = False,
        terminal: int = 0,
    ) -> Session:
        self.host.next_logon += self.rng.randint(0x800, 0x40000)
        return Session(
            account.sid,
            account.name,
            self.domain.netbios,
            self.host.next_logon,
            "{" + self.uuid() + "}",
            logon_type,
            account.qualified,
            terminal=terminal,
            integrity="High" if elevated else "Medium",
            start=ts,
            src_ip=src_ip,
            account=account,
        )

    def session_of(self, account: Account, ts: int) -> Session | None:
        """The interactive session ``account`` has open on this device at ``ts``, if any."""
        for s in self.sessions:
            if s.account == account and s.start <= ts < s.end and s.desktop is not None:
                return s
        return None

    # -- tagging ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def tagged(self, key: str, technique: str = "") -> Iterator[None]:
        previous = self._tag
        self._tag = Tag(key, technique)
        try:
            yield
        finally:
            self._tag = previous

    def technique(self, technique: str) -> contextlib.AbstractContextManager[None]:
        """Re-tag the events that follow with a technique, keeping the current scenario key."""
        if self._tag is None:
            return contextlib.nullcontext()
        return self.tagged(self._tag.key, technique)

    def emit(self, ts: int, channel: str, event_id: int, body: dict[str, Any]) -> None:
        self._seq += 1
        self.events.append(Pending(ts, self._seq, channel, event_id, body, self._tag))

    # -- processes --------------------------------------------------------------------------------
    def _pre_existing(self) -> None:
        """Processes running before the lab window opened: no creation events, but stable guids."""
        ts = self.day_start - 3 * 24 * HOUR
        system = Proc(self._guid(ts), 4, "System", "", self.system, "System")
        self.host.procs["System"] = system
        self.boot(ts, emit=False)

    def boot(self, ts: int, *, emit: bool = True) -> None:
        """The boot chain a Windows machine starts with, and the service hosts later actions hang off."""
        system = self.host.procs["System"]
        spawn = self.spawn if emit else self._silent_spawn
        smss = spawn(ts, system, "smss", "\\SystemRoot\\System32\\smss.exe", self.system)
        wininit = spawn(ts + 900_000, smss, "wininit", "wininit.exe", self.system)
        winlogon = spawn(ts + 950_000, smss, "winlogon", "winlogon.exe", self.system)
        services = spawn(ts + 1_200_000, wininit, "services", "C:\\Windows\\system32\\services.exe", self.system)
        lsass = spawn(ts + 1_250_000, wininit, "lsass", "C:\\Windows\\system32\\lsass.exe", self.system)
        procs = {"smss": smss, "wininit": wininit, "winlogon": winlogon, "services": services, "lsass": lsass}
        groups = {
            "svc_dcom": "-k DcomLaunch -p",
            "svc_rpc": "-k RPCSS -p",
            "svc_schedule": "-k netsvcs -p -s Schedule",
            "svc_dnscache": "-k NetworkService -p -s Dnscache",
            "svc_winmgmt": "-k netsvcs -p -s Winmgmt",
            "svc_wuauserv": "-k netsvcs -p -s wuauserv",
            "svc_gpsvc": "-k netsvcs -p -s gpsvc",
            "svc_bits": "-k netsvcs -p -s BITS",
            "svc_termservice": "-k NetworkService -s TermService",
        }
        at = ts + 2 * SECOND
        for key, args in groups.items():
            at += self.rng.randint(50_000, 400_000)
            procs[key] = spawn(at, services, "svchost", f"C:\\Windows\\system32\\svchost.exe {args}", self.system)
        if self.device.role == "workstation":
            procs["indexer"] = spawn(
                at + SECOND // 2,
                services,
                "searchindexer",
                "C:\\Windows\\system32\\SearchIndexer.exe /Embedding",
                self.system,
            )
        procs["msmpeng"] = spawn(at + SECOND, services, "msmpeng", f'"{BINARIES["msmpeng"].path}"', self.system)
        procs["ccmexec"] = spawn(at + 2 * SECOND, services, "ccmexec", "C:\\Windows\\CCM\\CcmExec.exe", self.system)
        role_services = {
            "dc": ("dns", "C:\\Windows\\system32\\dns.exe"),
            "sql": ("sqlservr", f'"{BINARIES["sqlservr"].path}" -sMSSQLSERVER'),
            "app": ("w3wp", 'c:\\windows\\system32\\inetsrv\\w3wp.exe -ap "CorpPortal" -v "v4.0"'),
        }
        if self.device.role in role_services:
            key, cmd = role_services[self.device.role]
            procs["role"] = spawn(at + 3 * SECOND, services, key, cmd, self.system)
        self.host.procs.update(procs)

    def _silent_spawn(self, ts: int, parent: Proc, binary: str, cmdline: str, session: Session) -> Proc:
        b = BINARIES[binary]
        return Proc(self._guid(ts), self.pid(), b.path, cmdline, session, session.integrity, b)

    def spawn(
        self,
        ts: int,
        parent: Proc,
        binary: str | Binary,
        cmdline: str,
        session: Session,
        *,
        integrity: str | None = None,
        cwd: str | None = None,
    ) -> Proc:
        """A process start: Sysmon 1 and Security 4688, consistent with the parent and the logon session."""
        b = BINARIES[binary] if isinstance(binary, str) else binary
        level = integrity or session.integrity
        proc = Proc(self._guid(ts), self.pid(), b.path, cmdline, session, level, b, cwd or parent.cwd)
        self.emit(
            ts,
            SYSMON,
            1,
            {
                "RuleName": "-",
                "UtcTime": utc_time(ts),
                "ProcessGuid": proc.guid,
                "ProcessId": str(proc.pid),
                "Image": b.path,
                "FileVersion": b.version or "-",
                "Description": b.description or "-",
                "Product": b.product or "-",
                "Company": b.company or "-",
                "OriginalFileName": b.original or "-",
                "CommandLine": cmdline,
                "CurrentDirectory": proc.cwd,
                "User": session.sysmon_user,
                "LogonGuid": session.logon_guid,
                "LogonId": session.logon_hex,
                "TerminalSessionId": str(session.terminal),
                "IntegrityLevel": level,
                "Hashes": b.hashes,
                "ParentProcessGuid": parent.guid,
                "ParentProcessId": str(parent.pid),
                "ParentImage": parent.image,
                "ParentCommandLine": parent.cmdline,
                "ParentUser": parent.session.sysmon_user,
            },
        )
        elevation = "%%1936" if level == "System" else "%%1937" if level == "High" else "%%1938"
        self.emit(
            ts + 1000,
            SECURITY,
            4688,
            {
                "SubjectUserSid": session.sid,
                "SubjectUserName": session.name,
                "SubjectDomainName": session.domain,
                "SubjectLogonId": session.logon_hex,
                "NewProcessId": f"0x{proc.pid:x}",
                "NewProcessName": b.path,
                "TokenElevationType": elevation,
                "ProcessId": f"0x{parent.pid:x}",
                "CommandLine": cmdline,
                "TargetUserSid": "S-1-0-0",
                "TargetUserName": "-",
                "TargetDomainName": "-",
                "TargetLogonId": "0x0",
                "ParentProcessName": parent.image,
                "MandatoryLabel": _LABELS[level],
            },
        )
        return proc

    def exit(self, ts: int, proc: Proc) -> None:
        self.emit(
            ts,
            SYSMON,
            5,
            {
                "RuleName": "-",
                "UtcTime": utc_time(ts),
                "ProcessGuid": proc.guid,
                "ProcessId": str(proc.pid),
                "Image": proc.image,
                "User": proc.session.sysmon_user,
            },
        )

    def run(
        self,
        ts: int,
        parent: Proc,
        binary: str | Binary,
        cmdline: str,
        session: Session,
        *,
        seconds: float = 1.0,
        console: bool = False,
        integrity: str | None = None,
    ) -> Proc:
        """A short-lived process: start, optional conhost for console tools, exit."""
        proc = self.spawn(ts, parent, binary, cmdline, session, integrity=integrity)
        if console:
            con = self.spawn(
                ts + 20_000,
                proc,
                "conhost",
                "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1",
                session,
                integrity=integrity,
            )
            self.exit(ts + int(seconds * SECOND) + 30_000, con)
        self.exit(ts + int(seconds * SECOND), proc)
        return proc

    def powershell(
        self,
        ts: int,
        parent: Proc,
        cmdline: str,
        session: Session,
        script: str,
        *,
        seconds: float = 4.0,
        integrity: str | None = None,
        path: str = "",
    ) -> Proc:
        """A PowerShell host: process, engine start (400), the script block (4104), pipeline (800), exit."""
        proc = self.spawn(ts, parent, "powershell", cmdline, session, integrity=integrity)
        self.load(ts + 200_000, proc, "clr")
        self.load(ts + 300_000, proc, "sma")
        runspace, host_id = self.uuid(), self.uuid()
        self.emit(
            ts + 500_000,
            PS_CLASSIC,
            400,
            {
                "Message": "Engine state is changed from None to Available. \r\n\r\nDetails: \r\n"
                "\tNewEngineState=Available\r\n\tPreviousEngineState=None\r\n\r\n\tSequenceNumber=13\r\n\r\n"
                "\tHostName=ConsoleHost\r\n\tHostVersion=5.1.19041.3636\r\n"
                f"\tHostId={host_id}\r\n\tHostApplication={cmdline}\r\n\tEngineVersion=5.1.19041.3636\r\n"
                f"\tRunspaceId={runspace}\r\n\tPipelineId=\r\n\tCommandName=\r\n\tCommandType=\r\n"
                "\tScriptName=\r\n\tCommandPath=\r\n\tCommandLine=",
            },
        )
        self.emit(
            ts + 700_000,
            PS_OPERATIONAL,
            4104,
            {
                "MessageNumber": "1",
                "MessageTotal": "1",
                "ScriptBlockText": script,
                "ScriptBlockId": self.uuid(),
                "Path": path,
            },
        )
        first_line = script.strip().splitlines()[0] if script.strip() else ""
        self.emit(
            ts + 900_000,
            PS_CLASSIC,
            800,
            {
                "Message": f"Pipeline execution details for command line: {first_line}. \r\n\r\n"
                "Context Information: \r\n\tDetailSequence=1\r\n\tDetailTotal=1\r\n\r\n\tSequenceNumber=15\r\n\r\n"
                f"\tUserId={session.sysmon_user}\r\n\tHostName=ConsoleHost\r\n\tHostVersion=5.1.19041.3636\r\n"
                f"\tHostId={host_id}\r\n\tHostApplication={cmdline}\r\n\tEngineVersion=5.1.19041.3636\r\n"
                f"\tRunspaceId={runspace}\r\n\tPipelineId=1\r\n\tScriptName={path}\r\n\tCommandLine={first_line}\r\n",
            },
        )
        self.exit(ts + int(seconds * SECOND), proc)
        return proc

    # -- Sysmon activity --------------------------------------------------------------------------
    def _base(self, ts: int, proc: Proc) -> dict[str, Any]:
        return {
            "RuleName": "-",
            "UtcTime": utc_time(ts),
            "ProcessGuid": proc.guid,
            "ProcessId": str(proc.pid),
            "Image": proc.image,
        }

    def connect(
        self,
        ts: int,
        proc: Proc,
        dst_ip: str,
        dst_port: int,
        *,
        dst_host: str = "-",
        src_port: int | None = None,
        inbound_from: str | None = None,
        protocol: str = "tcp",
    ) -> int:
        """Sysmon 3. ``inbound_from`` makes it an accepted connection on this device's ``dst_port``."""
        sport = src_port or self.port()
        body = self._base(ts, proc)
        if inbound_from is None:
            src, dst, initiated = (self.device.ip, sport), (dst_ip, dst_port), "true"
        else:
            src, dst, initiated = (inbound_from, sport), (self.device.ip, dst_port), "false"
        body.update(
            {
                "User": proc.session.sysmon_user,
                "Protocol": protocol,
                "Initiated": initiated,
                "SourceIsIpv6": "false",
                "SourceIp": src[0],
                "SourceHostname": self.device.fqdn if inbound_from is None else "-",
                "SourcePort": str(src[1]),
                "SourcePortName": "-",
                "DestinationIsIpv6": "false",
                "DestinationIp": dst[0],
                "DestinationHostname": dst_host if inbound_from is None else self.device.fqdn,
                "DestinationPort": str(dst[1]),
                "DestinationPortName": {
                    443: "https",
                    80: "http",
                    445: "microsoft-ds",
                    389: "ldap",
                    88: "kerberos",
                    3389: "ms-wbt-server",
                    135: "epmap",
                    1433: "ms-sql-s",
                }.get(dst[1], "-"),
            }
        )
        self.emit(ts, SYSMON, 3, body)
        return sport

    def dns(self, ts: int, proc: Proc, name: str, answer: str) -> None:
        body = self._base(ts, proc)
        body.pop("Image")
        body.update(
            {
                "QueryName": name,
                "QueryStatus": "0",
                "QueryResults": f"::ffff:{answer};",
                "Image": proc.image,
                "User": proc.session.sysmon_user,
            }
        )
        self.emit(ts, SYSMON, 22, body)

    def web(self, ts: int, proc: Proc, host: str, ip: str, connections: int = 1, port: int = 443) -> int:
        """A name lookup followed by connections to it; returns the time the last one started."""
        self.dns(ts, proc, host, ip)
        at = ts + self.rng.randint(5_000, 80_000)
        for _ in range(connections):
            self.connect(at, proc, ip, port, dst_host=host)
            at += self.rng.randint(100_000, 20 * SECOND)
        return at

    def file(self, ts: int, proc: Proc, path: str) -> None:
        body = self._base(ts, proc)
        body.update({"TargetFilename": path, "CreationUtcTime": utc_time(ts), "User": proc.session.sysmon_user})
        self.emit(ts, SYSMON, 11, body)

    def reg_set(self, ts: int, proc: Proc, key: str, details: str) -> None:
        body = {
            "RuleName": "-",
            "EventType": "SetValue",
            "UtcTime": utc_time(ts),
            "ProcessGuid": proc.guid,
            "ProcessId": str(proc.pid),
            "Image": proc.image,
            "TargetObject": key,
            "Details": details,
            "User": proc.session.sysmon_user,
        }
        self.emit(ts, SYSMON, 13, body)

    def reg_create(self, ts: int, proc: Proc, key: str) -> None:
        body = {
            "RuleName": "-",
            "EventType": "CreateKey",
            "UtcTime": utc_time(ts),
            "ProcessGuid": proc.guid,
            "ProcessId": str(proc.pid),
            "Image": proc.image,
            "TargetObject": key,
            "User": proc.session.sysmon_user,
        }
        self.emit(ts, SYSMON, 12, body)

    def load(self, ts: int, proc: Proc, dll: str | Binary) -> None:
        b = DLLS[dll] if isinstance(dll, str) else dll
        body = self._base(ts, proc)
        body.update(
            {
                "ImageLoaded": b.path,
                "FileVersion": b.version or "-",
                "Description": b.description or "-",
                "Product": b.product or "-",
                "Company": b.company or "-",
                "OriginalFileName": b.original or "-",
                "Hashes": b.hashes,
                "Signed": "true" if b.signed else "false",
                "Signature": (b.company if b.company != "Microsoft Corporation" else "Microsoft Windows")
                if b.signed
                else "-",
                "SignatureStatus": "Valid" if b.signed else "Unavailable",
                "User": proc.session.sysmon_user,
            }
        )
        self.emit(ts, SYSMON, 7, body)

    def access(self, ts: int, source: Proc, target: Proc, granted: str, call_trace: str) -> None:
        self.emit(
            ts,
            SYSMON,
            10,
            {
                "RuleName": "-",
                "UtcTime": utc_time(ts),
                "SourceProcessGUID": source.guid,
                "SourceProcessId": str(source.pid),
                "SourceThreadId": str(self.rng.randrange(1000, 12000, 4)),
                "SourceImage": source.image,
                "TargetProcessGUID": target.guid,
                "TargetProcessId": str(target.pid),
                "TargetImage": target.image,
                "GrantedAccess": granted,
                "CallTrace": call_trace,
                "SourceUser": source.session.sysmon_user,
                "TargetUser": target.session.sysmon_user,
            },
        )

    # -- Security ---------------------------------------------------------------------------------
    def _subject(self, s: Session) -> dict[str, str]:
        return {
            "SubjectUserSid": s.sid,
            "SubjectUserName": s.name,
            "SubjectDomainName": s.domain,
            "SubjectLogonId": s.logon_hex,
        }

    def logon(
        self,
        ts: int,
        session: Session,
        *,
        ip: str = "-",
        port: str = "-",
        workstation: str = "-",
        package: str = "Kerberos",
        process: str = "-",
        process_id: int = 0,
        elevated: bool = False,
        linked: int = 0,
    ) -> None:
        """4624, plus 4672 when the new logon holds admin privileges."""
        if session.logon_type in (2, 7, 10, 11):
            logon_process, package, subject = "User32 ", "Negotiate", self.system
        elif session.logon_type in (4, 5):
            logon_process, package, subject = "Advapi  ", "Negotiate", self.system
        else:
            logon_process = "Kerberos" if package == "Kerberos" else "NtLmSsp "
            subject = Session("S-1-0-0", "-", "-", 0, "", 0, "")
        self.emit(
            ts,
            SECURITY,
            4624,
            {
                **self._subject(subject),
                "TargetUserSid": session.sid,
                "TargetUserName": session.name,
                "TargetDomainName": session.domain,
                "TargetLogonId": session.logon_hex,
                "LogonType": str(session.logon_type),
                "LogonProcessName": logon_process,
                "AuthenticationPackageName": package,
                "WorkstationName": workstation,
                "LogonGuid": session.logon_guid if package != "NTLM" else "{00000000-0000-0000-0000-000000000000}",
                "TransmittedServices": "-",
                "LmPackageName": "NTLM V2" if package == "NTLM" else "-",
                "KeyLength": "128" if package == "NTLM" else "0",
                "ProcessId": f"0x{process_id:x}",
                "ProcessName": process,
                "IpAddress": ip,
                "IpPort": port,
                "ImpersonationLevel": "%%1833",
                "RestrictedAdminMode": "-" if session.logon_type != 10 else "%%1843",
                "TargetOutboundUserName": "-",
                "TargetOutboundDomainName": "-",
                "VirtualAccount": "%%1843",
                "TargetLinkedLogonId": f"0x{linked:x}",
                "ElevatedToken": "%%1842" if elevated else "%%1843",
            },
        )
        if elevated:
            self.emit(ts + 1000, SECURITY, 4672, {**self._subject(session), "PrivilegeList": ADMIN_PRIVILEGES})

    def logon_failed(
        self,
        ts: int,
        user: str,
        domain: str,
        logon_type: int,
        *,
        status: str = "0xc000006d",
        sub_status: str = "0xc000006a",
        ip: str = "-",
        port: str = "0",
        workstation: str = "-",
        package: str = "NTLM",
    ) -> None:
        self.emit(
            ts,
            SECURITY,
            4625,
            {
                "SubjectUserSid": "S-1-0-0",
                "SubjectUserName": "-",
                "SubjectDomainName": "-",
                "SubjectLogonId": "0x0",
                "TargetUserSid": "S-1-0-0",
                "TargetUserName": user,
                "TargetDomainName": domain,
                "Status": status,
                "FailureReason": "%%2313",
                "SubStatus": sub_status,
                "LogonType": str(logon_type),
                "LogonProcessName": "NtLmSsp " if package == "NTLM" else "User32 ",
                "AuthenticationPackageName": package,
                "WorkstationName": workstation,
                "TransmittedServices": "-",
                "LmPackageName": "-",
                "KeyLength": "0",
                "ProcessId": "0x0",
                "ProcessName": "-",
                "IpAddress": ip,
                "IpPort": port,
            },
        )

    def logoff(self, ts: int, session: Session) -> None:
        self.emit(
            ts,
            SECURITY,
            4634,
            {
                "TargetUserSid": session.sid,
                "TargetUserName": session.name,
                "TargetDomainName": session.domain,
                "TargetLogonId": session.logon_hex,
                "LogonType": str(session.logon_type),
            },
        )

    def explicit_logon(
        self,
        ts: int,
        subject: Session,
        account: Account,
        server: str,
        proc: Proc | None,
        *,
        ip: str = "-",
        port: str = "-",
    ) -> None:
        """4648: a process used another account's credentials (runas, PsExec -u, RDP client)."""
        self.emit(
            ts,
            SECURITY,
            4648,
            {
                **self._subject(subject),
                "LogonGuid": "{00000000-0000-0000-0000-000000000000}",
                "TargetUserName": account.name,
                "TargetDomainName": self.domain.netbios,
                "TargetLogonGuid": "{" + self.uuid() + "}",
                "TargetServerName": server,
                "TargetInfo": server,
                "ProcessId": f"0x{proc.pid:x}" if proc else "0x0",
                "ProcessName": proc.image if proc else "-",
                "IpAddress": ip,
                "IpPort": port,
            },
        )

    def service_installed(
        self,
        ts: int,
        subject: Session,
        name: str,
        image: str,
        account: str = "LocalSystem",
        start: str = "demand start",
    ) -> None:
        """System 7045 and Security 4697, the two records of a new service."""
        self.emit(
            ts,
            SYSTEM,
            7045,
            {
                "ServiceName": name,
                "ImagePath": image,
                "ServiceType": "user mode service",
                "StartType": start,
                "AccountName": account,
            },
        )
        self.emit(
            ts + 2000,
            SECURITY,
            4697,
            {
                **self._subject(subject),
                "ServiceName": name,
                "ServiceFileName": image,
                "ServiceType": "0x10",
                "ServiceStartType": "3" if start == "demand start" else "2",
                "ServiceAccount": account,
            },
        )

    def service_state(self, ts: int, display: str, state: str) -> None:
        self.emit(ts, SYSTEM, 7036, {"param1": display, "param2": state})

    def task_created(self, ts: int, subject: Session, name: str, command: str, arguments: str, trigger: str) -> None:
        content = (
            '<?xml version="1.0" encoding="UTF-16"?>\r\n<Task version="1.2" '
            'xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">\r\n  <RegistrationInfo>\r\n'
            f"    <URI>{name}</URI>\r\n  </RegistrationInfo>\r\n  <Triggers>\r\n    {trigger}\r\n  </Triggers>\r\n"
            f'  <Actions Context="Author">\r\n    <Exec>\r\n      <Command>{command}</Command>\r\n'
            f"      <Arguments>{arguments}</Arguments>\r\n    </Exec>\r\n  </Actions>\r\n</Task>"
        )
        self.emit(ts, SECURITY, 4698, {**self._subject(subject), "TaskName": name, "TaskContent": content})

    def user_created(self, ts: int, subject: Session, name: str, rid: int, display: str, domain: str = "") -> str:
        """4720; ``domain`` is the domain's NetBIOS name (default) or a computer name for a local account."""
        domain = domain or self.domain.netbios
        local = domain != self.domain.netbios
        sid = f"S-1-5-21-{self.device.index + 1000}-{rid}" if local else f"{self.domain.sid}-{rid}"
        self.emit(
            ts,
            SECURITY,
            4720,
            {
                "TargetUserName": name,
                "TargetDomainName": domain,
                "TargetSid": sid,
                **self._subject(subject),
                "PrivilegeList": "-",
                "SamAccountName": name,
                "DisplayName": display or "%%1793",
                "UserPrincipalName": "-" if local else f"{name}@{self.domain.dns}",
                "HomeDirectory": "%%1793",
                "HomePath": "%%1793",
                "ScriptPath": "%%1793",
                "ProfilePath": "%%1793",
                "UserWorkstations": "%%1793",
                "PasswordLastSet": "%%1794",
                "AccountExpires": "%%1794",
                "PrimaryGroupId": "513",
                "AllowedToDelegateTo": "-",
                "OldUacValue": "0x0",
                "NewUacValue": "0x15",
                "UserAccountControl": "\r\n\t\t%%2080\r\n\t\t%%2082\r\n\t\t%%2084",
                "UserParameters": "%%1793",
                "SidHistory": "-",
                "LogonHours": "%%1797",
            },
        )
        return sid

    def group_member_added(
        self,
        ts: int,
        subject: Session,
        member: str,
        member_sid: str,
        group: str,
        group_sid: str,
        group_domain: str = "Builtin",
    ) -> None:
        self.emit(
            ts,
            SECURITY,
            4732,
            {
                "MemberName": member,
                "MemberSid": member_sid,
                "TargetUserName": group,
                "TargetDomainName": group_domain,
                "TargetSid": group_sid,
                **self._subject(subject),
                "PrivilegeList": "-",
            },
        )

    def tgt(self, ts: int, account: Account, ip: str, *, status: str = "0x0") -> None:
        self.emit(
            ts,
            SECURITY,
            4768,
            {
                "TargetUserName": account.name,
                "TargetDomainName": self.domain.dns.upper(),
                "TargetSid": account.sid if status == "0x0" else "S-1-0-0",
                "ServiceName": "krbtgt",
                "ServiceSid": f"{self.domain.sid}-502",
                "TicketOptions": "0x40810010",
                "Status": status,
                "TicketEncryptionType": "0x12" if status == "0x0" else "0xffffffff",
                "PreAuthType": "2" if status == "0x0" else "-",
                "IpAddress": f"::ffff:{ip}",
                "IpPort": str(self.port()),
                "CertIssuerName": "",
                "CertSerialNumber": "",
                "CertThumbprint": "",
            },
        )

    def tgs(self, ts: int, account: Account, service: str, ip: str) -> None:
        self.emit(
            ts,
            SECURITY,
            4769,
            {
                "TargetUserName": f"{account.name}@{self.domain.dns.upper()}",
                "TargetDomainName": self.domain.dns.upper(),
                "ServiceName": service,
                "ServiceSid": f"{self.domain.sid}-{1000 + sum(map(ord, service)) % 900}",
                "TicketOptions": "0x40810000",
                "TicketEncryptionType": "0x12",
                "IpAddress": f"::ffff:{ip}",
                "IpPort": str(self.port()),
                "Status": "0x0",
                "LogonGuid": "{" + self.uuid() + "}",
                "TransmittedServices": "-",
            },
        )

    def preauth_failed(self, ts: int, user: str, sid: str, ip: str, status: str = "0x18") -> None:
        self.emit(
            ts,
            SECURITY,
            4771,
            {
                "TargetUserName": user,
                "TargetSid": sid,
                "ServiceName": f"krbtgt/{self.domain.dns.upper()}",
                "TicketOptions": "0x40810010",
                "Status": status,
                "PreAuthType": "2",
                "IpAddress": f"::ffff:{ip}",
                "IpPort": str(self.port()),
                "CertIssuerName": "",
                "CertSerialNumber": "",
                "CertThumbprint": "",
            },
        )

    def ntlm_validation(self, ts: int, user: str, workstation: str, status: str = "0x0") -> None:
        self.emit(
            ts,
            SECURITY,
            4776,
            {
                "PackageName": "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0",
                "TargetUserName": user,
                "Workstation": workstation,
                "Status": status,
            },
        )

    def share(self, ts: int, session: Session, ip: str, share: str, local: str) -> None:
        self.emit(
            ts,
            SECURITY,
            5140,
            {
                **self._subject(session),
                "ObjectType": "File",
                "IpAddress": ip,
                "IpPort": str(self.port()),
                "ShareName": f"\\\\*\\{share}",
                "ShareLocalPath": local,
                "AccessMask": "0x1",
                "AccessList": "%%4416\r\n\t\t\t\t",
            },
        )

    def share_check(
        self, ts: int, session: Session, ip: str, share: str, local: str, relative: str, *, write: bool = False
    ) -> None:
        mask, access = ("0x2", "%%4417\r\n\t\t\t\t") if write else ("0x120089", "%%1538\r\n\t\t\t\t%%4416\r\n\t\t\t\t")
        self.emit(
            ts,
            SECURITY,
            5145,
            {
                **self._subject(session),
                "ObjectType": "File",
                "IpAddress": ip,
                "IpPort": str(self.port()),
                "ShareName": f"\\\\*\\{share}",
                "ShareLocalPath": local,
                "RelativeTargetName": relative,
                "AccessMask": mask,
                "AccessList": access,
                "AccessReason": "-",
            },
        )
