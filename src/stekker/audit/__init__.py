"""stekker.audit"""
