#!/usr/bin/env bash
# Takes a `tokios gateway` down with one API key and one tunnel token (what any account of a
# hosted gateway has). Each round: drop our own connector's tunnel, send 4 Messages requests
# that make the translator throw while they wait in the 5 s offline grace, bring the connector
# back. Every throw escapes as an unhandled rejection and their requests never get an answer;
# the 11th within a minute makes the last-resort handler exit the gateway (code 70).
# Usage: GATEWAY=http://127.0.0.1:8790 KEY=sk-tokios-… TOKIOS_TUNNEL_TOKEN=tt-… NAME=rogue GATEWAY_PID=… repro/gateway-exit-via-grace.sh
set -u
cd "$(dirname "$0")/.."
start_rogue() { node --import tsx repro/rogue-connector.ts "$GATEWAY" bigjson > /tmp/rogue-$$.log 2>&1 & ROGUE=$!; sleep 2.5; }
start_rogue
for round in 1 2 3; do
  kill "$ROGUE"; sleep 0.3
  node repro/translator-throw-in-grace.mjs "$GATEWAY" "$KEY" "$NAME" 4 > /tmp/grace-$$-$round.out 2>&1 &
  sleep 2.5
  start_rogue
  echo "round $round sent"
done
sleep 5
kill "$ROGUE" 2>/dev/null
if kill -0 "$GATEWAY_PID" 2>/dev/null; then echo "gateway still running"; else echo "gateway process $GATEWAY_PID has exited"; fi
