#!/usr/bin/env bash
# `npm test`: format and lint, types, unit, integration (SQLite and PostgreSQL), then browser tests against a fresh
# production build. Needs PostgreSQL on 127.0.0.1:5432 and Chromium at /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
export NEXT_TELEMETRY_DISABLED=1
# style first: the cheapest checks fail fastest
npm run --silent format:check
npm run --silent lint
npm run --silent typecheck
npm run --silent test:unit
# the production build first: integration tests include one against the production server
npm run --silent build
npm run --silent test:integration
npm run --silent test:e2e
