#!/usr/bin/env bash
# Installs the vendors' own SDKs from PyPI into a virtual environment, as independent implementations the
# providers' tests cross-check our signatures and decryption against (never committed, never used by the app):
# wechatpayv3 (WeChat Pay API v3) and the Tencent Cloud SDK (TC3-HMAC-SHA256, SMS). Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${ORACLE_VENV:-target/oracles-venv}
PACKAGES="wechatpayv3 tencentcloud-sdk-python-sms"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import wechatpayv3, tencentcloud.sms.v20210111' 2>/dev/null; then
  if ! python3 -m venv --help >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq python3-venv >&2
  fi
  python3 -m venv "$VENV" >&2
  "$VENV/bin/pip" install -q --disable-pip-version-check $PACKAGES >&2
fi
echo "$(cd "$VENV" && pwd)/bin/python"
