#!/usr/bin/env python3
"""Checks every module's imports against the layer table in Sources/README.md.

A module may import only modules of a lower layer, and a C module (layer 0) only from the modules named in brackets
after it. Modules outside the project (SwiftNIO, Foundation, ...) are not checked. Exits 1 listing each violation,
and also when a module folder is missing from the table. `--self-test` checks that the rules catch violations.
"""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
IMPORT = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|package|internal|fileprivate|private)\s+)?import\s+(?:(?:struct|class|enum|protocol|func|var|let|typealias)\s+)?([A-Za-z_][A-Za-z0-9_]*)", re.M)
ENTRY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)(?:\s*\(([^)]*)\))?")


def read_table(readme):
    """(layer of each module, wrappers allowed for each C module)."""
    layers, wrappers = {}, {}
    for line in readme.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].isdigit():
            continue
        layer = int(cells[0])
        for match in ENTRY.finditer(cells[1]):
            name, allowed = match.group(1), match.group(2)
            layers[name] = layer
            if allowed is not None:
                wrappers[name] = {item.strip() for item in allowed.split(",") if item.strip()}
    return layers, wrappers


def imports_of(folder):
    found = {}
    for path in sorted(folder.rglob("*.swift")):
        for match in IMPORT.finditer(path.read_text(encoding="utf-8")):
            found.setdefault(match.group(1), path)
    return found


def violations(layers, wrappers, modules):
    """modules: {name: {imported: path}}. Returns messages."""
    problems = []
    for module, imported in sorted(modules.items()):
        if module not in layers:
            problems.append(f"{module}: not in the layer table of Sources/README.md")
            continue
        for name, path in sorted(imported.items()):
            if name not in layers or name == module:
                continue
            if name in wrappers:
                if module not in wrappers[name]:
                    problems.append(f"{path}: {module} imports the C module {name}; only {', '.join(sorted(wrappers[name]))} may")
            elif layers[name] >= layers[module]:
                problems.append(f"{path}: {module} (layer {layers[module]}) imports {name} (layer {layers[name]}), not below it")
    return problems


def project_modules():
    modules = {}
    for folder in sorted((ROOT / "Sources").iterdir()):
        if folder.is_dir() and any(folder.rglob("*.swift")):
            modules[folder.name] = imports_of(folder)
    modules["liverelay-loadgen"] = imports_of(ROOT / "tools" / "loadgen")
    return modules


def self_test():
    layers, wrappers = read_table("| 0 | CX (Wrap) |\n| 1 | Low |\n| 2 | Wrap, Other |\n| 3 | High |")
    cases = [
        ({"High": {"Low": "a", "Wrap": "b", "Foundation": "c"}}, 0),  # downwards and external: fine
        ({"Low": {"High": "a"}}, 1),                                   # upwards
        ({"Wrap": {"Other": "a"}}, 1),                                 # sideways
        ({"High": {"CX": "a"}}, 1),                                    # a C module from outside its wrapper
        ({"Wrap": {"CX": "a"}}, 0),                                    # from its wrapper
        ({"Unlisted": {}}, 1),                                         # a module missing from the table
    ]
    for modules, expected in cases:
        got = violations(layers, wrappers, modules)
        assert len(got) == expected, (modules, got)
    source = "internal import CX\n@testable import Low\n@_implementationOnly import Wrap\nimport struct High.Thing\n// import Nope\n"
    tmp = ROOT / ".build" / "check-layers-self-test"
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "A.swift").write_text(source)
    assert set(imports_of(tmp)) == {"CX", "Low", "Wrap", "High"}, imports_of(tmp)
    print("check_layers self-test: ok")


def main():
    if sys.argv[1:] == ["--self-test"]:
        self_test()
        return 0
    layers, wrappers = read_table((ROOT / "Sources" / "README.md").read_text(encoding="utf-8"))
    problems = violations(layers, wrappers, project_modules())
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} import(s) break the layering of Sources/README.md", file=sys.stderr)
        return 1
    print(f"layering: {len(layers)} modules, every import goes down a layer")
    return 0


if __name__ == "__main__":
    sys.exit(main())
