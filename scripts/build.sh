#!/bin/sh
# Builds everything: ./server, ./client and ./peer.
set -eu
cd "$(dirname "$0")/.."
make all
