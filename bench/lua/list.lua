-- GET /v1/vault/credentials?limit=10: one page of the developer's credentials,
-- newest first (one indexed query). args: API key, page size.
function init(args)
  wrk.method = "GET"
  wrk.path = "/v1/vault/credentials?limit=" .. args[2]
  wrk.headers["Authorization"] = "Bearer " .. args[1]
end
