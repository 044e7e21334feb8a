#!/usr/bin/env bash
# The README's main job: a short session on a pool directory in the working
# tree (./demo-pools), no Hyper-V needed.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -p kvp-core --example demo -- demo-pools
