"""Reading a story's scope of compromise (``huntwatch.stories.scope.Scope.to_dict()``) for notifications.

Notifications, exports and messages need the plain names of what was hit; the scope holds rich records
(devices with roles, accounts with privileges, files with hashes and prevalence). Plain strings are accepted
too, so a scope an expert edited by hand still reads.
"""

from __future__ import annotations

from typing import Any


def _name(kind: str, item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    if kind == "accounts":
        domain, name = item.get("domain") or "", item.get("name") or ""
        return f"{domain}\\{name}" if domain and name else name or domain
    if kind == "files":
        return item.get("path") or item.get("sha256") or ""
    if kind == "remote_addresses":
        return item.get("address") or ""
    return item.get("name") or ""


def names(scope: dict[str, Any] | None, kind: str) -> list[str]:
    """Names of ``kind`` (devices, accounts, files, remote_addresses) in the scope, in its order."""
    out = [_name(kind, item) for item in (scope or {}).get(kind) or []]
    return [n for n in out if n]


def file_hashes(scope: dict[str, Any] | None) -> list[str]:
    """SHA-256 hashes of the files in scope (lower case, well-formed only)."""
    hashes = []
    for item in (scope or {}).get("files") or []:
        sha = str(item.get("sha256") or "").lower() if isinstance(item, dict) else ""
        if len(sha) == 64 and all(c in "0123456789abcdef" for c in sha):
            hashes.append(sha)
    return sorted(set(hashes))


def method_of_entry(scope: dict[str, Any] | None) -> str:
    """The root of the story as the stories package found it, in words; empty when it found none."""
    root = (scope or {}).get("root") or {}
    if not isinstance(root, dict) or not root.get("method_of_entry"):
        return ""
    where = f" on {root['device']}" if root.get("device") else ""
    when = f" at {root['time']}" if root.get("time") else ""
    what = f": {root['description']}" if root.get("description") else ""
    return f"{root['method_of_entry'].capitalize()}{where}{when}{what}"
