/*
 * tollgate_plugin.h — the whole contract between the Tollgate core and its plugins (ABI 1.4).
 *
 * A plugin is a shared object that exports one symbol, TOLLGATE_PLUGIN_ENTRY_SYMBOL, returning a
 * static descriptor. The core dlopen()s the file, checks the descriptor, calls on_init with the
 * host table, and only then registers the plugin's provider ids. Nothing else is looked up.
 *
 * Naming, as in Envoy's dynamic-modules ABI:
 *   tollgate_type_*      plain data crossing the boundary (C structs, no Swift or C++ types);
 *   on_*                 hooks the plugin implements (function pointers in its descriptor);
 *   callback_*           functions the host implements (in tollgate_type_host).
 *
 * Ownership. Every byte range's type says who owns it:
 *   tollgate_type_bytes          borrowed: the caller's; valid only for the duration of the call it
 *                                is passed to. Copy what you keep.
 *   tollgate_type_plugin_buffer  allocated by the plugin (hook out-parameters, error messages);
 *                                the core frees it through the plugin's descriptor->free_buffer.
 *   tollgate_type_host_buffer    allocated by the host (callback_http_call's answer and error);
 *                                the plugin frees it through host->callback_free_buffer.
 * Both buffer types are tollgate_type_buffer, named by owner. A zeroed buffer ({NULL, 0}) means
 * "empty"; a free function must accept it.
 *
 * Threads. Each hook below says which thread calls it:
 *   EVENT LOOP     one of the core's network threads, shared by thousands of connections. A hook
 *                  called there MUST NOT BLOCK: no network or disk I/O, no sleeping, no waiting on
 *                  a lock held across such work. callback_http_call refuses to run there.
 *   BLOCKING POOL  the core's thread pool for blocking work: on_build_request of a plugin with
 *                  TOLLGATE_PLUGIN_FLAG_BUILD_MAY_BLOCK (e.g. an OAuth token exchange), and only
 *                  that hook. It may block, bounded by the side request's timeout.
 *   CONTROL        start-up, plugin (re)load, configuration reload, price sync: not an event loop,
 *                  but the gateway waits for it, so it must not block either.
 *   ANY            whichever thread drops the last reference (destroy hooks): must not block.
 * The core calls hooks from several threads at once, but never one handle from two threads at the
 * same time: an adaptor or channel handle may be used concurrently (so it must be read-only after
 * creation or guard its own state), a stream handle is used by one thread at a time. A plugin
 * keeps no unguarded global state and never aborts the process: every failure is a status plus a
 * message buffer.
 *
 * Out-parameters. The core zeroes every out-parameter (struct, buffer, handle) before a call and
 * sets the struct_size of out-structs to the size it knows. Whatever the status, the core frees
 * every non-empty buffer a hook left in them; on failure it ignores everything else.
 *
 * Versioning. A core refuses a plugin whose abi_major differs from its own. Minor versions only
 * append fields to structs (1.1: dialects and on_accepts_dialect; 1.2: COUNT_TOKENS; 1.3: counting
 * in the internal dialect; 1.4: provider_info_json and on_classify_response); every struct that
 * can grow starts with struct_size (set by whoever fills it in, the core for out-structs), so either side can tell which fields the other knows:
 * a field lies within struct_size or reads as absent (zero, NULL). The core accepts plugins built
 * for any 1.x minor version, and requires at least the ABI 1.0 fields of each struct.
 * tollgate_type_usage grows into its reserved slots instead. Enums are int-sized: do not build a
 * plugin with -fshort-enums.
 */
#ifndef TOLLGATE_PLUGIN_H
#define TOLLGATE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TOLLGATE_ABI_VERSION_MAJOR 1
#define TOLLGATE_ABI_VERSION_MINOR 4
#define TOLLGATE_PLUGIN_ENTRY_SYMBOL "tollgate_plugin_entry"

/* ----------------------------------------------------------------------------------------------
 * Basic types
 * -------------------------------------------------------------------------------------------- */

