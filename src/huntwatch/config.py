"""Where Huntwatch keeps its state, from the environment; every package asks here, never os.environ."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def home() -> Path:
    """``$HUNTWATCH_HOME``, or the user's data directory."""
    explicit = os.environ.get("HUNTWATCH_HOME")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "huntwatch"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    lake: str

    @property
    def lake_path(self) -> Path:
        """Filesystem root of the lake (``parquet:PATH`` or the default under home)."""
        kind, _, where = self.lake.partition(":")
        return Path(where) if kind == "parquet" and where else self.home / "lake"


def settings() -> Settings:
    root = home()
    db = os.environ.get("HUNTWATCH_DATABASE_URL") or f"sqlite:///{root / 'huntwatch.db'}"
    lake = os.environ.get("HUNTWATCH_LAKE") or f"parquet:{root / 'lake'}"
    return Settings(home=root, database_url=db, lake=lake)
