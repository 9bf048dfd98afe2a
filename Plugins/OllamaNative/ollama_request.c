/*
 * ollama_request.c — OpenAI Chat Completions / Embeddings request bodies to Ollama's native
 * /api/chat and /api/embed bodies.
 */
#include <stdlib.h>
#include <string.h>

#include "ollama_internal.h"

/* Sets key on obj, stealing val; records any failure (including a NULL val) in ok. */
#define SET(obj, key, val) (ok &= (json_object_set_new((obj), (key), (val)) == 0))

static tollgate_status out_of_memory(tollgate_type_buffer *error) {
  return oln_fail(error, TOLLGATE_ERR_INTERNAL, "out of memory while building the request");
}

/* Parses the client's body, which must be a JSON object. */
static tollgate_status load_body(const tollgate_type_request_in *request, json_t **out,
                                 tollgate_type_buffer *error) {
  if (!request->body.ptr || request->body.len == 0)
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "request body is empty");
  json_error_t jerr;
  json_t *root = json_loadb((const char *)request->body.ptr, request->body.len, OLN_LOAD_FLAGS,
                            &jerr);
  if (!root)
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                    "request body is not valid JSON: %s (line %d, column %d)", jerr.text,
                    jerr.line, jerr.column);
  if (!json_is_object(root)) {
    json_decref(root);
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "request body must be a JSON object");
  }
  *out = root;
  return TOLLGATE_OK;
}

/* The upstream model: request->model (after the channel's model map), else the body's. */
static tollgate_status model_value(const tollgate_type_request_in *request, const json_t *body,
                                   json_t **out, tollgate_type_buffer *error) {
  if (request->model.ptr && request->model.len > 0) {
    json_t *m = json_stringn((const char *)request->model.ptr, request->model.len);
    if (!m) return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "model is not valid UTF-8");
    *out = m;
    return TOLLGATE_OK;
  }
  json_t *m = json_object_get(body, "model");
  if (!json_is_string(m) || json_string_length(m) == 0)
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "model is missing");
  *out = json_stringn(json_string_value(m), json_string_length(m));
  return *out ? TOLLGATE_OK : out_of_memory(error);
}

/* Reads an optional integer (an integral real is accepted). */
static tollgate_status get_integer(const json_t *obj, const char *key, json_int_t *out,
                                   bool *present, tollgate_type_buffer *error) {
  json_t *v = json_object_get(obj, key);
  *present = false;
  if (!v || json_is_null(v)) return TOLLGATE_OK;
  if (json_is_integer(v)) {
    *out = json_integer_value(v);
  } else if (json_is_real(v) && json_real_value(v) == (double)(json_int_t)json_real_value(v) &&
             json_real_value(v) > -9.2e18 && json_real_value(v) < 9.2e18) {
    *out = (json_int_t)json_real_value(v);
  } else {
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "%s must be an integer", key);
  }
  *present = true;
  return TOLLGATE_OK;
}

/* Copies an optional number from the OpenAI body into Ollama's options. */
static tollgate_status copy_number(const json_t *body, const char *key, json_t *options,
                                   const char *ollama_key, tollgate_type_buffer *error) {
  json_t *v = json_object_get(body, key);
  if (!v || json_is_null(v)) return TOLLGATE_OK;
  if (!json_is_number(v))
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "%s must be a number", key);
  if (json_object_set(options, ollama_key, v) != 0) return out_of_memory(error);
  return TOLLGATE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------------------------- */

/* The base64 payload of a "data:<mime>;base64,<payload>" URL. */
static bool data_url_payload(const char *url, size_t len, const char **payload,
                             size_t *payload_len) {
  if (!oln_starts_with_ci(url, len, "data:")) return false;
  const char *comma = memchr(url, ',', len);
  if (!comma) return false;
  size_t header_len = (size_t)(comma - url);
  static const char marker[] = ";base64";
  size_t marker_len = sizeof marker - 1;
  if (header_len < 5 + marker_len ||
      !oln_starts_with_ci(comma - marker_len, marker_len, marker))
    return false;
  *payload = comma + 1;
  *payload_len = len - header_len - 1;
  return true;
}

