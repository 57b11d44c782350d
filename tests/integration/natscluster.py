"""A NATS JetStream cluster on loopback for cluster-mode tests (issue 17): n nats-server nodes,
each with its own client, route and monitoring port and its own store directory under tmpdir.

No NATS client library is needed (Debian has none for Python): readiness and progress are read
from each node's HTTP monitoring endpoint (/healthz, /jsz, /routez), and MiniNats speaks just
enough of the text protocol for a test to publish and make JetStream API requests.

Debian 12's nats-server is 2.9: it has no `sync_interval` (2.10), so the stream's fsync policy
is the server's default. Tests here show no loss under SIGKILL of one node at a time, where a
quorum of the other two keeps every acknowledged message.
"""
import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"

_LIVE = set()


def _kill_leftovers():
    """A test that fails between start() and stop() must not leave nats-servers running."""
    for proc in list(_LIVE):
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


atexit.register(_kill_leftovers)


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_RNG = random.Random()


def _free_ports(k):
    """k distinct free loopback ports below the kernel's ephemeral range. A node restarted on its
    ports must find them still free: a port the kernel hands out for bind(0) or an outgoing
    connection (other tests on the machine) could be taken in the seconds a node is down."""
    low, socks, out = _ephemeral_low(), [], []
    try:
        if low < 12000:  # no room below it: the kernel's choice
            for _ in range(k):
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                socks.append(s)
            return [s.getsockname()[1] for s in socks]
        while len(out) < k:
            port = _RNG.randrange(10000, low)
            s = socket.socket()
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                s.close()
                continue
            socks.append(s)  # held until all are chosen, so none is chosen twice
            out.append(port)
        return out
    finally:
        for s in socks:
            s.close()


def free_port():
    """One free loopback port for a process that is restarted on it (see _free_ports)."""
    return _free_ports(1)[0]


