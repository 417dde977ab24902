"""Huntwatch: an open, self-hostable managed threat hunting service."""

__version__ = "0.1.0"
