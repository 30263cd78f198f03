-- POST /v1/vault/credentials, always the same triple: every store is an upsert of
-- one row (the worst case for write contention). args: API key, run tag.
function init(args)
  wrk.method = "POST"
  wrk.path = "/v1/vault/credentials"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"principalId":"user-same-' .. args[2] .. '","service":"github",' ..
    '"accessToken":"ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",' ..
    '"refreshToken":"ghr_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",' ..
    '"tokenExpiresAt":"2031-04-06T12:00:00.000Z",' ..
    '"metadata":{"scopes":["repo","read:org"]}}'
end
