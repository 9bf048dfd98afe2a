"""OpenAI's Responses API (`POST /v1/responses`) through the gateway, with the official `openai` SDK
and the OpenAI Agents SDK:

  - the mock OpenAI upstream's own /v1/responses is first shown faithful (the SDK pointed at it);
  - `openai` channels pass Responses requests through byte for byte, metered from their usage;
  - every other provider (builtin mock, claude, gemini, vertex, bedrock, the cohere template) is
    served through the internal representation: plain, streamed (OpenAI's full event sequence),
    with a function call and its output; the ledger row and the cost header are cross-checked
    against what the upstream reported, as for chat (test_ledger.py);
  - an Agents SDK agent with a tool runs to its final answer on an Anthropic and a Gemini upstream.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest
from openai import AsyncOpenAI, OpenAI

import mock_cohere as mc
import mock_openai_responses as mr
from conftest import (BEDROCK_CHANNEL, BEDROCK_INVOKE_CHANNEL, BEDROCK_INVOKE_MODEL, BEDROCK_MAPPED_MODEL, BEDROCK_MODEL_ID,
                      CHANNEL_KEY, CLAUDE_CHANNEL, CLIENT_KEY, COHERE_CHANNEL, GEMINI_CHANNEL, MOCK_CHANNEL, OPENAI_CHANNEL,
                      VERTEX_CHANNEL, VERTEX_CLAUDE_MAPPED_MODEL, VERTEX_CLAUDE_UPSTREAM_MODEL, VERTEX_MAPPED_MODEL,
                      VERTEX_MAPPED_UPSTREAM_MODEL)
from test_ledger import (anthropic_reported, check_row, converse_reported, gemini_reported, ledger_row, tokens, upstream_json,
                         usage)

CLAUDE_MODEL = "claude-sonnet-4-5-20250929"
GEMINI_MODEL = "gemini-2.5-flash"
WEATHER_TOOL = {"type": "function", "name": "get_weather", "description": "Weather for a city", "strict": True,
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                               "additionalProperties": False}}
STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
TEXT_EVENTS = ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
               "response.output_text.delta", "response.output_text.done", "response.content_part.done",
               "response.output_item.done", "response.completed"]
CALL_EVENTS = ["response.created", "response.in_progress", "response.output_item.added",
               "response.function_call_arguments.delta", "response.function_call_arguments.done",
               "response.output_item.done", "response.completed"]


def collapsed(names: list[str]) -> list[str]:
    """Event types with repeated deltas collapsed to one."""
    return [n for i, n in enumerate(names) if i == 0 or n != names[i - 1] or not n.endswith(".delta")]


def client(gw) -> OpenAI:
    return OpenAI(base_url=gw.v1, api_key=CLIENT_KEY, max_retries=0)


def stream_events(openai_client: OpenAI, **request) -> list:
    with openai_client.responses.create(stream=True, **request) as events:
        return list(events)


def check_stream(events: list, expected_types: list[str]):
    """OpenAI's event sequence, numbered from 0; returns the final Response."""
    assert collapsed([e.type for e in events]) == expected_types, [e.type for e in events]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    return events[-1].response


def responses_call(gw, body: dict) -> httpx.Response:
    with httpx.Client(base_url=gw.url, timeout=30) as http:
        return http.post("/v1/responses", json=body, headers={"Authorization": f"Bearer {CLIENT_KEY}"})


# --- the mock's own Responses API, SDK pointed straight at it ---------------------------------------

@pytest.fixture
def direct(mock_upstream):
    c = OpenAI(base_url=mock_upstream.base_url, api_key=CHANNEL_KEY, max_retries=0)
    yield c
    c.close()


def test_openai_sdk_creates_a_response_on_the_mock(direct):
    response = direct.responses.create(model="gpt-4o", input="hello mock", instructions="Be brief.")
    assert response.output_text == "Mock reply to: hello mock"
    assert response.status == "completed" and response.object == "response"
    assert response.usage.input_tokens_details.cached_tokens == mr.CACHED_TOKENS
    assert response.usage.output_tokens_details.reasoning_tokens == mr.REASONING_TOKENS


def test_openai_sdk_streams_a_response_from_the_mock(direct):
    final = check_stream(stream_events(direct, model="gpt-4o", input="stream mock"), TEXT_EVENTS)
    assert final.output_text == "Mock reply to: stream mock" and final.usage.total_tokens > 0


def test_openai_sdk_function_call_round_trip_on_the_mock(direct):
    first = direct.responses.create(model="gpt-4o", input="weather in Paris?", tools=[WEATHER_TOOL])
    call = first.output[0]
    assert (call.type, call.name, json.loads(call.arguments)) == ("function_call", "get_weather", {"city": "Paris"})
    second = direct.responses.create(model="gpt-4o", tools=[WEATHER_TOOL], input=[
        {"role": "user", "content": "weather in Paris?"}, call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}])
    assert second.output_text == "Tool said: sunny"
    check_stream(stream_events(direct, model="gpt-4o", input="weather?", tools=[WEATHER_TOOL]), CALL_EVENTS)


