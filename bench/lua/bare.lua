-- GET / on the bare function: it answers "ok".
wrk.method = "GET"
wrk.path = "/"
