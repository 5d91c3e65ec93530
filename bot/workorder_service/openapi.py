"""The OpenAPI 3.1 document of the work-order API, served at ``/openapi.json``.

Written by hand next to the routes (``ACTIONS`` drives both the router and the paths
below), and a test checks that every route is documented and every documented path routed.
"""

from __future__ import annotations

from typing import Any

from bot.workorders.lifecycle import Action

_TEXT = {"type": "string"}

# action -> (path segment, who may call it, request body properties, required properties)
ACTIONS: dict[Action, tuple[str, str, dict[str, Any], list[str]]] = {
    Action.SUPPLEMENT: ("supplement", "client", {"phone": _TEXT, "text": _TEXT}, ["phone", "text"]),
    Action.RATE: (
        "rate",
        "client",
        {
            "phone": _TEXT,
            "rating": {
                "type": "string",
                "enum": ["satisfied", "basically_satisfied", "dissatisfied"],
            },
            "comment": _TEXT,
        },
        ["phone", "rating"],
    ),
    Action.CANCEL: ("cancel", "client", {"phone": _TEXT, "reason": _TEXT}, ["phone"]),
    Action.MERGE: (
        "merge",
        "client",
        {
            "request": {"$ref": "#/components/schemas/CitizenRequest"},
            "acceptance_no": {"$ref": "#/components/schemas/AcceptanceNo"},
        },
        ["request"],
    ),
    Action.SIGN: ("sign", "department", {"note": _TEXT}, []),
    Action.START: ("start", "department", {"note": _TEXT}, []),
    Action.REPLY: ("reply", "department", {"text": _TEXT}, ["text"]),
    Action.RETURN: ("return", "department", {"reason": _TEXT}, ["reason"]),
    Action.REQUEST_EXTENSION: (
        "extension",
        "department",
        {"days": {"type": "integer", "minimum": 1}, "reason": _TEXT},
        ["days", "reason"],
    ),
    Action.DISPATCH: ("dispatch", "center", {"department": _TEXT, "reason": _TEXT}, ["department"]),
    Action.REASSIGN: ("reassign", "center", {"department": _TEXT, "reason": _TEXT}, ["department"]),
    Action.DECIDE_EXTENSION: (
        "extension/decision",
        "center",
        {"approve": {"type": "boolean"}, "note": _TEXT},
        ["approve"],
    ),
    Action.SUPERVISE: ("supervise", "center", {"reason": _TEXT}, []),
    Action.CLOSE: ("close", "center", {"note": _TEXT}, []),
}

ORDER_NO_PATTERN = r"GD\d{13}"

_DESCRIPTION = """\
The reference 12345 work-order platform (工单系统) of the hotline assistant. Deployments may
point the assistant at their own platform instead; this API is what its connector speaks.

Life cycle: 受理 accepted → 派单 dispatched → 签收 signed → 办理 handling → 答复 replied
(待回访) → 办结 closed, with 退单 (returned), 改派 (reassign), 延期 (extension), 督办
(supervise), 重办 (a 不满意 rating reopens the order) and 撤销 (cancelled).

Authentication (`Authorization: Bearer <token>`):
* **client** — `WORKORDER_API_TOKEN`, the assistant acting for citizens;
* **center** — a token issued with `python -m bot workorder-token --center`;
* **department** — a token issued with `python -m bot workorder-token --department NAME`,
  valid for that department's orders only.

Every write accepts an `Idempotency-Key` header (required on create): repeating a request
with the same key returns the result of the first one. Errors are
`{"error": code, "message": 中文说明}`. Every status change is POSTed to
`WORKORDER_WEBHOOK_URL`, signed with `X-Workorder-Signature: t=<unix>,v1=<hex HMAC-SHA256
of "<t>.<body>">` (see `bot/workorders/webhooks.py` for verification).
"""


def _error_responses(*codes: int) -> dict[str, Any]:
    texts = {
        400: "Malformed request",
        401: "Missing or invalid token",
        403: "Not allowed for this caller (or contact verification failed)",
        404: "No such order",
        409: "Not allowed in the order's current state",
        415: "Body is not JSON",
        422: "Invalid field",
        429: "Too many failed verifications",
    }
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {str(code): {"description": texts[code], "content": error} for code in codes}


