"""What the site holds about one person (GDPR art. 15 and 20): their own data, as JSON-ready
dictionaries, and the reasons an erasure must wait. Reads only; a fixed number of queries
whatever the size of the account (one per kind of record, prefetched)."""

from dataclasses import dataclass

from django.apps import apps
from django.db.models import Prefetch, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from marketplace.models import (
    Bid,
    BidMessage,
    BidStatus,
    ClientProfile,
    Contract,
    ContractStatus,
    Dispute,
    DisputeEvidence,
    DisputeStatus,
    Job,
    JobStatus,
    MemberProfile,
    Notification,
    Review,
    User,
)
from matching.models import MemberLanguage, SkillClaim, SkillDecision

EXPORT_FORMAT = "sirius-personal-data/1"


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _profile_of(user: User, name: str):
    try:
        return getattr(user, name)
    except (ClientProfile.DoesNotExist, MemberProfile.DoesNotExist):
        return None


def _account(user: User) -> dict:
    return {
        "email": user.email,
        "full_name": user.full_name,
        "roles": list(user.roles),
        "site_language": user.language,
        "date_joined": _iso(user.date_joined),
        "last_login": _iso(user.last_login),
    }


def _client_profile(profile: ClientProfile | None) -> dict | None:
    if profile is None:
        return None
    return {
        "kind": profile.kind,
        "organisation_name": profile.organisation_name,
        "vat_number": profile.vat_number,
        "street": profile.street,
        "postal_code": profile.postal_code,
        "city": profile.city,
        "country": profile.country,
        "preferred_languages": [language.code for language in profile.preferred_languages.all()],
    }


def _member_profile(profile: MemberProfile | None) -> dict | None:
    if profile is None:
        return None
    return {
        "display_name": profile.display_name,
        "bio": profile.bio,
        "portfolio_links": profile.portfolio_links,
        "hourly_rate_cents": profile.hourly_rate_cents,
        "availability": profile.availability,
        "hours_per_week": profile.hours_per_week,
        "iban": profile.iban,
        "membership_status": profile.membership_status,
        "membership_since": _iso(profile.membership_since),
        "job_alerts_by_email": profile.job_alerts_by_email,
    }


def _languages(profile: MemberProfile | None) -> list[dict]:
    if profile is None:
        return []
    rows = MemberLanguage.objects.filter(member=profile).select_related("language")
    return [
        {
            "language": row.language.code,
            "level": row.level,
            "validated_level": row.validated_level,
        }
        for row in rows
    ]


def _skills(profile: MemberProfile | None) -> list[dict]:
    if profile is None:
        return []
    claims = (
        SkillClaim.objects.filter(member=profile)
        .select_related("skill")
        .prefetch_related(
            "links",
            "files",
            Prefetch("decisions", queryset=SkillDecision.objects.order_by("decided_at", "pk")),
        )
        .order_by("pk")
    )
    return [
        {
            "skill": claim.skill.label_en,
            "self_level": claim.self_level,
            "description": claim.description,
            "status": claim.status,
            "validated_level": claim.validated_level,
            "links": [link.url for link in claim.links.all()],
            "files": [
                {"name": f.original_name, "type": f.content_type, "size": f.size}
                for f in claim.files.all()
            ],
            "decisions": [
                {
                    "decision": decision.kind,
                    "level": decision.level,
                    "comment": decision.comment,
                    "at": _iso(decision.decided_at),
                }
                for decision in claim.decisions.all()
            ],
        }
        for claim in claims
    ]


def _jobs(user: User) -> list[dict]:
    jobs = Job.objects.filter(client=user).prefetch_related("attachments").order_by("pk")
    return [
        {
            "id": job.pk,
            "title": job.title,
            "description": job.description,
            "status": job.status,
            "category": job.category,
            "budget_cents": job.budget_cents,
            "commune": job.commune,
            "created_at": _iso(job.created_at),
            "attachments": [attachment.original_name for attachment in job.attachments.all()],
        }
        for job in jobs
    ]


