"""Ordinary working days: logons, office work, browsing, updates, installs, maintenance, and the
benign activity that looks like an attack (admin discovery commands, PsExec by IT, password-protected
backup archives, encoded PowerShell from developers, configuration-manager scripts).

The day planner decides *what happens* across the company (a logon on a workstation also means
Kerberos tickets on the domain controller and a share visit on the file server); each action then
writes its events on its own device. Look-alike activity is tagged so the AI can learn from it.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from huntwatch.lab.catalog import BINARIES, UPDATE_SITES, WEB_SITES, Binary
from huntwatch.lab.events import HOUR, MINUTE, SECOND, DeviceDay, Proc, Session, encode_command
from huntwatch.lab.org import Account, Device, Organisation

SHARES = {
    "Finance": "D:\\Shares\\Finance",
    "HR": "D:\\Shares\\HR",
    "Sales": "D:\\Shares\\Sales",
    "Engineering": "D:\\Shares\\Engineering",
    "Public": "D:\\Shares\\Public",
}
DOC_NAMES = (
    "Q3 forecast",
    "Budget 2027",
    "Team offsite",
    "Customer list",
    "Board minutes",
    "Supplier contract",
    "Weekly report",
    "Roadmap",
    "Invoice tracker",
    "Headcount plan",
    "Pricing",
    "Onboarding checklist",
)
CONHOST = "\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1"
VPN_POOL = "10.10.200."


@dataclass(order=True)
class Action:
    ts: int
    seq: int
    fn: Callable[..., Any] = field(compare=False)
    args: tuple[Any, ...] = field(compare=False, default=())
    tag: str | None = field(compare=False, default=None)
    technique: str = field(compare=False, default="")

    def run(self, ctx: DeviceDay) -> None:
        if self.tag is None:
            self.fn(ctx, self.ts, *self.args)
            return
        with ctx.tagged(self.tag, self.technique):
            self.fn(ctx, self.ts, *self.args)


LOOKALIKES: dict[str, str] = {
    "it_admin_tools": "IT staff running discovery-style commands (whoami, nltest, net group) at their desk",
    "it_psexec": "IT staff running commands on servers with PsExec and their admin account",
    "dev_encoded_powershell": "Developers' tooling passing PowerShell commands with -EncodedCommand",
    "config_manager_scripts": "The configuration agent running SYSTEM PowerShell with -ExecutionPolicy Bypass",
    "software_install": "Software installs creating a service and a scheduled task",
    "backup_archive": "The nightly backup job packing file-server data into a password-protected 7z",
    "stale_service_password": "An application pool retrying an expired service-account password",
}


def lookalike(name: str, device: Device) -> str:
    """Ground-truth key of benign activity that resembles an attack (see :data:`LOOKALIKES`)."""
    return f"lookalike:{name}:{device.name}"


@dataclass
class DayPlan:
    """Everything scheduled on every device for one day, filled by the planners, drained per device.

    ``sessions`` keeps each workstation's planned desk hours so scenario steps can happen while the
    victim is actually logged on.
    """

    actions: dict[str, list[Action]] = field(default_factory=lambda: defaultdict(list))
    sessions: dict[str, tuple[int, int]] = field(default_factory=dict)
    _seq: int = 0

    def add(
        self, device: Device, ts: int, fn: Callable[..., Any], *args: Any, tag: str | None = None, technique: str = ""
    ) -> None:
        self._seq += 1
        self.actions[device.name].append(Action(ts, self._seq, fn, args, tag, technique))


# -- small building blocks ---------------------------------------------------------------------------
def adhoc_binary(path: str, description: str = "", company: str = "", signed: bool = False) -> Binary:
    """A binary that is not in the catalogue (dropped tools, installers): hashes still follow its path."""
    return Binary(path, description, "", company, "", path.rsplit("\\", 1)[-1], signed)


def console(
    ctx: DeviceDay,
    ts: int,
    parent: Proc,
    session: Session,
    commands: list[tuple[str, str]],
    *,
    integrity: str | None = None,
    gap: tuple[int, int] = (2, 40),
) -> int:
    """An interactive cmd.exe in which someone types a few commands; returns when it closes."""
    shell = ctx.spawn(ts, parent, "cmd", '"C:\\Windows\\system32\\cmd.exe" ', session, integrity=integrity)
    con = ctx.spawn(ts + 30_000, shell, "conhost", CONHOST, session, integrity=integrity)
    at = ts + 3 * SECOND
    for binary, cmdline in commands:
        at += ctx.rng.randint(*gap) * SECOND
        child = ctx.run(at, shell, binary, cmdline, session, seconds=ctx.rng.uniform(0.2, 3), integrity=integrity)
        if binary == "net":
            ctx.run(
                at + 50_000,
                child,
                "net1",
                "C:\\Windows\\system32\\net1 " + cmdline.split(" ", 1)[1],
                session,
                seconds=0.5,
                integrity=integrity,
            )
    at += ctx.rng.randint(10, 120) * SECOND
    ctx.exit(at, con)
    ctx.exit(at + 10_000, shell)
    return at


def browse(ctx: DeviceDay, ts: int, browser: Proc, visits: int) -> None:
    at = ts
    for _ in range(visits):
        host, ip = ctx.rng.choice(WEB_SITES)
        at = ctx.web(at, browser, host, ip, ctx.rng.randint(1, 3)) + ctx.rng.randint(20, 400) * SECOND


def office_doc(ctx: DeviceDay, ts: int, session: Session, explorer: Proc, end: int) -> None:
    app = ctx.rng.choice(("winword", "winword", "excel"))
    user = session.name
    doc = ctx.rng.choice(DOC_NAMES)
    ext = "docx" if app == "winword" else ctx.rng.choice(("xlsx", "xlsx", "xlsm"))
    path = f"C:\\Users\\{user}\\Documents\\{doc}.{ext}"
    flag = "/n" if app == "winword" else "/e"
    proc = ctx.spawn(
        ts, explorer, app, f'"{BINARIES[app].path}" {flag} "{path}"', session, cwd=f"C:\\Users\\{user}\\Documents\\"
    )
    if ext == "xlsm":  # macro workbooks load the VBA runtime exactly as a malicious document does
        ctx.load(ts + 900_000, proc, "vbe7")
    ctx.web(ts + 2 * SECOND, proc, "corp.sharepoint.com", "13.107.136.10")
    ctx.file(ts + SECOND, proc, f"C:\\Users\\{user}\\Documents\\~${doc[2:]}.{ext}")
    if session.account is not None and ctx.rng.random() < 0.5:
        office = "Word" if app == "winword" else "Excel"
        ctx.reg_create(
            ts + 3 * SECOND,
            proc,
            f"HKU\\{session.account.sid}\\SOFTWARE\\Microsoft\\Office\\16.0\\"
            f"{office}\\Reading Locations\\Document {ctx.rng.randint(0, 19)}",
        )
    stop = min(end - MINUTE, ts + ctx.rng.randint(5, 90) * MINUTE)
    if stop > ts + 2 * SECOND:
        ctx.file(ts + (stop - ts) // 2, proc, path)
        ctx.exit(stop, proc)


DEV_SCRIPTS = (
    "Get-ChildItem -Recurse -Filter *.csproj | ForEach-Object { dotnet build $_.FullName -c Release }",
    "$env:PATH -split ';' | Where-Object { Test-Path $_ } | Sort-Object -Unique",
    "Get-Process | Where-Object { $_.WorkingSet64 -gt 500MB } | Select-Object Name, Id, WorkingSet64",
    "Invoke-WebRequest -Uri https://github.com/corp/tools/releases/latest -UseBasicParsing | Select StatusCode",
    "Remove-Item -Recurse -Force .\\bin, .\\obj -ErrorAction SilentlyContinue; git clean -fdx",
)


def interactive_desktop(ctx: DeviceDay, ts: int, session: Session, parent: Proc) -> Proc:
    """userinit → explorer, the process every later user action hangs off."""
    userinit = ctx.spawn(ts, parent, "userinit", "C:\\Windows\\system32\\userinit.exe", session)
    explorer = ctx.spawn(ts + SECOND, userinit, "explorer", "C:\\Windows\\Explorer.EXE", session)
    explorer.cwd = f"C:\\Users\\{session.name}\\"
    ctx.exit(ts + 3 * SECOND, userinit)
    session.desktop = explorer
    ctx.sessions.append(session)
    return explorer


# -- actions: each runs on one device -----------------------------------------------------------------
def user_session(ctx: DeviceDay, logon: int, account: Account, logoff: int) -> None:
    """A working day at the desk: logon, desktop, mail, Teams, documents, the web, logoff."""
    rng = ctx.rng
    winlogon = ctx.proc("winlogon")
    session = ctx.new_session(account, 2, logon, terminal=1)
    session.end = logoff
    ctx.explicit_logon(logon - 300_000, ctx.system, account, "localhost", winlogon, ip="127.0.0.1", port="0")
    linked: Session | None = None
    if account.local_admin:
        linked = ctx.new_session(account, 2, logon, elevated=True, terminal=1)
        ctx.logon(
            logon,
            linked,
            ip="127.0.0.1",
            port="0",
            workstation=ctx.device.name,
            process="C:\\Windows\\System32\\svchost.exe",
            process_id=1028,
            elevated=True,
            linked=session.logon_id,
        )
    ctx.logon(
        logon + 500,
        session,
        ip="127.0.0.1",
        port="0",
        workstation=ctx.device.name,
        process="C:\\Windows\\System32\\svchost.exe",
        process_id=1028,
    )
    dc = ctx.org.dc
    ctx.connect(logon - 600_000, ctx.proc("lsass"), dc.ip, 88, dst_host=dc.fqdn)  # the TGT the DC logs
    ctx.connect(logon - 400_000, ctx.proc("lsass"), dc.ip, 88, dst_host=dc.fqdn)
    ctx.connect(logon + 4 * SECOND, ctx.proc("svc_gpsvc"), dc.ip, 389, dst_host=dc.fqdn)
    explorer = interactive_desktop(ctx, logon + 2 * SECOND, session, winlogon)

    onedrive = ctx.spawn(
        logon + 9 * SECOND, explorer, "onedrive", f'"{BINARIES["onedrive"].path}" /background', session
    )
    ctx.web(logon + 12 * SECOND, onedrive, "corp.sharepoint.com", "13.107.136.10", 2)
    teams = ctx.spawn(
        logon + 10 * SECOND, explorer, "teams", f'"{BINARIES["teams"].path}" msteams:system-initiated', session
    )
    outlook = ctx.spawn(
        logon + rng.randint(30, 300) * SECOND, explorer, "outlook", f'"{BINARIES["outlook"].path}" ', session
    )
    long_lived = [onedrive, teams, outlook]
    dcom = ctx.proc("svc_dcom")
    broker = ctx.spawn(
        logon + 6 * SECOND, dcom, "runtimebroker", "C:\\Windows\\System32\\RuntimeBroker.exe -Embedding", session
    )
    ctx.run(
        logon + 7 * SECOND,
        dcom,
        "dllhost",
        "C:\\Windows\\system32\\DllHost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}",
        session,
        seconds=12,
    )
    long_lived.append(broker)
    if rng.random() < 0.3:
        note = f"C:\\Users\\{account.name}\\Desktop\\notes.txt"
        pad = ctx.spawn(
            logon + rng.randint(20, 300) * MINUTE,
            explorer,
            "notepad",
            f'"C:\\Windows\\system32\\NOTEPAD.EXE" {note}',
            session,
        )
        long_lived.append(pad)
    at = logon + 5 * MINUTE
    while at < logoff - 10 * MINUTE:
        ctx.web(at, outlook, "outlook.office365.com", "52.97.146.162")
        ctx.web(at + rng.randint(1, 60) * SECOND, teams, "teams.microsoft.com", "52.113.194.132")
        at += rng.randint(25, 70) * MINUTE
    browser_key = "chrome" if account.rid % 3 else "msedge"
    browser = ctx.spawn(
        logon + rng.randint(2, 40) * MINUTE, explorer, browser_key, f'"{BINARIES[browser_key].path}" ', session
    )
    long_lived.append(browser)
    session.apps.update(outlook=outlook, browser=browser, teams=teams)
    for _ in range(rng.randint(3, 8)):
        browse(ctx, rng.randint(logon + 30 * MINUTE, logoff - 20 * MINUTE), browser, rng.randint(1, 4))
    for _ in range(rng.randint(2, 6)):
        office_doc(ctx, rng.randint(logon + 10 * MINUTE, logoff - 30 * MINUTE), session, explorer, logoff)
    if account.developer:
        code = ctx.spawn(logon + rng.randint(5, 30) * MINUTE, explorer, "code", f'"{BINARIES["code"].path}" ', session)
        long_lived.append(code)
        for _ in range(rng.randint(1, 4)):
            ts = rng.randint(logon + HOUR, logoff - 30 * MINUTE)
            script = rng.choice(DEV_SCRIPTS)
            cmd = f"powershell.exe -NoProfile -NonInteractive -EncodedCommand {encode_command(script)}"
            with ctx.tagged(lookalike("dev_encoded_powershell", ctx.device), "T1059.001"):
                ps = ctx.powershell(ts, code, cmd, session, script, seconds=rng.uniform(2, 30))
            if "github" in script:
                ctx.web(ts + 2 * SECOND, ps, "github.com", "140.82.121.3")
            git = ctx.run(ts + 5 * MINUTE, code, "git", "git pull --rebase", session, seconds=3)
            ctx.web(ts + 5 * MINUTE + SECOND, git, "github.com", "140.82.121.3")
            ctx.run(ts + 9 * MINUTE, code, "python", "python -m pytest -q tests", session, seconds=rng.uniform(5, 90))
    if rng.random() < 0.08:  # someone fighting with the VPN or the Wi-Fi
        console(
            ctx,
            rng.randint(logon + 20 * MINUTE, logoff - 20 * MINUTE),
            explorer,
            session,
            [("ipconfig", "ipconfig /all"), ("ipconfig", "ipconfig /flushdns")],
        )
    for proc in long_lived:
        ctx.exit(logoff - rng.randint(1, 30) * SECOND, proc)
    ctx.exit(logoff, explorer)
    ctx.logoff(logoff + SECOND, session)
    if linked is not None:  # Windows closes the elevated twin of an admin's logon too
        ctx.logoff(logoff + SECOND + 2000, linked)


def mistyped_password(ctx: DeviceDay, ts: int, account: Account) -> None:
    ctx.logon_failed(
        ts, account.name, ctx.domain.netbios, 2, ip="127.0.0.1", workstation=ctx.device.name, package="Negotiate"
    )


def dc_user_auth(
    ctx: DeviceDay, ts: int, account: Account, src: Device, services: tuple[str, ...], failed_first: bool = False
) -> None:
    """What a domain logon looks like on the domain controller: a TGT, then service tickets."""
    if failed_first:
        ctx.preauth_failed(ts - 20 * SECOND, account.name, account.sid, src.ip)
    ctx.tgt(ts, account, src.ip)
    for i, service in enumerate(services):
        ctx.tgs(ts + (i + 1) * 150_000, account, service, src.ip)


def dc_machine_gpo(ctx: DeviceDay, ts: int, src: Device) -> None:
    """A computer refreshing group policy: machine-account logon, SYSVOL, logoff."""
    machine = Account(src.machine_account, "service", 5000 + src.index, src.name, domain=ctx.domain)
    session = ctx.new_session(machine, 3, ts, src_ip=src.ip)
    ctx.logon(ts, session, ip=src.ip, port=str(ctx.port()))
    ctx.share(ts + 30_000, session, src.ip, "SYSVOL", "\\??\\C:\\Windows\\SYSVOL\\sysvol")
    ctx.logoff(ts + 5 * SECOND, session)


def device_gpo(ctx: DeviceDay, ts: int) -> None:
    gpsvc = ctx.proc("svc_gpsvc")
    dc = ctx.org.dc
    ctx.dns(ts - 100_000, gpsvc, f"_ldap._tcp.dc._msdcs.{ctx.domain.dns}", dc.ip)
    ctx.connect(ts, gpsvc, dc.ip, 389, dst_host=dc.fqdn)
    ctx.connect(ts + 200_000, ctx.proc("System"), dc.ip, 445, dst_host=dc.fqdn)
    ctx.reg_set(
        ts + SECOND,
        gpsvc,
        "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Group Policy\\State\\Machine\\"
        "Extension-List\\{00000000-0000-0000-0000-000000000000}\\EndTime",
        "QWORD (0x01db2a5c-0x8f4a1b20)",
    )


def share_client(ctx: DeviceDay, ts: int, server: Device) -> None:
    """The client side of a share visit: the kernel's SMB connection (Sysmon shows it under System)."""
    ctx.dns(ts - 50_000, ctx.proc("svc_dnscache"), server.fqdn, server.ip)
    ctx.connect(ts, ctx.proc("System"), server.ip, 445, dst_host=server.fqdn)


