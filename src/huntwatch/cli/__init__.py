"""The ``huntwatch`` command: a thin front over the packages.

Each module in this package that defines ``register(group)`` adds its commands to the group, so a
package's commands live beside each other and this file never grows.
"""

from __future__ import annotations

import importlib
import pkgutil

import click

from huntwatch import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="huntwatch")
def main() -> None:
    """Huntwatch: managed threat hunting over Windows endpoint telemetry."""


def _register_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(main)


_register_all()
