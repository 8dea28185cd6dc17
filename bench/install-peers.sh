#!/usr/bin/env bash
# Installs the peers `switchboard bench` measures Switchboard against, from Debian's packages:
#   redis-server     Redis pub/sub and Streams with consumer groups (and the hub's own scale-out engine)
#   nats-server      NATS core pub/sub and a JetStream work queue
#   rabbitmq-server  RabbitMQ durable classic and quorum queues
# The .NET clients (StackExchange.Redis, NATS.Net, RabbitMQ.Client, SignalR) come from NuGet with the bench's own
# restore: `dotnet build -c Release bench/Switchboard.Bench` fetches them.
#
# No system service is started: the bench starts servers of its own on free loopback ports and stops them by PID.
# A policy-rc.d for the duration of the install keeps Debian from starting the packages' services.
#
#   bench/install-peers.sh            install whichever of the three is missing
#   bench/install-peers.sh --check    only say which are installed (exit 1 if any is missing)
set -uo pipefail

PACKAGES=(redis-server nats-server rabbitmq-server)
missing=()
for pkg in "${PACKAGES[@]}"; do
  if dpkg -s "$pkg" >/dev/null 2>&1; then
    echo "installed: $pkg $(dpkg-query -W -f='${Version}' "$pkg")"
  else
    echo "missing:   $pkg"
    missing+=("$pkg")
  fi
done
if [ "${1:-}" = "--check" ]; then
  [ ${#missing[@]} -eq 0 ]
  exit
fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
policy=/usr/sbin/policy-rc.d; own_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy" && own_policy=1
fi
$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
status=$?
[ "$own_policy" = 1 ] && $SUDO rm -f "$policy"
if [ "$status" -ne 0 ]; then
  echo "install-peers.sh: could not install ${missing[*]}" >&2
  exit "$status"
fi
echo "installed ${missing[*]}"
