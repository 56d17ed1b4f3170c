"""A live web view for teaching: a Mesa SolaraViz page over the engine.

    geroconvert demo [--port 8765] [--config CONFIG]   # or: python -m geroconvert.interfaces.webview
    from geroconvert.interfaces.webview import serve; serve(port=8765)

The page (http://127.0.0.1:PORT/) shows the lattice coloured by phase (and by kind in
the epidermis), live controls for the environment (mTOR gain, rapamycin and pan-mTOR
doses on log-spaced steps, oxygen, the inducer switch) that act on the running model at
once, and live plots of the phase counts, the mean cell size and the RPP assay.  Mesa's
SolaraViz gives the step / play / pause / reset buttons and the step counter; its "Model
Parameters" card (lattice size, seed, geometry) takes effect on Reset.

The lattice is drawn as one image (a colour lookup on the phase array), not one glyph per
cell, and playback draws a frame every few steps, so a 100 x 100 dish plays 336 h in
about half a minute.  Each browser session gets its own model.

The server binds to loopback by default and needs no network: telemetry and the font CDN
are switched off, and the page's JavaScript comes from Solara's asset cache (filled by the
``solara-assets`` package of the web extra, or by ``--install-assets``).  Everything that
can fail -- a missing package, a port in use, a host name that does not resolve -- fails
in :func:`prepare`, before the address is printed.  It answers only requests that name
this machine by a loopback name (or the ``--host`` / ``--allow-host`` names): a web page
elsewhere cannot reach it through DNS rebinding.  SIGINT and SIGTERM stop it within
seconds, even while a page whose browser went away is still playing.

This module serves the page (and fetches its JavaScript for offline use); the page's
components are in :mod:`~geroconvert.interfaces.webpage` and the model behind them in
:mod:`~geroconvert.interfaces.demo_model` (both re-exported here).
"""

from __future__ import annotations

import contextlib
import errno
import importlib
import ipaddress
import os
import signal
import socket
import sys
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

from geroconvert.errors import UsageError
from geroconvert.interfaces.demo_model import (
    BACKGROUND,
    CARD_ASPECT,
    COLOURS,
    CONFIG_ENV,
    KIND_CYCLING_COLOURS,
    PAN_MTOR_STEPS_NM,
    PHASE_COLOURS,
    PHASE_MEANINGS,
    RAPAMYCIN_STEPS_NM,
    DemoModel,
    builtin_params,
    colour_table,
    demo_params,
    format_nM,
    frame_steps,
    halt_models,
    inducer_label,
    lattice_png,
    lattice_rgb,
    lattice_views,
    legend,
    model_params,
    nearest,
    readout_text,
    resume_models,
    rpp_note,
    strip_count,
)
from geroconvert.interfaces.webpage import make_page, plot_figure

__all__ = [
    "run_demo",
    "startup_warnings",
    "prepare",
    "serve",
    "main",
    "DemoServer",
    "HostCheck",
    "allowed_hosts",
    "bind_socket",
    "install_assets",
    "missing_assets",
    "required_assets",
    "assets_cache_dir",
    "quiet_solara_environment",
    "DEFAULT_PORT",
    "make_page",
    "plot_figure",
    "DemoModel",
    "builtin_params",
    "demo_params",
    "model_params",
    "readout_text",
    "nearest",
    "format_nM",
    "CONFIG_ENV",
    "RAPAMYCIN_STEPS_NM",
    "PAN_MTOR_STEPS_NM",
    "BACKGROUND",
    "PHASE_COLOURS",
    "KIND_CYCLING_COLOURS",
    "COLOURS",
    "colour_table",
    "lattice_rgb",
    "lattice_png",
    "lattice_views",
    "legend",
    "PHASE_MEANINGS",
    "CARD_ASPECT",
    "strip_count",
    "frame_steps",
    "inducer_label",
    "rpp_note",
    "PAGE_ASSETS",
    "halt_models",
    "resume_models",
]