def test_the_mock_refuses_what_openai_refuses(direct):
    with pytest.raises(Exception) as refused:
        direct.responses.create(model="gpt-4o", input=[{"type": "mystery"}])
    assert getattr(refused.value, "status_code", None) == 400


# --- openai channels: passthrough ------------------------------------------------------------

def test_openai_channel_passes_a_response_through_byte_for_byte(gateway, mock_upstream):
    body = {"model": "gpt-4o", "input": "passthrough please", "metadata": {"t": "1"}}
    raw = json.dumps(body, indent=2).encode()
    with httpx.Client(base_url=gateway.url, timeout=30) as http:
        response = http.post("/v1/responses", content=raw, headers={"Authorization": f"Bearer {CLIENT_KEY}",
                                                                    "content-type": "application/json"})
    assert response.status_code == 200, response.text
    sent = mock_upstream.only("/v1/responses")
    assert sent.body == raw, "the request reached the upstream unchanged"
    assert response.content == sent.response_body, "the answer reached the client unchanged"
    reported = mr.usage(json.loads(raw), len(mr.reply_text(json.loads(raw)).split()))
    row = check_row(gateway, response, reported=usage(reported["input_tokens"], reported["output_tokens"], mr.CACHED_TOKENS, 0,
                                                      mr.REASONING_TOKENS),
                    model="gpt-4o", channel=OPENAI_CHANNEL, provider="openai", upstream_model="gpt-4o", dialect="responses",
                    stream=False)
    assert row["route"] == "responses"


def test_openai_channel_streams_a_response_through_and_meters_it(gateway, mock_upstream):
    oai = client(gateway)
    with oai.responses.with_streaming_response.create(model="gpt-4o", input="stream through", stream=True) as raw:
        request_id = raw.headers["x-request-id"]
        events = list(raw.parse())
    final = check_stream(events, TEXT_EVENTS)
    assert final.output_text == "Mock reply to: stream through"
    sent = mock_upstream.only("/v1/responses")
    request = json.loads(sent.body)
    assert "stream_options" not in request, "nothing is added to a Responses request"
    reported = mr.usage(request, len(mr.reply_text(request).split()))
    row = ledger_row(gateway, request_id)
    assert tokens(row) == usage(reported["input_tokens"], reported["output_tokens"], mr.CACHED_TOKENS, 0, mr.REASONING_TOKENS)
    assert row["dialect"] == "responses" and row["cost_nano"] > 0


def test_openai_sdk_function_call_and_output_through_an_openai_channel(gateway):
    oai = client(gateway)
    first = oai.responses.create(model="gpt-4o", input="weather in Paris?", tools=[WEATHER_TOOL])
    call = first.output[0]
    assert call.type == "function_call" and json.loads(call.arguments) == {"city": "Paris"}
    second = oai.responses.create(model="gpt-4o", tools=[WEATHER_TOOL], input=[
        {"role": "user", "content": "weather in Paris?"}, call.model_dump(exclude_none=True),
        {"type": "function_call_output", "call_id": call.call_id, "output": "cloudy"}])
    assert second.output_text == "Tool said: cloudy"


# --- converted providers -----------------------------------------------------------------------

@STREAMS
def test_builtin_mock_serves_responses(gateway, stream):
    oai = client(gateway)
    if stream:
        final = check_stream(stream_events(oai, model="mock-echo", input="hello mock echo"), TEXT_EVENTS)
    else:
        raw = oai.responses.with_raw_response.create(model="mock-echo", input="hello mock echo", metadata={"k": "v"})
        final = raw.parse()
        assert final.metadata == {"k": "v"}
        check_row(gateway, raw, reported=usage(3, 4), model="mock-echo", channel=MOCK_CHANNEL, provider="mock",
                  upstream_model="mock-echo", dialect="responses", stream=False)
    assert final.output_text == "echo: hello mock echo"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (3, 4)


