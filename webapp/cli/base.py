"""What every ``sinhke`` command group shares: errors as one line, and who the operator is."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

import click

from spatial import SinhkeError
from spatial.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


class OneLineError(click.ClickException):
    """Shown as ``error: …`` on stderr with exit status 1 (click's own says ``Error: …``)."""

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", file=file, err=True)


class SinhkeGroup(click.Group):
    """A command group whose commands report the errors sinhke knows as one readable line, without a traceback.

    ``SinhkeError`` is shown with its message; a database that cannot be reached says so
    and how to start it. Groups made with ``@group.group()`` are of this class too; a group
    made on its own and added with ``add_command`` passes ``cls=SinhkeGroup``.
    """

    group_class = type

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SinhkeError as exc:
            raise OneLineError(str(exc)) from exc
        except Exception as exc:
            from sqlalchemy.exc import OperationalError

            if isinstance(exc, OperationalError):
                reason = str(exc.orig).strip().splitlines()[0]
                raise OneLineError(f"the database is not reachable ({reason}). Start it with `sinhke db up`.") from exc
            raise


def cli_actor() -> str:
    """The operator, as the audit trail names changes made from the command line."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "cli"


@contextmanager
def as_cli_user(settings: Settings) -> Iterator[Session]:
    """One transaction whose changes the audit trail attributes to the CLI's operator."""
    from spatial.accounts import act_as
    from spatial.db import transaction

    with transaction(settings) as session:
        act_as(session, cli_actor())
        yield session