def fileshare_visit(ctx: DeviceDay, ts: int, account: Account, src: Device, share: str, files: int) -> None:
    """A user opening files on a share: network logon, share connect, one access check per file."""
    session = ctx.new_session(account, 3, ts, src_ip=src.ip)
    ctx.logon(ts, session, ip=src.ip, port=str(ctx.port()))
    ctx.share(ts + 20_000, session, src.ip, share, f"\\??\\{SHARES[share]}")
    at = ts + 50_000
    for _ in range(files):
        at += ctx.rng.randint(100_000, 30 * SECOND)
        ctx.share_check(
            at,
            session,
            src.ip,
            share,
            f"\\??\\{SHARES[share]}",
            f"{ctx.rng.choice(DOC_NAMES)}.{ctx.rng.choice(('docx', 'xlsx', 'pdf'))}",
        )
    ctx.logoff(at + ctx.rng.randint(1, 20) * MINUTE, session)


def admin_discovery(ctx: DeviceDay, ts: int, account: Account) -> None:
    """IT staff checking things with the same commands an intruder uses for discovery."""
    session = ctx.session_of(account, ts)
    if session is None or session.desktop is None:
        return
    commands = [
        ("whoami", "whoami /all"),
        ("nltest", f"nltest /dsgetdc:{ctx.domain.dns}"),
        ("nltest", f"nltest /dclist:{ctx.domain.netbios}"),
        ("net", 'net group "Domain Admins" /domain'),
        ("net", f"net user {ctx.rng.choice(ctx.org.users).name} /domain"),
        ("ipconfig", "ipconfig /all"),
        ("net", "net localgroup administrators"),
        ("gpupdate", "gpupdate /force"),
    ]
    console(ctx, ts, session.desktop, session, ctx.rng.sample(commands, k=ctx.rng.randint(2, 5)))


