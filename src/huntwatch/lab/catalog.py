"""What the simulated machines run and talk to: binaries with stable hashes, and the internet they visit.

A binary's hashes depend only on what the file is (original name, company, version), so the same
``cmd.exe`` has the same SHA256 on every device and in every lab, and a renamed or moved copy keeps its
hash, as in a real fleet; attacker tools get names, hence hashes, from their scenario's seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property

MS = "Microsoft Corporation"
WINDOWS = "Microsoft® Windows® Operating System"
WIN_VERSION = "10.0.19041.3636 (WinBuild.160101.0800)"


@dataclass(frozen=True)
class Binary:
    path: str
    description: str = ""
    product: str = ""
    company: str = ""
    version: str = ""
    original: str = ""
    signed: bool = True

    @property
    def name(self) -> str:
        return self.path.rsplit("\\", 1)[-1]

    @cached_property
    def hashes(self) -> str:
        """Sysmon's ``Hashes`` text: SHA1, MD5, SHA256 and IMPHASH, upper case, stable per file identity."""
        seed = f"{(self.original or self.name).lower()}|{self.company}|{self.version}".encode()
        sha256 = hashlib.sha256(seed).hexdigest().upper()
        sha1 = hashlib.sha1(seed).hexdigest().upper()
        md5 = hashlib.md5(seed).hexdigest().upper()
        imphash = hashlib.md5(b"imp|" + seed).hexdigest().upper()
        return f"SHA1={sha1},MD5={md5},SHA256={sha256},IMPHASH={imphash}"


def _win(path: str, description: str, original: str = "") -> Binary:
    name = path.rsplit("\\", 1)[-1]
    return Binary(path, description, WINDOWS, MS, WIN_VERSION, original or name)


S32 = "C:\\Windows\\System32"
PSH = f"{S32}\\WindowsPowerShell\\v1.0\\powershell.exe"