class NatsCluster:
    """n nats-server nodes forming one JetStream cluster named `cluster_name` on 127.0.0.1."""

    def __init__(self, tmpdir, n=3, cluster_name="masteryd-test", max_file_store="1GB"):
        self.dir = os.path.abspath(tmpdir)
        self.n = n
        ports = _free_ports(3 * n)
        self.client_ports = ports[0:n]
        self.route_ports = ports[n:2 * n]
        self.http_ports = ports[2 * n:3 * n]
        self.procs = [None] * n
        self.confs = []
        os.makedirs(self.dir, exist_ok=True)
        for i in range(n):
            store = os.path.join(self.dir, f"n{i}", "js")
            os.makedirs(store, exist_ok=True)
            routes = ", ".join(f"nats-route://127.0.0.1:{self.route_ports[j]}"
                               for j in range(n) if j != i)
            text = (f"server_name: n{i}\n"
                    f"listen: 127.0.0.1:{self.client_ports[i]}\n"
                    f"http: 127.0.0.1:{self.http_ports[i]}\n"
                    f"jetstream {{\n  store_dir: \"{store}\"\n  max_file_store: {max_file_store}\n"
                    f"  max_memory_store: 64MB\n}}\n"
                    f"cluster {{\n  name: {cluster_name}\n"
                    f"  listen: 127.0.0.1:{self.route_ports[i]}\n  routes: [{routes}]\n}}\n")
            path = os.path.join(self.dir, f"n{i}.conf")
            with open(path, "w") as f:
                f.write(text)
            self.confs.append(path)

    # ---- processes ---------------------------------------------------------------------

    def log_path(self, i):
        return os.path.join(self.dir, f"n{i}.log")

    def _spawn(self, i):
        assert self.procs[i] is None or self.procs[i].poll() is not None, f"n{i} is running"
        log = open(self.log_path(i), "a")
        try:
            # Its own process group: a kill reaches nothing else, and _kill_leftovers can use it.
            self.procs[i] = subprocess.Popen([NATS_SERVER, "-c", self.confs[i]], stdout=log,
                                             stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()
        _LIVE.add(self.procs[i])

    def start(self):
        for i in range(self.n):
            self._spawn(i)
        return self

    def alive(self, i):
        return self.procs[i] is not None and self.procs[i].poll() is None

    def kill(self, i):
        """SIGKILL node i (no flush, no goodbye to the routes)."""
        p = self.procs[i]
        if p is not None and p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        _LIVE.discard(p)

    def restart(self, i, timeout=30):
        """Starts node i again on the same ports and store; waits until it has rejoined: routes
        to every live node and the meta leader known. Under load its replicas of streams and
        consumers may take longer to be current again (full /healthz): wait_ready([i]) waits
        for that too."""
        self._spawn(i)
        self.wait_ready(timeout, nodes=[i], strict=False)

    def stop(self, timeout=10):
        for i, p in enumerate(self.procs):
            if p is None:
                continue
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            _LIVE.discard(p)
            self.procs[i] = None

    # ---- monitoring --------------------------------------------------------------------

    def urls(self):
        return ",".join(f"nats://127.0.0.1:{p}" for p in self.client_ports)

    def url(self, i):
        return f"nats://127.0.0.1:{self.client_ports[i]}"

    def http(self, i, path, timeout=2.0):
        """GET path from node i's monitoring port: (HTTP status, parsed JSON or None)."""
        url = f"http://127.0.0.1:{self.http_ports[i]}{path}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                return e.code, json.loads(body)
            except ValueError:
                return e.code, None

    def jsz(self, i, query="streams=1&consumers=1&config=1"):
        return self.http(i, "/jsz?accounts=1&" + query)[1]

    def server_id(self, i):
        """Node i's server id (2.9 makes a new one at every start); None if it does not answer."""
        try:
            return (self.http(i, "/varz")[1] or {}).get("server_id")
        except OSError:
            return None

    def routes(self, i):
        """Names ("n<j>") of the live nodes node i has a route to (2.9's /routez names a route's
        far end by server id only)."""
        names = {self.server_id(j): f"n{j}" for j in range(self.n) if j != i and self.alive(j)}
        _, rz = self.http(i, "/routez")
        return sorted({names[r["remote_id"]] for r in (rz or {}).get("routes") or []
                       if r.get("remote_id") in names})

    def healthy(self, i, strict=True):
        """/healthz says ok: the server runs, its JetStream has found a meta leader and (strict)
        every stream and consumer replica it has is current; not strict: JetStream is on."""
        if not self.alive(i):
            return False
        try:
            code, body = self.http(i, "/healthz" if strict else "/healthz?js-enabled-only=true")
        except OSError:
            return False
        return code == 200 and (body or {}).get("status") == "ok"

    def meta_leader(self, i):
        try:
            jz = self.jsz(i, "")
        except OSError:
            return None
        return ((jz or {}).get("meta_cluster") or {}).get("leader") or None

    def wait_ready(self, timeout=30, nodes=None, strict=True):
        """Every given node (default: all) is healthy (strict: see healthy()), routed to every
        other live node, and knows the elected meta leader. Raises RuntimeError with the logs'
        tails if not within timeout seconds."""
        nodes = list(range(self.n)) if nodes is None else nodes
        deadline = time.time() + timeout
        while True:
            ok = True
            for i in nodes:
                if not self.healthy(i, strict):
                    ok = False
                    break
                live = {f"n{j}" for j in range(self.n) if j != i and self.alive(j)}
                if not live <= set(self.routes(i)):
                    ok = False
                    break
                if self.meta_leader(i) is None:
                    ok = False
                    break
            if ok:
                return self
            self.check_alive()
            if time.time() > deadline:
                raise RuntimeError("NATS cluster not ready:\n" + self.logs_tail())
            time.sleep(0.1)

    def check_alive(self):
        """Raises RuntimeError when a node the harness started and did not kill has exited
        (2.9 logs a SIGTERM or SIGINT only at debug level: the exit status tells)."""
        for i, p in enumerate(self.procs):
            if p is not None and p.poll() is not None and p in _LIVE:
                _LIVE.discard(p)
                raise RuntimeError(f"nats-server n{i} exited on its own, status {p.returncode}"
                                   " (0 or 1: a SIGINT or SIGTERM from outside the test)\n"
                                   + self.logs_tail())

    def logs_tail(self, lines=40):
        out = []
        for i in range(self.n):
            try:
                with open(self.log_path(i)) as f:
                    out.append(f"--- n{i}\n" + "".join(f.readlines()[-lines:]))
            except OSError:
                pass
        return "\n".join(out)

    def _live_jsz(self):
        """(node index, /jsz) of every live node that answers."""
        out = []
        for i in range(self.n):
            if not self.alive(i):
                continue
            try:
                jz = self.jsz(i)
            except OSError:
                continue
            if jz:
                out.append((i, jz))
        return out

    @staticmethod
    def _streams(jz):
        for acc in jz.get("account_details") or []:
            for st in acc.get("stream_detail") or []:
                yield st

    def streams(self):
        """{stream name: its state (messages, bytes, first_seq, last_seq, ...)} as reported by
        the stream's leader when it answers, else by any live replica."""
        out = {}
        for i, jz in self._live_jsz():
            for st in self._streams(jz):
                leader = (st.get("cluster") or {}).get("leader")
                if st["name"] not in out or leader == f"n{i}":
                    out[st["name"]] = st.get("state") or {}
        return out

    def consumers(self, stream=None):
        """{consumer name: {stream, num_pending, num_ack_pending, num_redelivered, delivered,
        ack_floor, leader}} read from the live nodes; each consumer's figures come from its
        leader when it answers (a follower's may lag), else from any replica."""
        out = {}
        for i, jz in self._live_jsz():
            for st in self._streams(jz):
                if stream is not None and st["name"] != stream:
                    continue
                for c in st.get("consumer_detail") or []:
                    leader = (c.get("cluster") or {}).get("leader")
                    if c["name"] in out and leader != f"n{i}":
                        continue
                    out[c["name"]] = {
                        "stream": st["name"],
                        "num_pending": c.get("num_pending", 0),
                        "num_ack_pending": c.get("num_ack_pending", 0),
                        "num_redelivered": c.get("num_redelivered", 0),
                        "delivered": c.get("delivered") or {},
                        "ack_floor": c.get("ack_floor") or {},
                        "leader": leader,
                    }
        return out


class MiniNats:
    """Just enough of the NATS client protocol for tests: connect, publish (with headers),
    request/reply. Not a general client: one socket, no reconnect, synchronous."""

    def __init__(self, url, timeout=5.0):
        host, port = url.replace("nats://", "").rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.sid = 0
        self.last_reply_to = ""  # the reply subject of the last message request() returned
        info = self._line()
        assert info.startswith(b"INFO "), info
        self._send(b'CONNECT {"verbose":false,"pedantic":false,"headers":true,"no_responders":true,'
                   b'"protocol":1}\r\nPING\r\n')
        while True:
            line = self._line()
            if line == b"PONG":
                break
            if line.startswith(b"-ERR"):
                raise RuntimeError(line.decode())

    def close(self):
        self.sock.close()

    def _send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("nats connection closed")
        self.buf += chunk

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    @staticmethod
    def _headers(headers):
        if not headers:
            return b""
        return (b"NATS/1.0\r\n" + b"".join(f"{k}: {v}\r\n".encode() for k, v in headers.items())
                + b"\r\n")

    def request(self, subject, payload=b"", headers=None, timeout=5.0):
        """Publishes with a fresh reply inbox and returns (headers bytes, payload bytes) of the
        first answer. Raises TimeoutError (socket.timeout) when none comes."""
        self.sid += 1
        inbox = f"_INBOX.mini.{os.getpid()}.{self.sid}"
        self._send(f"SUB {inbox} {self.sid}\r\nUNSUB {self.sid} 1\r\n".encode())
        hdr = self._headers(headers)
        if hdr:
            self._send(f"HPUB {subject} {inbox} {len(hdr)} {len(hdr) + len(payload)}\r\n".encode()
                       + hdr + payload + b"\r\n")
        else:
            self._send(f"PUB {subject} {inbox} {len(payload)}\r\n".encode() + payload + b"\r\n")
        self.sock.settimeout(timeout)
        while True:
            line = self._line()
            if line == b"PING":
                self._send(b"PONG\r\n")
                continue
            if line.startswith(b"-ERR"):
                raise RuntimeError(line.decode())
            parts = line.split()
            # MSG <subject> <sid> [reply-to] <bytes>; HMSG ... [reply-to] <hdr bytes> <bytes>
            if parts[0] == b"MSG":
                self.last_reply_to = parts[3].decode() if len(parts) == 5 else ""
                return b"", self._bytes(int(parts[-1]))
            if parts[0] == b"HMSG":
                self.last_reply_to = parts[3].decode() if len(parts) == 6 else ""
                hlen, tlen = int(parts[-2]), int(parts[-1])
                data = self._bytes(tlen)
                return data[:hlen], data[hlen:]

    def js(self, api, body=None, timeout=5.0):
        """A JetStream API request ($JS.API.<api>): the parsed JSON answer."""
        _, data = self.request("$JS.API." + api, json.dumps(body or {}).encode(), timeout=timeout)
        return json.loads(data)

    def js_publish(self, subject, payload, msg_id=None, timeout=5.0):
        """Publishes to a stream's subject and waits for JetStream's ack: its JSON
        ({"stream", "seq", "duplicate"} or {"error"})."""
        h, data = self.request(subject, payload, {"Nats-Msg-Id": msg_id} if msg_id else None,
                               timeout)
        if not data and b"503" in h:
            return {"error": {"code": 503, "description": "no responders"}}
        return json.loads(data)

    def fetch(self, stream, consumer, timeout=5.0):
        """One message from a durable pull consumer: (payload, ack subject); (None, None) when
        none is pending (JetStream answers 404)."""
        h, data = self.request(f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}",
                               json.dumps({"batch": 1, "no_wait": True}).encode(),
                               timeout=timeout)
        if h.startswith(b"NATS/1.0 4"):
            return None, None
        return data, self.last_reply_to

    def ack(self, ack_subject):
        """Acknowledges a fetched message; returns once the server has read it (PING/PONG)."""
        self._send(f"PUB {ack_subject} 0\r\n\r\nPING\r\n".encode())
        while True:
            line = self._line()
            if line == b"PONG":
                return
            if line.startswith(b"-ERR"):
                raise RuntimeError(line.decode())
