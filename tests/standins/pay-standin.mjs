// A local stand-in for a card payment provider (Stripe-shaped), for Parlay's tests and `make run`.
//
// Parlay opens a payment for a deposit; the player pays on the provider's hosted page; the
// provider tells Parlay what happened through signed webhooks, retried until Parlay answers 2xx
// (so Parlay sees duplicates, as it would in production). Payouts (withdrawals) go the other way:
// Parlay asks for a payout to the payment account recorded at deposit, and a webhook says
// whether it was paid or failed. Nothing here is trusted by Parlay except through the signature.
//
// Webhooks: POST <callback> with a JSON event {id, type, created, data: {object}} and headers
//   X-Pay-Timestamp: <unix seconds>
//   X-Pay-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
// A retry sends the same event (same id, same body) with a fresh timestamp and signature.
// Event types: payment.succeeded, payment.failed, payment.refunded, payment.chargeback,
// payout.paid, payout.failed.
//
// Usage: node tests/standins/pay-standin.mjs [--port N] [--secret S] [--api-key K]
//        [--retry-ms 200] [--max-attempts 8]
// Prints "READY http://127.0.0.1:<port>" once it listens. Routes:
//   POST /v1/payments {amount, currency, reference, callback, return_url?}  (Bearer api key;
//        Idempotency-Key honoured)                      -> 201 payment {id, url, status, ...}
//   GET  /v1/payments/<id>                               -> the payment
//   GET  /pay/<id>                                       -> the hosted page (HTML form)
//   POST /pay/<id>/confirm | /pay/<id>/cancel            -> pays or cancels, 303 to return_url
//   POST /v1/payouts {amount, currency, account, reference, callback} (Bearer; Idempotency-Key)
//                                                        -> 201 payout {id, status: "pending"}
//   GET  /v1/payouts/<id>                                -> the payout
// Test controls (loopback only, no key):
//   POST /__test__/mode {payments: "succeed"|"fail", payouts: "paid"|"failed"|"hold",
//                        duplicates: n}                  -> the mode
//   POST /__test__/payments/<id>/event {type, repeat?, tamper?: "signature"|"stale"}
//   POST /__test__/payouts/<id>/event  {type, repeat?, tamper?}
//        -> 200 {delivered, statuses}: sends that event now (no retries), as a replay would
//   GET  /__test__/deliveries                            -> every delivery attempt so far
import crypto from 'node:crypto';
import http from 'node:http';
import https from 'node:https';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const secret = opt('secret', 'pay-test-secret');
const apiKey = opt('api-key', 'pay-test-key');
const retryMs = Number(opt('retry-ms', '200'));
const maxAttempts = Number(opt('max-attempts', '8'));

const payments = new Map();
const payouts = new Map();
const idemKeys = new Map(); // "<kind>:<key>" -> object id
const deliveries = [];
const mode = { payments: 'succeed', payouts: 'paid', duplicates: 1 };
let stopping = false;

const readBody = (req) => new Promise((resolve, reject) => {
  const chunks = [];
  let size = 0;
  req.on('data', (c) => {
    size += c.length;
    if (size > 65536) { reject(new Error('body too large')); req.destroy(); return; }
    chunks.push(c);
  });
  req.on('end', () => resolve(Buffer.concat(chunks)));
  req.on('error', reject);
});

const send = (res, status, obj, extra = {}) => {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json',
    'content-length': Buffer.byteLength(body), ...extra }).end(body);
};

const sign = (ts, body, key = secret) =>
  crypto.createHmac('sha256', key).update(`${ts}.`).update(body).digest('hex');

// One POST of @body to @callback, signed now; resolves to the HTTP status (-1: no answer).
const post = (callback, body, tamper) => new Promise((resolve) => {
  let u;
  try { u = new URL(callback); } catch { resolve(-1); return; }
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') { resolve(-1); return; }
  const ts = Math.floor(Date.now() / 1000) - (tamper === 'stale' ? 3600 : 0);
  const sig = sign(ts, body, tamper === 'signature' ? 'not-the-secret' : secret);
  // https:// callbacks (nodes with member TLS): trusted through NODE_EXTRA_CA_CERTS.
  const req = (u.protocol === 'https:' ? https : http).request({ hostname: u.hostname, port: u.port, path: u.pathname + u.search,
    method: 'POST', timeout: 5000,
    headers: { 'content-type': 'application/json', 'content-length': body.length,
      'x-pay-timestamp': String(ts), 'x-pay-signature': `v1=${sig}` } }, (res) => {
    res.resume();
    res.on('end', () => resolve(res.statusCode));
  });
  req.on('timeout', () => req.destroy());
  req.on('error', () => resolve(-1));
  req.end(body);
});

