"""Renderers: one result document in, text out (JSON, terminal text, and later SARIF, JUnit, Markdown)."""
