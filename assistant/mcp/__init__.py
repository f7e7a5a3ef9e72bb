"""MCP server: the tool table (table.py) and its two transports (server.py)."""
