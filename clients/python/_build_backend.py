"""A PEP 517 build backend for masteryd_client, on the standard library only.

Why not setuptools: pip builds in an isolated environment and would download setuptools from
PyPI first, which school servers and CI machines often cannot reach. This backend needs
nothing but protoc (Debian: protobuf-compiler) to generate the wire module.

The wheel holds masteryd_client/*.py and, generated now, masteryd_client/_gen/mastery/v1/
mastery_pb2.py, so an installed package needs neither the repository nor protoc. The .proto is
taken from $MASTERY_PROTO, ./proto (an sdist carries a copy) or ../../proto (the repository).
"""
import base64
import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = "masteryd_client"
PROTO_REL = os.path.join("mastery", "v1", "mastery.proto")


def _version():
    with open(os.path.join(HERE, NAME, "__init__.py")) as f:
        return re.search(r'^__version__ = "([^"]+)"', f.read(), re.M).group(1)


def _proto_root():
    for root in (os.environ.get("MASTERY_PROTO"), os.path.join(HERE, "proto"),
                 os.path.join(HERE, "..", "..", "proto")):
        if root and os.path.isfile(os.path.join(root, PROTO_REL)):
            return os.path.abspath(root)
    raise RuntimeError("masteryd_client: no %s (set MASTERY_PROTO to the repository's proto "
                       "directory)" % PROTO_REL)


def _generate(out_dir):
    protoc = shutil.which("protoc")
    if protoc is None:
        raise RuntimeError("masteryd_client: protoc is needed to build the package "
                           "(apt-get install protobuf-compiler)")
    root = _proto_root()
    subprocess.run([protoc, "--proto_path=" + root, "--python_out=" + out_dir,
                    os.path.join(root, PROTO_REL)], check=True)
    return os.path.join(out_dir, "mastery", "v1", "mastery_pb2.py")


def _metadata():
    with open(os.path.join(HERE, "README.md")) as f:
        readme = f.read()
    return ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
            "Summary: Python client for masteryd (ZeroMQ + protobuf)\n"
            "Requires-Python: >=3.9\nRequires-Dist: pyzmq>=20\nRequires-Dist: protobuf>=3.20\n"
            "Description-Content-Type: text/markdown\n\n%s" % (NAME, _version(), readme))


def _sources():
    """(path in the wheel, path on disk) of the package's own modules."""
    pkg = os.path.join(HERE, NAME)
    for dirpath, dirnames, files in os.walk(pkg):
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", "_gen"))
        for f in sorted(files):
            if f.endswith(".py"):
                disk = os.path.join(dirpath, f)
                yield os.path.relpath(disk, HERE).replace(os.sep, "/"), disk


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (arcname, digest, len(data))


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = "%s-%s.dist-info" % (NAME, _version())
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w") as f:
        f.write(_metadata())
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    version = _version()
    wheel_name = "%s-%s-py3-none-any.whl" % (NAME, version)
    dist_info = "%s-%s.dist-info" % (NAME, version)
    files = [(arc, open(disk, "rb").read()) for arc, disk in _sources()]
    with tempfile.TemporaryDirectory() as tmp:
        with open(_generate(tmp), "rb") as f:
            files.append((NAME + "/_gen/mastery/v1/mastery_pb2.py", f.read()))
    files.append((dist_info + "/METADATA", _metadata().encode()))
    files.append((dist_info + "/WHEEL", b"Wheel-Version: 1.0\nGenerator: masteryd_client "
                  b"_build_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"))
    record = [_record_line(arc, data) for arc, data in files] + [dist_info + "/RECORD,,"]
    files.append((dist_info + "/RECORD", ("\n".join(record) + "\n").encode()))
    path = os.path.join(wheel_directory, wheel_name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arc, data in files:
            info = zipfile.ZipInfo(arc, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    """The sources, with a copy of the .proto, so the sdist builds without the repository."""
    base = "%s-%s" % (NAME, _version())
    name = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for f in ("pyproject.toml", "_build_backend.py", "README.md"):
            t.add(os.path.join(HERE, f), arcname=base + "/" + f)
        for arc, disk in _sources():
            t.add(disk, arcname=base + "/" + arc)
        t.add(os.path.join(_proto_root(), PROTO_REL), arcname=base + "/proto/" + PROTO_REL)
        info = tarfile.TarInfo(base + "/PKG-INFO")
        data = _metadata().encode()
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return name
