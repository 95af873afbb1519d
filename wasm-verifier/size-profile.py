#!/usr/bin/env python3
"""What makes a .wasm large: code bytes per crate and the largest functions, from the module's
`name` section (rustc writes it; wasm-bindgen keeps it; wasm-opt drops it, so profile the file
before wasm-opt), plus the data segments and every other section. A small stand-in for twiggy
(`twiggy top` / `twiggy dominators`) with no install.

  python3 wasm-verifier/size-profile.py FILE.wasm [--top 30]

Crates are read from the legacy-mangled symbol (`_ZN<len>crate...`) or the first path segment
of a demangled name; generic code is counted where it was instantiated's symbol says (its own
crate), so read the crate list as "where the instructions come from".
"""
import re
import sys
from collections import Counter


def leb(b, i):
    r = s = 0
    while True:
        x = b[i]
        i += 1
        r |= (x & 0x7F) << s
        s += 7
        if x < 0x80:
            return r, i


def demangle_crate(name):
    m = re.match(r"_ZN(\d+)", name)
    if m:
        n = int(m.group(1))
        start = m.end()
        return name[start:start + n]
    if name.startswith("_R"):
        m = re.search(r"C(?:s[0-9a-zA-Z_]*_)?(\d+)([A-Za-z_][A-Za-z0-9_]*)", name)
        if m:
            return m.group(2)[: int(m.group(1))]
    m = re.match(r"<?([A-Za-z_][A-Za-z0-9_]*)::", name)
    if m:
        return m.group(1)
    return "(other: " + name[:40] + ")" if not name.startswith("func") else "(unnamed)"


def main():
    args = sys.argv[1:]
    top = 30
    if "--top" in args:
        k = args.index("--top")
        top = int(args[k + 1])
        del args[k:k + 2]
    data = open(args[0], "rb").read()
    assert data[:4] == b"\0asm", "not a wasm module"
    i = 8
    sections = []
    n_imported_funcs = 0
    bodies = []
    names = {}
    while i < len(data):
        sid = data[i]
        size, j = leb(data, i + 1)
        body = data[j:j + size]
        label = {0: "custom", 1: "type", 2: "import", 3: "function", 4: "table", 5: "memory",
                 6: "global", 7: "export", 8: "start", 9: "element", 10: "code", 11: "data",
                 12: "datacount"}.get(sid, str(sid))
        if sid == 0:
            nl, k = leb(body, 0)
            cname = body[k:k + nl].decode(errors="replace")
            label = f"custom:{cname}"
            if cname == "name":
                p = k + nl
                while p < len(body):
                    sub = body[p]
                    ssz, q = leb(body, p + 1)
                    if sub == 1:
                        cnt, r = leb(body, q)
                        for _ in range(cnt):
                            idx, r = leb(body, r)
                            ln, r = leb(body, r)
                            names[idx] = body[r:r + ln].decode(errors="replace")
                            r += ln
                    p = q + ssz
        elif sid == 2:
            cnt, p = leb(body, 0)
            for _ in range(cnt):
                for _ in range(2):
                    ln, p = leb(body, p)
                    p += ln
                kind = body[p]
                p += 1
                if kind == 0:
                    _, p = leb(body, p)
                    n_imported_funcs += 1
                elif kind == 1:
                    p += 1
                    flags, p = leb(body, p)
                    _, p = leb(body, p)
                    if flags & 1:
                        _, p = leb(body, p)
                elif kind == 2:
                    flags, p = leb(body, p)
                    _, p = leb(body, p)
                    if flags & 1:
                        _, p = leb(body, p)
                elif kind == 3:
                    p += 2
        elif sid == 10:
            cnt, p = leb(body, 0)
            for f in range(cnt):
                sz, q = leb(body, p)
                bodies.append((n_imported_funcs + f, q + sz - p))
                p = q + sz
        sections.append((label, size + (j - i)))
        i = j + size
    total = len(data)
    print(f"{args[0]}: {total} bytes")
    print("\nsections:")
    for label, size in sorted(sections, key=lambda s: -s[1]):
        print(f"  {size:>10}  {100 * size / total:5.1f}%  {label}")
    by_crate = Counter()
    for idx, size in bodies:
        by_crate[demangle_crate(names.get(idx, f"func{idx}"))] += size
    code = sum(s for _, s in bodies)
    print(f"\ncode by crate ({len(bodies)} functions, {code} bytes):")
    for crate, size in by_crate.most_common(25):
        print(f"  {size:>10}  {100 * size / total:5.1f}%  {crate}")
    print(f"\nlargest {top} functions:")
    for idx, size in sorted(bodies, key=lambda b: -b[1])[:top]:
        print(f"  {size:>10}  {names.get(idx, f'func{idx}')[:120]}")


if __name__ == "__main__":
    main()
