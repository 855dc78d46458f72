"""Who may call what: every route of the app × every kind of caller, against one table.

Each row of ``MATRIX`` is one operation (every route in ``app.routes``: a new route without
a row fails ``test_every_route_has_a_row``); each column a caller, built in
``tests/prove/world.py``:

=========  ======================================================================
anon       no credentials
admin      an admin                     operator   an operator
auditor    an auditor
ent        a member of the enterprise   uni        a member of the university
key+       an API key of the row's side holding every scope
key-       an API key of the row's side holding every scope but the row's one
           (no scope at all when the row names none)
other      a member of an unrelated enterprise
okey       an API key of that enterprise with every member scope
exp        an expired access token      tamp       an access token with a bad signature
rev        a revoked API key
=========  ======================================================================

The row's ``side`` is the organization whose objects the path names and whose keys are
``key+``/``key-`` (``ent``: the demand, its questions and invitations, the subscription, the
deal's buyer; ``uni``: the catalog items, the proposal, the payout, the deal's seller;
``fin``: the financial product; ``-``: nobody's). ``{organization_id}`` is that side's id.

Cells: ``ok`` the caller gets past authentication and authorization (whatever the request
then meets: 2xx, 409, 422, or a sign-in form's wrong password); ``401``; ``404`` what the
caller may not see does not exist for it (the house rule for other organizations' objects);
any other word is a 403 by its problem ``code`` (``SHORT_CODES``: ``role`` forbidden_role,
``scope`` missing_scope, ``owner`` not_owner, ``member`` not_member, ``staff`` staff_only,
``403`` the generic forbidden…; a code not listed shows in full). Every request is well formed (the schema's own example body, ids of real objects)
so a cell shows who is asking, not what was sent. Refused requests run before allowed ones,
so no refusal is explained by an allowed caller's change; two routes that delete
(``revoke_api_key``, ``delete_subscription``) get a new object for each caller.
"""

import os
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.security import Scope
from tests.prove.operations import Operation, all_operations
from tests.prove.world import World, build_world, row_counts

CALLERS = "anon admin operator auditor ent uni key+ key- other okey exp tamp rev".split()

