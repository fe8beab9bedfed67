"""A fake Kaggle server for the tests, loaded as a pytest plugin (see conftest.py).

It speaks the wire protocol the real `kaggle` client uses (../shared/docs/kaggle-protocol.md):
JSON RPCs on `[/api]/v1/<pkg>.<Service>/<Method>`, absolute-form targets because the client reaches
it as an HTTP proxy, a 302 to a zip for downloads, pre-signed upload and output URLs. It holds a tiny
Digit Recognizer competition, scores submissions against a tiny solution, and lets a test inject a
failure into any step (`fake.fail("DownloadDataFiles", 403)`) and inspect what reached it.
"""
import base64
import csv
import io
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import zipfile
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

USERNAME = "fakeuser"
KEY = "fake-secret-key-0123456789"  # tests assert this string never reaches the user
TOKEN = "KGAT_fake-token-0123456789"
COMPETITION = "digit-recognizer"
PIXELS = [f"pixel{i}" for i in range(784)]
ZIP_DATE = "Mon, 01 Jan 2024 00:00:00 GMT"  # Last-Modified of the served zip

_RPC = re.compile(r"^(?:/api)?/v1/(\w+)\.(\w+)/(\w+)$")


def make_competition_zip(n_train=8, n_test=5, seed=0, members=None):
    """Build a tiny competition zip in Kaggle's format; returns (zip bytes, test labels by ImageId).

    `members` maps extra or replacement member names to bytes (e.g. "../evil.csv" for zip-slip).
    """
    rng = random.Random(seed)
    def pixels():
        return [str(rng.choice((0, 0, 0, 128, 255))) for _ in PIXELS]
    train = [",".join(["label"] + PIXELS)]
    train += [",".join([str(rng.randrange(10))] + pixels()) for _ in range(n_train)]
    test = [",".join(PIXELS)] + [",".join(pixels()) for _ in range(n_test)]
    sample = ["ImageId,Label"] + [f"{i},0" for i in range(1, n_test + 1)]
    files = {"train.csv": train, "test.csv": test, "sample_submission.csv": sample}
    contents = {name: ("\n".join(lines) + "\n").encode() for name, lines in files.items()}
    contents.update(members or {})
    buf = io.BytesIO()
    # Stored, not deflated: a flipped byte then surely fails the CRC, which the corrupt-zip tests need.
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in contents.items():
            zf.writestr(name, data)
    solution = {i: rng.randrange(10) for i in range(1, n_test + 1)}
    return buf.getvalue(), solution


