-- POST /v1/vault/credentials, a distinct (developer, principal, service) triple per
-- request: every store inserts a new row. Each wrk thread runs its own Lua state, so
-- setup() numbers the threads and the principal is run tag + thread + counter.
-- args: API key, run tag.
local threads_seen = 0

function setup(thread)
  threads_seen = threads_seen + 1
  thread:set("thread_no", threads_seen)
end

function init(args)
  run_tag = args[2]
  counter = 0
  wrk.method = "POST"
  wrk.path = "/v1/vault/credentials"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"principalId":"user-%s-%d-%d","service":"github",' ..
    '"accessToken":"ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",' ..
    '"refreshToken":"ghr_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",' ..
    '"tokenExpiresAt":"2031-04-06T12:00:00.000Z",' ..
    '"metadata":{"scopes":["repo","read:org"]}}',
    run_tag, thread_no, counter)
  return wrk.format(nil, nil, nil, body)
end
