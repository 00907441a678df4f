#!/usr/bin/env python3
"""The shipped binaries' dependency lists: read back, turned into CycloneDX SBOMs, checked.

`cargo auditable` (scripts/build-static.sh) embeds in each binary the crates compiled into it, as
zlib-compressed JSON in the `.dep-v0` ELF section. `rust-audit-info` (the reader from the same
project, the code cargo-audit uses; scripts/install-hardening.sh installs it) prints that JSON.
So an SBOM written from it describes what is in the binary, not everything Cargo.lock lists
(no dev-dependencies, no crates of other platforms, none of the mock's crates in readygate's).

  sbom.py deps BINARY [--require A,B] [--forbid C,D]
      print how many crates BINARY embeds; fail unless each required one is there and no
      forbidden one is (build-static.sh: readygate names tokio and hyper, never clap)
  sbom.py write BINARY --name N --version V --arch ARCH --out FILE
      write the CycloneDX 1.6 JSON SBOM of the image N:V (linux/ARCH) holding BINARY
      (scripts/build-image.sh, beside each OCI archive); SOURCE_DATE_EPOCH sets its timestamp
  sbom.py check ARCHIVE SBOM --binary PATH
      validate SBOM against the CycloneDX 1.6 schema (bundled with cyclonedx-python-lib, so
      offline: run with the tools venv's python), and check it against the image itself: its
      name, version and platform from the archive's config, its components exactly the crates
      embedded in the archive's /PATH, tokio and hyper among them (scripts/check-images.sh)

stdlib only, except `check`'s schema validation.
"""

import argparse
import datetime
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import uuid

SPEC_VERSION = "1.6"


def audit_data(binary):
    """The JSON cargo-auditable embedded in BINARY, as rust-audit-info reads it."""
    try:
        out = subprocess.run(["rust-audit-info", binary], check=True, capture_output=True)
    except FileNotFoundError:
        sys.exit("sbom: rust-audit-info not found (run scripts/install-hardening.sh)")
    except subprocess.CalledProcessError as e:
        sys.exit(f"sbom: no dependency list in {binary}: {e.stderr.decode().strip()}")
    return json.loads(out.stdout)


def purl(package):
    # Local packages (readygate itself, the unpublished mock) get a purl too: it names them.
    return f"pkg:cargo/{package['name']}@{package['version']}"


def names(data):
    return {p["name"] for p in data["packages"]}


def cmd_deps(args):
    data = audit_data(args.binary)
    have = names(data)
    required = [n for n in args.require.split(",") if n]
    forbidden = [n for n in args.forbid.split(",") if n]
    missing = [n for n in required if n not in have]
    present = [n for n in forbidden if n in have]
    runtime = sum(1 for p in data["packages"] if p.get("kind", "runtime") == "runtime")
    if missing or present:
        sys.exit(f"{len(have)} crates embedded; missing {missing}, must not have {present}")
    shown = ", ".join(required)
    print(f"{len(have)} crates ({runtime} compiled in, the rest build-time), names {shown}")


def bom(data, name, version, arch, binary_digest, timestamp):
    """A CycloneDX 1.6 document: the image, the binary's root package, every embedded crate."""
    packages = data["packages"]
    refs = [purl(p) for p in packages]
    image_ref = f"image:{name}:{version}:linux/{arch}"
    roots = [purl(p) for p in packages if p.get("root")]
    components = []
    for p in packages:
        component = {
            "type": "application" if p.get("root") else "library",
            "bom-ref": purl(p),
            "name": p["name"],
            "version": p["version"],
            "purl": purl(p),
            # Build-time crates (proc-macros, build scripts' dependencies) are not in the binary.
            "scope": "excluded" if p.get("kind") == "build" else "required",
            "properties": [{"name": "cargo:source", "value": p.get("source", "unknown")}],
        }
        if p.get("root"):
            component["hashes"] = [{"alg": "SHA-256", "content": binary_digest}]
        components.append(component)
    dependencies = [{"ref": image_ref, "dependsOn": roots}]
    for p, ref in zip(packages, refs):
        dependencies.append({"ref": ref, "dependsOn": [refs[i] for i in p.get("dependencies", [])]})
    serial = uuid.uuid5(uuid.NAMESPACE_URL, f"{image_ref}@sha256:{binary_digest}")
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {
                "components": [
                    {"type": "application", "name": "cargo-auditable"},
                    {"type": "application", "name": "rust-audit-info"},
                    {"type": "application", "name": "readygate scripts/sbom.py"},
                ]
            },
            "component": {
                "type": "container",
                "bom-ref": image_ref,
                "name": name,
                "version": version,
                "properties": [{"name": "oci:platform", "value": f"linux/{arch}"}],
            },
        },
        "components": components,
        "dependencies": dependencies,
    }


