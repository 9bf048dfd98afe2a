/*
 * ollama_internal.h — private declarations shared by the files of the ollama-native plugin.
 * Not part of the ABI: nothing here is exported from the shared object.
 */
#ifndef OLLAMA_INTERNAL_H
#define OLLAMA_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tollgate_plugin.h"

#if defined(__GNUC__) || defined(__clang__)
#define OLN_HIDDEN __attribute__((visibility("hidden")))
#define OLN_EXPORT __attribute__((visibility("default")))
#define OLN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define OLN_HIDDEN
#define OLN_EXPORT
#define OLN_PRINTF(fmt, args)
#endif

#define OLN_PLUGIN_NAME "ollama-native"
#define OLN_PROVIDER_ID "ollama-native"
#define OLN_PLUGIN_VERSION "1.0.0"
#define OLN_DEFAULT_BASE_URL "http://127.0.0.1:11434"

/* The longest NDJSON line a stream accepts (without its newline). */
#define OLN_MAX_LINE ((size_t)8 * 1024 * 1024)

/* Flags for every json_loadb of client or upstream data. */
#define OLN_LOAD_FLAGS JSON_ALLOW_NUL

/* ---------------------------------------------------------------------------------------------
 * Handles (the opaque types of the ABI are defined here).
 * ------------------------------------------------------------------------------------------- */

struct tollgate_type_adaptor {
  int reserved; /* stateless: one per provider id / API version, read-only */
};

/* Read-only after on_channel_new, so it may be shared by threads without a lock. Channel options
 * are kept as JSON text (not json_t) so no jansson reference count is touched concurrently. */
struct tollgate_type_channel {
  char *base_url;            /* no trailing slash, NUL-terminated */
  char *auth_header;         /* "Authorization: Bearer ...\r\n" or NULL */
  char *keep_alive_json;     /* options.keep_alive as JSON text, or NULL */
  char *ollama_options_json; /* options.ollama_options as JSON text (an object), or NULL */
};

struct tollgate_type_stream {
  char *model; /* the model to echo back (params->model), NUL-terminated; may be empty */
  size_t model_len;
  bool include_usage;
  char *pending; /* a partial NDJSON line carried over between feed calls */
  size_t pending_len;
  size_t pending_cap;
  bool started; /* id and created are known (set from the first line) */
  char id[64];
  int64_t created;
  bool sent_role;
  bool saw_tool_calls;
  bool done;
  bool failed;
  size_t tool_index;
};

/* ---------------------------------------------------------------------------------------------
 * Utilities (ollama_util.c)
 * ------------------------------------------------------------------------------------------- */

/** A growable byte string; on allocation failure oom is set and further appends are no-ops. */
typedef struct oln_sb {
  char *ptr;
  size_t len;
  size_t cap;
  bool oom;
} oln_sb;

OLN_HIDDEN bool oln_sb_append(oln_sb *sb, const void *data, size_t len);
OLN_HIDDEN bool oln_sb_append_str(oln_sb *sb, const char *s);
/** Appends the compact JSON encoding of value. */
OLN_HIDDEN bool oln_sb_append_json(oln_sb *sb, const json_t *value);
OLN_HIDDEN void oln_sb_free(oln_sb *sb);
/** Moves the contents into *out (an empty builder gives {NULL, 0}); the builder is reset. */
OLN_HIDDEN void oln_sb_move_to_buffer(oln_sb *sb, tollgate_type_buffer *out);

/** Writes a malloc'd UTF-8 message into *error (if error is not NULL) and returns status. */
OLN_HIDDEN tollgate_status oln_fail(tollgate_type_buffer *error, tollgate_status status,
                                    const char *fmt, ...) OLN_PRINTF(3, 4);

/** Serializes value compactly into a malloc'd buffer. Returns false on allocation failure. */
OLN_HIDDEN bool oln_dump_to_buffer(const json_t *value, tollgate_type_buffer *out);
/** Serializes value compactly into a malloc'd NUL-terminated string, or NULL. */
OLN_HIDDEN char *oln_dump_string(const json_t *value);

/** malloc'd copy of bytes with invalid UTF-8 replaced by U+FFFD; NUL-terminated. */
OLN_HIDDEN char *oln_utf8_sanitize(const uint8_t *ptr, size_t len, size_t *out_len);
/** A JSON string of bytes, invalid UTF-8 replaced by U+FFFD. NULL only on allocation failure. */
OLN_HIDDEN json_t *oln_json_string_lossy(const uint8_t *ptr, size_t len);
/** malloc'd NUL-terminated copy of len bytes, or NULL. */
OLN_HIDDEN char *oln_strndup(const char *s, size_t len);
OLN_HIDDEN bool oln_starts_with_ci(const char *s, size_t len, const char *prefix);

/** Parses an RFC 3339 timestamp to Unix seconds. */
OLN_HIDDEN bool oln_parse_rfc3339(const char *s, size_t len, int64_t *out);
/** Writes "chatcmpl-ollama-<16 hex digits of FNV-1a 64 of data>" into out (>= 33 bytes). */
OLN_HIDDEN void oln_make_id(const void *data, size_t len, char *out, size_t out_size);

/** Logs through the host if on_init stored a host table with a log callback. */
OLN_HIDDEN void oln_log(tollgate_type_log_level level, const char *fmt, ...) OLN_PRINTF(2, 3);

/* ---------------------------------------------------------------------------------------------
 * Conversions
 * ------------------------------------------------------------------------------------------- */

/* ollama_request.c */
OLN_HIDDEN tollgate_status oln_build_chat_body(const struct tollgate_type_channel *channel,
                                               const tollgate_type_request_in *request,
                                               json_t **out_body, tollgate_type_buffer *error);
OLN_HIDDEN tollgate_status oln_build_embed_body(const struct tollgate_type_channel *channel,
                                                const tollgate_type_request_in *request,
                                                json_t **out_body, tollgate_type_buffer *error);

/* ollama_response.c */
/** Converts Ollama's message.tool_calls into OpenAI tool_calls; *counter numbers the calls.
 * With streaming, each entry also gets an "index". *out is NULL if there are none. Returns false
 * only on allocation failure. */
OLN_HIDDEN bool oln_convert_tool_calls(const json_t *ollama_tool_calls, size_t *counter,
                                       bool streaming, json_t **out);
/** The OpenAI id and created time of an answer: from created_at when present (id = hash of it),
 * else from the raw bytes (id) and 0 (created). id_size >= 33. */
OLN_HIDDEN void oln_id_and_created(const json_t *root, const void *raw, size_t raw_len, char *id,
                                   size_t id_size, int64_t *created);
OLN_HIDDEN tollgate_status oln_convert_response(const tollgate_type_response_in *response,
                                                tollgate_type_response_out *out,
                                                tollgate_type_buffer *error);
/** The error message of an Ollama error body ({"error":"..."} or {"error":{"message":...}}). */
OLN_HIDDEN const char *oln_error_message(const json_t *root);

/* ollama_stream.c */
OLN_HIDDEN tollgate_status oln_stream_feed(struct tollgate_type_stream *stream,
                                           tollgate_type_bytes chunk, tollgate_type_buffer *out,
                                           tollgate_type_usage *usage,
                                           tollgate_type_buffer *error);
OLN_HIDDEN tollgate_status oln_stream_finish(struct tollgate_type_stream *stream,
                                             tollgate_type_buffer *out,
                                             tollgate_type_usage *usage,
                                             tollgate_type_buffer *error);

#endif /* OLLAMA_INTERNAL_H */
