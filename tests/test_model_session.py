"""The shared keep-it-loaded loop (core/backends/session.py) with a stand-in backend:
a crash reloads, a configuration crash switches once to the safer spec and flags what
follows, the reload limit and a failed load become the request's one-line reason."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tui_bench.core.backends.base import Backend, GenRequest, LoadInfo, OnTokens
from tui_bench.core.backends.session import ModelSession, SessionFailed
from tui_bench.core.errors import BackendError
from tui_bench.core.plan import ModelSpec
from tui_bench.core.results import GenOutcome

REASON = "weight repacking turned off: the stand-in crashed"


class StandIn(Backend):
    """Loads unless its source is "missing"; dies when told; offers ``safer`` after."""

    fallback_flag = "stand_in_safer"

    def __init__(self, spec: ModelSpec, path: Path | None, made: list[StandIn]) -> None:
        super().__init__(spec, path)
        made.append(self)
        self.n = len(made)
        self.dead = False
        self.closed = 0
        self.safer: tuple[ModelSpec, str] | None = None

    async def load(self) -> LoadInfo:
        if self.spec.source == "missing":
            raise BackendError("missing: no such file")
        return LoadInfo(load_ms=10.0 * self.n, pid=100 + self.n, info={"repack": self.spec.repack})

    async def generate(self, request: GenRequest, on_tokens: OnTokens) -> GenOutcome:
        raise NotImplementedError

    def cancel(self) -> None:
        pass

    async def close(self) -> None:
        self.closed += 1

    @property
    def alive(self) -> bool:
        return not self.dead

    def fallback(self) -> tuple[ModelSpec, str] | None:
        return self.safer


def session(source: str = "m.gguf") -> tuple[ModelSession, list[StandIn], list[Any]]:
    made: list[StandIn] = []
    said: list[Any] = []
    s = ModelSession(
        "m",
        ModelSpec(id="m", source=source, repack="auto"),
        Path("m.gguf"),
        make=lambda spec, path: StandIn(spec, path, made),
        log=lambda level, text: said.append((level, text)),
        on_load=lambda s: said.append(("loaded", s.load_ms, dict(s.info))),
    )
    return s, made, said


def test_a_crash_reloads_the_same_configuration() -> None:
    async def go() -> None:
        s, made, said = session()
        first = await s.ensure_loaded()
        assert await s.ensure_loaded() is first  # alive: nothing to do
        made[0].dead = True
        second = await s.ensure_loaded()
        assert second is made[1] and made[0].closed == 1 and s.reloads == 1
        assert said == [
            ("loaded", 10.0, {"repack": "auto", "pid": 101}),
            ("warning", "m: reloading the model after a crash"),
            ("loaded", 20.0, {"repack": "auto", "pid": 102}),
        ]
        # a plain crash offers no safer configuration: the failed request is kept, unflagged
        assert await s.after_failure(False) is False
        flags: list[str] = []
        s.flag(flags)
        assert flags == [] and "fallback" not in s.info
        await s.close()
        assert made[1].closed == 1 and s.backend is None and not s.held

    asyncio.run(go())


def test_a_configuration_crash_switches_once_and_flags_what_follows() -> None:
    async def go() -> None:
        s, made, said = session()
        await s.ensure_loaded()
        assert await s.after_failure(True) is False  # a request that went well
        made[0].safer = (made[0].spec.model_copy(update={"repack": False}), REASON)
        made[0].dead = True
        assert await s.after_failure(False) is True  # retry the same request
        assert made[0].closed == 1 and s.backend is None and not s.held
        assert s.local.repack is False and s.fallback == REASON
        await s.ensure_loaded()
        assert s.reloads == 0  # the switch is not a reload after a crash
        assert made[1].spec.repack is False and s.held
        assert s.info == {"repack": False, "pid": 102, "fallback": REASON}
        assert said[1:] == [
            ("warning", f"m: {REASON}; reloading"),
            ("loaded", 20.0, {"repack": False, "pid": 102, "fallback": REASON}),
        ]
        flags = ["other"]
        s.flag(flags)
        assert flags == ["other", "stand_in_safer"]
        # once: a second configuration crash is an ordinary failed request
        made[1].safer = (made[1].spec, "again")
        assert await s.after_failure(False) is False and s.fallback == REASON
        assert len(made) == 2

    asyncio.run(go())


def test_the_reload_limit_becomes_the_skip_reason() -> None:
    async def go() -> None:
        s, made, said = session()
        await s.ensure_loaded()
        for n in (1, 2):  # MAX_RELOADS = 2 reloads are allowed
            made[-1].dead = True
            await s.ensure_loaded()
            assert s.reloads == n
        made[-1].dead = True
        with pytest.raises(SessionFailed) as caught:
            await s.ensure_loaded()
        assert caught.value.reason == "skipped: the worker died 3 times"
        assert caught.value.error is None
        assert len(made) == 3 and all(b.closed == 1 for b in made)
        reloading = [t for lv, *t in said if lv == "warning"]
        assert reloading == [["m: reloading the model after a crash"]] * 2
        assert s.held  # the engine still reports the model unloaded at the end

    asyncio.run(go())


def test_a_failed_load_becomes_the_load_failed_reason() -> None:
    async def go() -> None:
        s, made, said = session("missing")
        with pytest.raises(BackendError):  # a first load on its own raises as it is
            await s.load()
        with pytest.raises(SessionFailed) as caught:
            await s.ensure_loaded()
        assert caught.value.reason == "load failed: missing: no such file"
        assert isinstance(caught.value.error, BackendError)
        assert [b.closed for b in made] == [1, 1] and s.backend is None and not s.held
        assert said == []

    asyncio.run(go())


def test_the_pipeline_stops_loading_a_model_that_cannot_be_kept_loaded() -> None:
    """As the engine fails a model's remaining requests: once the session gave up (a
    crash past the reload limit, or a failed reload), every later question fails with
    that reason, without another load."""
    from tui_bench.core.pipeline.generate import GenerateStage

    stage = GenerateStage("mock", max_tokens=4, log=lambda level, text: None)
    calls: list[int] = []

    async def refuse() -> Any:
        calls.append(1)
        raise SessionFailed("skipped: the worker died 3 times")

    stage.session.ensure_loaded = refuse  # type: ignore[method-assign]
    first = asyncio.run(stage.answer(1, 0, "q1", "Where?"))
    second = asyncio.run(stage.answer(1, 1, "q2", "When?"))
    assert (first.ok, second.ok) == (False, False)
    assert first.error == second.error == "skipped: the worker died 3 times"
    assert (first.prompt, second.prompt) == ("q1", "q2")
    assert len(calls) == 1  # the second question tried no load
