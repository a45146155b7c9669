"""shared.data.download against a local HTTP server that honours Range requests: a partial .part file is
continued (only the missing bytes are sent), the archive is checked against its MD5 and unpacked; an
archive put there by hand needs no network; offline and damaged files end in one line."""

import hashlib
import http.server
import io
import threading
import zipfile

import pytest

from shared.data import download
from solutions.hse_sasrec import download as hse_download
from solutions.kraft_kuairec import download as kraft_download


def make_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("data/a.csv", "x,y\n" + "1,2\n" * 50_000)
    return buf.getvalue()


@pytest.fixture()
def server():
    payload = make_zip()
    sent = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            start = int(self.headers.get("Range", "bytes=0-")[6:].rstrip("-") or 0)
            body = payload[start:]
            self.send_response(206 if start else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            sent.append(len(body))  # before the body: once the client has it, the test may read `sent`
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_port}/a.zip", payload, sent
    httpd.shutdown()


def test_download_checks_and_unpacks(server, tmp_path):
    url, payload, sent = server
    md5 = hashlib.md5(payload).hexdigest()
    assert download.fetch_zip(url, tmp_path, "a.zip", md5, show=False) == tmp_path
    assert (tmp_path / "data" / "a.csv").read_text().startswith("x,y\n1,2\n")
    assert sent == [len(payload)] and not (tmp_path / "a.zip.part").exists()


def test_a_partial_file_is_continued(server, tmp_path):
    url, payload, sent = server
    (tmp_path / "a.zip.part").write_bytes(payload[:1000])
    download.fetch_zip(url, tmp_path, "a.zip", hashlib.md5(payload).hexdigest(), show=False)
    assert sent == [len(payload) - 1000]  # only what was missing
    assert (tmp_path / "a.zip").read_bytes() == payload


def test_an_archive_fetched_by_hand_needs_no_network(tmp_path):
    payload = make_zip()
    (tmp_path / "a.zip").write_bytes(payload)
    download.fetch_zip("http://127.0.0.1:9/a.zip", tmp_path, "a.zip", hashlib.md5(payload).hexdigest(), show=False)
    assert (tmp_path / "data" / "a.csv").exists()


def test_a_wrong_checksum_is_one_clear_line(server, tmp_path):
    url, payload, _ = server
    with pytest.raises(download.DataError, match=r"a\.zip: MD5 [0-9a-f]{32}, but the publisher lists 0{32}"):
        download.fetch_zip(url, tmp_path, "a.zip", "0" * 32, show=False)


@pytest.mark.parametrize("script", [kraft_download, hse_download])
def test_offline_ends_in_one_line_naming_the_url(script, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(script, "URL", "http://127.0.0.1:9/" + script.URL.rsplit("/", 1)[1])
    monkeypatch.setattr(script.download, "__defaults__", (script.URL,))
    assert download.main(script.__doc__, script.download, argv=[str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and script.URL in err and "by hand to" in err and "Traceback" not in err
    assert len(script.MD5) == 32
