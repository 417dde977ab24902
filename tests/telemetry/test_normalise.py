"""Field mapping of every normalised event type, and of real Sysmon/Security records."""

from __future__ import annotations

import datetime as dt
import zipfile
from typing import Any

import orjson
import pytest

from huntwatch.schema import table
from huntwatch.telemetry import MAPPINGS, RawEvent, normalise, read_path
from tests.conftest import dataset

SYSMON = "Microsoft-Windows-Sysmon/Operational"
SEC = "Security"
PS = "Microsoft-Windows-PowerShell/Operational"
PSC = "Windows PowerShell"
DEF = "Microsoft-Windows-Windows Defender/Operational"
WMI = "Microsoft-Windows-WMI-Activity/Operational"

PROC = {
    "Image": r"C:\Windows\System32\cmd.exe",
    "CommandLine": 'cmd.exe /c "whoami"',
    "ProcessId": "4242",
    "ProcessGuid": "{aa}",
    "User": r"CORP\alice",
    "ParentImage": r"C:\Windows\explorer.exe",
    "ParentProcessId": "100",
    "ParentProcessGuid": "{pp}",
    "ParentCommandLine": "explorer.exe",
    "Hashes": "SHA1=AB,MD5=CD,SHA256=EF01",
    "IntegrityLevel": "High",
    "LogonId": "0x3e7",
}
SUBJECT = {
    "SubjectUserName": "admin",
    "SubjectDomainName": "CORP",
    "SubjectUserSid": "S-1-5-21-1",
    "SubjectLogonId": "0x1",
}

