"""Models of the marketplace app, one module per sub-domain."""

from marketplace.models.accounts import (
    BillingAddressMixin,
    ClientProfile,
    MemberProfile,
    Role,
    User,
    UserManager,
)
from marketplace.models.contracts import (
    Bid,
    BidMessage,
    BidMilestone,
    BidStatus,
    Contract,
    ContractEvent,
    ContractStatus,
    Delivery,
    DeliveryFile,
    Milestone,
    MilestoneStatus,
    Review,
)
from marketplace.models.jobs import (
    Job,
    JobAttachment,
    JobCategory,
    JobLanguage,
    JobSkill,
    JobStatus,
    SkillImportance,
    WorkMode,
)
from marketplace.models.moderation import ModerationAction, ModerationLog, Report
from marketplace.models.notifications import Notification

__all__ = [
    "Bid",
    "BidMessage",
    "BidMilestone",
    "BidStatus",
    "BillingAddressMixin",
    "ClientProfile",
    "Contract",
    "ContractEvent",
    "ContractStatus",
    "Delivery",
    "DeliveryFile",
    "Job",
    "JobAttachment",
    "JobCategory",
    "JobLanguage",
    "JobSkill",
    "JobStatus",
    "MemberProfile",
    "Milestone",
    "MilestoneStatus",
    "ModerationAction",
    "ModerationLog",
    "Notification",
    "Report",
    "Review",
    "Role",
    "SkillImportance",
    "User",
    "UserManager",
    "WorkMode",
]
