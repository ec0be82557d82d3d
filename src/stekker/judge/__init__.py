"""Judge: is one dependency sovereign under a stated definition, as of a date?

Every verdict stekker shows is made here; the report, the exports and any
later web page or API only tally and render what this package returns.

Policies are data (``judge/data/policies.yaml``, plus a user file given with
``stekker report --policies FILE``).  The entry points::

    policies = load_policies()                       # shipped presets
    policies = load_policies("my-policies.yaml")     # + user-defined ones
    v = judge(service, kb, policies["nos"], as_of=date(2026, 1, 1))
    v.verdict            # "sovereign" | "not_sovereign" | "unknown" | "error"
    v.reason("nl")       # a plain sentence, from the data file's templates
    judge(service, ...)  # None when the service is "absent" (no dependency)

    seal(service, kb, as_of)  # {"SOV-1": SealLevel, "SOV-2": SealLevel}

    results = judge_results(attributions, kb, policies.select(None), as_of)
    results[0].verdict["nos"]  # the domain's verdict: combine() of its dependencies

Modules, one responsibility each (this file only re-exports them):

* :mod:`.policies`      policy files -> :class:`PolicyConfig` (country sets, checks, reasons)
* :mod:`.facts`         what the knowledge base says about one dependency on a date
* :mod:`.evaluate`      one policy on one dependency: :func:`judge`, :class:`Verdict`
* :mod:`.seal`          SEAL levels of the EU Cloud Sovereignty Framework
* :mod:`.domain`        a domain's dependencies and verdict, the input's extra hosts
* :mod:`.explanations`  "pas toe of leg uit": explanations shown next to verdicts
"""

from stekker.kb import as_date  # also part of this package's API (stekker report --as-of)

from .domain import (
    DOMAIN_VERDICTS,
    HOST_ABSENT,
    HOST_CATEGORY,
    NONE,
    NXDOMAIN,
    Dependency,
    DomainResult,
    HostResult,
    combine,
    dependencies,
    judge_domain,
    judge_hosts,
    judge_results,
    looks_at_hosts,
    organisations_of,
    provider_key,
    sectors_of,
)
from .evaluate import ERROR, NOT_SOVEREIGN, SOVEREIGN, UNKNOWN, VERDICTS, Reason, Verdict, judge
from .explanations import Explanation, ExplanationError, load_explanations
from .facts import Entity, Facts, facts
from .policies import (
    CHECK_KINDS,
    DEFAULT_LIKELY,
    DEFAULT_LOCATION_TABLE,
    LIKELY_MODES,
    NETWORK_MODES,
    Policy,
    PolicyConfig,
    PolicyError,
    load_policies,
)
from .seal import SealLevel, seal, seal_table

__all__ = [
    "CHECK_KINDS",
    "DEFAULT_LIKELY",
    "DEFAULT_LOCATION_TABLE",
    "DOMAIN_VERDICTS",
    "ERROR",
    "HOST_ABSENT",
    "HOST_CATEGORY",
    "LIKELY_MODES",
    "NETWORK_MODES",
    "NONE",
    "NOT_SOVEREIGN",
    "NXDOMAIN",
    "SOVEREIGN",
    "UNKNOWN",
    "VERDICTS",
    "Dependency",
    "DomainResult",
    "Entity",
    "Explanation",
    "ExplanationError",
    "Facts",
    "HostResult",
    "Policy",
    "PolicyConfig",
    "PolicyError",
    "Reason",
    "SealLevel",
    "Verdict",
    "as_date",
    "combine",
    "dependencies",
    "facts",
    "judge",
    "judge_domain",
    "judge_hosts",
    "judge_results",
    "load_explanations",
    "load_policies",
    "looks_at_hosts",
    "organisations_of",
    "provider_key",
    "sectors_of",
    "seal",
    "seal_table",
]
