"""stekker.report"""
