#!/usr/bin/env python3
"""Checks the folder layering of src/: a file in src/F may include headers of F and of the
folders F depends on, directly or through their dependencies, as declared in the build
(CMakeLists.txt, tml_folder(F DEPS ...), written to build/layers.txt as "F: D1 D2 ...").
Prints every include that goes the wrong way, with file and line, and exits 1 if any does.

Usage: check_layers.py LAYERS_TXT SRC_DIR
"""
import os
import re
import sys


def main(layers_path, src):
    deps = {}
    with open(layers_path) as f:
        for line in f:
            if ":" in line:
                folder, rest = line.split(":", 1)
                deps[folder.strip()] = [d for d in re.split(r"[;\s]+", rest) if d]
    closure = {}

    def reach(folder, seen=()):
        if folder in closure:
            return closure[folder]
        if folder in seen:
            raise SystemExit(f"layers: a cycle through {' -> '.join(seen + (folder,))}")
        out = set()
        for d in deps.get(folder, []):
            out |= {d} | reach(d, seen + (folder,))
        closure[folder] = out
        return out

    folders = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    errors = []
    include = re.compile(r'^\s*#\s*include\s+"([a-z_0-9]+)/')
    for folder in folders:
        if folder not in deps:
            errors.append(f"src/{folder}/: no library in the build (tml_folder({folder} ...))")
            continue
        allowed = reach(folder) | {folder}
        for name in sorted(os.listdir(os.path.join(src, folder))):
            path = os.path.join(src, folder, name)
            if not name.endswith((".h", ".cc", ".c")):
                continue
            with open(path, errors="replace") as f:
                for n, line in enumerate(f, 1):
                    m = include.match(line)
                    if m and m.group(1) in folders and m.group(1) not in allowed:
                        errors.append(
                            f"src/{folder}/{name}:{n}: includes {m.group(1)}/, which "
                            f"{folder}/ does not depend on (it may use: "
                            f"{', '.join(sorted(allowed - {folder})) or 'nothing'})")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        print(f"{len(errors)} include(s) against the layering in {layers_path}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
