#!/usr/bin/env bash
# Install the system packages sinhke needs, from Debian/Ubuntu's own repositories.
#   scripts/system-deps.sh base      python venv, PostgreSQL + PostGIS + pgRouting, Mosquitto, Node.js + npm
#   scripts/system-deps.sh browser   the above plus Chromium (browser tests) gdal-bin, python3-qgis (OGC API clients)
#   scripts/system-deps.sh bench     the base plus wrk (the load generator of bench/bench_serving.py)
# As root it installs what is missing; otherwise it prints the exact command and stops.
set -euo pipefail
want="${1:-base}"
missing=()

python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)

if [ -z "${SINHKE_DATABASE_URL:-}" ]; then
  majors=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sed -E 's#/usr/lib/postgresql/([0-9]+)/.*#\1#' | sort -n || true)
  if [ -z "$majors" ]; then
    missing+=(postgresql postgresql-postgis postgresql-pgrouting)
  else
    ok=""
    for m in $majors; do
      [ -f "/usr/share/postgresql/$m/extension/postgis.control" ] && ok=1
    done
    if [ -z "$ok" ]; then
      newest=$(echo "$majors" | tail -n1)
      missing+=("postgresql-$newest-postgis-3")
    fi
  fi
fi

# siting along roads: pgRouting for the private cluster's PostgreSQL (migration 0022 creates the
# extension when the server offers it; tests/spatial/test_roads.py needs it)
if [ -z "${SINHKE_DATABASE_URL:-}" ] && [ -n "${majors:-}" ]; then
  for m in $majors; do
    [ -f "/usr/share/postgresql/$m/extension/pgrouting.control" ] || missing+=("postgresql-$m-pgrouting")
  done
fi

# the MQTT ingest is tested end to end against a real broker (tests/ingest/test_sensor_mqtt.py)
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)

command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm  >/dev/null 2>&1 || missing+=(npm)

if [ "$want" = "browser" ]; then
  command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || missing+=(chromium)
  fc-list 2>/dev/null | grep -qi 'dejavu\|noto\|liberation' || missing+=(fonts-dejavu-core)
  # GDAL's OAPIF driver (ogrinfo, ogr2ogr) reads /ogc in tests/webapp/test_ogc.py
  command -v ogr2ogr >/dev/null 2>&1 || missing+=(gdal-bin)
  # QGIS itself (headless) opens every /ogc collection as an OAPIF layer in the same test
  /usr/bin/python3 -c 'import qgis.core' 2>/dev/null || missing+=(python3-qgis)
fi

if [ "$want" = "bench" ]; then
  command -v wrk >/dev/null 2>&1 || missing+=(wrk)
fi

[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "sinhke needs these system packages: ${missing[*]}" >&2
  echo "install them, then run make again:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
