"""The inventory format: an organisation's own software, one item per tool.

YAML (``inventory.yaml``)::

    organisation: Bakkerij De Vries B.V.
    currency: EUR
    it_budget: 60000            # optional: annual IT budget
    items:
      - name: E-mail en agenda
        category: email          # see data/categories.yaml
        product: Microsoft 365   # and/or vendor:
        annual_cost: 3960
        users: 25
        criticality: high        # high | medium | low
        stops: [klantcontact, offertes]   # business functions that stop without it
        data_sensitivity: personal        # public | internal | confidential | personal | special
        contract_end: 2027-03-31
        export: {formats: [PST, EML, ICS], api: true}

CSV has the same columns (lists separated by ``;``); lines starting with
``#`` before the header may carry ``# organisation: ...``, ``# it_budget: ...``.
"""

from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal, InvalidOperation
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stekker.audit.catalog import category_ids, currency_codes
from stekker.i18n import _
from stekker.text import shorten

# Sane bounds: an inventory describes one organisation's software.  Larger
# values are typing errors (or hostile) and would overflow the arithmetic.
MAX_AMOUNT = Decimal(10) ** 12       # a trillion a year, in any currency
MAX_PEOPLE = 10_000_000              # users or employees
MAX_NOTICE_DAYS = 3650               # ten years
EARLIEST_CONTRACT_END = _dt.date(1900, 1, 1)  # an earlier end date is a typo (0001-01-01, 0026-09-30)
MAX_TEXT = 2000                      # characters of one free-text field
MAX_ITEMS = 10_000

_DUTCH_THOUSANDS = re.compile(r"^\d{1,3}(\.\d{3})+(,\d+)?$")     # 1.200 / 1.200,50
_DECIMAL_COMMA = re.compile(r"^\d+,\d+$")                          # 1200,50
_EN_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")       # 1,200.50
_AMBIGUOUS_DOT = re.compile(r"^\d{1,3}\.\d{3}$")                    # 1.200: 1200 or 1.2?
_AMBIGUOUS_COMMA = re.compile(r"^\d{1,3},\d{3}$")                  # 1,200: 1200 or 1.2?


def parse_amount(v, dutch: bool = False):
    """An amount as people write it: ``1200.50``, ``1.200,50`` (Dutch),
    ``1200,50``, ``1,200.50``, optionally with ``€``/``EUR`` and spaces.
    ``dutch=True`` (a ';'-separated CSV) reads ``1.200`` as twelve hundred.
    ``1.200`` elsewhere and ``1,200`` anywhere read two ways (a factor of 1000):
    returned as written, and the validator refuses them saying how to write
    the amount. Anything else is returned unchanged for the validator to refuse."""
    if not isinstance(v, str):
        return v
    s = v.strip().replace("\u00a0", "").replace(" ", "")
    for sym in ("€", "EUR", "eur"):
        if s.startswith(sym):
            s = s[len(sym):]
        if s.endswith(sym):
            s = s[: -len(sym)]
    s = s.rstrip("-").rstrip(",")  # "1.200,-" (Dutch for whole euros)
    # one separator followed by exactly three digits reads two ways: 1.200 and 1,200 are twelve
    # hundred to one reader and 1.2 to another - a factor of 1000 (a ';'-separated CSV is Dutch:
    # there 1.200 is twelve hundred, as documented)
    if (_AMBIGUOUS_DOT.match(s) and not dutch) or _AMBIGUOUS_COMMA.match(s):
        return s  # left as written: the validator (_amount) refuses it with how to write it
    if _EN_THOUSANDS.match(s) and not dutch and not _DECIMAL_COMMA.match(s):
        return s.replace(",", "")
    if "," in s and (_DUTCH_THOUSANDS.match(s) or _DECIMAL_COMMA.match(s)):
        return s.replace(".", "").replace(",", ".")
    if _DUTCH_THOUSANDS.match(s) and (dutch or s.count(".") > 1):  # 1.200.000 can only be thousands
        return s.replace(".", "")
    return s if s else v


def _amount(v):
    v = parse_amount(v)
    if isinstance(v, str) and (_AMBIGUOUS_DOT.match(v) or _AMBIGUOUS_COMMA.match(v)):
        whole, dec = int(re.sub(r"[.,]", "", v)), Decimal(v.replace(",", "."))
        raise ValueError(_("ambiguous amount {amount!r}: it reads as {whole} and as {decimal} (a factor of 1000); "
                           "write {whole} or {fixed}").format(amount=v, whole=whole, decimal=dec.normalize(),
                                                               fixed=f"{dec:.2f}"))
    if isinstance(v, float) and v != v:
        raise ValueError(_("not a number"))
    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
        try:
            d = Decimal(str(v))
        except InvalidOperation:
            raise ValueError(_("not an amount: {amount!r} (write e.g. 1200.50 or 1.200,50)").format(amount=shorten(v))) from None
        if not d.is_finite():
            raise ValueError(_("not a finite amount"))
        if abs(d) > MAX_AMOUNT:
            raise ValueError(_("amount out of range (at most {max:,.0f} a year)").format(max=MAX_AMOUNT))
        return d
    return v

