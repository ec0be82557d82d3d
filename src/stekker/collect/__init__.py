"""stekker.collect"""
