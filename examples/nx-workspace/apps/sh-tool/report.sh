#!/bin/bash
# Summarises a JSON list of packages: uses jq, sort, uniq and awk (all bundled as helpers).
set -euo pipefail
input='[{"name":"jq","size":300},{"name":"curl","size":250},{"name":"git","size":4000},{"name":"jq","size":300}]'
echo "$input" | jq -r '.[] | "\(.name) \(.size)"' | sort | uniq | awk '{ total += $2; n += 1 } END { printf "%d packages, %d KiB\n", n, total }'
