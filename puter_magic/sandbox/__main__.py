"""``python -m puter_magic.sandbox``: run the sandbox until Ctrl-C and print how to use it."""

from __future__ import annotations

import argparse
import threading

from . import MODELS, Sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m puter_magic.sandbox",
        description="A Puter-compatible server on 127.0.0.1 for offline teaching and tests.",
    )
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--token", help="the token to accept (default: a new random one)")
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between streamed chunks")
    parser.add_argument(
        "--legacy-errors",
        action="store_true",
        help="answer driver errors as HTTP 200 {success: false} (older Puter)",
    )
    parser.add_argument(
        "--gui",
        nargs="?",
        const="puter.localhost",
        metavar="HOST",
        help="also play Puter's GUI site (the sign-in popup, guest accounts) on http://HOST:PORT, "
        "the API on http://api.HOST:PORT (default HOST: puter.localhost)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    parser.add_argument(
        "--no-media-providers",
        action="store_true",
        help="answer images, speech and OCR like a self-hosted Puter without provider keys",
    )
    parser.add_argument(
        "--rate-limit",
        metavar="N/SECONDS",
        help="Puter's AI rate limit per (interface, method), e.g. 30/10 as for a free account",
    )
    parser.add_argument("--concurrency-limit", type=int, metavar="N", help="AI calls at once, e.g. 3")
    parser.add_argument("--credit-calls", type=int, metavar="N", help="credit runs out after N AI calls")
    parser.add_argument(
        "--tier",
        choices=("temp", "free", "paid"),
        help="the account's plan and Puter's limits for it (temp: a guest, 20 per 10 s, 2 at once)",
    )
    args = parser.parse_args(argv)
    rate_limit = None
    if args.rate_limit:
        try:
            count, seconds = args.rate_limit.split("/")
            rate_limit = (int(count), float(seconds))
        except ValueError:
            parser.error("--rate-limit is N/SECONDS, e.g. 30/10")
    sandbox = Sandbox(
        port=args.port,
        token=args.token,
        pace=args.pace,
        verbose=args.verbose,
        error_style="legacy" if args.legacy_errors else "current",
        media_providers=not args.no_media_providers,
        rate_limit=rate_limit,
        concurrency_limit=args.concurrency_limit,
        credit_calls=args.credit_calls,
        tier=args.tier,
        gui_host=args.gui,
    )
    sandbox.start()
    print(f"Puter sandbox listening on {sandbox.origin}", flush=True)
    print(f"PUTER_API_ORIGIN={sandbox.origin}")
    print(f"PUTER_AUTH_TOKEN={sandbox.token}")
    if sandbox.gui is not None:
        print(f"PUTER_GUI_ORIGIN={sandbox.gui_origin}")
        print(
            f"Sign-in popup: {sandbox.gui_origin}/action/sign-in?embedded_in_popup=true&msg_id=1 "
            f"(log in as {sandbox.username} / {sandbox.gui.password}, or get a guest account)"
        )
    print("models: " + ", ".join(MODELS))
    print(
        "In a notebook: %puter_login --sandbox starts one of its own; Ctrl-C stops this one.",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
