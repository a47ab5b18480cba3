#!/usr/bin/env bash
# Captures one real batch written by the runtime at each COMMIT given, into this folder as
# NNNN-COMMIT.json (the batch's bytes as that runtime sent them) and a row of INDEX.tsv
# (CAPTURE_NOTE says what changed; edit the row if it is not given).
#
#   bash tests/wire_corpus/capture.sh 3450baa 7077387 HEAD
#
# For each commit: a detached worktree of it, host.rs copied in as examples/wire_capture.rs,
# run with an empty environment (no CI variable, no DO_NOT_TRACK) against a file:// endpoint
# in a temporary directory: nothing leaves the machine. The ids in a captured batch are
# random, the hours real; the corpus keeps them as they came.
#
# A wire change lands with its entry: run this at the commit that changes the wire, then
# `cargo test -p telemetry-runtime corpus` tells whether the new shape is held (docs/compatibility.md, "The
# wire corpus").
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# Where the entries go (this folder unless CORPUS_DIR says otherwise, for a trial run).
out_dir="${CORPUS_DIR:-$here}"
[ "$#" -gt 0 ] || { echo "usage: capture.sh COMMIT..." >&2; exit 2; }
work="$(mktemp -d)"
trap 'git -C "$repo" worktree prune; rm -rf "$work"' EXIT
# One target directory for every commit: their dependencies are mostly the same.
target="${CAPTURE_TARGET_DIR:-$repo/target/wire-capture}"
for rev in "$@"; do
    commit="$(git -C "$repo" rev-parse --short=7 "$rev^{commit}")"
    tree="$work/$commit"
    git -C "$repo" worktree add --quiet --detach "$tree" "$commit"
    cp "$here/host.rs" "$tree/examples/wire_capture.rs"
    mkdir -p "$work/$commit-conf"
    out="$work/$commit.jsonl"
    (cd "$tree" && env -i PATH="$PATH" HOME="$HOME" \
        ${CARGO_HOME:+CARGO_HOME="$CARGO_HOME"} ${RUSTUP_HOME:+RUSTUP_HOME="$RUSTUP_HOME"} \
        cargo run --quiet --target-dir "$target" --example wire_capture -- \
        "$work/$commit-conf" "$out")
    lines="$(wc -l < "$out")"
    [ "$lines" -eq 1 ] || { echo "$commit: expected one batch, got $lines" >&2; exit 1; }
    n="$(find "$out_dir" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.json' | wc -l)"
    name="$(printf '%04d-%s.json' "$((n + 1))" "$commit")"
    # The batch exactly as sent: one line, without the newline the file endpoint adds.
    head -c -1 "$out" > "$out_dir/$name"
    date="$(git -C "$repo" show -s --format=%cs "$commit")"
    printf '%s\t%s\t%s\t%s\n' "$name" "$commit" "$date" \
        "${CAPTURE_NOTE:-what changed on the wire, and why it is additive or a new version}" \
        >> "$out_dir/INDEX.tsv"
    echo "captured $name" >&2
    git -C "$repo" worktree remove --force "$tree"
done
