"""The FastAPI application: `/v1` REST and OpenAI-compatible routes, their errors, limits and guard.

The web chat mounts onto this same application (qa/apps/webchat/server.py), so one server and one
port serve the chat, Gradio's `/ask` and the API.
"""

from collections.abc import Mapping

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from starlette.routing import compile_path

from qa.apps.http import errors
from qa.apps.http.auth import Guard
from qa.apps.http.errors import ApiError
from qa.apps.http.limits import BodyLimit
from qa.apps.http.openai_chat import chat_router
from qa.apps.http.routes import health_router, package_version, rest_router
from qa.notebooks import Notebooks
from qa.service import QAService

JSON_BODY_LIMIT = 1_000_000  # a question, a history and options; far more than max_question_chars needs
_MULTIPART_OVERHEAD = 1_000_000


def create_api(
    services: Mapping[str, QAService],
    guard: Guard | None = None,
    cors_origins: list[str] | None = None,
    notebooks: Notebooks | None = None,
) -> FastAPI:
    """The API over the answer models a server offers (the first is the default) and the web chat's
    notebooks; `guard` checks callers."""
    guard = guard or Guard(None, [])
    settings = next(iter(services.values())).settings
    app = FastAPI(
        title="docqa",
        version=package_version(),
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        description="Answers from your documents; every claim cites its exact passage. "
        'Errors are `{"error": {"type", "message", "hint"}}`.',
    )
    errors.install(app)
    secured = [Depends(guard)]
    routers = {"docqa": rest_router(services, notebooks), "OpenAI-compatible": chat_router(services)}
    for tag, router in routers.items():
        app.include_router(router, prefix="/v1", dependencies=secured, tags=[tag])
    routers["health"] = health_router(services)
    app.include_router(routers["health"], prefix="/v1", tags=["docqa"])
    app.include_router(_unknown_under_v1(list(routers.values())), prefix="/v1")
    upload_limit = settings.max_upload_files * settings.max_file_bytes + _MULTIPART_OVERHEAD

    def limit_for(method: str, path: str) -> int | None:
        if not path.startswith("/v1/") or method in ("GET", "HEAD", "OPTIONS"):
            return None
        return upload_limit if path.rstrip("/") == "/v1/documents" else JSON_BODY_LIMIT

    app.add_middleware(BodyLimit, limit_for=limit_for)
    if cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=cors_origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    return app


def _unknown_under_v1(routers: list[APIRouter]) -> APIRouter:
    """Any other `/v1` request is a JSON 404, or a 405 naming the methods a known path takes."""
    known = [
        (compile_path("/v1" + route.path)[0], route.methods)
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    router = APIRouter(include_in_schema=False)

    @router.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    def unknown(path: str, request: Request) -> None:
        allowed = sorted({m for pattern, methods in known if pattern.match(f"/v1/{path}") for m in methods or ()})
        if allowed:
            raise ApiError(
                405,
                f"/v1/{path} does not take {request.method}; it takes {', '.join(allowed)}.",
                headers={"Allow": ", ".join(allowed)},
            )
        raise ApiError(404, f"No API endpoint /v1/{path}.", "The endpoints are listed at /docs.")

    return router
