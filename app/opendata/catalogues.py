"""Catalogues that portals and code coordinators harvest: a DCAT-US 1.1 `data.json` describing the
open datasets, and a code.gov 2.0 `code.json` inventory of the repositories the programme paid
for. Their vocabulary is the standards' own, in English, as harvesters expect."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.licences import licence_urls
from app.models.base import utcnow
from app.opendata import repository
from app.opendata.service import DATASETS, OpenDataset

DCAT_US = "https://project-open-data.cio.gov/v1.1/schema"
CODE_GOV_VERSION = "2.0.0"
_FORMATS = (("csv", "text/csv", "CSV"), ("json", "application/json", "JSON"))


def data_json(settings: Settings) -> dict[str, Any]:
    base = settings.base_url
    return {
        "@context": f"{DCAT_US}/catalog.jsonld",
        "@id": f"{base}/data.json",
        "@type": "dcat:Catalog",
        "conformsTo": DCAT_US,
        "describedBy": f"{DCAT_US}/catalog.json",
        "dataset": [_dcat_dataset(dataset, settings, utcnow()) for dataset in DATASETS],
    }


def _dcat_dataset(dataset: OpenDataset, settings: Settings, now: datetime) -> dict[str, Any]:
    base = settings.base_url
    return {
        "@type": "dcat:Dataset",
        "identifier": f"{base}/opendata/{dataset.name}",
        "title": f"{settings.opendata_publisher}: {dataset.title}",
        "description": dataset.description,
        "keyword": ["open source", "procurement", "government", dataset.name],
        # Generated from the live data on each download: it changes as the data does.
        "modified": now.isoformat(timespec="seconds"),
        "accrualPeriodicity": "irregular",
        "publisher": {"@type": "org:Organization", "name": settings.opendata_publisher},
        "contactPoint": {
            "@type": "vcard:Contact",
            "fn": settings.opendata_publisher,
            "hasEmail": f"mailto:{settings.opendata_contact_email}",
        },
        "accessLevel": "public",
        "bureauCode": [settings.opendata_bureau_code],
        "programCode": [settings.opendata_program_code],
        "license": settings.opendata_licence_url,
        "language": ["en-CA", "fr-CA"],
        "landingPage": f"{base}/opendata",
        "describedBy": f"{base}/opendata/dictionary.json",
        "describedByType": "application/json",
        "distribution": [
            {
                "@type": "dcat:Distribution",
                "title": f"{dataset.title} ({label})",
                "downloadURL": f"{base}/opendata/{dataset.name}.{extension}",
                "mediaType": media_type,
                "format": label,
                "describedBy": f"{base}/opendata/dictionary.json",
                "describedByType": "application/json",
            }
            for extension, media_type, label in _FORMATS
        ],
    }


def code_json(session: Session, settings: Settings, team_slug: str | None = None) -> dict[str, Any]:
    """Every repository that received paid work (a released payment), once each, with the
    licences its opportunities named and the skills they asked for."""
    rows = repository.paid_repositories(session, team_slug)
    skills = repository.paid_repository_skills(session, team_slug)
    by_repository: dict[str, list[repository.RepositoryRow]] = defaultdict(list)
    for row in rows:
        by_repository[row[0]].append(row)
    return {
        "version": CODE_GOV_VERSION,
        "agency": settings.opendata_publisher,
        "measurementType": {"method": "projects"},
        "releases": [
            _release(name, paid, skills.get(name, []), settings)
            for name, paid in by_repository.items()
        ],
    }


def _release(
    name: str, paid: list[repository.RepositoryRow], skills: list[str], settings: Settings
) -> dict[str, Any]:
    licences = {key: url for row in paid for key, url in licence_urls(row[1])}
    teams = dict.fromkeys(row[3] for row in paid)
    last_paid = max((row[4] for row in paid if row[4] is not None), default=None)
    release: dict[str, Any] = {
        "name": name,
        "organization": ", ".join(teams),
        "description": (
            f"Open-source work on {name} paid through {settings.opendata_publisher}: "
            f"{len(paid)} paid opportunities."
        ),
        "permissions": {
            "licenses": [{"name": key, "URL": url} for key, url in licences.items()] or None,
            "usageType": "openSource",
        },
        "repositoryURL": f"https://github.com/{name}",
        "homepageURL": f"{settings.base_url}/teams/{paid[0][2]}",
        "vcs": "git",
        # The programme pays fixed prices, not hours: it does not know the labour spent.
        "laborHours": 0,
        "tags": skills,
        "contact": {"email": settings.opendata_contact_email, "name": settings.opendata_publisher},
    }
    if last_paid is not None:
        release["date"] = {"lastModified": last_paid.date().isoformat()}
    return release
