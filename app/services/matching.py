"""Matchmaking (issue 14): the catalog items that fit a demand, and the open demands that fit a
provider, ranked on the search index and explained by the numbers that ranked them.

**The query is the other side's own search text.** A demand is matched by the tokens its
``search_title``/``search_body`` already hold (app/core/search.py: CJK bigrams, words), never
by a second copy of its text: every distinct token is a clause of one OR query, its weight
:data:`TITLE_WEIGHT` when it is in the demand's title, 1 in the body; and every two adjacent
bigrams of a run (a three-character substring: 盾构机) are a phrase clause weighing
:data:`PHRASE_WEIGHT` more, so that a shared word ranks above two scattered characters.
Boilerplate every enterprise writes (需要, 我司, 合作 …, :data:`STOP_TOKENS`) is left out.
tantivy scores the query by BM25 (title ×3 in the item, as every search), so a rare shared
word counts far more than a common one.

**Then the fit.** The text score of each of the first :data:`CANDIDATES` hits is multiplied by
the factors a broker would weigh, each shown in ``reasons`` with its value (in basis points,
as the house writes rates: 13,000 is ×1.3):

- field: the item's ``field`` is the demand's, ×1.3 (:data:`FIELD_FIT_BP`);
- TRL (technologies): ×(1 + 0.03 × (trl − 5)), 0.88 at TRL 1 to 1.12 at TRL 9;
- budget (technologies' price, financial products' amount, against the demand's budget):
  a range wholly above the budget ×0.5, wholly below ×0.8,
  overlapping ×1. Only when the caller may see the budget (demands.present): a budget withheld
  from the caller neither ranks nor shows.

``score`` = text × field × TRL × budget, rounded to 4 places; ties by type, then id, so the
order is the same on every call and both backends (they feed the index the same rows).

A provider's matched demands run the same way the other way round: the query is the tokens of
its published listings (technologies, talents, IP assets, financial products; a service
provider's own profile), summed over them and damped (log), the :data:`PROVIDER_TOKENS`
heaviest kept.

Every showing is recorded once per (demand, provider) pair (:class:`MatchImpression`), for
the statistics' matches shown and introductions (app/services/stats.py).
"""

import asyncio
import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import tantivy
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import filters, search_index
from app.core.calendar import utcnow
from app.core.errors import FieldError, Forbidden, ValidationFailed
from app.core.security import Principal, PrincipalKind, Role
from app.models.catalog import CatalogStatus
from app.models.demands import Demand, DemandKind, DemandStatus
from app.models.matching import MatchImpression
from app.models.orgs import Organization, OrganizationKind
from app.services import catalog, financial_products, ip_assets, talents, technologies
from app.services import demands as demands_service
from app.services import orgs as orgs_service
from app.services.catalog import CatalogIndexes, CatalogQuery, CatalogSpec, Redacted


class MatchType(StrEnum):
    technologies = "technologies"
    talents = "talents"
    ip_assets = "ip_assets"
    financial_products = "financial_products"
    organizations = "organizations"
    """Service-provider organizations (service demands)."""


#: The kinds of items that fit each kind of demand, in the order ties are broken.
FITTING: Mapping[DemandKind, tuple[MatchType, ...]] = {
    DemandKind.technology: (MatchType.technologies, MatchType.talents, MatchType.ip_assets),
    DemandKind.financing: (MatchType.financial_products,),
    DemandKind.talent: (MatchType.talents,),
    DemandKind.service: (MatchType.organizations,),
    DemandKind.challenge: (MatchType.technologies, MatchType.talents, MatchType.ip_assets),
}

SPECS: Mapping[MatchType, CatalogSpec[Any]] = {
    MatchType.technologies: technologies.SPEC,
    MatchType.talents: talents.SPEC,
    MatchType.ip_assets: ip_assets.SPEC,
    MatchType.financial_products: financial_products.SPEC,
}
_TYPE_ORDER = {kind: position for position, kind in enumerate(MatchType)}