DEFAULT_PORT = 8765
_plot_figure = plot_figure  # the name the tests draw the plots by


def __getattr__(name):
    # Solara imports this module and asks for ``Page``; build it on first use (lazily,
    # so importing geroconvert.interfaces.webview does not import solara)
    if name == "Page":
        page = make_page()
        globals()["Page"] = page
        return page
    raise AttributeError(name)


# ---------------------------------------------------------------------------------------
# offline assets: Solara's page loads its JavaScript through a CDN proxy in the server
# ---------------------------------------------------------------------------------------
# the npm packages this page loads (Vuetify 2 app, Mesa's draggable grid, requirejs); the
# versions are read from the installed Solara, which pins them.  Markdown would add KaTeX
# and Mermaid, so the page does not use it.
PAGE_ASSETS = ("@widgetti/solara-vuetify-app", "@widgetti/vue-grid-layout", "requirejs")


def required_assets() -> list[str]:
    """The npm packages (``name@version``, exact versions) that the page loads through
    Solara's CDN proxy, with the versions the installed Solara asks for."""
    import re

    import solara

    root = Path(solara.__file__).parent
    pattern = re.compile(r"(?:\{\{\s*cdn\s*\}\}|getCdn\(\)\})/((?:@[\w.-]+/)?[\w.-]+)@(\d+\.\d+\.\d+[\w.+-]*)/")
    found: set[str] = set()
    for folder in ("server/templates", "widgets/vue"):
        for path in (root / folder).rglob("*"):
            if path.suffix in (".j2", ".vue", ".py", ".js", ".html"):
                with contextlib.suppress(OSError):
                    text = path.read_text(encoding="utf-8", errors="ignore")
                    found.update(f"{name}@{version}" for name, version in pattern.findall(text) if name in PAGE_ASSETS)
    return sorted(found)


def assets_cache_dir() -> Path:
    import solara.server.settings

    return Path(solara.server.settings.assets.proxy_cache_dir)


def missing_assets() -> list[str]:
    cache = assets_cache_dir()
    return [spec for spec in required_assets() if not (cache / spec / "package.json").exists()]


def install_assets(quiet: bool = False) -> list[str]:
    """Put the npm packages the page needs into Solara's CDN cache (``npm pack``, then unpack).

    Idempotent: packages already there are skipped.  Needs ``npm`` and the npm registry;
    without them the page still works where the public CDN is reachable.  Returns what
    was installed.
    """
    import shutil
    import subprocess
    import tarfile
    import tempfile

    todo = missing_assets()
    if not todo:
        return []
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is needed to install the web page's assets ({', '.join(todo)}) for offline use")
    cache = assets_cache_dir()
    with tempfile.TemporaryDirectory() as tmp:
        for spec in todo:
            out = subprocess.run(
                [npm, "pack", spec, "--silent", "--pack-destination", tmp], capture_output=True, text=True, timeout=600
            )
            if out.returncode != 0:
                raise RuntimeError(f"npm pack {spec} failed: {out.stderr.strip()[-500:]}")
            tarball = Path(tmp) / out.stdout.strip().splitlines()[-1]
            target = cache / spec
            partial = cache / f"{spec}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            with tarfile.open(tarball) as archive:
                archive.extractall(partial, filter="data")
            shutil.rmtree(target, ignore_errors=True)
            (partial / "package").rename(target)
            shutil.rmtree(partial, ignore_errors=True)
            if not quiet:
                print(f"installed {spec} into {target}")
    return todo


# ---------------------------------------------------------------------------------------
# the guard against DNS rebinding: answer only requests that name this server
# ---------------------------------------------------------------------------------------
WILDCARD_HOSTS = ("", "0.0.0.0", "::")


def _bare(name: str) -> str:
    return name.strip().lower().strip("[]").rstrip(".")