def cmd_write(args):
    data = audit_data(args.binary)
    with open(args.binary, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    when = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    doc = bom(data, args.name, args.version, args.arch, digest, when.strftime("%Y-%m-%dT%H:%M:%SZ"))
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")


def oci_image(archive, path):
    """(config, bytes of file PATH) of the single image in an OCI archive."""
    with tarfile.open(archive) as tar:
        def blob(digest):
            return tar.extractfile("blobs/sha256/" + digest.split(":", 1)[1]).read()

        index = json.loads(tar.extractfile("index.json").read())
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        config = json.loads(blob(manifest["config"]["digest"]))
        for layer in manifest["layers"]:
            raw = blob(layer["digest"])
            if layer["mediaType"].endswith("gzip"):
                raw = gzip.decompress(raw)
            with tarfile.open(fileobj=io.BytesIO(raw)) as files:
                for member in files.getmembers():
                    if member.name.lstrip("./") == path.lstrip("/"):
                        return config, files.extractfile(member).read()
    sys.exit(f"sbom: {archive} has no {path}")


def cmd_check(args):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    text = open(args.sbom).read()
    problems = []
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        problems.append(f"not valid CycloneDX {SPEC_VERSION}: {str(error).splitlines()[0]}")
    doc = json.loads(text)
    config, binary = oci_image(args.archive, args.binary)
    labels = config.get("config", {}).get("Labels", {})
    image = doc.get("metadata", {}).get("component", {})
    want = (
        labels.get("org.opencontainers.image.title"),
        labels.get("org.opencontainers.image.version"),
        f"linux/{config.get('architecture')}",
    )
    platform = [p["value"] for p in image.get("properties", []) if p["name"] == "oci:platform"]
    got = (image.get("name"), image.get("version"), platform[0] if platform else None)
    if got != want:
        problems.append(f"describes {got}, the image is {want}")
    with tempfile.NamedTemporaryFile() as f:
        f.write(binary)
        f.flush()
        embedded = {(p["name"], p["version"]) for p in audit_data(f.name)["packages"]}
    listed = {(c["name"], c["version"]) for c in doc.get("components", [])}
    if listed != embedded:
        problems.append(
            f"components differ from the crates embedded in {args.binary}: "
            f"only in the SBOM {sorted(listed - embedded)}, only in the binary {sorted(embedded - listed)}"
        )
    if not {"tokio", "hyper"} <= {n for n, _ in listed}:
        problems.append("tokio or hyper missing")
    root = [c for c in doc.get("components", []) if c.get("type") == "application"]
    digest = hashlib.sha256(binary).hexdigest()
    if [h["content"] for c in root for h in c.get("hashes", [])] != [digest]:
        problems.append(f"the root component's SHA-256 is not that of the image's {args.binary}")
    if problems:
        sys.exit("; ".join(problems))
    print(f"{len(listed)} components, CycloneDX {SPEC_VERSION}, matches {want[0]}:{want[1]} {want[2]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    deps = sub.add_parser("deps")
    deps.add_argument("binary")
    deps.add_argument("--require", default="")
    deps.add_argument("--forbid", default="")
    write = sub.add_parser("write")
    write.add_argument("binary")
    for option in ("--name", "--version", "--arch", "--out"):
        write.add_argument(option, required=True)
    check = sub.add_parser("check")
    check.add_argument("archive")
    check.add_argument("sbom")
    check.add_argument("--binary", required=True)
    args = parser.parse_args()
    {"deps": cmd_deps, "write": cmd_write, "check": cmd_check}[args.command](args)


if __name__ == "__main__":
    main()