def psexec_source(
    ctx: DeviceDay, ts: int, account: Account, admin: Account, target: Device, command: str, src_port: int
) -> None:
    """The admin's side of an IT PsExec: the tool, explicit credentials and the SMB connection."""
    session = ctx.session_of(account, ts)
    if session is None or session.desktop is None:
        return
    tool = ctx.spawn(
        ts,
        session.desktop,
        "psexec",
        f'"{BINARIES["psexec"].path}" \\\\{target.name} -accepteula -u {ctx.domain.netbios}\\{admin.name} -s {command}',
        session,
    )
    ctx.explicit_logon(ts + 200_000, session, admin, target.name, tool, ip=target.ip, port="445")
    ctx.connect(ts + 300_000, tool, target.ip, 445, dst_host=target.fqdn, src_port=src_port)
    ctx.exit(ts + ctx.rng.randint(5, 40) * SECOND, tool)


def remote_service_exec(
    ctx: DeviceDay,
    ts: int,
    account: Account,
    src: Device,
    src_port: int,
    service: str,
    image: str,
    commands: list[tuple[str | Binary, str]],
) -> None:
    """The target side of PsExec-style execution: network logon, admin shares, a new service, its children."""
    session = ctx.new_session(account, 3, ts, src_ip=src.ip, elevated=True)
    ctx.logon(ts, session, ip=src.ip, port=str(src_port), workstation=src.name, elevated=True)
    local = image.replace("%SystemRoot%", "C:\\Windows")
    ctx.share(ts + 40_000, session, src.ip, "IPC$", "")
    ctx.share(ts + 60_000, session, src.ip, "ADMIN$", "\\??\\C:\\Windows")
    ctx.share_check(ts + 80_000, session, src.ip, "ADMIN$", "\\??\\C:\\Windows", local.rsplit("\\", 1)[-1], write=True)
    ctx.file(ts + 90_000, ctx.proc("System"), local)
    ctx.service_installed(ts + 200_000, session, service, image)
    ctx.service_state(ts + 300_000, service, "running")
    binary = BINARIES["psexesvc"] if service == "PSEXESVC" else adhoc_binary(local)
    svc = ctx.spawn(ts + 350_000, ctx.proc("services"), binary, local, ctx.system)
    at = ts + SECOND
    for b, cmdline in commands:
        ctx.run(at, svc, b, cmdline, ctx.system, seconds=ctx.rng.uniform(0.5, 4), console=True)
        at += ctx.rng.randint(1, 8) * SECOND
    ctx.exit(at + SECOND, svc)
    ctx.service_state(at + 2 * SECOND, service, "stopped")
    ctx.logoff(at + 3 * SECOND, session)