const eventFor = (type, object) => Buffer.from(JSON.stringify({
  id: `evt_${crypto.randomUUID()}`, type, created: Math.floor(Date.now() / 1000),
  data: { object },
}));

// Deliver @type about @object to its callback, retrying with backoff until a 2xx or
// maxAttempts; with mode.duplicates > 1 each successful delivery is sent that many times.
const deliver = async (object, type) => {
  const body = eventFor(type, object);
  const record = { event: JSON.parse(body).id, type, object: object.id, attempts: [] };
  deliveries.push(record);
  for (let attempt = 0; attempt < maxAttempts && !stopping; attempt++) {
    const status = await post(object.callback, body);
    record.attempts.push(status);
    if (status >= 200 && status < 300) {
      for (let d = 1; d < mode.duplicates; d++) record.attempts.push(await post(object.callback, body));
      return;
    }
    await new Promise((r) => setTimeout(r, retryMs * 2 ** attempt));
  }
};

const authorised = (req) => req.headers.authorization === `Bearer ${apiKey}`;
const isCents = (v) => Number.isSafeInteger(v) && v > 0 && v <= 100000000;

const create = async (req, res, kind, map, build) => {
  if (!authorised(req)) { send(res, 401, { error: 'bad api key' }); return; }
  const key = req.headers['idempotency-key'];
  if (key && idemKeys.has(`${kind}:${key}`)) {
    send(res, 200, map.get(idemKeys.get(`${kind}:${key}`)));
    return;
  }
  const body = JSON.parse((await readBody(req)).toString() || '{}');
  if (!isCents(body.amount)) { send(res, 400, { error: 'amount must be a positive integer of cents' }); return; }
  if (body.currency !== 'EUR') { send(res, 400, { error: 'currency must be EUR' }); return; }
  if (typeof body.reference !== 'string' || !body.reference) { send(res, 400, { error: 'reference required' }); return; }
  if (typeof body.callback !== 'string' || !body.callback) { send(res, 400, { error: 'callback required' }); return; }
  const obj = build(body);
  map.set(obj.id, obj);
  if (key) idemKeys.set(`${kind}:${key}`, obj.id);
  send(res, 201, obj);
};

const base = () => `http://127.0.0.1:${server.address().port}`;

const hostedPage = (p) => `<!doctype html><html><head><title>Pay ${p.amount / 100} EUR</title></head>
<body><h1>Parlay deposit</h1><p>Amount: ${(p.amount / 100).toFixed(2)} EUR (ref ${p.reference})</p>
<p>Status: <span id="status">${p.status}</span></p>
<form method="post" action="/pay/${p.id}/confirm"><label>Card <input name="card" value="4242424242424242"></label>
<button id="pay" type="submit">Pay</button></form>
<form method="post" action="/pay/${p.id}/cancel"><button id="cancel" type="submit">Cancel</button></form>
</body></html>\n`;

const finishPayment = (p, ok) => {
  if (p.status !== 'open') return;
  p.status = ok ? 'succeeded' : 'failed';
  if (ok) p.account = `acct_${crypto.createHash('sha256').update(p.reference).digest('hex').slice(0, 16)}`;
  deliver(p, ok ? 'payment.succeeded' : 'payment.failed');
};

const settlePayout = (po) => {
  if (mode.payouts === 'hold' || po.status !== 'pending') return;
  po.status = mode.payouts === 'failed' ? 'failed' : 'paid';
  deliver(po, po.status === 'paid' ? 'payout.paid' : 'payout.failed');
};

const testEvent = async (req, res, object, kinds) => {
  const { type, repeat, tamper } = JSON.parse((await readBody(req)).toString() || '{}');
  if (!kinds.includes(type)) { send(res, 400, { error: `type must be one of ${kinds.join(', ')}` }); return; }
  const states = { 'payment.succeeded': 'succeeded', 'payment.failed': 'failed',
    'payment.refunded': 'refunded', 'payment.chargeback': 'charged_back',
    'payout.paid': 'paid', 'payout.failed': 'failed' };
  if (!tamper) object.status = states[type];
  if (type === 'payment.succeeded' && !object.account)
    object.account = `acct_${crypto.createHash('sha256').update(object.reference).digest('hex').slice(0, 16)}`;
  const body = eventFor(type, object);
  const statuses = [];
  for (let i = 0; i < (repeat || 1); i++) statuses.push(await post(object.callback, body, tamper));
  deliveries.push({ event: JSON.parse(body).id, type, object: object.id, attempts: statuses });
  send(res, 200, { delivered: statuses.length, statuses, event: JSON.parse(body).id });
};

