"""correo"""
