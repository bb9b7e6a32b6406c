"""The magics in a real IPython shell, against the sandbox."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from IPython.core.error import UsageError
from IPython.core.inputtransformer2 import TransformerManager
from IPython.core.interactiveshell import InteractiveShell

from puter_magic import ModelNotFound
from puter_magic.sandbox import Fault, Sandbox

from ..htmlcheck import live_markup
from ..shell import magics_of, run


def only(outputs: list[dict[str, Any]]) -> dict[str, Any]:
    assert len(outputs) == 1, outputs
    return outputs[0]


def thread_of(ip: InteractiveShell, name: str | None = None) -> Any:
    return magics_of(ip).session.conversations.get(name)


# -- loading ------------------------------------------------------------------------


def test_load_twice_is_harmless_and_unload_removes(ip: InteractiveShell) -> None:
    ip.run_line_magic("load_ext", "puter_magic")
    assert "puter" in ip.magics_manager.magics["cell"]
    ip.run_line_magic("unload_ext", "puter_magic")
    assert "puter" not in ip.magics_manager.magics["cell"]
    assert "PuterMagics" not in ip.magics_manager.registry
    ip.run_line_magic("load_ext", "puter_magic")
    assert "puter_login" in ip.magics_manager.magics["line"]


def test_help_is_generated(ip: InteractiveShell) -> None:
    doc = ip.object_inspect_text("%%puter")  # what %%puter? shows; its parser is built on first use
    for option in (
        "--model",
        "--system",
        "--temperature",
        "--max-tokens",
        "--chat",
        "--new",
        "--no-history",
        "--out",
        "--raw",
        "--no-interpolate",
        "--no-stream",
    ):
        assert option in doc


# -- signing in --------------------------------------------------------------------------


def test_sandbox_login_says_who_and_sets_the_teaching_model(ip: InteractiveShell) -> None:
    outputs, _ = run(ip, "%puter_login --sandbox")
    note = only(outputs)
    assert "Signed in to the sandbox" in note["text/plain"] and "as learner" in note["text/plain"]
    assert "puter-note" in note["text/html"]
    assert magics_of(ip).default_model == "sandbox-tutor"
    outputs, _ = run(ip, "%%puter\nhello")
    assert "### Turn 1" in outputs[0]["text/markdown"]


def test_env_token_login_and_bad_token_keeps_earlier_login(ip: InteractiveShell, sandbox: Sandbox) -> None:
    os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin}")
    assert f"Signed in to {sandbox.origin} as learner" in only(outputs)["text/plain"]
    assert "$PUTER_AUTH_TOKEN" in outputs[0]["text/plain"]
    os.environ["PUTER_AUTH_TOKEN"] = "wrong-token"
    outputs, result = run(ip, f"%puter_login --origin {sandbox.origin}")
    warning = only(outputs)
    assert "Token not accepted" in warning["text/html"] and "reauth_required" in warning["text/plain"]
    assert "wrong-token" not in json.dumps(outputs)
    assert result.success  # a warning, not an exception
    assert magics_of(ip).session.client.whoami()["username"] == "learner"  # earlier login kept


def test_token_on_the_line_is_refused_without_echo(ip: InteractiveShell) -> None:
    for line in (
        "%puter_login s3cr3t-tok",
        "%puter_login --token s3cr3t-tok",
        "%puter_login --token=s3cr3t-tok",
        "%puter_login --bogus s3cr3t-tok",
    ):
        with pytest.raises(UsageError) as info:
            ip.run_line_magic("puter_login", line.split(" ", 1)[1])
        assert "s3cr3t-tok" not in str(info.value)
        assert "PUTER_AUTH_TOKEN" in str(info.value)


def test_token_env_option(ip: InteractiveShell, sandbox: Sandbox) -> None:
    os.environ["MY_PUTER"] = sandbox.token
    try:
        outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin} --token-env MY_PUTER")
        assert "$MY_PUTER" in only(outputs)["text/plain"]
    finally:
        del os.environ["MY_PUTER"]
    with pytest.raises(UsageError, match="not set"):
        ip.run_line_magic("puter_login", f"--origin {sandbox.origin} --token-env NOPE_NOT_SET")


def test_masked_prompt(ip: InteractiveShell, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str) -> str:
        prompts.append(prompt)
        return sandbox.token

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin}")
    page, signed_in = outputs  # a terminal: Puter's token page first, then the prompt
    assert page["text/plain"].endswith(f"{sandbox.origin}/?action=copyauth")
    assert "(token from prompt)" in signed_in["text/plain"]
    assert prompts and sandbox.origin in prompts[0]


def test_save_creates_a_private_file_and_logout_forgets(ip: InteractiveShell, sandbox: Sandbox) -> None:
    os.environ["PUTER_AUTH_TOKEN"] = sandbox.token
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin} --save")
    path = Path(os.environ["PUTER_MAGIC_CONFIG_DIR"]) / "login.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sandbox.token not in json.dumps(outputs)
    del os.environ["PUTER_AUTH_TOKEN"]
    outputs, _ = run(ip, f"%puter_login --origin {sandbox.origin}")
    assert "(token from saved login)" in only(outputs)["text/plain"]
    outputs, _ = run(ip, "%puter_logout")
    said = only(outputs)["text/plain"]
    assert said.startswith("Signed out of http://") and said.endswith(". Saved login forgotten.")
    assert not path.exists()


def test_browser_sign_in_end_to_end(ip: InteractiveShell, monkeypatch: pytest.MonkeyPatch) -> None:
    with Sandbox(authme_auto_approve=True) as sb:

        def browser(url: str, new: int = 0) -> bool:
            # A browser follows the AuthMe redirect back to the kernel's listener.
            threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 10}, daemon=True).start()
            return True

        monkeypatch.setattr("webbrowser.open", browser)
        outputs, _ = run(ip, f"%puter_login --browser --origin {sb.origin}")
        texts = [o["text/plain"] for o in outputs]
        assert any("action=authme" in t and "redirectURL" in t for t in texts)  # the link is shown
        assert any(f"Signed in to {sb.origin} as learner" in t for t in texts)
        assert sb.token not in json.dumps(outputs)


# -- asking -------------------------------------------------------------------------


def test_reply_bundle_and_footer(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    outputs, _ = run(signed_in, "%%puter\nWhat is a list?")
    reply = only(outputs)
    assert set(reply) == {"text/plain", "text/markdown", "text/html"}
    assert "<h3>Turn 1 · Sandbox Tutor</h3>" in reply["text/html"]
    assert "<table>" in reply["text/html"] and '<pre class="puter-code"' in reply["text/html"]
    assert "$x_1 + x_2 = \\frac{a_1}{b_1}$" in reply["text/html"]  # math intact for the typesetter
    assert "sandbox-tutor · " in reply["text/plain"] and " tokens · " in reply["text/plain"]
    assert "puter-footer" in reply["text/html"]
    assert sandbox.calls("complete")[-1].args["stream"] is True


def test_follow_up_continues_the_conversation(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    run(signed_in, "%%puter\nFirst question")
    outputs, _ = run(signed_in, "%%puter\nSecond question")
    assert "| your questions so far | 2 |" in outputs[0]["text/markdown"]
    assert [m["role"] for m in sandbox.calls()[-1].args["messages"]] == [
        "user",
        "assistant",
        "user",
    ]


def test_rerun_replaces_instead_of_duplicating(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    run(signed_in, "%%puter\nQuestion A", cell_id="cell-a")
    run(signed_in, "%%puter\nQuestion B", cell_id="cell-b")
    outputs, _ = run(signed_in, "%%puter\nQuestion A, edited", cell_id="cell-a")
    thread = thread_of(signed_in)
    assert [e.user for e in thread.exchanges] == ["Question A, edited", "Question B"]
    assert [e.user for e in thread.replaced] == ["Question A"]
    assert len(sandbox.calls()[-1].args["messages"]) == 1  # only what came before cell A
    plain = outputs[0]["text/plain"]
    assert "replaced this cell's earlier exchange (1 of 2)" in plain
    assert "the 1 later exchange is kept as it was" in plain
    outputs, _ = run(signed_in, "%puter_history --replaced")
    assert "Question A" in outputs[0]["text/markdown"]
    for _ in range(3):
        run(signed_in, "%%puter\nQuestion B", cell_id="cell-b")
    assert len(thread_of(signed_in).exchanges) == 2


def test_no_cell_id_falls_back_to_retrying_the_last(signed_in: InteractiveShell) -> None:
    run(signed_in, "%%puter\nSame question")
    run(signed_in, "%%puter\nSame question")
    assert len(thread_of(signed_in).exchanges) == 1
    run(signed_in, "%%puter\nOther question")
    run(signed_in, "%%puter\nSame question")
    assert len(thread_of(signed_in).exchanges) == 3


def test_options_reach_the_request(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    run(signed_in, '%%puter -m sandbox-tutor-lite -s "Be terse." -t 0.3 --max-tokens 50\nHi')
    args = sandbox.calls()[-1].args
    assert args["model"] == "sandbox-tutor-lite" and args["temperature"] == 0.3 and args["max_tokens"] == 50
    assert args["messages"][0] == {"role": "system", "content": "Be terse."}
    run(signed_in, "%%puter\nAgain")  # the system prompt stays with the thread
    args = sandbox.calls()[-1].args
    assert args["model"] == "sandbox-tutor" and args["messages"][0]["content"] == "Be terse."
    signed_in.run_line_magic("config", "PuterMagics.default_model = 'sandbox-echo'")
    outputs, _ = run(signed_in, "%%puter\nparrot")
    assert sandbox.calls()[-1].args["model"] == "sandbox-echo"
    assert outputs[0]["text/markdown"].startswith("parrot")


def test_no_history_and_new(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    run(signed_in, "%%puter\nOne")
    outputs, _ = run(signed_in, "%%puter --no-history\nSolo")
    assert len(sandbox.calls()[-1].args["messages"]) == 1
    assert "one-shot" in outputs[0]["text/plain"]
    assert [e.user for e in thread_of(signed_in).exchanges] == ["One"]
    sandbox.inject(Fault.error(500, "internal_error", "Internal Server Error"))
    run(signed_in, "%%puter --new\nFresh")
    assert [e.user for e in thread_of(signed_in).exchanges] == ["One"]  # failed: nothing changed
    run(signed_in, "%%puter --new\nFresh")
    assert [e.user for e in thread_of(signed_in).exchanges] == ["Fresh"]
    assert len(sandbox.calls()[-1].args["messages"]) == 1


def test_named_threads(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    run(signed_in, "%%puter --chat maths\nA")
    run(signed_in, "%%puter\nB")
    run(signed_in, "%%puter --chat maths\nC")
    assert len(sandbox.calls()[-1].args["messages"]) == 3
    assert [e.user for e in thread_of(signed_in, "maths").exchanges] == ["A", "C"]


def test_history_window(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    magics_of(signed_in).history_window = 1
    for q in ("q1", "q2", "q3"):
        run(signed_in, f"%%puter\n{q}")
    sent = [m["content"] for m in sandbox.calls()[-1].args["messages"]]
    assert sent[0] == "q2" and sent[-1] == "q3" and len(sent) == 3
    assert len(thread_of(signed_in).exchanges) == 3  # older turns kept, not sent


def test_interpolation(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    signed_in.user_ns.update(topic="recursion", a=1, b=2)
    outputs, _ = run(
        signed_in,
        "%%puter -m sandbox-echo\n"
        "Explain {topic}. $\\frac{a}{b}$ and \\frac{a}{b}, d = {'a': 1}, f'{topic}', `{topic}`",
    )
    sent = sandbox.calls()[-1].args["messages"][-1]["content"]
    assert sent == "Explain recursion. $\\frac{a}{b}$ and \\frac{a}{b}, d = {'a': 1}, f'{topic}', `{topic}`"
    assert "filled in: {topic}" in outputs[0]["text/plain"]
    run(signed_in, "%%puter -m sandbox-echo --no-interpolate\n{topic}")
    assert sandbox.calls()[-1].args["messages"][-1]["content"] == "{topic}"
    signed_in.run_cell("21 * 2", store_history=True)
    n = signed_in.execution_count - 1
    run(
        signed_in,
        f"%%puter -m sandbox-echo\nIn: {{In[{n}]}} Out: {{Out[{n}]}} missing: {{Out[999]}}",
    )
    assert sandbox.calls()[-1].args["messages"][-1]["content"] == "In: 21 * 2 Out: 42 missing: {Out[999]}"


def test_out_raw_and_line_form(signed_in: InteractiveShell) -> None:
    outputs, _ = run(signed_in, "%%puter -m sandbox-echo --out answer --raw\n*not bold*")
    assert signed_in.user_ns["answer"] == "*not bold*"
    assert "text/markdown" not in outputs[0] and "<pre" in outputs[0]["text/html"]
    outputs, _ = run(signed_in, "%puter what's up? {nothing}")
    assert "> what's up? {nothing}" in outputs[0]["text/markdown"]


def test_empty_cell_is_a_usage_error(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    with pytest.raises(UsageError, match="needs a message"):
        signed_in.run_cell_magic("puter", "", "  \n ")
    with pytest.raises(UsageError):
        signed_in.run_cell_magic("puter", "--out 1x", "hi")
    assert sandbox.calls() == []


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            "%%puter --temprature 0.2\nHi",
            "unknown option --temprature: did you mean --temperature? (see %puter?)",
        ),
        (
            "%puter --temprature 0.2 Hi",
            "unknown option --temprature: did you mean --temperature? (see %puter?)",
        ),
        ("%puter_models --refrsh", "unknown option --refrsh: did you mean --refresh? (see %puter_models?)"),
        ("%puter_login --no-gust", "%puter_login: unknown option --no-gust: did you mean --no-guest?"),
        ("%%puter --zzz\nHi", "unknown option --zzz (see %puter?)"),  # nothing close: no guess
        (
            "%puter_image --modle x a kite",
            "unknown option --modle: did you mean --model? (see %puter_image?)",
        ),
        ("%puter_speak --vioce x Hi", "unknown option --vioce: did you mean --voice? (see %puter_speak?)"),
        (
            "%puter_call --drivr x puter-tts list_voices",
            "unknown option --drivr: did you mean --driver? (see %puter_call?)",
        ),
    ],
)
def test_a_mistyped_option_names_the_closest_one(
    cell: str, message: str, signed_in: InteractiveShell
) -> None:
    _, result = run(signed_in, cell)
    error = result.error_in_exec
    assert type(error) is UsageError and str(error).startswith(message), error
    assert "\n" not in str(error)


def test_an_option_declared_only_to_be_refused_is_never_suggested(signed_in: InteractiveShell) -> None:
    """``%puter_login --token`` exists only to be refused (a token on the line would be saved in
    the notebook): a typo near it must not steer the user to put a token on the line."""
    for line in ("--tokn=abc", "--tokne abc", "--toke=abc"):
        _, result = run(signed_in, f"%puter_login {line}")
        error = result.error_in_exec
        assert type(error) is UsageError and "PUTER_AUTH_TOKEN" in str(error), error
        assert "did you mean --token?" not in str(error), error
    _, result = run(signed_in, "%puter_login --token-evn NAME")  # the safe option is still offered
    assert "did you mean --token-env?" in str(result.error_in_exec)


def test_no_stream_mode(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    outputs, _ = run(signed_in, "%%puter --no-stream\nHi")
    assert "### Turn 1" in only(outputs)["text/markdown"]
    assert "stream" not in sandbox.calls()[-1].args


# -- failures ----------------------------------------------------------------------------


def test_a_mistyped_model_is_offered_the_closest_listed_ones(signed_in: InteractiveShell) -> None:
    outputs, result = run(signed_in, "%%puter -m sandbox-tutr\nHi")
    box = only(outputs)
    assert result.success and "Model not found" in box["text/html"]
    assert box["text/plain"].splitlines()[-1] == (
        "Next: did you mean sandbox-tutor or sandbox-tutor-lite? (-m sandbox-tutor), "
        "or pick another model with %puter_models"
    )
    outputs, _ = run(signed_in, "%%puter -m quite-unlike-anything\nHi")
    assert only(outputs)["text/plain"].splitlines()[-1] == "Next: pick another model with %puter_models"


def test_model_not_found_is_one_warning_and_nothing_recorded(signed_in: InteractiveShell) -> None:
    outputs, result = run(signed_in, "%%puter -m no-such-model\nHi")
    box = only(outputs)
    assert result.success and result.error_in_exec is None
    assert "Model not found" in box["text/html"] and "%puter_models" in box["text/html"]
    assert "Traceback" not in json.dumps(outputs)
    assert box["text/plain"].startswith("Puter: model not found (bad_request, HTTP 400)")
    assert thread_of(signed_in).exchanges == []


def test_not_signed_in(ip: InteractiveShell) -> None:
    outputs, _ = run(ip, "%%puter\nHi")
    assert "Not signed in" in only(outputs)["text/html"] and "%puter_login" in outputs[0]["text/plain"]


@pytest.mark.parametrize(
    ("fault", "title"),
    [
        (
            Fault.error(402, "insufficient_funds", "No usage left for request."),
            "Out of allowance",
        ),
        (Fault.legacy_error("insufficient_funds", "No usage left", 402), "Out of allowance"),
        (
            Fault.error(429, "too_many_requests", "Too many requests.", retry_after=90),
            "try again in 90 s",
        ),
        (Fault.html_page(502), "Puter error"),
        (Fault.error(401, "token_auth_failed", "Authentication failed"), "Token not accepted"),
    ],
)
def test_failures_are_styled_warnings(
    fault: Fault, title: str, signed_in: InteractiveShell, sandbox: Sandbox
) -> None:
    sandbox.inject(fault)
    outputs, _ = run(signed_in, "%%puter\nHi")
    assert title in only(outputs)["text/html"] and "puter-warning" in outputs[0]["text/html"]
    assert thread_of(signed_in).exchanges == []


def test_mid_stream_error_keeps_partial_text_and_warns(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    sandbox.inject(
        Fault.stream([{"type": "text", "text": "Partial answer"}, {"type": "error", "message": "boom"}])
    )
    outputs, _ = run(signed_in, "%%puter\nHi")
    assert len(outputs) == 2
    assert outputs[0]["text/plain"].startswith("Partial answer")
    assert "Reply broke off" in outputs[1]["text/html"] and "boom" in outputs[1]["text/plain"]
    assert thread_of(signed_in).exchanges == []


def test_network_failure(signed_in: InteractiveShell) -> None:
    magics = magics_of(signed_in)
    magics.session.sandbox = None
    with Sandbox() as short_lived:
        os.environ["PUTER_AUTH_TOKEN"] = short_lived.token
        run(signed_in, f"%puter_login --origin {short_lived.origin}")
    outputs, _ = run(signed_in, "%%puter\nHi")
    assert "Network error" in only(outputs)["text/html"]


def test_raise_errors_trait(signed_in: InteractiveShell) -> None:
    signed_in.run_line_magic("config", "PuterMagics.raise_errors = True")
    with pytest.raises(ModelNotFound):
        signed_in.run_cell_magic("puter", "-m nope", "Hi")


# -- hostile replies ---------------------------------------------------------------------

PAYLOADS = [
    "<script>window.pwned=1</script>",
    '<img src=x onerror="window.pwned=1">',
    "[click](javascript:window.pwned=1)",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<svg onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    "<form action=x><input></form>",
    "<style>body{display:none}</style>",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_hostile_replies_are_neutralised(payload: str, signed_in: InteractiveShell) -> None:
    outputs, _ = run(signed_in, f"%%puter -m sandbox-echo --no-interpolate\n{payload}")
    html_out, md_out = outputs[0]["text/html"], outputs[0]["text/markdown"]
    assert live_markup(html_out) == []
    # Markdown renderers pass raw HTML through: none may be left, and no unsafe link target.
    assert "<" not in md_out.split("<span", 1)[0]
    assert "](javascript:" not in md_out.lower() and "](data:" not in md_out.lower()


def test_html_in_code_fences_shows_as_code(signed_in: InteractiveShell) -> None:
    outputs, _ = run(signed_in, "%%puter -m sandbox-echo\n```html\n<script>alert(1)</script>\n```")
    assert "&lt;" in outputs[0]["text/html"] and "<script" not in outputs[0]["text/html"]
    assert "```html\n<script>alert(1)</script>\n```" in outputs[0]["text/markdown"]


# -- history --------------------------------------------------------------------------------


def test_history_json_save_load_and_reset(signed_in: InteractiveShell, tmp_path: Path) -> None:
    run(signed_in, "%%puter\nRemember me")
    data = signed_in.run_line_magic("puter_history", "--json")
    assert data["exchanges"][0]["user"] == "Remember me"
    outputs, _ = run(signed_in, "%puter_history")
    assert "### 1. You\n" in outputs[0]["text/markdown"] and "Remember me" in outputs[0]["text/html"]
    target = tmp_path / "thread.json"
    run(signed_in, f"%puter_history --save {target}")
    outputs, _ = run(signed_in, "%puter_reset")
    assert "1 exchange forgotten" in outputs[0]["text/plain"]
    assert thread_of(signed_in).exchanges == []
    run(signed_in, f"%puter_history --load {target}")
    assert thread_of(signed_in).exchanges[0].user == "Remember me"
    run(signed_in, "%puter_reset --all")
    assert magics_of(signed_in).session.conversations.threads == {}
    with pytest.raises(UsageError):
        signed_in.run_line_magic("puter_history", f"--load {tmp_path / 'missing.json'}")
    with pytest.raises(UsageError):
        signed_in.run_line_magic("puter_reset", "--all --chat x")


# -- terminal IPython ---------------------------------------------------------------------------


def test_terminal_prints_text_once(signed_in: InteractiveShell) -> None:
    magics_of(signed_in).rich_output = False
    outputs, _ = run(signed_in, "%%puter -m sandbox-tutor-lite\nHi there")
    printed = outputs[-1]["stdout"]
    assert printed.count("turn 1: you asked") == 1 and "sandbox-tutor-lite · " in printed
    assert not [o for o in outputs if "text/plain" in o]


# -- the line form: a trailing ? asks, options go in front ------------------------------------


def test_line_ending_in_a_question_mark_asks(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    """IPython's help-end syntax would show the help of `question`/`list` instead of asking."""
    outputs, result = run(signed_in, "%puter What was my first question?")
    assert result.success, result.error_in_exec
    assert "not found" not in json.dumps(outputs)
    assert "> What was my first question?" in only(outputs)["text/markdown"]
    run(signed_in, "%puter What is a list?")
    assert sandbox.calls("complete")[-1].args["messages"][-1]["content"] == "What is a list?"
    asked = [e.user for e in thread_of(signed_in).exchanges]
    assert asked == ["What was my first question?", "What is a list?"]