const server = http.createServer(async (req, res) => {
  try {
    const url = new URL(req.url, 'http://127.0.0.1');
    const p = url.pathname.split('/').filter(Boolean);
    if (req.method === 'POST' && url.pathname === '/v1/payments') {
      await create(req, res, 'payment', payments, (b) => {
        const id = `pay_${crypto.randomUUID()}`;
        return { id, status: 'open', amount: b.amount, currency: b.currency,
          reference: b.reference, callback: b.callback, return_url: b.return_url || null,
          url: `${base()}/pay/${id}` };
      });
    } else if (req.method === 'POST' && url.pathname === '/v1/payouts') {
      await create(req, res, 'payout', payouts, (b) => {
        const po = { id: `po_${crypto.randomUUID()}`, status: 'pending', amount: b.amount,
          currency: b.currency, account: b.account || null, reference: b.reference,
          callback: b.callback };
        setImmediate(() => settlePayout(po));
        return po;
      });
    } else if (req.method === 'GET' && p[0] === 'v1' && (p[1] === 'payments' || p[1] === 'payouts') && p.length === 3) {
      if (!authorised(req)) { send(res, 401, { error: 'bad api key' }); return; }
      const o = (p[1] === 'payments' ? payments : payouts).get(p[2]);
      if (o) send(res, 200, o); else send(res, 404, { error: 'no such object' });
    } else if (req.method === 'GET' && p[0] === 'pay' && p.length === 2 && payments.has(p[1])) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(hostedPage(payments.get(p[1])));
    } else if (req.method === 'POST' && p[0] === 'pay' && p.length === 3 && payments.has(p[1]) &&
               (p[2] === 'confirm' || p[2] === 'cancel')) {
      await readBody(req);
      const pay = payments.get(p[1]);
      finishPayment(pay, p[2] === 'confirm' && mode.payments === 'succeed');
      const back = pay.return_url ? `${pay.return_url}${pay.return_url.includes('?') ? '&' : '?'}payment=${pay.id}&status=${pay.status}` : `/pay/${pay.id}`;
      res.writeHead(303, { location: back }).end();
    } else if (req.method === 'POST' && url.pathname === '/__test__/mode') {
      const m = JSON.parse((await readBody(req)).toString() || '{}');
      if (m.payments !== undefined && !['succeed', 'fail'].includes(m.payments)) { send(res, 400, { error: 'payments: succeed|fail' }); return; }
      if (m.payouts !== undefined && !['paid', 'failed', 'hold'].includes(m.payouts)) { send(res, 400, { error: 'payouts: paid|failed|hold' }); return; }
      if (m.duplicates !== undefined && !(Number.isInteger(m.duplicates) && m.duplicates >= 1 && m.duplicates <= 10)) { send(res, 400, { error: 'duplicates: 1..10' }); return; }
      Object.assign(mode, m);
      if (mode.payouts !== 'hold') for (const po of payouts.values()) settlePayout(po);
      send(res, 200, mode);
    } else if (req.method === 'POST' && p[0] === '__test__' && p[1] === 'payments' && p[3] === 'event' && payments.has(p[2])) {
      await testEvent(req, res, payments.get(p[2]),
        ['payment.succeeded', 'payment.failed', 'payment.refunded', 'payment.chargeback']);
    } else if (req.method === 'POST' && p[0] === '__test__' && p[1] === 'payouts' && p[3] === 'event' && payouts.has(p[2])) {
      await testEvent(req, res, payouts.get(p[2]), ['payout.paid', 'payout.failed']);
    } else if (req.method === 'GET' && url.pathname === '/__test__/deliveries') {
      send(res, 200, deliveries);
    } else {
      send(res, 404, { error: 'not found' });
    }
  } catch (e) {
    if (!res.headersSent) send(res, 400, { error: e.message });
  }
});

server.listen(Number(opt('port', '0')), '127.0.0.1', () => {
  process.stdout.write(`READY http://127.0.0.1:${server.address().port}\n`);
});
const stop = () => { stopping = true; server.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
