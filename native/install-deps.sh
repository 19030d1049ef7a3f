#!/usr/bin/env bash
# Installs what the native reference programs and the comparison benchmark need: gcc, liburing (the C twin),
# fio and strace (extra contenders and syscall counts), wrk (the HTTP load generator of the `http` scenario), dotnet-counters (docs/observability.md). Idempotent; a no-op when everything is present.
set -euo pipefail
# dotnet-counters (a .NET global tool from NuGet): the monitoring session of docs/observability.md.
if command -v dotnet >/dev/null 2>&1 && ! command -v dotnet-counters >/dev/null 2>&1 && [ ! -x "$HOME/.dotnet/tools/dotnet-counters" ]; then
  echo "install-deps: installing dotnet-counters (~/.dotnet/tools)" >&2
  dotnet tool install --global dotnet-counters --version 10.0.750501 >/dev/null \
    || echo "install-deps: could not install dotnet-counters (only docs/observability.md's session needs it)" >&2
fi
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