def rdp_logon(
    ctx: DeviceDay, ts: int, account: Account, src_ip: str, minutes: int, commands: list[tuple[str, str]]
) -> Session:
    """An RDP session (logon type 10) with its desktop, clipboard helper and a few console commands."""
    session = ctx.new_session(account, 10, ts, src_ip=src_ip, elevated=account.local_admin, terminal=2)
    session.end = ts + minutes * MINUTE
    ctx.logon(
        ts,
        session,
        ip=src_ip,
        port="0",
        workstation="-",
        package="Negotiate",
        process="C:\\Windows\\System32\\svchost.exe",
        process_id=1180,
        elevated=account.local_admin,
    )
    winlogon = ctx.proc("winlogon")
    explorer = interactive_desktop(ctx, ts + 3 * SECOND, session, winlogon)
    clip = ctx.spawn(ts + 6 * SECOND, ctx.proc("svc_termservice"), "rdpclip", "rdpclip", session)
    if commands:
        console(ctx, ts + ctx.rng.randint(1, 5) * MINUTE, explorer, session, commands)
    ctx.exit(session.end - SECOND, clip)
    ctx.exit(session.end, explorer)
    ctx.logoff(session.end + SECOND, session)
    return session


def rdp_client(ctx: DeviceDay, ts: int, account: Account, target: Device, admin: Account) -> None:
    session = ctx.session_of(account, ts)
    if session is None or session.desktop is None:
        return
    mstsc = ctx.spawn(ts, session.desktop, "mstsc", f'"C:\\Windows\\system32\\mstsc.exe" /v:{target.fqdn}', session)
    ctx.explicit_logon(ts + 5 * SECOND, session, admin, target.fqdn, mstsc, ip=target.ip, port="3389")
    ctx.connect(ts + 6 * SECOND, mstsc, target.ip, 3389, dst_host=target.fqdn)
    ctx.exit(ts + ctx.rng.randint(10, 40) * MINUTE, mstsc)


