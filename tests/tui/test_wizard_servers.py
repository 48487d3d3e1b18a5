"""Servers as models in the wizard: the form (URL, model name, key variable: never the
key), its connection test through the openai backend's own load (ok, refused, a model
the server does not list), the servers found listening on the probed ports, and a server
model in the plan, its review and its estimate."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from servers.fault_server import MODEL, FaultServer
from servers.fixtures import refused_url, running_fault_server
from servers.models_server import MODELS, ModelsServer
from textual.widgets import Input, OptionList
from tui_helpers import SIZE, make_app, text_of, wait_for

from tui_bench.core.plan import ModelSpec
from tui_bench.tui import draft as d
from tui_bench.tui.estimate import _same_model
from tui_bench.tui.screens.wizard import WizardScreen
from tui_bench.tui.screens.wizard.servers import ServerDialog
from tui_bench.tui.servers import ServerForm, check_connection, discover


@pytest.fixture(scope="module")
def fault_server() -> Iterator[FaultServer]:
    with running_fault_server() as server:
        yield server


def test_the_form_names_the_field_at_fault_and_never_echoes_a_key() -> None:
    ok = ServerForm("http://127.0.0.1:8080/v1/", "llama 3", "MY_KEY")
    assert ok.problem() is None
    assert ok.spec() == {
        "id": "llama-3",
        "backend": "openai",
        "base_url": "http://127.0.0.1:8080/v1",
        "model": "llama 3",
        "api_key_env": "MY_KEY",
    }
    assert ServerForm("http://h:1", "m").spec().get("api_key_env") is None
    assert ServerForm("127.0.0.1:8080", "m").problem() == (
        "URL must be an http:// or https:// URL (give http://host:port, with or without /v1)"
    )
    assert ServerForm("http://h:1", " ").problem().startswith("model: ")  # type: ignore[union-attr]
    secret = "sk-live-0123456789abcdef"
    bad_key = ServerForm("http://h:1", "m", secret).problem()
    assert bad_key is not None and bad_key.startswith("API key variable: ")
    assert secret not in bad_key
    with_creds = ServerForm(f"http://user:{secret}@h:1", "m").problem()
    assert with_creds is not None and secret not in with_creds


def test_connection_ok_refused_and_an_unlisted_model(fault_server: FaultServer) -> None:
    ok = check_connection(ServerForm(fault_server.url("ok"), MODEL).spec())
    assert ok.ok and ok.served == [MODEL]
    assert ok.text.startswith("connected in ") and ok.text.endswith(f"; it serves {MODEL}")
    url = refused_url()
    refused = check_connection(ServerForm(url, "m").spec())
    assert not refused.ok and f"cannot reach {url}/models" in refused.text
    unlisted = check_connection(ServerForm(fault_server.url("ok"), "other").spec())
    assert not unlisted.ok and f"does not list model 'other' (it serves: {MODEL})" in unlisted.text


def test_connection_with_an_unset_key_variable_names_the_variable(
    fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TB_TEST_UNSET_KEY", raising=False)
    res = check_connection(ServerForm(fault_server.url("ok"), MODEL, "TB_TEST_UNSET_KEY").spec())
    assert not res.ok and "environment variable TB_TEST_UNSET_KEY (api_key_env) is not set" in (
        res.text
    )


def test_discovery_finds_a_listening_server_and_skips_a_closed_port() -> None:
    closed = int(refused_url().rsplit(":", 1)[1].split("/")[0])
    with ModelsServer() as server:
        found = discover([(closed, "nothing"), (server.port, "test server")])
    assert [(f.port, f.label, f.url, f.models) for f in found] == [
        (server.port, "test server", server.url, list(MODELS))
    ]


def test_a_server_model_is_described_and_estimated_as_a_server() -> None:
    spec = ServerForm("http://127.0.0.1:8080/v1", "qwen").spec()
    choice = d.ModelChoice("server:x", spec, "server")
    assert choice.summary() == "http://127.0.0.1:8080/v1 · qwen"
    assert d.source_text(ModelSpec(**spec)) == "http://127.0.0.1:8080/v1 · qwen"
    assert d.source_text({"id": "m", "backend": "mock"}) == "simulated"
    m = ModelSpec(**spec)
    assert _same_model(m, spec)
    assert not _same_model(m, spec | {"model": "other"})
    assert not _same_model(m, spec | {"base_url": "http://127.0.0.1:9000/v1"})


async def test_add_a_found_server_in_the_wizard_test_it_and_review_it() -> None:
    app = make_app()
    closed = int(refused_url().rsplit(":", 1)[1].split("/")[0])
    with ModelsServer() as server:
        app.server_ports = [(closed, "nothing"), (server.port, "test server")]  # type: ignore[attr-defined]
        async with app.run_test(size=(80, 24)) as pilot:
            wiz = app.screen
            assert isinstance(wiz, WizardScreen)
            await pilot.press("end", "enter")  # compose a new plan: the models step
            await wait_for(pilot, lambda: wiz.step == "step-models")
            await pilot.press("a")
            await wait_for(pilot, lambda: isinstance(app.screen, ServerDialog))
            dialog = app.screen
            assert isinstance(dialog, ServerDialog)
            await wait_for(pilot, lambda: len(dialog.found) == 1)
            found = dialog.query_one("#server-found", OptionList)
            assert found.option_count == 1 and found.display
            assert "found listening" in text_of(app, "#server-found-head")
            assert server.url in str(found.get_option_at_index(0).prompt)
            found.focus()
            found.highlighted = 0
            await pilot.press("enter")  # fills the form
            assert dialog.query_one("#server-url", Input).value == server.url
            assert dialog.query_one("#server-model", Input).value == MODELS[0]
            # every part of the form is on screen at 80x24
            for wid in ("#server-url", "#server-model", "#server-key", "#add"):
                region = dialog.query_one(wid).region
                assert region.height >= 1 and region.bottom <= 24
            await pilot.press("ctrl+t")
            await wait_for(pilot, lambda: dialog.result is not None)
            assert dialog.result is not None and dialog.result.ok
            assert text_of(app, "#server-result").startswith("✓ connected in ")
            await pilot.press("enter")  # add
            await wait_for(pilot, lambda: isinstance(app.screen, WizardScreen))
            chosen = [wiz.models[k] for k in wiz.selected_models]
            assert [(c.id, c.backend, c.origin) for c in chosen] == [
                ("tiny-chat", "openai", "server")
            ]
            assert wiz.plan_error is not None  # no prompt yet: the plan is not complete
            await pilot.press("ctrl+n")  # prompts: take the first one
            await wait_for(pilot, lambda: wiz.step == "step-prompts")
            await pilot.press("home", "space")
            await wait_for(pilot, lambda: wiz.current is not None)
            (model,) = wiz.current.plan.models  # type: ignore[union-attr]
            assert (model.backend, model.base_url, model.model) == (
                "openai",
                server.url,
                "tiny-chat",
            )
            review = str(wiz.query_one("#review").render())
            assert f"tiny-chat  {server.url} · tiny-chat  endpoint by mode" in review


async def test_a_refused_server_is_said_so_in_the_form() -> None:
    app = make_app()
    app.server_ports = []  # type: ignore[attr-defined]
    url = refused_url()
    async with app.run_test(size=SIZE) as pilot:
        wiz = app.screen
        await pilot.press("end", "enter")
        await wait_for(pilot, lambda: wiz.step == "step-models")  # type: ignore[attr-defined]
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, ServerDialog))
        dialog = app.screen
        await wait_for(pilot, lambda: "no server listening" in text_of(app, "#server-found-head"))
        dialog.query_one("#server-url", Input).value = url
        dialog.query_one("#server-model", Input).value = "m"
        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: dialog.result is not None)  # type: ignore[attr-defined]
        result = text_of(app, "#server-result")
        assert result.startswith(f"✗ m: cannot reach {url}/models")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, WizardScreen))
        assert wiz.selected_models == []  # type: ignore[attr-defined]
