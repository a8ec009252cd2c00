"""Who is acting: a user (in the app) or an API key (through the API), or the system itself."""

from dataclasses import dataclass

from leadflow.core.models import ApiKey, Membership, User


@dataclass(frozen=True)
class Actor:
    """The author of a change, recorded on activities and audit entries."""

    user: User | None = None
    api_key: ApiKey | None = None
    membership: Membership | None = None
    label: str = "system"

    @classmethod
    def for_user(cls, user: User, membership: Membership | None = None) -> "Actor":
        return cls(user=user, membership=membership, label=user.email)

    @classmethod
    def for_api_key(cls, api_key: ApiKey) -> "Actor":
        return cls(api_key=api_key, label=f"API key {api_key.name}")

    @classmethod
    def system(cls, label: str = "system") -> "Actor":
        return cls(label=label)

    @property
    def user_id(self) -> int | None:
        return self.user.pk if self.user else None

    @property
    def api_key_id(self) -> int | None:
        return self.api_key.pk if self.api_key else None

    @property
    def sees_only_own_leads(self) -> bool:
        """Sales members see only the leads they own unless the workspace widens it."""
        if self.membership is None or self.membership.role != "sales":
            return False
        return not self.membership.workspace.sales_sees_all_leads