static tollgate_status convert_image_part(const json_t *part, size_t i, size_t j, json_t *images,
                                          tollgate_type_buffer *error) {
  json_t *image_url = json_object_get(part, "image_url");
  json_t *url = json_is_object(image_url) ? json_object_get(image_url, "url") : image_url;
  if (!json_is_string(url))
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                    "messages[%zu].content[%zu].image_url.url must be a string", i, j);
  const char *payload;
  size_t payload_len;
  if (!data_url_payload(json_string_value(url), json_string_length(url), &payload, &payload_len))
    return oln_fail(error, TOLLGATE_ERR_UNSUPPORTED,
                    "messages[%zu].content[%zu].image_url.url: only data: URLs with base64 "
                    "content are supported (ollama-native cannot fetch remote images)",
                    i, j);
  if (payload_len == 0)
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                    "messages[%zu].content[%zu].image_url.url has an empty data: URL", i, j);
  if (json_array_append_new(images, json_stringn(payload, payload_len)) != 0)
    return out_of_memory(error);
  return TOLLGATE_OK;
}

/* OpenAI content (string, null or array of parts) -> Ollama content string and images array.
 * Text parts are joined with "\n". *images_out is NULL when there are no images. */
static tollgate_status convert_content(const json_t *content, size_t i, json_t **text_out,
                                       json_t **images_out, tollgate_type_buffer *error) {
  *text_out = NULL;
  *images_out = NULL;
  if (!content || json_is_null(content)) {
    *text_out = json_string("");
    return *text_out ? TOLLGATE_OK : out_of_memory(error);
  }
  if (json_is_string(content)) {
    *text_out = json_incref((json_t *)content);
    return TOLLGATE_OK;
  }
  if (!json_is_array(content))
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                    "messages[%zu].content must be a string or an array of content parts", i);

  tollgate_status st = TOLLGATE_OK;
  oln_sb text = {0};
  bool have_text = false;
  json_t *images = json_array();
  if (!images) return out_of_memory(error);
  size_t n = json_array_size(content);
  for (size_t j = 0; j < n && st == TOLLGATE_OK; j++) {
    json_t *part = json_array_get(content, j);
    json_t *piece = NULL;
    if (json_is_string(part)) {
      piece = part;
    } else if (!json_is_object(part)) {
      st = oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                    "messages[%zu].content[%zu] must be an object", i, j);
      break;
    } else {
      json_t *type = json_object_get(part, "type");
      if (!json_is_string(type)) {
        st = oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                      "messages[%zu].content[%zu].type must be a string", i, j);
        break;
      }
      const char *t = json_string_value(type);
      if (strcmp(t, "text") == 0 || strcmp(t, "refusal") == 0) {
        piece = json_object_get(part, t);
        if (!json_is_string(piece)) {
          st = oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                        "messages[%zu].content[%zu].%s must be a string", i, j, t);
          break;
        }
      } else if (strcmp(t, "image_url") == 0) {
        st = convert_image_part(part, i, j, images, error);
        continue;
      } else {
        st = oln_fail(error, TOLLGATE_ERR_UNSUPPORTED,
                      "messages[%zu].content[%zu]: content part type \"%s\" is not supported by "
                      "ollama-native",
                      i, j, t);
        break;
      }
    }
    if (have_text) oln_sb_append(&text, "\n", 1);
    oln_sb_append(&text, json_string_value(piece), json_string_length(piece));
    have_text = true;
  }
  if (st == TOLLGATE_OK) {
    *text_out = json_stringn(text.ptr ? text.ptr : "", text.len);
    if (!*text_out || text.oom) {
      json_decref(*text_out);
      *text_out = NULL;
      st = out_of_memory(error);
    }
  }
  oln_sb_free(&text);
  if (st == TOLLGATE_OK && json_array_size(images) > 0)
    *images_out = images;
  else
    json_decref(images);
  return st;
}

