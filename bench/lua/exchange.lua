-- POST /v1/vault/credentials/exchange with one grant token for a stored credential:
-- verify the RS256 token, one read, one key unwrap, one audit write.
-- args: grant token.
function init(args)
  wrk.method = "POST"
  wrk.path = "/v1/vault/credentials/exchange"
  wrk.headers["Authorization"] = "Bearer " .. args[1]
  wrk.headers["Content-Type"] = "application/json"
  wrk.body = '{"service":"github"}'
end
