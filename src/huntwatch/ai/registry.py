"""Model versions: files under ``$HUNTWATCH_HOME/models``, rows in ``ModelVersion``, one active per kind.

A model file is a pickle, so it is only ever loaded after its SHA-256 matches the digest recorded when it
was saved: a corrupted, truncated or swapped file is refused, and scoring falls back to the transparent
prior with a warning instead of failing or trusting it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
from sqlalchemy import select

from huntwatch.ai.ranking import RankingModel
from huntwatch.config import settings
from huntwatch.state import Database, ModelVersion

log = logging.getLogger(__name__)


class RegistryError(ValueError):
    """An unknown version, or a version of another kind."""


@dataclass
class Loaded:
    """The active model, or None with the reason scoring must use the prior instead."""

    model: RankingModel | None
    version: str | None
    warning: str | None = None


def models_dir() -> Path:
    return settings().home / "models"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def save_version(
    db: Database,
    model: RankingModel,
    metrics: dict[str, Any],
    *,
    kind: str = "ranking",
    activate: bool = True,
    extra_params: dict[str, Any] | None = None,
) -> ModelVersion:
    """Write the model file atomically, record it with its metrics, and make it the active one if asked."""
    buf = io.BytesIO()
    joblib.dump(model, buf)
    data = buf.getvalue()
    digest = _sha256(data)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    base = f"{kind}-{stamp}-{digest[:8]}"
    with db.session() as s:  # the same model retrained within a second gets a numbered version
        taken = set(s.scalars(select(ModelVersion.version).where(ModelVersion.version.startswith(base))))
    version, n = base, 1
    while version in taken:
        n += 1
        version = f"{base}-{n}"
    folder = models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{version}.joblib"
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    params = {
        **model.params,
        **(extra_params or {}),
        "sha256": digest,
        "fingerprint": model.fingerprint(),
        "features": list(model.features),
        "trained_on": model.trained_on,
    }
    with db.session() as s:
        row = ModelVersion(kind=kind, version=version, path=str(path), metrics=metrics, params=params, active=False)
        s.add(row)
        s.flush()
        if activate:
            _activate(s, row)
        s.flush()
        s.expunge(row)
    return row


def _activate(s: Any, row: ModelVersion) -> None:
    for other in s.scalars(select(ModelVersion).where(ModelVersion.kind == row.kind, ModelVersion.active.is_(True))):
        other.active = False
    s.flush()
    row.active = True
    s.flush()


def activate(db: Database, version: str) -> ModelVersion:
    """Make ``version`` the active model of its kind (rollback = activate an older one)."""
    with db.session() as s:
        row = s.scalar(select(ModelVersion).where(ModelVersion.version == version))
        if row is None:
            raise RegistryError(f"no model version {version!r}")
        _activate(s, row)
        s.flush()
        s.expunge(row)
    return row


def list_versions(db: Database, kind: str | None = None) -> list[ModelVersion]:
    """Every version, newest first."""
    with db.session() as s:
        q = select(ModelVersion).order_by(ModelVersion.created_at.desc(), ModelVersion.id.desc())
        if kind:
            q = q.where(ModelVersion.kind == kind)
        rows = list(s.scalars(q))
        for r in rows:
            s.expunge(r)
    return rows


def load_version(row: ModelVersion) -> RankingModel:
    """Load one version's file after checking its digest; raises ``OSError``/``ValueError`` when unusable."""
    data = Path(row.path).read_bytes()
    expected = (row.params or {}).get("sha256")
    if expected and _sha256(data) != expected:
        raise ValueError(f"model file {row.path} does not match its recorded SHA-256 (corrupted or replaced)")
    model = joblib.load(io.BytesIO(data))
    if not isinstance(model, RankingModel):
        raise ValueError(f"model file {row.path} does not hold a ranking model")
    return model


def load_active(db: Database, kind: str = "ranking") -> Loaded:
    """The active model, or None and a clear warning (no model yet, missing or corrupted file)."""
    with db.session() as s:
        row = s.scalar(select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.active.is_(True)))
        if row is not None:
            s.expunge(row)
    if row is None:
        return Loaded(None, None, "no active ranking model: scores fall back to the transparent prior")
    try:
        return Loaded(load_version(row), row.version)
    except FileNotFoundError:
        warning = f"model {row.version}: file {row.path} is missing; scores fall back to the transparent prior"
    except Exception as exc:  # a broken pickle raises anything; none of it may stop scoring
        warning = f"model {row.version} cannot be loaded ({exc}); scores fall back to the transparent prior"
    log.warning(warning)
    return Loaded(None, row.version, warning)
