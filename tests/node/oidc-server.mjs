// A real OAuth 2.0 / OpenID authorization server for the test suite: panva's oidc-provider.
//
// node oidc-server.mjs '<config JSON>'   (or the same JSON in OIDC_TEST_CONFIG)
//
// Config (every key optional):
//   port            listen port on 127.0.0.1 (0 = any free port; the default)
//   redirectUris    redirect_uris of the default client (default http://127.0.0.1/callback)
//   clients         extra client metadata objects, added to the default one
//   accessTokenTtl  access-token lifetime in seconds (default 300: short, yet longer
//                   than the vault's default refresh leeway of 120 s)
//
// The default client: client_id "vault-test", client_secret "vault-test-secret",
// client_secret_basic, grants authorization_code + refresh_token. Refresh tokens rotate
// on every use; reusing a rotated one revokes the whole grant (oidc-provider's default).
// devInteractions are on: any login name is accepted, consent is one form post.
//
// First line on stdout once listening: {"ready": true, "issuer": ..., "port": ...}.
// Then one JSON line per event: {"event": "token_request"|"grant.success"|"grant.error"|
// "grant.revoked"|"revocation", ...} (never a token value).
//
// Test-only routes, outside the provider:
//   GET  /_test/stats    counts: {"tokenRequests", "refreshRequests" (refresh-token grants
//                        processed, success or error), "byGrantType": {...} (successes),
//                        "errors": {...}, "revocations"}
//   POST /_test/control  {"tokenDelayMs": n, "tokenStatus": 503|null}: delay every token
//                        request by n ms (a request whose client went away meanwhile is
//                        then dropped unprocessed) and/or answer it with that status.
//                        {"rotate": false}: refresh tokens are not rotated (none comes
//                        back). {"omitExpiresIn": true}: token responses without
//                        expires_in. {"reset": true} clears counts and controls.
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const raw = process.argv[2] || process.env.OIDC_TEST_CONFIG || '{}';
const config = JSON.parse(raw);
const port = Number(config.port || 0);
const accessTokenTtl = Number(config.accessTokenTtl || 300);
const redirectUris = config.redirectUris || ['http://127.0.0.1/callback'];

const stats = {
  tokenRequests: 0, refreshRequests: 0, byGrantType: {}, errors: {}, revocations: 0,
};
const control = {
  tokenDelayMs: 0, tokenStatus: null, rotate: true, omitExpiresIn: false,
};

function emit(event, fields = {}) {
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
}

function resetAll() {
  stats.tokenRequests = 0;
  stats.refreshRequests = 0;
  stats.byGrantType = {};
  stats.errors = {};
  stats.revocations = 0;
  control.tokenDelayMs = 0;
  control.tokenStatus = null;
  control.rotate = true;
  control.omitExpiresIn = false;
}

async function start() {
  // Bind first, so the issuer names the real port.
  const server = createServer();
  await new Promise((resolve) => { server.listen(port, '127.0.0.1', resolve); });
  const actualPort = server.address().port;
  const issuer = `http://127.0.0.1:${actualPort}`;

  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'vault-test',
        client_secret: 'vault-test-secret',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: redirectUris,
      },
      ...(config.clients || []),
    ],
    features: {
      devInteractions: { enabled: true },
      revocation: { enabled: true },
    },
    scopes: ['openid', 'offline_access', 'profile', 'email'],
    pkce: { required: () => false },
    rotateRefreshToken: () => control.rotate,
    ttl: {
      AccessToken: accessTokenTtl,
      AuthorizationCode: 60,
      RefreshToken: 24 * 60 * 60,
      Grant: 24 * 60 * 60,
      Interaction: 600,
      Session: 600,
    },
    issueRefreshToken: async (ctx, client, code) => client.grantTypeAllowed('refresh_token'),
  });

  provider.on('grant.success', (ctx) => {
    const grantType = ctx.oidc.params.grant_type;
    stats.byGrantType[grantType] = (stats.byGrantType[grantType] || 0) + 1;
    if (grantType === 'refresh_token') stats.refreshRequests += 1;
    emit('grant.success', { grantType, clientId: ctx.oidc.client?.clientId });
  });
  provider.on('grant.error', (ctx, error) => {
    stats.errors[error.error] = (stats.errors[error.error] || 0) + 1;
    if (ctx.oidc.params?.grant_type === 'refresh_token') stats.refreshRequests += 1;
    emit('grant.error', { error: error.error, grantType: ctx.oidc.params?.grant_type });
  });
  provider.on('grant.revoked', (ctx, grantId) => { emit('grant.revoked', {}); });

  // Before the provider's own routes: count and steer token requests.
  provider.use(async (ctx, next) => {
    if (ctx.path === '/_test/stats' && ctx.method === 'GET') {
      ctx.body = stats;
      return;
    }
    if (ctx.path === '/_test/control' && ctx.method === 'POST') {
      const chunks = [];
      for await (const chunk of ctx.req) chunks.push(chunk);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
      if (body.reset) resetAll();
      if ('tokenDelayMs' in body) control.tokenDelayMs = Number(body.tokenDelayMs) || 0;
      if ('tokenStatus' in body) control.tokenStatus = body.tokenStatus;
      if ('rotate' in body) control.rotate = Boolean(body.rotate);
      if ('omitExpiresIn' in body) control.omitExpiresIn = Boolean(body.omitExpiresIn);
      ctx.body = { control, stats };
      return;
    }
    if (ctx.path === '/token' && ctx.method === 'POST') {
      stats.tokenRequests += 1;
      emit('token_request', { n: stats.tokenRequests });
      if (control.tokenDelayMs > 0) {
        let clientLeft = false;
        ctx.res.once('close', () => { clientLeft = true; });
        await new Promise((resolve) => { setTimeout(resolve, control.tokenDelayMs); });
        if (clientLeft || ctx.req.socket.destroyed) {
          emit('token_request_dropped', {});
          return;
        }
      }
      if (control.tokenStatus) {
        ctx.status = control.tokenStatus;
        ctx.body = { error: 'temporarily_unavailable' };
        return;
      }
      await next();
      if (control.omitExpiresIn && ctx.body && typeof ctx.body === 'object') {
        delete ctx.body.expires_in;
      }
      return;
    }
    if (ctx.path === '/token/revocation' && ctx.method === 'POST') {
      await next();
      if (ctx.status === 200) {
        stats.revocations += 1;
        emit('revocation', {});
      }
      return;
    }
    await next();
  });

  server.on('request', provider.callback());
  emit('ready', { ready: true, issuer, port: actualPort });
}

process.on('SIGTERM', () => process.exit(0));
start().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
