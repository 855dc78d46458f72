"""The fuzzer's own check (loaded by schemathesis through ``SCHEMATHESIS_HOOKS``)."""

import json
from typing import Any

import schemathesis
from schemathesis import Case, CheckContext, Response

#: Pydantic's errors for what a validator of ours decides (a rule across fields, a check
#: digit, text the databases can store: no NUL, no lone surrogate): the schema cannot say
#: these, so a schema-valid request may meet them.
RULE_ERRORS = {"value_error", "assertion_error", "nul_character", "invalid_unicode"}


@schemathesis.check
def schema_valid_data_passes_type_checks(
    ctx: CheckContext, response: Response, case: Case
) -> bool | None:
    """A request generated from the schema as valid is never refused for a type, a format, a
    bound or a missing field: the schema promised those, so such a 422 shows the schema lies
    to the clients generated from it."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        problem: Any = json.loads(response.content)
    except ValueError:
        return None
    if not isinstance(problem, dict) or problem.get("code") != "validation_error":
        return None
    broken = [
        error
        for error in problem.get("errors") or []
        if isinstance(error, dict)
        and error.get("type") not in RULE_ERRORS
        and not _integral_float(case, error)
    ]
    if broken:
        raise AssertionError(
            "A request the schema calls valid was refused for what the schema should have "
            f"said: {json.dumps(broken, ensure_ascii=False)[:500]}"
        )
    return None


def _integral_float(case: Case, error: dict[str, Any]) -> bool:
    """A float with no fraction (``5.0``) where an integer belongs: JSON Schema counts it as an
    ``integer``, but the API refuses it on purpose (issue 17: no silent coercion, ``trl: 5.0``
    is a client bug), a rule the schema's ``type`` cannot say."""
    loc = error.get("loc")
    if error.get("type") != "int_type" or not isinstance(loc, list) or loc[:1] != ["body"]:
        return False
    value: Any = case.body
    for part in loc[1:]:
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            return False
    return isinstance(value, float) and value.is_integer()
