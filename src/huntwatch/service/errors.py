"""Errors the workflows raise; the web layer maps each to one HTTP status, the CLI to one message."""

from __future__ import annotations


class ServiceError(Exception):
    """Base of every refusal a workflow makes on purpose."""

    status = 400


class InvalidInput(ServiceError):
    status = 422


class AuthenticationFailed(ServiceError):
    """Wrong password, unknown user or token; deliberately says no more than that."""

    status = 401


class AccountLocked(AuthenticationFailed):
    status = 429


class PermissionDenied(ServiceError):
    status = 403


class NotFound(ServiceError):
    """Missing, or outside what the actor may see: the two are indistinguishable on purpose."""

    status = 404


class Conflict(ServiceError):
    status = 409
