"""Where a Sigma log source lives in the lake, and which event fields a Sigma field name reads — as data.

A rule's log source becomes a *source filter* (channel + event ids over ``RawEvents``) kept in the
pipeline state rather than added to the rule's detection: the evaluator groups rules by that filter and
applies it once per scan, instead of once per rule per row. Field alternatives (Sysmon's ``Image`` is
Security 4688's ``NewProcessName``) are also state, so the backend reads ``coalesce`` of both once per
row instead of doubling every predicate with an OR.
"""

from __future__ import annotations

from dataclasses import dataclass

from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import SetStateTransformation

SYSMON = "Microsoft-Windows-Sysmon/Operational"
SECURITY = "Security"
PS_OPERATIONAL = "Microsoft-Windows-PowerShell/Operational"
PS_CLASSIC = "Windows PowerShell"

STATE_SOURCES = "huntwatch_sources"
STATE_FIELDS = "huntwatch_field_sources"


@dataclass(frozen=True, order=True)
class Source:
    """Events of one channel, optionally only some event ids (empty = every event of the channel)."""

    channel: str
    event_ids: tuple[int, ...] = ()


def _sysmon(*ids: int) -> tuple[Source, ...]:
    return (Source(SYSMON, ids),)


# Sigma category → the events it describes (Sysmon event ids are facts from Sysmon's schema).
CATEGORIES: dict[str, tuple[Source, ...]] = {
    "process_creation": (Source(SYSMON, (1,)), Source(SECURITY, (4688,))),
    "file_change": _sysmon(2),
    "network_connection": _sysmon(3),
    "sysmon_status": _sysmon(4, 16),
    "process_termination": _sysmon(5),
    "driver_load": _sysmon(6),
    "image_load": _sysmon(7),
    "create_remote_thread": _sysmon(8),
    "raw_access_thread": _sysmon(9),
    "process_access": _sysmon(10),
    "file_event": _sysmon(11),
    "registry_add": _sysmon(12),
    "registry_delete": _sysmon(12),
    "registry_set": _sysmon(13),
    "registry_rename": _sysmon(14),
    "registry_event": _sysmon(12, 13, 14),
    "create_stream_hash": _sysmon(15),
    "pipe_created": _sysmon(17, 18),
    "wmi_event": _sysmon(19, 20, 21),
    "dns_query": _sysmon(22),
    "file_delete": _sysmon(23, 26),
    "clipboard_change": _sysmon(24),
    "process_tampering": _sysmon(25),
    "file_block_executable": _sysmon(27),
    "file_block_shredding": _sysmon(28),
    "file_executable_detected": _sysmon(29),
    "sysmon_error": _sysmon(255),
    "ps_module": (Source(PS_OPERATIONAL, (4103,)),),
    "ps_script": (Source(PS_OPERATIONAL, (4104,)),),
    "ps_classic_start": (Source(PS_CLASSIC, (400,)),),
    "ps_classic_provider_start": (Source(PS_CLASSIC, (600,)),),
    "ps_classic_script": (Source(PS_CLASSIC, (800,)),),
}

