# Shared by scripts/run and scripts/test: a virtualenv in .venv with the project installed.
# Re-installs only when setup.cfg or pyproject.toml changed since the last install.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)'; then
      echo "$candidate"; return 0
    fi
  done
  echo "proctor_web needs Python 3.11 or newer on PATH." >&2
  return 1
}

if [ ! -x .venv/bin/python ]; then
  PYTHON="$(find_python)"
  echo "==> Creating virtualenv .venv with $PYTHON"
  "$PYTHON" -m venv .venv
fi

stamp=".venv/.proctor_web-installed"
wanted="$(cat setup.cfg pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
  echo "==> Installing proctor_web and its dependencies"
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e '.[dev]'
  echo "$wanted" > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"

# Node.js build tools (esbuild, for `flask proctor build-worker`), when npm is on this machine.
if command -v npm >/dev/null 2>&1; then
  npm_stamp="node_modules/.proctor_web-installed"
  npm_wanted="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ ! -f "$npm_stamp" ] || [ "$(cat "$npm_stamp")" != "$npm_wanted" ]; then
    echo "==> Installing the Node.js build tools (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$npm_wanted" > "$npm_stamp"
  fi
fi
