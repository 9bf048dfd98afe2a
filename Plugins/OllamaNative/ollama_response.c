/*
 * ollama_response.c — complete (non-streamed) Ollama answers to the OpenAI dialect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ollama_internal.h"

#define SET(obj, key, val) (ok &= (json_object_set_new((obj), (key), (val)) == 0))

/* Longest piece of a non-JSON upstream error body quoted in the message. */
#define ERROR_QUOTE_MAX 1024

static tollgate_status out_of_memory(tollgate_type_buffer *error) {
  return oln_fail(error, TOLLGATE_ERR_INTERNAL, "out of memory while converting the response");
}

/* Writes a converted answer (consuming doc) and the token counts the upstream reported. */
static tollgate_status write_answer(json_t *doc, bool ok, tollgate_type_response_out *out,
                                    bool has_prompt, int64_t prompt, bool has_completion,
                                    int64_t completion, tollgate_type_buffer *error) {
  if (ok) ok = oln_dump_to_buffer(doc, &out->body);
  json_decref(doc);
  if (!ok) return out_of_memory(error);
  if (has_prompt) {
    out->usage.prompt_tokens = prompt;
    out->usage.fields |= TOLLGATE_USAGE_PROMPT;
  }
  if (has_completion) {
    out->usage.completion_tokens = completion;
    out->usage.fields |= TOLLGATE_USAGE_COMPLETION;
  }
  return TOLLGATE_OK;
}

const char *oln_error_message(const json_t *root) {
  json_t *e = json_is_object(root) ? json_object_get(root, "error") : NULL;
  if (json_is_string(e)) return json_string_value(e);
  if (json_is_object(e)) {
    json_t *m = json_object_get(e, "message");
    if (json_is_string(m)) return json_string_value(m);
  }
  return NULL;
}

void oln_id_and_created(const json_t *root, const void *raw, size_t raw_len, char *id,
                        size_t id_size, int64_t *created) {
  json_t *at = json_is_object(root) ? json_object_get(root, "created_at") : NULL;
  *created = 0;
  if (json_is_string(at)) {
    const char *s = json_string_value(at);
    size_t len = json_string_length(at);
    int64_t t;
    if (oln_parse_rfc3339(s, len, &t)) *created = t;
    oln_make_id(s, len, id, id_size);
  } else {
    oln_make_id(raw, raw_len, id, id_size);
  }
}

bool oln_convert_tool_calls(const json_t *tool_calls, size_t *counter, bool streaming,
                            json_t **out) {
  *out = NULL;
  size_t n = json_is_array(tool_calls) ? json_array_size(tool_calls) : 0;
  if (n == 0) return true;
  json_t *result = json_array();
  if (!result) return false;
  bool ok = true;
  for (size_t j = 0; j < n && ok; j++) {
    json_t *tc = json_array_get(tool_calls, j);
    json_t *fn = json_is_object(tc) ? json_object_get(tc, "function") : NULL;
    if (!json_is_object(fn)) continue;

    json_t *name = json_object_get(fn, "name");
    json_t *args = json_object_get(fn, "arguments");
    json_t *args_text;
    if (json_is_string(args)) {
      args_text = json_incref(args);
    } else if (!args || json_is_null(args)) {
      args_text = json_string("{}");
    } else {
      char *text = oln_dump_string(args);
      args_text = text ? json_string(text) : NULL;
      free(text);
    }
    json_t *id_value = json_object_get(tc, "id");
    json_t *id;
    if (json_is_string(id_value) && json_string_length(id_value) > 0) {
      id = json_incref(id_value);
    } else {
      char buf[48];
      snprintf(buf, sizeof buf, "call_%zu", *counter);
      id = json_string(buf);
    }

    json_t *function = json_object();
    json_t *entry = json_object();
    if (!function || !entry) {
      json_decref(function);
      json_decref(entry);
      json_decref(args_text);
      json_decref(id);
      ok = false;
      break;
    }
    SET(function, "name", json_is_string(name) ? json_incref(name) : json_string(""));
    SET(function, "arguments", args_text);
    if (streaming) SET(entry, "index", json_integer((json_int_t)*counter));
    SET(entry, "id", id);
    SET(entry, "type", json_string("function"));
    SET(entry, "function", function);
    if (json_array_append_new(result, entry) != 0) ok = false;
    (*counter)++;
  }
  if (!ok) {
    json_decref(result);
    return false;
  }
  if (json_array_size(result) == 0) {
    json_decref(result);
    return true;
  }
  *out = result;
  return true;
}

/* The model to echo: what the client asked for, else what upstream says. */
static json_t *echo_model(const tollgate_type_response_in *response, const json_t *root) {
  if (response->model.ptr && response->model.len > 0)
    return oln_json_string_lossy(response->model.ptr, response->model.len);
  json_t *m = json_object_get(root, "model");
  if (json_is_string(m)) return json_stringn(json_string_value(m), json_string_length(m));
  return json_string("");
}