def _order_response(description: str = "The order") -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Order"}}},
    }


def _body(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_ORDER_NO = {
    "name": "order_no",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": ORDER_NO_PATTERN},
    "example": "GD2026112900012",
}
_IDEMPOTENCY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "maxLength": 128},
}


def _paths() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/api/v1/orders": {
            "post": {
                "summary": "受理: create a work order (client)",
                "parameters": [{**_IDEMPOTENCY, "required": True}],
                "requestBody": _body(
                    {
                        "request": {"$ref": "#/components/schemas/CitizenRequest"},
                        "accepted_at": {
                            "type": "string",
                            "format": "date-time",
                            "description": "when the citizen was told; more than 7 days "
                            "ago gives an order with late_delivery: true",
                        },
                        "acceptance_no": {"$ref": "#/components/schemas/AcceptanceNo"},
                    },
                    ["request"],
                ),
                "responses": {
                    "201": _order_response("Created"),
                    "200": _order_response("Created earlier with the same Idempotency-Key"),
                    **_error_responses(400, 401, 403, 415, 422),
                },
            },
            "get": {
                "summary": "List orders (center: all, department: its own)",
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "schema": {"$ref": "#/components/schemas/Status"},
                    },
                    {
                        "name": "card",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["none", "yellow", "red"]},
                    },
                    {"name": "department", "in": "query", "schema": _TEXT},
                    {
                        "name": "limit",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                    },
                    {
                        "name": "cursor",
                        "in": "query",
                        "description": "next_cursor of the previous page",
                        "schema": _TEXT,
                    },
                ],
                "responses": {
                    "200": {
                        "description": "A page of orders by deadline, the total and the cursor",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/OrderPage"}
                            }
                        },
                    },
                    **_error_responses(401, 403, 422),
                },
            },
        },
        "/api/v1/orders/search": {
            "post": {
                "summary": "A citizen's orders by phone, after verification (client)",
                "requestBody": _body(
                    {"phone": _TEXT, "proof": {"$ref": "#/components/schemas/ContactProof"}},
                    ["phone", "proof"],
                ),
                "responses": {
                    "200": {
                        "description": "Orders, newest first",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/OrderList"}
                            }
                        },
                    },
                    **_error_responses(401, 403, 422, 429),
                },
            }
        },
        "/api/v1/orders/similar": {
            "post": {
                "summary": "并单 candidates: open orders about the same matter at the same place",
                "requestBody": _body(
                    {
                        "request": {"$ref": "#/components/schemas/CitizenRequest"},
                        "limit": {"type": "integer", "minimum": 1, "maximum": 10},
                    },
                    ["request"],
                ),
                "responses": {
                    "200": {
                        "description": "Candidates, best first",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "candidates": {
                                            "type": "array",
                                            "items": {
                                                "$ref": "#/components/schemas/MergeCandidate"
                                            },
                                        }
                                    },
                                }
                            }
                        },
                    },
                    **_error_responses(401, 403, 422),
                },
            }
        },
        "/api/v1/orders/{order_no}": {
            "get": {
                "summary": "One order: status for anyone with the number; content with X-Contact-Phone of a contact, a center token or the handling department's token",
                "parameters": [
                    _ORDER_NO,
                    {"name": "X-Contact-Phone", "in": "header", "required": False, "schema": _TEXT},
                ],
                "responses": {"200": _order_response(), **_error_responses(401, 404)},
            }
        },
    }
    for action, (segment, caller, properties, required) in ACTIONS.items():
        paths[f"/api/v1/orders/{{order_no}}/{segment}"] = {
            "post": {
                "summary": f"{action.label} ({caller})",
                "parameters": [_ORDER_NO, _IDEMPOTENCY],
                "requestBody": _body(properties, required),
                "responses": {
                    "200": _order_response("The order after the change"),
                    **_error_responses(401, 403, 404, 409, 415, 422),
                },
            }
        }
    for path, summary in (
        ("/healthz", "Liveness"),
        ("/readyz", "Readiness (database reachable)"),
        ("/openapi.json", "This document"),
    ):
        paths[path] = {
            "get": {"summary": summary, "security": [], "responses": {"200": {"description": "OK"}}}
        }
    return paths


