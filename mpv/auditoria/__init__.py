"""auditoria"""
