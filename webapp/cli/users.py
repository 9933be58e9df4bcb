"""``sinhke users``: users, roles, areas and API tokens."""

from __future__ import annotations

import sys

import click

from spatial.settings import Settings
from webapp.cli.base import SinhkeGroup, as_cli_user


@click.group(cls=SinhkeGroup, help="Users, roles, areas and API tokens.")
def users() -> None:
    pass


def _read_password(from_stdin: bool, confirm: bool = True) -> str | None:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise click.UsageError("--password-stdin: no password on standard input")
        return line
    if sys.stdin.isatty():
        password: str = click.prompt("password", hide_input=True, confirmation_prompt=confirm)
        return password
    return None


@users.command("add", help="Add a user; prints a generated password unless one is given.")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "planner", "extension_worker", "evaluator"]), required=True)
@click.option("--area", "areas", multiple=True, help="province or 2025 commune code (repeatable)")
@click.option("--display-name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@click.pass_obj
def users_add(
    settings: Settings, name: str, role: str, areas: tuple[str, ...], display_name: str | None, password_stdin: bool
) -> None:
    import secrets

    from spatial.accounts import create_user, user_areas

    password = _read_password(password_stdin) if password_stdin else None
    generated = password is None
    if password is None:
        password = secrets.token_urlsafe(12)
    with as_cli_user(settings) as s:
        user = create_user(s, name, role, password=password, areas=list(areas), display_name=display_name)
        where = ", ".join(f"{a.name} ({a.code})" for a in user_areas(s, user.id)) or "no area yet"
    click.echo(f"added {name} ({role}; {where})")
    if generated:
        click.echo(f"password: {password}")


@users.command("assign", help="Replace a user's areas.")
@click.argument("name")
@click.option("--area", "areas", multiple=True, required=True)
@click.pass_obj
def users_assign(settings: Settings, name: str, areas: tuple[str, ...]) -> None:
    from spatial.accounts import assign_areas, get_user

    with as_cli_user(settings) as s:
        units = assign_areas(s, get_user(s, name), list(areas))
        click.echo(f"{name}: " + ", ".join(f"{u.name} ({u.code})" for u in units))


@users.command("list", help="Users, roles, areas and status.")
@click.pass_obj
def users_list(settings: Settings) -> None:
    from sqlalchemy import select

    from spatial.accounts import user_areas
    from spatial.db import transaction
    from spatial.models import User

    with transaction(settings) as s:
        for u in s.scalars(select(User).order_by(User.name)):
            areas = ", ".join(a.code for a in user_areas(s, u.id)) or "-"
            state = "disabled" if u.disabled_at else "active"
            click.echo(f"{u.name:<20} {u.role:<17} {state:<9} {areas}")


@users.command("passwd", help="Set a user's password (ends their sessions).")
@click.argument("name")
@click.option("--password-stdin", is_flag=True)
@click.pass_obj
def users_passwd(settings: Settings, name: str, password_stdin: bool) -> None:
    from spatial.accounts import get_user, set_password

    password = _read_password(password_stdin)
    if password is None:
        raise click.UsageError("no terminal to ask for the password: use --password-stdin")
    with as_cli_user(settings) as s:
        set_password(s, get_user(s, name), password)
    click.echo(f"password of {name} changed; their sessions have ended")


@users.command("disable", help="Disable a user: sessions end, tokens are revoked.")
@click.argument("name")
@click.pass_obj
def users_disable(settings: Settings, name: str) -> None:
    from spatial.accounts import disable_user, get_user

    with as_cli_user(settings) as s:
        disable_user(s, get_user(s, name))
    click.echo(f"{name} disabled")


@users.command("token", help="Print a new API token for the user (stored hashed).")
@click.argument("name")
@click.pass_obj
def users_token(settings: Settings, name: str) -> None:
    from spatial.accounts import get_user, issue_token

    with as_cli_user(settings) as s:
        token = issue_token(s, get_user(s, name))
    click.echo(token)
