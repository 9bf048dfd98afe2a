"""Embeddings on Bedrock through InvokeModel: Amazon Titan Text Embeddings v2 and Cohere Embed. The
mock runtime is first shown faithful with boto3's `invoke_model` pointed straight at it; through the
gateway the `openai` SDK's `embeddings.create` reaches it converted and signed, metered from the
answer's token count (Titan) or Bedrock's token-count header (Cohere)."""

from __future__ import annotations

import json

import openai
import pytest
from openai import OpenAI

import mock_bedrock as mb
import mock_gemini as mg
from conftest import BEDROCK_CHANNEL, CLIENT_KEY
from test_bedrock_faithful import client as boto_client
from test_ledger import ledger_row

TITAN = "amazon.titan-embed-text-v2:0"
COHERE = "cohere.embed-english-v3"


def test_boto3_invokes_the_embedding_models_on_the_mock(mock_bedrock):
    brt = boto_client(mock_bedrock)
    titan = json.loads(brt.invoke_model(modelId=TITAN, body=json.dumps({"inputText": "hello world", "dimensions": 256}))["body"].read())
    assert titan["embedding"] == mg.embedding_values("hello world", 256) and titan["inputTextTokenCount"] == 2
    answer = brt.invoke_model(modelId=COHERE, body=json.dumps({"texts": ["a b", "c"], "input_type": "search_document"}))
    assert answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-bedrock-input-token-count"] == "3"
    assert json.loads(answer["body"].read())["embeddings"][1] == mg.embedding_values("c", mb.COHERE_DIMENSIONS)
    with pytest.raises(brt.exceptions.ValidationException):
        brt.invoke_model(modelId=TITAN, body=json.dumps({"inputText": "x", "dimensions": 7}))


@pytest.fixture
def oai(bedrock_gateway):
    client = OpenAI(base_url=bedrock_gateway.v1, api_key=CLIENT_KEY, max_retries=0)
    yield client
    client.close()


def test_titan_embeddings_through_the_gateway(oai, bedrock_gateway, mock_bedrock):
    raw = oai.embeddings.with_raw_response.create(model=TITAN, input="one two three", dimensions=256)
    answer = raw.parse()
    assert json.loads(mock_bedrock.only().body) == {"inputText": "one two three", "dimensions": 256}
    assert answer.data[0].embedding == mg.embedding_values("one two three", 256) and answer.usage.prompt_tokens == 3
    row = ledger_row(bedrock_gateway, raw.headers["x-request-id"])
    assert (row["channel"], row["route"], row["prompt_tokens"]) == (BEDROCK_CHANNEL, "embeddings", 3)
    with pytest.raises(openai.BadRequestError) as refused:
        oai.embeddings.create(model=TITAN, input=["a", "b"])
    assert "one text per request" in refused.value.message


def test_cohere_embeddings_through_the_gateway(oai, bedrock_gateway, mock_bedrock):
    raw = oai.embeddings.with_raw_response.create(model=COHERE, input=["first text", "second"])
    answer = raw.parse()
    assert json.loads(mock_bedrock.only().body) == {"texts": ["first text", "second"], "input_type": "search_document"}
    assert [d.embedding for d in answer.data] == [mg.embedding_values(t, mb.COHERE_DIMENSIONS) for t in ("first text", "second")]
    assert answer.usage.prompt_tokens == 3
    assert ledger_row(bedrock_gateway, raw.headers["x-request-id"])["prompt_tokens"] == 3