/** Result of every fallible hook and callback. The core maps it to the client's HTTP status. */
typedef enum tollgate_status {
  TOLLGATE_OK = 0,
  TOLLGATE_ERR_INVALID_INPUT = 1, /* the client's request cannot be served as asked: 400 */
  TOLLGATE_ERR_UNSUPPORTED = 2,   /* an operation or feature this provider lacks: 400 */
  TOLLGATE_ERR_UPSTREAM = 3,      /* the upstream answered something unusable: 502 */
  TOLLGATE_ERR_CONFIG = 4,        /* the channel's settings are invalid: refused at load, else 500 */
  TOLLGATE_ERR_AUTH = 5,          /* credentials could not be used (e.g. token exchange): 502 */
  TOLLGATE_ERR_INTERNAL = 6,      /* a bug or resource failure inside the plugin: 500 */
} tollgate_status;

/** A borrowed byte range. OWNERSHIP: the caller's; valid only during the call. */
typedef struct tollgate_type_bytes {
  const uint8_t *ptr;
  size_t len;
} tollgate_type_bytes;

/** An owned byte range, allocated by one side and freed by the other through the allocator's
 * free function. Named by owner below; use those names. */
typedef struct tollgate_type_buffer {
  uint8_t *ptr;
  size_t len;
} tollgate_type_buffer;

/** OWNERSHIP: allocated by the plugin; the core frees it with descriptor->free_buffer. */
typedef tollgate_type_buffer tollgate_type_plugin_buffer;

/** OWNERSHIP: allocated by the host; the plugin frees it with host->callback_free_buffer. */
typedef tollgate_type_buffer tollgate_type_host_buffer;

typedef enum tollgate_type_plugin_kind {
  TOLLGATE_KIND_ADAPTOR = 1, /* converts and signs requests for one or more providers */
  TOLLGATE_KIND_BILLING = 2, /* turns usage and a price into a cost */
} tollgate_type_plugin_kind;

/** API dialects. OPENAI (Chat Completions) is also the core's internal representation. */
typedef enum tollgate_type_dialect {
  TOLLGATE_DIALECT_OPENAI = 1,
  TOLLGATE_DIALECT_ANTHROPIC = 2,
  TOLLGATE_DIALECT_GEMINI = 3,
} tollgate_type_dialect;

typedef enum tollgate_type_operation {
  TOLLGATE_OPERATION_CHAT = 1,
  TOLLGATE_OPERATION_EMBEDDINGS = 2,
  /* ABI 1.2: count a request's input tokens with the provider's own counter. The body is a count
   * request in the client's dialect, when on_accepts_dialect took it: Anthropic's count_tokens
   * body (answer `{"input_tokens": N}`) or Gemini's countTokens body (answer `{"totalTokens": N}`).
   * ABI 1.3: else, to plugins built for 1.3 or later, the request in the internal dialect (an
   * OpenAI chat body; answer `{"input_tokens": N}`, errors in OpenAI's shape), which the core
   * puts back in the client's shape. A plugin without a counter answers on_build_request with
   * TOLLGATE_ERR_UNSUPPORTED and the core estimates instead (so a plugin must refuse operations
   * it does not know rather than treat them as chat). Never billed. */
  TOLLGATE_OPERATION_COUNT_TOKENS = 3,
} tollgate_type_operation;

typedef enum tollgate_type_log_level {
  TOLLGATE_LOG_DEBUG = 0,
  TOLLGATE_LOG_INFO = 1,
  TOLLGATE_LOG_WARNING = 2,
  TOLLGATE_LOG_ERROR = 3,
} tollgate_type_log_level;

/* Bits of tollgate_type_usage.fields: which counts the plugin actually saw. A count whose bit is
 * clear is "not reported", which is different from zero: the core never lets a later event that
 * lacks a field erase an earlier value. */
