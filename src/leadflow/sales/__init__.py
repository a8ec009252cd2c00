"""Sales: routing leads to the people who call them (teams, availability, assignment rules,
assignments). Docs: docs/sales/routing.md."""
