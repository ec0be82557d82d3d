"""Input: the list of domains to scan (placeholder, full reader follows)."""

from __future__ import annotations

from dataclasses import dataclass, field


class InputError(Exception):
    """The input file cannot be used at all (no valid row, undecodable, ...)."""

    def __init__(self, message: str, issues: list | None = None):
        super().__init__(message)
        self.issues = list(issues or [])


@dataclass(slots=True)
class InputIssue:
    line: int | None
    raw: str | None
    kind: str
    reason: str

    def to_dict(self) -> dict:
        return {"line": self.line, "raw": self.raw, "kind": self.kind, "reason": self.reason}


@dataclass(slots=True)
class Target:
    domain: str
    input_name: str | None = None
    organisations: list[str] = field(default_factory=list)
    sectors: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    duplicate: bool = False
