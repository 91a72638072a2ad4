#!/usr/bin/env bash
# Installs Partita from the build tree into a scratch prefix, builds the processor of this folder
# against it with find_package(partita), and runs its test (partita::tester) and it.
#   run.sh <build-dir> <scratch-dir>
set -euo pipefail
build=$1
scratch=$2
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$scratch"
cmake --install "$build" --prefix "$scratch/prefix" >/dev/null
cmake -S "$here" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$scratch/prefix" \
  -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$scratch/build" -j 2
"$scratch/build/wordcount_test"
"$scratch/build/wordcount" "$scratch/state"
