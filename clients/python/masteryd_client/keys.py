"""CURVE key files, as `masteryctl keygen` writes them and masteryd reads them."""
import os
import stat

import zmq

_Z85 = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                 ".-:+=^!/*?&<>()[]{}@%$#")


def _read_key(path, what):
    with open(path, encoding="ascii", errors="replace") as f:
        text = f.read().strip()
    if len(text) != 40 or not set(text) <= _Z85:
        raise ValueError("%s: not a CURVE %s key (40 characters of Z85)" % (path, what))
    return text


def curve_keys_from_files(key_file, server_key_file):
    """(client_public, client_secret, server_public) for Client(curve_keys=...).

    key_file: this client's secret key (`masteryctl keygen FILE`: Z85 text, mode 0600; a file
    that its group or others may read is refused with PermissionError, as masteryd does).
    server_key_file: the daemon's public key (its data directory's curve.key.pub).
    Raises OSError for a missing file, ValueError for a file that holds no key."""
    mode = os.stat(key_file).st_mode
    if not stat.S_ISREG(mode):
        raise ValueError("%s: not a regular file" % key_file)
    if mode & 0o077:
        raise PermissionError("%s: mode %04o; a secret key file must be readable by its owner "
                              "only (chmod 600)" % (key_file, stat.S_IMODE(mode)))
    secret = _read_key(key_file, "secret")
    server = _read_key(server_key_file, "public")
    return zmq.curve_public(secret.encode()).decode(), secret, server
