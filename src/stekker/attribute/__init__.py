"""Attribute: who runs each service (provider -> company -> parent -> jurisdiction).

``attribute(evidence, kb, as_of)`` is the stage's entry point; see
``stekker.attribute.model`` for the result contract.
"""
