#!/bin/sh
# Entrypoint of the sinhke image. Runs the command it is given (default: gunicorn), and
# refuses to serve the web app with the development secret key: set SINHKE_SECRET_KEY.
#   docker run … sinhke                      the web app (gunicorn on 0.0.0.0:5000)
#   docker run … sinhke sinhke db migrate    any sinhke command
#   docker run … sinhke scheduler            shorthand: a first argument that is a sinhke
#                                            subcommand runs `sinhke <subcommand> …`
set -eu

case "${1:-}" in
  db|demo|jobs|scheduler|users|serve)
    set -- sinhke "$@"
    ;;
esac

case "${1:-}" in
  gunicorn|serve)
    ;;
  sinhke)
    [ "${2:-}" = "serve" ] || exec "$@"
    ;;
  *)
    exec "$@"
    ;;
esac

if [ -z "${SINHKE_SECRET_KEY:-}" ] || [ "${SINHKE_SECRET_KEY}" = "dev-only-not-secret" ]; then
  echo "sinhke: set SINHKE_SECRET_KEY to a long random value before serving the web app" >&2
  echo "  e.g. python -c 'import secrets; print(secrets.token_hex(32))'" >&2
  exit 64
fi
exec "$@"