# fmt: off
MATRIX = """
operation                      side scope               anon admin    operator auditor ent    uni   key+   key-   other  okey   exp tamp rev
openapi                        -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
issue_token                    -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
refresh_token                  -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
logout                         -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
get_me                         -    -                   401  ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
create_user                    ent  -                   401  ok       ok       403     403    403   403    403    403    403    401 401  401
list_users                     ent  -                   401  ok       ok       403     403    403   403    403    403    403    401 401  401
get_user                       ent  -                   401  ok       ok       403     403    403   403    403    403    403    401 401  401
update_user                    ent  -                   401  ok       ok       403     403    403   403    403    403    403    401 401  401
create_api_key                 uni  -                   401  ok       ok       403     403    ok    403    403    403    403    401 401  401
list_api_keys                  uni  -                   401  ok       ok       403     403    ok    403    403    403    403    401 401  401
revoke_api_key                 uni  -                   401  ok       ok       403     403    ok    403    403    403    403    401 401  401
create_organization            -    -                   401  ok       ok       role    role   role  role   role   role   role   401 401  401
list_organizations             -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
get_organization               uni  -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
update_organization            uni  -                   401  ok       ok       403     403    ok    403    403    403    403    401 401  401
list_talents                   uni  catalog:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
create_talent                  uni  catalog:write       401  ok       ok       ok      ok     ok    ok     scope  ok     ok     401 401  401
get_talent                     uni  catalog:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
update_talent                  uni  catalog:write       401  ok       ok       scope   owner  ok    ok     scope  owner  owner  401 401  401
publish_talent                 uni  catalog:write       401  ok       ok       scope   owner  ok    ok     scope  owner  owner  401 401  401
withdraw_talent                uni  catalog:write       401  ok       ok       scope   owner  ok    ok     scope  owner  owner  401 401  401
list_talent_history            uni  catalog:write       401  ok       ok       403     403    ok    ok     ok     403    403    401 401  401
list_technologies              uni  catalog:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
create_technology              uni  catalog:write       401  ok       ok       ok      ok     ok    ok     scope  ok     ok     401 401  401
get_technology                 uni  catalog:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
update_technology              uni  catalog:write       401  ok       ok       scope   owner  ok    ok     scope  owner  owner  401 401  401
publish_technology             uni  catalog:write       401  ok       ok       scope   owner  ok    ok     scope  owner  owner  401 401  401
withdraw_technology            uni  catalog:write       401  ok       ok       scope   owner  ok    ok     scope  owner  owner  401 401  401
list_technology_history        uni  catalog:write       401  ok       ok       403     403    ok    ok     ok     403    403    401 401  401
list_policies                  uni  catalog:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
create_policy                  uni  catalog:write       401  ok       ok       ok      staff  staff staff  scope  staff  staff  401 401  401
get_policy                     uni  catalog:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
update_policy                  uni  catalog:write       401  ok       ok       scope   staff  staff staff  scope  staff  staff  401 401  401
publish_policy                 uni  catalog:write       401  ok       ok       scope   staff  staff staff  scope  staff  staff  401 401  401
withdraw_policy                uni  catalog:write       401  ok       ok       scope   staff  staff staff  scope  staff  staff  401 401  401
list_policy_history            uni  catalog:write       401  ok       ok       403     403    ok    ok     ok     403    403    401 401  401
list_ip_assets                 uni  catalog:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
create_ip_asset                uni  catalog:write       401  ok       ok       ok      ok     ok    ok     scope  ok     ok     401 401  401
get_ip_asset                   uni  catalog:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
update_ip_asset                uni  catalog:write       401  ok       ok       scope   owner  ok    ok     scope  owner  owner  401 401  401
publish_ip_asset               uni  catalog:write       401  ok       ok       scope   owner  ok    ok     scope  owner  owner  401 401  401
withdraw_ip_asset              uni  catalog:write       401  ok       ok       scope   owner  ok    ok     scope  owner  owner  401 401  401
list_ip_asset_history          uni  catalog:write       401  ok       ok       403     403    ok    ok     ok     403    403    401 401  401
list_financial_products        fin  catalog:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
create_financial_product       fin  catalog:write       401  ok       ok       ok      ok     ok    ok     scope  ok     ok     401 401  401
get_financial_product          fin  catalog:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
update_financial_product       fin  catalog:write       401  ok       ok       scope   owner  owner ok     scope  owner  owner  401 401  401
publish_financial_product      fin  catalog:write       401  ok       ok       scope   owner  owner ok     scope  owner  owner  401 401  401
withdraw_financial_product     fin  catalog:write       401  ok       ok       scope   owner  owner ok     scope  owner  owner  401 401  401
list_financial_product_history fin  catalog:write       401  ok       ok       403     403    403   ok     ok     403    403    401 401  401
list_demands                   ent  demands:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
create_demand                  ent  demands:write       401  ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
get_demand                     ent  demands:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
update_demand                  ent  demands:write       401  ok       ok       scope   ok     owner ok     scope  owner  owner  401 401  401
publish_demand                 ent  demands:write       401  ok       ok       scope   ok     owner ok     scope  owner  owner  401 401  401
cancel_demand                  ent  demands:write       401  ok       ok       scope   ok     owner ok     scope  owner  owner  401 401  401
extend_demand                  ent  demands:write       401  ok       ok       scope   ok     owner ok     scope  owner  owner  401 401  401
close_demand_unsuccessful      ent  demands:write       401  ok       ok       scope   ok     owner ok     scope  owner  owner  401 401  401
hide_demand                    ent  demands:write       401  ok       ok       role    role   role  role   role   role   role   401 401  401
unhide_demand                  ent  demands:write       401  ok       ok       role    role   role  role   role   role   role   401 401  401
list_demand_history            ent  demands:write       401  ok       ok       ok      ok     403   ok     ok     403    403    401 401  401
list_demand_matches            ent  demands:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
list_matched_demands           uni  demands:write       401  ok       ok       member  member ok    ok     ok     member member 401 401  401
create_subscription            ent  subscriptions:write 401  org_req  org_req  scope   ok     ok    ok     scope  ok     ok     401 401  401
list_subscriptions             ent  subscriptions:write 401  org_req  org_req  scope   ok     ok    ok     scope  ok     ok     401 401  401
get_subscription               ent  subscriptions:write 401  ok       ok       scope   ok     404   ok     scope  404    404    401 401  401
update_subscription            ent  subscriptions:write 401  ok       ok       scope   ok     404   ok     scope  404    404    401 401  401
delete_subscription            ent  subscriptions:write 401  ok       ok       scope   ok     404   ok     scope  404    404    401 401  401
rotate_subscription_secret     ent  subscriptions:write 401  ok       ok       scope   ok     404   ok     scope  404    404    401 401  401
list_subscription_deliveries   ent  subscriptions:write 401  ok       ok       scope   ok     404   ok     scope  404    404    401 401  401
redeliver_event                ent  subscriptions:write 401  ok       ok       scope   ok     404   ok     scope  404    404    401 401  401
list_events                    ent  subscriptions:write 401  org_req  org_req  scope   ok     ok    ok     scope  ok     ok     401 401  401
search_catalogs                -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
import_technologies            uni  catalog:write       401  no_org   no_org   no_org  ok     ok    ok     scope  ok     ok     401 401  401
import_talents                 uni  catalog:write       401  no_org   no_org   no_org  ok     ok    ok     scope  ok     ok     401 401  401
import_ip_assets               uni  catalog:write       401  no_org   no_org   no_org  ok     ok    ok     scope  ok     ok     401 401  401
submit_proposal                uni  demands:write       401  not_org  not_org  scope   own    ok    ok     scope  ok     ok     401 401  401
list_proposals                 ent  demands:write       401  ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
audit_proposals                ent  demands:write       401  ok       ok       ok      sealed owner sealed sealed owner  owner  401 401  401
get_proposal                   uni  demands:write       401  ok       ok       ok      404    ok    ok     ok     404    404    401 401  401
revise_proposal                uni  demands:write       401  proposer proposer scope   404    ok    ok     scope  404    404    401 401  401
withdraw_proposal              uni  demands:write       401  proposer proposer scope   404    ok    ok     scope  404    404    401 401  401
award_proposal                 ent  demands:write       401  ok       ok       scope   ok     owner ok     scope  owner  owner  401 401  401
ask_question                   uni  demands:write       401  org_req  org_req  scope   own    ok    ok     scope  ok     ok     401 401  401
list_questions                 ent  demands:write       ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
answer_question                ent  demands:write       401  ok       ok       scope   ok     owner ok     scope  owner  owner  401 401  401
hide_question                  ent  demands:write       401  ok       ok       role    role   role  role   role   role   role   401 401  401
invite_organization            ent  demands:write       401  ok       ok       scope   ok     owner ok     scope  owner  owner  401 401  401
list_demand_invitations        ent  demands:write       401  ok       ok       ok      ok     403   ok     ok     403    403    401 401  401
list_organization_invitations  uni  demands:write       401  ok       ok       ok      403    ok    ok     ok     403    403    401 401  401
create_deal                    ent  deals:write         401  ok       ok       scope   ok     ok    ok     scope  ok     ok     401 401  401
list_deals                     ent  deals:write         401  ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
get_deal                       ent  deals:write         401  ok       ok       ok      ok     ok    ok     ok     404    404    401 401  401
fund_deal                      ent  deals:write         401  ok       ok       role    role   role  role   role   role   role   401 401  401
settle_deal                    ent  deals:write         401  ok       ok       scope   ok     403   ok     scope  404    404    401 401  401
refund_deal                    ent  deals:write         401  ok       ok       role    role   role  role   role   role   role   401 401  401
cancel_deal                    ent  deals:write         401  ok       ok       scope   ok     ok    ok     scope  404    404    401 401  401
get_deal_registration          ent  deals:write         401  ok       ok       ok      ok     ok    ok     ok     404    404    401 401  401
file_deal_registration         ent  deals:write         401  ok       ok       scope   ok     ok    ok     scope  404    404    401 401  401
grant_deal_registration        ent  deals:write         401  ok       ok       role    role   role  role   role   role   role   401 401  401
write_review                   ent  deals:write         401  party    party    scope   ok     ok    ok     scope  404    404    401 401  401
list_deal_reviews              ent  deals:write         401  ok       ok       ok      ok     ok    ok     ok     404    404    401 401  401
list_organization_reviews      uni  deals:write         ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     401 401  401
update_review                  ent  deals:write         401  author   author   scope   ok     404   ok     scope  404    404    401 401  401
hide_review                    ent  deals:write         401  ok       ok       role    role   role  role   role   role   role   401 401  401
unhide_review                  ent  deals:write         401  ok       ok       role    role   role  role   role   role   role   401 401  401
list_registrations             -    ledger:read         401  ok       ok       ok      scope  scope ok     scope  scope  scope  401 401  401
create_payout                  uni  ledger:read         401  ok       ok       role    role   role  role   role   role   role   401 401  401
return_payout                  uni  ledger:read         401  ok       ok       role    role   role  role   role   role   role   401 401  401
list_payouts                   uni  ledger:read         401  ok       ok       ok      scope  scope ok     scope  scope  scope  401 401  401
get_payout                     uni  ledger:read         401  ok       ok       ok      404    ok    ok     ok     404    404    401 401  401
create_tax_remittance          -    ledger:read         401  ok       ok       role    role   role  role   role   role   role   401 401  401
list_tax_remittances           -    ledger:read         401  ok       ok       ok      scope  scope ok     scope  scope  scope  401 401  401
get_organization_balance       uni  ledger:read         401  ok       ok       ok      403    ok    ok     ok     403    403    401 401  401
list_ledger_accounts           -    ledger:read         401  ok       ok       ok      scope  scope ok     scope  scope  scope  401 401  401
get_ledger_account             -    ledger:read         401  ok       ok       ok      scope  scope ok     scope  scope  scope  401 401  401
list_ledger_entries            -    ledger:read         401  ok       ok       ok      scope  scope ok     scope  scope  scope  401 401  401
get_ledger_totals              -    ledger:read         401  ok       ok       ok      scope  scope ok     scope  scope  scope  401 401  401
export_ledger                  -    ledger:read         401  ok       ok       ok      scope  scope ok     scope  scope  scope  401 401  401
verify_ledger                  -    ledger:read         401  ok       ok       ok      scope  scope ok     scope  scope  scope  401 401  401
reverse_ledger_entry           -    ledger:read         401  ok       ok       role    role   role  role   role   role   role   401 401  401
get_stats_overview             -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
healthz                        -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
readyz                         -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
metrics                        -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
redoc_js                       -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
swagger_ui                     -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
redoc                          -    -                   ok   ok       ok       ok      ok     ok    ok     ok     ok     ok     ok  ok   ok
"""
# fmt: on