Criticality = Literal["high", "medium", "low"]
Sensitivity = Literal["public", "internal", "confidential", "personal", "special"]

CRITICALITY_LEVELS: tuple[str, ...] = ("high", "medium", "low")
SENSITIVITY_LEVELS: tuple[str, ...] = ("public", "internal", "confidential", "personal", "special")

# the Dutch words an inventory may use for the levels (a Dutch Excel sheet, a Dutch user)
_DUTCH_LEVELS = {
    "hoog": "high", "middel": "medium", "gemiddeld": "medium", "midden": "medium", "laag": "low",
    "openbaar": "public", "intern": "internal", "vertrouwelijk": "confidential",
    "persoonsgegevens": "personal", "persoonlijk": "personal",
    "bijzonder": "special", "bijzondere persoonsgegevens": "special",
}
# true/false as a Dutch Excel writes them (WAAR/ONWAAR) and as people type them
_BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "ja": True, "nee": False,
             "waar": True, "onwaar": False, "1": True, "0": False}
_DUTCH_DATE = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")  # 30-9-2026, as a Dutch Excel writes a date


def _boolean(v):
    if isinstance(v, str):
        key = v.strip().lower()
        if key == "":
            return None
        if key not in _BOOLEANS:
            raise ValueError(_("{value!r} is not true or false: write true or false (ja/nee)").format(value=shorten(v)))
        return _BOOLEANS[key]
    return v


def _date(v):
    """A date as YYYY-MM-DD, or d-m-yyyy as a Dutch spreadsheet writes it
    (a four-digit year only, so it cannot be read two ways)."""
    if isinstance(v, str):
        s = v.strip()
        if not s:
            return None
        m = _DUTCH_DATE.match(s)
        try:
            if m:
                return _dt.date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
            return _dt.date.fromisoformat(s)
        except ValueError:
            raise ValueError(_("{value!r} is not a date: write 2026-09-30 (YYYY-MM-DD) or 30-9-2026").format(value=shorten(v))) from None
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Export(_Strict):
    formats: list[str] = Field(default_factory=list, description="open/portable export formats (CSV, ODF, EML, ...)")
    api: Optional[bool] = Field(None, description="a documented API to get all data out (None = not known)")
    notes: Optional[str] = None

    @field_validator("api", mode="before")
    @classmethod
    def _bool(cls, v):
        return _boolean(v)

    @field_validator("formats", mode="before")
    @classmethod
    def _split(cls, v):
        if isinstance(v, str):
            return [x.strip() for x in v.replace(",", ";").split(";") if x.strip()]
        return v