#define TOLLGATE_USAGE_PROMPT (1u << 0)
#define TOLLGATE_USAGE_COMPLETION (1u << 1)
#define TOLLGATE_USAGE_CACHE_READ (1u << 2)
#define TOLLGATE_USAGE_CACHE_CREATION (1u << 3)
#define TOLLGATE_USAGE_CACHE_CREATION_1H (1u << 4)
#define TOLLGATE_USAGE_AUDIO_PROMPT (1u << 5)
#define TOLLGATE_USAGE_AUDIO_COMPLETION (1u << 6)
#define TOLLGATE_USAGE_REASONING (1u << 7)

/* Bits of tollgate_type_usage.flags. */
#define TOLLGATE_USAGE_FLAG_ESTIMATED (1u << 0) /* counted by the plugin, not reported upstream */

/**
 * Token usage, in one convention whatever the provider's (convert before filling it in):
 *   prompt_tokens      ALL input tokens, including cache reads and cache creation (OpenAI style;
 *                      Anthropic's input_tokens + cache_read + cache_creation);
 *   completion_tokens  all output tokens, including reasoning tokens;
 *   the other counts   are parts of those two totals, reported for pricing.
 * Values are absolute (cumulative so far), not deltas.
 */
typedef struct tollgate_type_usage {
  uint32_t fields; /* TOLLGATE_USAGE_* bits: which counts below are set */
  uint32_t flags;  /* TOLLGATE_USAGE_FLAG_* */
  int64_t prompt_tokens;
  int64_t completion_tokens;
  int64_t cache_read_tokens;
  int64_t cache_creation_tokens;    /* all cache writes (5-minute and 1-hour) */
  int64_t cache_creation_1h_tokens; /* the part of cache_creation_tokens written for 1 hour */
  int64_t audio_prompt_tokens;
  int64_t audio_completion_tokens;
  int64_t reasoning_tokens;
  int64_t reserved[8]; /* future token kinds; zero, and no bits for them, in ABI 1.0 to 1.3 */
} tollgate_type_usage;

/* ----------------------------------------------------------------------------------------------
 * Host table: what the core offers a plugin. Handed to on_init; valid until on_shutdown returns.
 * -------------------------------------------------------------------------------------------- */

/** A side request a plugin makes through the host (e.g. an OAuth token exchange). */
typedef struct tollgate_type_http_request {
  size_t struct_size;
  tollgate_type_bytes method;  /* "POST" */
  tollgate_type_bytes url;     /* absolute http:// or https:// URL */
  tollgate_type_bytes headers; /* "Name: value\r\n" lines; may be empty */
  tollgate_type_bytes body;
  uint32_t timeout_ms;         /* 0 = the host's default (30 s) */
} tollgate_type_http_request;

/** The answer to a side request. OWNERSHIP: buffers are the host's; free them with
 * host->callback_free_buffer. */
typedef struct tollgate_type_http_response {
  size_t struct_size;                /* set by the host */
  int32_t status;                    /* HTTP status code */
  tollgate_type_host_buffer headers; /* "name: value\r\n" lines, names lower-cased */
  tollgate_type_host_buffer body;
} tollgate_type_http_response;

/** Each plugin gets its own host table (so the core knows who calls); pass it back as `host`. */
typedef struct tollgate_type_host {
  size_t struct_size;
  uint16_t abi_major;
  uint16_t abi_minor;
  const void *host_context; /* the core's; plugins do not touch it */
  /** Writes a line to the gateway's log, tagged with the plugin's name. Any thread; does not
   * block. */
  void (*callback_log)(const struct tollgate_type_host *host, tollgate_type_log_level level,
                       tollgate_type_bytes message);
  /** Wall clock, nanoseconds since the Unix epoch. Any thread. */
  int64_t (*callback_now_unix_ns)(const struct tollgate_type_host *host);
  /** Monotonic clock, nanoseconds. Any thread. */
  int64_t (*callback_monotonic_ns)(const struct tollgate_type_host *host);
  /**
   * Performs an HTTP request and BLOCKS until the answer or the timeout. Thread: BLOCKING POOL
   * only, i.e. from on_build_request of a plugin that sets TOLLGATE_PLUGIN_FLAG_BUILD_MAY_BLOCK;
   * on an event loop it fails at once with TOLLGATE_ERR_INTERNAL instead of stalling the gateway.
   * On TOLLGATE_OK, *response is filled (any HTTP status); on failure *error holds a message.
   * request->struct_size must be set. OWNERSHIP: response buffers and *error are the host's.
   */
  tollgate_status (*callback_http_call)(const struct tollgate_type_host *host,
                                        const tollgate_type_http_request *request,
                                        tollgate_type_http_response *response,
                                        tollgate_type_host_buffer *error);
  /** Frees a buffer the host filled. Any thread; does not block. */
  void (*callback_free_buffer)(const struct tollgate_type_host *host, tollgate_type_host_buffer *buffer);
} tollgate_type_host;

