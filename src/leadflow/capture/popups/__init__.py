"""Pop-ups: a modal, slide-in or bar shown on a customer's site by a trigger, to the visitors
its targeting picks, as often as its frequency allows (docs/capture/popups.md).

``models`` holds the pop-up and its counters, ``rules`` checks and normalises what a member
writes (triggers, targeting, frequency), ``services`` writes, ``selectors`` reads (the
public configuration a page asks for included), ``public`` answers the pop-up script
(``static/leadflow/popups.js``), ``api`` is the REST router under /api/v1/capture/popups.
"""
