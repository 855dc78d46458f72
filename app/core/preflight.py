"""Before a command touches the database: is it there, reachable and migrated? One line if not.

The CLI asks this first so that a wrong ``INNOSHARE_DATABASE_URL``, a server that is down or
a schema behind the code ends in one sentence naming the command to run, instead of a
traceback from deep inside the driver (or, for ``serve``, every route answering 500). A
setting the environment gets wrong is told the same way (:func:`settings_problem`).
"""

import json
import re
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import SettingsError
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from app.core.config import Settings
from app.core.db import create_engine
from app.core.migrations import CURRENT_REVISIONS, head_revisions

_URL_EXAMPLE = "e.g. sqlite:///./var/innoshare.db or postgresql://user@host:5432/innoshare"
_MISSING_DATABASE = "3D000"  # PostgreSQL's invalid_catalog_name
_BAD_CREDENTIALS = ("28P01", "28000")


class ConfigurationProblem(Exception):
    """What is wrong with the configuration, in one line that says what to change or run."""


class DatabaseProblem(ConfigurationProblem):
    """What is wrong with the configured database, in one line that says what to run."""


_ENV_PREFIX = str(Settings.model_config.get("env_prefix", ""))
_SECRET_WORDS = ("secret", "password", "token")
_FIELD_IN_SETTINGS_ERROR = re.compile(r'field "(\w+)"')


def settings_problem(error: ValidationError | SettingsError) -> ConfigurationProblem:
    """One line naming each environment variable that is wrong and what is wrong with it
    (never a secret's value)."""
    if isinstance(error, SettingsError):  # a value the settings could not even decode
        found = _FIELD_IN_SETTINGS_ERROR.search(str(error))
        name = f"{_ENV_PREFIX}{found.group(1)}".upper() if found else "a setting"
        cause = error.__cause__
        why = "is not valid JSON" if isinstance(cause, json.JSONDecodeError) else "cannot be read"
        return ConfigurationProblem(f"{name} {why} ({cause or error})")
    parts = []
    for item in error.errors(include_url=False):
        message = item["msg"].removeprefix("Value error, ")
        if not item["loc"]:  # a check across settings: its message names them
            parts.append(message)
            continue
        field = str(item["loc"][0])
        name = f"{_ENV_PREFIX}{field}".upper()
        value = item.get("input")
        shown = ""
        if isinstance(value, str) and not any(word in field for word in _SECRET_WORDS):
            shown = f" (got {value[:60]!r})"
        if message[1:2].islower():  # "Input should…", not "CORS origins…"
            message = message[:1].lower() + message[1:]
        parts.append(f"{name}: {message}{shown}")
    return ConfigurationProblem("; ".join(parts))


def parse_database_url(database_url: str) -> URL:
    """The URL, or a :class:`DatabaseProblem` if it is not one we can use."""
    try:
        url = make_url(database_url)
    except ArgumentError as error:
        raise DatabaseProblem(
            f"INNOSHARE_DATABASE_URL {_masked(database_url)!r} is not a database URL"
            f" ({_URL_EXAMPLE})"
        ) from error
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseProblem(
            f"INNOSHARE_DATABASE_URL names {url.get_backend_name()!r}: InnoShare runs on SQLite"
            f" or PostgreSQL ({_URL_EXAMPLE})"
        )
    return url


async def check_database(database_url: str, *, migrated: bool = True, create: bool = False) -> None:
    """Raise :class:`DatabaseProblem` unless the database answers (and is at head if
    ``migrated``). Only with ``create`` may a missing SQLite file (and its directory) be made."""
    url = parse_database_url(database_url)
    where = _where(url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database or "")
        if not create and not path.exists():
            missing = "" if path.parent.is_dir() else f" (its directory {path.parent} is missing)"
            raise DatabaseProblem(
                f"no SQLite database at {path}{missing}; check INNOSHARE_DATABASE_URL, or run"
                " 'innoshare migrate' to create it"
            )
    try:
        engine = create_engine(url.render_as_string(hide_password=False), pool_size=1)
    except (ArgumentError, NoSuchModuleError) as error:
        raise DatabaseProblem(
            f"INNOSHARE_DATABASE_URL cannot be used ({error}; {_URL_EXAMPLE})"
        ) from error
    try:
        async with engine.connect() as connection:
            if not migrated:
                return
            try:
                current = frozenset((await connection.execute(CURRENT_REVISIONS)).scalars())
            except SQLAlchemyError:
                current = frozenset()
    except (OSError, SQLAlchemyError) as error:
        raise _unreachable(url, where, error) from error
    finally:
        await engine.dispose()
    heads = head_revisions()
    if current != heads:
        state = "is not migrated" if not current else f"is at {', '.join(sorted(current))}"
        raise DatabaseProblem(
            f"the database {where} {state} (the code expects {', '.join(sorted(heads))});"
            " run 'innoshare migrate'"
        )


def _unreachable(url: URL, where: str, error: BaseException) -> DatabaseProblem:
    cause: BaseException | None = error
    while cause is not None:
        sqlstate = getattr(cause, "sqlstate", None)
        if sqlstate == _MISSING_DATABASE:
            user = f" -U {url.username}" if url.username else ""
            return DatabaseProblem(
                f"PostgreSQL at {url.host or 'localhost'}:{url.port or 5432} has no database"
                f" {url.database!r}; create it (createdb -h {url.host or 'localhost'}"
                f" -p {url.port or 5432}{user} {url.database}), then run 'innoshare migrate'"
            )
        if sqlstate in _BAD_CREDENTIALS:
            return DatabaseProblem(
                f"PostgreSQL {where} refused user {url.username!r}: check the user and password"
                " in INNOSHARE_DATABASE_URL"
            )
        if isinstance(cause, ConnectionRefusedError):
            return DatabaseProblem(
                f"cannot reach the database {where}: connection refused; start PostgreSQL or"
                " fix the host and port in INNOSHARE_DATABASE_URL"
            )
        if isinstance(cause, OSError):
            reason = cause.strerror or type(cause).__name__
            return DatabaseProblem(
                f"cannot reach the database {where}: {reason}; check INNOSHARE_DATABASE_URL"
            )
        cause = cause.__cause__ or getattr(cause, "orig", None)
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return DatabaseProblem(
        f"cannot open the database {where}: {first_line}; check INNOSHARE_DATABASE_URL"
    )


def _where(url: URL) -> str:
    if url.get_backend_name() == "sqlite":
        return f"at {url.database}"
    return f"{url.database!r} at {url.host or 'localhost'}:{url.port or 5432}"


def _masked(database_url: str) -> str:
    """The URL with any password replaced, for a message."""
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", database_url)
