"""PostgreSQL only: every transaction that appends activities to a workspace holds a shared
advisory lock on that workspace from before the row's id is taken until it ends, so a
delivery can tell in a moment that a quiet workspace's log is final up to now, whatever
runs in other workspaces (``contacts.activity_log.workspace_log_final``; decision 0018).

The lock is taken by a BEFORE INSERT trigger, which also takes the row's id from the
sequence again: the column default draws an id before any trigger runs, and the id must be
drawn under the lock. Inserts that keep their ids (``leadflow copy-to-postgres``) set
``lfcopy.keep_ids`` to 'on' for their transaction."""

from django.db import migrations

# Key of the advisory lock (class, workspace id); contacts.activity_log.WRITERS_LOCK.
WRITERS_LOCK = 1279672643

FORWARD = """
CREATE FUNCTION contacts_activity_writer_lock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('lfcopy.keep_ids', true) IS DISTINCT FROM 'on' THEN
        PERFORM pg_advisory_xact_lock_shared({lock}, NEW.workspace_id::integer);
        NEW.id := nextval('{sequence}'::regclass);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER contacts_activity_writer_lock BEFORE INSERT ON contacts_activity
    FOR EACH ROW EXECUTE FUNCTION contacts_activity_writer_lock();
CREATE FUNCTION contacts_activity_final(workspace integer) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    drawn bigint;
BEGIN
    IF NOT pg_try_advisory_lock({lock}, workspace) THEN
        RETURN NULL;
    END IF;
    SELECT CASE WHEN is_called THEN last_value ELSE last_value - 1 END INTO drawn
      FROM {sequence};
    PERFORM pg_advisory_unlock({lock}, workspace);
    RETURN drawn;
EXCEPTION WHEN OTHERS THEN
    PERFORM pg_advisory_unlock({lock}, workspace);
    RAISE;
END $$;
"""
BACKWARD = """
DROP TRIGGER IF EXISTS contacts_activity_writer_lock ON contacts_activity;
DROP FUNCTION IF EXISTS contacts_activity_writer_lock();
DROP FUNCTION IF EXISTS contacts_activity_final(integer);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite writes one transaction at a time: nothing to wait for
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_serial_sequence('contacts_activity', 'id')")
        (sequence,) = cursor.fetchone()
        cursor.execute(FORWARD.format(lock=WRITERS_LOCK, sequence=sequence))


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0019_stage_history_fill")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
