/*
 * ollama_util.c — string building, error messages, JSON serialization, UTF-8 repair, RFC 3339
 * parsing and ids for the ollama-native plugin.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ollama_internal.h"

/* ---------------------------------------------------------------------------------------------
 * String builder
 * ------------------------------------------------------------------------------------------- */

static bool sb_reserve(oln_sb *sb, size_t extra) {
  if (sb->oom) return false;
  if (extra > SIZE_MAX - sb->len - 1) {
    sb->oom = true;
    return false;
  }
  size_t need = sb->len + extra + 1; /* keep room for a NUL */
  if (need <= sb->cap) return true;
  size_t cap = sb->cap ? sb->cap : 256;
  while (cap < need) {
    if (cap > SIZE_MAX / 2) {
      cap = need;
      break;
    }
    cap *= 2;
  }
  char *p = realloc(sb->ptr, cap);
  if (!p) {
    sb->oom = true;
    return false;
  }
  sb->ptr = p;
  sb->cap = cap;
  return true;
}

bool oln_sb_append(oln_sb *sb, const void *data, size_t len) {
  if (len == 0) return !sb->oom;
  if (!sb_reserve(sb, len)) return false;
  memcpy(sb->ptr + sb->len, data, len);
  sb->len += len;
  sb->ptr[sb->len] = '\0';
  return true;
}

bool oln_sb_append_str(oln_sb *sb, const char *s) { return oln_sb_append(sb, s, strlen(s)); }

void oln_sb_free(oln_sb *sb) {
  free(sb->ptr);
  sb->ptr = NULL;
  sb->len = sb->cap = 0;
  sb->oom = false;
}

void oln_sb_move_to_buffer(oln_sb *sb, tollgate_type_buffer *out) {
  if (sb->len == 0 || sb->oom) {
    oln_sb_free(sb);
    out->ptr = NULL;
    out->len = 0;
    return;
  }
  out->ptr = (uint8_t *)sb->ptr;
  out->len = sb->len;
  sb->ptr = NULL;
  sb->len = sb->cap = 0;
}

/* ---------------------------------------------------------------------------------------------
 * JSON serialization.
 *
 * jansson prints every real with one precision for the whole document (17 digits by default,
 * which turns 0.1 into 0.10000000000000001). We pick the smallest precision with which every real
 * in the document reads back to the same double: lossless, and short for ordinary values
 * (temperatures, float32 embeddings).
 * ------------------------------------------------------------------------------------------- */

static bool real_round_trips(double d, int precision) {
  char buf[64];
  int n = snprintf(buf, sizeof buf, "%.*g", precision, d);
  if (n <= 0 || (size_t)n >= sizeof buf) return false;
  return strtod(buf, NULL) == d;
}

static int real_precision(const json_t *value, int precision, int depth) {
  if (precision >= 17 || depth > 4096) return 17;
  switch (json_typeof(value)) {
    case JSON_REAL: {
      double d = json_real_value(value);
      while (precision < 17 && !real_round_trips(d, precision)) precision++;
      return precision;
    }
    case JSON_ARRAY: {
      size_t n = json_array_size(value);
      for (size_t i = 0; i < n && precision < 17; i++)
        precision = real_precision(json_array_get(value, i), precision, depth + 1);
      return precision;
    }
    case JSON_OBJECT: {
      const char *key;
      json_t *member;
      json_object_foreach((json_t *)value, key, member) {
        (void)key;
        precision = real_precision(member, precision, depth + 1);
        if (precision >= 17) break;
      }
      return precision;
    }
    default:
      return precision;
  }
}

static size_t dump_flags(const json_t *value) {
  int precision = real_precision(value, 1, 0);
  return JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(precision);
}

bool oln_sb_append_json(oln_sb *sb, const json_t *value) {
  if (!value) {
    sb->oom = true;
    return false;
  }
  size_t flags = dump_flags(value);
  size_t n = json_dumpb(value, NULL, 0, flags);
  if (n == 0 || !sb_reserve(sb, n)) {
    sb->oom = true;
    return false;
  }
  if (json_dumpb(value, sb->ptr + sb->len, n, flags) != n) {
    sb->oom = true;
    return false;
  }
  sb->len += n;
  sb->ptr[sb->len] = '\0';
  return true;
}

char *oln_dump_string(const json_t *value) {
  oln_sb sb = {0};
  if (!oln_sb_append_json(&sb, value)) {
    oln_sb_free(&sb);
    return NULL;
  }
  return sb.ptr;
}

bool oln_dump_to_buffer(const json_t *value, tollgate_type_buffer *out) {
  oln_sb sb = {0};
  if (!oln_sb_append_json(&sb, value)) {
    oln_sb_free(&sb);
    return false;
  }
  oln_sb_move_to_buffer(&sb, out);
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * UTF-8
 * ------------------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4), or 0 if the bytes there are not valid UTF-8. */
