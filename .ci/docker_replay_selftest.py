"""Self-test of .ci/docker-replay: a tiny crate and one Dockerfile per kind of breakage.

Each case replays a Dockerfile against a fresh temp context and expects the replay's verdict and a
phrase of its output, so a replay that stopped catching one of these would fail CI.
"""

import os
import subprocess
import sys
import tempfile

MANIFEST = """[package]
name = "demo"
version = "0.1.0"
edition = "2021"

[[bench]]
name = "reconcile"
harness = false
"""

STUBS = """RUN mkdir -p src benches && echo 'fn main() {}' > src/main.rs \\
 && echo 'fn main() {}' > benches/reconcile.rs && cargo build --release -q"""

RUNTIME = """FROM debian:bookworm-slim AS runtime
RUN apt-get update
COPY --from=build /src/target/release/demo /usr/local/bin/demo
ENTRYPOINT ["/usr/local/bin/demo"]
"""


def dockerfile(stubs=STUBS, copy="COPY src ./src\nCOPY benches ./benches",
               build="RUN touch src/main.rs && cargo build --release -q", runtime=RUNTIME):
    return (f"FROM rust:1-slim AS build\nWORKDIR /src\nCOPY Cargo.toml ./\n{stubs}\n{copy}\n"
            f"{build}\n{runtime}")


CASES = [
    ("a correct Dockerfile replays", dockerfile(), "", True, "not replayed"),
    ("the dependency layer lacks a declared bench",
     dockerfile(stubs=STUBS.replace(" \\\n && echo 'fn main() {}' > benches/reconcile.rs", "")),
     "", False, "can't find `reconcile` bench"),
    ("a COPY source is missing", dockerfile(copy="COPY src ./src\nCOPY assets ./assets"), "",
     False, "assets is not in the build context"),
    ("a COPY source is ignored", dockerfile(), "src\n", False, "src is excluded by .dockerignore"),
    ("a RUN writes outside the WORKDIR",
     dockerfile(build="RUN cargo build --release -q && cp target/release/demo /usr/local/bin/"),
     "", False, "outside WORKDIR"),
    ("the runtime copies what the build stage lacks",
     dockerfile(runtime=RUNTIME.replace("release/demo ", "release/nothing ")), "", False,
     "has no /src/target/release/nothing"),
    ("the final build reuses the stub binary (no touch)",
     dockerfile(build="RUN cargo build --release -q"), "", False, "--help: exit 0, output ''"),
]


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def run(script):
    failures = 0
    env = {k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"}
    for title, text, ignore, passes, phrase in CASES:
        with tempfile.TemporaryDirectory(prefix="replay-selftest-") as ctx:
            write(os.path.join(ctx, "Cargo.toml"), MANIFEST)
            write(os.path.join(ctx, "src/main.rs"), 'fn main() { println!("Usage: demo"); }\n')
            write(os.path.join(ctx, "benches/reconcile.rs"), "fn main() {}\n")
            write(os.path.join(ctx, "Dockerfile"), text)
            if ignore:
                write(os.path.join(ctx, ".dockerignore"), ignore)
            result = subprocess.run(
                [sys.executable, script, "--context", ctx, "--help-check",
                 "--dockerfile", os.path.join(ctx, "Dockerfile")],
                capture_output=True, text=True, env=env, check=False)
        output = result.stdout + result.stderr
        ok = (result.returncode == 0) == passes and phrase in output
        print(f"{'ok' if ok else 'FAILED'}: {title}", flush=True)
        if not ok:
            failures += 1
            print(f"  expected {'success' if passes else 'failure'} with {phrase!r}; got exit "
                  f"{result.returncode}:\n{output}")
    if failures:
        sys.exit(f"docker-replay self-test: {failures} case(s) failed")
    print("docker-replay self-test: ok")
