/* ep_benchtext.h — a scanner for Go benchmark text (golang proposal 14313).
 *
 * ep_benchtext_scan() splits a buffer into lines exactly as Python's
 * str.splitlines() does for ASCII text (\n, \r, \r\n, \v, \f, \x1c-\x1e) and
 * turns every plain result line into flat arrays (struct of arrays): the
 * line number, an interned name id, the iteration count, and its values as
 * (interned unit id, double) pairs.  Only the unambiguous cases are taken:
 * an ASCII line, a decimal iteration count, decimal values Python's float()
 * reads to the same double, |value| <= 1e300, value/unit pairs complete.
 * Every other line that could matter — configuration lines (starting a-z),
 * result lines with anything unusual (errors included) — is listed for the
 * caller to read with its own rules, in order.  A line break outside ASCII
 * (U+0085, U+2028, U+2029) makes the scan return EILSEQ: the caller then
 * reads the whole text itself.
 */
#ifndef EP_BENCHTEXT_H
#define EP_BENCHTEXT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    /* one per result line taken */
    int64_t *line;     /* 1-based line number */
    int32_t *name;     /* index into the name table */
    int64_t *iters;
    int64_t *vend;     /* values of result i: [vend[i-1] (0 for i = 0), vend[i]) */
    size_t n, n_cap;
    /* one per value */
    double *val;
    int32_t *unit;     /* index into the unit table */
    size_t nv, nv_cap;
    /* interned strings: byte offset and length in the buffer */
    int64_t *name_off, *name_len, *unit_off, *unit_len;
    size_t n_names, n_units, names_cap, units_cap;
    /* lines left to the caller: line number, byte offset, length */
    int64_t *other_line, *other_off, *other_len;
    size_t n_other, other_cap;
    int non_ascii; /* some byte >= 0x80 somewhere */
} ep_benchtext;

/* 0, ENOMEM, or EILSEQ (see above); on failure `out` is freed and zeroed. */
int ep_benchtext_scan(const uint8_t *buf, size_t len, ep_benchtext *out);
void ep_benchtext_free(ep_benchtext *t);

#endif
