"""The REST application (FastAPI): four endpoints of the benchmarks design note, and jobs.

- ``GET  /api/benchmarks/results?scenario_id=&limit=``: runs and their averages
  (:mod:`.results`);
- ``GET  /api/benchmarks/scenarios``: the scenario catalog, as ``tui-bench scenarios --json``;
- ``POST /api/benchmarks/run``: starts a run in the background (:mod:`.launch`,
  :mod:`.jobs`); 202 with the job id and where to follow it; needs the token;
- ``GET  /api/benchmarks/jobs/{job}``: a job's status, exit code, run id and last lines;
- ``POST /api/benchmarks/metrics/ndcg-temporal``: temporal nDCG@k of a payload
  (core/ranking.py).

Every error is ``{"detail": "one line"}``: 400 a body that is not JSON, 401 a missing or
wrong token, 403 no token configured, 404 an unknown path or job, 409 a job already
running, 422 a value at fault (the line names it), 501 a command this installation lacks.
The token is compared in constant time and never written anywhere.

Reading endpoints take no token: the server binds to loopback unless told otherwise, and
they show what ``tui-bench history`` shows. The nDCG endpoint only computes.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from tui_bench.core.errors import TuiBenchError, UserError
from tui_bench.core.run_listing import LIMIT_DEFAULT, LIMIT_MAX, list_results
from tui_bench.rest.jobs import SHOW_LINES, JobBusy, Jobs
from tui_bench.rest.launch import CommandOptions, LaunchError, launch_for

TOKEN_ENV = "TUI_BENCH_API_TOKEN"
PREFIX = "/api/benchmarks"


def _no_commands(name: str) -> frozenset[str] | None:
    return None


def _detail(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise HTTPException(400, "body: empty; send a JSON object")
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise HTTPException(400, f"body: not valid JSON ({exc})") from None


def _reject_constant(name: str) -> float:
    # Python's json reads NaN and Infinity, which JSON does not have
    raise ValueError(f"{name} is not a JSON number")


def create_app(
    *,
    token: str | None,
    jobs: Jobs | None = None,
    command_options: CommandOptions = _no_commands,
    token_env: str = TOKEN_ENV,
) -> FastAPI:
    """The application. ``token``: what POST /run requires (None: POST /run is refused);
    ``command_options``: a ``tui-bench`` command's long options, None when it is missing."""
    jobs = jobs if jobs is not None else Jobs(hide_env=(token_env,))
    expected = token.encode("utf-8") if token else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(jobs.stop_all)  # a run is stored as interrupted, not orphaned

    app = FastAPI(
        lifespan=lifespan,
        title="tui-bench",
        summary="Benchmark results, scenarios, runs and ranking metrics of tui-bench",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.jobs = jobs

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"][1:]) or str(err["loc"][0])
        return _detail(422, f"{where}: {err['msg']}")

    @app.exception_handler(TuiBenchError)
    async def _server_side(request: Request, exc: TuiBenchError) -> JSONResponse:
        # the history or the user's scenario index at fault, not the request
        return _detail(500, str(exc))

    def require_token(authorization: str | None) -> None:
        if expected is None:
            raise HTTPException(
                403,
                f"starting runs is switched off: set {token_env} to a secret in the "
                "environment of tui-bench serve, and send it as 'Authorization: Bearer <token>'",
            )
        scheme, _, given = (authorization or "").partition(" ")
        ok = scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("utf-8"), expected
        )
        if not ok:
            raise HTTPException(
                401,
                "a valid token is required: send 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    @app.get(f"{PREFIX}/results")
    def results(
        scenario_id: str | None = Query(None, max_length=200),
        limit: int = Query(LIMIT_DEFAULT, ge=1, le=LIMIT_MAX),
    ) -> dict[str, Any]:
        from tui_bench.core.store import Store

        store = Store()
        try:
            return list_results(store, scenario_id=scenario_id, limit=limit)
        finally:
            store.close()

    @app.get(f"{PREFIX}/scenarios")
    def scenarios() -> dict[str, Any]:
        from tui_bench.core.scenarios import load_catalog, user_index_path

        user = user_index_path()
        return {
            "scenarios": [
                s.as_dict() | {"success_threshold": s.thresholds.get("success_rate")}
                for s in load_catalog()
            ],
            "user_index": str(user) if user else None,
        }

    @app.post(f"{PREFIX}/run", status_code=202)
    async def run(request: Request, authorization: str | None = Header(None)) -> JSONResponse:
        require_token(authorization)
        data = await _json_body(request)
        try:
            launch = launch_for(data, command_options)
        except LaunchError as exc:
            return _detail(exc.status, exc.message)
        try:
            job = jobs.start(
                launch.args, kind=launch.kind, target=launch.target, metadata=launch.metadata
            )
        except JobBusy as exc:
            return _detail(409, f"{exc}; one run at a time (runs on one machine skew each other)")
        follow = f"{PREFIX}/jobs/{job.id}"
        body = job.view() | {"follow": follow}
        return JSONResponse(body, status_code=202, headers={"Location": follow})

    @app.get(f"{PREFIX}/jobs/{{job_id}}")
    def job(job_id: str, lines: int = Query(SHOW_LINES, ge=0, le=200)) -> dict[str, Any]:
        found = jobs.get(job_id)
        if found is None:
            raise HTTPException(404, f"job {job_id}: no such job on this server")
        return found.view(lines)

    @app.post(f"{PREFIX}/metrics/ndcg-temporal")
    async def ndcg_temporal(request: Request) -> JSONResponse:
        from tui_bench.core.ranking import parse_payload

        data = await _json_body(request)
        try:
            result = parse_payload(data, "body").compute()
        except UserError as exc:
            return _detail(422, str(exc))
        except (ArithmeticError, ValueError) as exc:  # a value no check foresaw: still input
            return _detail(422, f"body: cannot compute temporal nDCG ({exc})")
        return JSONResponse(result.to_dict())

    return app