# (channel, event id, event fields, expected columns)
CASES: list[tuple[str, int, dict[str, str], dict[str, Any]]] = [
    (
        SYSMON,
        1,
        PROC,
        {
            "ActionType": "ProcessCreated",
            "FileName": "cmd.exe",
            "FolderPath": PROC["Image"],
            "ProcessCommandLine": PROC["CommandLine"],
            "ProcessId": 4242,
            "AccountName": "alice",
            "AccountDomain": "CORP",
            "InitiatingProcessFileName": "explorer.exe",
            "InitiatingProcessId": 100,
            "InitiatingProcessUniqueId": "{pp}",
            "SHA256": "ef01",
            "SHA1": "ab",
            "MD5": "cd",
            "ProcessIntegrityLevel": "High",
        },
    ),
    (
        SYSMON,
        2,
        {"TargetFilename": r"C:\x\a.txt", "Image": r"C:\t.exe"},
        {"ActionType": "FileTimestampModified", "FileName": "a.txt", "InitiatingProcessFileName": "t.exe"},
    ),
    (
        SYSMON,
        3,
        {
            "Image": r"C:\a\b.exe",
            "Initiated": "true",
            "SourceIp": "10.0.0.5",
            "SourcePort": "5000",
            "DestinationIp": "1.2.3.4",
            "DestinationPort": "443",
            "DestinationHostname": "evil.example",
            "Protocol": "tcp",
            "User": r"CORP\bob",
        },
        {
            "ActionType": "ConnectionSuccess",
            "RemoteIP": "1.2.3.4",
            "RemotePort": 443,
            "LocalIP": "10.0.0.5",
            "RemoteUrl": "evil.example",
            "InitiatingProcessFileName": "b.exe",
            "InitiatingProcessAccountName": "bob",
        },
    ),
    (SYSMON, 4, {"State": "Started"}, {"ActionType": "SysmonConfigurationChanged"}),
    (SYSMON, 5, {"Image": r"C:\a\b.exe", "ProcessId": "7"}, {"ActionType": "ProcessTerminated", "ProcessId": 7}),
    (
        SYSMON,
        6,
        {"ImageLoaded": r"C:\d\x.sys", "Hashes": "SHA256=AA"},
        {"ActionType": "DriverLoaded", "FileName": "x.sys", "SHA256": "aa"},
    ),
    (
        SYSMON,
        7,
        {"ImageLoaded": r"C:\d\x.dll", "Image": r"C:\p.exe", "Signed": "false"},
        {"ActionType": "ImageLoaded", "FileName": "x.dll", "InitiatingProcessFileName": "p.exe", "Signed": "false"},
    ),
    (
        SYSMON,
        8,
        {
            "SourceImage": r"C:\a.exe",
            "TargetImage": r"C:\Windows\explorer.exe",
            "TargetProcessId": "9",
            "StartAddress": "0x1",
        },
        {
            "ActionType": "CreateRemoteThreadApiCall",
            "FileName": "explorer.exe",
            "ProcessId": 9,
            "InitiatingProcessFileName": "a.exe",
        },
    ),
    (
        SYSMON,
        9,
        {"Image": r"C:\a.exe", "Device": r"\Device\HarddiskVolume2"},
        {"ActionType": "RawDiskAccess", "ObjectName": r"\Device\HarddiskVolume2"},
    ),
    (
        SYSMON,
        10,
        {
            "SourceImage": r"C:\m.exe",
            "SourceProcessGUID": "{s}",
            "TargetImage": r"C:\Windows\system32\lsass.exe",
            "GrantedAccess": "0x1010",
            "SourceUser": r"CORP\eve",
        },
        {
            "ActionType": "OpenProcessApiCall",
            "FileName": "lsass.exe",
            "InitiatingProcessFileName": "m.exe",
            "InitiatingProcessUniqueId": "{s}",
            "InitiatingProcessAccountName": "eve",
        },
    ),
    (
        SYSMON,
        11,
        {"TargetFilename": r"C:\Users\a\evil.exe", "Image": r"C:\a.exe"},
        {"ActionType": "FileCreated", "FileName": "evil.exe", "FolderPath": r"C:\Users\a\evil.exe"},
    ),
    (
        SYSMON,
        12,
        {"EventType": "CreateKey", "TargetObject": r"HKLM\SOFTWARE\X", "Image": r"C:\a.exe"},
        {"ActionType": "RegistryKeyCreated", "RegistryKey": r"HKLM\SOFTWARE\X"},
    ),
    (
        SYSMON,
        13,
        {
            "EventType": "SetValue",
            "TargetObject": r"HKU\S\Software\Microsoft\Windows\CurrentVersion\Run\evil",
            "Details": r"C:\evil.exe",
            "Image": r"C:\a.exe",
        },
        {
            "ActionType": "RegistryValueSet",
            "RegistryKey": r"HKU\S\Software\Microsoft\Windows\CurrentVersion\Run",
            "RegistryValueName": "evil",
            "RegistryValueData": r"C:\evil.exe",
        },
    ),
    (
        SYSMON,
        14,
        {"EventType": "RenameKey", "TargetObject": r"HKLM\A", "NewName": r"HKLM\B"},
        {"ActionType": "RegistryKeyRenamed", "RegistryKey": r"HKLM\B", "PreviousRegistryKey": r"HKLM\A"},
    ),
    (
        SYSMON,
        15,
        {"TargetFilename": r"C:\x\a.txt:Zone.Identifier", "Hash": "SHA256=BB"},
        {"ActionType": "FileStreamCreated", "SHA256": "bb"},
    ),
    (SYSMON, 16, {"Configuration": "c.xml"}, {"ActionType": "SysmonConfigurationChanged"}),
    (
        SYSMON,
        17,
        {"PipeName": r"\PSEXESVC", "Image": r"C:\p.exe"},
        {"ActionType": "NamedPipeCreated", "ObjectName": r"\PSEXESVC"},
    ),
    (
        SYSMON,
        18,
        {"PipeName": r"\lsarpc", "Image": r"C:\p.exe"},
        {"ActionType": "NamedPipeConnected", "ObjectName": r"\lsarpc"},
    ),
    (
        SYSMON,
        19,
        {"Name": "f1", "Query": "SELECT * FROM __InstanceModificationEvent"},
        {"ActionType": "WmiEventFilterCreated", "ObjectName": "f1"},
    ),
    (
        SYSMON,
        20,
        {"Name": "c1", "Destination": "powershell -enc AAA"},
        {"ActionType": "WmiEventConsumerCreated", "ObjectName": "c1", "ProcessCommandLine": "powershell -enc AAA"},
    ),
    (SYSMON, 21, {"Consumer": "c1", "Filter": "f1"}, {"ActionType": "WmiBindingCreated", "ObjectName": "c1"}),
    (
        SYSMON,
        22,
        {"QueryName": "evil.example", "Image": r"C:\a.exe"},
        {"ActionType": "DnsQuery", "RemoteUrl": "evil.example", "InitiatingProcessFileName": "a.exe"},
    ),
    (SYSMON, 23, {"TargetFilename": r"C:\x\gone.txt"}, {"ActionType": "FileDeleted", "FileName": "gone.txt"}),
    (SYSMON, 25, {"Image": r"C:\h.exe", "Type": "Image is replaced"}, {"ActionType": "ProcessTampering"}),
    (SYSMON, 26, {"TargetFilename": r"C:\x\gone.txt"}, {"ActionType": "FileDeleted"}),
    (SYSMON, 27, {"TargetFilename": r"C:\x\blocked.exe"}, {"ActionType": "FileBlockedExecutable"}),
    (SEC, 1102, {"SubjectUserName": "admin"}, {"ActionType": "SecurityLogCleared", "AccountName": "admin"}),
    (
        SEC,
        4624,
        {
            "TargetUserName": "bob",
            "TargetDomainName": "CORP",
            "LogonType": "10",
            "IpAddress": "::ffff:10.0.0.9",
            "WorkstationName": "WKS1",
            "AuthenticationPackageName": "Negotiate",
            "TargetLogonId": "0x5",
        },
        {
            "ActionType": "LogonSuccess",
            "AccountName": "bob",
            "LogonType": "RemoteInteractive",
            "RemoteIP": "10.0.0.9",
            "RemoteDeviceName": "WKS1",
            "Protocol": "Negotiate",
            "LogonId": "0x5",
        },
    ),
    (
        SEC,
        4625,
        {
            "TargetUserName": "bob",
            "LogonType": "3",
            "IpAddress": "-",
            "Status": "0xc000006d",
            "SubStatus": "0xc000006a",
        },
        {"ActionType": "LogonFailed", "LogonType": "Network", "RemoteIP": None, "FailureReason": "0xc000006a"},
    ),
    (SEC, 4634, {"TargetUserName": "bob", "LogonType": "3"}, {"ActionType": "Logoff", "AccountName": "bob"}),
    (SEC, 4647, {"TargetUserName": "bob"}, {"ActionType": "Logoff"}),
    (
        SEC,
        4648,
        {**SUBJECT, "TargetUserName": "da", "TargetServerName": "dc01"},
        {
            "ActionType": "LogonAttemptedWithExplicitCredentials",
            "AccountName": "admin",
            "TargetAccountName": "da",
            "TargetServerName": "dc01",
        },
    ),
    (
        SEC,
        4662,
        {**SUBJECT, "Properties": "{1131f6aa-9c07-11d1-f79f-00c04fc2dcd2}", "ObjectName": "DC=corp"},
        {
            "ActionType": "DirectoryServiceObjectAccessed",
            "InitiatingProcessAccountName": "admin",
            "ObjectName": "DC=corp",
        },
    ),
    (
        SEC,
        4672,
        {**SUBJECT, "PrivilegeList": "SeDebugPrivilege"},
        {"ActionType": "SpecialPrivilegesAssigned", "AccountName": "admin"},
    ),
    (
        SEC,
        4688,
        {
            **SUBJECT,
            "NewProcessName": r"C:\Windows\System32\net.exe",
            "NewProcessId": "0x1a4",
            "CommandLine": "net group /domain",
            "ParentProcessName": r"C:\Windows\System32\cmd.exe",
            "ProcessId": "0x10",
            "TargetUserName": "-",
        },
        {
            "ActionType": "ProcessCreated",
            "FileName": "net.exe",
            "ProcessId": 420,
            "ProcessCommandLine": "net group /domain",
            "AccountName": "admin",
            "InitiatingProcessFileName": "cmd.exe",
            "InitiatingProcessId": 16,
        },
    ),
    (
        SEC,
        4697,
        {**SUBJECT, "ServiceName": "evil", "ServiceFileName": r"%COMSPEC% /c C:\x.exe"},
        {"ActionType": "ServiceInstalled", "ObjectName": "evil", "ProcessCommandLine": r"%COMSPEC% /c C:\x.exe"},
    ),
    (
        SEC,
        4698,
        {**SUBJECT, "TaskName": r"\Upd", "TaskContent": "<Exec><Command>C:\\u.exe</Command></Exec>"},
        {"ActionType": "ScheduledTaskCreated", "ObjectName": r"\Upd", "FileName": "u.exe"},
    ),
    (SEC, 4699, {**SUBJECT, "TaskName": r"\Upd"}, {"ActionType": "ScheduledTaskDeleted"}),
    (
        SEC,
        4702,
        {**SUBJECT, "TaskName": r"\Upd", "TaskContentNew": "<Command>a.exe</Command>"},
        {"ActionType": "ScheduledTaskUpdated", "ProcessCommandLine": "a.exe"},
    ),
    (
        SEC,
        4720,
        {**SUBJECT, "TargetUserName": "backdoor"},
        {"ActionType": "UserAccountCreated", "AccountName": "backdoor", "InitiatingProcessAccountName": "admin"},
    ),
    (SEC, 4722, {**SUBJECT, "TargetUserName": "backdoor"}, {"ActionType": "UserAccountEnabled"}),
    (SEC, 4724, {**SUBJECT, "TargetUserName": "backdoor"}, {"ActionType": "UserAccountPasswordReset"}),
    (
        SEC,
        4728,
        {**SUBJECT, "MemberName": "CN=eve,OU=x,DC=corp", "TargetUserName": "Domain Admins"},
        {"ActionType": "UserAccountAddedToGlobalGroup", "AccountName": "eve", "ObjectName": "Domain Admins"},
    ),
    (
        SEC,
        4732,
        {**SUBJECT, "MemberSid": "S-1-5-21-9", "TargetUserName": "Administrators"},
        {"ActionType": "UserAccountAddedToLocalGroup", "AccountSid": "S-1-5-21-9", "ObjectName": "Administrators"},
    ),
    (
        SEC,
        4756,
        {**SUBJECT, "MemberName": "CN=eve", "TargetUserName": "Enterprise Admins"},
        {"ActionType": "UserAccountAddedToUniversalGroup"},
    ),
    (
        SEC,
        4768,
        {"TargetUserName": "bob", "PreAuthType": "0", "TicketEncryptionType": "0x17", "IpAddress": "::ffff:10.1.1.1"},
        {"ActionType": "KerberosTgtRequested", "PreAuthType": "0", "RemoteIP": "10.1.1.1", "Protocol": "Kerberos"},
    ),
    (
        SEC,
        4769,
        {"TargetUserName": "bob@CORP.LOCAL", "ServiceName": "MSSQLSvc", "TicketEncryptionType": "0x17"},
        {
            "ActionType": "KerberosServiceTicketRequested",
            "AccountName": "bob",
            "AccountDomain": "CORP.LOCAL",
            "ServiceName": "MSSQLSvc",
            "TicketEncryptionType": "0x17",
        },
    ),
    (
        SEC,
        4771,
        {"TargetUserName": "bob", "Status": "0x18"},
        {"ActionType": "KerberosPreAuthFailed", "FailureReason": "0x18"},
    ),
    (
        SEC,
        4776,
        {"TargetUserName": "bob", "Workstation": "WKS9", "Status": "0xc000006a"},
        {"ActionType": "NtlmCredentialValidated", "RemoteDeviceName": "WKS9", "FailureReason": "0xc000006a"},
    ),
    (
        SEC,
        5140,
        {**SUBJECT, "ShareName": r"\\*\ADMIN$", "IpAddress": "10.0.0.7"},
        {
            "ActionType": "ShareAccessed",
            "ShareName": r"\\*\ADMIN$",
            "RequestSourceIP": "10.0.0.7",
            "RequestAccountName": "admin",
        },
    ),
    (
        SEC,
        5145,
        {**SUBJECT, "ShareName": r"\\*\C$", "ShareLocalPath": r"\??\C:\\", "RelativeTargetName": r"Windows\p.exe"},
        {"ActionType": "ShareObjectAccessChecked", "FileName": "p.exe"},
    ),
    (
        SEC,
        5156,
        {
            "Application": r"\device\harddiskvolume2\windows\a.exe",
            "Direction": "%%14593",
            "SourceAddress": "10.0.0.2",
            "SourcePort": "5555",
            "DestAddress": "8.8.8.8",
            "DestPort": "53",
            "Protocol": "17",
        },
        {
            "ActionType": "ConnectionAllowed",
            "RemoteIP": "8.8.8.8",
            "RemotePort": 53,
            "Protocol": "udp",
            "InitiatingProcessFileName": "a.exe",
        },
    ),
    (
        "System",
        7045,
        {"ServiceName": "PSEXESVC", "ImagePath": r"%SystemRoot%\PSEXESVC.exe", "AccountName": "LocalSystem"},
        {
            "ActionType": "ServiceInstalled",
            "ObjectName": "PSEXESVC",
            "FileName": "psexesvc.exe",
            "AccountName": "LocalSystem",
        },
    ),
    (
        "System",
        7036,
        {"param1": "Windows Update", "param2": "running"},
        {"ActionType": "ServiceStateChanged", "ObjectName": "Windows Update"},
    ),
    ("System", 104, {"SubjectUserName": "admin"}, {"ActionType": "EventLogCleared", "AccountName": "admin"}),
    (
        PS,
        4103,
        {"Payload": "CommandInvocation(Invoke-Mimikatz)", "ContextInfo": "Host Application = powershell.exe -nop\n"},
        {
            "ActionType": "PowerShellCommand",
            "ProcessCommandLine": "CommandInvocation(Invoke-Mimikatz)",
            "InitiatingProcessCommandLine": "powershell.exe -nop",
        },
    ),
    (
        PS,
        4104,
        {"ScriptBlockText": "IEX (New-Object Net.WebClient)"},
        {"ActionType": "PowerShellScriptBlock", "ProcessCommandLine": "IEX (New-Object Net.WebClient)"},
    ),
    (
        PSC,
        400,
        {"Data3": "NewEngineState=Available\r\n\tEngineVersion=2.0\r\n\tHostApplication=powershell -version 2\r\n"},
        {"ActionType": "PowerShellEngineStarted", "ProcessCommandLine": "powershell -version 2"},
    ),
    (PSC, 403, {"Data3": "HostApplication=powershell\n"}, {"ActionType": "PowerShellEngineStopped"}),
    (
        PSC,
        600,
        {"Data3": "ProviderName=Registry\nHostApplication=powershell\n"},
        {"ActionType": "PowerShellProviderStarted"},
    ),
    (PSC, 800, {"Message": "Pipeline execution details for command line: whoami"}, {"ActionType": "PowerShellCommand"}),
    (DEF, 1006, {"Threat Name": "HackTool:Win32/Mimikatz"}, {"ActionType": "AntivirusDetection"}),
    (DEF, 1015, {"Threat Name": "Behavior:Win32/X"}, {"ActionType": "AntivirusDetection"}),
    (
        DEF,
        1116,
        {"Threat Name": "HackTool:Win32/Mimikatz", "Path": r"file:_C:\t\mimikatz.exe"},
        {"ActionType": "AntivirusDetection", "ObjectName": "HackTool:Win32/Mimikatz", "FileName": "mimikatz.exe"},
    ),
    (DEF, 1117, {"Threat Name": "HackTool:Win32/Mimikatz"}, {"ActionType": "AntivirusActionTaken"}),
    (DEF, 5001, {}, {"ActionType": "AntivirusProtectionDisabled"}),
    (DEF, 5004, {"New Value": "x"}, {"ActionType": "AntivirusConfigurationChanged"}),
    (
        DEF,
        5007,
        {"New Value": r"HKLM\SOFTWARE\Microsoft\Windows Defender\Exclusions\Paths\C:\x = 0x0"},
        {"ActionType": "AntivirusConfigurationChanged"},
    ),
    (DEF, 5010, {}, {"ActionType": "AntivirusProtectionDisabled"}),
    (DEF, 5012, {}, {"ActionType": "AntivirusProtectionDisabled"}),
    (DEF, 5013, {}, {"ActionType": "AntivirusConfigurationChanged"}),
    (
        WMI,
        5861,
        {"Consumer": 'CommandLineEventConsumer="evil"', "PossibleCause": "Binding EventFilter"},
        {"ActionType": "WmiPermanentSubscription", "ObjectName": 'CommandLineEventConsumer="evil"'},
    ),
]


