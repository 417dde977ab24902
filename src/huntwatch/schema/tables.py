"""Tables and columns of the hunting schema, declared once.

Types are logical (``string``, ``int``, ``long``, ``timestamp``, ``fields``) and mapped here to Arrow
and DuckDB, so the lake, the Spark engine and the generated docs never spell a type themselves.
Timestamps are UTC without a zone. ``fields`` is a string→string map holding an event's own fields.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Literal

import pyarrow as pa

LogicalType = Literal["string", "int", "long", "timestamp", "fields"]

_ARROW: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int32(),
    "long": pa.int64(),
    "timestamp": pa.timestamp("us"),
    "fields": pa.map_(pa.string(), pa.string()),
}
_DUCKDB: dict[str, str] = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "long": "BIGINT",
    "timestamp": "TIMESTAMP",
    "fields": "MAP(VARCHAR, VARCHAR)",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: LogicalType
    doc: str

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW[self.type]

    @property
    def duckdb_type(self) -> str:
        return _DUCKDB[self.type]


@dataclass(frozen=True)
class Table:
    name: str
    doc: str
    columns: tuple[Column, ...]
    action_types: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _c(name: str, type_: LogicalType, doc: str) -> Column:
    return Column(name, type_, doc)


# Columns every table starts with: who, which event, when, where, what kind.
COMMON = (
    _c("TenantId", "string", "Tenant (customer organisation) the event belongs to"),
    _c("EventKey", "string", "Stable key of the source event; re-ingesting the same event yields the same key"),
    _c("Timestamp", "timestamp", "When the event happened (UTC)"),
    _c("DeviceId", "string", "Stable identifier of the device, derived from the tenant and device name"),
    _c("DeviceName", "string", "Fully qualified name of the device, lower case"),
    _c("ActionType", "string", "What happened, e.g. ProcessCreated, ConnectionSuccess, LogonFailed"),
    _c("ReportId", "long", "Record number of the event in its source log"),
    _c("SourceChannel", "string", "Windows event log channel the event came from"),
    _c("SourceEventId", "int", "Windows event ID in its channel"),
)

INITIATING = (
    _c("InitiatingProcessId", "long", "Process ID of the process that initiated the event"),
    _c("InitiatingProcessUniqueId", "string", "Unique id (Sysmon ProcessGuid) of the initiating process"),
    _c("InitiatingProcessFileName", "string", "File name of the initiating process, lower case"),
    _c("InitiatingProcessFolderPath", "string", "Full path of the initiating process image"),
    _c("InitiatingProcessCommandLine", "string", "Command line of the initiating process"),
    _c("InitiatingProcessSHA256", "string", "SHA-256 of the initiating process image"),
    _c("InitiatingProcessAccountDomain", "string", "Domain of the account running the initiating process"),
    _c("InitiatingProcessAccountName", "string", "Account running the initiating process"),
    _c("InitiatingProcessAccountSid", "string", "SID of the account running the initiating process"),
    _c("InitiatingProcessLogonId", "string", "Logon session of the initiating process"),
    _c("InitiatingProcessIntegrityLevel", "string", "Integrity level of the initiating process"),
    _c("InitiatingProcessParentId", "long", "Process ID of the parent of the initiating process"),
    _c("InitiatingProcessParentFileName", "string", "File name of the parent of the initiating process"),
)

FILE = (
    _c("FileName", "string", "File name, lower case"),
    _c("FolderPath", "string", "Full path of the file, including the file name"),
    _c("SHA256", "string", "SHA-256 of the file, lower-case hex"),
    _c("SHA1", "string", "SHA-1 of the file, lower-case hex"),
    _c("MD5", "string", "MD5 of the file, lower-case hex"),
)

ACCOUNT = (
    _c("AccountDomain", "string", "Domain of the account"),
    _c("AccountName", "string", "User name of the account"),
    _c("AccountSid", "string", "Security identifier of the account"),
)

ADDITIONAL = (_c("AdditionalFields", "string", "Further event-specific fields as a JSON object"),)

DEVICE_PROCESS_EVENTS = Table(
    "DeviceProcessEvents",
    "Process creation and termination (Sysmon 1 and 5, Security 4688).",
    (
        *COMMON,
        *FILE,
        _c("ProcessId", "long", "Process ID of the new process"),
        _c("ProcessUniqueId", "string", "Unique id (Sysmon ProcessGuid) of the new process"),
        _c("ProcessCommandLine", "string", "Command line of the new process"),
        _c("ProcessIntegrityLevel", "string", "Integrity level of the new process"),
        _c("ProcessCurrentDirectory", "string", "Working directory of the new process"),
        _c("ProcessVersionInfoOriginalFileName", "string", "Original file name from the image's version info"),
        _c("ProcessVersionInfoCompanyName", "string", "Company name from the image's version info"),
        _c("ProcessVersionInfoProductName", "string", "Product name from the image's version info"),
        _c("ProcessVersionInfoFileDescription", "string", "File description from the image's version info"),
        *ACCOUNT,
        _c("LogonId", "string", "Logon session of the new process"),
        *INITIATING,
        *ADDITIONAL,
    ),
    ("ProcessCreated", "ProcessTerminated"),
)

DEVICE_NETWORK_EVENTS = Table(
    "DeviceNetworkEvents",
    "Network connections and DNS queries (Sysmon 3 and 22, Security 5156).",
    (
        *COMMON,
        _c("RemoteIP", "string", "Remote IP address"),
        _c("RemotePort", "int", "Remote port"),
        _c("RemoteUrl", "string", "Remote host name or queried DNS name"),
        _c("LocalIP", "string", "Local IP address"),
        _c("LocalPort", "int", "Local port"),
        _c("Protocol", "string", "Transport protocol (tcp, udp)"),
        *INITIATING,
        *ADDITIONAL,
    ),
    ("ConnectionSuccess", "InboundConnectionAccepted", "ConnectionAllowed", "DnsQuery"),
)

DEVICE_FILE_EVENTS = Table(
    "DeviceFileEvents",
    "File creation, deletion, streams and network share access (Sysmon 2, 11, 15, 23, 26; Security 5140, 5145).",
    (
        *COMMON,
        *FILE,
        _c("PreviousFileName", "string", "File name before a rename"),
        _c("ShareName", "string", "Network share accessed, e.g. \\\\*\\ADMIN$"),
        _c("RequestSourceIP", "string", "Remote address of a network share request"),
        _c("RequestAccountName", "string", "Account that made a network share request"),
        _c("RequestAccountDomain", "string", "Domain of the account that made a network share request"),
        *INITIATING,
        *ADDITIONAL,
    ),
    (
        "FileCreated",
        "FileDeleted",
        "FileStreamCreated",
        "FileTimestampModified",
        "ShareAccessed",
        "ShareObjectAccessChecked",
    ),
)

DEVICE_REGISTRY_EVENTS = Table(
    "DeviceRegistryEvents",
    "Registry changes (Sysmon 12, 13, 14).",
    (
        *COMMON,
        _c("RegistryKey", "string", "Registry key, with HKLM/HKU style root"),
        _c("RegistryValueName", "string", "Registry value name"),
        _c("RegistryValueData", "string", "Registry value data"),
        _c("RegistryValueType", "string", "Registry value type"),
        _c("PreviousRegistryKey", "string", "Key before a rename"),
        *INITIATING,
        *ADDITIONAL,
    ),
    ("RegistryKeyCreated", "RegistryKeyDeleted", "RegistryValueSet", "RegistryValueDeleted", "RegistryKeyRenamed"),
)

DEVICE_LOGON_EVENTS = Table(
    "DeviceLogonEvents",
    "Logons, logoffs, explicit credentials and domain authentication (Security 4624, 4625, 4634, 4647, "
    "4648, 4768, 4769, 4771, 4776).",
    (
        *COMMON,
        *ACCOUNT,
        _c("LogonType", "string", "Logon type name: Interactive, Network, RemoteInteractive, Service, ..."),
        _c("LogonId", "string", "Logon session created or ended"),
        _c("Protocol", "string", "Authentication package or protocol: NTLM, Kerberos, Negotiate"),
        _c("FailureReason", "string", "Why a logon or ticket request failed"),
        _c("RemoteDeviceName", "string", "Name of the device the logon came from"),
        _c("RemoteIP", "string", "Address the logon came from"),
        _c("RemotePort", "int", "Port the logon came from"),
        _c("TargetAccountName", "string", "Account whose credentials were used explicitly (4648)"),
        _c("TargetServerName", "string", "Server targeted with explicit credentials or a service ticket"),
        _c("ServiceName", "string", "Kerberos service name of a ticket request"),
        _c("TicketEncryptionType", "string", "Kerberos ticket encryption type, e.g. 0x17 (RC4)"),
        _c("PreAuthType", "string", "Kerberos pre-authentication type (0 means none)"),
        *INITIATING,
        *ADDITIONAL,
    ),
    (
        "LogonSuccess",
        "LogonFailed",
        "Logoff",
        "LogonAttemptedWithExplicitCredentials",
        "KerberosTgtRequested",
        "KerberosServiceTicketRequested",
        "KerberosPreAuthFailed",
        "NtlmCredentialValidated",
    ),
)

DEVICE_IMAGE_LOAD_EVENTS = Table(
    "DeviceImageLoadEvents",
    "DLLs loaded into processes (Sysmon 7).",
    (
        *COMMON,
        *FILE,
        _c("Signed", "string", "Whether the image is signed (true/false)"),
        _c("Signature", "string", "Signer of the image"),
        *INITIATING,
        *ADDITIONAL,
    ),
    ("ImageLoaded",),
)

DEVICE_EVENTS = Table(
    "DeviceEvents",
    "Other security-relevant events: services, tasks, accounts and groups, log clearing, process access, "
    "remote threads, pipes, WMI, PowerShell, Defender, privileges, directory access.",
    (
        *COMMON,
        *FILE,
        _c("ProcessId", "long", "Target process ID (process access, remote thread)"),
        _c("ProcessCommandLine", "string", "Command line, service image path or PowerShell script text"),
        *ACCOUNT,
        _c("LogonId", "string", "Logon session of the actor"),
        _c("RemoteIP", "string", "Remote address, where the event has one"),
        _c("RemotePort", "int", "Remote port, where the event has one"),
        _c("RegistryKey", "string", "Registry key, where the event has one"),
        _c("ObjectName", "string", "Name of the object acted on: service, task, group, pipe, WMI filter, threat"),
        _c("ObjectType", "string", "Kind of object acted on"),
        *INITIATING,
        *ADDITIONAL,
    ),
    (
        "ServiceInstalled",
        "ServiceStateChanged",
        "ScheduledTaskCreated",
        "ScheduledTaskDeleted",
        "ScheduledTaskUpdated",
        "UserAccountCreated",
        "UserAccountEnabled",
        "UserAccountPasswordReset",
        "UserAccountAddedToLocalGroup",
        "UserAccountAddedToGlobalGroup",
        "UserAccountAddedToUniversalGroup",
        "SecurityLogCleared",
        "EventLogCleared",
        "SpecialPrivilegesAssigned",
        "DirectoryServiceObjectAccessed",
        "OpenProcessApiCall",
        "CreateRemoteThreadApiCall",
        "RawDiskAccess",
        "NamedPipeCreated",
        "NamedPipeConnected",
        "DriverLoaded",
        "ProcessTampering",
        "WmiEventFilterCreated",
        "WmiEventConsumerCreated",
        "WmiBindingCreated",
        "WmiPermanentSubscription",
        "PowerShellCommand",
        "PowerShellScriptBlock",
        "PowerShellEngineStarted",
        "PowerShellEngineStopped",
        "PowerShellProviderStarted",
        "AntivirusDetection",
        "AntivirusActionTaken",
        "AntivirusConfigurationChanged",
        "AntivirusProtectionDisabled",
        "SysmonConfigurationChanged",
        "FileBlockedExecutable",
    ),
)

RAW_EVENTS = Table(
    "RawEvents",
    "Every source event, normalised or not, with all of its own fields, so Sigma rules and new hunts "
    "can use fields the typed tables do not carry.",
    (
        _c("TenantId", "string", "Tenant the event belongs to"),
        _c("EventKey", "string", "Stable key of the source event (same as in the typed tables)"),
        _c("Timestamp", "timestamp", "When the event happened (UTC)"),
        _c("DeviceName", "string", "Computer that logged the event, lower case"),
        _c("Channel", "string", "Event log channel, e.g. Microsoft-Windows-Sysmon/Operational"),
        _c("Provider", "string", "Event provider name"),
        _c("EventID", "int", "Windows event ID"),
        _c("RecordId", "long", "EventRecordID in the source log"),
        _c("SourceFile", "string", "File or stream the event was read from"),
        _c("Fields", "fields", "The event's own fields (EventData/UserData and System) as name → text"),
    ),
)

DEVICE_TABLES: tuple[Table, ...] = (
    DEVICE_PROCESS_EVENTS,
    DEVICE_NETWORK_EVENTS,
    DEVICE_FILE_EVENTS,
    DEVICE_REGISTRY_EVENTS,
    DEVICE_LOGON_EVENTS,
    DEVICE_IMAGE_LOAD_EVENTS,
    DEVICE_EVENTS,
)
RAW_TABLE = RAW_EVENTS
TABLES: tuple[Table, ...] = (*DEVICE_TABLES, RAW_EVENTS)
_BY_NAME = {t.name: t for t in TABLES}


def table(name: str) -> Table:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown table {name!r}; tables are {', '.join(_BY_NAME)}") from None


def column_names(table_name: str) -> tuple[str, ...]:
    return table(table_name).names


@functools.cache
def arrow_schema(table_name: str) -> pa.Schema:
    return pa.schema([pa.field(c.name, c.arrow_type) for c in table(table_name).columns])


def duckdb_empty_select(table_name: str) -> str:
    """A typed, empty SELECT for a table with no data yet, so queries over it still bind."""
    cols = ", ".join(f'CAST(NULL AS {c.duckdb_type}) AS "{c.name}"' for c in table(table_name).columns)
    return f"SELECT {cols} WHERE false"
