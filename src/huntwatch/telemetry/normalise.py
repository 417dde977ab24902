"""Normalisers: ``RawEvent`` → a row of one hunting-schema table, driven by a table of mappings.

``MAPPINGS`` is the single place that says which (channel, event id) lands in which table with which
ActionType; each entry names a small function that fills the columns from the event's own fields.
Events without a mapping still land in ``RawEvents`` (ingest takes care of that).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from huntwatch.telemetry.events import RawEvent

Row = dict[str, Any]
Filler = Callable[[dict[str, str], Row], None]

SYSMON = "microsoft-windows-sysmon/operational"
SECURITY = "security"
SYSTEM = "system"
PS_OPERATIONAL = "microsoft-windows-powershell/operational"
PS_CLASSIC = "windows powershell"
DEFENDER = "microsoft-windows-windows defender/operational"
WMI = "microsoft-windows-wmi-activity/operational"

LOGON_TYPES = {
    "2": "Interactive",
    "3": "Network",
    "4": "Batch",
    "5": "Service",
    "7": "Unlock",
    "8": "NetworkCleartext",
    "9": "NewCredentials",
    "10": "RemoteInteractive",
    "11": "CachedInteractive",
    "12": "CachedRemoteInteractive",
    "13": "CachedUnlock",
}
_EMPTY = {"", "-", "null", "None", "%%1793", "(NULL)"}


@dataclass(frozen=True)
class Mapping:
    table: str
    action_type: str | Callable[[dict[str, str]], str]
    fill: Filler


# ------------------------------------------------------------------------------------------ helpers


def _v(f: dict[str, str], *keys: str) -> str | None:
    """First non-empty value among keys."""
    for k in keys:
        value = f.get(k)
        if value and value not in _EMPTY:
            return value
    return None


def _basename(path: str | None) -> str | None:
    if not path:
        return None
    name = path.rstrip("\\/").rpartition("\\")[2]
    if "/" in name:
        name = name.rpartition("/")[2]
    return name.lower() or None


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    except ValueError:
        return None


def _port(value: str | None) -> int | None:
    port = _int(value)
    return port if port is not None and 0 <= port <= 65535 else None


def _ip(value: str | None) -> str | None:
    if value is None:
        return None
    text = value.strip()
    if text in _EMPTY:
        return None
    return text[7:] if text.lower().startswith("::ffff:") else text


def _split_user(value: str | None) -> tuple[str | None, str | None]:
    """``DOMAIN\\user`` → (domain, user); ``user@domain`` → (domain, user)."""
    if not value:
        return None, None
    if "\\" in value:
        domain, _, name = value.partition("\\")
        return domain or None, name or None
    if "@" in value:
        name, _, domain = value.partition("@")
        return domain or None, name or None
    return None, value


def _hashes(value: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if not value:
        return out
    for part in value.split(","):
        algo, _, digest = part.partition("=")
        if digest:
            out[algo.strip().upper()] = digest.strip().lower()
    if not out and re.fullmatch(r"[0-9A-Fa-f]{64}", value.strip()):
        out["SHA256"] = value.strip().lower()
    return out


def _extra(row: Row, f: dict[str, str], *keys: str) -> None:
    extra = {k: f[k] for k in keys if f.get(k) not in (None, "")}
    if extra:
        row["AdditionalFields"] = orjson.dumps(extra).decode()


def _file(row: Row, path: str | None, hashes: str | None = None) -> None:
    row["FolderPath"] = path
    row["FileName"] = _basename(path)
    h = _hashes(hashes)
    row["SHA256"], row["SHA1"], row["MD5"] = h.get("SHA256"), h.get("SHA1"), h.get("MD5")


def _initiating(
    row: Row,
    f: dict[str, str],
    image: str = "Image",
    pid: str = "ProcessId",
    guid: str = "ProcessGuid",
    user: str = "User",
) -> None:
    path = _v(f, image)
    row["InitiatingProcessFolderPath"] = path
    row["InitiatingProcessFileName"] = _basename(path)
    row["InitiatingProcessId"] = _int(_v(f, pid))
    row["InitiatingProcessUniqueId"] = _v(f, guid)
    domain, name = _split_user(_v(f, user))
    row["InitiatingProcessAccountDomain"], row["InitiatingProcessAccountName"] = domain, name


def _subject(row: Row, f: dict[str, str]) -> None:
    """Security events: the Subject is the actor, i.e. the initiating account."""
    row["InitiatingProcessAccountName"] = _v(f, "SubjectUserName")
    row["InitiatingProcessAccountDomain"] = _v(f, "SubjectDomainName")
    row["InitiatingProcessAccountSid"] = _v(f, "SubjectUserSid")
    row["InitiatingProcessLogonId"] = _v(f, "SubjectLogonId")
    path = _v(f, "ProcessName")
    if path:
        row["InitiatingProcessFolderPath"] = path
        row["InitiatingProcessFileName"] = _basename(path)
        row["InitiatingProcessId"] = _int(_v(f, "ProcessId"))


# ------------------------------------------------------------------------------------------ process


def _sysmon_process(f: dict[str, str], row: Row) -> None:
    _file(row, _v(f, "Image"), _v(f, "Hashes"))
    row["ProcessId"] = _int(_v(f, "ProcessId"))
    row["ProcessUniqueId"] = _v(f, "ProcessGuid")
    row["ProcessCommandLine"] = _v(f, "CommandLine")
    row["ProcessIntegrityLevel"] = _v(f, "IntegrityLevel")
    row["ProcessCurrentDirectory"] = _v(f, "CurrentDirectory")
    row["ProcessVersionInfoOriginalFileName"] = _v(f, "OriginalFileName")
    row["ProcessVersionInfoCompanyName"] = _v(f, "Company")
    row["ProcessVersionInfoProductName"] = _v(f, "Product")
    row["ProcessVersionInfoFileDescription"] = _v(f, "Description")
    row["AccountDomain"], row["AccountName"] = _split_user(_v(f, "User"))
    row["LogonId"] = _v(f, "LogonId")
    _initiating(row, f, "ParentImage", "ParentProcessId", "ParentProcessGuid", "ParentUser")
    row["InitiatingProcessCommandLine"] = _v(f, "ParentCommandLine")
    _extra(row, f, "RuleName", "TerminalSessionId", "LogonGuid", "FileVersion")


def _security_process(f: dict[str, str], row: Row) -> None:
    _file(row, _v(f, "NewProcessName"))
    row["ProcessId"] = _int(_v(f, "NewProcessId"))
    row["ProcessCommandLine"] = _v(f, "CommandLine")
    row["ProcessIntegrityLevel"] = _v(f, "MandatoryLabel")
    target = _v(f, "TargetUserName")
    if target:
        row["AccountName"], row["AccountDomain"] = target, _v(f, "TargetDomainName")
        row["AccountSid"], row["LogonId"] = _v(f, "TargetUserSid"), _v(f, "TargetLogonId")
    else:
        row["AccountName"], row["AccountDomain"] = _v(f, "SubjectUserName"), _v(f, "SubjectDomainName")
        row["AccountSid"], row["LogonId"] = _v(f, "SubjectUserSid"), _v(f, "SubjectLogonId")
    parent = _v(f, "ParentProcessName")
    row["InitiatingProcessFolderPath"] = parent
    row["InitiatingProcessFileName"] = _basename(parent)
    row["InitiatingProcessId"] = _int(_v(f, "ProcessId"))
    row["InitiatingProcessAccountName"] = _v(f, "SubjectUserName")
    row["InitiatingProcessAccountDomain"] = _v(f, "SubjectDomainName")
    row["InitiatingProcessAccountSid"] = _v(f, "SubjectUserSid")
    row["InitiatingProcessLogonId"] = _v(f, "SubjectLogonId")
    _extra(row, f, "TokenElevationType")


def _sysmon_terminate(f: dict[str, str], row: Row) -> None:
    _file(row, _v(f, "Image"))
    row["ProcessId"] = _int(_v(f, "ProcessId"))
    row["ProcessUniqueId"] = _v(f, "ProcessGuid")
    row["AccountDomain"], row["AccountName"] = _split_user(_v(f, "User"))


# ------------------------------------------------------------------------------------------ network


def _sysmon_network(f: dict[str, str], row: Row) -> None:
    outbound = (f.get("Initiated") or "").lower() == "true"
    near, far = ("Source", "Destination") if outbound else ("Destination", "Source")
    row["RemoteIP"] = _ip(_v(f, f"{far}Ip"))
    row["RemotePort"] = _port(_v(f, f"{far}Port"))
    row["RemoteUrl"] = _v(f, f"{far}Hostname")
    row["LocalIP"] = _ip(_v(f, f"{near}Ip"))
    row["LocalPort"] = _port(_v(f, f"{near}Port"))
    row["Protocol"] = (_v(f, "Protocol") or "").lower() or None
    _initiating(row, f)


def _sysmon_network_action(f: dict[str, str]) -> str:
    return "ConnectionSuccess" if (f.get("Initiated") or "").lower() == "true" else "InboundConnectionAccepted"


def _sysmon_dns(f: dict[str, str], row: Row) -> None:
    row["RemoteUrl"] = _v(f, "QueryName")
    _initiating(row, f)
    _extra(row, f, "QueryStatus", "QueryResults")


_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp"}


def _wfp_connection(f: dict[str, str], row: Row) -> None:
    outbound = f.get("Direction") in ("%%14593", "Outbound")
    near, far = ("Source", "Dest") if outbound else ("Dest", "Source")
    row["RemoteIP"] = _ip(_v(f, f"{far}Address"))
    row["RemotePort"] = _port(_v(f, f"{far}Port"))
    row["LocalIP"] = _ip(_v(f, f"{near}Address"))
    row["LocalPort"] = _port(_v(f, f"{near}Port"))
    row["Protocol"] = _PROTOCOLS.get(f.get("Protocol") or "", f.get("Protocol"))
    path = _v(f, "Application")
    row["InitiatingProcessFolderPath"] = path
    row["InitiatingProcessFileName"] = _basename(path)
    row["InitiatingProcessId"] = _int(_v(f, "ProcessID"))
    _extra(row, f, "Direction", "FilterRTID", "LayerName")


# ------------------------------------------------------------------------------------------ files


def _sysmon_file(f: dict[str, str], row: Row) -> None:
    _file(row, _v(f, "TargetFilename"), _v(f, "Hashes", "Hash"))
    _initiating(row, f)
    _extra(row, f, "CreationUtcTime", "PreviousCreationUtcTime", "Contents", "IsExecutable", "Archived")


def _share(f: dict[str, str], row: Row) -> None:
    row["ShareName"] = _v(f, "ShareName")
    relative = _v(f, "RelativeTargetName")
    local = _v(f, "ShareLocalPath")
    if relative:
        row["FolderPath"] = (local.rstrip("\\") + "\\" + relative) if local else relative
        row["FileName"] = _basename(relative)
    else:
        row["FolderPath"] = local
    row["RequestSourceIP"] = _ip(_v(f, "IpAddress"))
    row["RequestAccountName"] = _v(f, "SubjectUserName")
    row["RequestAccountDomain"] = _v(f, "SubjectDomainName")
    _subject(row, f)
    _extra(row, f, "AccessMask", "AccessList", "IpPort", "ObjectType")


# ------------------------------------------------------------------------------------------ registry


_REGISTRY_ACTIONS = {
    "CreateKey": "RegistryKeyCreated",
    "DeleteKey": "RegistryKeyDeleted",
    "SetValue": "RegistryValueSet",
    "DeleteValue": "RegistryValueDeleted",
    "RenameKey": "RegistryKeyRenamed",
}


def _registry_action(f: dict[str, str]) -> str:
    return _REGISTRY_ACTIONS.get(f.get("EventType") or "", "RegistryValueSet")


def _sysmon_registry(f: dict[str, str], row: Row) -> None:
    target = _v(f, "TargetObject") or ""
    kind = f.get("EventType") or ""
    if kind in ("SetValue", "DeleteValue") or (kind == "" and f.get("Details") is not None):
        key, _, value = target.rpartition("\\")
        row["RegistryKey"], row["RegistryValueName"] = key or target, value
    else:
        row["RegistryKey"] = target
    row["RegistryValueData"] = _v(f, "Details")
    if kind == "RenameKey":
        row["PreviousRegistryKey"] = target
        row["RegistryKey"] = _v(f, "NewName")
    _initiating(row, f)


# ------------------------------------------------------------------------------------------ logons


def _logon(f: dict[str, str], row: Row) -> None:
    row["AccountName"] = _v(f, "TargetUserName")
    row["AccountDomain"] = _v(f, "TargetDomainName")
    row["AccountSid"] = _v(f, "TargetUserSid", "TargetSid")
    row["LogonId"] = _v(f, "TargetLogonId")
    lt = _v(f, "LogonType")
    row["LogonType"] = LOGON_TYPES.get(lt or "", lt)
    row["Protocol"] = _v(f, "AuthenticationPackageName", "LogonProcessName")
    row["RemoteIP"] = _ip(_v(f, "IpAddress"))
    row["RemotePort"] = _port(_v(f, "IpPort"))
    row["RemoteDeviceName"] = _v(f, "WorkstationName", "Workstation")
    status = _v(f, "SubStatus", "Status", "FailureReason")
    if status and status not in ("0x0",):
        row["FailureReason"] = status
    _subject(row, f)
    _extra(
        row,
        f,
        "LogonProcessName",
        "ElevatedToken",
        "ImpersonationLevel",
        "RestrictedAdminMode",
        "VirtualAccount",
        "LmPackageName",
        "KeyLength",
        "LogonGuid",
        "Status",
        "SubStatus",
        "FailureReason",
    )


def _explicit_credentials(f: dict[str, str], row: Row) -> None:
    row["AccountName"] = _v(f, "SubjectUserName")
    row["AccountDomain"] = _v(f, "SubjectDomainName")
    row["AccountSid"] = _v(f, "SubjectUserSid")
    row["LogonId"] = _v(f, "SubjectLogonId")
    row["TargetAccountName"] = _v(f, "TargetUserName")
    row["TargetServerName"] = _v(f, "TargetServerName")
    row["RemoteIP"] = _ip(_v(f, "IpAddress"))
    row["RemotePort"] = _port(_v(f, "IpPort"))
    _subject(row, f)
    _extra(row, f, "TargetDomainName", "TargetInfo")


def _kerberos(f: dict[str, str], row: Row) -> None:
    domain, name = _split_user(_v(f, "TargetUserName"))
    row["AccountName"] = name
    row["AccountDomain"] = _v(f, "TargetDomainName") or domain
    row["AccountSid"] = _v(f, "TargetSid")
    row["Protocol"] = "Kerberos"
    row["RemoteIP"] = _ip(_v(f, "IpAddress"))
    row["RemotePort"] = _port(_v(f, "IpPort"))
    row["ServiceName"] = _v(f, "ServiceName")
    row["TicketEncryptionType"] = _v(f, "TicketEncryptionType")
    row["PreAuthType"] = _v(f, "PreAuthType")
    status = _v(f, "Status", "FailureCode")
    if status and status != "0x0":
        row["FailureReason"] = status
    _extra(row, f, "TicketOptions", "ServiceSid", "Status", "TransmittedServices", "CertIssuerName")


def _ntlm(f: dict[str, str], row: Row) -> None:
    row["AccountName"] = _v(f, "TargetUserName")
    row["Protocol"] = "NTLM"
    row["RemoteDeviceName"] = _v(f, "Workstation")
    status = _v(f, "Status")
    if status and status != "0x0":
        row["FailureReason"] = status
    _extra(row, f, "PackageName", "Status")


def _logoff(f: dict[str, str], row: Row) -> None:
    row["AccountName"] = _v(f, "TargetUserName")
    row["AccountDomain"] = _v(f, "TargetDomainName")
    row["AccountSid"] = _v(f, "TargetUserSid")
    row["LogonId"] = _v(f, "TargetLogonId")
    lt = _v(f, "LogonType")
    row["LogonType"] = LOGON_TYPES.get(lt or "", lt)


# ------------------------------------------------------------------------------------------ image load


def _image_load(f: dict[str, str], row: Row) -> None:
    _file(row, _v(f, "ImageLoaded"), _v(f, "Hashes"))
    row["Signed"] = _v(f, "Signed")
    row["Signature"] = _v(f, "Signature")
    _initiating(row, f)
    _extra(row, f, "SignatureStatus", "OriginalFileName", "Company", "Description")


# ------------------------------------------------------------------------------------------ device events


def _service_installed(f: dict[str, str], row: Row) -> None:
    path = _v(f, "ImagePath", "ServiceFileName")
    row["ObjectName"] = _v(f, "ServiceName")
    row["ObjectType"] = "Service"
    row["ProcessCommandLine"] = path
    row["AccountName"] = _v(f, "AccountName", "ServiceAccount")
    _file(row, _executable_of(path))
    _subject(row, f)
    _extra(row, f, "ServiceType", "StartType", "ServiceStartType")


def _executable_of(command: str | None) -> str | None:
    if not command:
        return None
    text = command.strip()
    if text.startswith('"'):
        return text[1:].split('"', 1)[0]
    match = re.match(r"(.+?\.(?:exe|dll|sys|bat|cmd|ps1|com|scr))(?:\s|$)", text, re.IGNORECASE)
    return match.group(1) if match else text.split(" ", 1)[0]


def _service_state(f: dict[str, str], row: Row) -> None:
    row["ObjectName"] = _v(f, "param1", "Data1")
    row["ObjectType"] = "Service"
    state = _v(f, "param2", "Data2")
    if state:
        row["AdditionalFields"] = orjson.dumps({"State": state}).decode()


def _task(f: dict[str, str], row: Row) -> None:
    row["ObjectName"] = _v(f, "TaskName")
    row["ObjectType"] = "ScheduledTask"
    content = _v(f, "TaskContent", "TaskContentNew")
    commands = re.findall(r"<Command>(.*?)</Command>", content or "", re.S)
    arguments = re.findall(r"<Arguments>(.*?)</Arguments>", content or "", re.S)
    if commands:
        row["ProcessCommandLine"] = " ".join([commands[0], *arguments[:1]]).strip()
        _file(row, commands[0].strip())
    _subject(row, f)
    extra = {"TaskContent": content} if content else {}
    if extra:
        row["AdditionalFields"] = orjson.dumps(extra).decode()


def _account_change(f: dict[str, str], row: Row) -> None:
    row["AccountName"] = _v(f, "TargetUserName")
    row["AccountDomain"] = _v(f, "TargetDomainName")
    row["AccountSid"] = _v(f, "TargetSid")
    row["ObjectType"] = "User"
    _subject(row, f)
    _extra(row, f, "SamAccountName", "DisplayName", "UserPrincipalName", "PrivilegeList")


def _group_change(f: dict[str, str], row: Row) -> None:
    member = _v(f, "MemberName")
    name = member
    if member and member.upper().startswith("CN="):
        name = member[3:].split(",", 1)[0]
    row["AccountName"] = name
    row["AccountSid"] = _v(f, "MemberSid")
    row["ObjectName"] = _v(f, "TargetUserName")
    row["ObjectType"] = "Group"
    row["AccountDomain"] = _v(f, "TargetDomainName")
    _subject(row, f)
    _extra(row, f, "MemberName", "TargetSid", "PrivilegeList")


def _log_cleared(f: dict[str, str], row: Row) -> None:
    row["AccountName"] = _v(f, "SubjectUserName")
    row["AccountDomain"] = _v(f, "SubjectDomainName")
    row["ObjectType"] = "EventLog"
    _subject(row, f)


def _system_log_cleared(f: dict[str, str], row: Row) -> None:
    row["AccountName"] = _v(f, "SubjectUserName")
    row["AccountDomain"] = _v(f, "SubjectDomainName")
    row["ObjectType"] = "EventLog"
    _extra(row, f, "BackupPath")


def _special_privileges(f: dict[str, str], row: Row) -> None:
    row["AccountName"] = _v(f, "SubjectUserName")
    row["AccountDomain"] = _v(f, "SubjectDomainName")
    row["AccountSid"] = _v(f, "SubjectUserSid")
    row["LogonId"] = _v(f, "SubjectLogonId")
    _extra(row, f, "PrivilegeList")


def _directory_access(f: dict[str, str], row: Row) -> None:
    row["ObjectName"] = _v(f, "ObjectName")
    row["ObjectType"] = _v(f, "ObjectType")
    row["AccountName"] = _v(f, "SubjectUserName")
    row["AccountDomain"] = _v(f, "SubjectDomainName")
    _subject(row, f)
    _extra(row, f, "Properties", "AccessMask", "OperationType", "ObjectServer", "AdditionalInfo")


def _process_access(f: dict[str, str], row: Row) -> None:
    _file(row, _v(f, "TargetImage"))
    row["ProcessId"] = _int(_v(f, "TargetProcessId"))
    row["AccountDomain"], row["AccountName"] = _split_user(_v(f, "TargetUser"))
    _initiating(row, f, "SourceImage", "SourceProcessId", "SourceProcessGUID", "SourceUser")
    if not row.get("InitiatingProcessUniqueId"):
        row["InitiatingProcessUniqueId"] = _v(f, "SourceProcessGuid")
    _extra(
        row,
        f,
        "GrantedAccess",
        "CallTrace",
        "TargetProcessGUID",
        "StartAddress",
        "StartModule",
        "StartFunction",
        "NewThreadId",
        "TargetProcessGuid",
    )


def _pipe(f: dict[str, str], row: Row) -> None:
    row["ObjectName"] = _v(f, "PipeName")
    row["ObjectType"] = "NamedPipe"
    _initiating(row, f)


def _driver(f: dict[str, str], row: Row) -> None:
    _file(row, _v(f, "ImageLoaded"), _v(f, "Hashes"))
    _extra(row, f, "Signed", "Signature", "SignatureStatus")


def _tamper(f: dict[str, str], row: Row) -> None:
    _file(row, _v(f, "Image"))
    row["ProcessId"] = _int(_v(f, "ProcessId"))
    _initiating(row, f)
    _extra(row, f, "Type")


def _raw_access(f: dict[str, str], row: Row) -> None:
    row["ObjectName"] = _v(f, "Device")
    _initiating(row, f)


def _sysmon_wmi(f: dict[str, str], row: Row) -> None:
    row["ObjectName"] = _v(f, "Name", "Consumer")
    row["ObjectType"] = "WmiSubscription"
    row["ProcessCommandLine"] = _v(f, "Destination", "Query")
    row["AccountDomain"], row["AccountName"] = _split_user(_v(f, "User"))
    _extra(row, f, "Operation", "EventNamespace", "Query", "Type", "Destination", "Consumer", "Filter")


def _wmi_activity(f: dict[str, str], row: Row) -> None:
    row["ObjectName"] = _v(f, "Consumer", "CONSUMER")
    row["ObjectType"] = "WmiSubscription"
    row["ProcessCommandLine"] = _v(f, "PossibleCause", "Message")
    _extra(row, f, "Namespace", "ESS", "CONSUMER", "Consumer", "PossibleCause")


def _sysmon_config(f: dict[str, str], row: Row) -> None:
    _extra(row, f, "Configuration", "ConfigurationFileHash", "State", "Version", "SchemaVersion")


def _blocked_executable(f: dict[str, str], row: Row) -> None:
    _file(row, _v(f, "TargetFilename"), _v(f, "Hashes"))
    _initiating(row, f)


def _value_after(text: str, marker: str) -> str | None:
    """The rest of the line after ``marker`` (PowerShell writes its context as ``Name=value`` lines).

    ``str.find`` instead of a regex: these texts can be many kilobytes and there are thousands of them.
    """
    i = text.find(marker)
    if i < 0:
        return None
    start = i + len(marker)
    end = len(text)
    for stop in ("\n", "\t"):
        j = text.find(stop, start, end)
        if j >= 0:
            end = j
    return text[start:end].strip()


def _ps_script_block(f: dict[str, str], row: Row) -> None:
    row["ProcessCommandLine"] = _v(f, "ScriptBlockText")
    path = _v(f, "Path")
    if path:
        _file(row, path)
    _extra(row, f, "ScriptBlockId", "MessageNumber", "MessageTotal")


def _ps_pipeline(f: dict[str, str], row: Row) -> None:
    text = _v(f, "Payload", "Data3", "Data", "Message") or ""
    context = _v(f, "ContextInfo", "Data2") or text
    row["ProcessCommandLine"] = text
    host = _value_after(context, "Host Application = ") or _value_after(context, "HostApplication=")
    if host:
        row["InitiatingProcessCommandLine"] = host
    _extra(row, f, "ContextInfo")


def _ps_engine(f: dict[str, str], row: Row) -> None:
    text = _v(f, "Data3", "Data", "Message") or ""
    row["ProcessCommandLine"] = _value_after(text, "HostApplication=") or None
    version = (_value_after(text, "EngineVersion=") or "").split(" ", 1)[0]
    if version:
        row["AdditionalFields"] = orjson.dumps({"EngineVersion": version}).decode()


def _defender(f: dict[str, str], row: Row) -> None:
    row["ObjectName"] = _v(f, "Threat Name", "ThreatName")
    row["ObjectType"] = "Threat"
    path = _v(f, "Path")
    if path:
        path = path.split(";", 1)[0]
        path = path.split("_", 1)[1] if path.startswith(("file:_", "containerfile:_")) else path
        _file(row, path)
    process = _v(f, "Process Name", "ProcessName")
    if process:
        row["InitiatingProcessFolderPath"] = process
        row["InitiatingProcessFileName"] = _basename(process)
    row["AccountDomain"], row["AccountName"] = _split_user(_v(f, "Detection User", "DetectionUser"))
    _extra(row, f, "Severity Name", "Category Name", "Action Name", "Detection ID", "Threat ID", "Origin Name")


def _defender_config(f: dict[str, str], row: Row) -> None:
    row["RegistryKey"] = _v(f, "New Value", "NewValue", "Old Value")
    row["ObjectType"] = "AntivirusSetting"
    _extra(row, f, "Old Value", "New Value", "Feature Name", "Configuration")


# ------------------------------------------------------------------------------------------ the table


MAPPINGS: dict[tuple[str, int], Mapping] = {
    (SYSMON, 1): Mapping("DeviceProcessEvents", "ProcessCreated", _sysmon_process),
    (SYSMON, 2): Mapping("DeviceFileEvents", "FileTimestampModified", _sysmon_file),
    (SYSMON, 3): Mapping("DeviceNetworkEvents", _sysmon_network_action, _sysmon_network),
    (SYSMON, 4): Mapping("DeviceEvents", "SysmonConfigurationChanged", _sysmon_config),
    (SYSMON, 5): Mapping("DeviceProcessEvents", "ProcessTerminated", _sysmon_terminate),
    (SYSMON, 6): Mapping("DeviceEvents", "DriverLoaded", _driver),
    (SYSMON, 7): Mapping("DeviceImageLoadEvents", "ImageLoaded", _image_load),
    (SYSMON, 8): Mapping("DeviceEvents", "CreateRemoteThreadApiCall", _process_access),
    (SYSMON, 9): Mapping("DeviceEvents", "RawDiskAccess", _raw_access),
    (SYSMON, 10): Mapping("DeviceEvents", "OpenProcessApiCall", _process_access),
    (SYSMON, 11): Mapping("DeviceFileEvents", "FileCreated", _sysmon_file),
    (SYSMON, 12): Mapping("DeviceRegistryEvents", _registry_action, _sysmon_registry),
    (SYSMON, 13): Mapping("DeviceRegistryEvents", "RegistryValueSet", _sysmon_registry),
    (SYSMON, 14): Mapping("DeviceRegistryEvents", "RegistryKeyRenamed", _sysmon_registry),
    (SYSMON, 15): Mapping("DeviceFileEvents", "FileStreamCreated", _sysmon_file),
    (SYSMON, 16): Mapping("DeviceEvents", "SysmonConfigurationChanged", _sysmon_config),
    (SYSMON, 17): Mapping("DeviceEvents", "NamedPipeCreated", _pipe),
    (SYSMON, 18): Mapping("DeviceEvents", "NamedPipeConnected", _pipe),
    (SYSMON, 19): Mapping("DeviceEvents", "WmiEventFilterCreated", _sysmon_wmi),
    (SYSMON, 20): Mapping("DeviceEvents", "WmiEventConsumerCreated", _sysmon_wmi),
    (SYSMON, 21): Mapping("DeviceEvents", "WmiBindingCreated", _sysmon_wmi),
    (SYSMON, 22): Mapping("DeviceNetworkEvents", "DnsQuery", _sysmon_dns),
    (SYSMON, 23): Mapping("DeviceFileEvents", "FileDeleted", _sysmon_file),
    (SYSMON, 25): Mapping("DeviceEvents", "ProcessTampering", _tamper),
    (SYSMON, 26): Mapping("DeviceFileEvents", "FileDeleted", _sysmon_file),
    (SYSMON, 27): Mapping("DeviceEvents", "FileBlockedExecutable", _blocked_executable),
    (SECURITY, 1102): Mapping("DeviceEvents", "SecurityLogCleared", _log_cleared),
    (SECURITY, 4624): Mapping("DeviceLogonEvents", "LogonSuccess", _logon),
    (SECURITY, 4625): Mapping("DeviceLogonEvents", "LogonFailed", _logon),
    (SECURITY, 4634): Mapping("DeviceLogonEvents", "Logoff", _logoff),
    (SECURITY, 4647): Mapping("DeviceLogonEvents", "Logoff", _logoff),
    (SECURITY, 4648): Mapping("DeviceLogonEvents", "LogonAttemptedWithExplicitCredentials", _explicit_credentials),
    (SECURITY, 4662): Mapping("DeviceEvents", "DirectoryServiceObjectAccessed", _directory_access),
    (SECURITY, 4672): Mapping("DeviceEvents", "SpecialPrivilegesAssigned", _special_privileges),
    (SECURITY, 4688): Mapping("DeviceProcessEvents", "ProcessCreated", _security_process),
    (SECURITY, 4697): Mapping("DeviceEvents", "ServiceInstalled", _service_installed),
    (SECURITY, 4698): Mapping("DeviceEvents", "ScheduledTaskCreated", _task),
    (SECURITY, 4699): Mapping("DeviceEvents", "ScheduledTaskDeleted", _task),
    (SECURITY, 4702): Mapping("DeviceEvents", "ScheduledTaskUpdated", _task),
    (SECURITY, 4720): Mapping("DeviceEvents", "UserAccountCreated", _account_change),
    (SECURITY, 4722): Mapping("DeviceEvents", "UserAccountEnabled", _account_change),
    (SECURITY, 4724): Mapping("DeviceEvents", "UserAccountPasswordReset", _account_change),
    (SECURITY, 4728): Mapping("DeviceEvents", "UserAccountAddedToGlobalGroup", _group_change),
    (SECURITY, 4732): Mapping("DeviceEvents", "UserAccountAddedToLocalGroup", _group_change),
    (SECURITY, 4756): Mapping("DeviceEvents", "UserAccountAddedToUniversalGroup", _group_change),
    (SECURITY, 4768): Mapping("DeviceLogonEvents", "KerberosTgtRequested", _kerberos),
    (SECURITY, 4769): Mapping("DeviceLogonEvents", "KerberosServiceTicketRequested", _kerberos),
    (SECURITY, 4771): Mapping("DeviceLogonEvents", "KerberosPreAuthFailed", _kerberos),
    (SECURITY, 4776): Mapping("DeviceLogonEvents", "NtlmCredentialValidated", _ntlm),
    (SECURITY, 5140): Mapping("DeviceFileEvents", "ShareAccessed", _share),
    (SECURITY, 5145): Mapping("DeviceFileEvents", "ShareObjectAccessChecked", _share),
    (SECURITY, 5156): Mapping("DeviceNetworkEvents", "ConnectionAllowed", _wfp_connection),
    (SYSTEM, 7045): Mapping("DeviceEvents", "ServiceInstalled", _service_installed),
    (SYSTEM, 7036): Mapping("DeviceEvents", "ServiceStateChanged", _service_state),
    (SYSTEM, 104): Mapping("DeviceEvents", "EventLogCleared", _system_log_cleared),
    (PS_OPERATIONAL, 4103): Mapping("DeviceEvents", "PowerShellCommand", _ps_pipeline),
    (PS_OPERATIONAL, 4104): Mapping("DeviceEvents", "PowerShellScriptBlock", _ps_script_block),
    (PS_CLASSIC, 400): Mapping("DeviceEvents", "PowerShellEngineStarted", _ps_engine),
    (PS_CLASSIC, 403): Mapping("DeviceEvents", "PowerShellEngineStopped", _ps_engine),
    (PS_CLASSIC, 600): Mapping("DeviceEvents", "PowerShellProviderStarted", _ps_engine),
    (PS_CLASSIC, 800): Mapping("DeviceEvents", "PowerShellCommand", _ps_pipeline),
    (DEFENDER, 1006): Mapping("DeviceEvents", "AntivirusDetection", _defender),
    (DEFENDER, 1015): Mapping("DeviceEvents", "AntivirusDetection", _defender),
    (DEFENDER, 1116): Mapping("DeviceEvents", "AntivirusDetection", _defender),
    (DEFENDER, 1117): Mapping("DeviceEvents", "AntivirusActionTaken", _defender),
    (DEFENDER, 5001): Mapping("DeviceEvents", "AntivirusProtectionDisabled", _defender_config),
    (DEFENDER, 5004): Mapping("DeviceEvents", "AntivirusConfigurationChanged", _defender_config),
    (DEFENDER, 5007): Mapping("DeviceEvents", "AntivirusConfigurationChanged", _defender_config),
    (DEFENDER, 5010): Mapping("DeviceEvents", "AntivirusProtectionDisabled", _defender_config),
    (DEFENDER, 5012): Mapping("DeviceEvents", "AntivirusProtectionDisabled", _defender_config),
    (DEFENDER, 5013): Mapping("DeviceEvents", "AntivirusConfigurationChanged", _defender_config),
    (WMI, 5861): Mapping("DeviceEvents", "WmiPermanentSubscription", _wmi_activity),
}


def mapping_for(event: RawEvent) -> Mapping | None:
    return MAPPINGS.get((event.channel.lower(), event.event_id))


def normalise(event: RawEvent) -> tuple[str, Row] | None:
    """The typed table and the columns this event fills (the common columns are added by ingest)."""
    mapping = mapping_for(event)
    if mapping is None:
        return None
    row: Row = {}
    mapping.fill(event.fields, row)
    action = mapping.action_type
    row["ActionType"] = action if isinstance(action, str) else action(event.fields)
    return mapping.table, row