BINARIES: dict[str, Binary] = {
    "smss": _win(f"{S32}\\smss.exe", "Windows Session Manager"),
    "wininit": _win(f"{S32}\\wininit.exe", "Windows Start-Up Application"),
    "winlogon": _win(f"{S32}\\winlogon.exe", "Windows Logon Application"),
    "services": _win(f"{S32}\\services.exe", "Services and Controller app"),
    "lsass": _win(f"{S32}\\lsass.exe", "Local Security Authority Process"),
    "svchost": _win(f"{S32}\\svchost.exe", "Host Process for Windows Services"),
    "userinit": _win(f"{S32}\\userinit.exe", "Userinit Logon Application"),
    "explorer": _win("C:\\Windows\\explorer.exe", "Windows Explorer"),
    "taskhostw": _win(f"{S32}\\taskhostw.exe", "Host Process for Windows Tasks"),
    "runtimebroker": _win(f"{S32}\\RuntimeBroker.exe", "Runtime Broker"),
    "searchindexer": _win(f"{S32}\\SearchIndexer.exe", "Microsoft Windows Search Indexer"),
    "conhost": _win(f"{S32}\\conhost.exe", "Console Window Host"),
    "cmd": _win(f"{S32}\\cmd.exe", "Windows Command Processor", "Cmd.Exe"),
    "powershell": _win(PSH, "Windows PowerShell", "PowerShell.EXE"),
    "net": _win(f"{S32}\\net.exe", "Net Command", "net.exe"),
    "net1": _win(f"{S32}\\net1.exe", "Net Command", "net1.exe"),
    "whoami": _win(f"{S32}\\whoami.exe", "whoami - displays logged on user information"),
    "nltest": _win(f"{S32}\\nltest.exe", "Microsoft® Logon Server Test Utility"),
    "ipconfig": _win(f"{S32}\\ipconfig.exe", "IP Configuration Utility"),
    "systeminfo": _win(f"{S32}\\systeminfo.exe", "Displays system information"),
    "tasklist": _win(f"{S32}\\tasklist.exe", "Lists the current running tasks"),
    "gpupdate": _win(f"{S32}\\gpupdate.exe", "Microsoft® Windows GPUpdate"),
    "schtasks": _win(f"{S32}\\schtasks.exe", "Task Scheduler Configuration Tool"),
    "sc": _win(f"{S32}\\sc.exe", "Service Control Manager Configuration Tool"),
    "wmic": _win(f"{S32}\\wbem\\WMIC.exe", "WMI Commandline Utility", "wmic.exe"),
    "wmiprvse": _win(f"{S32}\\wbem\\WmiPrvSE.exe", "WMI Provider Host", "Wmiprvse.exe"),
    "rundll32": _win(f"{S32}\\rundll32.exe", "Windows host process (Rundll32)", "RUNDLL32.EXE"),
    "regsvr32": _win(f"{S32}\\regsvr32.exe", "Microsoft(C) Register Server", "REGSVR32.EXE"),
    "mshta": _win(f"{S32}\\mshta.exe", "Microsoft (R) HTML Application host", "MSHTA.EXE"),
    "certutil": _win(f"{S32}\\certutil.exe", "CertUtil.exe", "CertUtil.exe"),
    "vssadmin": _win(f"{S32}\\vssadmin.exe", "Command Line Interface for Microsoft® Volume Shadow Copy Service"),
    "bcdedit": _win(f"{S32}\\bcdedit.exe", "Boot Configuration Data Editor", "bcdedit.exe"),
    "wbadmin": _win(f"{S32}\\wbadmin.exe", "Command Line Interface for Microsoft® BLB Backup"),
    "robocopy": _win(f"{S32}\\Robocopy.exe", "Microsoft® Robocopy", "robocopy.exe"),
    "curl": _win(f"{S32}\\curl.exe", "The curl executable", "curl.exe"),
    "msiexec": _win(f"{S32}\\msiexec.exe", "Windows® installer", "msiexec.exe"),
    "mstsc": _win(f"{S32}\\mstsc.exe", "Remote Desktop Connection", "mstsc.exe"),
    "rdpclip": _win(f"{S32}\\rdpclip.exe", "RDP Clipboard Monitor", "rdpclip.exe"),
    "usoclient": _win(f"{S32}\\usoclient.exe", "UsoClient", "UsoClient.exe"),
    "tiworker": _win(
        "C:\\Windows\\WinSxS\\amd64_microsoft-windows-servicingstack\\TiWorker.exe", "Windows Modules Installer Worker"
    ),
    "defrag": _win(f"{S32}\\Defrag.exe", "Disk Defragmenter Module"),
    "cleanmgr": _win(f"{S32}\\cleanmgr.exe", "Disk Space Cleanup Manager for Windows"),
    "dllhost": _win(f"{S32}\\dllhost.exe", "COM Surrogate"),
    "mmc": _win(f"{S32}\\mmc.exe", "Microsoft Management Console"),
    "dsa": _win(f"{S32}\\dsac.exe", "Active Directory Administrative Center"),
    "msmpeng": Binary(
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.23110.3-0\\MsMpEng.exe",
        "Antimalware Service Executable",
        WINDOWS,
        MS,
        "4.18.23110.3",
        "MsMpEng.exe",
    ),
    "mpcmdrun": Binary(
        "C:\\ProgramData\\Microsoft\\Windows Defender\\Platform\\4.18.23110.3-0\\MpCmdRun.exe",
        "Microsoft Malware Protection Command Line Utility",
        WINDOWS,
        MS,
        "4.18.23110.3",
        "MpCmdRun.exe",
    ),
    "winword": Binary(
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
        "Microsoft Word",
        "Microsoft Office",
        MS,
        "16.0.17126.20132",
        "WinWord.exe",
    ),
    "excel": Binary(
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\EXCEL.EXE",
        "Microsoft Excel",
        "Microsoft Office",
        MS,
        "16.0.17126.20132",
        "Excel.exe",
    ),
    "outlook": Binary(
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE",
        "Microsoft Outlook",
        "Microsoft Outlook",
        MS,
        "16.0.17126.20132",
        "Outlook.exe",
    ),
    "teams": Binary(
        "C:\\Program Files\\WindowsApps\\MSTeams_23320.3027.2591.1505_x64__8wekyb3d8bbwe\\ms-teams.exe",
        "Microsoft Teams",
        "Microsoft Teams",
        MS,
        "23320.3027.2591.1505",
        "ms-teams.exe",
    ),
    "onedrive": Binary(
        "C:\\Program Files\\Microsoft OneDrive\\OneDrive.exe",
        "Microsoft OneDrive",
        "Microsoft OneDrive",
        MS,
        "23.246.1127.0002",
        "OneDrive.exe",
    ),
    "chrome": Binary(
        "C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe",
        "Google Chrome",
        "Google Chrome",
        "Google LLC",
        "120.0.6099.130",
        "chrome.exe",
    ),
    "msedge": Binary(
        "C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe",
        "Microsoft Edge",
        "Microsoft Edge",
        MS,
        "120.0.2210.91",
        "msedge.exe",
    ),
    "code": Binary(
        "C:\\Program Files\\Microsoft VS Code\\Code.exe",
        "Visual Studio Code",
        "Visual Studio Code",
        MS,
        "1.85.1",
        "electron.exe",
    ),
    "git": Binary(
        "C:\\Program Files\\Git\\cmd\\git.exe",
        "Git for Windows",
        "Git",
        "The Git Development Community",
        "2.43.0.1",
        "git.exe",
    ),
    "python": Binary(
        "C:\\Program Files\\Python312\\python.exe",
        "Python",
        "Python",
        "Python Software Foundation",
        "3.12.1",
        "python.exe",
    ),
    "notepad": _win(f"{S32}\\notepad.exe", "Notepad", "NOTEPAD.EXE"),
    "7z": Binary("C:\\Program Files\\7-Zip\\7z.exe", "7-Zip Console", "7-Zip", "Igor Pavlov", "23.01", "7z.exe"),
    "psexec": Binary(
        "C:\\Tools\\Sysinternals\\PsExec64.exe",
        "Execute processes remotely",
        "Sysinternals PsExec",
        "Sysinternals - www.sysinternals.com",
        "2.43",
        "psexec.c",
    ),
    "psexesvc": Binary(
        "C:\\Windows\\PSEXESVC.exe",
        "PsExec Service",
        "Sysinternals PsExec",
        "Sysinternals - www.sysinternals.com",
        "2.43",
        "psexesvc.exe",
    ),
    "ccmexec": Binary(
        "C:\\Windows\\CCM\\CcmExec.exe",
        "Host Process for Microsoft Configuration Manager",
        "Microsoft Configuration Manager",
        MS,
        "5.00.9122.1000",
        "CcmExec.exe",
    ),
    "sqlservr": Binary(
        "C:\\Program Files\\Microsoft SQL Server\\MSSQL16.MSSQLSERVER\\MSSQL\\Binn\\sqlservr.exe",
        "SQL Server Windows NT - 64 Bit",
        "Microsoft SQL Server",
        MS,
        "2022.160.4095.4",
        "sqlservr.exe",
    ),
    "w3wp": _win("C:\\Windows\\System32\\inetsrv\\w3wp.exe", "IIS Worker Process", "w3wp.exe"),
    "wscript": _win(f"{S32}\\wscript.exe", "Microsoft ® Windows Based Script Host", "wscript.exe"),
    "dns": _win(f"{S32}\\dns.exe", "Domain Name System (DNS) Server"),
    "zoom": Binary(
        "C:\\Program Files\\Zoom\\bin\\Zoom.exe",
        "Zoom Workplace",
        "Zoom Workplace",
        "Zoom Video Communications, Inc.",
        "5.17.1.28914",
        "Zoom.exe",
    ),
    "npp": Binary(
        "C:\\Program Files\\Notepad++\\notepad++.exe",
        "Notepad++",
        "Notepad++",
        "Don HO don.h@free.fr",
        "8.6.0",
        "notepad++.exe",
    ),
    "googleupdate": Binary(
        "C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe",
        "Google Installer",
        "Google Update",
        "Google LLC",
        "1.3.36.352",
        "GoogleUpdate.exe",
    ),
}

