"""Secure-mode helpers: a school with a clients file, CURVE key pairs, and CURVE clients."""
import json
import os
import re
import time

import zmq

from conftest import EXAMPLES, SCHOOL_ISSUER, Client, Daemon, pb

GEOMETRY = {"id": "urn:example:geometry", "title": "Geometry", "version": "1",
            "competencies": [{"id": "geo.angles", "title": "Angles"},
                             {"id": "geo.area", "title": "Area"}]}


def fractions_doc():
    with open(os.path.join(EXAMPLES, "fractions.json")) as f:
        return f.read()


class CurveClient(Client):
    """A DEALER that is a CURVE client with its own key pair."""

    def __init__(self, endpoint, server_public, public, secret, timeout_ms=10000):
        self.ctx = zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.curve_serverkey = server_public
        self.sock.curve_publickey = public
        self.sock.curve_secretkey = secret
        self.sock.connect(endpoint)
        self.timeout_ms = timeout_ms


class School:
    """A data directory, a clients file and a config file; clients by name: (public, secret)."""

    def __init__(self, tmp, clients):
        """clients: [(name, role, frameworks or None)]."""
        self.tmp = str(tmp)
        os.makedirs(self.tmp, exist_ok=True)
        self.data = os.path.join(self.tmp, "data")
        self.clients_file = os.path.join(self.tmp, "clients")
        self.conf = os.path.join(self.tmp, "masteryd.conf")
        self.keys = {}
        self.roles = {}
        for name, role, frameworks in clients:
            self.keys[name] = zmq.curve_keypair()
            self.roles[name] = (role, frameworks)
        self.write_clients()
        with open(self.conf, "w") as f:
            f.write(f"clients_file = {self.clients_file}\n")
            f.write(SCHOOL_ISSUER)
        self.daemon = None
        self.server_public = None

    def write_clients(self, names=None):
        lines = ["# public key (Z85)                          name  role  frameworks"]
        for name in (names if names is not None else self.keys):
            role, fw = self.roles[name]
            lines.append(f"{self.keys[name][0].decode()}  {name}  {role}  {fw or ''}".rstrip())
        tmp = self.clients_file + ".new"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.clients_file)

    def start(self, **kw):
        self.daemon = Daemon(self.data, extra_args=["-c", self.conf]).start(**kw)
        with open(os.path.join(self.data, "curve.key.pub"), "rb") as f:
            self.server_public = f.read().strip()
        return self.daemon

    def client(self, name, **kw):
        pub, sec = self.keys[name]
        return CurveClient(self.daemon.endpoint, self.server_public, pub, sec, **kw)

    def secret_z85(self):
        with open(os.path.join(self.data, "curve.key"), "rb") as f:
            return f.read().strip()

    def wait_log(self, pattern, after=0, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for line in self.daemon.log[after:]:
                if re.search(pattern, line):
                    return line
            time.sleep(0.02)
        raise AssertionError(f"no log line matching {pattern!r}:\n" + "".join(self.daemon.log))

    def load_frameworks(self, admin="admin"):
        c = self.client(admin)
        assert c.call(put_framework=pb.PutFramework(json=fractions_doc())).status.code == pb.STATUS_OK
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(GEOMETRY))).status.code == pb.STATUS_OK
        c.close()
