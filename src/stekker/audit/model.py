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
from decimal import Decimal
from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from stekker.audit.catalog import category_ids

Criticality = Literal["high", "medium", "low"]
Sensitivity = Literal["public", "internal", "confidential", "personal", "special"]

CRITICALITY_LEVELS: tuple[str, ...] = ("high", "medium", "low")
SENSITIVITY_LEVELS: tuple[str, ...] = ("public", "internal", "confidential", "personal", "special")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Export(_Strict):
    formats: list[str] = Field(default_factory=list, description="open/portable export formats (CSV, ODF, EML, ...)")
    api: Optional[bool] = Field(None, description="a documented API to get all data out (None = not known)")
    notes: Optional[str] = None

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
    annual_cost: Optional[Decimal] = Field(None, ge=0, description="annual cost in the inventory currency; empty = unknown")
    users: Optional[int] = Field(None, ge=0)
    criticality: Criticality = "medium"
    stops: list[str] = Field(default_factory=list, description="business functions that stop without this item")
    data_sensitivity: Optional[Sensitivity] = None
    contract_end: Optional[_dt.date] = None
    notice_days: Optional[int] = Field(None, ge=0)
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

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        ids = category_ids()
        key = v.strip().lower().replace("-", "_").replace(" ", "_").replace("/", "_")
        if key not in ids:
            raise ValueError(f"unknown category {v!r}; use one of: {', '.join(ids)}")
        return key

    @field_validator("criticality", "data_sensitivity", mode="before")
    @classmethod
    def _lower(cls, v):
        return v.strip().lower() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _product_or_vendor(self):
        if not (self.product or self.vendor or self.product_id):
            raise ValueError("give at least a product or a vendor")
        return self


class Inventory(_Strict):
    organisation: Optional[str] = None
    currency: str = "EUR"
    it_budget: Optional[Decimal] = Field(None, ge=0, description="annual IT budget (optional)")
    employees: Optional[int] = Field(None, ge=0)
    as_of: Optional[_dt.date] = None
    items: list[Item] = Field(default_factory=list)