# Sigma service → event log channel(s); every event of the channel, the rule names its event ids.
SERVICES: dict[str, tuple[str, ...]] = {
    "security": (SECURITY,),
    "system": ("System",),
    "application": ("Application",),
    "sysmon": (SYSMON,),
    "powershell": (PS_OPERATIONAL,),
    "powershell-classic": (PS_CLASSIC,),
    "taskscheduler": ("Microsoft-Windows-TaskScheduler/Operational",),
    "wmi": ("Microsoft-Windows-WMI-Activity/Operational",),
    "windefend": ("Microsoft-Windows-Windows Defender/Operational",),
    "dns-server": ("DNS Server",),
    "dns-server-analytic": ("Microsoft-Windows-DNS-Server/Analytical",),
    "dns-client": ("Microsoft-Windows-DNS Client Events/Operational",),
    "driver-framework": ("Microsoft-Windows-DriverFrameworks-UserMode/Operational",),
    "bits-client": ("Microsoft-Windows-Bits-Client/Operational",),
    "applocker": (
        "Microsoft-Windows-AppLocker/MSI and Script",
        "Microsoft-Windows-AppLocker/EXE and DLL",
        "Microsoft-Windows-AppLocker/Packaged app-Deployment",
        "Microsoft-Windows-AppLocker/Packaged app-Execution",
    ),
    "firewall-as": ("Microsoft-Windows-Windows Firewall With Advanced Security/Firewall",),
    "codeintegrity-operational": ("Microsoft-Windows-CodeIntegrity/Operational",),
    "security-mitigations": (
        "Microsoft-Windows-Security-Mitigations/Kernel Mode",
        "Microsoft-Windows-Security-Mitigations/User Mode",
    ),
    "ntlm": ("Microsoft-Windows-NTLM/Operational",),
    "msexchange-management": ("MSExchange Management",),
    "iis-configuration": ("Microsoft-IIS-Configuration/Operational",),
    "appxdeployment-server": ("Microsoft-Windows-AppXDeploymentServer/Operational",),
    "appxpackaging-om": ("Microsoft-Windows-AppxPackaging/Operational",),
    "appmodel-runtime": ("Microsoft-Windows-AppModel-Runtime/Admin",),
    "terminalservices-localsessionmanager": ("Microsoft-Windows-TerminalServices-LocalSessionManager/Operational",),
    "shell-core": ("Microsoft-Windows-Shell-Core/Operational",),
    "certificateservicesclient-lifecycle-system": (
        "Microsoft-Windows-CertificateServicesClient-Lifecycle-System/Operational",
    ),
    "smbclient-security": ("Microsoft-Windows-SmbClient/Security",),
    "smbclient-connectivity": ("Microsoft-Windows-SmbClient/Connectivity",),
    "smbserver-connectivity": ("Microsoft-Windows-SMBServer/Connectivity",),
    "diagnosis-scripted": ("Microsoft-Windows-Diagnosis-Scripted/Operational",),
    "lsa-server": ("Microsoft-Windows-LSA/Operational",),
    "openssh": ("OpenSSH/Operational",),
    "capi2": ("Microsoft-Windows-CAPI2/Operational",),
    "ldap": ("Microsoft-Windows-LDAP-Client/Debug",),
    "microsoft-servicebus-client": ("Microsoft-ServiceBus-Client",),
    "printservice-admin": ("Microsoft-Windows-PrintService/Admin",),
    "printservice-operational": ("Microsoft-Windows-PrintService/Operational",),
    "kernel-shimengine": ("Microsoft-Windows-Kernel-ShimEngine/Operational",),
    "bitlocker": ("Microsoft-Windows-BitLocker/BitLocker Management",),
    "vhdmp": ("Microsoft-Windows-VHDMP-Operational",),
    "hyper-v-worker": ("Microsoft-Windows-Hyper-V-Worker-Admin",),
}

# Per category: Sigma field name → event fields tried in order. process_creation rules are written for
# Sysmon 1; Security 4688 names the same facts differently.
FIELD_SOURCES: dict[str, dict[str, tuple[str, ...]]] = {
    "process_creation": {
        "Image": ("Image", "NewProcessName"),
        "ParentImage": ("ParentImage", "ParentProcessName"),
        "User": ("User", "SubjectUserName"),
        "LogonId": ("LogonId", "SubjectLogonId"),
    },
}

# Defender's operational log names its fields with spaces ("Threat Name"); Sigma rules write ThreatName.
_DEFENDER_FIELDS = (
    "Threat Name",
    "Threat ID",
    "Severity Name",
    "Severity ID",
    "Category Name",
    "Category ID",
    "Source Name",
    "Source ID",
    "Process Name",
    "Detection User",
    "Detection ID",
    "Detection Time",
    "Product Name",
    "Product Version",
    "Action Name",
    "Action ID",
    "Error Code",
    "Error Description",
    "Engine Version",
    "Signature Version",
    "Feature Name",
    "Feature ID",
    "Old Value",
    "New Value",
    "Execution Name",
    "Status Code",
)
SERVICE_FIELD_SOURCES: dict[str, dict[str, tuple[str, ...]]] = {
    "windefend": {name.replace(" ", ""): (name.replace(" ", ""), name) for name in _DEFENDER_FIELDS},
}


def _state(key: str, value: object, ident: str, **logsource: str) -> ProcessingItem:
    return ProcessingItem(
        identifier=ident,
        transformation=SetStateTransformation(key, value),
        rule_conditions=[LogsourceCondition(product="windows", **logsource)],
    )


def windows_pipeline() -> ProcessingPipeline:
    """The Huntwatch Windows pipeline: log source → source filter and field sources, kept in state."""
    items: list[ProcessingItem] = []
    for category, sources in CATEGORIES.items():
        items.append(_state(STATE_SOURCES, sources, f"huntwatch_logsource_{category}", category=category))
    for service, channels in SERVICES.items():
        sources = tuple(Source(c) for c in channels)
        items.append(_state(STATE_SOURCES, sources, f"huntwatch_logsource_{service}", service=service))
    for category, mapping in FIELD_SOURCES.items():
        items.append(_state(STATE_FIELDS, mapping, f"huntwatch_fields_{category}", category=category))
    for service, mapping in SERVICE_FIELD_SOURCES.items():
        items.append(_state(STATE_FIELDS, mapping, f"huntwatch_fields_{service}", service=service))
    return ProcessingPipeline(name="Huntwatch Windows RawEvents", priority=20, items=items)
