"""The preference centre behind the same signed link: topics, frequency, a pause of 30 or
90 days, saved without a cookie; what it saved is what ``marketing_preferences`` tells
the sender."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from leadflow.nurture.models import ContactPreferences, TopicOptOut
from leadflow.nurture.selectors import marketing_preferences
from leadflow.nurture.services import topic_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def topics(workspace, owner_actor):
    return [
        topic_create(workspace=workspace, data={"name": name}, actor=owner_actor)
        for name in ("Events", "Product news", "Offers")
    ]


def _save(path: str, **fields) -> object:
    return Client(enforce_csrf_checks=True).post(path, data={"action": "preferences", **fields})


def test_the_page_shows_the_topics_frequency_and_pause(kim, link_of, topics):
    page = Client().get(link_of(kim)).content.decode()
    for topic in topics:
        assert f'name="topic" value="{topic.pk}" checked' in page
    assert 'name="frequency" value="all" checked' in page
    assert "Pause for 30 days" in page and "Pause for 90 days" in page


def test_saved_preferences_reach_the_sender(workspace, kim, link_of, topics):
    events, news, offers = topics
    before = timezone.now()
    response = _save(link_of(kim), topic=[str(events.pk)], frequency="weekly", pause="30")
    assert response.status_code == 200
    assert "Your preferences are saved" in response.content.decode()
    preferences = marketing_preferences(workspace.pk, [kim.pk])[kim.pk]
    assert preferences.topics_opted_out == {news.pk, offers.pk}
    assert preferences.frequency == "weekly"
    assert (
        before + dt.timedelta(days=30)
        <= preferences.paused_until
        <= timezone.now() + dt.timedelta(days=30)
    )
    assert preferences.paused(timezone.now())
    assert not preferences.may_receive(timezone.now())
    assert preferences.may_receive(timezone.now() + dt.timedelta(days=31), topic_id=events.pk)
    assert not preferences.may_receive(timezone.now() + dt.timedelta(days=31), topic_id=news.pk)
    assert not preferences.suppressed and not preferences.consent_withdrawn

    # Saved again: opted back in to everything, monthly, the pause kept, then ended.
    _save(
        link_of(kim),
        topic=[str(topic.pk) for topic in topics],
        frequency="monthly",
        pause="",
    )
    again = marketing_preferences(workspace.pk, [kim.pk])[kim.pk]
    assert again.topics_opted_out == frozenset() and again.frequency == "monthly"
    assert again.paused_until == preferences.paused_until
    _save(link_of(kim), frequency="monthly", pause="0", topic=[str(events.pk)])
    ended = marketing_preferences(workspace.pk, [kim.pk])[kim.pk]
    assert ended.paused_until is None
    assert ContactPreferences.objects.count() == 1
    assert TopicOptOut.objects.count() == 2


def test_a_pause_of_90_days(workspace, kim, link_of):
    _save(link_of(kim), frequency="all", pause="90")
    paused = marketing_preferences(workspace.pk, [kim.pk])[kim.pk].paused_until
    assert dt.timedelta(days=89) < paused - timezone.now() <= dt.timedelta(days=90)


def test_bad_choices_are_refused_and_change_nothing(workspace, kim, link_of):
    response = _save(link_of(kim), frequency="hourly")
    assert response.status_code == 400
    assert "Choose all, weekly or monthly" in response.content.decode()
    assert not ContactPreferences.objects.exists()


def test_another_workspaces_topics_cannot_be_opted_out_of(
    workspace, other_workspace, owner_actor, kim, link_of, topics
):
    foreign = topic_create(workspace=other_workspace, data={"name": "Theirs"}, actor=owner_actor)
    _save(link_of(kim), frequency="all", topic=[str(foreign.pk)])
    assert set(TopicOptOut.objects.values_list("topic_id", flat=True)) == {t.pk for t in topics}


def test_marketing_preferences_for_many_contacts_in_a_fixed_number_of_queries(
    workspace, other_workspace, owner_actor, kim, link_of, django_assert_num_queries
):
    from leadflow.contacts.services import contact_upsert

    others = [
        contact_upsert(
            workspace=workspace, data={"email": f"p{i}@example.org"}, actor=owner_actor
        ).contact
        for i in range(20)
    ]
    foreign = contact_upsert(
        workspace=other_workspace, data={"email": "x@example.org"}, actor=owner_actor
    ).contact
    Client().post(link_of(others[3]), data={"List-Unsubscribe": "One-Click"})
    ids = [kim.pk, foreign.pk, 10**9, *(contact.pk for contact in others)]
    with django_assert_num_queries(4):
        answer = marketing_preferences(workspace.pk, ids)
    assert set(answer) == {kim.pk, *(contact.pk for contact in others)}
    assert [pk for pk, p in answer.items() if p.suppressed] == [others[3].pk]
    assert answer[others[3].pk].consent_withdrawn
    assert answer[kim.pk].may_receive(timezone.now())


def test_after_unsubscribing_the_page_says_so(kim, link_of):
    client = Client()
    client.post(link_of(kim), data={"List-Unsubscribe": "One-Click"})
    page = client.get(link_of(kim)).content.decode()
    assert "You are unsubscribed" in page and 'value="One-Click"' not in page


def test_a_change_is_written_on_the_timeline_once(workspace, kim, link_of, topics, owner):
    from leadflow.contacts.models import Activity

    events, news, _offers = topics
    chosen = {"topic": [str(events.pk), str(news.pk)], "frequency": "monthly", "pause": "90"}
    _save(link_of(kim), **chosen)
    _save(link_of(kim), **{**chosen, "pause": ""})  # the same choices: nothing new
    [activity] = Activity.objects.filter(contact=kim, kind="preferences.changed")
    assert activity.actor_label == "preference centre"
    assert activity.data["frequency"] == "monthly"
    assert activity.data["topics_opted_out"] == ["Offers"]
    assert activity.data["paused_until"]

    client = Client()
    client.force_login(owner)
    page = client.get(f"/w/{workspace.slug}/contacts/{kim.pk}/").content.decode()
    assert "Email preferences changed" in page
    assert "How often: At most one a month" in page and "Opted out of: Offers" in page


def test_the_writer_writes_only_the_fields_its_kind_registers():
    from leadflow.contacts.activity_kinds import ACTIVITY_KINDS
    from leadflow.nurture.preference_kinds import PREFERENCES_CHANGED, preferences_changed_data

    data = preferences_changed_data(frequency="all", paused_until=None, topics_opted_out=[])
    assert set(data) == set(ACTIVITY_KINDS[PREFERENCES_CHANGED].payload_fields)
