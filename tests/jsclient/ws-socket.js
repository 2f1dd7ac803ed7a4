'use strict';
// JsSIP Socket interface (https://jssip.net/documentation/3.x/api/socket/) over
// the npm `ws` package, so that JsSIP runs in Node as it does in a browser.
// Offers drop(): kill the TCP connection abruptly (no close frame), the way a
// browser tab that crashes or loses its network does.

const WebSocket = require('ws');

class WsSocket {
  constructor(url, opts) {
    const u = new URL(url);
    this._url = url;
    this._opts = opts || {};
    this._ws = null;
    this.via_transport = u.protocol === 'wss:' ? 'WSS' : 'WS';
    this.sip_uri = `sip:${u.hostname}${u.port ? ':' + u.port : ''};transport=ws`;
    this.onconnect = null;
    this.ondisconnect = null;
    this.ondata = null;
    this.trace = this._opts.trace || null; // function(dir, text)
  }

  get url() { return this._url; }

  connect() {
    if (this.isConnected() || this.isConnecting()) return;
    const ws = new WebSocket(this._url, 'sip', {
      rejectUnauthorized: false, // the lab's WSS uses a self-signed certificate
      handshakeTimeout: 5000,
    });
    this._ws = ws;
    ws.on('open', () => {
      if (ws.protocol !== 'sip' && this.trace) this.trace('!', `server chose sub-protocol '${ws.protocol}'`);
      if (this.onconnect) this.onconnect();
    });
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? data : data.toString('utf8');
      if (this.trace) this.trace('<', String(text));
      if (this.ondata) this.ondata(text);
    });
    ws.on('close', (code, reason) => {
      if (this._ws !== ws) return;
      this._ws = null;
      if (this.ondisconnect) this.ondisconnect(code !== 1000, code, String(reason || ''));
    });
    ws.on('error', (err) => {
      if (this.trace) this.trace('!', `websocket error: ${err.message}`);
    });
  }

  disconnect() {
    if (this._ws) { try { this._ws.close(1000, 'bye'); } catch (e) { /* ignore */ } }
  }

  drop() {
    if (this._ws) { this._ws.terminate(); }
  }

  send(message) {
    if (!this.isConnected()) return false;
    if (this.trace) this.trace('>', String(message));
    this._ws.send(String(message));
    return true;
  }

  isConnected() { return !!this._ws && this._ws.readyState === WebSocket.OPEN; }
  isConnecting() { return !!this._ws && this._ws.readyState === WebSocket.CONNECTING; }
}

module.exports = { WsSocket };