/* OpenAI assistant tool_calls -> Ollama tool_calls (arguments as an object). */
static tollgate_status convert_request_tool_calls(const json_t *tool_calls, size_t i,
                                                  json_t **out, tollgate_type_buffer *error) {
  *out = NULL;
  if (!tool_calls || json_is_null(tool_calls)) return TOLLGATE_OK;
  if (!json_is_array(tool_calls))
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                    "messages[%zu].tool_calls must be an array", i);
  if (json_array_size(tool_calls) == 0) return TOLLGATE_OK;
  json_t *result = json_array();
  if (!result) return out_of_memory(error);
  size_t n = json_array_size(tool_calls);
  for (size_t j = 0; j < n; j++) {
    json_t *tc = json_array_get(tool_calls, j);
    json_t *fn = json_is_object(tc) ? json_object_get(tc, "function") : NULL;
    if (!json_is_object(fn)) {
      json_decref(result);
      return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                      "messages[%zu].tool_calls[%zu].function must be an object", i, j);
    }
    json_t *name = json_object_get(fn, "name");
    if (!json_is_string(name)) {
      json_decref(result);
      return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                      "messages[%zu].tool_calls[%zu].function.name must be a string", i, j);
    }
    json_t *args = json_object_get(fn, "arguments");
    json_t *parsed = NULL;
    if (!args || json_is_null(args)) {
      parsed = json_object();
    } else if (json_is_object(args)) {
      parsed = json_incref(args);
    } else if (json_is_string(args)) {
      const char *s = json_string_value(args);
      size_t len = json_string_length(args);
      size_t k = 0;
      while (k < len && (s[k] == ' ' || s[k] == '\t' || s[k] == '\n' || s[k] == '\r')) k++;
      if (k == len) {
        parsed = json_object();
      } else {
        json_error_t jerr;
        parsed = json_loadb(s, len, OLN_LOAD_FLAGS, &jerr);
        if (!parsed) {
          json_decref(result);
          return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                          "messages[%zu].tool_calls[%zu].function.arguments is not valid JSON: %s",
                          i, j, jerr.text);
        }
        if (!json_is_object(parsed)) {
          json_decref(parsed);
          json_decref(result);
          return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                          "messages[%zu].tool_calls[%zu].function.arguments must encode a JSON "
                          "object",
                          i, j);
        }
      }
    } else {
      json_decref(result);
      return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                      "messages[%zu].tool_calls[%zu].function.arguments must be a string", i, j);
    }
    bool ok = true;
    json_t *function = json_object();
    json_t *entry = json_object();
    if (function) {
      SET(function, "name", json_incref(name));
      SET(function, "arguments", parsed);
    } else {
      json_decref(parsed);
      ok = false;
    }
    if (entry)
      SET(entry, "function", function);
    else {
      json_decref(function);
      ok = false;
    }
    if (!ok || json_array_append_new(result, entry) != 0) {
      json_decref(result);
      return out_of_memory(error);
    }
  }
  *out = result;
  return TOLLGATE_OK;
}

/* The function name of the assistant tool call with this id, looked up in earlier messages. */
static json_t *find_tool_name(const json_t *messages, size_t before, const json_t *id) {
  for (size_t k = before; k-- > 0;) {
    json_t *msg = json_array_get(messages, k);
    json_t *tcs = json_is_object(msg) ? json_object_get(msg, "tool_calls") : NULL;
    size_t n = json_array_size(tcs);
    for (size_t j = 0; j < n; j++) {
      json_t *tc = json_array_get(tcs, j);
      json_t *tc_id = json_is_object(tc) ? json_object_get(tc, "id") : NULL;
      if (json_is_string(tc_id) && json_equal(tc_id, (json_t *)id)) {
        json_t *fn = json_object_get(tc, "function");
        json_t *name = json_is_object(fn) ? json_object_get(fn, "name") : NULL;
        return json_is_string(name) ? name : NULL;
      }
    }
  }
  return NULL;
}

