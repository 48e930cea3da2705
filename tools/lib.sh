# Helpers sourced by the tools/ scripts.

# start_emulator DIR [emulator options...]: start the GeeLark emulator in the background on a free
# loopback port; sets EMULATOR_URL and EMULATOR_PID. stop_emulator ends it.
start_emulator() {
  local dir=$1; shift
  rm -f "$dir/emulator.url"
  "$bin/python" "$root/tests/emulator/geelark_emulator.py" --url-file "$dir/emulator.url" "$@" \
    > "$dir/emulator.log" 2>&1 &
  EMULATOR_PID=$!
  for _ in $(seq 1 100); do
    [ -s "$dir/emulator.url" ] && break
    kill -0 "$EMULATOR_PID" 2>/dev/null || { cat "$dir/emulator.log"; return 1; }
    sleep 0.1
  done
  EMULATOR_URL=$(cat "$dir/emulator.url")
}

stop_emulator() {
  if [ -n "${EMULATOR_PID:-}" ]; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
    EMULATOR_PID=
  fi
}
