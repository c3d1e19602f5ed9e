"""The offline docs page of the local runtime's OpenAPI document (``infra.openapi.merge``).

Swagger UI's assets come from the Powertools package, so /docs needs no CDN.
"""

from __future__ import annotations

from pathlib import Path

from aws_lambda_powertools.event_handler.openapi import swagger_ui

ASSETS = Path(swagger_ui.__file__).parent
ASSET_FILES = {
    "swagger-ui-bundle.min.js": "application/javascript",
    "swagger-ui.min.css": "text/css",
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