DLLS: dict[str, Binary] = {
    "vbe7": Binary(
        "C:\\Program Files\\Common Files\\Microsoft Shared\\VBA\\VBA7.1\\VBE7.DLL",
        "Visual Basic for Applications Runtime",
        "Visual Basic for Applications",
        MS,
        "7.01.1132",
        "VBE7.DLL",
    ),
    "sma": Binary(
        "C:\\Windows\\assembly\\NativeImages_v4.0.30319_64\\System.Manaa57fc8cc#\\"
        "5f1b5c1c3a4e1a3b0e1f6a0d\\System.Management.Automation.ni.dll",
        "System.Management.Automation",
        "Microsoft (R) Windows (R) Operating System",
        MS,
        "10.0.19041.1",
        "System.Management.Automation.dll",
    ),
    "clr": Binary(
        "C:\\Windows\\Microsoft.NET\\Framework64\\v4.0.30319\\clr.dll",
        "Microsoft .NET Runtime Common Language Runtime - WorkStation",
        "Microsoft® .NET Framework",
        MS,
        "4.8.4645.0",
        "clr.dll",
    ),
    "dbgcore": _win(f"{S32}\\dbgcore.dll", "Windows DbgCore Library"),
    "comsvcs": _win(f"{S32}\\comsvcs.dll", "COM+ Services"),
    "scrobj": _win(f"{S32}\\scrobj.dll", "Windows ® Script Component Runtime"),
    "mshtml": _win(f"{S32}\\mshtml.dll", "MSHTML"),
    "jscript9": _win(f"{S32}\\jscript9.dll", "Microsoft ® JScript"),
}