class Item(_Strict):
    name: str = Field(min_length=1)
    category: str
    product: Optional[str] = None
    product_id: Optional[str] = Field(None, description="explicit id in data/products.yaml (overrides name matching)")
    vendor: Optional[str] = None
    annual_cost: Optional[Decimal] = Field(None, ge=0, le=MAX_AMOUNT, allow_inf_nan=False,
                                           description="annual cost in the inventory currency; empty = unknown")
    users: Optional[int] = Field(None, ge=0, le=MAX_PEOPLE)
    criticality: Optional[Criticality] = Field(None, description="high | medium | low; empty = not given (shown as unknown)")
    stops: list[str] = Field(default_factory=list, description="business functions that stop without this item")
    data_sensitivity: Optional[Sensitivity] = None
    contract_end: Optional[_dt.date] = None
    notice_days: Optional[int] = Field(None, ge=0, le=MAX_NOTICE_DAYS)
    export: Export = Field(default_factory=Export)
    depends_on: list[str] = Field(default_factory=list, description="names of items this one cannot work without (e.g. single sign-on)")
    contact: Optional[str] = Field(None, description="who to call at the vendor or reseller")
    detected: bool = Field(False, description="seeded from DNS; confirm or remove")
    evidence: Optional[str] = None
    notes: Optional[str] = None

    @field_validator("stops", "depends_on", mode="before")
    @classmethod
    def _split(cls, v):
        if v is None:
            return []
        if isinstance(v, str):
            return [x.strip() for x in v.split(";") if x.strip()]
        return v

    @field_validator("annual_cost", mode="before")
    @classmethod
    def _cost(cls, v):
        return _amount(v)

    @field_validator("name", "product", "product_id", "vendor", "contact", "evidence", "notes")
    @classmethod
    def _text(cls, v):
        if isinstance(v, str) and len(v) > MAX_TEXT:
            raise ValueError(_("longer than {max} characters").format(max=MAX_TEXT))
        return v

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        ids = category_ids()
        key = v.strip().lower().replace("-", "_").replace(" ", "_").replace("/", "_")
        if key not in ids:
            raise ValueError(_("unknown category {category!r}; use one of: {known}").format(category=shorten(v), known=", ".join(ids)))
        return key

    @field_validator("criticality", "data_sensitivity", mode="before")
    @classmethod
    def _lower(cls, v):
        if not isinstance(v, str):
            return v
        key = " ".join(v.split()).lower()
        return _DUTCH_LEVELS.get(key, key) or None

    @field_validator("users", "notice_days", mode="before")
    @classmethod
    def _count(cls, v):
        if isinstance(v, bool):  # `users: true` is no 1
            raise ValueError(_("{value} is not a number").format(value=str(v).lower()))
        return v

    @field_validator("detected", mode="before")
    @classmethod
    def _bool(cls, v):
        b = _boolean(v)
        return False if b is None else b

    @field_validator("contract_end", mode="before")
    @classmethod
    def _day(cls, v):
        return _date(v)

    @field_validator("contract_end")
    @classmethod
    def _end(cls, v):
        if v is not None and v < EARLIEST_CONTRACT_END:  # year 1 made the notice deadline overflow in `report`
            raise ValueError(_("{day} is before {earliest}: not a contract's end date (write e.g. 2026-09-30)").format(
                day=v.isoformat(), earliest=EARLIEST_CONTRACT_END.isoformat()))
        return v

    @model_validator(mode="after")
    def _product_or_vendor(self):
        if not (self.product or self.vendor or self.product_id):
            raise ValueError(_("give at least a product or a vendor"))
        return self


class Inventory(_Strict):
    organisation: Optional[str] = None
    currency: str = "EUR"
    it_budget: Optional[Decimal] = Field(None, ge=0, le=MAX_AMOUNT, allow_inf_nan=False,
                                         description="annual IT budget (optional)")
    employees: Optional[int] = Field(None, ge=0, le=MAX_PEOPLE)
    as_of: Optional[_dt.date] = None
    items: list[Item] = Field(default_factory=list, max_length=MAX_ITEMS)

    @field_validator("it_budget", mode="before")
    @classmethod
    def _budget(cls, v):
        return _amount(v)

    @model_validator(mode="before")
    @classmethod
    def _euro_amounts_in_euro(cls, data):
        """An amount written in euro (`€ 1.234,56`, `1234 EUR`) in an inventory
        of another currency is refused: the symbol is stripped when read, so
        `currency: USD` showed it as USD 1,235."""
        if not isinstance(data, dict):
            return data
        cur = str(data.get("currency") or "EUR").strip().upper()
        if cur == "EUR":
            return data
        amounts = [("it_budget", data.get("it_budget"))]
        amounts += [(f"items[{i}].annual_cost", it.get("annual_cost")) for i, it in enumerate(data.get("items") or [])
                    if isinstance(it, dict)]
        for where, v in amounts:
            if isinstance(v, str) and ("€" in v or "eur" in v.lower()):
                raise ValueError(_("{field}: {amount!r} is in euro, but the inventory's currency is {currency}; "
                                   "write the amount in {currency}, or set currency: EUR").format(
                                       field=where, amount=shorten(v), currency=shorten(cur)))
        return data

    @field_validator("as_of", mode="before")
    @classmethod
    def _as_of_text(cls, v):
        return _date(v)  # 30-9-2025 as a Dutch spreadsheet writes it; a refused one says how to write it

    @field_validator("as_of")
    @classmethod
    def _as_of(cls, v):
        from stekker.dates import as_of_out_of_range

        why = as_of_out_of_range(v) if v is not None else None
        if why:  # the bounds of --as-of (one rule): year 1 crashed the look-back, 2062 was a typo
            raise ValueError(why)
        return v

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        code = v.strip().upper()
        if code in ("€", "EURO"):
            code = "EUR"
        if code not in currency_codes():
            raise ValueError(_("unknown currency {currency!r}; give an ISO 4217 code such as EUR, USD, GBP, CHF").format(
                currency=shorten(v)))
        return code

    @field_validator("organisation")
    @classmethod
    def _org(cls, v):
        if isinstance(v, str) and len(v) > MAX_TEXT:
            raise ValueError(_("longer than {max} characters").format(max=MAX_TEXT))
        return v
