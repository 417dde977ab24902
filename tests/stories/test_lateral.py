"""The device directory: which remote peer of a lead or a logon is one of the tenant's devices."""

from __future__ import annotations

from huntwatch.stories.lateral import DeviceDirectory

RDS = "rds-01.corp.example"


def test_a_leads_remote_peers_resolve_to_our_devices_by_name_or_address() -> None:
    directory = DeviceDirectory(
        ["dc-01.corp.example", RDS, "wks-7.corp.example"],
        [(RDS, "10.10.1.14"), ("wks-7.corp.example", "10.10.2.9"), ("wks-8", "10.10.2.9")],
    )
    assert directory.sources({"device": ["dc-01.corp.example"], "remote_ip": ["10.10.1.14"]}) == (RDS,)
    by_name = {"device": ["dc-01"], "remote_device": ["RDS-01"], "remote_ip": ["::ffff:10.10.1.14"]}
    assert directory.sources(by_name) == (RDS,)
    # its own name, an address two devices used, a peer outside the tenant: no source
    assert directory.sources({"device": ["rds-01"], "remote_device": ["rds-01"], "remote_ip": ["10.10.2.9"]}) == ()
    outside = {"device": ["dc-01"], "remote_device": ["WIN-6VAS7CJHNF7"], "remote_ip": ["1.2.3.4"]}
    assert directory.sources(outside) == ()
