# Helpers sourced by the tools/ scripts.

# start_emulator DIR [emulator options...]: start the GeeLark emulator in the background on a free
# loopback port (its output in DIR/emulator.log; DIR is made if missing); sets EMULATOR_URL and
# EMULATOR_PID. stop_emulator ends it. tools/emulator_process.py is the one way tools/ starts it (tools/bench.py uses it too);
# `exec` makes this shell's child the emulator itself, so that stop_emulator can wait for it.
start_emulator() {
  local dir=$1; shift
  mkdir -p "$dir"
  "$bin/python" "$root/tools/emulator_process.py" exec "$dir" "$@" > "$dir/emulator.log" 2>&1 &
  EMULATOR_PID=$!
  EMULATOR_URL=$("$bin/python" "$root/tools/emulator_process.py" wait "$dir" "$EMULATOR_PID") || {
    stop_emulator
    return 1
  }
}

stop_emulator() {
  if [ -n "${EMULATOR_PID:-}" ]; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
    EMULATOR_PID=
  fi
}
