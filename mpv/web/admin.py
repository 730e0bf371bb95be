"""Administración (admin role): users, offices, document types, local holidays, office hours."""
from __future__ import annotations


def add_admin_routes(app, pages, services, sessions):
    """Register the /admin pages (see the module docstring)."""
