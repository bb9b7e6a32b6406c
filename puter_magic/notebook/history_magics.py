"""%puter_history, %puter_reset, %puter_record and %puter_replay: the conversation kept,
forgotten, recorded and played back."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from ..api.humanize import plural
from .arguments import parse_line
from .display import show

if TYPE_CHECKING:
    from .host import Host

__all__ = ["HistoryMagics"]


@magics_class
class HistoryMagics(Magics):
    """``%puter_history``, ``%puter_reset``, ``%puter_record``, ``%puter_replay``."""

    def __init__(self, shell: Any, *, host: Host) -> None:
        super().__init__(shell)
        self.host = host

    # -- history and reset ------------------------------------------------------------------

    @magic_arguments()
    @argument("--chat", metavar="NAME", help="the thread (default: 'default')")
    @argument("--json", action="store_true", help="return the thread as JSON-ready data")
    @argument("--save", metavar="FILE", help="write the thread to a JSON file")
    @argument("--load", metavar="FILE", help="replace the thread with one from a JSON file")
    @argument("--replaced", action="store_true", help="show the replies that re-runs replaced")
    @line_magic
    def puter_history(self, line: str) -> Any:
        """Show a thread's transcript, or move it to and from a JSON file."""
        args = parse_line(self.puter_history, line)
        from .conversation import Thread
        from .rendering import Note, ReplyView

        thread = self.host.session.conversations.get(args.chat)
        if args.load:
            try:
                loaded = Thread.load(args.load, thread.name)
            except (OSError, ValueError) as exc:
                raise UsageError(f"%puter_history --load: {exc}") from None
            self.host.session.conversations.put(loaded)
            show(
                Note(
                    f"Loaded {plural(len(loaded.exchanges), 'exchange')} into thread {loaded.name!r}",
                    f"from {args.load}.",
                )
            )
            return None
        if args.save:
            try:
                path = thread.save(args.save)
            except OSError as exc:
                raise UsageError(f"%puter_history --save: {exc}") from None
            show(
                Note(
                    f"Saved thread {thread.name!r} ({plural(len(thread.exchanges), 'exchange')})",
                    f"to {path}.",
                )
            )
            return None
        if args.json:
            from .bounds import BoundedData

            data = BoundedData(thread.to_json())  # all of it; only its display is bounded
            data.limit = self.host.settings().max_display_chars
            data.where = "the value itself is whole (data = %puter_history --json)"
            return data
        if args.replaced:
            replaced = Thread(thread.name, list(thread.replaced))
            text = replaced.transcript().replace("**Thread", "**Replaced replies of thread", 1)
        else:
            text = thread.transcript()
        where = "the whole thread is in %puter_history --json (or --save FILE)"
        limit = self.host.settings().max_display_chars
        show(ReplyView(text, show_footer=False, limit=limit, where=where))
        return None

    @magic_arguments()
    @argument("--chat", metavar="NAME", help="the thread to reset (default: 'default')")
    @argument("--all", action="store_true", help="reset every thread")
    @line_magic
    def puter_reset(self, line: str) -> None:
        """Forget a thread's conversation (or all threads with --all)."""
        args = parse_line(self.puter_reset, line)
        if args.all and args.chat:
            raise UsageError("%puter_reset takes --chat NAME or --all, not both")
        from .rendering import Note

        conversations = self.host.session.conversations
        if args.all:
            count = len(conversations.threads)
            conversations.reset_all()
            show(Note("Reset every thread", f"({plural(count, 'thread')} forgotten)."))
            return
        thread = conversations.get(args.chat)
        count = len(thread.exchanges)
        conversations.reset(thread.name)
        show(Note(f"Reset thread {thread.name!r}", f"({plural(count, 'exchange')} forgotten)."))

    # -- record and replay -----------------------------------------------------------------

    @magic_arguments()
    @argument("file", nargs="?", help="the JSON Lines file to record to (appended)")
    @argument("--off", action="store_true", help="stop recording")
    @line_magic
    def puter_record(self, line: str) -> None:
        """Record every Puter request of this notebook and its reply to FILE (no token is written)."""
        args = parse_line(self.puter_record, line)
        from .rendering import Note

        if args.off:
            tape = self.host.session.stop_tape()
            what = (
                f"{plural(tape.recorded, 'exchange')} in {tape.path}"
                if tape and tape.recording
                else "nothing"
            )
            show(Note("Recording stopped:", f"{what}."))
            return
        if not args.file:
            raise UsageError("%puter_record needs a FILE (or --off)")
        try:
            tape = self.host.session.record_to(args.file)
        except OSError as exc:
            raise UsageError(f"%puter_record: {exc}") from None
        show(
            Note(
                f"Recording to {tape.path}.",
                "Replay it later, with no network, with",
                code=f"%puter_replay {args.file}",
            )
        )

    @magic_arguments()
    @argument("file", nargs="?", help="a recording made with %%puter_record")
    @argument(
        "--fallthrough", action="store_true", help="send requests the file does not hold to the network"
    )
    @argument(
        "--fast", action="store_true", help="replay streamed replies at once, not at their recorded pace"
    )
    @argument("--off", action="store_true", help="stop replaying")
    @line_magic
    def puter_replay(self, line: str) -> None:
        """Answer Puter requests from a recording, with no network at all."""
        args = parse_line(self.puter_replay, line)
        from .rendering import Note

        if args.off:
            tape = self.host.session.stop_tape()
            what = (
                f"{plural(tape.replayed, 'reply')} came from {tape.path}" if tape and tape.replaying else ""
            )
            show(Note("Replay stopped.", what))
            return
        if not args.file:
            raise UsageError("%puter_replay needs a FILE (or --off)")
        try:
            tape = self.host.session.replay_from(
                args.file, fallthrough=args.fallthrough, pace="fast" if args.fast else "original"
            )
        except ValueError as exc:
            raise UsageError(f"%puter_replay: {exc}") from None
        rest = "others go to the network" if args.fallthrough else "nothing else is sent anywhere"
        main = tape.main_model()
        if main and not self.host.default_model:
            self.host.default_model = main
            rest += f". Default model: {main}"
        count = plural(len(tape.entries), "recorded exchange")
        show(Note(f"Replaying {count} from {tape.path};", f"{rest}."))
