"""The site's routers: ``pages`` (HTML), ``api`` (JSON under /api/v1), ``badges``."""
