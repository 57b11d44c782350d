#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_note, fuzz_tlogproof, fuzz_logentry and fuzz_logbundle.

The signing key is the golang/mod signed-note vector's (tests/vectors/signed-note), so the
seeds verify against the key the targets are built with; signatures come from the openssl
command line (Ed25519 is deterministic: the output is the same on every run).

    gen_tlog_corpus.py            (from the repository root)
"""
import base64
import hashlib
import json
import os
import struct
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
VEC = json.load(open(os.path.join(ROOT, "tests", "vectors", "signed-note", "peterneumann.json")))
NAME = "PeterNeumann"
SEED = base64.b64decode(VEC["signer_key"].split("+", 4)[4])[1:]


def sign(msg):
    der = bytes.fromhex("302e020100300506032b657004220420") + SEED
    with tempfile.TemporaryDirectory() as d:
        key, inp = os.path.join(d, "k.der"), os.path.join(d, "m")
        open(key, "wb").write(der)
        open(inp, "wb").write(msg)
        return subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-keyform", "DER",
                               "-inkey", key, "-in", inp], check=True,
                              capture_output=True).stdout


def signed(text):
    keyhash = bytes.fromhex(VEC["verifier_key"].split("+")[1])
    sig = base64.b64encode(keyhash + sign(text.encode())).decode()
    return text + "\n\u2014 " + NAME + " " + sig + "\n"


def leaf(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node(l, r):
    return hashlib.sha256(b"\x01" + l + r).digest()


def checkpoint(size, root):
    return "%s\n%d\n%s\n" % (NAME, size, base64.b64encode(root).decode())


def proof(index, hashes, note, extra=None):
    s = "c2sp.org/tlog-proof@v1\n"
    if extra is not None:
        s += "extra " + base64.b64encode(extra).decode() + "\n"
    s += "index %d\n" % index
    s += "".join(base64.b64encode(h).decode() + "\n" for h in hashes)
    return s + "\n" + note


def entry(kind, seq, fields):
    b = struct.pack(">BBQq", 1, kind, seq, 1795169700000 + seq)
    for tag, value in sorted(fields):
        b += struct.pack(">BH", tag, len(value)) + value
    return b


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, name), "wb").write(data if isinstance(data, bytes) else data.encode())


def main():
    vk = VEC["verifier_key"]
    write("note", "vector", vk + "\n" + VEC["signed_note"])
    write("note", "two_signatures", vk + "\n" + VEC["signed_note"] + VEC["second_signature_line"])
    write("note", "unknown_only", vk + "\n" + VEC["text"] + "\n" + VEC["second_signature_line"])
    cp = checkpoint(7, hashlib.sha256(b"x").digest())
    write("note", "checkpoint", vk + "\n" + signed(cp))
    write("note", "checkpoint_text", cp)
    write("note", "no_newline", vk + "\n" + VEC["text"][:-1] + VEC["signed_note"][len(VEC["text"]):])

    fuzz = leaf(b"fuzz")
    write("tlogproof", "size1", proof(0, [], signed(checkpoint(1, fuzz))))
    other = leaf(b"other")
    write("tlogproof", "size2", proof(0, [other], signed(checkpoint(2, node(fuzz, other)))))
    write("tlogproof", "extra", proof(1, [other], signed(checkpoint(2, node(other, fuzz))), b"x"))
    write("tlogproof", "wrong_leaf", proof(1, [fuzz], signed(checkpoint(2, node(fuzz, other)))))

    e1 = entry(4, 41, [(0x01, bytes(range(32))), (0x02, b"math-7"), (0x03, b"fractions")])
    e2 = entry(1, 7, [(0x03, "caf\u00e9".encode()), (0x06, struct.pack(">d", 0.75)),
                      (0x08, b"\x02"), (0x09, struct.pack(">q", -5)), (0x0e, b"\x01"),
                      (0x11, struct.pack(">I", 3))])
    write("logentry", "mastered", e1)
    write("logentry", "evidence", e2)
    write("logentry", "header_only", entry(12, 0, []))
    write("logentry", "out_of_order", entry(1, 1, [(0x03, b"a")]) + b"\x02\x00\x01b")

    l1, l2 = leaf(e1), leaf(e2)
    note = signed(checkpoint(2, node(l1, l2)))
    payload = {"vc": {"evidence": [{"id": "urn:tlog:0:" + l1.hex()},
                                   {"id": "urn:tlog:1:" + l2.hex()}]}}
    jwt = "eyJhbGciOiJFZERTQSJ9." + base64.urlsafe_b64encode(
        json.dumps(payload).encode()).decode().rstrip("=") + ".c2ln"
    bundle = {"type": "MasterydLogProof", "version": 1, "credential": jwt,
              "log": {"origin": NAME, "verifier_key": vk},
              "entries": [{"index": 0, "entry": base64.b64encode(e1).decode(),
                           "proof": proof(0, [l2], note)},
                          {"index": 1, "entry": base64.b64encode(e2).decode(),
                           "proof": proof(1, [l1], note)}]}
    write("logbundle", "jwt_two_entries", json.dumps(bundle, indent=1))
    bundle["credential"] = {"id": "urn:uuid:1", "evidence": payload["vc"]["evidence"][:1]}
    write("logbundle", "object_one_missing", json.dumps(bundle))
    bundle["entries"][0]["entry"] = "AQ="
    write("logbundle", "bad_base64", json.dumps(bundle))


if __name__ == "__main__":
    main()
