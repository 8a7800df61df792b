#!/bin/sh
# Creates a stub source file for every target Cargo.toml declares ([lib], [[bin]], [[test]],
# [[bench]], [[example]], at its `path` or where cargo looks for it by name), plus src/main.rs when
# no [[bin]] is declared. The Dockerfile's dependency layer runs it before `cargo build`, which
# refuses a manifest whose targets have no files; deriving the stubs from the manifest means a
# newly declared target cannot break that layer. Existing files are left alone. POSIX sh + awk,
# because the build image has no other interpreter.
set -eu
manifest=${1:-Cargo.toml}

awk '
function flush() {
    if (kind == "") return
    p = path
    if (p == "") {
        if (kind == "lib") p = "src/lib.rs"
        else if (kind == "bin") p = (name == pkg ? "src/main.rs" : "src/bin/" name ".rs")
        else if (kind == "test") p = "tests/" name ".rs"
        else if (kind == "bench") p = "benches/" name ".rs"
        else if (kind == "example") p = "examples/" name ".rs"
    }
    print kind, p
    kind = ""; name = ""; path = ""
}
function value(line) {
    sub(/^[^=]*=[ \t]*"/, "", line); sub(/".*$/, "", line); return line
}
/^[ \t]*\[/ {
    flush()
    section = $0; gsub(/[ \t\[\]]/, "", section)
    if (section == "lib") kind = "lib"
    else if (section == "bin") { kind = "bin"; bins++ }
    else if (section == "test" || section == "bench" || section == "example") kind = section
    next
}
section == "package" && /^[ \t]*name[ \t]*=/ { pkg = value($0) }
kind != "" && /^[ \t]*name[ \t]*=/ { name = value($0) }
kind != "" && /^[ \t]*path[ \t]*=/ { path = value($0) }
END { flush(); if (bins == 0) print "bin", "src/main.rs" }
' "$manifest" | while read -r kind file; do
    [ -e "$file" ] && continue
    mkdir -p "$(dirname "$file")"
    if [ "$kind" = lib ]; then
        echo '//! Stub: the dependency layer builds only the dependencies.' > "$file"
    else
        echo 'fn main() {}' > "$file"
    fi
    echo "stub: $file"
done
