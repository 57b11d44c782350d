"""Erasure receipts made independently of the daemon, for the verifier tests: a W3C VC 2.0
"ErasureReceipt" (the shape proto/mastery/v1/mastery.proto and the README give) signed with
eddsa-jcs-2022 by an Ed25519 did:key, built here with the `cryptography` package and a JCS
written from RFC 8785 (the receipt holds only strings, integers, objects and arrays, so sorted
keys, no spaces and UTF-8 output are the whole canonical form).

    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    doc = make_receipt(key, "s-1001")          # a dict; json.dumps it into a file
"""
import hashlib
import json
import os
import uuid

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
VC2 = "https://www.w3.org/ns/credentials/v2"


def b58(data):
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def jcs(value):
    """RFC 8785 for documents without floating-point numbers."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def did_key(key):
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    mb = "z" + b58(b"\xed\x01" + pub)
    return "did:key:" + mb, "did:key:%s#%s" % (mb, mb)


def commitment(salt, learner_id):
    """hex SHA-256(salt bytes || learner id UTF-8): the receipt's learnerCommitment."""
    return hashlib.sha256(salt + learner_id.encode("utf-8")).hexdigest()


def sign(doc, key, vm, created="2026-12-01T10:00:00Z"):
    """Adds an eddsa-jcs-2022 DataIntegrityProof (W3C vc-di-eddsa 3.3) to doc, in place."""
    unsecured = {k: v for k, v in doc.items() if k != "proof"}
    config = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
              "created": created, "verificationMethod": vm,
              "proofPurpose": "assertionMethod", "@context": doc["@context"]}
    data = hashlib.sha256(jcs(config)).digest() + hashlib.sha256(jcs(unsecured)).digest()
    proof = dict(config)
    proof["proofValue"] = "z" + b58(key.sign(data))
    doc["proof"] = proof
    return doc


def make_receipt(key, learner_id, salt=None, request_ref="ticket-4711",
                 reason="parent request", erased_at="2026-12-01T10:00:00Z", log_index=42,
                 leaf_hash=None, origin="lincoln.example.edu/mastery-log", sign_it=True):
    salt = os.urandom(32) if salt is None else salt
    did, vm = did_key(key)
    subject = {"type": "LearnerErasure",
               "learnerCommitment": commitment(salt, learner_id),
               "commitmentSalt": salt.hex(), "erasedAt": erased_at,
               "scope": {"evidence": 3, "records": 11, "credentialsRevoked": 0,
                         "credentialsKept": 1},
               "log": {"origin": origin, "index": log_index,
                       "leafHash": leaf_hash or hashlib.sha256(b"leaf").hexdigest()}}
    if request_ref:
        subject["requestRef"] = request_ref
    if reason:
        subject["reason"] = reason
    doc = {"@context": [VC2], "type": ["VerifiableCredential", "ErasureReceipt"],
           "id": "urn:uuid:" + str(uuid.uuid4()), "issuer": did, "validFrom": erased_at,
           "credentialSubject": subject}
    return sign(doc, key, vm) if sign_it else doc


def new_key(seed_byte=7):
    return Ed25519PrivateKey.from_private_bytes(bytes([seed_byte]) * 32)
