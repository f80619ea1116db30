#!/usr/bin/env bash
# Render the collection's documentation (from the plugins' own DOCUMENTATION/EXAMPLES/RETURN) to build/docs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$("$root/scripts/venv.sh" tools)
stage=$("$root/scripts/stage.sh")
export ANSIBLE_COLLECTIONS_PATH=${stage%/ansible_collections/sfjwt/salesforce}
# antsibull-docs runs ansible-doc, which must be the tools venv's.
export PATH="$venv/bin:$PATH"
trap 'rm -rf "$ANSIBLE_COLLECTIONS_PATH"' EXIT
rm -rf "$root/build/docs"
mkdir -p "$root/build/docs"
"$venv/bin/antsibull-docs" collection --use-current --squash-hierarchy --dest-dir "$root/build/docs" sfjwt.salesforce
# HTML to open in a browser, with the Sphinx (and antsibull-docs' Sphinx extension) the tools venv pins; no conf.py (-C).
# Links into the Ansible documentation (common return values, ...) are left as text: no intersphinx download.
"$venv/bin/sphinx-build" -q -C -b html -D extensions=sphinx_antsibull_ext -D project=sfjwt.salesforce \
    -D suppress_warnings=ref.ref,ref.envvar \
    -D master_doc=index "$root/build/docs" "$root/build/docs/html"
echo "Rendered: $root/build/docs/index.rst; in a browser: $root/build/docs/html/index.html"
