"""One OpenAPI document for the whole system, and an offline docs page.

Each function's resolver generates its part from its pydantic models; the
parts are merged, given the Cognito bearer scheme and the local server URL.
Swagger UI's assets come from the Powertools package, so /docs needs no CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi import swagger_ui

from shared.topology import System

ASSETS = Path(swagger_ui.__file__).parent
ASSET_FILES = {
    "swagger-ui-bundle.min.js": "application/javascript",
    "swagger-ui.min.css": "text/css",
}


def merge(system: System, parts: list[dict[str, Any]], *, server_url: str, version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for part in parts:
        for path, operations in part.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        schemas.update(part.get("components", {}).get("schemas", {}))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": f"{system.name} API",
            "version": version,
            "description": (
                "The dangol CRM API. Every route needs a Cognito token (Authorization: Bearer <ID token>); "
                "errors are {error: {code, message, details}}; mutating routes honour Idempotency-Key."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {
                "cognito": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A Cognito ID or access token; `make token ROLE=...` mints one locally.",
                }
            },
        },
        "security": [{"cognito": []}],
        "tags": [{"name": s.name} for s in system.services],
    }


DOCS_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>dangol API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.min.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.min.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "/openapi.json",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
    });
  </script>
</body>
</html>
"""


def asset(name: str) -> tuple[bytes, str] | None:
    if name not in ASSET_FILES:
        return None
    return (ASSETS / name).read_bytes(), ASSET_FILES[name]
