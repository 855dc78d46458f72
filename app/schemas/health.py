"""Shapes of the operations endpoints."""

from pydantic import ConfigDict

from app.schemas.base import Schema


class Liveness(Schema):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ok", "version": "0.1.0"}]}
    )

    status: str
    version: str


class ReadinessRead(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "ready", "database": "ok", "migrations": "0001_foundation"}]
        }
    )

    status: str
    database: str
    migrations: str