def test_question_mark_inside_code_and_continued_lines(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    run(signed_in, "topic = 'sets'\nfor n in (1, 2):\n    %puter Question {n}: what is {topic}?\n")
    sent = [c.args["messages"][-1]["content"] for c in sandbox.calls("complete")]
    assert sent == ["Question 1: what is sets?", "Question 2: what is sets?"]
    run(signed_in, "%puter -m sandbox-echo --no-history What is\\\na tuple?")  # joined as IPython does
    assert sandbox.calls("complete")[-1].args["messages"] == [{"role": "user", "content": "What is a tuple?"}]


def test_help_and_code_are_left_alone(ip: InteractiveShell) -> None:
    """Only `%puter ...?` lines that are code change; help, other magics and text stay IPython's."""

    def code(cell: str) -> str:
        return ip.transform_cell(cell)

    assert code("%puter?") == "get_ipython().run_line_magic('pinfo', '%puter')\n"
    assert code("%puter??") == "get_ipython().run_line_magic('pinfo2', '%puter')\n"
    assert code("%puter_models?") == "get_ipython().run_line_magic('pinfo', '%puter_models')\n"
    cell = "get_ipython().run_cell_magic('puter', '', 'What is a list?\\n')\n"
    assert code("%%puter\nWhat is a list?") == cell
    text = 's = """\n%puter What is a list?\n"""\n'
    assert code(text) == text
    assert code("x = [1,\n%puter What?\n]\n").count("run_line_magic") == 0
    assert code("if True:\n    %puter What is a list?\n") == (
        "if True:\n    get_ipython().run_line_magic('puter', 'What is a list?')\n"
    )
    continued = "%puter -m x What is \\\n  a list"  # the code IPython makes without the ?
    assert code(continued + "?") == TransformerManager().transform_cell(continued).replace("list'", "list?'")
    ip.run_line_magic("unload_ext", "puter_magic")
    assert code("%puter What is a list?") == "get_ipython().run_line_magic('pinfo', 'list')\n"
    ip.run_line_magic("load_ext", "puter_magic")
    assert code("%puter What is a list?") == "get_ipython().run_line_magic('puter', 'What is a list?')\n"


def test_help_shows_the_line_form(ip: InteractiveShell) -> None:
    doc = ip.object_inspect_text("%puter")
    assert "%puter [options] QUESTION" in doc


def test_line_form_takes_the_cell_options(signed_in: InteractiveShell, sandbox: Sandbox) -> None:
    _, result = run(signed_in, "%puter -m sandbox-echo --no-history Hi?")
    assert result.success, result.error_in_exec
    args = sandbox.calls("complete")[-1].args
    assert args["model"] == "sandbox-echo" and args["messages"] == [{"role": "user", "content": "Hi?"}]
    assert thread_of(signed_in).exchanges == []
    question = "What's recursion? Isn't it \"fun\"?"
    run(signed_in, f'%puter --chat lesson2 -s "Be brief" -t 0.5 {question}')
    args = sandbox.calls("complete")[-1].args
    assert args["messages"][0] == {"role": "system", "content": "Be brief"} and args["temperature"] == 0.5
    assert args["messages"][-1]["content"] == question
    assert [e.user for e in thread_of(signed_in, "lesson2").exchanges] == [question]
    for line, model, question in (
        ("--model=sandbox-echo Hello", "sandbox-echo", "Hello"),
        ("-msandbox-tutor-lite   spaced  out ", "sandbox-tutor-lite", "spaced  out"),
        ("--mod sandbox-echo --no-hist -- -x is a flag?", "sandbox-echo", "-x is a flag?"),
        ("-1 is less than 0?", "sandbox-tutor", "-1 is less than 0?"),
        ("--out said -m sandbox-echo 'quoted'", "sandbox-echo", "'quoted'"),
    ):
        run(signed_in, f"%puter {line}")
        args = sandbox.calls("complete")[-1].args
        assert (args["model"], args["messages"][-1]["content"]) == (model, question), line
    assert signed_in.user_ns["said"] == "'quoted'"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("-x hi", "unknown option -x"),
        ("--colour red hi", "unknown option --colour"),
        ("--no hi", "ambiguous option --no"),
        ("-m", "expected one argument"),
        ("-t warm hi", "invalid float value"),
        ("-m sandbox-echo", "needs a question"),
        ("", "needs a question"),
        ("-s 'Be brief hi", "quote"),
        ("--raw=yes hi", "ignored explicit argument"),
    ],
)
def test_line_form_refuses_bad_options(
    line: str, message: str, signed_in: InteractiveShell, sandbox: Sandbox
) -> None:
    with pytest.raises(UsageError, match=message) as info:
        signed_in.run_line_magic("puter", line)
    assert "\n" not in str(info.value)
    assert sandbox.calls() == []