def _bids(profile: MemberProfile | None) -> list[dict]:
    if profile is None:
        return []
    bids = (
        Bid.objects.filter(member=profile)
        .select_related("job")
        .prefetch_related("milestones")
        .order_by("pk")
    )
    return [
        {
            "id": bid.pk,
            "job": bid.job.title,
            "status": bid.status,
            "price_cents": bid.price_cents,
            "start_date": _iso(bid.start_date),
            "message": bid.cover_message,
            "milestones": [
                {"title": m.title, "amount_cents": m.amount_cents, "due": _iso(m.due_date)}
                for m in bid.milestones.all()
            ],
            "created_at": _iso(bid.created_at),
        }
        for bid in bids
    ]


def _threads_of(user: User, profile: MemberProfile | None) -> Q:
    """The bids whose conversation this person takes part in: their own bids, and bids on
    their jobs."""
    condition = Q(bid__job__client=user)
    if profile is not None:
        condition |= Q(bid__member=profile)
    return condition


def _messages(user: User, profile: MemberProfile | None) -> list[dict]:
    rows = (
        BidMessage.objects.filter(_threads_of(user, profile))
        .select_related("bid__job")
        .order_by("created_at", "pk")
    )
    return [
        {
            "bid": message.bid_id,
            "job": message.bid.job.title,
            "from_me": message.sender_id == user.pk,
            "body": message.body,
            "at": _iso(message.created_at),
        }
        for message in rows
    ]


def _contracts(user: User, profile: MemberProfile | None) -> list[dict]:
    condition = Q(client=user)
    if profile is not None:
        condition |= Q(member=profile)
    contracts = (
        Contract.objects.filter(condition)
        .select_related("job")
        .prefetch_related("milestones__deliveries__files")
        .order_by("pk")
    )
    return [
        {
            "id": contract.pk,
            "job": contract.job.title,
            "my_side": "client" if contract.client_id == user.pk else "member",
            "status": contract.status,
            "total_cents": contract.total_cents,
            "created_at": _iso(contract.created_at),
            "milestones": [
                {
                    "title": milestone.title,
                    "amount_cents": milestone.amount_cents,
                    "status": milestone.status,
                    "deliveries": [
                        {
                            "message": delivery.message,
                            "links": delivery.links,
                            "files": [f.original_name for f in delivery.files.all()],
                        }
                        for delivery in milestone.deliveries.all()
                    ],
                }
                for milestone in contract.milestones.all()
            ],
        }
        for contract in contracts
    ]


def _reviews(user: User) -> dict:
    given = Review.objects.filter(author=user).select_related("contract__job").order_by("pk")
    # Only published reviews of them: an unpublished one is still hidden from its subject.
    received = (
        Review.objects.filter(subject=user, published_at__isnull=False)
        .select_related("contract__job")
        .order_by("pk")
    )

    def row(review: Review) -> dict:
        return {
            "job": review.contract.job.title,
            "rating": review.rating,
            "text": review.text,
            "written": _iso(review.created_at),
            "published": _iso(review.published_at),
        }

    return {"given": [row(r) for r in given], "received": [row(r) for r in received]}


def _notifications(user: User) -> list[dict]:
    rows = Notification.objects.filter(user=user).order_by("created_at", "pk")
    return [
        {"message": n.message, "link": n.url, "at": _iso(n.created_at), "read": _iso(n.read_at)}
        for n in rows
    ]


def _invoices(user: User) -> list[dict]:
    from payments.models import Invoice

    rows = Invoice.objects.filter(client=user).order_by("year", "sequence_number")
    return [
        {
            "number": invoice.number,
            "kind": invoice.kind,
            "issued": _iso(invoice.issue_date),
            "net_cents": invoice.net_cents,
            "vat_cents": invoice.vat_cents,
            "gross_cents": invoice.gross_cents,
            "paid_on": _iso(invoice.paid_on),
        }
        for invoice in rows
    ]