def converted_cases():
    # (gateway fixture, mock fixture, model, channel, provider, upstream model, reported-by)
    return [
        pytest.param("dialect_gateway", "mock_anthropic", CLAUDE_MODEL, CLAUDE_CHANNEL, "claude", CLAUDE_MODEL,
                     lambda m: anthropic_reported(upstream_json(m)), id="claude"),
        pytest.param("dialect_gateway", "mock_gemini", GEMINI_MODEL, GEMINI_CHANNEL, "gemini", GEMINI_MODEL,
                     lambda m: gemini_reported(upstream_json(m)), id="gemini"),
        pytest.param("vertex_gateway", "mock_vertex", VERTEX_MAPPED_MODEL, VERTEX_CHANNEL, "vertex", VERTEX_MAPPED_UPSTREAM_MODEL,
                     lambda m: gemini_reported(upstream_json(m, skip_token=True)), id="vertex-gemini"),
        pytest.param("vertex_gateway", "mock_vertex", VERTEX_CLAUDE_MAPPED_MODEL, VERTEX_CHANNEL, "vertex",
                     VERTEX_CLAUDE_UPSTREAM_MODEL, lambda m: anthropic_reported(upstream_json(m, skip_token=True)),
                     id="vertex-claude"),
        pytest.param("bedrock_gateway", "mock_bedrock", BEDROCK_MAPPED_MODEL, BEDROCK_CHANNEL, "bedrock", BEDROCK_MODEL_ID,
                     lambda m: converse_reported(upstream_json(m)), id="bedrock-converse"),
        pytest.param("bedrock_gateway", "mock_bedrock", BEDROCK_INVOKE_MODEL, BEDROCK_INVOKE_CHANNEL, "bedrock",
                     BEDROCK_MODEL_ID, lambda m: anthropic_reported(upstream_json(m)), id="bedrock-invoke"),
        pytest.param("template_gateway", "mock_cohere", "command-a-03-2025", COHERE_CHANNEL, "cohere", "command-a-03-2025",
                     lambda m: _cohere_reported(upstream_json(m)), id="cohere-template"),
    ]


def _cohere_reported(request: dict) -> dict:
    u = mc.usage(request)["billed_units"]
    return usage(u["input_tokens"], u["output_tokens"])


@STREAMS
@pytest.mark.parametrize("gw_name,mock_name,model,channel,provider,upstream_model,reported_by", converted_cases())
def test_every_provider_serves_responses_metered_and_billed(request, gw_name, mock_name, model, channel, provider,
                                                            upstream_model, reported_by, stream):
    gw, mock = request.getfixturevalue(gw_name), request.getfixturevalue(mock_name)
    mock.clear()  # looked up here, so the autouse fixture did not clear it
    body = {"model": model, "input": f"responses check {uuid.uuid4().hex[:8]}", "instructions": "Be brief.",
            "max_output_tokens": 200, "stream": stream}
    response = responses_call(gw, body)
    assert response.status_code == 200, response.text
    if stream:
        names = [line[7:] for line in response.text.split("\n") if line.startswith("event: ")]
        assert collapsed(names) == TEXT_EVENTS, names
        final = json.loads([line[6:] for line in response.text.split("\n") if line.startswith("data: ")][-1])["response"]
    else:
        final = response.json()
    assert final["status"] == "completed" and final["object"] == "response"
    assert final["output"][0]["content"][0]["text"]
    reported = reported_by(mock)
    assert final["usage"]["input_tokens"] == reported["prompt_tokens"]
    assert final["usage"]["output_tokens"] == reported["completion_tokens"]
    assert final["usage"]["input_tokens_details"]["cached_tokens"] == reported["cache_read_tokens"]
    assert final["usage"]["output_tokens_details"]["reasoning_tokens"] == reported["reasoning_tokens"]
    check_row(gw, response, reported=reported, model=model, channel=channel, provider=provider, upstream_model=upstream_model,
              dialect="responses", stream=stream)
    assert not mock.failures and gw.alive(), mock.failures


@pytest.mark.parametrize("model", [CLAUDE_MODEL, GEMINI_MODEL])
@STREAMS
def test_openai_sdk_function_call_and_output_converted(dialect_gateway, model, stream):
    oai = client(dialect_gateway)
    ask = [{"role": "user", "content": "weather in Paris?"}]
    if stream:
        first = check_stream(stream_events(oai, model=model, input=ask, tools=[WEATHER_TOOL], tool_choice="auto"), CALL_EVENTS)
    else:
        first = oai.responses.create(model=model, input=ask, tools=[WEATHER_TOOL], tool_choice="auto")
    call = [item for item in first.output if item.type == "function_call"][0]
    assert call.name == "get_weather" and json.loads(call.arguments) == {"city": "Paris"}
    follow = ask + [call.model_dump(exclude_none=True),
                    {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}]
    second = oai.responses.create(model=model, input=follow, tools=[WEATHER_TOOL])
    assert second.output_text.startswith("Tool said:") and "sunny" in second.output_text