/* Reads a non-negative token count. */
static bool token_count(const json_t *root, const char *key, int64_t *out) {
  json_t *v = json_object_get(root, key);
  if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
  *out = (int64_t)json_integer_value(v);
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Errors (non-2xx)
 * ------------------------------------------------------------------------------------------- */

static tollgate_status convert_error(const tollgate_type_response_in *response,
                                     tollgate_type_response_out *out, tollgate_type_buffer *error) {
  json_t *root = NULL;
  json_t *message = NULL;
  if (response->body.ptr && response->body.len > 0)
    root = json_loadb((const char *)response->body.ptr, response->body.len, OLN_LOAD_FLAGS, NULL);
  const char *m = oln_error_message(root);
  if (m) {
    message = json_string(m);
  } else {
    size_t len = response->body.ptr ? response->body.len : 0;
    const uint8_t *p = response->body.ptr;
    while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == ' ' ||
                       p[len - 1] == '\t'))
      len--;
    bool cut = len > ERROR_QUOTE_MAX;
    if (cut) len = ERROR_QUOTE_MAX;
    char head[64];
    snprintf(head, sizeof head, "upstream returned HTTP %d", (int)response->status);
    oln_sb sb = {0};
    oln_sb_append_str(&sb, head);
    if (len > 0) {
      size_t clean_len = 0;
      char *clean = oln_utf8_sanitize(p, len, &clean_len);
      oln_sb_append(&sb, ": ", 2);
      if (clean) oln_sb_append(&sb, clean, clean_len);
      else sb.oom = true;
      free(clean);
      if (cut) oln_sb_append_str(&sb, "...");
    }
    message = sb.oom ? NULL : json_stringn(sb.ptr, sb.len);
    oln_sb_free(&sb);
  }
  json_decref(root);

  bool ok = message != NULL;
  json_t *doc = json_object();
  json_t *err = json_object();
  if (!doc || !err) ok = false;
  if (ok) {
    SET(err, "message", message);
    SET(err, "type", json_string("upstream_error"));
    SET(err, "code", json_null());
    SET(doc, "error", err);
    err = NULL;
    message = NULL;
  }
  if (ok) ok = oln_dump_to_buffer(doc, &out->body);
  json_decref(message);
  json_decref(err);
  json_decref(doc);
  return ok ? TOLLGATE_OK : out_of_memory(error);
}

/* ---------------------------------------------------------------------------------------------
 * Chat and embeddings (2xx)
 * ------------------------------------------------------------------------------------------- */

static tollgate_status convert_chat(const tollgate_type_response_in *response, const json_t *root,
                                    tollgate_type_response_out *out, tollgate_type_buffer *error) {
  json_t *message = json_object_get(root, "message");
  if (!json_is_object(message))
    return oln_fail(error, TOLLGATE_ERR_UPSTREAM, "upstream chat response has no message object");

  char id[64];
  int64_t created;
  oln_id_and_created(root, response->body.ptr, response->body.len, id, sizeof id, &created);

  size_t counter = 0;
  json_t *tool_calls = NULL;
  if (!oln_convert_tool_calls(json_object_get(message, "tool_calls"), &counter, false,
                              &tool_calls))
    return out_of_memory(error);

  json_t *content = json_object_get(message, "content");
  json_t *thinking = json_object_get(message, "thinking");
  json_t *done_reason = json_object_get(root, "done_reason");
  const char *finish = "stop";
  if (tool_calls)
    finish = "tool_calls";
  else if (json_is_string(done_reason) && strcmp(json_string_value(done_reason), "length") == 0)
    finish = "length";

  int64_t prompt = 0, completion = 0;
  bool has_prompt = token_count(root, "prompt_eval_count", &prompt);
  bool has_completion = token_count(root, "eval_count", &completion);

  bool ok = true;
  json_t *doc = json_object();
  json_t *choice = json_object();
  json_t *msg = json_object();
  json_t *choices = json_array();
  json_t *usage = json_object();
  if (!doc || !choice || !msg || !choices || !usage) {
    json_decref(doc);
    json_decref(choice);
    json_decref(msg);
    json_decref(choices);
    json_decref(usage);
    json_decref(tool_calls);
    return out_of_memory(error);
  }
  SET(msg, "role", json_string("assistant"));
  if (json_is_string(content) && (json_string_length(content) > 0 || !tool_calls))
    SET(msg, "content", json_incref(content));
  else
    SET(msg, "content", tool_calls ? json_null() : json_string(""));
  if (json_is_string(thinking) && json_string_length(thinking) > 0)
    SET(msg, "reasoning_content", json_incref(thinking));
  if (tool_calls) SET(msg, "tool_calls", tool_calls);

  SET(choice, "index", json_integer(0));
  SET(choice, "message", msg);
  SET(choice, "logprobs", json_null());
  SET(choice, "finish_reason", json_string(finish));
  if (json_array_append_new(choices, choice) != 0) ok = false;

  SET(usage, "prompt_tokens", json_integer(prompt));
  SET(usage, "completion_tokens", json_integer(completion));
  SET(usage, "total_tokens", json_integer(prompt + completion));

  SET(doc, "id", json_string(id));
  SET(doc, "object", json_string("chat.completion"));
  SET(doc, "created", json_integer(created));
  SET(doc, "model", echo_model(response, root));
  SET(doc, "choices", choices);
  SET(doc, "usage", usage);
  return write_answer(doc, ok, out, has_prompt, prompt, has_completion, completion, error);
}

