"""All tables, imported so that ``Base.metadata`` knows every one of them."""

from app.models.auth import ApiKey, RefreshToken, User
from app.models.base import Base
from app.models.catalog import CatalogGeneration, CatalogHistory, CatalogStatus
from app.models.deals import Deal, DealMilestone, DealRegistration
from app.models.demands import (
    Demand,
    DemandInvitation,
    DemandQuestion,
    Proposal,
    ProposalRevision,
)
from app.models.financial_products import FinancialProduct
from app.models.idempotency import IdempotencyRecord
from app.models.ip_assets import IPAsset
from app.models.ledger import JournalEntry, LedgerAccount, LedgerBalance, LedgerChain, Posting
from app.models.matching import MatchImpression
from app.models.orgs import Organization, OrganizationKind
from app.models.payouts import Payout, PayoutStatus, TaxRemittance
from app.models.policies import Policy
from app.models.ratelimit import RateLimitBucket
from app.models.reviews import Review, ReviewSide
from app.models.subscriptions import DeliveryAttempt, Event, OutboxEntry, Subscription
from app.models.talents import Talent
from app.models.technologies import Technology

__all__ = [
    "ApiKey",
    "Base",
    "CatalogGeneration",
    "CatalogHistory",
    "CatalogStatus",
    "Deal",
    "DeliveryAttempt",
    "DealMilestone",
    "DealRegistration",
    "Demand",
    "DemandInvitation",
    "DemandQuestion",
    "Event",
    "Proposal",
    "ProposalRevision",
    "IdempotencyRecord",
    "JournalEntry",
    "LedgerAccount",
    "LedgerBalance",
    "LedgerChain",
    "MatchImpression",
    "Posting",
    "FinancialProduct",
    "IPAsset",
    "Policy",
    "Talent",
    "TaxRemittance",
    "Technology",
    "Organization",
    "Payout",
    "PayoutStatus",
    "OutboxEntry",
    "OrganizationKind",
    "RateLimitBucket",
    "RefreshToken",
    "Review",
    "ReviewSide",
    "Subscription",
    "User",
]
