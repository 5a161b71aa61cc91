"""Server-rendered back office: pages and printable documents (entry point: translates only)."""
