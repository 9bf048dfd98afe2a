-- wrk script: chat completions with a 1 MB request body (one user message of 1 MiB of text).
dofile((os.getenv("BENCH_DIR") or "bench") .. "/chat.lua")
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"' .. string.rep("lorem ipsum ", 87382)
  .. '"}],"max_tokens":32}'