def test_bad_responses_requests_get_openai_errors_naming_the_field(dialect_gateway):
    for body, field in [({"model": CLAUDE_MODEL, "input": [{"type": "mystery"}]}, "input[0]"),
                        ({"model": CLAUDE_MODEL, "input": "x", "tools": [{"type": "web_search_preview"}]}, "tools[0].type"),
                        ({"model": CLAUDE_MODEL, "input": "x", "max_output_tokens": "lots"}, "max_output_tokens")]:
        response = responses_call(dialect_gateway, body)
        assert response.status_code == 400, response.text
        assert field in response.json()["error"]["message"], response.text
    missing = responses_call(dialect_gateway, {"model": "no-such-model", "input": "x"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "model_not_found"


def test_an_upstream_error_mid_stream_fails_the_response(dialect_gateway):
    response = responses_call(dialect_gateway, {"model": "claude-stream-error", "input": "x", "stream": True})
    names = [line[7:] for line in response.text.split("\n") if line.startswith("event: ")]
    assert names[:2] == ["response.created", "response.in_progress"] and names[-1] == "response.failed", names
    assert names.count("response.failed") == 1


# --- the OpenAI Agents SDK ---------------------------------------------------------------------

@pytest.mark.parametrize("model", [CLAUDE_MODEL, GEMINI_MODEL], ids=["anthropic", "gemini"])
@pytest.mark.parametrize("streamed", [False, True], ids=["run", "run_streamed"])
def test_agents_sdk_runs_a_tool_using_agent(dialect_gateway, model, streamed):
    from agents import Agent, OpenAIResponsesModel, Runner, function_tool, set_tracing_disabled

    set_tracing_disabled(True)  # no traces to api.openai.com
    asked: list[str] = []

    @function_tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        asked.append(city)
        return f"sunny in {city}"

    async def run():
        async with AsyncOpenAI(base_url=dialect_gateway.v1, api_key=CLIENT_KEY, max_retries=0) as oai:
            agent = Agent(name="weather", instructions="Answer with the weather.", tools=[get_weather],
                          model=OpenAIResponsesModel(model=model, openai_client=oai))
            if not streamed:
                return await Runner.run(agent, "What is the weather in Paris?")
            result = Runner.run_streamed(agent, "What is the weather in Paris?")
            async for _ in result.stream_events():
                pass
            return result

    result = asyncio.run(run())
    assert asked == ["Paris"], "the agent called its tool with the model's arguments"
    assert result.final_output.startswith("Tool said:") and "sunny in Paris" in result.final_output
    assert len(result.raw_responses) == 2
    assert all(r.usage.input_tokens > 0 and r.usage.output_tokens > 0 for r in result.raw_responses)


# --- stored responses: previous_response_id, retrieve, delete --------------------------------------

def test_openai_sdk_continues_a_converted_conversation_with_previous_response_id(dialect_gateway, mock_anthropic):
    oai = client(dialect_gateway)
    first = oai.responses.create(model=CLAUDE_MODEL, input="my name is Ada", instructions="Be brief.")
    second = oai.responses.create(model=CLAUDE_MODEL, input="what is my name?", previous_response_id=first.id)
    assert second.previous_response_id == first.id
    assert second.output_text == "Mock reply to: what is my name?"
    sent = json.loads(mock_anthropic.requests[-1].body)
    assert [(m["role"], ma_text(m["content"])) for m in sent["messages"]] == [
        ("user", "my name is Ada"), ("assistant", first.output_text), ("user", "what is my name?")]
    assert "system" not in sent, "instructions are not carried over, as OpenAI does"
    assert oai.responses.retrieve(first.id).output_text == first.output_text
    with pytest.raises(Exception) as missing:
        oai.responses.create(model=CLAUDE_MODEL, input="x", previous_response_id="resp_nobody_made_this")
    assert getattr(missing.value, "status_code", None) == 404


def ma_text(content) -> str:
    return content if isinstance(content, str) else "".join(block.get("text", "") for block in content)


def test_stored_responses_stay_with_the_key_that_made_them(gateway):
    from conftest import RESTRICTED_KEY
    oai = client(gateway)
    made = oai.responses.create(model="mock-echo", input="keep this")
    assert oai.responses.retrieve(made.id).id == made.id
    other = OpenAI(base_url=gateway.v1, api_key=RESTRICTED_KEY, max_retries=0)
    for attempt in (lambda: other.responses.retrieve(made.id), lambda: other.responses.delete(made.id),
                    lambda: other.responses.create(model="mock-echo", input="x", previous_response_id=made.id)):
        with pytest.raises(Exception) as refused:
            attempt()
        assert getattr(refused.value, "status_code", None) == 404
    oai.responses.delete(made.id)
    with pytest.raises(Exception) as gone:
        oai.responses.retrieve(made.id)
    assert getattr(gone.value, "status_code", None) == 404
    unstored = oai.responses.create(model="mock-echo", input="forget this", store=False)
    with pytest.raises(Exception):
        oai.responses.retrieve(unstored.id)