TITLE_WEIGHT = 2.0
"""A token of the demand's title against one of its body."""
PHRASE_WEIGHT = 1.5
"""Two adjacent bigrams found side by side (a three-character word) against apart."""
#: The fit factors, in basis points as the house writes rates (10,000 = ×1).
FIELD_FIT_BP = 13_000
TRL_STEP_BP = 300
ABOVE_BUDGET_BP = 5_000
BELOW_BUDGET_BP = 8_000
NEUTRAL_BP = 10_000
CANDIDATES = 100
"""Hits per type taken from the index before the fit factors reorder them."""
MAX_QUERY_TOKENS = 400
PROVIDER_TOKENS = 300
MAX_TERMS_SHOWN = 12

#: Words every demand is written with and that say nothing of what it needs.
STOP_TOKENS = frozenset(
    """我司 公司 本司 企业 需要 需求 希望 寻求 寻找 要求 目前 现有 现在 主要 进行 能够 相关 提供
    合作 解决 问题 项目 我们 一个 以上 以及 或者 并且 可以 具有 具备 其中 方面 方式 情况 工作
    有限 限公 责任 任公 股份 份有 研发 开发 技术 产品 服务 单位 拟于 万元 预算 左右 以内 用于
    实现 提高 提升 降低 为了 通过 对于 方案 帮助 支持 对接 引进""".split()
)

#: Characters that join or end words (的, 和, 与 …): a bigram holding one straddles two words.
PARTICLES = frozenset("的了和与及等是之而被把并或")


# --- what a match is ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Owner:
    id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class FieldFit:
    demand_field: str | None
    item_field: str | None
    same: bool
    factor_bp: int


@dataclass(frozen=True, slots=True)
class TrlFit:
    trl: int
    factor_bp: int


class BudgetVerdict(StrEnum):
    within = "within"
    above = "above"
    below = "below"
    unknown = "unknown"


@dataclass(frozen=True, slots=True)
class BudgetFit:
    fit: BudgetVerdict
    item_min: int | None
    """The item's price (technologies) or amount (financial products), lower end, fen."""
    item_max: int | None
    budget_min: int | None
    budget_max: int | None
    factor_bp: int


@dataclass(frozen=True, slots=True)
class TextFit:
    score: float
    """BM25 of the query's tokens in the item (tantivy), before the fit factors."""
    matched_terms: list[str]


@dataclass(frozen=True, slots=True)
class Reasons:
    text: TextFit
    field: FieldFit | None
    trl: TrlFit | None
    budget: BudgetFit | None
    owner: Owner


@dataclass(frozen=True, slots=True)
class Match:
    type: str
    item: Any
    score: float
    reasons: Reasons


@dataclass(frozen=True, slots=True)
class DemandMatches:
    demand_id: uuid.UUID
    items: list[Match]


@dataclass(frozen=True, slots=True)
class DemandMatch:
    item: Any
    score: float
    reasons: Reasons


@dataclass(frozen=True, slots=True)
class MatchedDemands:
    organization_id: uuid.UUID
    items: list[DemandMatch]


# --- the query ----------------------------------------------------------------------------


def _is_cjk_bigram(token: str) -> bool:
    return len(token) == 2 and all("\u3400" <= char <= "\ufaff" for char in token)


def _useful(token: str) -> bool:
    """A token worth matching on: a CJK bigram or a word of two characters or more, not a
    stop word, and not a bigram across two words at a particle (的问 of 的问题, 和在)."""
    if len(token) < 2 or token in STOP_TOKENS:
        return False
    return not (_is_cjk_bigram(token) and (token[0] in PARTICLES or token[1] in PARTICLES))


def _phrases(tokens: Sequence[str]) -> list[tuple[str, str]]:
    """Adjacent bigrams of one CJK run (``盾构 构机`` → 盾构机), as the token stream holds them."""
    return [
        (first, second)
        for first, second in zip(tokens, tokens[1:], strict=False)
        if _is_cjk_bigram(first) and _is_cjk_bigram(second) and first[1] == second[0]
    ]


@dataclass(frozen=True, slots=True)
class TextQuery:
    """The weighted tokens and phrases a side is matched by."""

    tokens: dict[str, float]
    phrases: dict[tuple[str, str], float]

    @property
    def empty(self) -> bool:
        return not self.tokens

    def index_query(self, layout: search_index.IndexLayout) -> Any:
        """One OR query: each token and phrase in the item's title (×3) or body, weighed."""
        schema, query = layout.schema, tantivy.Query
        should = tantivy.Occur.Should

        def anywhere(make: Any) -> Any:
            return query.boolean_query(
                [
                    (should, query.boost_query(make(search_index.TITLE), search_index.TITLE_BOOST)),
                    (should, make(search_index.BODY)),
                ]
            )

        clauses = []
        for token, weight in sorted(self.tokens.items()):
            term = anywhere(lambda name, t=token: query.term_query(schema, name, t))
            clauses.append((should, query.boost_query(term, weight)))
        for pair, weight in sorted(self.phrases.items()):
            phrase = anywhere(lambda name, p=pair: query.phrase_query(schema, name, list(p)))
            clauses.append((should, query.boost_query(phrase, weight * PHRASE_WEIGHT)))
        return query.boolean_query(clauses)


