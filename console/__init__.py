"""``dangol``: the console of marketing and service staff, a pure client of the public HTTP API.

It imports no service code (``lint-imports`` keeps it so) and works the same against the local
runtime (``make run``) and a deployed stage. Its HTTP client (``console.client``) is the project's
one client of the API.
"""
