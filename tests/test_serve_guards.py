"""What the service keeps to itself and whom it answers: no server paths in any reply, API docs with no CDN,
and only the Host names it is meant to be reached by (DNS-rebinding guard), on HTTP and /stream alike."""

from __future__ import annotations

import asyncio
import re
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from serve_fixtures import encode, frame_files, moving_frames, serve
from starlette.testclient import WebSocketDenialResponse

from actcap.data.video import VideoError
from actcap.serve import ServeSettings, resolve_settings, uploads
from actcap.serve.hosts import HostCheck

LOOPBACK = "127.0.0.1, localhost, [::1]"


def refused(host: str, allowed: str = LOOPBACK, name: str | None = None) -> dict:
    name = name or host.rsplit(":", 1)[0]
    return {"detail": f"Host '{host}' is not served here: this server answers only {allowed} (a guard against "
                      f"DNS rebinding); to reach it by another name, start it with --allowed-hosts {name} "
                      f"(or ACTCAP_ALLOWED_HOSTS={name})"}


# --- Host names ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:5000", "localhost", "LocalHost:8080", "[::1]",
                                  "[::1]:5000"])
def test_loopback_names_are_answered_on_any_port(client, host):
    assert client.get("/health", headers={"host": host}).status_code == 200


@pytest.mark.parametrize("host", ["evil.example", "evil.example:5000", "localhost.evil.example",
                                  "127.0.0.1.nip.io:5000", "192.168.1.5:5000"])
def test_other_names_are_refused_with_400(client, host):
    r = client.get("/health", headers={"host": host})
    assert (r.status_code, r.json()) == (400, refused(host))
    r = client.post("/predict", headers={"host": host}, files=frame_files(moving_frames(2, seed=1)))
    assert (r.status_code, r.json()) == (400, refused(host))  # refused before the upload is read


def test_the_live_stream_refuses_other_names_at_the_handshake(client):
    with pytest.raises(WebSocketDenialResponse) as denied:
        with client.websocket_connect("/stream", headers={"host": "evil.example:5000"}):
            pass
    assert (denied.value.status_code, denied.value.json()) == (400, refused("evil.example:5000"))
    assert client.get("/health").json()["live_streams"] == 0
    with client.websocket_connect("/stream", headers={"host": "localhost:5000"}) as ws:
        assert ws.receive_json()["type"] == "ready"


def test_allowed_hosts_add_names_when_serving_on_all_interfaces(make_client):
    client = make_client(host="0.0.0.0", allowed_hosts=("actcap.lan", "10.0.0.2", "[fe80::1]"))
    for host in ("actcap.lan:5000", "ACTCAP.LAN", "10.0.0.2:5000", "[fe80::1]:5000", "localhost:5000"):
        assert client.get("/health", headers={"host": host}).status_code == 200, host
    r = client.get("/health", headers={"host": "evil.example"})
    assert (r.status_code, r.json()) == (400, refused("evil.example", LOOPBACK + ", 10.0.0.2, actcap.lan, [fe80::1]"))


def test_a_single_bind_address_is_answered_by_itself(make_client):
    client = make_client(host="192.168.1.5")
    assert client.get("/health", headers={"host": "192.168.1.5:5000"}).status_code == 200
    assert client.get("/health", headers={"host": "192.168.1.6:5000"}).status_code == 400


def test_star_answers_any_name(make_client):
    client = make_client(host="0.0.0.0", allowed_hosts=("*",))
    assert client.get("/health", headers={"host": "anything.example:1234"}).status_code == 200
    with client.websocket_connect("/stream", headers={"host": "anything.example"}) as ws:
        assert ws.receive_json()["type"] == "ready"


def test_environment_and_flag_set_allowed_hosts():
    env = {"ACTCAP_ALLOWED_HOSTS": " actcap.lan, 10.0.0.2 ,"}
    assert resolve_settings(env).allowed_hosts == ("actcap.lan", "10.0.0.2")
    assert resolve_settings(env, allowed_hosts="other.lan").allowed_hosts == ("other.lan",)  # the flag wins
    from actcap.cli import build_parser

    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--allowed-hosts", "a.lan,b.lan"])
    assert args.allowed_hosts == "a.lan,b.lan"


@pytest.mark.parametrize("bad", ["http://actcap.lan", "actcap.lan:5000", "[::1]:5000", "two words", ""])
def test_a_malformed_allowed_host_stops_the_server_with_its_name(bad):
    with pytest.raises(ValueError) as e:
        ServeSettings(allowed_hosts=(bad,))
    assert str(e.value) == (f"invalid serve settings:\n  --allowed-hosts / ACTCAP_ALLOWED_HOSTS: {bad!r} is not a "
                            "host name; expected names or addresses without scheme or port, comma-separated "
                            "(e.g. 192.168.1.5,myhost.lan), or *")