def demand_query(search_title: str, search_body: str) -> TextQuery:
    """A demand's query from its own search text: title tokens weigh TITLE_WEIGHT."""
    tokens: dict[str, float] = {}
    phrases: dict[tuple[str, str], float] = {}
    for text, weight in ((search_body, 1.0), (search_title, TITLE_WEIGHT)):
        stream = text.split()
        for token in stream:
            if _useful(token):
                tokens[token] = max(tokens.get(token, 0.0), weight)
        for pair in _phrases(stream):
            if pair[0] not in STOP_TOKENS or pair[1] not in STOP_TOKENS:
                phrases[pair] = max(phrases.get(pair, 0.0), weight)
    kept = sorted(tokens.items(), key=lambda entry: (-entry[1], entry[0]))[:MAX_QUERY_TOKENS]
    return TextQuery(tokens=dict(kept), phrases=phrases)


def provider_query(texts: Iterable[tuple[str, str]]) -> TextQuery:
    """A provider's query from the search text of its listings: each token's weight summed
    over them (title ×TITLE_WEIGHT) and damped, the PROVIDER_TOKENS heaviest kept."""
    tokens: dict[str, float] = {}
    phrases: dict[tuple[str, str], float] = {}
    for title, body in texts:
        for text, weight in ((title, TITLE_WEIGHT), (body, 1.0)):
            stream = text.split()
            for token in set(stream):
                if _useful(token):
                    tokens[token] = tokens.get(token, 0.0) + weight
            for pair in set(_phrases(stream)):
                phrases[pair] = phrases.get(pair, 0.0) + weight
    damped = {token: 1.0 + math.log(weight) for token, weight in tokens.items()}
    kept = dict(sorted(damped.items(), key=lambda e: (-e[1], e[0]))[:PROVIDER_TOKENS])
    kept_phrases = {
        pair: 1.0 + math.log(weight)
        for pair, weight in phrases.items()
        if pair[0] in kept and pair[1] in kept
    }
    return TextQuery(tokens=kept, phrases=kept_phrases)


def matched_terms(query: TextQuery, stream: Sequence[str], found: set[str]) -> list[str]:
    """The query's tokens the item holds, as a person reads them: adjacent bigrams of the
    query's own text joined back into words (盾构 构机 → 盾构机), longest first."""
    words: list[str] = []
    run: list[str] = []

    def close() -> None:
        if run:
            words.append(run[0] + "".join(token[1] for token in run[1:]))
            run.clear()

    for token in stream:
        hit = token in query.tokens and token in found
        if hit and _is_cjk_bigram(token) and run and run[-1][1] == token[0]:
            run.append(token)
            continue
        close()
        if hit:
            run.append(token)
    close()
    unique = list(dict.fromkeys(words))
    return sorted(unique, key=lambda word: (-len(word), unique.index(word)))[:MAX_TERMS_SHOWN]


# --- the fit ------------------------------------------------------------------------------


def budget_fit(
    low: int | None, high: int | None, budget_min: int | None, budget_max: int | None
) -> BudgetFit:
    """How an item's range [low, high] sits against the budget [budget_min, budget_max]."""
    verdict = BudgetVerdict.unknown
    if (low is not None or high is not None) and (budget_min is not None or budget_max is not None):
        if low is not None and budget_max is not None and low > budget_max:
            verdict = BudgetVerdict.above
        elif high is not None and budget_min is not None and high < budget_min:
            verdict = BudgetVerdict.below
        else:
            verdict = BudgetVerdict.within
    factor_bp = {BudgetVerdict.above: ABOVE_BUDGET_BP, BudgetVerdict.below: BELOW_BUDGET_BP}.get(
        verdict, NEUTRAL_BP
    )
    return BudgetFit(verdict, low, high, budget_min, budget_max, factor_bp)


