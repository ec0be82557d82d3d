"""stekker: who can pull the plug on this organisation?

The data path: targets -> collect (raw DNS evidence) -> attribute (who runs it)
-> judge (policy) -> report.  See docs/ARCHITECTURE.md.
"""

__version__ = "0.1.0"