static tollgate_status convert_message(const json_t *messages, size_t i, json_t **out,
                                       tollgate_type_buffer *error) {
  json_t *msg = json_array_get(messages, i);
  if (!json_is_object(msg))
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "messages[%zu] must be an object", i);
  json_t *role = json_object_get(msg, "role");
  if (!json_is_string(role))
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "messages[%zu].role must be a string", i);
  const char *r = json_string_value(role);
  const char *mapped;
  if (strcmp(r, "system") == 0 || strcmp(r, "developer") == 0)
    mapped = "system";
  else if (strcmp(r, "user") == 0)
    mapped = "user";
  else if (strcmp(r, "assistant") == 0)
    mapped = "assistant";
  else if (strcmp(r, "tool") == 0 || strcmp(r, "function") == 0)
    mapped = "tool";
  else
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "messages[%zu].role \"%s\" is not supported",
                    i, r);

  json_t *text = NULL, *images = NULL, *tool_calls = NULL;
  tollgate_status st = convert_content(json_object_get(msg, "content"), i, &text, &images, error);
  if (st == TOLLGATE_OK && strcmp(mapped, "assistant") == 0)
    st = convert_request_tool_calls(json_object_get(msg, "tool_calls"), i, &tool_calls, error);
  if (st != TOLLGATE_OK) {
    json_decref(text);
    json_decref(images);
    return st;
  }

  bool ok = true;
  json_t *m = json_object();
  if (!m) {
    json_decref(text);
    json_decref(images);
    json_decref(tool_calls);
    return out_of_memory(error);
  }
  SET(m, "role", json_string(mapped));
  SET(m, "content", text);
  if (images) SET(m, "images", images);
  if (tool_calls) SET(m, "tool_calls", tool_calls);
  if (strcmp(mapped, "tool") == 0) {
    json_t *name = NULL;
    json_t *id = json_object_get(msg, "tool_call_id");
    if (json_is_string(id)) name = find_tool_name(messages, i, id);
    if (!name && json_is_string(json_object_get(msg, "name"))) name = json_object_get(msg, "name");
    if (name) SET(m, "tool_name", json_incref(name));
  }
  if (!ok) {
    json_decref(m);
    return out_of_memory(error);
  }
  *out = m;
  return TOLLGATE_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Options, format, tools
 * ------------------------------------------------------------------------------------------- */

static tollgate_status build_options(const struct tollgate_type_channel *channel,
                                     const json_t *body, json_t **out,
                                     tollgate_type_buffer *error) {
  tollgate_status st;
  json_t *options = NULL;
  *out = NULL;
  if (channel->ollama_options_json) {
    options = json_loads(channel->ollama_options_json, 0, NULL);
  } else {
    options = json_object();
  }
  if (!json_is_object(options)) {
    json_decref(options);
    return out_of_memory(error);
  }
  if ((st = copy_number(body, "temperature", options, "temperature", error)) ||
      (st = copy_number(body, "top_p", options, "top_p", error)) ||
      (st = copy_number(body, "frequency_penalty", options, "frequency_penalty", error)) ||
      (st = copy_number(body, "presence_penalty", options, "presence_penalty", error)))
    goto fail;

  json_int_t value;
  bool present;
  if ((st = get_integer(body, "seed", &value, &present, error))) goto fail;
  if (present && json_object_set_new(options, "seed", json_integer(value)) != 0) goto oom;

  /* max_completion_tokens (current) wins over max_tokens (deprecated). */
  if ((st = get_integer(body, "max_completion_tokens", &value, &present, error))) goto fail;
  if (!present && (st = get_integer(body, "max_tokens", &value, &present, error))) goto fail;
  if (present && json_object_set_new(options, "num_predict", json_integer(value)) != 0) goto oom;

  json_t *stop = json_object_get(body, "stop");
  if (json_is_string(stop)) {
    json_t *arr = json_array();
    if (!arr || json_array_append(arr, stop) != 0) {
      json_decref(arr);
      goto oom;
    }
    if (json_object_set_new(options, "stop", arr) != 0) goto oom;
  } else if (json_is_array(stop)) {
    size_t n = json_array_size(stop);
    for (size_t k = 0; k < n; k++) {
      if (!json_is_string(json_array_get(stop, k))) {
        st = oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "stop[%zu] must be a string", k);
        goto fail;
      }
    }
    if (n > 0 && json_object_set(options, "stop", stop) != 0) goto oom;
  } else if (stop && !json_is_null(stop)) {
    st = oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "stop must be a string or an array of strings");
    goto fail;
  }

  if (json_object_size(options) > 0)
    *out = options;
  else
    json_decref(options);
  return TOLLGATE_OK;