static size_t utf8_valid_len(const uint8_t *p, size_t n) {
  uint8_t c = p[0];
  if (c < 0x80) return 1;
  size_t len;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (size_t i = 1; i < len; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}

char *oln_utf8_sanitize(const uint8_t *ptr, size_t len, size_t *out_len) {
  oln_sb sb = {0};
  static const char replacement[] = "\xEF\xBF\xBD";
  size_t i = 0;
  if (!sb_reserve(&sb, len)) return NULL;
  while (ptr && i < len) {
    size_t run = i;
    size_t k;
    while (run < len && (k = utf8_valid_len(ptr + run, len - run)) != 0) run += k;
    oln_sb_append(&sb, ptr + i, run - i);
    if (run < len) {
      oln_sb_append(&sb, replacement, 3);
      run++;
    }
    i = run;
  }
  if (sb.oom) {
    oln_sb_free(&sb);
    return NULL;
  }
  sb.ptr[sb.len] = '\0';
  if (out_len) *out_len = sb.len;
  return sb.ptr;
}

json_t *oln_json_string_lossy(const uint8_t *ptr, size_t len) {
  if (!ptr || len == 0) return json_string("");
  json_t *s = json_stringn((const char *)ptr, len);
  if (s) return s;
  size_t n = 0;
  char *clean = oln_utf8_sanitize(ptr, len, &n);
  if (!clean) return NULL;
  s = json_stringn(clean, n);
  free(clean);
  return s;
}

char *oln_strndup(const char *s, size_t len) {
  if (len == SIZE_MAX) return NULL;
  char *p = malloc(len + 1);
  if (!p) return NULL;
  if (len) memcpy(p, s, len);
  p[len] = '\0';
  return p;
}

bool oln_starts_with_ci(const char *s, size_t len, const char *prefix) {
  size_t n = strlen(prefix);
  if (len < n) return false;
  for (size_t i = 0; i < n; i++) {
    char a = s[i], b = prefix[i];
    if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
    if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
    if (a != b) return false;
  }
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------------------------- */

tollgate_status oln_fail(tollgate_type_buffer *error, tollgate_status status, const char *fmt,
                         ...) {
  if (!error) return status;
  va_list ap;
  va_start(ap, fmt);
  char small[512];
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return status;
  char *text = small;
  char *big = NULL;
  if ((size_t)n >= sizeof small) {
    big = malloc((size_t)n + 1);
    if (!big) return status;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    text = big;
  }
  size_t len = 0;
  char *clean = oln_utf8_sanitize((const uint8_t *)text, (size_t)n, &len);
  free(big);
  if (!clean) return status;
  error->ptr = (uint8_t *)clean;
  error->len = len;
  return status;
}

/* ---------------------------------------------------------------------------------------------
 * Time and ids
 * ------------------------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static bool read_digits(const char *s, size_t len, size_t *i, size_t count, unsigned *out) {
  unsigned v = 0;
  for (size_t k = 0; k < count; k++) {
    if (*i >= len || s[*i] < '0' || s[*i] > '9') return false;
    v = v * 10 + (unsigned)(s[*i] - '0');
    (*i)++;
  }
  *out = v;
  return true;
}

static bool expect(const char *s, size_t len, size_t *i, char c) {
  if (*i >= len || s[*i] != c) return false;
  (*i)++;
  return true;
}

bool oln_parse_rfc3339(const char *s, size_t len, int64_t *out) {
  static const unsigned month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  size_t i = 0;
  unsigned year, month, day, hour, minute, second;
  if (!s) return false;
  if (!read_digits(s, len, &i, 4, &year) || !expect(s, len, &i, '-') ||
      !read_digits(s, len, &i, 2, &month) || !expect(s, len, &i, '-') ||
      !read_digits(s, len, &i, 2, &day))
    return false;
  if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) return false;
  i++;
  if (!read_digits(s, len, &i, 2, &hour) || !expect(s, len, &i, ':') ||
      !read_digits(s, len, &i, 2, &minute) || !expect(s, len, &i, ':') ||
      !read_digits(s, len, &i, 2, &second))
    return false;
  if (month < 1 || month > 12 || day < 1 || day > month_days[month - 1] || hour > 23 ||
      minute > 59 || second > 60)
    return false;
  if (month == 2 && day == 29 && !((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
    return false;
  if (i < len && s[i] == '.') {
    i++;
    size_t start = i;
    while (i < len && s[i] >= '0' && s[i] <= '9') i++;
    if (i == start) return false;
  }
  int64_t offset = 0;
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
    i++;
  } else if (i < len && (s[i] == '+' || s[i] == '-')) {
    int sign = s[i] == '-' ? -1 : 1;
    unsigned oh, om;
    i++;
    if (!read_digits(s, len, &i, 2, &oh) || !expect(s, len, &i, ':') ||
        !read_digits(s, len, &i, 2, &om) || oh > 23 || om > 59)
      return false;
    offset = sign * ((int64_t)oh * 3600 + (int64_t)om * 60);
  } else {
    return false;
  }
  if (i != len) return false;
  int64_t days = days_from_civil((int64_t)year, month, day);
  *out = days * 86400 + (int64_t)hour * 3600 + (int64_t)minute * 60 + (int64_t)second - offset;
  return true;
}

void oln_make_id(const void *data, size_t len, char *out, size_t out_size) {
  uint64_t h = 0xcbf29ce484222325ULL;
  const uint8_t *p = data;
  for (size_t i = 0; p && i < len; i++) {
    h ^= p[i];
    h *= 0x100000001b3ULL;
  }
  snprintf(out, out_size, "chatcmpl-ollama-%016llx", (unsigned long long)h);
}
