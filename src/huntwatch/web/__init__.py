"""The web front: FastAPI app factory, the JSON API under ``/api/v1`` (and, later, the portal pages)."""

from huntwatch.web.app import create_app

__all__ = ["create_app"]
