#!/usr/bin/env bash
# System packages and services SightSound needs on a fresh Debian machine: installs what is missing
# (apt, as root) and starts PostgreSQL and Redis on 127.0.0.1 if they are down. Safe to run again.
set -euo pipefail

need_apt=()
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
command -v sox >/dev/null || need_apt+=(sox)
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v pg_ctlcluster >/dev/null || need_apt+=(postgresql)
command -v redis-server >/dev/null || need_apt+=(redis-server)
# Real sounds for the verifier's labelled claim set and the main job's sample set.
[ -d /usr/share/sonic-pi ] || dpkg -s sonic-pi-samples >/dev/null 2>&1 || need_apt+=(sonic-pi-samples)
dpkg -s sound-theme-freedesktop >/dev/null 2>&1 || need_apt+=(sound-theme-freedesktop)
# Headless browser for the review console's browser tests (Playwright drives /usr/bin/chromium; never
# `playwright install`).
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if ((${#need_apt[@]})); then
  echo "installing ${need_apt[*]}"
  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_apt[@]}"
fi

if ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/sightsound.log
  for _ in $(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
