"""Finds the Python protobuf code generated from proto/mastery/v1/mastery.proto.

The generated module is never committed. It is looked for, in this order:

1. ``mastery.v1.mastery_pb2`` already imported or importable (a caller that put the generated
   tree on ``sys.path`` itself, e.g. the integration tests);
2. the directory named by ``MASTERY_PYGEN`` (ctest sets it to ``<build>/gen/python``);
3. ``<checkout>/build/gen/python``, which the CMake build (``make build``) generates with
   ``protoc --python_out``;
4. otherwise it runs ``protoc`` once on ``<checkout>/proto`` (or ``$MASTERY_PROTO``) into a cache
   directory (``$XDG_CACHE_HOME/masteryd_client/<hash of the .proto>``, default ``~/.cache``).

The directory found is put on ``sys.path`` and the module imported as ``mastery.v1.mastery_pb2``,
so a process that also imports that module directly shares one set of message classes (a proto
file may be registered only once per process).
"""
import hashlib
import importlib
import os
import shutil
import subprocess
import sys
import tempfile

_MODULE = "mastery.v1.mastery_pb2"
_REL = os.path.join("mastery", "v1", "mastery_pb2.py")
_CHECKOUT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _try_import():
    try:
        return importlib.import_module(_MODULE)
    except ImportError:
        return None


def _import_from(directory):
    if not os.path.isfile(os.path.join(directory, _REL)):
        return None
    if directory not in sys.path:
        sys.path.insert(0, directory)
    importlib.invalidate_caches()
    return importlib.import_module(_MODULE)


def _generate(proto_root):
    proto = os.path.join(proto_root, "mastery", "v1", "mastery.proto")
    with open(proto, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    out = os.path.join(cache, "masteryd_client", digest)
    if os.path.isfile(os.path.join(out, _REL)):
        return out
    protoc = shutil.which("protoc")
    if protoc is None:
        raise ImportError("masteryd_client: no generated protobuf code found and no protoc to "
                          "generate it; build the repository (make build) or install "
                          "protobuf-compiler")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=digest + ".", dir=os.path.dirname(out))
    try:
        subprocess.run([protoc, "--proto_path=" + proto_root, "--python_out=" + tmp, proto],
                       check=True, capture_output=True)
        try:
            os.rename(tmp, out)  # atomic: a concurrent first import sees all or nothing
        except OSError:
            if not os.path.isfile(os.path.join(out, _REL)):
                raise
    except subprocess.CalledProcessError as e:
        raise ImportError("masteryd_client: protoc failed on %s: %s"
                          % (proto, e.stderr.decode(errors="replace"))) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def load():
    """Returns the generated module; raises ImportError saying what is missing."""
    mod = _try_import()
    if mod is not None:
        return mod
    for directory in (os.environ.get("MASTERY_PYGEN"),
                      os.path.join(_CHECKOUT, "build", "gen", "python")):
        if directory:
            mod = _import_from(os.path.abspath(directory))
            if mod is not None:
                return mod
    proto_root = os.environ.get("MASTERY_PROTO") or os.path.join(_CHECKOUT, "proto")
    if not os.path.isfile(os.path.join(proto_root, "mastery", "v1", "mastery.proto")):
        raise ImportError("masteryd_client: no generated protobuf code (set MASTERY_PYGEN to "
                          "<build>/gen/python) and no proto/ to generate it from (set "
                          "MASTERY_PROTO to the repository's proto directory)")
    mod = _import_from(_generate(proto_root))
    if mod is None:
        raise ImportError("masteryd_client: protoc produced no " + _REL)
    return mod


pb = load()
