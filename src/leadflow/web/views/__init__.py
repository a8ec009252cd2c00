"""Pages of the LeadFlow app, one module per area (contacts, companies, duplicates, settings).

Every workspace page goes through ``leadflow.web.access.workspace_view``; views only parse
the request, check the permission, call a service or selector and render.
"""
