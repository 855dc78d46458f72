"""Shapes of the operations endpoints."""

from typing import Literal

from pydantic import ConfigDict

from app.schemas.base import Schema


class Liveness(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "version": "0.1.0"}]}
    )

    status: Literal["ok"]
    version: str


class ReadinessRead(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ready", "database": "ok", "migrations": "0001_foundation"}]
        }
    )

    status: Literal["ready"]
    database: Literal["ok"]
    migrations: str
