#!/usr/bin/env bash
# What the `dagger` feature costs a clean build of the library: builds
# `base-images` from scratch without the feature, then with it, each in a
# fresh target directory (dependencies included), and prints both times
# and their ratio. Usage: scripts/feature-build-time.sh [--release]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=("$@")
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cargo fetch -q
clean_build() {
    local target=$1
    shift
    local start end
    start=$(date +%s.%N)
    CARGO_TARGET_DIR="$scratch/$target" cargo build -q -p base-images "${profile[@]}" "$@"
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }' 
}
without=$(clean_build without --no-default-features)
with=$(clean_build with)
crates_without=$(cargo tree -q -p base-images --no-default-features -e normal --prefix none | sed 's/ (\*)$//' | sort -u | wc -l)
crates_with=$(cargo tree -q -p base-images -e normal --prefix none | sed 's/ (\*)$//' | sort -u | wc -l)
printf 'clean build of base-images --no-default-features: %6.1f s (%d crates)\n' "$without" "$crates_without"
printf 'clean build of base-images (dagger feature):      %6.1f s (%d crates)\n' "$with" "$crates_with"
awk -v w="$with" -v wo="$without" 'BEGIN { printf "with the feature / without: %.2fx\n", w / wo }' 
