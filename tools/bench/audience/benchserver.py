"""What the audience benchmarks share: a LiveRelay server started on loopback with a temporary data directory, a
stream on it, viewer tokens minted locally (HS256 with the SHA-256 of the audience secret, as the server does), and
the server's CPU time."""
import base64, hashlib, hmac, json, os, subprocess, tempfile, time, urllib.request


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
# stream name -> incarnation, as the server reported it when start() created the stream
INCARNATIONS = {}


def key_id(secret):
    """The `kid` the server gives its key: 9 bytes of a labelled SHA-256 of the secret, base64url."""
    digest = hashlib.sha256(f"liverelay audience token kid\n{secret}".encode()).digest()
    return base64.b64encode(digest[:9]).decode().replace("+", "-").replace("/", "_")


def mint(secret, stream, sub, expires):
    key = hashlib.sha256(secret.encode()).digest()
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": key_id(secret)}, separators=(",", ":")).encode())
    payload = b64(json.dumps({"sub": sub, "name": sub, "role": "viewer", "stream": stream, "inc": INCARNATIONS[stream],
                              "iat": int(time.time()), "exp": expires, "jti": os.urandom(16).hex()},
                             separators=(",", ":")).encode())
    signature = b64(hmac.new(key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
    return f"{header}.{payload}.{signature}"


def http(url, method="GET", body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read()


def start(binary, port, secret, extra=""):
    """Starts the server (admin token ADMIN_TOKEN, WebRTC and the transcoder off), waits for it and creates stream
    `bench`; returns (process, base URL, work directory)."""
    work = tempfile.mkdtemp(prefix="liverelay-bench-audience-")
    config = os.path.join(work, "config.yaml")
    with open(config, "w") as f:
        f.write(f"http:\n  port: {port}\n  host: 127.0.0.1\nrtmp:\n  port: 0\n  host: 127.0.0.1\n"
                f"admin:\n  token: {ADMIN_TOKEN}\nlog:\n  level: warning\ndataDirectory: {work}/data\n"
                f"webrtc:\n  enabled: false\ntranscoder:\n  enabled: false\n" + extra.replace("{secret}", secret))
    server = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            http(f"{base}/healthz")
            break
        except Exception:
            time.sleep(0.1)
    _, body = http(f"{base}/api/streams", "POST", json.dumps({"name": "bench"}).encode(),
                   {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"})
    INCARNATIONS["bench"] = json.loads(body)["incarnation"]
    return server, base, work


def server_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
