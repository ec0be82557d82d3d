"""Explanations ("pas toe of leg uit"): an organisation's own word next to a
verdict.  Read from a user YAML file (``stekker report --explanations``);
shown next to verdicts, they never change them."""

from __future__ import annotations

from dataclasses import dataclass

from stekker.attribute.model import DomainAttribution
from stekker.dates import as_date
from stekker.i18n import _

from .domain import organisations_of

@dataclass(slots=True)
class Explanation:
    text: str
    domain: str | None = None
    organisation: str | None = None
    category: str | None = None
    date: str | None = None
    by: str | None = None
    expires: str | None = None  # YYYY-MM-DD: the organisation's own end date for the explanation

    def expired(self, today: "_dt.date | None" = None) -> bool:
        """Whether its end date (``expires``) has passed: shown then as expired, never as current
        and never hidden (the site, the report's HTML and terminal: one rule)."""
        import datetime as _dt

        return bool(self.expires) and str(self.expires) < (today or _dt.date.today()).isoformat()

    def applies(self, da: DomainAttribution, category: str | None = None) -> bool:
        if self.domain and self.domain.lower().rstrip(".") != da.domain:
            return False
        if self.organisation and self.organisation not in organisations_of(da):
            return False
        if category is not None and self.category and self.category != category:
            return False
        return True


class ExplanationError(ValueError):
    pass


def load_explanations(path: str | None) -> list[Explanation]:
    """Read an explanations file (YAML list, or a mapping with ``explanations:``)."""
    if not path:
        return []
    from stekker.safeyaml import YAMLInputError, read_user_yaml

    try:
        doc = read_user_yaml(path)
    except YAMLInputError as exc:
        raise ExplanationError(_("explanations file {file}: {error}").format(file=path, error=exc)) from None
    if isinstance(doc, dict):
        doc = doc.get("explanations")
    if not isinstance(doc, list):
        raise ExplanationError(_("{file}: expected a list of explanations").format(file=path))
    out = []
    for i, e in enumerate(doc, 1):
        if not isinstance(e, dict) or not e.get("text"):
            raise ExplanationError(_("{file}: entry {n}: needs at least 'text'").format(file=path, n=i))
        if not (e.get("domain") or e.get("organisation")):
            raise ExplanationError(_("{file}: entry {n}: needs 'domain' or 'organisation'").format(file=path, n=i))
        expires = None
        if e.get("expires"):
            try:
                expires = as_date(e["expires"]).isoformat()
            except (TypeError, ValueError):
                raise ExplanationError(_("{file}: entry {n}: 'expires' must be a date (YYYY-MM-DD), not {value!r}").format(
                    file=path, n=i, value=e["expires"])) from None
        out.append(Explanation(text=str(e["text"]), domain=e.get("domain"), expires=expires,
                               organisation=e.get("organisation"), category=e.get("category"),
                               date=str(e["date"]) if e.get("date") else None,
                               by=str(e["by"]) if e.get("by") else None))
    return out