def test_a_request_without_host_is_refused():
    sent = []

    async def app(scope, receive, send):
        raise AssertionError("must not be reached")

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/health", "headers": []}  # HTTP/1.0 needs no Host
    asyncio.run(HostCheck(app, frozenset({"localhost"}))(scope, None, send))
    assert sent[0]["status"] == 400
    assert sent[1]["body"] == (b'{"detail":"no Host header: this server answers only localhost (a guard against DNS '
                               b'rebinding); to reach it by another name, start it with --allowed-hosts NAME (or '
                               b'ACTCAP_ALLOWED_HOSTS=NAME)"}')


def test_a_real_server_refuses_other_names_on_http_and_the_websocket_handshake(tiny_model_dir):
    with serve(ServeSettings(model=tiny_model_dir)) as url:
        assert httpx.get(f"{url}/health").status_code == 200
        r = httpx.get(f"{url}/health", headers={"host": "evil.example"})
        assert (r.status_code, r.json()) == (400, refused("evil.example"))
        host, port = urlsplit(url).hostname, urlsplit(url).port
        with socket.create_connection((host, port), timeout=60) as s:  # a browser's handshake, by hand
            s.sendall(b"GET /stream HTTP/1.1\r\nHost: evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            reply = s.recv(65536).decode()
        assert reply.startswith("HTTP/1.1 400 ")
        assert refused("evil.example")["detail"] in reply


# --- API docs without a CDN ------------------------------------------------------------------------------------

@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_only_local_assets(client, page):
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]  # a stray remote URL fails loudly
    urls = re.findall(r'(?:src|href|spec-url)="([^"]+)"', r.text) + re.findall(r"url: '([^']+)'", r.text)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "http://" not in r.text and "https://" not in r.text
    for u in urls:
        asset = client.get(u)
        assert asset.status_code == 200, u
        assert len(asset.content) > 1000, u
    kinds = {u.rsplit(".", 1)[-1]: client.get(u).headers["content-type"] for u in urls}
    assert kinds.get("js", "text/javascript").split(";")[0] in ("text/javascript", "application/javascript")
    assert kinds.get("css", "text/css").startswith("text/css")


def test_docs_show_swagger_ui_5_which_renders_openapi_3_1(client):
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    js = client.get("/docs-assets/swagger-ui-bundle.js").text
    assert re.search(r'"5\.\d+\.\d+"', js)  # Swagger UI 4 shows "Unable to render this definition" for 3.1


# --- no server paths in any reply ------------------------------------------------------------------------------

def server_paths(tiny_model_dir: Path, home: Path) -> list[str]:
    return [str(tiny_model_dir), str(tiny_model_dir.parent), str(home), tempfile.gettempdir(), str(Path.home()),
            str(Path(__file__).resolve().parents[1]), "site-packages", "/tmp/", "actcap-upload-"]


def test_no_reply_names_a_server_path(make_client, tiny_model_dir, write_video, tmp_path):
    client = make_client(home=tmp_path / "home")  # the model store: GET /models lists what is in it
    short = write_video(tmp_path / "short.avi", moving_frames(3, seed=8)).read_bytes()
    replies = [client.get(u).text for u in ("/health", "/labels", "/openapi.json", "/docs", "/redoc", "/nope",
                                            "/models")]
    replies += [client.post("/predict", files=frame_files(moving_frames(3, seed=2))).text,
                client.post("/predict", files={"video": ("short.avi", short, "video/x-msvideo")}).text,
                client.post("/predict", files={"video": ("cut.avi", short[: len(short) // 2], "video/avi")}).text,
                client.post("/predict", files={"video": ("x.avi", b"RIFF junk" * 40, "video/avi")}).text,
                client.post("/predict", files={"video": ("x.mp4", b"", "video/mp4")}).text,
                client.post("/predict", files=[("frames[]", ("a.png", b"not a png", "image/png"))]).text,
                client.get("/health", headers={"host": "evil.example"}).text]
    with client.websocket_connect("/stream") as ws:
        replies.append(str(ws.receive_json()))
        ws.send_bytes(b"not an image")
        replies.append(str(ws.receive_json()))
        ws.send_bytes(encode(moving_frames(1, seed=3)[0]))
        ws.send_text("flush")
        replies.append(str(ws.receive_json()))
    assert "short.avi" in replies[8]  # the warning names the client's file instead
    assert '"name":"default"' in replies[6]  # the shipped model is listed, by name only
    for reply in replies:
        for path in server_paths(tiny_model_dir, tmp_path / "home"):
            assert path not in reply, (path, reply)


def test_a_decoder_error_naming_the_temp_file_names_the_upload(client, monkeypatch, write_video, tmp_path):
    def fails(path):
        raise VideoError(path, f"decoded 3 of 5 frames of {path} (in {Path(path).parent})")

    monkeypatch.setattr(uploads, "open_clip", fails)
    data = write_video(tmp_path / "v.avi", moving_frames(5, seed=1)).read_bytes()
    r = client.post("/predict", files={"video": ("mine.avi", data, "video/avi")})
    assert (r.status_code, r.json()) == (422, {"detail": "mine.avi: decoded 3 of 5 frames of mine.avi (in (upload))"})