#: ``PROVE_RECORD=<file>`` writes the table as found there, to review and paste over MATRIX.
RECORD = os.environ.get("PROVE_RECORD")
SPOILED = {"exp": "expired", "tamp": "tampered", "rev": "revoked"}
SCOPES = {scope.value: scope for scope in Scope}


def parse(table: str) -> dict[str, tuple[str, str, dict[str, str]]]:
    lines = [line.split() for line in table.strip().splitlines() if line.strip()]
    header, rows = lines[0], lines[1:]
    assert header[3:] == CALLERS, header
    return {row[0]: (row[1], row[2], dict(zip(CALLERS, row[3:], strict=True))) for row in rows}


#: Operations whose credentials are in the body (a sign-in form, a refresh token), never in
#: the Authorization header: a 401 or 429 answers the example body (an unknown account, a
#: made-up token, the sign-in lockout), not the caller, who got as far as it could.
BODY_CREDENTIAL_OPERATIONS = {"issue_token", "refresh_token", "logout"}
SHORT_CODES = {
    "forbidden_role": "role",
    "missing_scope": "scope",
    "not_owner": "owner",
    "not_member": "member",
    "staff_only": "staff",
    "organization_required": "org_req",
    "no_organization": "no_org",
    "not_your_org": "not_org",
    "own_demand": "own",
    "proposals_sealed": "sealed",
    "not_proposer": "proposer",
    "not_a_party": "party",
    "not_author": "author",
    "forbidden": "403",
}