/* ----------------------------------------------------------------------------------------------
 * Adaptor plugins
 *
 * Handles, from longest-lived to shortest:
 *   adaptor  one per (provider id, API version), created by the core's factory on first use and
 *            shared by every channel and request of that provider; read-only after creation.
 *   channel  one per configured channel (base URL, credentials, options), created when the
 *            channel is loaded and destroyed when it changes or is removed; may be used from
 *            several threads at once (guard any cache, e.g. an OAuth token, with a lock).
 *   stream   one per streamed response; used by one thread at a time.
 * -------------------------------------------------------------------------------------------- */

typedef struct tollgate_type_adaptor tollgate_type_adaptor; /* opaque, the plugin's */
typedef struct tollgate_type_channel tollgate_type_channel; /* opaque, the plugin's */
typedef struct tollgate_type_stream tollgate_type_stream;   /* opaque, the plugin's */

/** What the core asks an adaptor to send upstream. */
typedef struct tollgate_type_request_in {
  size_t struct_size;
  tollgate_type_operation operation;
  tollgate_type_dialect dialect; /* dialect of body; OPENAI unless the plugin accepts another */
  tollgate_type_bytes model;     /* the upstream model name (after the channel's model_map) */
  tollgate_type_bytes body;      /* the client's JSON body, model field already renamed */
  uint8_t stream;                /* 1 when the client asked for a streamed answer */
  tollgate_type_bytes client_headers; /* forwardable client headers, "Name: value\r\n" lines */
} tollgate_type_request_in;

/** The upstream request a plugin built. OWNERSHIP: every buffer is the plugin's (free_buffer). */
typedef struct tollgate_type_upstream_request {
  size_t struct_size;                  /* set by the core */
  tollgate_type_plugin_buffer method;  /* "POST"; empty means POST */
  tollgate_type_plugin_buffer url;     /* absolute URL */
  tollgate_type_plugin_buffer headers; /* "Name: value\r\n" lines, auth and signature included */
  tollgate_type_plugin_buffer body;
} tollgate_type_upstream_request;

/** A complete (non-streamed) upstream answer, for conversion. */
typedef struct tollgate_type_response_in {
  size_t struct_size;
  tollgate_type_operation operation;
  int32_t status;                /* upstream HTTP status */
  tollgate_type_bytes headers;   /* upstream headers, "name: value\r\n" lines */
  tollgate_type_bytes body;
  tollgate_type_bytes model;     /* the model the client asked for, to echo back */
  tollgate_type_bytes request_body; /* the client's request body, as given to on_build_request */
  /* ABI 1.1 */
  tollgate_type_dialect dialect; /* the dialect of the request body; answer in it */
} tollgate_type_response_in;

/** The converted answer, in the request's dialect. OWNERSHIP: body is the plugin's (free_buffer). */
typedef struct tollgate_type_response_out {
  size_t struct_size; /* set by the core */
  int32_t status; /* status to give the client; usually the upstream's */
  tollgate_type_plugin_buffer body;
  tollgate_type_usage usage;
} tollgate_type_response_out;

