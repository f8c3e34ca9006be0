// A local stand-in for FranceConnect v2, for Parlay's tests only. Never deploy it.
//
// It is the npm package oidc-provider (pinned in tests/npm) configured the way
// FranceConnect's own core is (kyc/README.md, ../shared/research/kyc.md): routes under
// /api/v2, authorization code flow only, client_secret_post, ES256 (or RS256) ID tokens,
// userinfo as a signed JWT, acr eidas1, codes living 30 s and access tokens 60 s, nonce of at
// least 22 characters and state required on /authorize.
//
// Instead of a login page it has a headless interaction route: the browser (or the test's
// HTTP client) lands on /api/v2/interaction/<uid> and is logged in at once as the test
// identity named in ?identity=<name> (default: adult); ?deny=1 makes the provider answer the
// client with error=access_denied instead.
//
// POST /__test__/rotate-keys (outside /api/v2) replaces the signing keys with new ones
// under new kids, as FranceConnect does when it rotates its keys.
//
// POST /__test__/misbehave?id_token=<mode> makes the token endpoint hand out a bad ID token
// from then on (an empty mode: behave again), for refusal tests through a relying party:
//   tamper    the payload's sub changed after signing (the signature no longer matches)
//   nonce     re-signed with the provider's key, nonce replaced by another one
//   audience  re-signed with the provider's key, aud another client's id
//   alg-none  header {"alg":"none"}, the real payload, an empty signature
// GET /__test__/code?code=<code> answers {"expired": true|false} for an authorization code
// (404 if unknown), so that a test can wait for a short-lived code to expire.
//
// Usage: node kyc/standin/fc-standin.mjs [--port N] [--modules DIR] [--redirect URL]
// (--redirect: one more redirect_uri for every client, e.g. a web site's return page.)
// It listens on 127.0.0.1 (port 0 = any free port) and prints one line
//   READY http://127.0.0.1:<port>/api/v2
// on stdout once it accepts connections. Registered clients (secret "parlay-test-secret",
// redirect_uri http://127.0.0.1/kyc/callback, post-logout http://127.0.0.1/kyc/logged-out):
//   parlay        ES256 ID token, ES256 userinfo JWT (FranceConnect's recommended setting)
//   parlay-rs     RS256 ID token, RS256 userinfo JWT
//   parlay-plain  ES256 ID token, userinfo as plain JSON (FranceConnect v1 style: refused)
//   parlay-short  as parlay, but authorization codes live 1 second (expired-code tests)
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const here = path.dirname(fileURLToPath(import.meta.url));
const modules = opt('modules', path.join(here, '..', '..', 'tests', 'npm', 'node_modules'));
const { default: Provider } = await import(
  pathToFileURL(path.join(modules, 'oidc-provider', 'lib', 'index.js')).href);

const PREFIX = '/api/v2';
const SECRET = 'parlay-test-secret';
const REDIRECT = 'http://127.0.0.1/kyc/callback';
const LOGGED_OUT = 'http://127.0.0.1/kyc/logged-out';

// Test identities, in the claim formats FranceConnect uses (identite_pivot + email).
const year = new Date().getUTCFullYear();
const pad = (n) => String(n).padStart(2, '0');
const today = new Date();
const identities = {
  adult: { given_name: 'Angela Claire Louise', family_name: 'DUBOIS', birthdate: '1962-08-24',
    gender: 'female', birthplace: '75107', birthcountry: '99100', email: 'angela@example.test' },
  // 16 years old today.
  minor: { given_name: 'Lucas', family_name: 'MARTIN',
    birthdate: `${year - 16}-${pad(today.getUTCMonth() + 1)}-${pad(today.getUTCDate())}`,
    gender: 'male', birthplace: '69123', birthcountry: '99100', email: 'lucas@example.test' },
  // Presumed date, long ago: an adult whatever the day.
  presumed: { given_name: 'Karim', family_name: 'BENALI', birthdate: '1990-00-00',
    gender: 'male', birthplace: '', birthcountry: '99350', email: 'karim@example.test' },
  // Presumed date in the year 18 years ago: counts as 31 December, so not yet 18 (except on
  // 31 December itself).
  'presumed-recent': { given_name: 'Ines', family_name: 'HADDAD', birthdate: `${year - 18}-00-00`,
    gender: 'female', birthplace: '', birthcountry: '99350', email: 'ines@example.test' },
  // Same person as "adult", differently written (accents, case, one given name): another
  // sub, the same identity key.
  'adult-twin': { given_name: 'angéla', family_name: 'Dubois', birthdate: '1962-08-24',
    gender: 'female', birthplace: '75107', birthcountry: '99100', email: 'a.d@example.test' },
};
// FranceConnect-shaped subjects: 64 hex characters + "v1".
const subOf = (name) =>
  crypto.createHash('sha256').update(`parlay-standin:${name}`).digest('hex') + 'v1';
