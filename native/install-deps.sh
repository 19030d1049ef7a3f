#!/usr/bin/env bash
# Installs what the native reference programs and the comparison benchmark need: gcc, liburing (the C twin),
# fio and strace (extra contenders and syscall counts), wrk (the HTTP load generator of the `http` scenario). Idempotent; a no-op when everything is present.
set -euo pipefail
need=()
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
[ -f /usr/include/liburing.h ] || need+=(liburing-dev)
[ -f /usr/include/linux/io_uring.h ] || need+=(linux-libc-dev)
command -v fio >/dev/null 2>&1 || need+=(fio)
command -v strace >/dev/null 2>&1 || need+=(strace)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
echo "install-deps: installing ${need[*]}" >&2
$SUDO apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