typedef struct tollgate_type_stream_params {
  size_t struct_size;
  tollgate_type_operation operation;
  tollgate_type_bytes model;   /* the model the client asked for, to echo back */
  tollgate_type_bytes headers; /* upstream response headers, "name: value\r\n" lines */
  uint8_t include_usage;       /* 1: the client asked for a final usage chunk */
  tollgate_type_bytes request_body; /* the client's request body, as given to on_build_request */
  /* ABI 1.1 */
  tollgate_type_dialect dialect; /* the dialect of the request body; stream events in it */
} tollgate_type_stream_params;

/* ABI 1.4: what an upstream answer says about the channel, for health and failover. */
typedef enum tollgate_type_verdict {
  TOLLGATE_VERDICT_GENERIC = 0,         /* no opinion: the core reads the answer as OpenAI-shaped */
  TOLLGATE_VERDICT_OK = 1,              /* a 2xx; only the rate-limit fields are read */
  TOLLGATE_VERDICT_REQUEST_ERROR = 2,   /* the request's fault (400, 413, 422 ...); nothing to learn */
  TOLLGATE_VERDICT_RATE_LIMITED = 3,    /* stay away for retry_after_ms (or the exhausted budget's reset) */
  TOLLGATE_VERDICT_OVERLOADED = 4,      /* the upstream is busy (Anthropic's 529): a server error */
  TOLLGATE_VERDICT_AUTH = 5,            /* the channel's credentials are refused */
  TOLLGATE_VERDICT_QUOTA = 6,           /* the account is out of credit */
  TOLLGATE_VERDICT_MODEL_NOT_FOUND = 7, /* this model is not served here */
  TOLLGATE_VERDICT_CONTEXT_WINDOW = 8,  /* the prompt does not fit the model; another channel may take it */
  TOLLGATE_VERDICT_DEPRECATED = 9,      /* the channel's own model is retired (see successor) */
  TOLLGATE_VERDICT_SERVER_ERROR = 10,   /* a 5xx or equivalent */
} tollgate_type_verdict;

/* Bits of tollgate_type_classification.limit_fields: which counts below are set. */
#define TOLLGATE_LIMIT_RETRY_AFTER (1u << 0)
#define TOLLGATE_LIMIT_REQUESTS_LIMIT (1u << 1)
#define TOLLGATE_LIMIT_REQUESTS_REMAINING (1u << 2)
#define TOLLGATE_LIMIT_REQUESTS_RESET (1u << 3)
#define TOLLGATE_LIMIT_TOKENS_LIMIT (1u << 4)
#define TOLLGATE_LIMIT_TOKENS_REMAINING (1u << 5)
#define TOLLGATE_LIMIT_TOKENS_RESET (1u << 6)

/** An upstream answer to classify (ABI 1.4). */
typedef struct tollgate_type_classify_in {
  size_t struct_size;
  int32_t status;              /* upstream HTTP status */
  tollgate_type_bytes headers; /* upstream headers, "name: value\r\n" lines */
  tollgate_type_bytes body;    /* the complete error body; empty for a 2xx */
  tollgate_type_bytes model;   /* the upstream model the channel sent */
} tollgate_type_classify_in;

/**
 * A plugin's reading of an answer (ABI 1.4). Durations are milliseconds from now; counts and
 * durations are read only when their TOLLGATE_LIMIT_* bit is set (negative values are ignored).
 * OWNERSHIP: the buffers are the plugin's (free_buffer); each is cut to 4 KiB by the core.
 * A text an upstream echoes may be the client's own words: DEPRECATED is only for the provider's
 * structured code for a retired model, with a message naming `model`; the core drops a DEPRECATED
 * whose message does not name it, and a successor equal to it.
 */
typedef struct tollgate_type_classification {
  size_t struct_size; /* set by the core */
  tollgate_type_verdict verdict;
  uint32_t limit_fields; /* TOLLGATE_LIMIT_* bits */
  int64_t retry_after_ms;
  int64_t requests_limit;
  int64_t requests_remaining;
  int64_t requests_reset_ms;
  int64_t tokens_limit;
  int64_t tokens_remaining;
  int64_t tokens_reset_ms;
  tollgate_type_buffer message;   /* the provider's error message, for the health view and logs */
  tollgate_type_buffer code;      /* the provider's structured error code or type, if any */
  tollgate_type_buffer successor; /* DEPRECATED: the model the provider names as the successor */
} tollgate_type_classification;