def is_loopback(name: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    name = _bare(name)
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def allowed_hosts(host: str, allow_hosts=()) -> frozenset[str] | None:
    """The host names the server answers to, or None for any name.

    Always the loopback names; also ``host`` when it is one name or address, and every
    ``allow_hosts`` name.  A server bound to every interface (0.0.0.0, ::) answers any
    name, unless ``allow_hosts`` lists the names to accept; ``*`` accepts any name.
    """
    extra = {_bare(name) for name in allow_hosts}
    if "*" in extra or (host in WILDCARD_HOSTS and not extra):
        return None
    names = {"localhost", "127.0.0.1", "::1", *extra}
    if host not in WILDCARD_HOSTS:
        names.add(_bare(host))
    return frozenset(names)


def host_header_name(value: str) -> str:
    """The name in a Host header (``name``, ``name:port``, ``[v6]:port``), lower case."""
    value = value.strip()
    if value.startswith("["):
        return _bare(value[: value.find("]") + 1] if "]" in value else value)
    if value.count(":") == 1:
        value = value.split(":")[0]
    return _bare(value)


class HostCheck:
    """ASGI middleware: refuse a request whose Host header names another host (a page of
    ``evil.example`` whose name was rebound to 127.0.0.1), and a WebSocket whose Origin
    does (another site's page opening the page's socket).  Any port is accepted with a
    loopback name: only this machine, or a tunnel to it, can send one.  A request with
    no Host header (not a browser) passes."""

    def __init__(self, app, names: frozenset[str] | None):
        self.app = app
        self.names = names

    def accepts(self, name: str) -> bool:
        return self.names is None or name in self.names or is_loopback(name)

    def refusal(self, scope) -> str | None:
        headers = dict(scope.get("headers") or ())
        host = headers.get(b"host")
        if host is not None and not self.accepts(host_header_name(host.decode("latin-1"))):
            return f"Host {host.decode('latin-1')!r}"
        origin = headers.get(b"origin")
        if scope["type"] == "websocket" and origin is not None:
            name = urlsplit(origin.decode("latin-1")).hostname or ""
            if not self.accepts(_bare(name)):
                return f"Origin {origin.decode('latin-1')!r}"
        return None

    async def __call__(self, scope, receive, send):
        refused = self.refusal(scope) if scope["type"] in ("http", "websocket") else None
        if refused is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # before accept: uvicorn answers 403
        else:
            await _forbidden(send, refused)


async def _forbidden(send, refused: str) -> None:
    body = (
        f"geroconvert demo: {refused} refused. This server answers only to loopback names "
        "(http://127.0.0.1:PORT/) and to the names given with --host or --allow-host NAME.\n"
    ).encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------------------
def quiet_solara_environment() -> None:
    """No telemetry, no version check, no font CDN: the page must work offline."""
    os.environ["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    os.environ["SOLARA_ASSETS_FONTAWESOME_ENABLED"] = "False"
    os.environ.setdefault("SOLARA_MODE", "production")
    os.environ.setdefault("SOLARA_CHECK_HOOKS", "off")  # Mesa's own components trip the hook linter
    os.environ.setdefault("MPLBACKEND", "Agg")
    # Solara warns, at the first page load, that a cookie for embedding the page in another
    # site's frame needs https; the demo is never embedded
    warnings.filterwarnings("ignore", message="Cookies with samesite=none require https")


# the modules the page imports, checked before the address is printed: a missing one
# would otherwise surface as a traceback when the first browser opens the page
PAGE_MODULES = (
    "solara",
    "ipyvuetify",
    "networkx",
    "altair",
    "uvicorn",
    "mesa.visualization",
    "solara.server.starlette",
)


def check_web_modules() -> None:
    for module in PAGE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:
            missing = (error.name or module).split(".")[0]
            raise UsageError(
                f"the web view needs the Python package {missing} (import {module} failed): "
                "pip install 'geroconvert[web]'"
            ) from None


def page_url(host: str, port: int) -> str:
    shown = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    return f"http://[{shown}]:{port}/" if ":" in shown else f"http://{shown}:{port}/"


def bind_socket(host: str, port: int) -> socket.socket:
    """A socket listening on ``host``:``port``; a port in use, a port the user may not
    open or a host that is not this machine's is a :class:`UsageError` naming the option."""
    if not 1 <= int(port) <= 65535:
        raise UsageError(f"--port {port}: must be from 1 to 65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise UsageError(
            f"--host {host}: cannot resolve this name ({reason}); give an address such as 127.0.0.1"
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)  # connections made before the server starts wait instead of failing
    except OSError as error:
        sock.close()
        raise UsageError(_bind_failure(host, port, error)) from None
    return sock


def _bind_failure(host: str, port: int, error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        other = port + 1 if port < 65535 else port - 1
        return f"--port {port}: port {port} is in use (another demo?); stop that server or use e.g. --port {other}"
    if error.errno == errno.EACCES:
        return f"--port {port}: no permission to listen on port {port} (below 1024 needs root); choose 1024-65535"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"--host {host}: not an address of this machine; use 127.0.0.1 (this machine) or 0.0.0.0 (all)"
    return f"--host {host} --port {port}: cannot listen there ({error.strerror or error})"


def _page_app(names: frozenset[str] | None):
    import solara.server.settings as solara_settings
    from solara.server.starlette import app

    solara_settings.telemetry.mixpanel_enable = False
    solara_settings.assets.fontawesome_enabled = False
    solara_settings.main.mode = "production"
    return HostCheck(app, names)


class DemoServer:
    """The page's server, bound and ready (made by :func:`prepare`); :meth:`run` serves it."""

    def __init__(self, sock: socket.socket, app, log_level: str, url: str):
        self.sock = sock
        self.url = url
        self.server = _uvicorn_server(app, log_level)

    def run(self) -> int | None:
        """Serve until SIGINT or SIGTERM; returns that signal's number (None if stopped otherwise)."""
        resume_models()
        early = _stop_requested_already()
        if early is not None:
            self.sock.close()
            return early
        try:
            self.server.run(sockets=[self.sock])
        finally:
            halt_models()
            _exit_if_threads_hang(self.server.stop_signal)
        return self.server.stop_signal


def _stop_requested_already() -> int | None:
    """A SIGINT/SIGTERM that came while the server was being prepared: the command line's
    handlers only note it (geroconvert.interrupts), and uvicorn would then serve on."""
    from geroconvert import interrupts

    return interrupts.requested()


def _uvicorn_server(app, log_level: str):
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server that notes the stop signal instead of raising it again afterwards,
        and halts the demo models at once (so their play loops end while uvicorn shuts down)."""

        stop_signal: int | None = None

        @contextlib.contextmanager
        def capture_signals(self):
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        def handle_exit(self, sig, frame):
            self.stop_signal = self.stop_signal or sig
            halt_models()
            super().handle_exit(sig, frame)

    # a browser still connected must not hold the shutdown: its socket gets 5 s to close
    config = uvicorn.Config(app, log_level=log_level, ws_max_size=2**26, timeout_graceful_shutdown=5, lifespan="on")
    return Server(config)


THREAD_GRACE_S = 5.0


def _exit_if_threads_hang(stop_signal: int | None) -> None:
    """Wait up to THREAD_GRACE_S for the page's threads; if one still runs (a task that
    ignores the halt), leave now: Python would wait for it at exit forever."""
    deadline = time.monotonic() + THREAD_GRACE_S
    for thread in _foreground_threads():
        thread.join(max(0.0, deadline - time.monotonic()))
    stuck = [thread.name for thread in _foreground_threads()]
    if stuck:
        print(
            f"geroconvert demo: threads still running after {THREAD_GRACE_S:g} s ({', '.join(stuck)}); leaving them",
            file=sys.stderr,
            flush=True,
        )
        sys.stdout.flush()
        os._exit(128 + stop_signal if stop_signal else 1)


def _foreground_threads() -> list[threading.Thread]:
    main = threading.main_thread()
    return [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]


def prepare(
    port: int = DEFAULT_PORT, host: str = "127.0.0.1", config=None, allow_hosts=(), log_level: str = "warning"
) -> DemoServer:
    """Everything that can fail before the page is served: the config, the packages, the
    socket.  ``config`` is a TOML config to start from (default: the built-in HT-p21 dish)."""
    if config is not None:
        config = Path(config).resolve()
        demo_params(config)  # a bad config fails here, before the server starts
        os.environ[CONFIG_ENV] = str(config)
    else:
        os.environ.pop(CONFIG_ENV, None)
    quiet_solara_environment()
    os.environ["SOLARA_APP"] = "geroconvert.interfaces.webview:Page"
    os.environ["SERVER_NAME"] = host
    os.environ["SERVER_PORT"] = str(port)
    check_web_modules()
    app = _page_app(allowed_hosts(host, allow_hosts))
    sock = bind_socket(host, port)
    return DemoServer(sock, app, log_level, page_url(host, port))


def serve(
    port: int = DEFAULT_PORT, host: str = "127.0.0.1", config=None, allow_hosts=(), log_level: str = "warning"
) -> int | None:
    """Serve the page at http://HOST:PORT/ until SIGINT or SIGTERM (blocks); returns that signal."""
    return prepare(port, host, config, allow_hosts, log_level).run()


def startup_warnings(host: str) -> list[str]:
    """What the user should know before opening the page."""
    warnings = []
    if not is_loopback(host):
        warnings.append(f"serving on {host}: anyone who can reach this machine can use the page")
    absent = missing_assets()
    if absent:
        warnings.append(
            f"the page's JavaScript ({', '.join(absent)}) is not installed, so the page fetches it "
            "from a CDN when it opens and stays blank offline; pip install 'geroconvert[web]' "
            "(solara-assets) or run `python -m geroconvert.interfaces.webview --install-assets` (npm)"
        )
    return warnings


def run_demo(port: int = DEFAULT_PORT, host: str = "127.0.0.1", config=None, allow_hosts=(), warn=None) -> int:
    """``geroconvert demo``: prepare (every failure comes here, before the address is printed),
    print the address, serve; returns the exit code (128 + the signal that stopped it)."""
    server = prepare(port=port, host=host, config=config, allow_hosts=allow_hosts)
    for message in startup_warnings(host):
        (warn or _warn)(message)
    print(f"geroconvert demo: {server.url} (Ctrl-C to stop)", flush=True)
    stopped_by = server.run()
    if stopped_by is None:
        return 0
    print(f"geroconvert demo: stopped ({signal.Signals(stopped_by).name})", file=sys.stderr)
    return 128 + stopped_by


def _warn(message: str) -> None:
    print(f"geroconvert: warning: {message}", file=sys.stderr)


def main(argv=None) -> int:
    """``python -m geroconvert.interfaces.webview``: ``geroconvert demo``, plus ``--install-assets``."""
    import argparse

    from geroconvert.errors import GeroconvertError

    parser = argparse.ArgumentParser(
        prog="python -m geroconvert.interfaces.webview", description=__doc__.splitlines()[0]
    )
    parser.add_argument("config", nargs="?", help="TOML config to start from (default: built-in HT-p21 dish)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--allow-host", action="append", default=[], metavar="NAME")
    parser.add_argument(
        "--install-assets",
        action="store_true",
        help="put the page's JavaScript into Solara's cache (npm pack) for offline use, then exit",
    )
    args = parser.parse_args(argv)
    try:
        if args.install_assets:
            installed = install_assets()
            print("web assets: " + (", ".join(installed) if installed else "already installed"))
            return 0
        return run_demo(port=args.port, host=args.host, config=args.config, allow_hosts=args.allow_host)
    except GeroconvertError as error:
        print(f"{parser.prog}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
