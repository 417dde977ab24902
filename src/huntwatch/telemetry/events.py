"""The one shape every reader produces: a Windows event with its System facts and its own fields."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(slots=True)
class RawEvent:
    channel: str
    provider: str
    event_id: int
    record_id: int | None
    time: dt.datetime | None
    computer: str
    fields: dict[str, str]  # EventData/UserData names as-is, plus System facts (Computer, Channel, ...)
    source: str  # file (and archive member) it came from
    line: int | None = None  # line number for line-oriented sources
    identity: bytes | None = None  # raw bytes of the record when it has no record id (for a stable key)


@dataclass(slots=True)
class ReadError:
    """A record, line or file that could not be read; ingest reports it and goes on."""

    source: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        return f"{where}: {self.message}"


class SourceError(Exception):
    """A whole file that cannot be read (not EVTX, zip bomb, unreadable)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


def parse_time(text: object) -> dt.datetime | None:
    """Parse the timestamp shapes Windows exporters write, as naive UTC.

    Accepts ``2020-12-11T12:28:01.2990045Z``, ``2020-10-18 10:56:18.799``, ``... UTC`` and epoch
    milliseconds; fractions beyond microseconds are cut, offsets are applied.
    """
    if text is None:
        return None
    if type(text) is str:
        try:
            if text[-1:] == "Z":  # UTC already: parse it naive, no zone arithmetic
                return dt.datetime.fromisoformat(text[:-1])
            parsed = dt.datetime.fromisoformat(text)  # C fast path for ISO 8601 (Z, offsets, 7-digit fractions)
        except ValueError:
            pass
        else:
            offset = parsed.utcoffset()
            if offset is None:
                return parsed
            return (parsed - offset).replace(tzinfo=None)
    if isinstance(text, int | float):
        return dt.datetime(1970, 1, 1) + dt.timedelta(milliseconds=float(text))
    s = str(text).strip()
    if len(s) < 19:
        return None
    if s.endswith(" UTC"):
        s = s[:-4]
    offset = None
    if s.endswith("Z"):
        s = s[:-1]
    elif len(s) > 19 and s[-6] in "+-" and s[-3] == ":":
        offset = s[-6:]
        s = s[:-6]
    try:
        base = dt.datetime(int(s[0:4]), int(s[5:7]), int(s[8:10]), int(s[11:13]), int(s[14:16]), int(s[17:19]))
    except ValueError:
        return None
    if len(s) > 20 and s[19] == ".":
        frac = s[20:26]
        if frac.isdigit():
            base = base.replace(microsecond=int(frac.ljust(6, "0")))
    if offset:
        sign = 1 if offset[0] == "+" else -1
        base -= sign * dt.timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6]))
    return base
