// DPoP proofs (RFC 9449) made by an implementation independent of the vault: panva's
// `dpop` package, on node's WebCrypto. The Python tests drive it (tests/support/dpop_proofs.py).
//
// Input (argv[2], or stdin): a JSON list of requests; output: a JSON list of results.
//   {"key": "name", "alg": "ES256" | "RS256" | "Ed25519" | "ES384" | "RS256-1024"}
//       -> {"thumbprint", "jwk"}: makes a key pair, saved as <keyDir>/<name>.json
//   {"key": "name", "htm", "htu", "accessToken"?, "iatOffset"?, "jti"?,
//    "header"?: {...}, "claims"?: {...}, "sign"?: "key" | "HS256" | "none" | "tamper",
//    "privateJwk"?: true}
//       -> {"proof", "thumbprint", "jwk"}
// A plain request is panva's generateProof as is (Date.now and crypto.randomUUID are
// shifted for `iatOffset` and `jti`). Any of header/claims/sign/privateJwk decodes that
// proof, changes it, and signs it again with WebCrypto: the ways a proof can be wrong.
// ES384 and 1024-bit RSA keys are not in panva's package (it refuses RSA under 2048
// bits); their proofs are built here with WebCrypto alone.
import { readFileSync, writeFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { calculateThumbprint, generateKeyPair, generateProof } from 'dpop';

const ALGORITHMS = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
  ES384: { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' },
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  Ed25519: { name: 'Ed25519' },
  'RS256-1024': {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    modulusLength: 1024,
    publicExponent: new Uint8Array([1, 0, 1]),
  },
};
const WEBCRYPTO_ONLY = { ES384: 'ES384', 'RS256-1024': 'RS256' }; // key -> JWS alg
const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
const json64 = (value) => b64u(Buffer.from(JSON.stringify(value)));

async function makeKey(request, keyDir) {
  let pair;
  if (request.alg in WEBCRYPTO_ONLY) {
    pair = await crypto.subtle.generateKey(ALGORITHMS[request.alg], true, ['sign', 'verify']);
  } else {
    pair = await generateKeyPair(request.alg, { extractable: true });
  }
  const saved = {
    alg: request.alg,
    privateJwk: await crypto.subtle.exportKey('jwk', pair.privateKey),
    publicJwk: await crypto.subtle.exportKey('jwk', pair.publicKey),
  };
  writeFileSync(join(keyDir, `${request.key}.json`), JSON.stringify(saved), { mode: 0o600 });
  return { thumbprint: await calculateThumbprint(pair.publicKey), jwk: publicMembers(saved.publicJwk) };
}

function publicMembers({ kty, crv, e, n, x, y }) {
  return JSON.parse(JSON.stringify({ kty, crv, e, n, x, y }));
}

async function loadKey(name, keyDir) {
  const saved = JSON.parse(readFileSync(join(keyDir, `${name}.json`), 'utf8'));
  const algorithm = ALGORITHMS[saved.alg];
  return {
    saved,
    algorithm,
    privateKey: await crypto.subtle.importKey('jwk', saved.privateJwk, algorithm, true, ['sign']),
    publicKey: await crypto.subtle.importKey('jwk', saved.publicJwk, algorithm, true, ['verify']),
  };
}

async function signWith(key, input) {
  const { algorithm } = key;
  const params = algorithm.name === 'ECDSA' ? { name: 'ECDSA', hash: algorithm.hash } : algorithm;
  return new Uint8Array(await crypto.subtle.sign(params, key.privateKey, Buffer.from(input)));
}

async function withShiftedClock(iatOffset, jti, make) {
  const realNow = Date.now;
  const realUuid = crypto.randomUUID;
  if (iatOffset) Date.now = () => realNow() + iatOffset * 1000;
  if (jti !== undefined) crypto.randomUUID = () => jti;
  try {
    return await make();
  } finally {
    Date.now = realNow;
    crypto.randomUUID = realUuid;
  }
}

async function makeProof(request, keyDir) {
  const key = await loadKey(request.key, keyDir);
  const thumbprint = await calculateThumbprint(key.publicKey);
  const jwk = publicMembers(key.saved.publicJwk);
  let header;
  let claims;
  let proof;
  if (key.saved.alg in WEBCRYPTO_ONLY) {
    header = { alg: WEBCRYPTO_ONLY[key.saved.alg], typ: 'dpop+jwt', jwk };
    const ath = request.accessToken
      ? b64u(await crypto.subtle.digest('SHA-256', Buffer.from(request.accessToken)))
      : undefined;
    claims = JSON.parse(JSON.stringify({
      iat: Math.floor(Date.now() / 1000) + (request.iatOffset || 0),
      jti: request.jti ?? crypto.randomUUID(),
      htm: request.htm,
      htu: request.htu,
      ath,
    }));
  } else {
    proof = await withShiftedClock(request.iatOffset, request.jti, () =>
      generateProof(key, request.htu, request.htm, undefined, request.accessToken),
    );
    const [encodedHeader, encodedClaims] = proof.split('.');
    header = JSON.parse(Buffer.from(encodedHeader, 'base64url'));
    claims = JSON.parse(Buffer.from(encodedClaims, 'base64url'));
  }
  const changed = request.header || request.claims || request.sign || request.privateJwk;
  if (proof === undefined || changed) {
    if (request.privateJwk) {
      const { key_ops: _ops, ext: _ext, ...privateJwk } = key.saved.privateJwk;
      header.jwk = privateJwk;
    }
    header = dropNulls({ ...header, ...request.header });
    claims = dropNulls({ ...claims, ...request.claims });
    const input = `${json64(header)}.${json64(claims)}`;
    let signature;
    switch (request.sign || 'key') {
      case 'none':
        signature = new Uint8Array();
        break;
      case 'HS256':
        // an HMAC keyed with the public key's bytes: the classic algorithm confusion
        signature = createHmac('sha256', JSON.stringify(jwk)).update(input).digest();
        break;
      case 'tamper':
        signature = await signWith(key, input);
        claims = { ...claims, htu: `${claims.htu}x` };
        proof = `${json64(header)}.${json64(claims)}.${b64u(signature)}`;
        return { proof, thumbprint, jwk };
      default:
        signature = await signWith(key, input);
    }
    proof = `${input}.${b64u(signature)}`;
  }
  return { proof, thumbprint, jwk };
}

function dropNulls(object) {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== null));
}

async function main() {
  const raw = process.argv[2] ?? readFileSync(0, 'utf8');
  const { keyDir, requests } = JSON.parse(raw);
  const results = [];
  for (const request of requests) {
    results.push(request.htm === undefined ? await makeKey(request, keyDir) : await makeProof(request, keyDir));
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