typedef struct tollgate_type_adaptor_hooks {
  size_t struct_size;
  /** Creates the shared adaptor for one provider id and API version (empty = the default).
   * Thread: CONTROL (when the first channel of the provider is built). Must not block. */
  tollgate_status (*on_adaptor_new)(tollgate_type_bytes provider_id, tollgate_type_bytes api_version,
                                    tollgate_type_adaptor **out, tollgate_type_plugin_buffer *error);
  /** Thread: ANY, after every channel of the adaptor is destroyed. Must not block. */
  void (*on_adaptor_destroy)(tollgate_type_adaptor *adaptor);
  /**
   * Creates a channel from its settings, a JSON object:
   *   {"name":..., "provider":..., "base_url":..., "api_version":..., "credentials":{...},
   *    "options":{...}}
   * Invalid settings return TOLLGATE_ERR_CONFIG with a message naming the field.
   * Thread: CONTROL (start-up, configuration reload). Must not block: fetch credentials lazily,
   * from on_build_request with TOLLGATE_PLUGIN_FLAG_BUILD_MAY_BLOCK.
   */
  tollgate_status (*on_channel_new)(tollgate_type_adaptor *adaptor, tollgate_type_bytes settings_json,
                                    tollgate_type_channel **out, tollgate_type_plugin_buffer *error);
  /** Thread: ANY, once no request uses the channel (the last may end on an event loop). Must
   * not block. */
  void (*on_channel_destroy)(tollgate_type_channel *channel);
  /** Builds the upstream request: URL, headers (auth, signature), converted body.
   * Thread: EVENT LOOP, must not block; BLOCKING POOL when the descriptor sets
   * TOLLGATE_PLUGIN_FLAG_BUILD_MAY_BLOCK, and then it may call callback_http_call. Called again
   * for each retry or failover attempt on this channel. */
  tollgate_status (*on_build_request)(tollgate_type_channel *channel,
                                      const tollgate_type_request_in *request,
                                      tollgate_type_upstream_request *out,
                                      tollgate_type_plugin_buffer *error);
  /** Converts a complete upstream answer (success or error) into the request's dialect
   * (response->dialect: OPENAI, or the provider's own when on_accepts_dialect took it).
   * Thread: EVENT LOOP. Must not block. */
  tollgate_status (*on_convert_response)(tollgate_type_channel *channel,
                                         const tollgate_type_response_in *response,
                                         tollgate_type_response_out *out,
                                         tollgate_type_plugin_buffer *error);
  /** Starts a stream transducer for a 2xx streamed answer. Thread: EVENT LOOP. Must not block. */
  tollgate_status (*on_stream_new)(tollgate_type_channel *channel,
                                   const tollgate_type_stream_params *params,
                                   tollgate_type_stream **out, tollgate_type_plugin_buffer *error);
  /**
   * Feeds upstream bytes as they arrive (any split). Fills *out with SSE bytes of the request's
   * dialect (params->dialect) ready for the client (possibly empty) and updates *usage in place (set fields and their bits; never
   * clear a bit). A non-OK status ends the stream: the core writes what *out holds (events
   * completed before the failure), then its own error event in the client's dialect, built from
   * *error; the plugin never writes an error event itself.
   * Thread: EVENT LOOP, once per upstream read, so it runs per chunk of every stream: must not
   * block, and should keep only the current event, not the whole answer.
   */
  tollgate_status (*on_stream_feed)(tollgate_type_stream *stream, tollgate_type_bytes chunk,
                                    tollgate_type_plugin_buffer *out, tollgate_type_usage *usage,
                                    tollgate_type_plugin_buffer *error);
  /** Upstream ended: flush what is left (e.g. a final chunk and "data: [DONE]"). A stream that
   * ended before its natural end returns TOLLGATE_ERR_UPSTREAM. Thread: EVENT LOOP. Must not
   * block. */
  tollgate_status (*on_stream_finish)(tollgate_type_stream *stream, tollgate_type_plugin_buffer *out,
                                      tollgate_type_usage *usage, tollgate_type_plugin_buffer *error);
  /** Thread: EVENT LOOP (or ANY at shutdown), after on_stream_finish or instead of it when the
   * client or upstream went away. Must not block. */
  void (*on_stream_destroy)(tollgate_type_stream *stream);
  /* ABI 1.1 */
  /**
   * Whether this channel takes a request body in `dialect` for `model` as it is (its provider's
   * own dialect: Anthropic Messages for Claude, say) and answers in that dialect, so a client
   * speaking it gets the bytes through untouched. Without this hook, or when it returns 0, the
   * core converts the client's body to the OPENAI dialect first and converts the answer back.
   * Called for every non-OPENAI client request; must be cheap. May be NULL.
   * Thread: EVENT LOOP. Must not block.
   */
  uint8_t (*on_accepts_dialect)(tollgate_type_channel *channel, tollgate_type_bytes model,
                                tollgate_type_dialect dialect);
  /* ABI 1.4 */
  /**
   * Reads an upstream answer in the provider's shape (rate-limit headers, error body) for health:
   * called with the head of every 2xx (body empty) and with every complete non-2xx answer. Returns
   * 0 and fills *out, or returns nonzero (or leaves TOLLGATE_VERDICT_GENERIC) for the core's
   * OpenAI-shaped reading. Thread: EVENT LOOP, for every answer: must be cheap, never block.
   * May be NULL (plugins built for ABI 1.0-1.3 get the OpenAI-shaped reading).
   */
  int32_t (*on_classify_response)(tollgate_type_channel *channel, const tollgate_type_classify_in *answer,
                                  tollgate_type_classification *out);
} tollgate_type_adaptor_hooks;