oom:
  st = out_of_memory(error);
fail:
  json_decref(options);
  return st;
}

/* response_format -> Ollama "format" ("json" or a JSON schema); *out is NULL for plain text. */
static tollgate_status build_format(const json_t *body, json_t **out,
                                    tollgate_type_buffer *error) {
  *out = NULL;
  json_t *rf = json_object_get(body, "response_format");
  if (!rf || json_is_null(rf)) return TOLLGATE_OK;
  if (!json_is_object(rf))
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "response_format must be an object");
  json_t *type = json_object_get(rf, "type");
  if (!json_is_string(type))
    return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "response_format.type must be a string");
  const char *t = json_string_value(type);
  if (strcmp(t, "text") == 0) return TOLLGATE_OK;
  if (strcmp(t, "json_object") == 0) {
    *out = json_string("json");
    return *out ? TOLLGATE_OK : out_of_memory(error);
  }
  if (strcmp(t, "json_schema") == 0) {
    json_t *js = json_object_get(rf, "json_schema");
    json_t *schema = json_is_object(js) ? json_object_get(js, "schema") : NULL;
    if (!json_is_object(schema))
      return oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                      "response_format.json_schema.schema must be an object");
    *out = json_incref(schema);
    return TOLLGATE_OK;
  }
  return oln_fail(error, TOLLGATE_ERR_UNSUPPORTED,
                  "response_format.type \"%s\" is not supported by ollama-native", t);
}

/* Adds the channel's keep_alive, if any. */
static bool add_keep_alive(const struct tollgate_type_channel *channel, json_t *out) {
  if (!channel->keep_alive_json) return true;
  json_t *v = json_loads(channel->keep_alive_json, JSON_DECODE_ANY, NULL);
  return v && json_object_set_new(out, "keep_alive", v) == 0;
}

/* ---------------------------------------------------------------------------------------------
 * Entry points
 * ------------------------------------------------------------------------------------------- */

