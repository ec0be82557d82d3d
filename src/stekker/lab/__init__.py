"""stekker.lab: a loopback DNS lab serving a realistic fake DNS hierarchy
from real servers (knotd authoritative tiers + unbound recursive), used by
the integration tests and the scan benchmark.  See docs/LAB.md.

Stable API::

    from stekker.lab import Lab, LabSpec, Org, profiles, faults

    org = Org(domain="gemeente-a.nl", organisation="Gemeente A", sector="gemeente",
              records=[("gemeente-a.nl", "MX", "10 gemeentea-nl.mail.protection.outlook.com."),
                       ("gemeentea-nl.mail.protection.outlook.com", "A", "52.101.68.5")],
              truth={"mailbox": "microsoft", "mail_inbound": "microsoft"},
              hosts=[])
    spec = LabSpec(orgs=[org, *profiles.generate(200, seed=7)], with_faults=True)
    lab = Lab(spec, workdir=path, net="127.77")
    lab.start()                 # build, start, wait until unbound answers (idempotent)
    lab.resolver                # "127.77.0.53", port 53
    lab.flush()                 # cold cache (restarts unbound)
    lab.write_input(p, fmt="csv")   # or "txt"; csv: domain,organisation,sector,hosts
    lab.write_ip2asn(p)         # iptoasn ip2asn-v4.tsv for the catalogue prefixes
    lab.truth()                 # {domain: truth}
    lab.stop()                  # also: with Lab(spec, ...) as lab: ...

    profiles.generate(n, seed=1, names=None) -> Iterator[Org]   # streaming
    faults.SERVFAIL_DOMAIN, faults.BLACKHOLE_RESOLVER, ... (see stekker.lab.faults)
"""

from stekker.lab import faults, profiles
from stekker.lab.core import Lab, LabError
from stekker.lab.model import NO_FAULTS, FaultMix, LabSpec, Org

__all__ = ["Lab", "LabError", "LabSpec", "Org", "FaultMix", "NO_FAULTS", "profiles", "faults"]
