#!/usr/bin/env bash
# Bounds on wimsd's SIP TCP listener (docs/signalling.md "SIP over TCP and
# TLS"), with sipp over TCP and plain sockets as the peers:
#  1. sipp sends OPTIONS over TCP to wimsd: 200
#  2. [sip] max_tcp_connections = 4: four connections (three TCP, one TLS)
#     carry OPTIONS and get 200; a fifth is accepted and closed at once
#     without a byte, over TCP and over TLS; /metrics counts them; once one
#     of the four goes, a new one is served
#  3. [sip] tcp_message_timeout_s = 2: a silent connection (TCP, and TLS
#     without a handshake) and one that sent half a message are closed after
#     ~2 s; one that sent a whole message
#     and then pings (CRLFCRLF) stays, and gets a CRLF pong for each ping
#  4. framing errors (RFC 3261 §18.3): an INVITE without Content-Length gets
#     "400 Missing Content-Length" and the connection closes; an HTTP request
#     on the SIP port is closed without an answer
#  5. /metrics and the log name all of it; sipp over TCP still gets 200
. "$(dirname "$0")/lib.sh"

WIMSD_TLS_PORT=5061
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=127.0.0.1 \
  -keyout "$T/key.pem" -out "$T/cert.pem" >"$T/openssl.log" 2>&1 || fail "openssl req"
start_wimsd "$(wimsd_iwu_ini)
[ws]
admin = yes
[sip]
listen_tls = 127.0.0.1:$WIMSD_TLS_PORT
tls_cert = $T/cert.pem
tls_key = $T/key.pem
max_tcp_connections = 4
tcp_message_timeout_s = 2"

sipp_run opt-tcp uac_options.xml "$(ue_port 1)" 127.0.0.1:$WIMSD_SIP_PORT -t t1 \
  -key caller ue1 -key target sip:127.0.0.1:$WIMSD_SIP_PORT

python3 - "$WIMSD_SIP_PORT" "$WIMSD_WS_PORT" "$WIMSD_TLS_PORT" >"$T/peers.log" 2>&1 <<'PY' || { cat "$T/peers.log"; fail "a TCP bound did not hold"; }
import re, socket, ssl, sys, time, urllib.request

sip_port, ws_port, tls_port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
n = 0

def say(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)

def metrics():
    body = urllib.request.urlopen(f"http://127.0.0.1:{ws_port}/metrics", timeout=5).read().decode()
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(wims_sip_tcp_\S+) (\d+)$", body, re.M)}

def metric(name):
    return metrics().get(name, -1)

def wait_metric(name, want, t=5.0):
    end = time.time() + t
    while time.time() < end:
        if metric(name) == want:
            return
        time.sleep(0.1)
    raise SystemExit(f"{name} is {metric(name)}, want {want}")

def conn(port=None):
    return socket.create_connection(("127.0.0.1", port or sip_port), timeout=5)

def tls_conn():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx.wrap_socket(conn(tls_port), server_hostname="127.0.0.1")

def options():
    global n
    n += 1
    return (f"OPTIONS sip:127.0.0.1:{sip_port} SIP/2.0\r\n"
            f"Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKtcp{n};rport\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:peer@ims.lab>;tag=p1\r\n"
            f"To: <sip:127.0.0.1:{sip_port}>\r\nCall-ID: tcp-limits-{n}\r\n"
            "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n").encode()

def read_until(s, pat, t=5.0):
    s.settimeout(t)
    buf = b""
    while pat not in buf:
        d = s.recv(65536)
        if not d:
            raise SystemExit(f"closed before {pat!r}; got {buf!r}")
        buf += d
    return buf

def closed(s, t=5.0):
    """True when the peer closes within t seconds; also returns what came first."""
    s.settimeout(t)
    got = b""
    try:
        while True:
            d = s.recv(65536)
            if not d:
                return True, got
            got += d
    except ConnectionResetError:
        return True, got
    except socket.timeout:
        return False, got

# sipp's connection is gone
wait_metric('wims_sip_tcp_connections{direction="in"}', 0)

# --- 2. max_tcp_connections (TCP and TLS together)
socks = []
for i in range(4):
    s = tls_conn() if i == 3 else conn()
    s.sendall(options())
    r = read_until(s, b"\r\n\r\n")
    assert r.startswith(b"SIP/2.0 200"), r
    socks.append(s)