/* ----------------------------------------------------------------------------------------------
 * Billing plugins
 * -------------------------------------------------------------------------------------------- */

typedef struct tollgate_type_price tollgate_type_price; /* opaque, the plugin's; read-only */

/* Bits of tollgate_type_bill_request.flags. */
#define TOLLGATE_BILL_BATCH (1u << 0)
#define TOLLGATE_BILL_PRIORITY (1u << 1)
/** The host will not read the breakdown: a plugin may leave it empty (it is built per request). */
#define TOLLGATE_BILL_NO_BREAKDOWN (1u << 2)

typedef struct tollgate_type_bill_request {
  size_t struct_size;
  const tollgate_type_price *price;
  tollgate_type_usage usage;
  uint32_t flags;             /* TOLLGATE_BILL_* */
  tollgate_type_bytes region; /* "cn", "international" or empty (universal) */
} tollgate_type_bill_request;

/** A cost: integer nano-units (1e9 per unit) of an ISO 4217 currency. */
typedef struct tollgate_type_cost {
  int64_t nano_units;
  char currency[4]; /* "USD\0" */
} tollgate_type_cost;

typedef struct tollgate_type_billing_hooks {
  size_t struct_size;
  /** Compiles one model's price entry (JSON) once, so billing a request parses nothing. The entry
   * is one object of LiteLLM's model_prices_and_context_window.json plus Tollgate's "currency",
   * "tiered_mode" and "regions" (docs/billing.md). Invalid data: TOLLGATE_ERR_CONFIG naming the
   * field. A price the usage needs but the entry lacks makes on_compute_cost fail the same way.
   * Thread: CONTROL (start-up, price sync, an admin API change), possibly an EVENT LOOP. Must
   * not block. */
  tollgate_status (*on_price_new)(tollgate_type_bytes price_json, tollgate_type_price **out,
                                  tollgate_type_plugin_buffer *error);
  /** Thread: ANY, once no request uses the price. Must not block. */
  void (*on_price_destroy)(tollgate_type_price *price);
  /** Prices one request. *breakdown receives a JSON object explaining the sum (may be empty).
   * Thread: EVENT LOOP, at the end of every priced request. Must not block. */
  tollgate_status (*on_compute_cost)(const tollgate_type_bill_request *request,
                                     tollgate_type_cost *out, tollgate_type_plugin_buffer *breakdown,
                                     tollgate_type_plugin_buffer *error);
} tollgate_type_billing_hooks;