def field_fit(demand_field: str | None, item_field: str | None) -> FieldFit | None:
    if demand_field is None or item_field is None:
        return None
    same = demand_field == item_field
    return FieldFit(demand_field, item_field, same, FIELD_FIT_BP if same else NEUTRAL_BP)


def trl_fit(trl: int) -> TrlFit:
    return TrlFit(trl, NEUTRAL_BP + TRL_STEP_BP * (trl - 5))


def _score(text: float, *fits: FieldFit | TrlFit | BudgetFit | None) -> float:
    score = text
    for fit in fits:
        if fit is not None:
            score *= fit.factor_bp / NEUTRAL_BP
    return round(score, 4)


# --- shared pieces ------------------------------------------------------------------------


async def _search_text(
    session: AsyncSession, model: Any, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    """The search text (title and body tokens) of these rows, by id."""
    if not ids:
        return {}
    rows = await session.execute(
        select(model.id, model.search_title, model.search_body).where(model.id.in_(list(ids)))
    )
    return {row.id: (row.search_title or "", row.search_body or "") for row in rows.all()}


async def _owners(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Owner]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = await session.execute(
        select(Organization.id, Organization.name).where(Organization.id.in_(wanted))
    )
    return {row.id: Owner(row.id, row.name) for row in rows.all()}


async def _ranked(
    snapshot: search_index.Snapshot, text: TextQuery, condition: filters.Filter
) -> search_index.Hits:
    query = search_index.and_query(text.index_query(snapshot.layout), snapshot.query(condition))
    return await asyncio.to_thread(
        snapshot.hits, query, sort=search_index.SortKey(), offset=0, limit=CANDIDATES
    )


async def record_impressions(
    session: AsyncSession, pairs: Iterable[tuple[uuid.UUID, uuid.UUID]], at: datetime
) -> None:
    """Remember that each (demand, provider) pair was shown, the first time only."""
    rows = [
        {"demand_id": demand_id, "organization_id": org, "first_shown_at": at}
        for demand_id, org in sorted(set(pairs))
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(
        insert(MatchImpression)
        .values(rows)
        .on_conflict_do_nothing(
            index_elements=[MatchImpression.demand_id, MatchImpression.organization_id]
        )
    )


def _budget_shown(demand: Demand, principal: Principal | None) -> bool:
    return not isinstance(demands_service.present(demand, principal), Redacted)


# --- matches for a demand -----------------------------------------------------------------


def _fitting_types(kind: DemandKind, asked: Sequence[MatchType] | None) -> tuple[MatchType, ...]:
    fitting = FITTING[kind]
    if not asked:
        return fitting
    wrong = [kind_.value for kind_ in asked if kind_ not in fitting]
    if wrong:
        allowed = ", ".join(kind_.value for kind_ in fitting)
        raise ValidationFailed(
            f"A {kind.value} demand is matched with {allowed} only, not {', '.join(wrong)}.",
            code="match_type_not_fitting",
            errors=[
                FieldError(loc=["query", "types"], message=f"one of {allowed}", type="not_fitting")
            ],
        )
    return tuple(kind_ for kind_ in fitting if kind_ in asked)


def _item_fits(
    kind: MatchType, item: Any, demand: Demand, budget: bool
) -> tuple[FieldFit | None, TrlFit | None, BudgetFit | None]:
    field = field_fit(demand.field, getattr(item, "field", None))
    trl = trl_fit(item.trl) if kind is MatchType.technologies else None
    fit = None
    if budget and kind is MatchType.technologies:
        fit = budget_fit(item.price_min, item.price_max, demand.budget_min, demand.budget_max)
    elif budget and kind is MatchType.financial_products:
        fit = budget_fit(item.amount_min, item.amount_max, demand.budget_min, demand.budget_max)
    return field, trl, fit


async def match_demand(
    session: AsyncSession,
    *,
    index: CatalogIndexes,
    principal: Principal | None,
    demand_id: uuid.UUID,
    types: Sequence[MatchType] | None = None,
    limit: int = 20,
) -> DemandMatches:
    """The published items that best fit a demand the caller may see (404 otherwise), of
    the kinds that fit its kind (``types`` narrows them), best first, each explained."""
    demand = await demands_service.visible_demand(session, principal, demand_id)
    kinds = _fitting_types(demand.kind, types)
    (title, body) = (await _search_text(session, Demand, [demand.id]))[demand.id]
    text = demand_query(title, body)
    if text.empty:
        return DemandMatches(demand_id=demand.id, items=[])
    now = utcnow()
    budget = _budget_shown(demand, principal)
    names = [orgs_service.INDEX_NAME if k is MatchType.organizations else k.value for k in kinds]
    snapshots = await index.named_snapshots(names)
    scored: list[tuple[float, int, str, Match]] = []
    pending: list[tuple[MatchType, Any, float]] = []
    for kind, snapshot in zip(kinds, snapshots, strict=True):
        if kind is MatchType.organizations:
            condition: filters.Filter = filters.OneOf("kind", (OrganizationKind.service_provider,))
            hits = await _ranked(snapshot, text, condition)
            organizations = await session.scalars(
                select(Organization).where(Organization.id.in_(hits.ids))
            )
            by_id = {org.id: org for org in organizations.all() if org.id != demand.owner_id}
            items = [by_id[i] for i in hits.ids if i in by_id]
        else:
            spec = SPECS[kind]
            condition = filters.all_of(
                catalog.list_filter(spec, principal, CatalogQuery(), now),
                filters.Not(filters.OneOf("owner_id", (demand.owner_id,))),
            )
            hits = await _ranked(snapshot, text, condition)
            items = await catalog.read_back(session, index.db, spec, condition, hits.ids)
        score_of = dict(zip(hits.ids, hits.scores, strict=True))
        pending += [(kind, item, score_of[item.id]) for item in items]
    tokens: dict[uuid.UUID, tuple[str, str]] = {}
    for kind in kinds:
        model = Organization if kind is MatchType.organizations else SPECS[kind].model
        ids = [item.id for k, item, _ in pending if k is kind]
        tokens.update(await _search_text(session, model, ids))
    owners = await _owners(
        session,
        (item.id if k is MatchType.organizations else item.owner_id for k, item, _ in pending),
    )
    demand_stream = (title + " " + body).split()
    for kind, item, text_score in pending:
        field, trl, fit = _item_fits(kind, item, demand, budget)
        item_title, item_body = tokens.get(item.id, ("", ""))
        found = set(item_title.split()) | set(item_body.split())
        owner = owners[item.id if kind is MatchType.organizations else item.owner_id]
        reasons = Reasons(
            text=TextFit(round(text_score, 4), matched_terms(text, demand_stream, found)),
            field=field,
            trl=trl,
            budget=fit,
            owner=owner,
        )
        score = _score(text_score, field, trl, fit)
        shown = (
            item
            if kind is MatchType.organizations
            else catalog.present(SPECS[kind], item, principal)
        )
        match = Match(type=kind.value, item=shown, score=score, reasons=reasons)
        scored.append((-score, _TYPE_ORDER[kind], str(item.id), match))
    scored.sort(key=lambda entry: entry[:3])
    chosen = [match for *_, match in scored[:limit]]
    await record_impressions(
        session, ((demand.id, match.reasons.owner.id) for match in chosen), now
    )
    return DemandMatches(demand_id=demand.id, items=chosen)


# --- matches for a provider ---------------------------------------------------------------


def _as_member(organization_id: uuid.UUID) -> Principal:
    """Who the provider is when demands are matched for it: a member of it (what it may see
    is what its members may see)."""
    return Principal(
        kind=PrincipalKind.user,
        id=organization_id,
        role=Role.member,
        organization_id=organization_id,
    )


@dataclass(frozen=True, slots=True)
class _Provider:
    texts: list[tuple[str, str]]
    fields: set[str]
    ranges: list[tuple[int | None, int | None]]
    """Price ranges of its technologies, amount ranges of its financial products (fen)."""


async def _provider_listings(session: AsyncSession, organization: Organization) -> _Provider:
    """The search text, fields and priced ranges of the organization's published listings
    (and its own profile, for a service provider)."""
    texts: list[tuple[str, str]] = []
    fields: set[str] = set()
    ranges: list[tuple[int | None, int | None]] = []
    for kind, spec in SPECS.items():
        model = spec.model
        columns = [model.search_title, model.search_body]
        if hasattr(model, "field"):
            columns.append(model.field)
        if kind is MatchType.technologies:
            columns += [model.price_min, model.price_max]
        if kind is MatchType.financial_products:
            columns += [model.amount_min, model.amount_max]
        rows = await session.execute(
            select(*columns)
            .where(model.owner_id == organization.id, model.status == CatalogStatus.published)
            .order_by(model.id)
        )
        for row in rows.all():
            texts.append((row[0] or "", row[1] or ""))
            if hasattr(model, "field") and row[2]:
                fields.add(row[2])
            if kind in (MatchType.technologies, MatchType.financial_products):
                ranges.append((row[-2], row[-1]))
    if organization.kind is OrganizationKind.service_provider:
        texts += (await _search_text(session, Organization, [organization.id])).values()
    return _Provider(texts, fields, ranges)


def _provider_budget(provider: _Provider, demand: Demand) -> BudgetFit | None:
    """The demand's budget against the provider's priced listings: within when any overlaps,
    above (below) when all lie above (below) it."""
    if not provider.ranges:
        return None
    fits = [
        budget_fit(low, high, demand.budget_min, demand.budget_max) for low, high in provider.ranges
    ]
    known = [fit for fit in fits if fit.fit is not BudgetVerdict.unknown]
    if not known:
        return fits[0]
    within = [fit for fit in known if fit.fit is BudgetVerdict.within]
    if within:
        return within[0]
    if all(fit.fit is BudgetVerdict.above for fit in known):
        return min(known, key=lambda fit: fit.item_min or 0)
    if all(fit.fit is BudgetVerdict.below for fit in known):
        return max(known, key=lambda fit: fit.item_max or 0)
    return known[0]


async def match_provider(
    session: AsyncSession,
    *,
    index: CatalogIndexes,
    principal: Principal,
    organization_id: uuid.UUID,
    limit: int = 20,
) -> MatchedDemands:
    """The open demands that best fit an organization, from its own published listings (its
    members, and staff)."""
    organization = await orgs_service.get_organization(session, organization_id=organization_id)
    if not principal.acts_for(organization.id):
        raise Forbidden(
            "Only the organization's members (or an operator) see its matched demands.",
            code="not_member",
        )
    provider = await _provider_listings(session, organization)
    text = provider_query(provider.texts)
    if text.empty:
        return MatchedDemands(organization_id=organization.id, items=[])
    now = utcnow()
    spec = demands_service.SPEC
    condition = filters.all_of(
        demands_service.visible_condition(_as_member(organization.id)),
        spec.workflow.status_filter([DemandStatus.open], now),
        filters.Not(filters.OneOf("owner_id", (organization.id,))),
    )
    (snapshot,) = await index.snapshots([spec])
    hits = await _ranked(snapshot, text, condition)
    found = await catalog.read_back(session, index.db, spec, condition, hits.ids)
    score_of = dict(zip(hits.ids, hits.scores, strict=True))
    tokens = await _search_text(session, Demand, [demand.id for demand in found])
    owners = await _owners(session, (demand.owner_id for demand in found))
    scored: list[tuple[float, str, DemandMatch]] = []
    for demand in found:
        demand_title, demand_body = tokens.get(demand.id, ("", ""))
        stream = (demand_title + " " + demand_body).split()
        field = None
        if demand.field is not None and provider.fields:
            same = demand.field in provider.fields
            field = FieldFit(
                demand.field,
                demand.field if same else sorted(provider.fields)[0],
                same,
                FIELD_FIT_BP if same else NEUTRAL_BP,
            )
        fit = _provider_budget(provider, demand) if _budget_shown(demand, principal) else None
        text_score = score_of[demand.id]
        reasons = Reasons(
            text=TextFit(round(text_score, 4), matched_terms(text, stream, set(text.tokens))),
            field=field,
            trl=None,
            budget=fit,
            owner=owners[demand.owner_id],
        )
        score = _score(text_score, field, fit)
        shown = DemandMatch(
            item=demands_service.present(demand, principal), score=score, reasons=reasons
        )
        scored.append((-score, str(demand.id), shown))
    scored.sort(key=lambda entry: entry[:2])
    chosen = [match for *_, match in scored[:limit]]
    await record_impressions(session, ((match.item.id, organization.id) for match in chosen), now)
    return MatchedDemands(organization_id=organization.id, items=chosen)