const bySub = new Map(Object.keys(identities).map((n) => [subOf(n), n]));

const keyOf = (type, kid, alg) => {
  const opts = type === 'ec' ? { namedCurve: 'P-256' } : { modulusLength: 2048 };
  const jwk = crypto.generateKeyPairSync(type, opts).privateKey.export({ format: 'jwk' });
  return { ...jwk, kid, alg, use: 'sig' };
};

const pivot = ['given_name', 'given_name_array', 'family_name', 'birthdate', 'gender',
  'birthplace', 'birthcountry'];
const client = (id, alg, userinfoAlg) => ({
  client_id: id,
  client_secret: SECRET,
  redirect_uris: [REDIRECT, ...(opt('redirect', '') ? [opt('redirect', '')] : [])],
  post_logout_redirect_uris: [LOGGED_OUT],
  response_types: ['code'],
  grant_types: ['authorization_code'],
  token_endpoint_auth_method: 'client_secret_post',
  id_token_signed_response_alg: alg,
  ...(userinfoAlg ? { userinfo_signed_response_alg: userinfoAlg } : {}),
});

const config = {
  clients: [client('parlay', 'ES256', 'ES256'), client('parlay-rs', 'RS256', 'RS256'),
    client('parlay-plain', 'ES256', null), client('parlay-short', 'ES256', 'ES256')],
  claims: {
    openid: ['sub'],
    email: ['email'],
    identite_pivot: pivot,
    profile: ['given_name', 'given_name_array', 'family_name', 'birthdate', 'gender'],
    birth: ['birthplace', 'birthcountry'],
    given_name: ['given_name', 'given_name_array'],
    family_name: ['family_name'],
    birthdate: ['birthdate'],
    gender: ['gender'],
    birthplace: ['birthplace'],
    birthcountry: ['birthcountry'],
  },
  acrValues: ['eidas1'],
  responseTypes: ['code'],
  clientAuthMethods: ['client_secret_post'],
  subjectTypes: ['public'],
  pkce: { required: () => false },
  enabledJWA: {
    idTokenSigningAlgValues: ['ES256', 'RS256'],
    userinfoSigningAlgValues: ['ES256', 'RS256'],
  },
  features: {
    devInteractions: { enabled: false },
    jwtUserinfo: { enabled: true },
    claimsParameter: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  routes: {
    authorization: '/authorize',
    token: '/token',
    userinfo: '/userinfo',
    jwks: '/jwks',
    end_session: '/session/end',
    revocation: '/token/revocation',
  },
  // parlay-short's codes live 1 s, so that a test can present an expired code.
  ttl: { AuthorizationCode: (ctx, code, cl) => (cl.clientId === 'parlay-short' ? 1 : 30),
    AccessToken: 60, IdToken: 60, Session: 1800, Interaction: 1800,
    Grant: 1800 },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  interactions: { url: (ctx, interaction) => `${PREFIX}/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const name = bySub.get(sub);
    if (!name) return undefined;
    const id = identities[name];
    return {
      accountId: sub,
      async claims() {
        return { sub, ...id, given_name_array: id.given_name.split(' ') };
      },
    };
  },
};

const server = http.createServer();
server.listen(Number(opt('port', '0')), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}${PREFIX}`;
  let provider;
  let callback;
  let generation = 0;
  let keys = [];
  let misbehave = '';
  // (Re)builds the provider with fresh signing keys whose kids end in the generation number:
  // POST /__test__/rotate-keys calls it to show the client refetching the JWKS.
  const build = () => {
    generation += 1;
    keys = [keyOf('ec', `standin-es256-${generation}`, 'ES256'),
      keyOf('rsa', `standin-rs256-${generation}`, 'RS256')];
    provider = new Provider(issuer, { ...config, jwks: { keys } });
    provider.use(strictAuthorize);
    provider.use(spoilIdToken);
    callback = provider.callback();
  };

  // FranceConnect's stricter authorize checks: state, nonce >= 22 characters, acr_values.
  const strictAuthorize = async (ctx, next) => {
    if (ctx.path === '/authorize' && ctx.method === 'GET') {
      const q = ctx.query;
      const bad = !q.state ? 'state is required'
        : !q.nonce || q.nonce.length < 22 ? 'nonce of at least 22 characters is required'
          : !q.acr_values ? 'acr_values is required'
            : q.prompt && q.prompt.split(' ').includes('none') ? 'prompt=none is not supported'
              : null;
      if (bad) {
        ctx.status = 400;
        ctx.body = { error: 'invalid_request', error_description: bad };
        return;
      }
    }
    await next();
  };
  const b64u = (buf) => Buffer.from(buf).toString('base64url');
  // Rewrites the token endpoint's ID token according to `misbehave`.
  const spoil = (jwt) => {
    const [h, p] = jwt.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url'));
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    const resign = (c) => {
      const jwk = keys.find((k) => k.kid === header.kid);
      const input = `${h}.${b64u(JSON.stringify(c))}`;
      const key = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
      const sig = jwk.kty === 'EC'
        ? crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
        : crypto.sign('sha256', Buffer.from(input), key);
      return `${input}.${b64u(sig)}`;
    };
    switch (misbehave) {
      case 'tamper':
        return `${h}.${b64u(JSON.stringify({ ...claims, sub: subOf('minor') }))}.${jwt.split('.')[2]}`;
      case 'nonce': return resign({ ...claims, nonce: crypto.randomBytes(24).toString('base64url') });
      case 'audience': return resign({ ...claims, aud: 'parlay-rs' });
      case 'alg-none':
        return `${b64u(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${p}.`;
      default: return jwt;
    }
  };
  const spoilIdToken = async (ctx, next) => {
    await next();
    if (misbehave && ctx.path === '/token' && ctx.body && typeof ctx.body.id_token === 'string') {
      ctx.body = { ...ctx.body, id_token: spoil(ctx.body.id_token) };
    }
  };
  build();

  const interaction = async (req, res, url) => {
    try {
      const details = await provider.interactionDetails(req, res);
      if (url.searchParams.get('deny')) {
        await provider.interactionFinished(req, res, {
          error: 'access_denied', error_description: 'the user cancelled' });
        return;
      }
      const name = url.searchParams.get('identity') || 'adult';
      if (!identities[name]) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`unknown identity ${name}\n`);
        return;
      }
      const accountId = subOf(name);
      const { params } = details;
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId, clientId: params.client_id });
      grant.addOIDCScope(params.scope);
      const grantId = await grant.save();
      const result = { consent: { grantId } };
      if (details.prompt.name === 'login') {
        result.login = { accountId, acr: 'eidas1', amr: ['pwd'], remember: false };
      }
      await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
    } catch (e) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`interaction failed: ${e.message}\n`);
    }
  };

  server.on('request', (req, res) => {
    const url = new URL(req.url, issuer);
    if (url.pathname === '/__test__/rotate-keys' && req.method === 'POST') {
      build();
      res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ generation }));
    } else if (url.pathname === '/__test__/misbehave' && req.method === 'POST') {
      const mode = url.searchParams.get('id_token') || '';
      if (!['', 'tamper', 'nonce', 'audience', 'alg-none'].includes(mode)) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(`unknown mode ${mode}\n`);
        return;
      }
      misbehave = mode;
      res.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ id_token: misbehave }));
    } else if (url.pathname === '/__test__/code' && req.method === 'GET') {
      provider.AuthorizationCode.find(url.searchParams.get('code') || '',
        { ignoreExpiration: true }).then((code) => {
        if (!code) {
          res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"unknown"}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ expired: code.isExpired }));
      }, (e) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`));
    } else if (url.pathname.startsWith(`${PREFIX}/interaction/`) && req.method === 'GET') {
      interaction(req, res, url);
    } else if (url.pathname === PREFIX || url.pathname.startsWith(`${PREFIX}/`)) {
      // oidc-provider finds its mount path from originalUrl (as under express).
      req.originalUrl = req.url;
      req.url = req.url.slice(PREFIX.length) || '/';
      callback(req, res);
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  process.stdout.write(`READY ${issuer}\n`);
});

// The test kills us with SIGTERM; exit cleanly and at once.
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
