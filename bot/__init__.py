"""Composition root: settings, factory, runners, health server, logging."""