# Sites people at the company visit, with a plausible address each (DNS answer, then a 443 connection).
WEB_SITES: tuple[tuple[str, str], ...] = (
    ("www.google.com", "142.250.185.68"),
    ("outlook.office365.com", "52.97.146.162"),
    ("teams.microsoft.com", "52.113.194.132"),
    ("login.microsoftonline.com", "20.190.159.4"),
    ("corp.sharepoint.com", "13.107.136.10"),
    ("www.linkedin.com", "13.107.42.14"),
    ("github.com", "140.82.121.3"),
    ("stackoverflow.com", "151.101.1.69"),
    ("www.bbc.co.uk", "151.101.0.81"),
    ("en.wikipedia.org", "185.15.59.224"),
    ("www.salesforce.com", "104.109.12.9"),
    ("docs.python.org", "151.101.128.223"),
    ("www.youtube.com", "142.250.186.110"),
    ("slack.com", "3.69.3.77"),
    ("zoom.us", "170.114.52.2"),
    ("drive.google.com", "142.250.184.238"),
    ("www.amazon.com", "54.239.28.85"),
    ("www.reuters.com", "23.47.169.111"),
    ("weather.com", "23.212.250.84"),
    ("www.dropbox.com", "162.125.1.18"),
)
UPDATE_SITES: tuple[tuple[str, str], ...] = (
    ("ctldl.windowsupdate.com", "93.184.221.240"),
    ("sls.update.microsoft.com", "20.72.235.82"),
    ("definitionupdates.microsoft.com", "13.107.4.50"),
    ("wdcp.microsoft.com", "52.152.110.14"),
    ("settings-win.data.microsoft.com", "20.42.65.90"),
    ("edge.microsoft.com", "13.107.21.239"),
    ("update.googleapis.com", "142.250.185.99"),
)
