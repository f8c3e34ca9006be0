// A local stand-in for a document-check KYC provider (Veriff-shaped), for Parlay's tests only.
//
// It hosts "sessions" and, when a test tells it the decision, POSTs a signed webhook to the
// session's callback, the way such providers do: JSON body, X-HMAC-SIGNATURE = hex
// HMAC-SHA256(secret, raw body), X-AUTH-CLIENT = the API key, and the decision time inside
// the body (verification.decisionTime, ISO 8601).
//
// Usage: node kyc/standin/doc-standin.mjs [--port N] [--secret S] [--api-key K]
// Prints "READY http://127.0.0.1:<port>" once it listens. Routes:
//   POST /v1/sessions {"reference": ..., "callback": ...}  -> 201 {"id", "url"}
//   GET  /v1/hosted/<id>                                   -> the hosted page (HTML)
//   POST /v1/sessions/<id>/decision {"status": "approved"|"declined"|"resubmission_requested"|
//        "review"|..., "tamper": "signature"|"stale" (optional), "repeat": n (optional: send
//        the very same delivery n times, as a provider retry or a replay would)}
//        -> 200 {"delivered": n, "statuses": [callback HTTP statuses]}
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const secret = opt('secret', 'doc-test-secret');
const apiKey = opt('api-key', 'parlay-test');
const sessions = new Map();

const readBody = (req) => new Promise((resolve, reject) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => resolve(Buffer.concat(chunks)));
  req.on('error', reject);
});

const send = (res, status, obj) => {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json',
    'content-length': Buffer.byteLength(body) }).end(body);
};

const deliver = (callback, body, headers) => new Promise((resolve) => {
  const u = new URL(callback);
  if (u.hostname !== '127.0.0.1') { resolve(-1); return; } // tests only talk to loopback
  // https:// callbacks (nodes with member TLS): trusted through NODE_EXTRA_CA_CERTS.
  const req = (u.protocol === 'https:' ? https : http).request({ hostname: '127.0.0.1', port: u.port, path: u.pathname + u.search,
    method: 'POST', headers: { ...headers, 'content-length': body.length } }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
  });
  req.on('error', () => resolve(-1));
  req.end(body);
});

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    const parts = url.pathname.split('/').filter(Boolean);
    if (req.method === 'POST' && url.pathname === '/v1/sessions') {
      const { reference, callback } = JSON.parse((await readBody(req)).toString() || '{}');
      if (!reference || !callback) { send(res, 400, { error: 'reference and callback required' }); return; }
      const id = crypto.randomUUID();
      sessions.set(id, { reference, callback });
      const { port } = server.address();
      send(res, 201, { id, url: `http://127.0.0.1:${port}/v1/hosted/${id}` });
    } else if (req.method === 'GET' && parts[0] === 'v1' && parts[1] === 'hosted' && sessions.has(parts[2])) {
      res.writeHead(200, { 'content-type': 'text/html' })
        .end(`<html><body>Document check for ${sessions.get(parts[2]).reference}</body></html>\n`);
    } else if (req.method === 'POST' && parts[0] === 'v1' && parts[1] === 'sessions' &&
               parts[3] === 'decision' && sessions.has(parts[2])) {
      const s = sessions.get(parts[2]);
      const { status, tamper, repeat } = JSON.parse((await readBody(req)).toString() || '{}');
      const when = new Date(Date.now() - (tamper === 'stale' ? 3600 * 1000 : 0));
      const body = Buffer.from(JSON.stringify({
        id: crypto.randomUUID(),
        status: 'success',
        verification: { id: parts[2], status, vendorData: s.reference,
          decisionTime: when.toISOString() },
      }));
      let sig = crypto.createHmac('sha256', secret).update(body).digest('hex');
      if (tamper === 'signature') sig = crypto.createHmac('sha256', 'not-the-secret').update(body).digest('hex');
      const headers = { 'content-type': 'application/json', 'x-auth-client': apiKey,
        'x-hmac-signature': sig };
      const statuses = [];
      for (let i = 0; i < (repeat || 1); i++) statuses.push(await deliver(s.callback, body, headers));
      send(res, 200, { delivered: statuses.length, statuses });
    } else {
      send(res, 404, { error: 'not found' });
    }
  } catch (e) {
    send(res, 400, { error: e.message });
  }
});

server.listen(Number(opt('port', '0')), '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
