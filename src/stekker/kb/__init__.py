"""stekker.kb"""
