-- wrk script: the conversion path. Tollgate gets an OpenAI chat completion for a model served by
-- the claude plugin (converted to Anthropic Messages and back); direct and nginx get the
-- equivalent Anthropic body at /v1/messages (what the gateway sends upstream).
dofile((os.getenv("BENCH_DIR") or "bench") .. "/chat.lua")
if os.getenv("BENCH_TARGET") == "tollgate" then
  wrk.body = '{"model":"claude-bench","messages":[{"role":"system","content":"You are a helpful assistant."},'
    .. '{"role":"user","content":"Say hello in one short sentence."}],"temperature":0.2,"max_tokens":32}'
else
  wrk.headers["anthropic-version"] = "2023-06-01"
  wrk.body = '{"model":"claude-sonnet-4-5","system":"You are a helpful assistant.","messages":'
    .. '[{"role":"user","content":"Say hello in one short sentence."}],"temperature":0.2,"max_tokens":32}'
end
