#!/usr/bin/env bash
# Build the book strictly (warnings are errors) into a folder outside the checkout and report
# the wall time. Usage: experiments/build_book.sh [OUTPUT_DIR]   (default: a new temp folder)
set -euo pipefail
cd "$(dirname "$0")/.."
output="${1:-$(mktemp -d)}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
start=$(date +%s)
jupyter-book build book --path-output "$output" -W -n --keep-going
end=$(date +%s)
echo "book built in $((end - start)) s: $output/_build/html/index.html"