tollgate_status oln_build_chat_body(const struct tollgate_type_channel *channel,
                                    const tollgate_type_request_in *request, json_t **out_body,
                                    tollgate_type_buffer *error) {
  json_t *in = NULL, *out = NULL, *model = NULL;
  tollgate_status st = load_body(request, &in, error);
  if (st) return st;

  json_t *messages = json_object_get(in, "messages");
  if (!messages) {
    st = oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "messages is missing");
    goto done;
  }
  if (!json_is_array(messages)) {
    st = oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "messages must be an array");
    goto done;
  }
  json_t *n_choices = json_object_get(in, "n");
  if (n_choices && !json_is_null(n_choices) &&
      !(json_is_integer(n_choices) && json_integer_value(n_choices) == 1)) {
    st = oln_fail(error, TOLLGATE_ERR_UNSUPPORTED, "n other than 1 is not supported by ollama-native");
    goto done;
  }
  if ((st = model_value(request, in, &model, error))) goto done;

  out = json_object();
  json_t *msgs = json_array();
  bool ok = out != NULL;
  if (out) SET(out, "model", model);
  else json_decref(model);
  if (out) SET(out, "messages", msgs);
  else json_decref(msgs);
  if (!ok) goto oom;

  size_t n = json_array_size(messages);
  for (size_t i = 0; i < n; i++) {
    json_t *m = NULL;
    if ((st = convert_message(messages, i, &m, error))) goto done;
    if (json_array_append_new(msgs, m) != 0) goto oom;
  }

  SET(out, "stream", json_boolean(request->stream != 0));

  json_t *tools = json_object_get(in, "tools");
  json_t *tool_choice = json_object_get(in, "tool_choice");
  if (tools && !json_is_null(tools)) {
    if (!json_is_array(tools)) {
      st = oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "tools must be an array");
      goto done;
    }
    /* Ollama has no tool_choice; "none" is honoured by not offering the tools. */
    bool none = json_is_string(tool_choice) && strcmp(json_string_value(tool_choice), "none") == 0;
    if (!none && json_array_size(tools) > 0) SET(out, "tools", json_incref(tools));
  }

  json_t *format = NULL;
  if ((st = build_format(in, &format, error))) goto done;
  if (format) SET(out, "format", format);

  json_t *options = NULL;
  if ((st = build_options(channel, in, &options, error))) goto done;
  if (options) SET(out, "options", options);

  if (!add_keep_alive(channel, out)) ok = false;
  if (!ok) goto oom;

  *out_body = out;
  out = NULL;
  goto done;
oom:
  st = out_of_memory(error);
done:
  json_decref(out);
  json_decref(in);
  return st;
}

tollgate_status oln_build_embed_body(const struct tollgate_type_channel *channel,
                                     const tollgate_type_request_in *request, json_t **out_body,
                                     tollgate_type_buffer *error) {
  json_t *in = NULL, *out = NULL, *model = NULL;
  tollgate_status st = load_body(request, &in, error);
  if (st) return st;

  json_t *input = json_object_get(in, "input");
  if (!input || json_is_null(input)) {
    st = oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "input is missing");
    goto done;
  }
  if (json_is_array(input)) {
    size_t n = json_array_size(input);
    if (n == 0) {
      st = oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "input must not be an empty array");
      goto done;
    }
    for (size_t i = 0; i < n; i++) {
      json_t *item = json_array_get(input, i);
      if (json_is_string(item)) continue;
      if (json_is_integer(item) || json_is_array(item))
        st = oln_fail(error, TOLLGATE_ERR_UNSUPPORTED,
                      "input: token arrays are not supported by ollama-native; send strings");
      else
        st = oln_fail(error, TOLLGATE_ERR_INVALID_INPUT, "input[%zu] must be a string", i);
      goto done;
    }
  } else if (!json_is_string(input)) {
    st = oln_fail(error, TOLLGATE_ERR_INVALID_INPUT,
                  "input must be a string or an array of strings");
    goto done;
  }
  json_int_t dimensions = 0;
  bool has_dimensions = false;
  if ((st = get_integer(in, "dimensions", &dimensions, &has_dimensions, error))) goto done;
  if ((st = model_value(request, in, &model, error))) goto done;

  bool ok = true;
  out = json_object();
  if (!out) {
    json_decref(model);
    goto oom;
  }
  SET(out, "model", model);
  SET(out, "input", json_incref(input));
  if (has_dimensions) SET(out, "dimensions", json_integer(dimensions));
  if (channel->ollama_options_json) {
    json_t *options = json_loads(channel->ollama_options_json, 0, NULL);
    if (json_object_size(options) > 0)
      SET(out, "options", options);
    else if (options)
      json_decref(options);
    else
      ok = false;
  }
  if (!add_keep_alive(channel, out)) ok = false;
  if (!ok) goto oom;
  *out_body = out;
  out = NULL;
  goto done;
oom:
  st = out_of_memory(error);
done:
  json_decref(out);
  json_decref(in);
  return st;
}
