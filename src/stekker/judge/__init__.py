"""stekker.judge"""