def _now():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FakeKaggle:
    """The server and its state. Tests set attributes (rules_accepted, daily_limit, kernel_files,
    kernel_statuses, ...) and call fail()/respond(); they read calls, uploads, submissions, pushes."""

    def __init__(self):
        self.zip_bytes, self.solution = make_competition_zip()
        self.competition = COMPETITION
        self.username, self.key, self.tokens = USERNAME, KEY, {TOKEN}
        self.rules_accepted = True
        self.daily_limit = 5
        self.pending_polls = 1  # GetSubmission answers PENDING this many times before scoring
        self.calls = []  # (method or route name, JSON body) in arrival order
        self.uploads = []  # raw bytes of every PUT that reached the upload URL
        self.submissions = []  # dicts in Kaggle's JSON shape, plus "_content"/"_polls"
        self.pushes = []  # SaveKernel request bodies
        # The latest version's run: popped per GetKernelSessionStatus, the last one sticks, so
        # ["RUNNING"] or ["ERROR"] holds it there. Earlier versions are COMPLETE.
        self.reset_zip_at = None  # a byte count: the zip download's connection resets after it
        self.kernel_statuses = ["COMPLETE"]
        self.kernel_failure = ""
        self.kernel_files = {}  # file name -> bytes the kernel "produced"
        self.kernel_outputs = {}  # version -> its own kernel_files; versions not here have kernel_files
        self.kernel_log = ""
        self._faults, self._overrides, self._blobs, self._blob_names = {}, {}, {}, {}
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.fake = self
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # A short poll interval: shutdown() waits for it, once per test.
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    # --- what tests call -------------------------------------------------------------------
    def fail(self, name, status, times=1, message=None):
        """Make the next `times` requests to `name` (an RPC method, or "zip", "upload", "output")
        answer HTTP `status` with Kaggle's error envelope carrying `message`; message="" sends
        no envelope at all, as a proxy or a bare Kaggle error would."""
        message = f"Injected failure {status} for {name}" if message is None else message
        self._faults.setdefault(name, []).extend([(status, message)] * times)

    def respond(self, name, body, times=1):
        """Make the next `times` calls of RPC `name` answer 200 with this JSON body instead."""
        self._overrides.setdefault(name, []).extend([body] * times)

    def called(self, name):
        return [body for method, body in self.calls if method == name]

    def add_submission(self, description, date, status="COMPLETE", public="", private="", error="",
                       file_name="submission.csv"):
        """Seed a past submission as ListSubmissions will return it (in the order added)."""
        sub = {"ref": 1000 + len(self.submissions), "date": date, "description": description,
               "status": status, "publicScore": public, "privateScore": private,
               "errorDescription": error, "fileName": file_name, "_polls": 0}
        self.submissions.append(sub)
        return sub

    def submission_csv(self, correct=None):
        """A well-formed submission with the first `correct` labels right (all, by default)."""
        ids = sorted(self.solution)
        correct = len(ids) if correct is None else correct
        rows = [f"{i},{self.solution[i] if n < correct else (self.solution[i] + 1) % 10}"
                for n, i in enumerate(ids)]
        return "ImageId,Label\n" + "\n".join(rows) + "\n"

    def go_offline(self, monkeypatch):
        """Point the proxy settings at a port nothing listens on: Kaggle is unreachable."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            dead = f"http://127.0.0.1:{s.getsockname()[1]}"
        for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
            monkeypatch.setenv(var, dead)

    # --- server internals ---------------------------------------------------------------------
    def _take(self, table, name):
        with self._lock:
            queue = table.get(name)
            return queue.pop(0) if queue else None

    def _authorized(self, header):
        kind, _, value = (header or "").partition(" ")
        if kind == "Bearer":
            return value in self.tokens
        if kind == "Basic":
            try:
                return base64.b64decode(value).decode() == f"{self.username}:{self.key}"
            except ValueError:
                return False
        return False

    def _score(self, content):
        """Categorization accuracy on the public and private halves, or an errorDescription."""
        try:
            rows = list(csv.reader(io.StringIO(content.decode())))
        except UnicodeDecodeError:
            return None, None, "Submission file is not UTF-8 text."
        # Kaggle's scorer matches columns by name and parses each cell as an integer.
        if not rows or sorted(rows[0]) != ["ImageId", "Label"]:
            return None, None, "Submission must have the columns 'ImageId' and 'Label'."
        id_at, label_at = rows[0].index("ImageId"), rows[0].index("Label")
        got = {}
        for line, row in enumerate(rows[1:], start=2):
            for cell in (row[id_at:id_at + 1] or [""]) + (row[label_at:label_at + 1] or [""]):
                try:
                    int(cell)
                except ValueError:
                    return None, None, f"Could not parse '{cell}' as an integer (line {line})."
            got[int(row[id_at])] = int(row[label_at])
        if sorted(got) != sorted(self.solution):
            return None, None, (f"Submission must have {len(self.solution)} rows "
                                f"with ImageId 1..{len(self.solution)}; found {len(got)}.")
        ids = sorted(self.solution)
        public, private = ids[: (len(ids) + 1) // 2], ids[(len(ids) + 1) // 2:]
        def acc(part):
            return "%.5f" % (sum(got[i] == self.solution[i] for i in part) / len(part))
        return acc(public), acc(private), ""

    def _limits(self):
        today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
        num_today = sum(s["date"].startswith(today) for s in self.submissions)
        return {"numToday": num_today, "numTotal": len(self.submissions),
                "numAllowedNow": max(0, self.daily_limit - num_today), "limitedByTotal": False}

    def _public(self, sub):
        return {k: v for k, v in sub.items() if not k.startswith("_")}

    def rpc(self, method, body, send):
        """Answer one RPC: send(status, json_body, headers=None)."""
        comp_methods = {"ListDataFiles", "DownloadDataFiles", "StartSubmissionUpload",
                        "CreateSubmission", "GetSubmissionLimits", "ListSubmissions"}
        if method in comp_methods and body.get("competitionName") != self.competition:
            return send(404, {"code": 404, "message": "Competition not found"})
        if method in {"DownloadDataFiles", "StartSubmissionUpload", "CreateSubmission"} \
                and not self.rules_accepted:
            return send(403, {"code": 403, "message": "You must accept this competition's rules "
                                                      "before you'll be able to download files."})
        handler = getattr(self, "_rpc_" + method, None)
        if handler is None:
            return send(404, {"code": 404, "message": f"Fake Kaggle has no RPC {method}"})
        return handler(body, send)

    def _rpc_IntrospectToken(self, body, send):
        if body.get("token") in self.tokens:
            return send(200, {"active": True, "username": self.username})
        return send(200, {"active": False})

    def _rpc_ListDataFiles(self, body, send):
        with zipfile.ZipFile(io.BytesIO(self.zip_bytes)) as zf:
            files = [{"name": i.filename, "totalBytes": i.file_size,
                      "creationDate": "2024-01-01T00:00:00Z"} for i in zf.infolist()]
        send(200, {"files": files, "nextPageToken": ""})

    def _rpc_DownloadDataFiles(self, body, send):
        # A signed URL on another host:port, as Kaggle does; the client follows it with a GET.
        send(302, None, {"Location": f"{self.url}/files/{self.competition}.zip?sig=s1gn3d"})

    def _rpc_StartSubmissionUpload(self, body, send):
        with self._lock:
            token = f"blob-{len(self._blobs) + 1}"
            self._blobs[token] = None
            self._blob_names[token] = body.get("fileName", "")
        send(200, {"token": token, "createUrl": f"{self.url}/upload/{token}"})

    def _rpc_CreateSubmission(self, body, send):
        content = self._blobs.get(body.get("blobFileTokens"))
        if content is None:
            return send(400, {"code": 400, "message": "The submission file was not uploaded."})
        if self._limits()["numAllowedNow"] <= 0:
            return send(400, {"code": 400, "message": (
                f"Submission not allowed:  Your team has used its daily Submission allowance "
                f"({self.daily_limit}) today, please try again tomorrow UTC.")})
        sub = self.add_submission(body.get("submissionDescription", ""), _now(), status="PENDING",
                                  file_name=self._blob_names[body["blobFileTokens"]])
        sub.update(_content=content, _polls=self.pending_polls)
        send(200, {"message": "Successfully submitted to Digit Recognizer", "ref": sub["ref"]})

    def _rpc_GetSubmissionLimits(self, body, send):
        send(200, self._limits())

    def _rpc_ListSubmissions(self, body, send):
        send(200, {"submissions": [self._public(s) for s in self.submissions], "nextPageToken": ""})

    def _rpc_GetSubmission(self, body, send):
        sub = next((s for s in self.submissions if s["ref"] == body.get("ref")), None)
        if sub is None:
            return send(404, {"code": 404, "message": "Submission not found"})
        with self._lock:
            if sub["status"] == "PENDING" and sub["_polls"] > 0:
                sub["_polls"] -= 1
            elif sub["status"] == "PENDING":
                public, private, error = self._score(sub["_content"])
                sub.update(status="ERROR" if error else "COMPLETE", errorDescription=error,
                           publicScore=public or "", privateScore=private or "")
        send(200, self._public(sub))

    def _rpc_SaveKernel(self, body, send):
        slug = body.get("slug", "")
        if slug.split("/")[0] != self.username:
            return send(403, {"code": 403, "message": f"Permission denied to save kernel {slug}"})
        self.pushes.append(body)
        version = sum(p.get("slug") == slug for p in self.pushes)
        send(200, {"ref": f"/code/{slug}", "url": f"https://www.kaggle.com/code/{slug}",
                   "versionNumber": version, "kernelId": 987})

    def _kernel_version(self, body):
        """The version a kernel RPC is about (its versionLabel "vN", else the latest pushed), or None
        when that kernel or version was never pushed."""
        slug = f"{body.get('userName')}/{body.get('kernelSlug')}"
        latest = sum(p.get("slug") == slug for p in self.pushes)
        label = body.get("versionLabel", "")
        version = int(label[1:]) if label[1:].isdigit() else latest
        return version if 1 <= version <= latest else None, latest

    def _rpc_GetKernelSessionStatus(self, body, send):
        version, latest = self._kernel_version(body)
        if version is None:
            return send(404, {"code": 404, "message": "Kernel not found"})
        if version < latest:  # an earlier run has finished
            return send(200, {"status": "COMPLETE"})
        with self._lock:  # the latest run goes through kernel_statuses
            status = self.kernel_statuses.pop(0) if len(self.kernel_statuses) > 1 \
                else self.kernel_statuses[0]
        reply = {"status": status}
        if status == "ERROR":
            reply["failureMessage"] = self.kernel_failure
        send(200, reply)

    def _rpc_ListKernelSessionOutput(self, body, send):
        version, _ = self._kernel_version(body)
        if version is None:
            return send(404, {"code": 404, "message": "Kernel not found"})
        base = f"{self.url}/output/v{version}/{body['userName']}/{body['kernelSlug']}"
        files = [{"fileName": name, "url": f"{base}/{name}"} for name in self._kernel_files(version)]
        send(200, {"files": files, "log": self.kernel_log, "nextPageToken": ""})

    def _kernel_files(self, version):
        return self.kernel_outputs.get(version, self.kernel_files)


class _Handler(BaseHTTPRequestHandler):
    """One request. The path may be absolute-form (http://localhost/api/v1/...) because the
    client talks to the fake as its HTTP proxy."""

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, status, body=None, headers=None, raw=None, ctype="application/json"):
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if data or status != 302:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _reset_after(self, data, n):
        """Promise all of data, send its first n bytes, then reset the connection."""
        self.send_response(200)
        self.send_header("Content-Type", "application/zip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[:n])
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def _body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _fault(self, fake, name, as_json=True):
        fault = fake._take(fake._faults, name)
        if fault:
            status, message = fault
            if as_json and message:
                self._send(status, {"code": status, "message": message})
            else:
                self._send(status, raw=message.encode(), ctype="text/plain")
        return bool(fault)

    def do_POST(self):
        fake, path = self.server.fake, urlsplit(self.path).path
        raw = self._body()
        match = _RPC.match(path)
        if not match:
            return self._send(404, {"code": 404, "message": f"No route {path}"})
        method = match.group(3)
        body = json.loads(raw or b"{}")
        fake.calls.append((method, body))
        if self._fault(fake, method):
            return
        if method != "IntrospectToken" and not fake._authorized(self.headers.get("Authorization")):
            return self._send(401, {"code": 401, "message": "Unauthenticated"})
        override = fake._take(fake._overrides, method)
        if override is not None:
            return self._send(200, override)
        fake.rpc(method, body, lambda status, reply, headers=None: self._send(status, reply, headers))

    def do_GET(self):
        fake, path = self.server.fake, urlsplit(self.path).path
        if path.startswith("/files/"):
            fake.calls.append(("zip", {}))
            if fake.reset_zip_at is not None:  # the connection drops mid-download
                return self._reset_after(fake.zip_bytes, fake.reset_zip_at)
            if not self._fault(fake, "zip", as_json=False):
                self._send(200, raw=fake.zip_bytes, ctype="application/zip",
                           headers={"Last-Modified": ZIP_DATE})
        elif path.startswith("/output/v"):
            _, _, version, _, _, name = path.split("/", 5)
            fake.calls.append(("output", {"file": name}))
            if self._fault(fake, "output", as_json=False):
                return
            files = fake._kernel_files(int(version[1:]))
            if name not in files:
                return self._send(404, raw=b"no such output", ctype="text/plain")
            self._send(200, raw=files[name], ctype="application/octet-stream")
        else:
            self._send(404, raw=b"not found", ctype="text/plain")

    def do_PUT(self):
        fake, path = self.server.fake, urlsplit(self.path).path
        data = self._body()
        fake.calls.append(("upload", {"path": path}))
        if not path.startswith("/upload/"):
            return self._send(404, raw=b"not found", ctype="text/plain")
        if self._fault(fake, "upload", as_json=False):
            return
        fake.uploads.append(data)
        fake._blobs[path.rsplit("/", 1)[-1]] = data
        self._send(200, {})

    def do_CONNECT(self):  # an https:// request through the proxy: nothing here may reach the internet
        self._send(502, raw=b"fake kaggle: no https tunnels", ctype="text/plain")


def pytest_configure(config):
    # The client fixes its endpoint when `kaggle` is first imported. Setting LOCALHOST for the whole
    # test process means no test can ever talk to the real api.kaggle.com, whatever imports first.
    os.environ["KAGGLE_API_ENVIRONMENT"] = "LOCALHOST"


@pytest.fixture
def fake_kaggle(tmp_path_factory, monkeypatch):
    """A running FakeKaggle with the environment pointed at it and an isolated HOME holding
    a test kaggle.json (mode 600, user `fakeuser`). kagglekit's retry backoff and score polling
    are made near-instant so fault tests stay fast. Yields the FakeKaggle."""
    extended = sys.modules.get("kaggle.api.kaggle_api_extended")
    if extended is not None and "--local" not in extended.KaggleApi.args:
        pytest.fail("kaggle was imported before KAGGLE_API_ENVIRONMENT=LOCALHOST was set")
    home = tmp_path_factory.mktemp("home")
    config_dir = home / "kaggle-config"
    config_dir.mkdir()
    kaggle_json = config_dir / "kaggle.json"
    kaggle_json.write_text(json.dumps({"username": USERNAME, "key": KEY}))
    kaggle_json.chmod(0o600)
    for var in list(os.environ):
        if var.startswith("KAGGLE_") or var in ("XDG_CONFIG_HOME", "VERBOSE", "VERBOSE_OUTPUT"):
            monkeypatch.delenv(var)
    fake = FakeKaggle()
    fake.home, fake.config_dir, fake.kaggle_json = home, config_dir, kaggle_json
    monkeypatch.setenv("KAGGLE_API_ENVIRONMENT", "LOCALHOST")
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("HOME", str(home))
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(var, fake.url)
    for var in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, "")
    from kagglekit import kaggle_api
    monkeypatch.setattr(kaggle_api, "RETRY_DELAYS", (0.01, 0.01, 0.01))
    monkeypatch.setattr(kaggle_api, "POLL_SECONDS", 0.01)
    fake._thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
