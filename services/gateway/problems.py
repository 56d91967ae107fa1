"""RFC 9457 problem details: every error the gateway returns, in one shape."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from typing import Any

from fastapi.responses import JSONResponse

from services.common.logs import request_id_var

PROBLEM_JSON = "application/problem+json"
PROBLEM_TYPE_BASE = "https://gaoxin.example/problems/"

# Accept-Language decides the language of `title` and `detail`: zh* gives Chinese, anything else English.
language_var: ContextVar[str] = ContextVar("language", default="en")

TITLES_ZH = {
    400: "请求格式错误",
    401: "未认证",
    403: "无权访问",
    404: "资源不存在",
    405: "请求方法不允许",
    409: "冲突",
    413: "请求体过大",
    415: "不支持的媒体类型",
    422: "请求内容无效",
    429: "请求过于频繁",
    500: "服务器内部错误",
    503: "服务暂不可用",
    504: "后端服务超时",
}

# Chinese details by stable code; the English detail, which may name the resource, follows in brackets.
DETAILS_ZH = {
    "unauthenticated": "请在 Authorization 请求头中以 Bearer 方式提供有效的 API 密钥",
    "forbidden": "该 API 密钥缺少此操作所需的权限范围",
    "key_in_query": "API 密钥只能放在 Authorization 请求头中，不得出现在 URL 中",
    "rate_limited": "该 API 密钥的请求配额已用完，请稍后重试",
    "validation_failed": "请求内容有字段无效，详见 errors",
    "malformed_body": "请求体无法读取",  # not JSON, empty, not UTF-8, too deep, a member named twice: the detail says
    "body_too_large": "请求体超过大小上限",
    "not_found": "请求的资源不存在",
    "method_not_allowed": "该路径不支持此请求方法",
    "idempotency_key_mismatch": "该 Idempotency-Key 已用于另一个不同的请求",
    "idempotency_key_in_use": "使用该 Idempotency-Key 的请求仍在处理中",
    "bad_idempotency_key": "Idempotency-Key 长度须为 1 至 255 个字符",
    "conflict": "与已有数据冲突",
    "webhook_disabled": "该 Webhook 订阅已停用，其投递不再重发",
    "delivery_not_retryable": "只有失败或已放弃的投递可以重发",
    "unavailable": "后端服务暂不可用，请稍后重试",
    "deadline_exceeded": "后端服务未能及时响应，请稍后重试",
    "not_ready": "服务尚未就绪",
    "shutting_down": "服务正在关闭",
    "internal": "服务器内部错误",
}

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class Problem(Exception):
    """Raised anywhere in the gateway to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        code: str,
        errors: Sequence[dict[str, Any]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code
        self.errors = list(errors)
        self.headers = headers or {}


# A batch of 10,000 bad rows answers with the first 1,000 problems, not a 10,000-entry document.
MAX_LISTED_ERRORS = 1000


# Pydantic's error types for a value that is not a date (a wrong type, a bad format, 2021-13-01, 2021-02-30): one
# message says what a date must be, and pydantic's own words say what was wrong with this one.
DATE_ERROR_TYPES = frozenset({"date_type", "date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact"})


def validation_message(error: Mapping[str, Any]) -> str:
    """A pydantic error's message as the API words it: without pydantic's "Value error, " prefix (our validators
    raise ValueError with the whole message), and every malformed date said the same way."""
    if error.get("type") == "model_type":  # "Input should be a valid dictionary or instance of EnterpriseIn"
        return "must be an object"
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    if error.get("type") in DATE_ERROR_TYPES and not message.startswith("must be a date"):
        return f"must be a date written YYYY-MM-DD ({message[0].lower() + message[1:] if message else 'invalid'})"
    return message


def validation_problem(errors: Sequence[dict[str, Any]]) -> Problem:
    """The 422 listing invalid fields (`{"location", "message"}`), the first MAX_LISTED_ERRORS of them."""
    listed = errors[:MAX_LISTED_ERRORS]
    more = f"; the first {len(listed)} are listed" if len(errors) > len(listed) else ""
    return Problem(422, f"{len(errors)} invalid field(s){more}", "validation_failed", listed)


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


def preferred_language(accept_language: str) -> str:
    """ "zh" when the first language the client names is Chinese (zh, zh-CN, zh-Hans…), else "en"."""
    first = accept_language.split(",")[0].split(";")[0].strip().lower()
    return "zh" if first.startswith("zh") else "en"


def problem_response(problem: Problem) -> ProblemResponse:
    title, detail = TITLES.get(problem.status, "Error"), problem.detail
    if language_var.get() == "zh":
        title = TITLES_ZH.get(problem.status, "错误")
        zh = DETAILS_ZH.get(problem.code, title)
        detail = f"{zh}（{problem.detail}）" if problem.detail and problem.detail != zh else zh
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + problem.code,
        "title": title,
        "status": problem.status,
        "detail": detail,
        "code": problem.code,
        "request_id": request_id_var.get(),
    }
    if problem.errors:
        body["errors"] = problem.errors
    return ProblemResponse(body, status_code=problem.status, headers=problem.headers)