def _payments(user: User) -> list[dict]:
    from payments.models import Payment

    rows = Payment.objects.filter(client=user).order_by("pk")
    return [
        {
            "method": payment.method,
            "status": payment.status,
            "gross_cents": payment.gross_cents,
            "refunded_cents": payment.refunded_cents,
            "at": _iso(payment.created_at),
        }
        for payment in rows
    ]


def _payouts(profile: MemberProfile | None) -> list[dict]:
    if profile is None:
        return []
    from payments.models import PayoutLine

    rows = PayoutLine.objects.filter(member=profile).select_related("batch").order_by("pk")
    return [
        {
            "amount_cents": line.amount_cents,
            "status": line.status,
            "rail": line.batch.rail,
            "iban": line.iban,
            "reference": line.end_to_end_id,
            "at": _iso(line.batch.created_at),
        }
        for line in rows
    ]


def _disputes(user: User, profile: MemberProfile | None) -> list[dict]:
    condition = Q(contract__client=user)
    if profile is not None:
        condition |= Q(contract__member=profile)
    disputes = (
        Dispute.objects.filter(condition)
        .select_related("contract__job", "milestone")
        .prefetch_related(
            Prefetch(
                "evidence",
                queryset=DisputeEvidence.objects.order_by("created_at", "pk").prefetch_related(
                    "files"
                ),
            )
        )
        .order_by("pk")
    )
    return [
        {
            "id": dispute.pk,
            "job": dispute.contract.job.title,
            "milestone": dispute.milestone.title,
            "status": dispute.status,
            "reason": dispute.reason,
            "opened_by_me": dispute.opened_by_id == user.pk,
            "account": dispute.account,
            "answer": dispute.answer,
            "evidence": [
                {
                    "mine": item.author_id == user.pk,
                    "text": item.text,
                    "links": item.links,
                    "files": [f.original_name for f in item.files.all()],
                }
                for item in dispute.evidence.all()
            ],
        }
        for dispute in disputes
    ]


def _register(profile: MemberProfile | None) -> dict | None:
    """The member's entries in the cooperative's register (governance), when the app is on."""
    if profile is None or not apps.is_installed("governance"):
        return None
    try:
        change_model = apps.get_model("governance", "MembershipChange")
        share_model = apps.get_model("governance", "ShareMovement")
    except LookupError:
        return None
    changes = change_model.objects.filter(member=profile).order_by("effective_on", "pk")
    shares = share_model.objects.filter(member=profile).order_by("effective_on", "pk")
    return {
        "membership": [
            {"status": c.status, "effective_on": _iso(c.effective_on), "reason": c.reason}
            for c in changes
        ],
        "shares": [
            {"shares": s.shares, "effective_on": _iso(s.effective_on), "reason": s.reason}
            for s in shares
        ],
    }


def personal_data_export(*, user: User) -> dict:
    """Everything the site holds about this person, and nothing about anybody else beyond what
    they already see (the other side's messages in their own conversations)."""
    user = (
        User.objects.select_related("client_profile", "member_profile")
        .prefetch_related("client_profile__preferred_languages")
        .get(pk=user.pk)
    )
    client_profile = _profile_of(user, "client_profile")
    member_profile = _profile_of(user, "member_profile")
    return {
        "format": EXPORT_FORMAT,
        "exported_at": _iso(timezone.now()),
        "account": _account(user),
        "client_profile": _client_profile(client_profile),
        "member_profile": _member_profile(member_profile),
        "languages": _languages(member_profile),
        "skills": _skills(member_profile),
        "jobs": _jobs(user),
        "bids": _bids(member_profile),
        "messages": _messages(user, member_profile),
        "contracts": _contracts(user, member_profile),
        "reviews": _reviews(user),
        "notifications": _notifications(user),
        "invoices": _invoices(user),
        "payments": _payments(user),
        "payouts": _payouts(member_profile),
        "disputes": _disputes(user, member_profile),
        "register": _register(member_profile),
    }


