"""The OpenAPI 3.1 description of ``/api/`` (served at ``/api/openapi.json``).

The responses are the CLI's documented JSON documents: ``chain --format
json`` and ``diagnose --format json`` (docs/json-schema.md, schema served at
``/api/schema/diagnosis.json``) and ``explain --format json``
(docs/explain.md, "JSON output").
"""

from __future__ import annotations

from typing import Any

_ERROR = {
    "type": "object",
    "required": ["error", "status"],
    "properties": {
        "error": {"type": "string", "description": "one line saying what was wrong"},
        "status": {"type": "integer"},
    },
}

_CERTS = {
    "chain": {
        "type": "string",
        "description": "the chain as text: PEM (any text around it, e.g. an "
        "`openssl s_client -showcerts` transcript) or base64 of a PEM (a Kubernetes "
        "secret's tls.crt); the first certificate is the leaf",
    },
    "chain_base64": {
        "type": "string",
        "contentEncoding": "base64",
        "description": "a chain file's bytes, base64-encoded: DER, PKCS#7 or PKCS#12",
    },
    "root": {
        "type": "string",
        "description": "the root(s) the clients should trust, as text (like `chain --trust "
        "ROOT.pem`); without it, the server's anchors (Mozilla's roots unless started with "
        "--trust)",
    },
    "root_base64": {"type": "string", "contentEncoding": "base64"},
    "host": {"type": "string", "description": "the host name (or IP) to check (`--host`)"},
    "password": {"type": "string", "description": "PKCS#12 password"},
}


def _responses(ok: dict[str, Any], what: str) -> dict[str, Any]:
    err = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "200": {"description": what, "content": {"application/json": {"schema": ok}}},
        "400": {"description": "unusable input (the CLI's exit 2)", **err},
        "403": {"description": "refused (cross-site request; a target not allowed)", **err},
        "413": {"description": "the body or an input is over the server's limits", **err},
        "503": {"description": "busy: too many analyses waiting", **err},
    }


def document(*, endpoint: bool, version: str) -> dict[str, Any]:
    """The OpenAPI document (``endpoint``: whether ``/api/endpoint`` is enabled)."""
    diagnosis = {"$ref": "/api/schema/diagnosis.json"}
    paths: dict[str, Any] = {
        "/api/chain": {
            "post": {
                "summary": "Judge pasted certificates for each client (trustdoctor chain)",
                "description": "The same document `trustdoctor chain --format json --trust ROOT "
                "--client go,openssl,curl,python,node,java,webpki` prints.",
                "operationId": "chain",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": _CERTS}
                        }
                    },
                },
                "responses": _responses(diagnosis, "the diagnosis (docs/json-schema.md)"),
            }
        },
        "/api/explain": {
            "post": {
                "summary": "Name the causes of a TLS error line or log excerpt (trustdoctor "
                "explain)",
                "operationId": "explain",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["text"],
                                "properties": {"text": {"type": "string"}},
                            }
                        }
                    },
                },
                "responses": _responses(
                    {"$ref": "#/components/schemas/Explain"},
                    "what `explain --format json` prints (docs/explain.md)",
                ),
            }
        },
        "/healthz": {
            "get": {
                "summary": "Liveness, and request counters (never content)",
                "operationId": "health",
                "responses": {"200": {"description": "ok"}},
            }
        },
    }
    if endpoint:
        paths["/api/endpoint"] = {
            "post": {
                "summary": "Connect to an allowed endpoint and judge its chain (trustdoctor "
                "diagnose)",
                "description": "Only targets the server's --allow-target names; decided before "
                "any connection, which then goes to the address checked.",
                "operationId": "endpoint",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["target"],
                                "properties": {
                                    "target": {"type": "string", "description": "host:port"},
                                    "root": _CERTS["root"],
                                    "root_base64": _CERTS["root_base64"],
                                },
                            }
                        }
                    },
                },
                "responses": _responses(diagnosis, "the diagnosis (docs/diagnose.md)"),
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "trustdoctor serve",
            "version": version,
            "description": "Diagnose TLS trust failures from what you paste: server side or "
            "client side, which client, why, and the fix.  Paste-only unless the server was "
            "started with --allow-target.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                "Error": _ERROR,
                "Explain": {
                    "type": "object",
                    "required": ["schema_version", "kind", "recognised", "matches"],
                    "properties": {
                        "schema_version": {"const": 1},
                        "kind": {"const": "explain"},
                        "recognised": {"type": "boolean"},
                        "lines": {"type": "integer"},
                        "matches": {"type": "array", "items": {"type": "object"}},
                        "dropped": {"type": "integer"},
                        "unrecognised": {"type": "object"},
                    },
                },
            }
        },
    }