say("4 connections served")
wait_metric('wims_sip_tcp_connections{direction="in"}', 4)
fifth = conn()
c, got = closed(fifth, 3)
assert c and got == b"", (c, got)
say("the fifth was closed at accept")
wait_metric('wims_sip_tcp_refused_total{why="max_connections"}', 1)
try:
    tls_conn().recv(1)
    raise SystemExit("a TLS connection beyond the limit was served")
except (ssl.SSLError, ConnectionError, OSError) as e:
    say("a fifth over TLS too:", type(e).__name__)
wait_metric('wims_sip_tcp_refused_total{why="max_connections"}', 2)
socks.pop().close()
wait_metric('wims_sip_tcp_connections{direction="in"}', 3)
s = conn()
s.sendall(options())
assert read_until(s, b"\r\n\r\n").startswith(b"SIP/2.0 200")
socks.append(s)
say("a freed slot is taken again")
for s in socks:
    s.close()
wait_metric('wims_sip_tcp_connections{direction="in"}', 0)

# --- 3. tcp_message_timeout_s
silent, half, pinger = conn(), conn(), conn()
tls_silent = conn(tls_port)  # a TLS handshake that never starts
half.sendall(options()[:40])
pinger.sendall(options())
assert read_until(pinger, b"\r\n\r\n").startswith(b"SIP/2.0 200")
t0 = time.time()
pongs = b""
pinger.settimeout(0.3)
while time.time() - t0 < 3.5:
    pinger.sendall(b"\r\n\r\n")
    try:
        pongs += pinger.recv(100)
    except socket.timeout:
        pass
    time.sleep(0.4)
for name, s in (("silent", silent), ("half", half), ("tls silent", tls_silent)):
    c, got = closed(s, 0.5)
    assert c and got == b"", (name, c, got)
c, got = closed(pinger, 0.2)
assert not c, "the pinging connection was closed"
assert pongs and set(pongs) <= set(b"\r\n") and len(pongs) >= 8, pongs
say(f"silent and half closed, the pinger kept ({len(pongs) // 2} pongs)")
pinger.close()
wait_metric('wims_sip_tcp_closed_total{why="incomplete"}', 3)

# --- 4. framing errors
inv = conn()
inv.sendall(b"INVITE sip:x@ims.lab SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKnocl\r\n"
            b"Max-Forwards: 70\r\nFrom: <sip:peer@ims.lab>;tag=p2\r\nTo: <sip:x@ims.lab>\r\n"
            b"Call-ID: tcp-limits-nocl\r\nCSeq: 7 INVITE\r\n\r\nv=0\r\n")
c, got = closed(inv, 3)
assert c and got.startswith(b"SIP/2.0 400 Missing Content-Length\r\n"), (c, got)
assert b"Call-ID: tcp-limits-nocl\r\n" in got and b"CSeq: 7 INVITE\r\n" in got, got
say("no Content-Length: 400 Missing Content-Length, closed")
http = conn()
http.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
c, got = closed(http, 3)
assert c and got == b"", (c, got)
say("HTTP on the SIP port: closed without an answer")
wait_metric('wims_sip_tcp_closed_total{why="framing"}', 2)
wait_metric("wims_sip_tcp_framing_answered_total", 1)
m = metrics()
say("metrics:", m)
assert m['wims_sip_tcp_refused_total{why="max_connections"}'] == 2
assert m['wims_sip_tcp_closed_total{why="incomplete"}'] == 3
PY
cat "$T/peers.log"
alive wimsd
grep -q 'SIP TCP .*refused: max_tcp_connections (4) reached' "$T/wimsd.log" || fail "no log line for the refused connection"
grep -q 'SIP TLS .*refused: max_tcp_connections (4) reached' "$T/wimsd.log" || fail "no log line for the refused TLS connection"
grep -q 'no message within 2s, closing' "$T/wimsd.log" || fail "no log line for the silent connection"
grep -q 'message not complete within 2s, closing' "$T/wimsd.log" || fail "no log line for the half message"
grep -q 'Missing Content-Length (RFC 3261 §18.3), answered and closing' "$T/wimsd.log" || fail "no log line for the 400"
grep -q 'Bad start line (RFC 3261 §18.3), closing without an answer' "$T/wimsd.log" || fail "no log line for the HTTP request"

sipp_run opt-tcp-2 uac_options.xml "$(ue_port 1)" 127.0.0.1:$WIMSD_SIP_PORT -t t1 \
  -key caller ue1 -key target sip:127.0.0.1:$WIMSD_SIP_PORT
alive wimsd
assert_loopback_only
