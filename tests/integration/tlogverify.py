"""An independent transparency-log verifier, written from RFC 9162 (Merkle tree hashes,
inclusion and consistency proofs) and the C2SP signed-note / tlog-checkpoint / tlog-proof texts
with Python's hashlib and the cryptography package's Ed25519: nothing of lib/tlog. Shared by
test_log.py and test_erasure.py (an erasure must leave every proof verifiable)."""
import base64
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


def leaf_hash(entry):
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def mth(leaves):
    """RFC 9162 2.1.1, by its definition."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def verify_inclusion(index, size, leaf, proof, root):
    """RFC 9162 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(size1, size2, root1, root2, proof):
    """RFC 9162 2.1.4.2."""
    if size1 > size2:
        return False
    if size1 == size2:
        return not proof and root1 == root2
    if size1 == 0 or not proof:
        return False
    if size1 & (size1 - 1) == 0:
        proof = [root1] + list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while True:
                    fn >>= 1
                    sn >>= 1
                    if fn & 1 or fn == 0:
                        break
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return fr == root1 and sr == root2 and sn == 0


def parse_vkey(vkey):
    name, khash, key = vkey.split("+", 2)  # a name has no '+'; base64 may
    raw = base64.b64decode(key)
    assert raw[0] == 1 and len(raw) == 33  # Ed25519
    want = hashlib.sha256(name.encode() + b"\n" + raw).digest()[:4]
    assert want.hex() == khash, "the key hash is SHA-256(name || LF || 0x01 || key)[:4]"
    return name, want, raw[1:]


def open_note(note, vkey):
    """C2SP signed-note: returns the text when a signature by vkey verifies."""
    name, khash, pub = parse_vkey(vkey)
    text, sep, sigs = note.partition("\n\n")
    assert sep and text.endswith("") and sigs.endswith("\n")
    text += "\n"
    ok = False
    for line in sigs.splitlines():
        assert line.startswith("\u2014 ")
        signer, b64 = line[2:].split(" ")
        raw = base64.b64decode(b64)
        if signer != name or raw[:4] != khash:
            continue
        try:
            Ed25519PublicKey.from_public_bytes(pub).verify(raw[4:], text.encode())
            ok = True
        except InvalidSignature:
            return None
    return text if ok else None


def parse_checkpoint(text):
    origin, size, root = text.splitlines()[:3]
    return origin, int(size), base64.b64decode(root)


def parse_tlog_proof(text):
    """c2sp.org/tlog-proof@v1: header, index, hashes, blank line, the signed checkpoint."""
    head, sep, checkpoint = text.partition("\n\n")
    lines = head.split("\n")
    assert lines[0] == "c2sp.org/tlog-proof@v1"
    rest = [x for x in lines[1:] if not x.startswith("extra ")]
    assert rest[0].startswith("index ")
    return int(rest[0][6:]), [base64.b64decode(h) for h in rest[1:]], checkpoint
