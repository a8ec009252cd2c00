"""Deals: pipelines of ordered stages, the deals moving through them, and each move.

A deal's ``status`` always agrees with the kind of its stage (an open stage: open; a won
stage: won; a lost stage: lost): only the services in ``deals.services`` move a deal, and
they set both. Its ``probability`` is the stage's default unless a person set it
(``probability_manual``), in which case a move keeps it.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from leadflow.contacts.models import Company, Contact
from leadflow.core.models import Workspace

CURRENCY_PATTERN = r"^[A-Z]{3}$"
# The stages a new pipeline starts with: (name, default win probability, kind).
DEFAULT_PIPELINE_NAME = "Sales"
DEFAULT_STAGES = (
    ("New", 10, "open"),
    ("Qualified", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
)
DEFAULT_LOST_REASONS = ["Price", "Chose a competitor", "No budget", "No decision", "Bad timing"]


class StageKind(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class DealStatus(models.TextChoices):
    OPEN = "open", "Open"
    WON = "won", "Won"
    LOST = "lost", "Lost"


class DealSettings(models.Model):
    """A workspace's deal settings (one row, made on first use): the default currency
    (empty: ``LEADFLOW_DEFAULT_CURRENCY``), the lost reasons offered, and whether losing a
    contact's last open deal sends the contact to nurture."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, related_name="deal_settings"
    )
    currency = models.CharField(max_length=3, blank=True)
    lost_reasons = models.JSONField(default=list, blank=True)
    nurture_when_all_lost = models.BooleanField(default=True)

    @property
    def default_currency(self) -> str:
        return self.currency or settings.LEADFLOW_DEFAULT_CURRENCY


class Pipeline(models.Model):
    """A named sequence of stages a deal moves through; the first by position is the
    workspace's default."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="pipelines")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="pipeline_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """One step of a pipeline, in order, with the win probability a deal gets there and its
    kind: deals in an open stage are in progress, a won or lost stage closes them."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    kind = models.CharField(max_length=10, choices=StageKind.choices, default=StageKind.OPEN)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_unique_name"),
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="stage_probability_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Deal(models.Model):
    """A chance to sell: who to (contact, company), how much, by when, who works it, where
    it stands (stage, status, probability) and how it ended (won/lost at, lost reason)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    pipeline = models.ForeignKey(Pipeline, on_delete=models.RESTRICT, related_name="deals")
    stage = models.ForeignKey(Stage, on_delete=models.RESTRICT, related_name="deals")
    title = models.CharField(max_length=200)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="deals"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3)
    expected_close_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_deals",
    )
    probability = models.PositiveSmallIntegerField(default=0)
    probability_manual = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=DealStatus.choices, default=DealStatus.OPEN)
    lost_reason = models.CharField(max_length=200, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    stage_entered_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["workspace", "pipeline", "stage"], name="deal_ws_board"),
            models.Index(
                fields=["workspace", "status", "expected_close_date"], name="deal_ws_status_close"
            ),
            models.Index(fields=["workspace", "-created_at"], name="deal_ws_created"),
            models.Index(fields=["workspace", "owner"], name="deal_ws_owner"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gte=0), name="deal_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(probability__lte=100), name="deal_probability_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / 100).quantize(Decimal("0.01"))


class DealStageChange(models.Model):
    """One move of a deal into a stage (the first row, without ``from_stage``, is where it
    was created), who made it, and how long the deal had spent in the stage it left: the
    time per stage is the average of ``seconds_in_from_stage``. Stage names are copied so
    the history reads the same after a stage is renamed or deleted."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes_out"
    )
    to_stage = models.ForeignKey(
        Stage, null=True, on_delete=models.SET_NULL, related_name="changes_in"
    )
    from_stage_name = models.CharField(max_length=100, blank=True)
    to_stage_name = models.CharField(max_length=100)
    seconds_in_from_stage = models.BigIntegerField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now)
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_label = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["deal", "at"], name="deal_change_deal_at")]


# --- products, orders and their payment ----------------------------------------------------------


class Product(models.Model):
    """Something the workspace sells, at one price in one currency. Archived products
    (``active`` off) stay for the orders that name them but are offered no more; an order
    keeps its own copy of the name and price it was placed at (``Order.items``)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    sku = models.CharField(max_length=64, blank=True, default="")
    price = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    image_url = models.URLField(max_length=500, blank=True, default="")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["workspace", "active", "name"], name="product_ws_active")]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "sku"],
                condition=~models.Q(sku=""),
                name="product_unique_sku",
            ),
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="product_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Awaiting payment"
    PAID = "paid", "Paid"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Expired"


class Order(models.Model):
    """What a contact ordered (``items``: each product's id, name, SKU, quantity, unit
    price and amount as they were when the order was placed), its total in one currency,
    the deal it opened, and where its payment stands. Only a signed payment webhook makes
    it paid (``deals.services.payments``)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    deal = models.ForeignKey(
        Deal, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    items = models.JSONField(default=list)
    total = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(
        max_length=10, choices=OrderStatus.choices, default=OrderStatus.PENDING
    )
    source = models.CharField(max_length=50, blank=True, default="")
    provider = models.CharField(max_length=20, blank=True, default="")
    checkout_session_id = models.CharField(max_length=255, blank=True, default="")
    payment_intent_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-created_at"], name="order_ws_created")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(total__gte=0), name="order_total_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"Order {self.pk}"


class PaymentSettings(models.Model):
    """A workspace's Stripe account. No secret is stored: ``secret_key_env`` and
    ``webhook_secret_env`` name environment variables (the workspace's own,
    ``LEADFLOW_STRIPE_W<workspace id>_…``: core.secrets) the server reads when it needs
    them. ``api_base`` is Stripe's address (plain HTTP only to this machine: a local
    stand-in)."""

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    secret_key_env = models.CharField(max_length=100, blank=True, default="")
    webhook_secret_env = models.CharField(max_length=100, blank=True, default="")
    api_base = models.CharField(max_length=300, default="https://api.stripe.com")
    success_url = models.CharField(max_length=500, blank=True, default="")
    cancel_url = models.CharField(max_length=500, blank=True, default="")
    updated_at = models.DateTimeField(default=timezone.now)


class PaymentEvent(models.Model):
    """One webhook event received from the payment provider, stored once per event id (a
    unique constraint): a retried or concurrent delivery of the same event finds it and
    does nothing more. ``outcome`` says what it did (paid, expired, ignored, …)."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    provider = models.CharField(max_length=20, default="stripe")
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=100)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    outcome = models.CharField(max_length=30)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "provider", "event_id"], name="payment_event_once"
            )
        ]
