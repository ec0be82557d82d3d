"""stekker.lab"""
