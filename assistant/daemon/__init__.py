"""The daemon: HTTP API on a Unix socket (and loopback TCP), apps and tokens, service packaging."""
