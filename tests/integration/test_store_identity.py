"""The store and the issuer keys belong together, and a damaged data.mdb is named, not mapped.

Each case starts the real masteryd on a data directory put into that state and expects a
refusal (exit 1, never a signal) whose message says what is wrong and what to do, and nothing
created behind the operator's back (no new keys, no new empty store taken for the old one)."""
import json
import os
import shutil
import subprocess

from conftest import BIN, Client, Daemon, evidence, pb

FW = {"id": "urn:test:ident", "title": "Ident", "competencies": [
    {"id": "a", "title": "A", "achievement": {"name": "Badge", "description": "A badge."}}]}


def populate(data):
    """A store with a framework, evidence and a badge; returns the badge's issuer DID."""
    d = Daemon(str(data)).start()
    c = Client(d.endpoint)
    try:
        assert c.call(put_framework=pb.PutFramework(json=json.dumps(FW))).status.code == 0
        for i in range(50):
            c.submit(evidence(f"e{i}", f"learner-{i}", "a", 0.9, 1000 + i))
        return c.call(get_issuer=pb.GetIssuer()).issuer.did
    finally:
        c.close()
        assert d.stop() == 0


def run(data, *extra):
    """Starts masteryd expecting it to refuse; returns its stderr."""
    r = subprocess.run([os.path.join(BIN, "masteryd"), "-d", "--data", str(data), "--listen",
                        "tcp://127.0.0.1:*", "--events", "tcp://127.0.0.1:*", *extra],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1, (r.returncode, r.stderr)  # a message, never SIGBUS (-7)
    assert "ready" not in r.stderr
    return r.stderr


def starts(data, *extra):
    d = Daemon(str(data), extra_args=list(extra)).start()
    c = Client(d.endpoint)
    did = c.call(get_issuer=pb.GetIssuer()).issuer.did
    c.close()
    assert d.stop() == 0
    return did


def test_keys_of_another_store_are_refused(tmp_path):
    populate(tmp_path / "a")
    starts(tmp_path / "b")
    shutil.rmtree(tmp_path / "a" / "keys")
    shutil.copytree(tmp_path / "b" / "keys", tmp_path / "a" / "keys")
    err = run(tmp_path / "a")
    assert "are not this store's" in err and "Restore the key directory" in err, err


def test_store_with_data_but_no_keys_is_refused_and_no_keys_are_made(tmp_path):
    did = populate(tmp_path / "a")
    shutil.move(tmp_path / "a" / "keys", tmp_path / "keys.saved")
    err = run(tmp_path / "a")
    assert "holds no issuer keys" in err and "restore the key directory" in err, err
    assert not os.path.exists(tmp_path / "a" / "keys" / "keyring.json")
    # Putting the keys back is the fix: the same issuer again.
    shutil.rmtree(tmp_path / "a" / "keys", ignore_errors=True)
    shutil.move(tmp_path / "keys.saved", tmp_path / "a" / "keys")
    assert starts(tmp_path / "a") == did


def test_new_store_beside_existing_keys_is_refused_unless_adopted(tmp_path):
    did = populate(tmp_path / "a")
    os.unlink(tmp_path / "a" / "data.mdb")
    os.unlink(tmp_path / "a" / "lock.mdb")
    err = run(tmp_path / "a")
    assert "is new (empty)" in err and "--adopt-keys" in err and "Restore" in err, err
    assert starts(tmp_path / "a", "--adopt-keys") == did
    assert starts(tmp_path / "a") == did  # adopted once: the store records these keys


def test_zero_byte_data_mdb_is_refused(tmp_path):
    populate(tmp_path / "a")
    with open(tmp_path / "a" / "data.mdb", "r+b") as f:
        f.truncate(0)
    err = run(tmp_path / "a")
    assert "was 0 bytes (truncated?)" in err and "Restore data.mdb from a backup" in err, err


def test_truncated_data_mdb_is_refused_not_sigbus(tmp_path):
    populate(tmp_path / "a")
    path = tmp_path / "a" / "data.mdb"
    size = os.path.getsize(path)
    assert size > 4 * 4096
    for cut in (2 * 4096, size - 4096, 4096 + 100, 100):
        shutil.copy(path, tmp_path / "copy.mdb")
        with open(path, "r+b") as f:
            f.truncate(cut)
        err = run(tmp_path / "a")
        assert "data.mdb" in err and ("truncated" in err or "cannot be read" in err), (cut, err)
        assert "Restore it from a backup" in err, err
        shutil.copy(tmp_path / "copy.mdb", path)
    starts(tmp_path / "a")  # the whole file again: fine


def test_damaged_meta_page_is_refused(tmp_path):
    populate(tmp_path / "a")
    path = tmp_path / "a" / "data.mdb"
    good = path.read_bytes()
    for offset, value in ((16, b"\0\0\0\0"),             # magic of meta page 0
                          (4096 + 40, b"\0\0\0\0"),      # page size of meta page 1: 0
                          (10, b"\0\0")):                # page flags: not a meta page
        data = bytearray(good)
        data[offset:offset + len(value)] = value
        path.write_bytes(bytes(data))
        err = run(tmp_path / "a")
        assert "data.mdb" in err and ("damaged" in err or "not an LMDB file" in err), err
    path.write_bytes(good)
    starts(tmp_path / "a")
