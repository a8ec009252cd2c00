"""Nurture: keeping leads that are not ready to buy warm without annoying them (issue 15).

Segments (dynamic on the condition language, static lists), email templates and sending
identities, exactly-once sending, sequences, personal offers, frequency caps and quiet
hours, suppression, one-click unsubscribe and bounces. The only code that sends marketing
messages to a lead; a subscriber of the activity announcement (docs/nurture/).
"""