def label(operation: Operation, response: Response) -> str:
    """What a response says about who asked (see the module's docstring)."""
    status = response.status_code
    if operation.operation_id in BODY_CREDENTIAL_OPERATIONS and status in (401, 429):
        return "ok"
    code = response.json().get("code") if status == 403 else None
    if status in (401, 404):
        return str(status)
    if status == 403:
        return SHORT_CODES.get(code, code or "403")  # a new code shows in full
    if status >= 500:
        return f"5xx:{status}"
    return "ok"


class Caller:
    def __init__(self, world: World) -> None:
        self.world = world
        self._keys: dict[tuple[str, str], dict[str, str]] = {}

    async def headers(self, caller: str, side: str, scope: str) -> dict[str, str]:
        if caller in SPOILED:
            return self.world.headers[SPOILED[caller]]
        if caller == "okey":
            return self.world.headers["other_key"]
        if caller in ("key+", "key-"):
            owner = side if side in self.world.orgs else "ent"
            if caller == "key+":
                scopes = list(Scope)
            elif scope == "-":
                scopes = []
            else:
                scopes = [s for s in Scope if s is not SCOPES[scope]]
            cache = (caller, owner, scope)
            if cache not in self._keys:
                self._keys[cache] = await self.world.key(owner, scopes)  # type: ignore[index]
            return self._keys[cache]  # type: ignore[index]
        return self.world.headers[caller]


