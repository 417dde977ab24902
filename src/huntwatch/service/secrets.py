"""Encryption at rest for secrets the service must use again (webhook keys, SMTP passwords).

Hashing is not an option for these, so they are sealed with Fernet under a key file kept beside the state
(``$HUNTWATCH_HOME/secret.key``, created on first use, mode 0600). Back it up with the database.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from huntwatch.config import settings


class SecretBox:
    def __init__(self, key_path: Path) -> None:
        self.key_path = key_path
        self._fernet: Fernet | None = None

    @classmethod
    def default(cls) -> SecretBox:
        return cls(settings().home / "secret.key")

    def _key(self) -> Fernet:
        if self._fernet is None:
            if not self.key_path.exists():
                self.key_path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(Fernet.generate_key())
            self._fernet = Fernet(self.key_path.read_bytes().strip())
        return self._fernet

    def seal(self, values: dict[str, Any]) -> str:
        return self._key().encrypt(json.dumps(values).encode()).decode()

    def open(self, sealed: str | None) -> dict[str, Any]:
        if not sealed:
            return {}
        try:
            return json.loads(self._key().decrypt(sealed.encode()))
        except InvalidToken as exc:
            raise ValueError("stored secrets cannot be decrypted with this key file") from exc