static tollgate_status convert_embeddings(const tollgate_type_response_in *response,
                                          const json_t *root, tollgate_type_response_out *out,
                                          tollgate_type_buffer *error) {
  json_t *embeddings = json_object_get(root, "embeddings");
  json_t *single = NULL; /* the legacy /api/embeddings answer: {"embedding":[...]} */
  if (!json_is_array(embeddings)) {
    single = json_object_get(root, "embedding");
    if (!json_is_array(single))
      return oln_fail(error, TOLLGATE_ERR_UPSTREAM,
                      "upstream embeddings response has no embeddings array");
  }
  size_t n = single ? 1 : json_array_size(embeddings);
  for (size_t i = 0; i < n; i++) {
    json_t *e = single ? single : json_array_get(embeddings, i);
    if (!json_is_array(e))
      return oln_fail(error, TOLLGATE_ERR_UPSTREAM,
                      "upstream embeddings[%zu] is not an array of numbers", i);
    size_t m = json_array_size(e);
    for (size_t k = 0; k < m; k++)
      if (!json_is_number(json_array_get(e, k)))
        return oln_fail(error, TOLLGATE_ERR_UPSTREAM,
                        "upstream embeddings[%zu] is not an array of numbers", i);
  }
  int64_t prompt = 0;
  bool has_prompt = token_count(root, "prompt_eval_count", &prompt);

  bool ok = true;
  json_t *doc = json_object();
  json_t *data = json_array();
  json_t *usage = json_object();
  if (!doc || !data || !usage) {
    json_decref(doc);
    json_decref(data);
    json_decref(usage);
    return out_of_memory(error);
  }
  for (size_t i = 0; i < n && ok; i++) {
    json_t *item = json_object();
    if (!item) {
      ok = false;
      break;
    }
    SET(item, "object", json_string("embedding"));
    SET(item, "index", json_integer((json_int_t)i));
    SET(item, "embedding", json_incref(single ? single : json_array_get(embeddings, i)));
    if (json_array_append_new(data, item) != 0) ok = false;
  }
  SET(usage, "prompt_tokens", json_integer(prompt));
  SET(usage, "total_tokens", json_integer(prompt));
  SET(doc, "object", json_string("list"));
  SET(doc, "data", data);
  SET(doc, "model", echo_model(response, root));
  SET(doc, "usage", usage);
  return write_answer(doc, ok, out, has_prompt, prompt, false, 0, error);
}

tollgate_status oln_convert_response(const tollgate_type_response_in *response,
                                     tollgate_type_response_out *out,
                                     tollgate_type_buffer *error) {
  out->status = response->status;
  if (response->status < 200 || response->status > 299) return convert_error(response, out, error);

  if (!response->body.ptr || response->body.len == 0)
    return oln_fail(error, TOLLGATE_ERR_UPSTREAM, "upstream returned an empty body (HTTP %d)",
                    (int)response->status);
  json_error_t jerr;
  json_t *root = json_loadb((const char *)response->body.ptr, response->body.len, OLN_LOAD_FLAGS,
                            &jerr);
  if (!root)
    return oln_fail(error, TOLLGATE_ERR_UPSTREAM, "upstream returned invalid JSON: %s (line %d)",
                    jerr.text, jerr.line);
  tollgate_status st;
  const char *upstream_error = oln_error_message(root);
  if (!json_is_object(root)) {
    st = oln_fail(error, TOLLGATE_ERR_UPSTREAM, "upstream returned JSON that is not an object");
  } else if (upstream_error) {
    st = oln_fail(error, TOLLGATE_ERR_UPSTREAM, "upstream error: %s", upstream_error);
  } else if (response->operation == TOLLGATE_OPERATION_EMBEDDINGS) {
    st = convert_embeddings(response, root, out, error);
  } else if (response->operation == TOLLGATE_OPERATION_CHAT) {
    st = convert_chat(response, root, out, error);
  } else {
    st = oln_fail(error, TOLLGATE_ERR_UNSUPPORTED, "operation %d is not supported by ollama-native",
                  (int)response->operation);
  }
  json_decref(root);
  return st;
}