# --- what stands in the way of an erasure ------------------------------------------------------


@dataclass(frozen=True)
class ErasureBlocker:
    code: str
    message: str


def erasure_blockers(*, user: User) -> list[ErasureBlocker]:
    """Why this account cannot be erased yet, in words the person can act on (empty: it can).
    Money in flight and open work must end first: the cooperative owes or holds money for
    them, or someone depends on their work."""
    from payments.models import (
        LedgerAccount,
        Payment,
        PaymentStatus,
        PayoutLine,
        PayoutLineStatus,
    )
    from payments.selectors.ledger import account_balance

    blockers: list[ErasureBlocker] = []
    member = _profile_of(user, "member_profile")
    own_contracts = Q(client=user) | (Q(member=member) if member is not None else Q(pk__in=[]))

    def add(code: str, message: str) -> None:
        blockers.append(ErasureBlocker(code=code, message=message))

    active = list(
        Contract.objects.filter(own_contracts, status=ContractStatus.ACTIVE)
        .select_related("job")
        .order_by("pk")
    )
    if active:
        add(
            "contract_active",
            ngettext(
                "A contract is still in progress: %(jobs)s. It must be completed or cancelled.",
                "Contracts are still in progress: %(jobs)s. They must be completed or cancelled.",
                len(active),
            )
            % {"jobs": ", ".join(f"« {c.job.title} »" for c in active)},
        )
    # One query for every contract's held account (not one per contract).
    held = (
        LedgerAccount.objects.filter(
            code__in=[
                f"client_held:contract:{pk}"
                for pk in Contract.objects.filter(own_contracts).values_list("pk", flat=True)
            ]
        ).aggregate(total=Sum("balance_cents"))["total"]
        or 0
    )
    if held:
        add(
            "funds_held",
            _("The cooperative still holds %(amount)s for your contracts.")
            % {"amount": _euros(held)},
        )
    open_disputes = Dispute.objects.filter(
        Q(contract__client=user)
        | (Q(contract__member=member) if member is not None else Q(pk__in=[])),
        status=DisputeStatus.OPEN,
    ).count()
    if open_disputes:
        add(
            "dispute_open",
            ngettext(
                "A dispute is still open.", "%(count)d disputes are still open.", open_disputes
            )
            % {"count": open_disputes},
        )
    if Payment.objects.filter(client=user, status=PaymentStatus.PENDING).exists():
        add(
            "payment_pending",
            _("A payment of yours is still on its way: wait until it arrives or is cancelled."),
        )
    refund_due = account_balance(f"refund_payable:client:{user.pk}")
    if refund_due:
        add(
            "refund_due",
            _("The cooperative still has to pay you back %(amount)s.")
            % {"amount": _euros(refund_due)},
        )
    if member is not None:
        balance = account_balance(f"member_payable:member:{member.pk}")
        if balance:
            add(
                "balance_unpaid",
                _("Your balance of %(amount)s has not been paid out yet.")
                % {"amount": _euros(balance)},
            )
        if PayoutLine.objects.filter(member=member, status=PayoutLineStatus.PENDING).exists():
            add("payout_pending", _("A payout to you is on its way: wait until it is sent."))
        if Bid.objects.filter(member=member, status=BidStatus.ACTIVE).exists():
            add("bid_active", _("You have bids waiting for an answer: withdraw them first."))
    open_jobs = Job.objects.filter(
        client=user, status__in=[JobStatus.SUBMITTED, JobStatus.PUBLISHED]
    ).count()
    if open_jobs:
        add(
            "job_open",
            ngettext(
                "One of your jobs is still open: cancel it first.",
                "%(count)d of your jobs are still open: cancel them first.",
                open_jobs,
            )
            % {"count": open_jobs},
        )
    return blockers


def _euros(cents: int) -> str:
    from payments.amounts import format_eur

    return format_eur(abs(cents))
