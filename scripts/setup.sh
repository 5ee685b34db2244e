#!/usr/bin/env bash
# Installs what a fresh machine lacks, and nothing twice. Called by `npm start` and `npm test`;
# safe to run by hand (`npm run setup`). Each step checks a stamp or a probe before doing work.
#
# Switches (environment):
#   NNSAM_SKIP_APT=1        do not touch Debian packages (you installed them yourself)
#   NNSAM_GPU=1             install onnxruntime-node's CUDA 12 execution provider (GPU hosts)
#   NNSAM_PYTHON=python3.11 interpreter used to create the trainer's virtual environment
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
log() { printf '[setup] %s\n' "$*"; }
hash_of() { sha256sum "$@" | sha256sum | cut -c1-16; }

# --- 1. Debian packages used by the tests and the demo --------------------------------------------
APT_PACKAGES=(orthanc orthanc-dicomweb dicom3tools chromium redis-server)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})) && [[ "${NNSAM_SKIP_APT:-0}" != 1 ]]; then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { log "missing Debian packages: ${missing[*]} (run as root or install them)"; exit 1; }
    SUDO="sudo"
  fi
  log "installing Debian packages: ${missing[*]}"
  # policy-rc.d keeps Debian from starting orthanc/redis as system services: the project starts its own.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
  fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- 2. npm workspaces ----------------------------------------------------------------------------
export ONNXRUNTIME_NODE_INSTALL=skip
[[ "${NNSAM_GPU:-0}" == 1 ]] && export ONNXRUNTIME_NODE_INSTALL=cuda12
npm_stamp="node_modules/.nnsam-setup-$(hash_of package.json package-lock.json */package.json)-${ONNXRUNTIME_NODE_INSTALL}"
if [[ ! -e "$npm_stamp" ]]; then
  log "installing npm dependencies (onnxruntime-node: ${ONNXRUNTIME_NODE_INSTALL})"
  if [[ -e package-lock.json ]]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
  rm -f node_modules/.nnsam-setup-*
  touch "$npm_stamp"
fi

# --- 3. Python virtual environment for the trainer --------------------------------------------------
VENV="$ROOT/server/.venv"
LOCK="$ROOT/server/trainer/requirements.lock"
py_stamp="$VENV/.nnsam-setup-$(hash_of "$LOCK" server/trainer/pyproject.toml)"
if [[ ! -e "$py_stamp" ]]; then
  log "creating the trainer's Python environment in server/.venv"
  [[ -x "$VENV/bin/python" ]] || "${NNSAM_PYTHON:-python3}" -m venv "$VENV"
  # torch first and alone: 2.13.0 is the release whose CPU build lies on this machine's disk; the lock
  # is installed with --no-deps so nothing can pull a different torch (or torchvision) behind it.
  "$VENV/bin/pip" install -q --disable-pip-version-check "$(grep -E '^torch==' "$LOCK")"
  "$VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r <(grep -vE '^torch==' "$LOCK")
  rm -f "$VENV"/.nnsam-setup-*
  touch "$py_stamp"
fi

# --- 3b. Test-only Python tools: highdicom and schemathesis -----------------------------------------
# A venv of their own: the tests read SEGs and fuzz the API with them, the trainer never imports them, and
# their pins (hypothesis, requests...) must not move with the trainer's lock or its torch.
TEST_VENV="$ROOT/.cache/test-venv"
TEST_LOCK="$ROOT/test/python-requirements.lock"
test_stamp="$TEST_VENV/.nnsam-setup-$(hash_of test/python-requirements.lock)"
if [[ ! -e "$test_stamp" ]]; then
  log "creating the test tools' Python environment in .cache/test-venv"
  [[ -x "$TEST_VENV/bin/python" ]] || "${NNSAM_PYTHON:-python3}" -m venv "$TEST_VENV"
  "$TEST_VENV/bin/pip" install -q --disable-pip-version-check --no-deps -r "$TEST_LOCK"
  rm -f "$TEST_VENV"/.nnsam-setup-*
  touch "$test_stamp"
fi

# --- 4. The stock OHIF viewer (prebuilt dist/ of @ohif/app, pinned) ------------------------------------
# Not an npm dependency: the package declares Node >= 24 and unpacks to 213 MB. `npm pack` fetches the
# tarball through npm's own cache; we check it against the integrity pinned here before unpacking it.
# NNSAM_OHIF_DIST=/path/to/dist skips this step (the server then serves that folder instead).
OHIF_VERSION=3.13.2
OHIF_INTEGRITY='sha512-WZdxmpmG7rqFgW9ZJLcbgr3XCtLi1KDNPoMaeY5PPe6j4G4fjEjjkycZM6C6Zk2F87BKxFfpq+jd5xXZB9E8EA=='
OHIF_DIR="$ROOT/.cache/ohif-app-$OHIF_VERSION"
ohif_stamp="$OHIF_DIR/.nnsam-setup-$(printf '%s' "$OHIF_INTEGRITY" | sha256sum | cut -c1-16)"
if [[ -z "${NNSAM_OHIF_DIST:-}" && ! -e "$ohif_stamp" ]]; then
  log "fetching the OHIF viewer @ohif/app@$OHIF_VERSION (prebuilt dist/, ~50 MB)"
  mkdir -p "$ROOT/.cache"
  work="$(mktemp -d "$ROOT/.cache/ohif-download.XXXXXX")"  # same file system: the final mv is a rename
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && npm pack "@ohif/app@$OHIF_VERSION" --silent >/dev/null) || {
    log "npm pack @ohif/app@$OHIF_VERSION failed: is the npm registry reachable? (or set NNSAM_OHIF_DIST)"
    exit 1
  }
  tarball="$work/ohif-app-$OHIF_VERSION.tgz"
  actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
  if [[ "$actual" != "$OHIF_INTEGRITY" ]]; then
    log "integrity mismatch for @ohif/app@$OHIF_VERSION: got $actual, expected $OHIF_INTEGRITY"
    exit 1
  fi
  tar -xzf "$tarball" -C "$work" package/dist
  rm -rf "$OHIF_DIR"
  mkdir "$work/out" && mv "$work/package/dist" "$work/out/dist" && mv "$work/out" "$OHIF_DIR"
  touch "$ohif_stamp"
  rm -rf "$work"
  trap - EXIT
fi

# --- 5. TypeScript build ------------------------------------------------------------------------------
log "building TypeScript packages"
npm run build --silent >/dev/null
log "ready"
