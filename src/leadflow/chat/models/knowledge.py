"""The knowledge base the bot answers from: entries (question/answer pairs with their other
phrasings, and articles), their passages (what is searched, each with its embedding) and the
workspace's index version (bumped by every change, so each process knows its cached matrix
is stale), and the questions the bot could not answer."""

from django.db import models
from django.utils import timezone

from leadflow.core.models import Workspace


class EntryKind(models.TextChoices):
    QUESTION = "question", "Question and answer"
    ARTICLE = "article", "Article"


class KnowledgeEntry(models.Model):
    """One thing the bot may say: a question with its answer (``title`` is the question,
    ``phrasings`` other ways to ask it, ``body`` the answer) or an article (``title`` and
    ``body``, answered passage by passage). ``link`` is an optional public address the
    answer cites (a help-centre page); the app's own page is always cited too."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=EntryKind.choices, default=EntryKind.QUESTION)
    title = models.CharField(max_length=300)
    body = models.TextField()
    phrasings = models.JSONField(default=list, blank=True)
    link = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["workspace", "-updated_at"], name="kb_entry_recent")]

    def __str__(self) -> str:
        return self.title


class KnowledgePassage(models.Model):
    """A searchable piece of an entry: for a question each phrasing and the answer, for an
    article its title and each paragraph-sized chunk. ``vector`` holds the normalised
    embedding (float32 bytes) of ``text`` by the model named in ``model``; empty until the
    worker's embedding task has run (the lexical ranking covers it meanwhile)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    entry = models.ForeignKey(KnowledgeEntry, on_delete=models.CASCADE, related_name="passages")
    position = models.PositiveSmallIntegerField()
    text = models.TextField()
    is_answer = models.BooleanField(default=False)
    vector = models.BinaryField(null=True, blank=True)
    model = models.CharField(max_length=80, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "position"], name="kb_passage_unique")
        ]
        indexes = [models.Index(fields=["workspace", "entry"], name="kb_passage_workspace")]


class KnowledgeIndex(models.Model):
    """The workspace's knowledge-base version: bumped with ``F()`` in the transaction of
    every change of its entries or embeddings. A process keeps its matrix while the
    version it built it from is current."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    version = models.BigIntegerField(default=0)


class UnansweredQuestion(models.Model):
    """A visitor's question the bot did not answer outright (it offered suggestions or
    handed over): one row per distinct question (``key``: lower case, spaces collapsed),
    with how often it was asked, when last, and the best score it got then."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=300)
    question = models.CharField(max_length=500)
    best_score = models.FloatField(default=0.0)
    best_entry = models.ForeignKey(
        KnowledgeEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    count = models.PositiveIntegerField(default=1)
    first_asked_at = models.DateTimeField(default=timezone.now)
    last_asked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="kb_unanswered_unique")
        ]
        indexes = [
            models.Index(fields=["workspace", "-last_asked_at"], name="kb_unanswered_recent")
        ]
