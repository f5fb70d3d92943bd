"""The policy: what a site declares (categories, cookies, trackers, data items, the PDPA notice).

Everything else reads it; it reads nothing of the rest. :mod:`cookieconsent.policy.model` holds the
models and the loaders, :mod:`~cookieconsent.policy.pdpa` the Article 8 notice, and
:mod:`~cookieconsent.policy.defaults` the built-in texts.
"""

from __future__ import annotations

from cookieconsent.policy.model import NECESSARY as NECESSARY
from cookieconsent.policy.model import Category as Category
from cookieconsent.policy.model import Controller as Controller
from cookieconsent.policy.model import CookieRule as CookieRule
from cookieconsent.policy.model import DataItem as DataItem
from cookieconsent.policy.model import GpcSettings as GpcSettings
from cookieconsent.policy.model import Notice as Notice
from cookieconsent.policy.model import Policy as Policy
from cookieconsent.policy.model import Recipient as Recipient
from cookieconsent.policy.model import Retention as Retention
from cookieconsent.policy.model import Text as Text
from cookieconsent.policy.model import Tracker as Tracker
from cookieconsent.policy.model import load_policy as load_policy
from cookieconsent.policy.model import parse_policy as parse_policy

__all__ = [
    "NECESSARY",
    "Category",
    "Controller",
    "CookieRule",
    "DataItem",
    "GpcSettings",
    "Notice",
    "Policy",
    "Recipient",
    "Retention",
    "Text",
    "Tracker",
    "load_policy",
    "parse_policy",
]
