#!/usr/bin/env bash
# Refresh the Mermaid bundle that HTML postmortems inline (so they render offline).
# Usage: tools/vendor-mermaid.sh [VERSION]   (then update VERSION/SHA256 in mitigate/postmortem/vendor/README.md)
set -euo pipefail
VERSION="${1:-11.17.2}"
cd "$(dirname "$0")/.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack "mermaid@$VERSION" >/dev/null && tar xzf "mermaid-$VERSION.tgz")
cp "$tmp/package/dist/mermaid.min.js" mitigate/postmortem/vendor/mermaid.min.js
cp "$tmp/package/LICENSE" mitigate/postmortem/vendor/mermaid.LICENSE
sha256sum mitigate/postmortem/vendor/mermaid.min.js
