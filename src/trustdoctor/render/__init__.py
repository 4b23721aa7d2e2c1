"""Renderers: views of results (text for people, JSON for machines). Pure."""