_SCHEMAS: dict[str, Any] = {
    "Status": {
        "type": "string",
        "enum": [
            "accepted",
            "dispatched",
            "signed",
            "handling",
            "returned",
            "replied",
            "closed",
            "cancelled",
        ],
    },
    "CitizenRequest": {
        "type": "object",
        "required": ["content", "phone"],
        "properties": {
            "content": {"type": "string", "maxLength": 2000, "description": "诉求内容"},
            "phone": {
                "type": "string",
                "description": "mainland mobile or landline with area code",
            },
            "address": {"type": "string", "description": "地点"},
            "district": {"type": "string", "description": "区县, for 属地 and 并单"},
            "name": {"type": "string", "description": "称呼 (optional)"},
            "request_type": {"type": "string", "description": "咨询/求助/投诉/举报/建议/表扬"},
            "department": {
                "type": "string",
                "description": "承办单位; dispatched at once when given",
            },
            "urgent": {"type": "boolean"},
            "confidential": {"type": "boolean", "description": "保密: never offered for 并单"},
            "consent_to_contact": {"type": "boolean"},
            "channel": {"type": "string", "description": "webchat, wechat… for webhooks"},
            "channel_user": {"type": "string"},
            "conversation_id": {"type": "string"},
        },
    },
    "ContactProof": {
        "type": "object",
        "description": "One of: an order or acceptance number registered with the phone, or the channel identity that registered one",
        "properties": {"order_no": _TEXT, "channel": _TEXT, "channel_user": _TEXT},
    },
    "Deadline": {
        "type": "object",
        "properties": {
            "due_at": {"type": "string", "format": "date-time"},
            "kind": _TEXT,
            "description": _TEXT,
            "in_hours": {"type": "boolean"},
        },
    },
    "OrderEvent": {
        "type": "object",
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "action": _TEXT,
            "label": _TEXT,
            "status": {"$ref": "#/components/schemas/Status"},
            "note": _TEXT,
        },
    },
    "Order": {
        "type": "object",
        "properties": {
            "order_no": {"type": "string", "pattern": ORDER_NO_PATTERN},
            "status": {"$ref": "#/components/schemas/Status"},
            "status_label": _TEXT,
            "department": _TEXT,
            "request_type": _TEXT,
            "accepted_at": {"type": "string", "format": "date-time"},
            "deadline": {"anyOf": [{"$ref": "#/components/schemas/Deadline"}, {"type": "null"}]},
            "card": {"type": "string", "enum": ["none", "yellow", "red"]},
            "supervised": {"type": "boolean"},
            "rework_count": {"type": "integer"},
            "rating": {"type": ["string", "null"]},
            "acceptance_no": _TEXT,
            "full": {"type": "boolean", "description": "false: status only (caller not a contact)"},
            "content": _TEXT,
            "address": _TEXT,
            "reply": _TEXT,
            "history": {"type": "array", "items": {"$ref": "#/components/schemas/OrderEvent"}},
            "late_delivery": {
                "type": "boolean",
                "description": "delivered more than 7 days after accepted_at (after an outage); "
                "the time limit runs from the delivery",
            },
        },
    },
    "OrderList": {
        "type": "object",
        "properties": {
            "orders": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}}
        },
    },
    "OrderPage": {
        "type": "object",
        "required": ["orders", "total", "next_cursor"],
        "properties": {
            "orders": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}},
            "total": {"type": "integer", "description": "orders matching the filters"},
            "next_cursor": {
                "type": ["string", "null"],
                "description": "pass as cursor for the next page; null on the last page",
            },
        },
    },
    "AcceptanceNo": {
        "type": "string",
        "pattern": r"SL\d{13}",
        "description": "受理号 given to the citizen; the Idempotency-Key is separate",
    },
    "MergeCandidate": {
        "type": "object",
        "properties": {
            "number": _TEXT,
            "summary": _TEXT,
            "address": _TEXT,
            "department": _TEXT,
            "status_label": _TEXT,
            "score": {"type": "number"},
            "reason": _TEXT,
        },
    },
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": _TEXT,
            "message": {"type": "string", "description": "中文说明"},
            "field": {"type": "string", "description": "the invalid field (invalid_field only)"},
        },
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "12345 work-order service",
            "version": "1.0.0",
            "description": _DESCRIPTION,
        },
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _SCHEMAS,
        },
    }
