// Package export builds guarded CSV exports of CRM records (security
// catalog §O) and serves them through short-lived signed download links.
//
// # The file
//
// [AppendRecord] writes one RFC 4180 record: fields are separated by ",",
// records end in CRLF, and a field is quoted (with embedded quotes doubled,
// RFC 4180 §2.6–2.7) when it contains a comma, a quote, CR or LF, and also
// when it contains ";" or a tab or starts or ends with a space, so that
// spreadsheets of ";"- or tab-separated locales still read it as one cell.
// Every field first passes through [Guard], the formula-injection guard:
// a cell whose first non-blank character is = + - @ (or a full-width or
// small form that NFKC folds to one, such as ＝ ＋ － ＠, or the minus sign
// U+2212), or whose first character is a tab, CR, LF or NUL, gets a
// leading "'" so that Excel, LibreOffice and Google Sheets show it as
// text. Blank means white space and invisible format characters, which
// some consumers trim. The policy is deliberately blunt: "-42" and
// "+1 555 0100" are prefixed too, since every exported column is a
// user-authored string. "'=1+1" is left alone ("'" is not a trigger), so
// the guard is idempotent.
//
// # The paging loop
//
// [Run] pages through a [Source] (the CRM API, tenant-scoped by the
// caller's service token) under [Limits]: a row cap (default 1 000), a
// byte cap (8 MiB), a wall-clock deadline for the whole export (120 s) and
// a timeout per page (15 s), so that one hanging page cannot eat the whole
// budget. Rows are only ever written whole. The result carries a [Reason]:
// complete, cap (rows or bytes), deadline, or incomplete (a page timed
// out or the CRM failed), and a finer [Detail]. A cancelled request stops
// paging at once: the page in flight is abandoned and no further page is
// asked for. Columns come from an allow-list ([Table]); a caller may pick
// a subset, never add one.
//
// # Delivery
//
// Small files travel inside the tool result as an embedded text/csv
// resource. Larger ones are stored in the shared state ([state.Exports],
// Redis when several replicas run) and served by [Links] at
// GET /mcp/exports/{id}?exp=…&sig=…: the signature is an HMAC over the id,
// the tenant, the user and the expiry (10 minutes), and the download needs
// the same bearer authentication as /mcp. Another user's or tenant's
// token, a tampered signature or expiry and an unknown id all get the same
// 404; only the owner learns that a link expired (410).
package export