async def send(
    client: AsyncClient,
    document: dict[str, Any],
    world: World,
    operation: Operation,
    side: str,
    headers: dict[str, str],
) -> Response:
    path = await world.path_of(client, operation, side)
    sent = {**headers}
    if operation.method != "GET":
        sent["Idempotency-Key"] = str(uuid.uuid4())
    media = operation.body_media()
    if media is None:
        return await client.request(
            operation.method, path, headers=sent, params=operation.required_query()
        )
    content_type, _ = media
    body = world.body_for(document, operation)
    if content_type == "application/x-www-form-urlencoded":
        return await client.request(operation.method, path, headers=sent, data=body)
    return await client.request(operation.method, path, headers=sent, json=body)


def format_table(
    rows: dict[str, tuple[str, str, dict[str, str]]],
    found: dict[str, dict[str, str]],
    operations: list[Operation],
) -> str:
    table = [["operation", "side", "scope", *CALLERS]]
    for operation in operations:
        side, scope, _ = rows.get(operation.operation_id, ("-", "-", {}))
        table.append(
            [
                operation.operation_id,
                side,
                scope,
                *(found[operation.operation_id][n] for n in CALLERS),
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "\n".join(
        " ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    )


def test_every_route_has_a_row(app: FastAPI) -> None:
    rows = parse(MATRIX)
    names = {op.operation_id for op in all_operations(app)}
    assert not names - rows.keys(), f"routes without a row in MATRIX: {sorted(names - rows.keys())}"
    assert not rows.keys() - names, f"rows of no route: {sorted(rows.keys() - names)}"


async def test_each_caller_gets_the_documented_answer(
    app: FastAPI, client: AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    world = await build_world(client, session, settings)
    document = app.openapi()
    operations = all_operations(app)
    rows = parse(MATRIX)
    caller = Caller(world)
    cells: list[tuple[Operation, str, str, str, str]] = []  # op, side, scope, caller, expected
    for operation in operations:
        side, scope, expected = rows.get(operation.operation_id, ("-", "-", {}))
        for name in CALLERS:
            cells.append((operation, side, scope, name, expected.get(name, "?")))
    # Refusals first: nothing an allowed caller changes may explain one.
    cells.sort(key=lambda cell: cell[4] == "ok" or cell[4] == "?")

    found: dict[str, dict[str, str]] = {op.operation_id: {} for op in operations}
    wrong: list[str] = []
    before = await row_counts(session)
    created = world.created.copy()
    refusals = sum(1 for cell in cells if cell[4] not in ("ok", "?"))
    for index, (operation, side, scope, name, expected) in enumerate(cells):
        if index == refusals:  # every refusal sent: none of them may have written anything
            after = await row_counts(session)
            made = world.created - created  # what the harness added meanwhile
            written = {t: (before[t], n) for t, n in after.items() if before[t] + made[t] != n}
            assert not written, f"refused requests wrote rows: {written}"
        response = await send(
            client, document, world, operation, side, await caller.headers(name, side, scope)
        )
        got = label(operation, response)
        found[operation.operation_id][name] = got
        if got != expected:
            wrong.append(
                f"{operation.operation_id} ({operation.method} {operation.path}) as {name}: "
                f"expected {expected}, got {response.status_code} {response.text[:200]}"
            )
    if RECORD:
        Path(RECORD).write_text(format_table(rows, found, operations) + "\n")
    assert not wrong, "\n".join(wrong)
