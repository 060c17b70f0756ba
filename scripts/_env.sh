# Shared by scripts/*: make (or reuse) the project's virtualenv and install into it.
# `ensure_venv` (scripts/serve) installs the package alone: no PyTorch, the ONNX embedder.
# `ensure_venv test` adds the test tools and the [torch] extra, for the tests that hold the
# ONNX embedder to the PyTorch one; torch comes first and pinned there: an unpinned torch
# pulls several GB of CUDA wheels, while torch==2.13.0 resolves to a CPU build.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${HOMELAB_HUB_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

ensure_venv() {  # ensure_venv [extras]
  local extras="${1:-}"
  if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
      echo "homelab-hub needs Python 3.11 or newer ($PYTHON is $("$PYTHON" -V 2>&1))" >&2; exit 1; }
    "$PYTHON" -m venv "$VENV"
  fi
  local stamp="$VENV/.homelab-hub-installed${extras:+-$extras}"
  local want
  want="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    if [ -n "$extras" ]; then
      "$VENV/bin/python" -m pip install -q "torch==2.13.0"
      "$VENV/bin/python" -m pip install -q -e "$ROOT[$extras,torch]"
    else
      "$VENV/bin/python" -m pip install -q -e "$ROOT"
    fi
    echo "$want" > "$stamp"
  fi
}

# The npm CLIs, pinned, into .tools (gitignored): Claude Code and the MCP Inspector for the
# tests, ESLint for scripts/check. Reinstalled when this list changes. Without npm, nothing.
NPM_TOOLS=(@anthropic-ai/claude-code@2.1.197 @modelcontextprotocol/inspector@2.12.0
  eslint@10.16.0 @eslint/js@10.0.1 globals@17.15.0)
ensure_npm_tools() {
  command -v npm >/dev/null 2>&1 || return 0
  local stamp="$ROOT/.tools/.homelab-hub-installed"
  local want
  want="$(printf '%s\n' "${NPM_TOOLS[@]}" | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    npm install --prefix "$ROOT/.tools" --no-audit --no-fund --loglevel=error "${NPM_TOOLS[@]}" >/dev/null
    echo "$want" > "$stamp"
  fi
}
