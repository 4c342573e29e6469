"""The API reference page, read from the app's own OpenAPI document: every operation, who may
call it, what it takes and what it answers, and every schema, in the reader's language.

It replaces Swagger UI, whose script and styles came from a CDN and which started with an
inline script: the site's Content-Security-Policy blocked both, so the page stayed blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from app.access import Access, Who, declared_routes
from app.i18n import N_, get_locale
from app.i18n import gettext as _
from app.openapi import ERRORS
from app.teams.labels import role_label

SUCCESS_MEANINGS = {
    200: N_("Done."),
    201: N_("Created."),
    202: N_("Received; the work is done later."),
    204: N_("Done, with no body."),
}
TAG_TITLES = {
    "opportunities": N_("Opportunities"),
    "proposals": N_("Proposals"),
    "evaluation": N_("Evaluation and award"),
    "questions": N_("Questions and addenda"),
    "peer review": N_("Peer review"),
    "teams": N_("Teams"),
    "accounts": N_("Your account"),
    "your work": N_("Your work"),
    "payments": N_("Payments"),
    "open data": N_("Open data"),
    "webhooks": N_("Webhooks"),
}
WHERE = {
    "path": N_("path"),
    "query": N_("query"),
    "header": N_("header"),
    "cookie": N_("cookie"),
}


@dataclass(frozen=True)
class TypeRef:
    """A field's type in words; ``schema`` names the schema to link to, if any."""

    text: str
    schema: str | None = None


@dataclass(frozen=True)
class Field:
    name: str
    where: str
    type: TypeRef
    required: bool
    description: str


@dataclass(frozen=True)
class Answer:
    status: str
    meaning: str
    media_type: str
    body: TypeRef | None
    # An error, explained in the page's errors section.
    is_error: bool


@dataclass(frozen=True)
class Operation:
    anchor: str
    method: str
    path: str
    summary: str
    who: str
    parameters: list[Field]
    body: TypeRef | None
    answers: list[Answer]


@dataclass(frozen=True)
class Section:
    anchor: str
    title: str
    operations: list[Operation]


@dataclass(frozen=True)
class Schema:
    name: str
    description: str
    fields: list[Field]
    choices: list[str]


@dataclass(frozen=True)
class Reference:
    sections: list[Section]
    schemas: list[Schema]
    # Each error status: its short name and what it means.
    errors: list[tuple[int, str, str]]
    # Text that comes from the code (summaries, descriptions) is English.
    source_lang: str | None
    # What anyone may read, with no token and from any site (CORS): the public GET operations.
    public_reads: list[Operation]


def api_reference(app: FastAPI) -> Reference:
    document = app.openapi()
    access = {(d.method.lower(), d.path): d.access for d in declared_routes(app)}
    by_tag: dict[str, list[Operation]] = {}
    public_reads: list[Operation] = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            tag = (operation.get("tags") or ["api"])[0]
            declared = access.get((method, path))
            described = _operation(method, path, operation, declared)
            by_tag.setdefault(tag, []).append(described)
            if method == "get" and declared is not None and declared.who is Who.PUBLIC:
                public_reads.append(described)
    order = list(TAG_TITLES)
    sections = [
        Section(_anchor("tag", tag), _(TAG_TITLES[tag]) if tag in TAG_TITLES else tag, found)
        for tag, found in sorted(
            by_tag.items(), key=lambda item: order.index(item[0]) if item[0] in order else 99
        )
    ]
    schemas = [
        _schema(name, schema)
        for name, schema in sorted(document.get("components", {}).get("schemas", {}).items())
    ]
    errors = [(status, _(name), _(meaning)) for status, (name, meaning) in sorted(ERRORS.items())]
    source_lang = None if get_locale() == "en" else "en"
    return Reference(sections, schemas, errors, source_lang, public_reads)


def _anchor(*parts: str) -> str:
    return "-".join("".join(c if c.isalnum() else "-" for c in part).strip("-") for part in parts)


def _operation(
    method: str, path: str, operation: dict[str, Any], access: Access | None
) -> Operation:
    parameters = [
        Field(
            p["name"],
            _(WHERE[p["in"]]),
            type_of(p.get("schema", {})),
            bool(p.get("required")),
            p.get("description", "") or p.get("schema", {}).get("description", ""),
        )
        for p in operation.get("parameters", [])
    ]
    body_schema = operation.get("requestBody", {}).get("content", {}).get("application/json")
    return Operation(
        anchor=_anchor("op", method, path),
        method=method.upper(),
        path=path,
        summary=operation.get("summary", ""),
        who=who_may_call(access) if access else "",
        parameters=parameters,
        body=type_of(body_schema["schema"]) if body_schema else None,
        answers=[_answer(status, response) for status, response in operation["responses"].items()],
    )


def _answer(status: str, response: dict[str, Any]) -> Answer:
    code = int(status)
    meaning = SUCCESS_MEANINGS.get(code) or ERRORS.get(code, ("", ""))[0]
    content: dict[str, dict[str, Any]] = response.get("content", {})
    media_type, body = next(iter(content.items()), ("", {}))
    schema = body.get("schema")
    return Answer(
        status=status,
        meaning=_(meaning) if meaning else response.get("description", ""),
        media_type=media_type,
        body=type_of(schema) if schema else None,
        is_error=code in ERRORS,
    )


def who_may_call(access: Access) -> str:
    if access.who is Who.PUBLIC:
        return _("Anyone, signed in or not.")
    if access.who is Who.SIGNED_IN:
        return _("Anyone signed in.")
    if access.who is Who.ADMIN:
        return _("Platform administrators.")
    if access.who is Who.SIGNED_WEBHOOK:
        return _("The sending service, which signs the body with the shared secret.")
    if access.who is Who.OUTSIDE_TEAM:
        return _("Anyone signed in who is not a member of the team that posted the opportunity.")
    roles = ", ".join(role_label(role) for role in sorted(access.roles))
    if access.admins_too:
        return _(
            "Members of the team it concerns, in one of these roles: %(roles)s; and platform "
            "administrators.",
            roles=roles,
        )
    return _("Members of the team it concerns, in one of these roles: %(roles)s.", roles=roles)


def type_of(schema: dict[str, Any]) -> TypeRef:
    """A JSON schema in a few words, naming the schema it refers to."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return TypeRef(name, name)
    if "anyOf" in schema:
        kinds = [type_of(option) for option in schema["anyOf"]]
        text = kinds[0].text
        for kind in kinds[1:]:
            text = _("%(one)s or %(other)s", one=text, other=kind.text)
        return TypeRef(text, next((kind.schema for kind in kinds if kind.schema), None))
    if schema.get("type") == "array":
        item = type_of(schema.get("items", {}))
        return TypeRef(_("list of %(item)s", item=item.text), item.schema)
    if schema.get("type") == "object" and "additionalProperties" in schema:
        value = type_of(schema["additionalProperties"] or {})
        return TypeRef(_("map of names to %(item)s", item=value.text), value.schema)
    words = str(schema.get("type", _("any")))
    if "format" in schema:
        words = f"{words} ({schema['format']})"
    return TypeRef(words)


def _schema(name: str, schema: dict[str, Any]) -> Schema:
    required = set(schema.get("required", []))
    fields = [
        Field(field, "", type_of(spec), field in required, spec.get("description", ""))
        for field, spec in schema.get("properties", {}).items()
    ]
    choices = [str(choice) for choice in schema.get("enum", [])]
    return Schema(name, schema.get("description", ""), fields, choices)