def _event(channel: str, event_id: int, fields: dict[str, str]) -> RawEvent:
    return RawEvent(channel, "provider", event_id, 1, dt.datetime(2024, 1, 1), "HOST", dict(fields), "test")


def test_every_mapping_has_a_case() -> None:
    covered = {(c.lower(), e) for c, e, _, _ in CASES}
    assert set(MAPPINGS) == covered


@pytest.mark.parametrize(("channel", "event_id", "fields", "expected"), CASES, ids=lambda v: str(v)[:30])
def test_mapping(channel: str, event_id: int, fields: dict[str, str], expected: dict[str, Any]) -> None:
    name, row = normalise(_event(channel, event_id, fields))  # type: ignore[misc]
    assert name == MAPPINGS[(channel.lower(), event_id)].table
    columns = set(table(name).names)
    assert set(row) <= columns, set(row) - columns
    for column, value in expected.items():
        assert row.get(column) == value, column
    assert row["ActionType"] in table(name).action_types


def test_unknown_event_is_not_normalised() -> None:
    assert normalise(_event("Application", 1000, {"Data": "x"})) is None


def test_real_sysmon_process_creation_maps_its_own_fields() -> None:
    path = dataset("otrf-security-datasets/datasets/atomic/windows/credential_access/host/cmd_sam_copy_esentutl.zip")
    with zipfile.ZipFile(path) as archive:
        lines = archive.read(archive.namelist()[0]).splitlines()
    originals = [orjson.loads(x) for x in lines if b'"EventID":1,' in x and b"Sysmon" in x]
    events = [e for e in read_path(path) if isinstance(e, RawEvent) and e.event_id == 1 and "Sysmon" in e.channel]
    assert originals and len(events) == len(originals)
    for original, event in zip(originals, events, strict=True):
        _, row = normalise(event)  # type: ignore[misc]
        assert row["FolderPath"] == original["Image"]
        assert row["FileName"] == original["Image"].rsplit("\\", 1)[-1].lower()
        assert row["ProcessCommandLine"] == original["CommandLine"]
        assert row["InitiatingProcessFolderPath"] == original["ParentImage"]
        assert row["InitiatingProcessCommandLine"] == original.get("ParentCommandLine")
        assert f"{row['AccountDomain']}\\{row['AccountName']}" == original["User"]
        assert row["ProcessUniqueId"] == original["ProcessGuid"]
        assert row["InitiatingProcessUniqueId"] == original["ParentProcessGuid"]
        assert row["ProcessId"] == int(original["ProcessId"])


def test_real_security_4624_from_evtx() -> None:
    path = dataset(
        "evtx-to-mitre-attack/EVTX_full_APT_attack_steps/ID4624,4688,5140,5145-Eternal Romance - MS17_010_psexec "
        "(GLOBAL).evtx.gz"
    )
    logons = [e for e in read_path(path) if isinstance(e, RawEvent) and e.event_id == 4624]
    assert logons
    for event in logons:
        _, row = normalise(event)  # type: ignore[misc]
        assert row["AccountName"] == event.fields["TargetUserName"]
        assert row["LogonId"] == event.fields["TargetLogonId"]
        assert event.time is not None and event.time.year == 2021
