#!/usr/bin/env python3
"""The layer rules of docs/ARCHITECTURE.md, checked on every build.

Each folder may include project headers only from the folders its layer sits on, and some
folders must not reach LibTorch or Qt at all, directly or through a project header they
include. An upward include would otherwise compile (one include root) and link (static
libraries): this check is what makes it a build error.

Usage: check_layers.py SOURCE_DIR [STAMP_FILE]
"""
import os
import re
import sys

# folder -> project folders its files may include (its own folder is always allowed).
ALLOWED = {
    "model/core": ["model/Error.h"],
    "model/runtime": ["model/Error.h"],
    "model/vit": ["model/core", "model/Error.h", "datasets"],
    "model/io": ["model/core", "model/Error.h", "model/vit", "datasets"],
    "model/clip": ["model/core", "model/Error.h", "model/vit", "model/io", "datasets"],
    "model/interp": ["model/core", "model/Error.h", "model/vit"],
    "model/train": ["model/core", "model/Error.h", "model/vit", "model/io", "model/interp",
                    "model/runtime", "datasets"],
    "model/zoo": ["model/core", "model/Error.h", "model/vit", "model/io", "model/interp",
                  "model/runtime", "model/train", "datasets"],
    "model/sae": ["model/core", "model/Error.h", "model/vit", "model/io", "model/interp",
                  "model/train", "model/runtime", "datasets"],
    "model/distributed": ["model/core", "model/Error.h", "model/train"],
    "datasets": [],
    "widgets": [],
}
# folder -> system headers it must never reach, even through a project header.
FORBIDDEN_REACH = {
    "model": ("Qt",),
    "datasets": ("Qt", "LibTorch"),
    "widgets": ("LibTorch",),
    # The patching board gets plain structs; its model work runs in app/explorer/jobs.
    "app/explorer/patching": ("LibTorch",),
}
SYSTEM = {
    "LibTorch": re.compile(r"^(torch|ATen|c10|caffe2)/"),
    "Qt": re.compile(r"^Q[A-Za-z]*($|/)|^qcustomplot"),
}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)
SOURCE_DIRS = ("model", "datasets", "widgets", "app")


def project_files(root):
    for top in SOURCE_DIRS:
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if n.endswith((".h", ".cpp")):
                    yield os.path.relpath(os.path.join(dirpath, n), root)


def includes(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
        text = f.read()
    out = []
    for kind, name in INCLUDE.findall(text):
        if kind == '"':
            # Project headers are written from the source root; a bare name is a sibling.
            path = name if os.path.exists(os.path.join(root, name)) else \
                os.path.normpath(os.path.join(os.path.dirname(rel), name))
            out.append(("project", path))
        else:
            out.append(("system", name))
    return out


def folder_rule(rel, table):
    best = None
    for folder in table:
        if rel == folder or rel.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def main():
    root = sys.argv[1]
    stamp = sys.argv[2] if len(sys.argv) > 2 else None
    files = sorted(project_files(root))
    graph = {f: includes(root, f) for f in files}
    errors = []

    for f in files:
        rule = folder_rule(f, ALLOWED)
        if rule is None:
            continue
        allowed = ALLOWED[rule] + [rule]
        for kind, inc in graph[f]:
            if kind != "project" or not inc.startswith(SOURCE_DIRS):
                continue
            if not any(inc == a or inc.startswith(a + "/") for a in allowed):
                errors.append(f"{f}: includes {inc}, which the layer {rule} may not see "
                              f"(allowed: {', '.join(ALLOWED[rule]) or 'nothing outside it'})")

    reach_cache = {}

    def reaches(f, stack=()):
        """System families reachable from f, with one include path for each."""
        if f in reach_cache:
            return reach_cache[f]
        found = {}
        reach_cache[f] = found  # cycles end here
        for kind, inc in graph.get(f, []):
            if kind == "system":
                for fam, pat in SYSTEM.items():
                    if pat.search(inc) and fam not in found:
                        found[fam] = [inc]
            elif inc in graph:
                for fam, path in reaches(inc).items():
                    if fam not in found:
                        found[fam] = [inc] + path
        return found

    for f in files:
        rule = folder_rule(f, FORBIDDEN_REACH)
        if rule is None:
            continue
        for fam in FORBIDDEN_REACH[rule]:
            path = reaches(f).get(fam)
            if path:
                errors.append(f"{f}: reaches {fam} through {' -> '.join(path)}; {rule} must not")

    if errors:
        print("Layer check failed (docs/ARCHITECTURE.md, scripts/check_layers.py):", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1
    if stamp:
        with open(stamp, "w") as s:
            s.write("ok\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