def new_hire(ctx: DeviceDay, ts: int, admin: Account, src: Device, name: str, rid: int) -> None:
    """An admin creating a domain account and adding it to a built-in group, over RDP to the DC."""
    session = rdp_logon(ctx, ts, admin, src.ip, 25, [])
    assert session.desktop is not None
    tool = ctx.spawn(ts + 2 * MINUTE, session.desktop, "dsa", "C:\\Windows\\system32\\dsac.exe", session)
    sid = ctx.user_created(ts + 5 * MINUTE, session, name, rid, name.replace(".", " ").title())
    ctx.group_member_added(
        ts + 6 * MINUTE, session, f"CN={name},OU=Staff,DC=corp,DC=example", sid, "Remote Desktop Users", "S-1-5-32-555"
    )
    ctx.exit(ts + 10 * MINUTE, tool)


def background(ctx: DeviceDay, ts: int) -> None:
    """What every Windows machine does on its own: tasks, Defender, Windows Update, the config agent."""
    rng, system = ctx.rng, ctx.system
    schedule = ctx.proc("svc_schedule")
    for _ in range(rng.randint(4, 9)):
        at = ts + rng.randint(0, 24 * HOUR - MINUTE)
        task = ctx.run(at, schedule, "taskhostw", "taskhostw.exe Install $(Arg0)", system, seconds=rng.uniform(1, 30))
        ctx.file(at + SECOND, task, f"C:\\Windows\\Prefetch\\TASKHOSTW.EXE-{rng.getrandbits(32):08X}.pf")
    msmpeng = ctx.proc("msmpeng")
    for _ in range(rng.randint(1, 3)):
        at = ts + rng.randint(0, 24 * HOUR - MINUTE)
        host, ip = UPDATE_SITES[2]
        ctx.web(at, msmpeng, host, ip, 2)
        up = ctx.run(
            at + SECOND,
            schedule,
            "mpcmdrun",
            f'"{BINARIES["mpcmdrun"].path}" SignatureUpdate -ScheduleJob -RestrictPrivileges',
            system,
            seconds=40,
        )
        ctx.file(
            at + 20 * SECOND,
            up,
            f"C:\\ProgramData\\Microsoft\\Windows Defender\\Definition Updates\\{{{ctx.uuid().upper()}}}\\mpasdlta.vdm",
        )
    wu = ctx.proc("svc_wuauserv")
    at = ts + rng.randint(0, 24 * HOUR - HOUR)
    ctx.run(at - 2 * SECOND, schedule, "usoclient", "C:\\Windows\\system32\\usoclient.exe StartScan", system, seconds=3)
    for host, ip in UPDATE_SITES[:2]:
        at = ctx.web(at, wu, host, ip)
    if (ts // (24 * HOUR) + 3) % 7 == ctx.device.index % 7:  # weekly maintenance, each machine its own day
        at = ts + rng.randint(1 * HOUR, 5 * HOUR)
        ctx.run(at, schedule, "defrag", "C:\\Windows\\system32\\defrag.exe -c -h -o -$", system, seconds=300)
        ctx.run(at + 10 * MINUTE, schedule, "cleanmgr", "cleanmgr.exe /autoclean /d C:", system, seconds=120)
    ccm = ctx.proc("ccmexec")
    for _ in range(rng.randint(1, 3)):  # configuration baselines: SYSTEM PowerShell with a bypassed policy
        at = ts + rng.randint(0, 24 * HOUR - MINUTE)
        script_path = f"C:\\Windows\\CCM\\SystemTemp\\{ctx.uuid()}.ps1"
        script = (
            "$r = Get-ItemProperty 'HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows Defender' -ErrorAction "
            "SilentlyContinue\nif ($r.DisableAntiSpyware -eq 1) { 'NonCompliant' } else { 'Compliant' }"
        )
        with ctx.tagged(lookalike("config_manager_scripts", ctx.device), "T1059.001"):
            ctx.powershell(
                at,
                ccm,
                f'"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\PowerShell.exe" -NoLogo '
                f"-Noninteractive -NoProfile -ExecutionPolicy Bypass \"& '{script_path}'\"",
                system,
                script,
                path=script_path,
                seconds=3,
            )
    ctx.connect(ts + rng.randint(0, 24 * HOUR - MINUTE), ccm, "10.10.1.13", 443, dst_host=f"SCCM-01.{ctx.domain.dns}")
    for _ in range(rng.randint(2, 6)):
        at = ts + rng.randint(0, 24 * HOUR - MINUTE)
        key = rng.choice(
            (
                "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\WindowsUpdate\\Orchestrator\\UScheduler\\"
                "LastScanTime",
                "HKLM\\System\\CurrentControlSet\\Services\\bam\\State\\UserSettings\\S-1-5-18\\LastRun",
                "HKLM\\SOFTWARE\\Microsoft\\Windows Defender\\Signature Updates\\SignaturesLastUpdated",
            )
        )
        ctx.reg_set(
            at,
            rng.choice((schedule, wu, msmpeng)),
            key,
            f"QWORD (0x01db{rng.getrandbits(16):04x}-0x{rng.getrandbits(32):08x})",
        )
    role = ctx.device.role
    if role == "sql":
        sql = ctx.proc("role")
        for _ in range(rng.randint(20, 60)):
            app = rng.choice(ctx.org.by_role("app"))
            ctx.connect(ts + rng.randint(0, 24 * HOUR - MINUTE), sql, app.ip, 1433, inbound_from=app.ip)
    if role == "app":
        w3wp = ctx.proc("role")
        sql_servers = ctx.org.by_role("sql")
        for _ in range(rng.randint(20, 60)):
            at = ts + rng.randint(7 * HOUR, 19 * HOUR)
            client = rng.choice(ctx.org.workstations)
            ctx.connect(at, w3wp, client.ip, 443, inbound_from=client.ip)
            target = rng.choice(sql_servers)
            ctx.connect(at + 50_000, w3wp, target.ip, 1433, dst_host=target.fqdn)


def software_install(ctx: DeviceDay, ts: int) -> None:
    """The configuration agent installing or updating software: msiexec, files, uninstall keys, a service
    and a scheduled task, which is exactly what persistence hunts look for."""
    ccm = ctx.proc("ccmexec")
    system = ctx.system
    product = ctx.rng.choice(("zoom", "googleupdate", "npp"))
    if product == "zoom":
        msi = ctx.run(
            ts,
            ccm,
            "msiexec",
            'msiexec.exe /i "C:\\Windows\\ccmcache\\4\\ZoomInstallerFull.msi" /qn ZoomAutoUpdate=true',
            system,
            seconds=90,
        )
        ctx.file(ts + 30 * SECOND, msi, BINARIES["zoom"].path)
        ctx.reg_set(
            ts + 60 * SECOND,
            msi,
            "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\"
            "{3D7B4D57-A7A1-4B54-9C57-2D4E5FB8E3F1}\\DisplayVersion",
            "5.17.1",
        )
        return
    if product == "npp":
        setup = adhoc_binary(
            "C:\\Windows\\ccmcache\\7\\npp.8.6.0.Installer.x64.exe",
            "Notepad++ installer",
            "Don HO don.h@free.fr",
            signed=True,
        )
        proc = ctx.run(ts, ccm, setup, '"C:\\Windows\\ccmcache\\7\\npp.8.6.0.Installer.x64.exe" /S', system, seconds=25)
        ctx.file(ts + 10 * SECOND, proc, BINARIES["npp"].path)
        ctx.reg_set(
            ts + 20 * SECOND,
            proc,
            "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\Notepad++\\DisplayVersion",
            "8.6.0",
        )
        return
    setup = adhoc_binary(
        "C:\\Windows\\ccmcache\\9\\GoogleUpdateSetup.exe", "Google Update Setup", "Google LLC", signed=True
    )
    proc = ctx.run(
        ts, ccm, setup, '"C:\\Windows\\ccmcache\\9\\GoogleUpdateSetup.exe" /silent /install', system, seconds=20
    )
    path = BINARIES["googleupdate"].path
    key = lookalike("software_install", ctx.device)
    with ctx.tagged(key, "T1543.003"):
        ctx.file(ts + 5 * SECOND, proc, path)
        ctx.service_installed(ts + 8 * SECOND, system, "gupdate", f'"{path}" /svc', start="auto start")
    with ctx.tagged(key, "T1053.005"):
        ctx.task_created(
            ts + 10 * SECOND,
            system,
            "\\GoogleUpdateTaskMachineCore",
            path,
            "/c",
            "<LogonTrigger><Enabled>true</Enabled></LogonTrigger>",
        )
    ctx.web(ts + 12 * SECOND, proc, "update.googleapis.com", "142.250.185.99")


def patch_reboot(ctx: DeviceDay, ts: int) -> None:
    """Monthly updates: TiWorker writes files, the machine restarts and the boot chain runs again."""
    services = ctx.proc("services")
    ti = ctx.run(ts, services, "tiworker", f"{BINARIES['tiworker'].path} -Embedding", ctx.system, seconds=600)
    for i in range(ctx.rng.randint(3, 8)):
        ctx.file(ts + (i + 1) * 20 * SECOND, ti, f"C:\\Windows\\WinSxS\\Temp\\PendingRenames\\{ctx.uuid()}.dll")
    ctx.boot(ts + 15 * MINUTE)


def nightly_backup(ctx: DeviceDay, ts: int, fileserver: Device) -> None:
    """The backup server's job: a batch logon, robocopy from the file server, a password-protected 7z."""
    account = ctx.org.service("svc_backup")
    session = ctx.new_session(account, 4, ts)
    ctx.logon(ts, session, process="C:\\Windows\\System32\\svchost.exe", process_id=1240)
    day = ctx.day_iso
    task = ctx.spawn(
        ts + SECOND,
        ctx.proc("svc_schedule"),
        "cmd",
        'C:\\Windows\\system32\\cmd.exe /c "C:\\Scripts\\nightly-backup.cmd"',
        session,
    )
    at = ts + 3 * SECOND
    for share in ("Finance", "HR", "Sales"):
        robo = ctx.run(
            at,
            task,
            "robocopy",
            f"robocopy \\\\{fileserver.name}\\{share} E:\\Staging\\{share} /MIR /R:1 "
            "/W:1 /NP /LOG+:C:\\Scripts\\logs\\robocopy.log",
            session,
            seconds=(took := ctx.rng.randint(60, 600)),
        )
        ctx.connect(at + SECOND, robo, fileserver.ip, 445, dst_host=fileserver.fqdn)
        at += (took + ctx.rng.randint(2, 30)) * SECOND  # the next share starts when this copy ends
    with ctx.tagged(lookalike("backup_archive", ctx.device), "T1560.001"):
        zip_ = ctx.run(
            at,
            task,
            "7z",
            f'"C:\\Program Files\\7-Zip\\7z.exe" a -t7z -mx5 -mhe=on -pBkp#N1ghtly '
            f'"E:\\Backups\\fs01-{day}.7z" E:\\Staging\\*',
            session,
            seconds=900,
        )
        ctx.file(at + 5 * SECOND, zip_, f"E:\\Backups\\fs01-{day}.7z")
    ctx.exit(at + 16 * MINUTE, task)
    ctx.logoff(at + 17 * MINUTE, session)


def backup_reads(ctx: DeviceDay, ts: int, backup: Device) -> None:
    account = ctx.org.service("svc_backup")
    for i, share in enumerate(("Finance", "HR", "Sales")):
        fileshare_visit(ctx, ts + i * 5 * MINUTE, account, backup, share, ctx.rng.randint(5, 15))


def stale_service_password(ctx: DeviceDay, ts: int, src: Device) -> None:
    """An app pool still using an old password: a burst of failed network logons, night after night."""
    for i in range(ctx.rng.randint(3, 9)):
        ctx.logon_failed(
            ts + i * ctx.rng.randint(20, 90) * SECOND,
            "svc_app",
            ctx.domain.netbios,
            3,
            ip=src.ip,
            port=str(ctx.port()),
            workstation=src.name,
        )


# -- the day planner -------------------------------------------------------------------------------
def plan_benign_day(
    plan: DayPlan,
    org: Organisation,
    day_index: int,
    day_start: int,
    weekday: int,
    seed: int,
    present: frozenset[str] = frozenset(),
) -> None:
    """Schedule one ordinary day for the whole company. Weekends are quiet; servers never sleep.

    Workstations in ``present`` have their user at the desk whatever the day (a scenario needs them).
    """
    rng = random.Random(f"{seed}|plan|{day_index}")
    dc, fs = org.dc, org.fileserver
    workday = weekday < 5
    for dev in org.devices:
        plan.add(dev, day_start, background)
        for _ in range(rng.randint(2, 4)):
            at = day_start + rng.randint(0, 24 * HOUR - HOUR)
            plan.add(dev, at, device_gpo)
            plan.add(dc, at + 100_000, dc_machine_gpo, dev)
        if rng.random() < 0.04:
            plan.add(dev, day_start + rng.randint(2 * HOUR, 4 * HOUR), patch_reboot)
        if dev.role == "workstation" and rng.random() < 0.05 and workday:
            plan.add(dev, day_start + rng.randint(9 * HOUR, 17 * HOUR), software_install)
    for dev in org.workstations:
        user = dev.owner
        assert user is not None
        attends = rng.random() <= (0.93 if workday else 0.05)
        logon = day_start + int(rng.gauss(8.3, 0.6) * HOUR)
        logoff = min(logon + int(rng.gauss(8.8, 0.8) * HOUR), day_start + 23 * HOUR)
        if not attends and dev.name not in present:
            continue
        plan.sessions[dev.name] = (logon, logoff)
        typo = rng.random() < 0.04
        if typo:
            plan.add(dev, logon - 20 * SECOND, mistyped_password, user)
        plan.add(dev, logon, user_session, user, logoff)
        plan.add(
            dc,
            logon - 400_000,
            dc_user_auth,
            user,
            dev,
            (f"host/{dev.fqdn}", f"cifs/{fs.fqdn}", f"ldap/{dc.fqdn}"),
            typo,
        )
        for _ in range(rng.randint(1, 3)):
            share = rng.choice(("Public", "Sales", user.department if user.department in SHARES else "Public"))
            at = rng.randint(logon + MINUTE, logoff - 10 * MINUTE)
            plan.add(fs, at, fileshare_visit, user, dev, share, rng.randint(1, 8))
            plan.add(dev, at - 300_000, share_client, fs)
        admin = org.admin_of(user)
        if admin is None:
            continue
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(logon + 10 * MINUTE, logoff - 30 * MINUTE)
            plan.add(dev, at, admin_discovery, user, tag=lookalike("it_admin_tools", dev), technique="T1087.002")
        for _ in range(rng.randint(0, 2)):
            target = rng.choice(org.servers)
            at = rng.randint(logon + 10 * MINUTE, logoff - 30 * MINUTE)
            port = rng.randint(49670, 65000)
            command = rng.choice(
                (
                    [("cmd", "cmd /c ipconfig /flushdns")],
                    [("sc", "sc query wuauserv"), ("net", "net stop spooler"), ("net", "net start spooler")],
                    [("gpupdate", "gpupdate /force")],
                    [("cmd", "cmd /c dir D:\\Logs")],
                )
            )
            key = lookalike("it_psexec", dev)
            shown = " ".join(c for _, c in command)
            plan.add(dev, at, psexec_source, user, admin, target, shown, port, tag=key, technique="T1569.002")
            plan.add(
                target,
                at + 500_000,
                remote_service_exec,
                admin,
                dev,
                port,
                "PSEXESVC",
                "%SystemRoot%\\PSEXESVC.exe",
                command,
                tag=key,
                technique="T1569.002",
            )
            plan.add(dc, at + 100_000, dc_user_auth, admin, dev, (f"cifs/{target.fqdn}",))
        if rng.random() < 0.5:
            target = rng.choice([s for s in org.servers if s.role != "dc"])
            at = rng.randint(logon + 10 * MINUTE, logoff - 60 * MINUTE)
            plan.add(dev, at, rdp_client, user, target, admin)
            plan.add(
                target,
                at + 8 * SECOND,
                rdp_logon,
                admin,
                dev.ip,
                rng.randint(10, 40),
                [("whoami", "whoami"), ("tasklist", "tasklist /svc"), ("mmc", "mmc.exe compmgmt.msc")],
            )
            plan.add(dc, at + 2 * SECOND, dc_user_auth, admin, dev, (f"TERMSRV/{target.fqdn}",))
        if workday and rng.random() < 0.3 and dev == org.workstations[0]:
            name = f"new.hire{day_index}{rng.randint(10, 99)}"
            plan.add(
                dc,
                rng.randint(logon + HOUR, logoff - HOUR),
                new_hire,
                admin,
                dev,
                name,
                40000 + day_index * 100 + rng.randint(0, 99),
            )
    backup = org.by_role("backup")[0]
    at = day_start + int(1.5 * HOUR) + rng.randint(0, 900) * SECOND
    plan.add(backup, at, nightly_backup, fs)
    plan.add(fs, at + 3 * SECOND, backup_reads, backup)
    plan.add(dc, at - SECOND, dc_user_auth, org.service("svc_backup"), backup, (f"cifs/{fs.fqdn}",))
    rds = org.by_role("rds")[0]
    for user in rng.sample(org.users, k=min(len(org.users), 3 + len(org.users) // 40)):
        if rng.random() < (0.5 if workday else 0.1):
            ip = f"{VPN_POOL}{rng.randint(10, 250)}"
            plan.add(rds, day_start + rng.randint(7 * HOUR, 21 * HOUR), rdp_logon, user, ip, rng.randint(15, 120), [])
    sql = org.by_role("sql")[0]
    if rng.random() < 0.5:
        plan.add(
            sql,
            day_start + rng.randint(0, 5 * HOUR),
            stale_service_password,
            org.by_role("app")[0],
            tag=lookalike("stale_service_password", sql),
            technique="T1110",
        )