/* ----------------------------------------------------------------------------------------------
 * The descriptor and the entry symbol
 * -------------------------------------------------------------------------------------------- */

/* Bits of tollgate_type_plugin_descriptor.flags. */
/* on_build_request runs on the BLOCKING POOL and may call callback_http_call (costs a thread hop
 * per request: set it only when needed). */
#define TOLLGATE_PLUGIN_FLAG_BUILD_MAY_BLOCK (1u << 0)

typedef struct tollgate_type_plugin_descriptor {
  size_t struct_size; /* sizeof(tollgate_type_plugin_descriptor) as the plugin was built; at
                       * least the ABI 1.0 size (through `billing`) */
  uint16_t abi_major; /* TOLLGATE_ABI_VERSION_MAJOR */
  uint16_t abi_minor; /* TOLLGATE_ABI_VERSION_MINOR */
  tollgate_type_plugin_kind kind;
  uint32_t flags;                    /* TOLLGATE_PLUGIN_FLAG_* */
  const char *name;                  /* e.g. "claude"; NUL-terminated, static */
  const char *version;               /* the plugin's own version, e.g. "1.2.0" */
  const char *const *provider_ids;   /* provider ids served (adaptors); static */
  size_t provider_id_count;
  /** Called once after the checks pass, before any other hook. A non-OK status refuses the
   * plugin (the core then dlclose()s it). The host table stays valid until on_shutdown.
   * Thread: CONTROL (start-up or the plugin directory watcher). Must not block. */
  tollgate_status (*on_init)(const tollgate_type_host *host, tollgate_type_plugin_buffer *error);
  /** Called once when the core unloads the plugin; no hook runs after it. Not called when
   * on_init failed. May be NULL. Thread: ANY (the one releasing the plugin). Must not block. */
  void (*on_shutdown)(void);
  /** Frees any buffer this plugin filled. Must accept an empty buffer. Thread: ANY; must not
   * block. */
  void (*free_buffer)(tollgate_type_plugin_buffer *buffer);
  const tollgate_type_adaptor_hooks *adaptor; /* when kind == TOLLGATE_KIND_ADAPTOR */
  const tollgate_type_billing_hooks *billing; /* when kind == TOLLGATE_KIND_BILLING */
  /* ABI 1.4 */
  /**
   * What the core needs to know about each provider id, as static NUL-terminated JSON (may be
   * NULL), so adding a provider never touches the core:
   *   {"<provider id>": {
   *      "price_prefixes": ["anthropic"],      price-list entries tried as "<prefix>/<model>"
   *      "forward_headers": ["anthropic-beta"], client headers passed to on_build_request
   *      "success_header_prefixes": ["anthropic-ratelimit-"],  the (lower-case) header-name
   *                                             prefixes on_classify_response reads on a 2xx answer:
   *                                             it is called for one only when a header has one
   *                                             ([]: never; absent: on every answer)
   *      "environment": {                       the channel the embedded default adds
   *        "credentials": {"api_key": ["ANTHROPIC_API_KEY"]},  first non-empty variable wins
   *        "options": {"region": ["AWS_REGION", "AWS_DEFAULT_REGION"]},
   *        "require": ["api_key"],              credentials/options that must be set
   *        "models": ["claude-*"], "priority": 0}}}
   * Read once at load; a malformed value refuses the plugin with the reason.
   */
  const char *provider_info_json;
} tollgate_type_plugin_descriptor;

/** The one symbol a plugin exports. Returns a descriptor with static lifetime; must not fail or
 * allocate per call. */
typedef const tollgate_type_plugin_descriptor *(*tollgate_type_plugin_entry)(void);

#ifdef __cplusplus
}
#endif

#endif /* TOLLGATE_PLUGIN_H */
