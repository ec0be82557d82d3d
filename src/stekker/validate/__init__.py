"""Validation of stekker against independent peers."""
