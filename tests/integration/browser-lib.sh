# shellcheck shell=bash
# Helpers of the browser tests (tests/integration/test_browser_*.sh), on top of lib.sh:
# the lab of `make run` inside the test's network namespace (wimsd with its media
# gateway, HTTPS/WSS 8443 with a self-signed certificate, the client from web/dist),
# the demo phones, and Playwright scripts from tests/browser/ driving /usr/bin/chromium.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

WEB_DIST=$WIMS_SRC/web/dist
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
WIC_URL=https://127.0.0.1:$WIMSD_WSS_PORT/

browser_prereq() {
  [ -x "$CHROMIUM" ] || fail "no Chromium at $CHROMIUM (Debian package chromium: scripts/deps.sh installs it)"
  [ -d "$WIMS_SRC/web/node_modules/playwright-core" ] || fail "web/node_modules missing: run scripts/deps.sh (npm install in web/)"
  if [ ! -f "$WEB_DIST/index.html" ] || [ -n "$(find "$WIMS_SRC/web/src" -newer "$WEB_DIST/app.js" 2>/dev/null)" ]; then
    log "building the client (web/dist)"
    node "$WIMS_SRC/web/build.js" >"$T/web-build.log" 2>&1 || fail "web build failed (see web-build.log)"
  fi
}

# a self-signed certificate for 127.0.0.1 in DIR (kept when already there)
make_cert() {
  local dir=$1
  [ -s "$dir/wss.crt" ] && [ -s "$dir/wss.key" ] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
    -keyout "$dir/wss.key" -out "$dir/wss.crt" >"$dir/openssl.log" 2>&1 || fail "openssl could not make a certificate"
}

# wimsd_browser_ini pcscf|iwu: the lab's wimsd: WS 8080, HTTPS/WSS 8443 serving web/dist,
# media gateway on 127.0.0.1 with ng control on udp 127.0.0.1:2223
wimsd_browser_ini() {
  local role=${1:-pcscf}
  make_cert "$T"
  if [ "$role" = iwu ]; then wimsd_iwu_ini; else wimsd_pcscf_ini; fi
  # pcscf-token: registration with a WAF token instead of digest
  if [ "$role" = pcscf-token ]; then printf '[pcscf]\ntoken_secret = wims-lab-waf-secret\ntoken_audience = wims-lab\n'; fi
  cat <<INI
[ws]
listen_tls = 127.0.0.1:$WIMSD_WSS_PORT
tls_cert = $T/wss.crt
tls_key = $T/wss.key
web_root = $WEB_DIST
[media]
address = 127.0.0.1
port_min = 40000
port_max = 40999
ng_listen = 127.0.0.1:2223
INI
}

# a demo phone: NAME SCENARIO PORT MEDIAPORT (sipp, -rtp_echo, any number of calls)
start_phone() {
  local name=$1 scen=$2 port=$3 mport=$4
  sipp -sf "$LAB/sipp/$scen" -i 127.0.0.1 -p "$port" -mi 127.0.0.1 -mp "$mport" -rtp_echo \
    -s "$name" -ci 127.0.0.1 -cp $((3000 + port)) -set answer_delay 300 -nostdin \
    -trace_err -error_file "$T/$name-errors.log" -trace_msg -message_file "$T/$name-msgs.log" \
    </dev/null >"$T/$name.log" 2>&1 &
  track "$name" $!
  wait_port udp "$port" 5 "$name"
}

# start_browser_lab pcscf|iwu: the core, the phones echo (5091) and volte (5092), wimsd
start_browser_lab() {
  local role=${1:-pcscf}
  browser_prereq
  if [ "$role" = iwu ]; then start_core
  elif [ "$role" = pcscf-token ]; then start_scscf -A WITH_IMS_REG -A WITH_TOKEN
  else start_scscf -A WITH_IMS_REG; fi
  start_phone echo uas_phone.xml 5091 6010
  start_phone volte uas_amr.xml 5092 6020
  start_wimsd "$(wimsd_browser_ini "$role")"
  wait_port tcp $WIMSD_WSS_PORT 5 wimsd
  wait_port udp 2223 5 wimsd
}

# browser_run NAME SCRIPT [VAR=value...]: run tests/browser/SCRIPT with node, log in NAME.log
browser_run() {
  local name=$1 script=$2; shift 2
  log "browser $name: tests/browser/$script $*"
  env WIMS_TEST_DIR="$T" WIC_URL="$WIC_URL" CHROMIUM="$CHROMIUM" "$@" \
    node "$WIMS_SRC/tests/browser/$script" </dev/null >"$T/$name.log" 2>&1
  local rc=$?
  sed 's/^/    /' "$T/$name.log" >&2
  [ $rc -eq 0 ] || fail "browser $name ($script) failed"
  log "browser $name: ok"
}
