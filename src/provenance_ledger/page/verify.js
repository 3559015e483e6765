/* provenance-ledger verification page: the checks of `provenance verify` for an inclusion
 * receipt (specs/receipts.md sections 2-4), in the browser, with no network.
 *
 * A classic script (not an ES module): Chromium refuses module scripts on file:// pages, and
 * this page must work opened from a file. It defines one global, PLVerify.
 *
 * Ed25519 and SHA-256 are the browser's own WebCrypto (crypto.subtle): no third-party code.
 *
 * Steps are numbered as in specs/receipts.md section 3; every failure is a VerifyError whose
 * `check` names the step that failed:
 *   receipt     the receipt's JSON shape (section 2)
 *   checkpoint  (1) the checkpoint note and the trusted log key's signature on it
 *   log_key     (3) the receipt's log_key is the trusted key
 *   event       (4) the leaf parses strictly and its actor's signature verifies (events.md 7)
 *   inclusion   (5) the RFC 9162 inclusion proof (merkle.md 2, 4)
 *   decoded     (a) the parts written for people match the signed parts
 *   quorum      (b) the policy's witness quorum (section 4)
 *   file        (c) the file's SHA-256 is the event's work
 */
(function (global) {
  "use strict";

  const RECEIPT_FORMAT = "provenance-ledger/receipt/v1";
  const TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1";
  const MAX_RECEIPT_BYTES = 1 << 20;
  const MAX_CURRENT_RECEIPT_BYTES = 64 << 20;
  const MAX_PROOF_HASHES = 64;
  const HASH_SIZE = 32;
  const MAX_NOTE_BYTES = 1 << 16;
  const MAX_NOTE_SIGNATURES = 100;
  const MAX_TREE_SIZE = (1n << 63n) - 1n;
  const MAX_LEAF_BYTES = 16 * 1024;
  const MAX_POLICY_BYTES = 64 * 1024;
  const MAX_POLICY_LINES = 1024;
  const MAX_KEY_NAME_BYTES = 255;
  const MAX_SAFE = Number.MAX_SAFE_INTEGER;
  const MAX_TIME = 253402300799n;  // 9999-12-31T23:59:59Z (events.md section 2.3)
  const SIG_TYPE_ED25519 = 0x01;
  const SIG_TYPE_COSIGNATURE_V1 = 0x04;
  const EVENT_SIGNING_PREFIX = "provenance-ledger/event/v1\n";
  const LEAF_HEAD = '{"event":';
  const LEAF_SIG = ',"sig":';
  const RECEIPT_FIELDS = ["format", "log_key", "checkpoint", "leaf_index", "leaf",
    "inclusion_proof", "event", "tlog_proof"];

  class VerifyError extends Error {
    /** `about`, when given: what of the receipt failed, for people (words.js decodedMeaning). */
    constructor(check, message, about) {
      super(message);
      this.check = check;
      this.about = about || null;
    }
  }
  /** Input of the verifier itself (policy, log key), not of the receipt: the CLI's exit 2. */
  class InputError extends Error {}

  const enc = new TextEncoder();
  const decStrict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

  // ---- strict JSON: duplicate keys refused, floats and big integers kept apart -----------

  /** A JSON number written with a fraction or exponent (Python reads it as a float). */
  class JsonFloat {
    constructor(text) { this.text = text; this.value = Number(text); }
  }

  const MAX_INT_DIGITS = 4300;  // Python's int_max_str_digits: a longer integer is not read
  const SIMPLE_ESCAPES = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };

  /** Python's json.loads with the checks of encoding.py load_json, in one pass over the text.
   * It scans by character codes and copies runs of a string at once: a receipt may be 64 MiB,
   * and the page (one thread) must answer in seconds, not stop for a minute. */
  function parseJson(text, what) {
    let i = 0;
    const n = text.length;
    const fail = (why) => { throw new VerifyError("receipt", `${what} is not valid UTF-8 JSON: ${why} at ${i}`); };
    const ws = () => {
      for (let c = text.charCodeAt(i); c === 32 || c === 9 || c === 10 || c === 13; c = text.charCodeAt(++i));
    };
    function value(depth) {
      if (depth > 900) fail("nested too deeply");
      ws();
      const c = text.charCodeAt(i);
      if ((c >= 48 && c <= 57) || c === 45) return number();  // 0-9, -
      if (c === 123) {  // {
        i++; const obj = Object.create(null);  // no prototype: `in` sees its own keys only
        ws();
        if (text[i] === "}") { i++; return obj; }
        for (;;) {
          ws();
          if (text[i] !== '"') fail("expected a member name");
          const k = string();
          if (k in obj) throw new VerifyError("receipt", `duplicate JSON object key ${JSON.stringify(k.slice(0, 40))}`);
          ws(); if (text[i] !== ":") fail("expected ':'"); i++;
          obj[k] = value(depth + 1);
          ws();
          if (text[i] === ",") { i++; continue; }
          if (text[i] === "}") { i++; return obj; }
          fail("expected ',' or '}'");
        }
      }
      if (c === 91) {  // [
        i++; const arr = [];
        ws();
        if (text[i] === "]") { i++; return arr; }
        for (;;) {
          arr.push(value(depth + 1));
          ws();
          if (text[i] === ",") { i++; continue; }
          if (text[i] === "]") { i++; return arr; }
          fail("expected ',' or ']'");
        }
      }
      if (c === 34) return string();  // "
      if (text.startsWith("true", i)) { i += 4; return true; }
      if (text.startsWith("false", i)) { i += 5; return false; }
      if (text.startsWith("null", i)) { i += 4; return null; }
      fail("unexpected character");
    }
    function number() {
      const from = i;
      if (text.charCodeAt(i) === 45) i++;  // -
      const first = i;
      for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i));
      const digits = i - first;
      if (!digits) { i = from; fail("unexpected character"); }
      // A leading zero ends the number, as in Python ("01" is 0, then extra data).
      if (digits > 1 && text.charCodeAt(first) === 48) { i = first + 1; return first > from ? -0 : 0; }
      let float = false;
      if (text[i] === "." && /[0-9]/.test(text[i + 1] || "")) {
        float = true;
        for (let c = text.charCodeAt(++i); c >= 48 && c <= 57; c = text.charCodeAt(++i));
      }
      if ((text[i] === "e" || text[i] === "E") && /^[+-]?[0-9]/.test(text.slice(i + 1, i + 3))) {
        float = true;
        i++;
        if (text[i] === "+" || text[i] === "-") i++;
        for (let c = text.charCodeAt(i); c >= 48 && c <= 57; c = text.charCodeAt(++i));
      }
      const token = text.slice(from, i);
      if (float) return new JsonFloat(token);
      if (digits > MAX_INT_DIGITS) { i = from; fail(`an integer of more than ${MAX_INT_DIGITS} digits`); }
      const v = Number(token);
      return Number.isSafeInteger(v) ? (Object.is(v, -0) ? -0 : v) : BigInt(token);
    }
    function string() {
      i++;
      let out = "", run = i;
      for (;;) {
        let c = text.charCodeAt(i);
        while (c > 31 && c !== 34 && c !== 92) c = text.charCodeAt(++i);  // NaN past the end
        if (i >= n) fail("unterminated string");
        if (c === 34) { out += text.slice(run, i); i++; return out; }
        if (c < 32) fail("control character in string");
        out += text.slice(run, i);
        const e = text[i + 1];
        if (e in SIMPLE_ESCAPES) { out += SIMPLE_ESCAPES[e]; i += 2; }
        else if (e === "u") {
          let unit = 0;
          for (let k = i + 2; k < i + 6; k++) {
            const d = text.charCodeAt(k), x = d >= 48 && d <= 57 ? d - 48 : d >= 97 && d <= 102 ? d - 87 : d >= 65 && d <= 70 ? d - 55 : -1;
            if (x < 0) fail("bad escape");
            unit = unit * 16 + x;
          }
          out += String.fromCharCode(unit); i += 6;
        } else fail("bad escape");
        run = i;
      }
    }
    const v = value(0);
    ws();
    if (i !== n) fail("extra data");
    return v;
  }

  const isObj = (v) => v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof JsonFloat);
  const isInt = (v) => (typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint";
  const isStr = (v) => typeof v === "string";
  const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);
  const keysOf = (o) => Object.keys(o);
  // Control characters are escaped as Python's repr escapes them ('\x00', '\n'): a file that
  // is not text, quoted in a message, shows what it holds, not invisible bytes.
  const NAMED_ESCAPES = { "\t": "\\t", "\n": "\\n", "\r": "\\r" };
  const pyRepr = (s) => "'" + String(s).replace(/\\/g, "\\\\").replace(/'/g, "\\'")
    .replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => NAMED_ESCAPES[c] || "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0")) + "'";
  /** A string quoted for an error message as errors.quoted quotes it (specs/cli.md section 1,
   * errors): whole when its repr fits ``limit`` characters, else its start and its length,
   * `'abc…' (12,345 characters)`. */
  function quoted(value, limit = 80) {
    const s = String(value);
    if (s.length <= limit && pyRepr(s).length <= limit) return pyRepr(s);
    let lo = 0, hi = Math.min(s.length, limit);
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (pyRepr(s.slice(0, mid)).length < limit) lo = mid; else hi = mid - 1;
    }
    const shown = pyRepr(s.slice(0, lo));
    return `${shown.slice(0, -1)}\u2026${shown.slice(-1)} (${s.length.toLocaleString("en-US")} characters)`;
  }

  /** Python's `==` on parsed JSON values (True == 1, 1 == 1.0; key order does not count). */
  function jsonEqual(a, b) {
    const num = (v) => (typeof v === "boolean" ? (v ? 1 : 0) : v instanceof JsonFloat ? v.value
      : typeof v === "bigint" ? Number(v) : v);
    const scalarNum = (v) => typeof v === "boolean" || typeof v === "number" || typeof v === "bigint" || v instanceof JsonFloat;
    if (scalarNum(a) && scalarNum(b)) {
      if (typeof a === "bigint" && typeof b === "bigint") return a === b;
      return num(a) === num(b);
    }
    if (Array.isArray(a) || Array.isArray(b)) {
      if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
      return a.every((x, n) => jsonEqual(x, b[n]));
    }
    if (isObj(a) || isObj(b)) {
      if (!isObj(a) || !isObj(b)) return false;
      const ka = keysOf(a), kb = keysOf(b);
      if (ka.length !== kb.length) return false;
      return ka.every((k) => has(b, k) && jsonEqual(a[k], b[k]));
    }
    return a === b;
  }

  /** RFC 8785 for the signed subset (encoding.py canonical_json); null if not encodable. */
  function canonical(v) {
    if (v === null || typeof v === "boolean") return String(v);
    if (typeof v === "number") return String(v);
    if (typeof v === "bigint") return v.toString();
    if (v instanceof JsonFloat) return null;
    if (typeof v === "string") return hasLoneSurrogate(v) ? null : JSON.stringify(v);
    if (Array.isArray(v)) {
      const parts = v.map(canonical);
      return parts.includes(null) ? null : "[" + parts.join(",") + "]";
    }
    const parts = [];
    for (const k of keysOf(v).sort(codePointOrder)) {
      const inner = canonical(v[k]);
      if (inner === null || hasLoneSurrogate(k)) return null;
      parts.push(JSON.stringify(k) + ":" + inner);
    }
    return "{" + parts.join(",") + "}";
  }
  function codePointOrder(a, b) {
    const x = Array.from(a, (c) => c.codePointAt(0)), y = Array.from(b, (c) => c.codePointAt(0));
    for (let n = 0; n < Math.min(x.length, y.length); n++) if (x[n] !== y[n]) return x[n] - y[n];
    return x.length - y.length;
  }
  const hasLoneSurrogate = (s) => /[\ud800-\udfff]/u.test(s);

  // ---- bytes, base64, hex ------------------------------------------------------------------

  function b64encode(bytes) {
    let s = "";
    for (let n = 0; n < bytes.length; n += 0x8000) s += String.fromCharCode.apply(null, bytes.subarray(n, n + 0x8000));
    return btoa(s);
  }
  /** Strict standard base64 (encoding.py b64decode): canonical, optional exact length. */
  function b64decode(text, what, length, check) {
    check = check || "receipt";
    let raw;
    try {
      if (!/^[A-Za-z0-9+/=]*$/.test(text)) throw new Error();
      raw = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
    } catch (e) {
      throw new VerifyError(check, `${what} is not valid base64`);
    }
    if (b64encode(raw) !== text) throw new VerifyError(check, `${what} is not canonical base64`);
    if (length !== undefined && raw.length !== length)
      throw new VerifyError(check, `${what} decodes to ${raw.length} bytes, expected ${length}`);
    return raw;
  }
  const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) { out.set(p, off); off += p.length; }
    return out;
  }
  const equalBytes = (a, b) => a.length === b.length && a.every((x, n) => x === b[n]);
  async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)); }

  // The pinned Ed25519 acceptance rule (specs/events.md section 3.1, core/ed25519.py): the
  // browser's WebCrypto decides the cofactorless equation; these checks hold whatever library
  // it uses. S must be below L, and R must be a canonical encoding (y below p, and no sign bit
  // on x = 0, which is y = 1 or y = p - 1), since only the canonical encoding of [S]B - [k]A
  // is accepted. A is passed as given: a small-order or non-canonical A is the equation's to
  // decide (Chromium's BoringSSL does; Firefox's NSS refuses a non-canonical A, the one case
  // where that browser's verdict would differ).
  const fromHex = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));
  const ED25519_L = fromHex("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
  const FIELD_P = fromHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  const FIELD_P_MINUS_1 = fromHex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
  const FIELD_ONE = fromHex("0100000000000000000000000000000000000000000000000000000000000000");
  /** a < b, both 32-byte little-endian numbers. */
  function lessLE(a, b) {
    for (let i = 31; i >= 0; i--) if (a[i] !== b[i]) return a[i] < b[i];
    return false;
  }
  function canonicalR(r) {
    const y = r.slice(0, 32);
    y[31] &= 0x7f;
    if (!lessLE(y, FIELD_P)) return false;
    return !(r[31] & 0x80) || !(equalBytes(y, FIELD_ONE) || equalBytes(y, FIELD_P_MINUS_1));
  }

  async function ed25519Verify(publicKey, signature, message) {
    if (signature.length !== 64 || publicKey.length !== 32) return false;
    if (!lessLE(signature.slice(32), ED25519_L) || !canonicalR(signature.slice(0, 32))) return false;
    try {
      const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
      return await crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
    } catch (e) {
      if (e && e.name === "NotSupportedError") throw new InputError("this browser has no Ed25519 in WebCrypto");
      return false;  // a public key that is not a curve point verifies nothing
    }
  }

  // ---- text rules (encoding.py is_text, is_key_name; timefmt.py) --------------------------

  const NOT_TEXT = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]|[\ud800-\udfff]/u;
  const NOT_IN_NAME = /[+\x20\x85\xa0\xad\u1680\u180e\u2000-\u200f\u202f\u205f-\u2064\u3000\ufeff]/u;
  const isText = (s) => !NOT_TEXT.test(s);
  const isKeyName = (s) => {
    const n = enc.encode(s).length;
    return n > 0 && n <= MAX_KEY_NAME_BYTES && isText(s) && !NOT_IN_NAME.test(s);
  };
  function checkKeyName(name, what, check) {
    if (!isStr(name) || !isKeyName(name))
      throw new VerifyError(check, `${what || "key name"} ${pyRepr(String(name).slice(0, 80))} must be 1 to ${MAX_KEY_NAME_BYTES} bytes of text with no '+', no white space and no invisible characters`);
    return name;
  }
  const DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  function parseTime(text, what, check) {
    const m = isStr(text) ? /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z$/.exec(text) : null;
    if (!m) throw new VerifyError(check, `${what} ${pyRepr(String(text).slice(0, 40))} is not an RFC 3339 UTC time of the form YYYY-MM-DDTHH:MM:SSZ`);
    const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
    const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
    if (!(y >= 1970 && mo >= 1 && mo <= 12 && h < 24 && mi < 60 && s < 60 && d >= 1 &&
          d <= DAYS[mo - 1] + (mo === 2 && leap ? 1 : 0)))
      throw new VerifyError(check, `${what} '${text}' is not a valid date and time from 1970 on`);
    return Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
  }
  function formatTime(seconds) {
    return new Date(Number(seconds) * 1000).toISOString().replace(/\.000Z$/, "Z");
  }

  // ---- events (events.py: strict leaf parsing and the body schemas) ----------------------

  const E = (why) => new VerifyError("event", why);
  const HEX64 = /^[0-9a-f]{64}$/;
  const STANDARD_PURPOSES = ["ai_training", "ai_generative_training", "ai_inference", "data_mining", "ai_generation"];
  const CUSTOM_PURPOSE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?:[a-z0-9][a-z0-9_.-]*$/;
  const chars = (s) => Array.from(s).length;

  const vStr = (max, pattern) => (v, name) => {
    if (!isStr(v)) throw E(`${name} must be a string`);
    if (!v || chars(v) > max) throw E(`${name} must be 1 to ${max} characters`);
    if (pattern && !pattern.test(v)) throw E(`${name} ${pyRepr(v.slice(0, 80))} is not in the expected form`);
    if (!isText(v)) throw E(`${name} contains a character that is not text (a control character, line separator or bidirectional override)`);
  };
  const vUint = (max) => (v, name) => {
    if (!(typeof v === "number" && Number.isInteger(v)) || v < 0 || v > max) throw E(`${name} must be an integer from 0 to ${max}`);
  };
  const vKey = (v, name) => {
    if (!isStr(v) || !/^ed25519:[0-9a-f]{64}$/.test(v)) throw E(`${name}: key ${quoted(String(v))} is not of the form ed25519:<64 hex>`);
  };
  const vEventId = (v, name) => { if (!isStr(v) || !HEX64.test(v)) throw E(`${name} must be an event id (64 lowercase hex)`); };
  const vWorkId = (v, name) => {
    if (!isStr(v) || !v.startsWith("sha256:") || !HEX64.test(v.slice(7))) throw E(`${name} must be sha256:<64 lowercase hex>`);
  };
  const vTime = (v, name) => { parseTime(v, name, "event"); };
  const vPurpose = (v, name) => {
    if (!isStr(v) || !v || chars(v) > 64) throw E(`${name} must be a purpose name`);
    if (!STANDARD_PURPOSES.includes(v) && !CUSTOM_PURPOSE.test(v)) throw E(`unknown purpose ${pyRepr(v)}`);
  };
  const vList = (item) => (v, name) => {
    if (!Array.isArray(v) || v.length < 1 || v.length > 64) throw E(`${name} must be a list of 1 to 64 items`);
    v.forEach((x, n) => item(x, `${name}[${n}]`));
    if (new Set(v.map(canonical)).size !== v.length) throw E(`${name} has duplicate items`);
  };
  const vOneOf = (opts) => (v, name) => { if (!opts.includes(v)) throw E(`${name} must be one of ${opts.join(", ")}`); };
  const vObject = (fields, required) => (v, name) => {
    if (!isObj(v)) throw E(`${name} must be an object`);
    const unknown = keysOf(v).filter((k) => !has(fields, k)).sort();
    if (unknown.length) throw E(`${name} has unknown field ${pyRepr(unknown[0])}`);
    const missing = required.filter((k) => !has(v, k)).sort();
    if (missing.length) throw E(`${name} lacks required field ${pyRepr(missing[0])}`);
    for (const k of keysOf(v)) fields[k](v[k], `${name}.${k}`);
  };
  const vPayees = (v, name) => {
    vList(vObject({ key: vKey, share_bps: vUint(10000) }, ["key", "share_bps"]))(v, name);
    if (new Set(v.map((p) => p.key)).size !== v.length) throw E(`${name} names a key twice`);
    if (v.reduce((n, p) => n + p.share_bps, 0) !== 10000) throw E(`${name} shares must add up to 10000 basis points`);
  };
  const BODIES = {
    "work.register": vObject({ size: vUint(MAX_SAFE), media_type: vStr(127, /^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}$/),
      title: vStr(256), similarity: vStr(256), payees: vPayees }, ["size", "media_type"]),
    "work.transfer": vObject({ to: vKey, payees: vPayees }, ["to"]),
    "consent.grant": vObject({ grantee: (v, n) => (v === "*" ? undefined : vKey(v, n)), purposes: vList(vPurpose),
      until: vTime, conditions: vList(vOneOf(["attribution", "payment-required"])) }, ["grantee", "purposes"]),
    "consent.revoke": vObject({ grant: vEventId }, ["grant"]),
    "licence.offer": vObject({ licensee: vKey, purposes: vList(vPurpose),
      fee: vObject({ amount: vUint(MAX_SAFE), currency: vStr(3, /^[A-Z]{3}$/) }, ["amount", "currency"]),
      royalty_bps: vUint(10000), territories: vList(vStr(2, /^[A-Z]{2}$/)), from: vTime, until: vTime,
      terms_uri: vStr(2048, /^(https?:\/\/|urn:)[!-~]+$/), offer_expires: vTime }, ["licensee", "purposes"]),
    "licence.accept": vObject({ offer: vEventId }, ["offer"]),
    "licence.terminate": vObject({ licence: vEventId, reason: vStr(1024) }, ["licence"]),
    "dataset.disclose": vObject({ name: vStr(256), version: vStr(64), model: vStr(256), purposes: vList(vPurpose),
      root: vStr(64, /^[0-9a-f]{64}$/), count: vUint(MAX_SAFE), compliance: vWorkId },
      ["name", "version", "purposes", "root", "count"]),
  };
  // Usage and payments (events.md 6.9-6.12), identity attestations (6.13-6.14) and key events
  // (6.16-6.18): events.py's schemas of these bodies.
  const vFee = vObject({ amount: vUint(MAX_SAFE), currency: vStr(3, /^[A-Z]{3}$/) }, ["amount", "currency"]);
  const vPeriod = vStr(10, /^(19[7-9][0-9]|[2-9][0-9]{3})(-(0[1-9]|1[0-2])|-Q[1-4])?$/);
  const vSignature = (v, name) => {
    if (!isStr(v)) throw E(`${name} must be a base64 signature`);
    b64decode(v, name, 64, "event");
  };
  const vCosigs = vList(vObject({ key: vKey, sig: vSignature }, ["key", "sig"]));
  Object.assign(BODIES, {
    "usage.report": vObject({ licence: vEventId, period: vPeriod, units: vUint(MAX_SAFE), revenue: vFee },
      ["licence", "period", "units", "revenue"]),
    "payment.record": vObject({ licence: vEventId, to: vKey, amount: vFee, reference: vStr(256), period: vPeriod },
      ["licence", "to", "amount"]),
    "payment.ack": vObject({ payment: vEventId }, ["payment"]),
    "payment.dispute": vObject({ payment: vEventId, reason: vStr(1024) }, ["payment", "reason"]),
    "identity.attest": vObject({ key: vKey, name: vStr(256), url: vStr(2048, /^(https?:\/\/|urn:)[!-~]+$/),
      registry_id: vStr(256), member: vStr(64), from: vTime, until: vTime }, ["key", "name"]),
    "identity.revoke": vObject({ key: vKey, attestation: vEventId, reason: vStr(1024) }, ["key", "attestation"]),
    "key.rotate": vObject({ key: vKey, to: vKey, to_sig: vSignature, cosigs: vCosigs }, ["key", "to", "to_sig"]),
    "key.recovery": vObject({ key: vKey, keys: vList(vKey), threshold: vUint(64), association: vKey }, ["key"]),
    "key.compromised": vObject({ key: vKey, since: vTime, cosigs: vCosigs }, ["key", "since"]),
  });
  const ENVELOPE_FIELDS = ["v", "type", "work", "prev", "actor", "at", "body"];

  function checkJsonShape(v, depth) {
    if (depth > 16) throw E("JSON nested deeper than 16 levels");
    if (Array.isArray(v)) v.forEach((x) => checkJsonShape(x, depth + 1));
    else if (isObj(v)) for (const k of keysOf(v)) {
      if (!/^[\x00-\x7f]*$/.test(k)) throw E(`object key ${pyRepr(k)} is not an ASCII string`);
      checkJsonShape(v[k], depth + 1);
    }
  }

  /** Parse leaf bytes strictly and verify the actor's signature (events.py parse_leaf). */
  async function parseLeaf(leaf, verify) {
    if (leaf.length > MAX_LEAF_BYTES) throw E(`event is ${leaf.length} bytes, over the ${MAX_LEAF_BYTES}-byte limit`);
    let text;
    try { text = decStrict.decode(leaf); } catch (e) { throw E("event is not valid UTF-8 JSON"); }
    let outer;
    try { outer = parseJson(text, "event"); } catch (e) {
      if (e instanceof VerifyError && /^duplicate/.test(e.message)) throw E("event is not in canonical JSON form (RFC 8785)");
      throw E(e.message);
    }
    const ascii = /^[\x00-\x7f]*$/.test(text);
    if (!ascii || (text.match(/[{[]/g) || []).length > 16) checkJsonShape(outer, 0);
    const canon = canonical(outer);
    if (canon === null) {
      if (hasFloat(outer)) throw E("event holds a floating-point number");
      throw E("event contains a lone UTF-16 surrogate");
    }
    if (canon !== text) throw E("event is not in canonical JSON form (RFC 8785)");
    if (!isObj(outer) || keysOf(outer).sort().join(",") !== "event,sig")
      throw E('signed event must be an object with exactly "event" and "sig"');
    if (!isStr(outer.sig)) throw E("event signature must be a base64 string");
    const sig = b64decode(outer.sig, "event signature", 64, "event");
    const env = outer.event;
    if (!isObj(env)) throw E("event must be a JSON object");
    const unknown = keysOf(env).filter((k) => !ENVELOPE_FIELDS.includes(k)).sort();
    if (unknown.length) throw E(`event has unknown field ${pyRepr(unknown[0])}`);
    const missing = ENVELOPE_FIELDS.filter((k) => !has(env, k)).sort();
    if (missing.length) throw E(`event lacks field ${pyRepr(missing[0])}`);
    if (env.v !== 1) throw E(`event version ${String(env.v)} is not 1`);
    if (!isStr(env.type)) throw E("event type must be a string");
    const at = parseTime(env.at, "at", "event");
    if (!has(BODIES, env.type)) throw E(`unknown event type ${pyRepr(env.type.slice(0, 40))}`);
    vWorkId(env.work, "work");
    if (env.prev !== null) vEventId(env.prev, "prev");
    vKey(env.actor, "actor");
    BODIES[env.type](env.body, "body");
    const id = hex(await sha256(concat(new Uint8Array([0]), leaf)));
    const event = { id, type: env.type, work: env.work, prev: env.prev, actor: env.actor, at,
      body: env.body, envelope: env, sig: outer.sig, leaf };
    if (verify) {
      // The canonical envelope is the exact byte span between '{"event":' and ',"sig":'.
      const end = text.lastIndexOf(LEAF_SIG);
      const envelopeBytes = enc.encode(text.slice(LEAF_HEAD.length, end));
      const pub = hexToBytes(env.actor.slice(8));
      if (!(await ed25519Verify(pub, sig, concat(enc.encode(EVENT_SIGNING_PREFIX), envelopeBytes))))
        throw E(`event signature by ${env.actor} does not verify`);
    }
    return event;
  }
  const hasFloat = (v) => v instanceof JsonFloat || (Array.isArray(v) ? v.some(hasFloat) : isObj(v) ? keysOf(v).some((k) => hasFloat(v[k])) : false);
  const hexToBytes = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));

  /** The decoded event for people (SignedEvent.to_json): envelope plus id and sig. */
  function eventJson(ev) {
    return Object.assign({ id: ev.id }, ev.envelope, { sig: ev.sig });
  }

  // ---- verifier keys, signed notes, checkpoints (note.py; checkpoints.md 1-4) -------------

  async function keyId(name, type, pub) {
    return (await sha256(concat(enc.encode(name + "\n"), new Uint8Array([type]), pub))).slice(0, 4);
  }

  /** Parse `<name>+<hex id>+<base64(type || key)>` (note.py Verifier.from_vkey). */
  async function parseVkey(vkey, wantType) {
    const bad = (why) => new InputError(why);
    const first = vkey.indexOf("+"), second = first < 0 ? -1 : vkey.indexOf("+", first + 1);
    if (second < 0) throw bad(`verifier key ${quoted(vkey)} is not <name>+<hex id>+<base64>`);
    const name = vkey.slice(0, first), hexid = vkey.slice(first + 1, second), b64 = vkey.slice(second + 1);
    if (hexid.length !== 8 || hexid !== hexid.toLowerCase()) throw bad(`verifier key ${quoted(vkey)} is not <name>+<hex id>+<base64>`);
    if (!/^[0-9a-f]{8}$/.test(hexid)) throw bad(`verifier key id '${hexid}' is not hex`);
    let raw;
    try { raw = b64decode(b64, "verifier key"); } catch (e) { throw bad(e.message); }
    if (raw.length !== 33) throw bad("verifier key is not one type byte and a 32-byte Ed25519 key");
    if (!isKeyName(name)) throw bad(`key name ${pyRepr(name.slice(0, 80))} is not a valid key name`);
    const type = raw[0];
    if (type !== SIG_TYPE_ED25519 && type !== SIG_TYPE_COSIGNATURE_V1) throw bad(`unsupported signature type 0x${type.toString(16).padStart(2, "0")}`);
    const pub = raw.slice(1);
    const kid = await keyId(name, type, pub);
    if (hex(kid) !== hexid) throw bad(`verifier key id ${hexid} does not match its name and key`);
    if (wantType !== undefined && type !== wantType)
      throw bad(`verifier key ${quoted(vkey)} is not ${wantType === 1 ? "a log key (type 0x01)" : "a witness cosignature/v1 key (type 0x04)"}`);
    return { name, type, pub, keyId: kid, vkey: `${name}+${hexid}+${b64}` };
  }

  function parseNote(note) {
    const C = (why) => new VerifyError("checkpoint", why);
    if (enc.encode(note).length > MAX_NOTE_BYTES) throw C(`signed note is larger than ${MAX_NOTE_BYTES} bytes`);
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw C("signed note has no empty line before its signatures");
    const text = note.slice(0, split + 1), sigs = note.slice(split + 2);
    if (!sigs.endsWith("\n")) throw C("signed note does not end with a newline");
    const lines = sigs.slice(0, -1).split("\n");
    if (lines.length > MAX_NOTE_SIGNATURES) throw C(`signed note has more than ${MAX_NOTE_SIGNATURES} signatures`);
    const signatures = lines.map((line) => {
      if (!line.startsWith("\u2014 ")) throw C(`signature line does not start with an em dash: ${quoted(line)}`);
      const parts = line.slice(2).split(" ");
      if (parts.length !== 2) throw C(`signature line is not '— <name> <base64>': ${quoted(line)}`);
      checkKeyName(parts[0], "key name", "checkpoint");
      const raw = b64decode(parts[1], "note signature", undefined, "checkpoint");
      if (raw.length < 5) throw C("note signature is shorter than a key id and a signature");
      return { name: parts[0], keyId: raw.slice(0, 4), signature: raw.slice(4) };
    });
    if (!text.endsWith("\n")) throw C("note text must end with a newline");
    if (/[\x00-\x09\x0b-\x1f\x7f]/.test(text)) throw C("note text contains control characters");
    return { text, signatures };
  }

  function parseCheckpoint(text) {
    const C = (why) => new VerifyError("checkpoint", why);
    const lines = text.split("\n");
    if (lines.length < 4 || lines[lines.length - 1] !== "") throw C("checkpoint is not three newline-terminated lines");
    if (lines.length > 6) throw C("checkpoint has more than two extension lines; this log signs only its block line and its map line");
    const [origin, sizeText, rootText] = lines;
    if (!/^[0-9]+$/.test(sizeText) || (sizeText !== "0" && sizeText.startsWith("0")))
      throw C(`checkpoint size ${quoted(sizeText, 42)} is not a decimal number`);
    const size = BigInt(sizeText);
    if (size > MAX_TREE_SIZE) throw C("checkpoint size is out of range");
    checkKeyName(origin, "key name", "checkpoint");
    const root = b64decode(rootText, "checkpoint root", HASH_SIZE, "checkpoint");
    let block = null, mapRoot = null;
    if (lines.length >= 5) {
      const m = /^provenance-ledger\/block prev=(none|0|[1-9][0-9]{0,18}) time=([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)$/.exec(lines[3]);
      if (!m) throw C(`checkpoint extension line ${quoted(lines[3])} is not 'provenance-ledger/block prev=<size|none> time=<UTC time>'`);
      const prev = m[1] === "none" ? null : BigInt(m[1]);
      if (prev !== null && prev > MAX_TREE_SIZE) throw C("previous checkpoint size is out of range");
      block = { prev, time: parseTime(m[2], "checkpoint time", "checkpoint") };
      if (prev !== null && prev >= size) throw C(`checkpoint at size ${size} names a previous checkpoint at size ${prev}, which is not below it`);
    }
    if (lines.length === 6) {
      const prefix = "provenance-ledger/map root=";
      if (!lines[4].startsWith(prefix)) throw C(`checkpoint extension line ${quoted(lines[4])} is not 'provenance-ledger/map root=<base64>'`);
      mapRoot = b64decode(lines[4].slice(prefix.length), "checkpoint map root", HASH_SIZE, "checkpoint");
    }
    return { origin, size, root, block, mapRoot };
  }

  const matches = (v, sig) => sig.name === v.name && equalBytes(sig.keyId, v.keyId);

  /** Verify one signature line with key v; returns the cosignature time (type 0x04) or null. */
  async function verifySig(v, sig, text) {
    if (v.type === SIG_TYPE_ED25519) {
      if (sig.signature.length !== 64) throw new VerifyError("checkpoint", `signature by ${v.name} is not 64 bytes`);
      if (!(await ed25519Verify(v.pub, sig.signature, enc.encode(text))))
        throw new VerifyError("checkpoint", `note signature by ${v.name} does not verify`);
      return null;
    }
    if (sig.signature.length !== 72) throw new VerifyError("checkpoint", "cosignature is not a timestamp and a 64-byte signature");
    const ts = new DataView(sig.signature.buffer, sig.signature.byteOffset, 8).getBigUint64(0);
    const message = enc.encode(`cosignature/v1\ntime ${ts}\n${text}`);
    if (!(await ed25519Verify(v.pub, sig.signature.slice(8), message)))
      throw new VerifyError("checkpoint", `cosignature by ${v.name} does not verify`);
    // checkpoints.md section 4: a time after the last one times can state does not count.
    if (ts > MAX_TIME) throw new VerifyError("checkpoint", `cosignature by ${v.name} states a time after 9999-12-31T23:59:59Z`);
    return ts;
  }

  /** (1)-(2): the checkpoint is signed by a trusted log key named by its origin; returns the
   * checkpoint and the valid cosignatures (receipt.py verify_checkpoint_note). */
  async function verifyCheckpointNote(noteText, policy) {
    const note = parseNote(noteText);
    const cp = parseCheckpoint(note.text);
    // Only a type 0x01 key signs as a log (receipts.md section 1): a cosignature/v1 key named
    // as the origin is a witness's, never the log's.
    const own = policy.logs.filter((v) => v.name === cp.origin && v.type === SIG_TYPE_ED25519);
    if (!own.length) throw new VerifyError("checkpoint", `no trusted log key for origin ${pyRepr(cp.origin)}`);
    const verified = new Set();
    for (const sig of note.signatures)
      for (const v of own)
        if (matches(v, sig)) { await verifySig(v, sig, note.text); verified.add(v.name); }
    if (!verified.size) throw new VerifyError("checkpoint", `no trusted key signed this note (trusted: ${own.map((v) => v.name).join(", ")})`);
    // (2) each witness key counts once (receipts.md section 3): under the first local name
    // that holds it, with its newest valid cosignature whatever the order of the lines; a
    // log's key never counts as a witness's (the log would witness itself).
    const cosigners = new Map();
    const seen = new Set(policy.logs.map((v) => hex(v.pub)));
    for (const [wname, w] of policy.witnesses) {
      if (seen.has(hex(w.pub))) continue;
      seen.add(hex(w.pub));
      for (const sig of note.signatures)
        if (matches(w, sig)) {
          try {
            const ts = await verifySig(w, sig, note.text);
            if (ts !== null && (!cosigners.has(wname) || ts > cosigners.get(wname))) cosigners.set(wname, ts);
          } catch (e) {
            if (!(e instanceof VerifyError)) throw e;  // a bad cosignature counts for nothing
          }
        }
    }
    return { cp, note, cosigners };
  }

  // ---- trust policy (policy.py; receipts.md 4) ---------------------------------------------

  async function parsePolicy(text) {
    if (enc.encode(text).length > MAX_POLICY_BYTES) throw new InputError(`policy is larger than ${MAX_POLICY_BYTES} bytes`);
    const lines = text.split(/\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/);
    if (lines.length && lines[lines.length - 1] === "") lines.pop();
    if (lines.length > MAX_POLICY_LINES) throw new InputError(`policy has more than ${MAX_POLICY_LINES} lines`);
    const pol = { logs: [], witnesses: new Map(), groups: new Map(), quorum: null, attesters: [] };
    let seenQuorum = false;
    const newName = (n) => {
      if (pol.witnesses.has(n) || pol.groups.has(n)) throw new InputError(`name ${quoted(n)} is defined twice`);
      return n;
    };
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n].trim();
      if (!line || line.startsWith("#")) continue;
      const words = line.split(/\s+/);
      try {
        const kind = words[0];
        if (kind === "log" && (words.length === 2 || words.length === 3)) {
          pol.logs.push(await parseVkey(words[1], SIG_TYPE_ED25519));
        } else if (kind === "witness" && (words.length === 3 || words.length === 4)) {
          const name = newName(words[1]);
          pol.witnesses.set(name, await parseVkey(words[2], SIG_TYPE_COSIGNATURE_V1));
        } else if (kind === "group" && words.length >= 4) {
          const name = newName(words[1]), k = words[2], members = words.slice(3);
          for (const m of members) if (!pol.witnesses.has(m) && !pol.groups.has(m)) throw new InputError(`group member ${quoted(m)} is not defined above`);
          if (new Set(members).size !== members.length) throw new InputError("a group lists a member twice");
          let threshold;
          if (k === "all") threshold = members.length;
          else if (k === "any") threshold = 1;
          else if (/^[0-9]+$/.test(k) && Number(k) >= 1 && Number(k) <= members.length) threshold = Number(k);
          else throw new InputError(`threshold ${quoted(k)} is not all, any or 1..${members.length}`);
          pol.groups.set(name, { name, threshold, members });
        } else if (kind === "quorum" && words.length === 2) {
          if (seenQuorum) throw new InputError("quorum is given twice");
          seenQuorum = true;
          if (words[1] !== "none") {
            if (!pol.witnesses.has(words[1]) && !pol.groups.has(words[1])) throw new InputError(`quorum ${quoted(words[1])} is not a defined witness or group`);
            pol.quorum = words[1];
          }
        } else if (kind === "attester" && (words.length === 2 || words.length === 3)) {
          // The keys whose identity attestations the reader trusts (rules.md section 8).
          if (!/^ed25519:[0-9a-f]{64}$/.test(words[1])) throw new InputError(`key ${quoted(words[1])} is not of the form ed25519:<64 hex>`);
          if (pol.attesters.includes(words[1])) throw new InputError(`attester ${words[1]} is given twice`);
          pol.attesters.push(words[1]);
        } else {
          throw new InputError(`cannot read ${quoted(line, 62)}`);
        }
      } catch (e) {
        throw new InputError(`policy line ${n + 1}: ${e.message}`);
      }
    }
    if (!pol.logs.length) throw new InputError("policy names no log key");
    if (!seenQuorum) throw new InputError("policy has no quorum line (write 'quorum none' for no witnesses)");
    return pol;
  }

  /** A trust input: a policy text, or a single log vkey (then `quorum none`), refused as
   * `provenance verify` refuses its --policy or --log-key (cli/verify.py; the CLI's exit 2). */
  async function parseTrust(text) {
    const t = text.trim();
    if (/^[^\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/.test(t)) {
      // a log key is type 0x01 (receipts.md section 1): a cosignature/v1 key would take a
      // witness's cosignature for the log's signature
      return { logs: [await parseVkey(t, SIG_TYPE_ED25519)], witnesses: new Map(), groups: new Map(), quorum: null, attesters: [] };
    }
    const pol = await parsePolicy(text);
    oneNamePerWitness(pol);
    return pol;
  }

  /** A policy names each witness key once, and no log's key as a witness's (receipts.md
   * section 4; cli/verify.py _one_name_per_witness): under two names, one cosignature would
   * satisfy both, and a quorum of two could be met by one witness; a log's key as a
   * witness's lets the log meet a quorum. */
  function oneNamePerWitness(pol) {
    const logs = new Set(pol.logs.map((v) => hex(v.pub)));
    const names = new Map();
    for (const [name, w] of pol.witnesses) {
      const k = hex(w.pub);
      if (logs.has(k)) throw new InputError(`policy witness ${name} has the key of a log line: a log cannot witness its own checkpoints`);
      if (!names.has(k)) names.set(k, name);
      const other = names.get(k);
      if (other !== name) throw new InputError(`policy names one witness key twice, as ${other} and ${name}: it would count one cosignature twice toward the quorum`);
    }
  }

  function satisfied(pol, cosigners, name) {
    const target = name === undefined ? pol.quorum : name;
    if (target === null) return true;
    if (pol.witnesses.has(target)) return cosigners.has(target);
    const g = pol.groups.get(target);
    return g.members.filter((m) => satisfied(pol, cosigners, m)).length >= g.threshold;
  }
  function describePolicy(pol) {
    if (pol.quorum === null) return "no witnesses required";
    const g = pol.groups.get(pol.quorum);
    if (!g) return `witness ${pol.quorum} must cosign`;
    return `${g.threshold} of ${g.members.length} of group ${g.name} must cosign`;
  }

  // ---- Merkle inclusion (merkle.py root_from_inclusion_proof; RFC 9162 2.1.3.2) ------------

  async function rootFromInclusion(index, size, leafHash, proof) {
    const I = (why) => new VerifyError("inclusion", `inclusion proof: ${why}`);
    // (1) the index must lie inside the tree.
    if (!(index >= 0n && index < size)) throw I(`leaf index ${index} is not below tree size ${size}`);
    // (2), (3)
    let fn = index, sn = size - 1n, r = leafHash;
    // (4)
    for (const p of proof) {
      if (sn === 0n) throw I("inclusion proof is longer than the tree is deep");
      if ((fn & 1n) || fn === sn) {
        r = await sha256(concat(new Uint8Array([1]), p, r));
        while (!(fn & 1n) && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
      } else {
        r = await sha256(concat(new Uint8Array([1]), r, p));
      }
      fn >>= 1n; sn >>= 1n;
    }
    // (5) the proof must have reached the root.
    if (sn !== 0n) throw I("inclusion proof is shorter than the tree is deep");
    return r;
  }

  // ---- the receipt (receipt.py Receipt.from_json, verify_receipt; cli/verify.py) ----------

  function parseReceiptShape(data) {
    const R = (why) => new VerifyError("receipt", why);
    if (!isObj(data)) throw R("receipt must be a JSON object");
    const unknown = keysOf(data).filter((k) => !RECEIPT_FIELDS.includes(k)).sort();
    if (unknown.length) throw R(`receipt has unknown field ${pyRepr(unknown[0])}`);
    if (data.format !== RECEIPT_FORMAT) throw R(`receipt format is not ${RECEIPT_FORMAT}`);
    for (const [name, kind, ok] of [["log_key", "str", isStr], ["checkpoint", "str", isStr], ["leaf", "str", isStr],
      ["leaf_index", "int", isInt], ["inclusion_proof", "list", Array.isArray]])
      if (!has(data, name) || !ok(data[name])) throw R(`receipt field '${name}' is missing or not a ${kind}`);
    const proof = data.inclusion_proof;
    if (proof.length > MAX_PROOF_HASHES || !proof.every(isStr)) throw R("receipt inclusion_proof must be a list of base64 hashes");
    return {
      logKey: data.log_key, checkpoint: data.checkpoint, leafIndex: BigInt(data.leaf_index),
      leaf: b64decode(data.leaf, "receipt leaf"),
      proof: proof.map((h) => b64decode(h, "inclusion proof hash", HASH_SIZE)),
      proofText: proof,
    };
  }

  /** Read a receipt file's bytes as the CLI does; returns the parsed JSON and its format. */
  function readReceipt(bytes) {
    if (bytes.length > MAX_CURRENT_RECEIPT_BYTES) throw new VerifyError("receipt", `receipt is larger than ${MAX_CURRENT_RECEIPT_BYTES} bytes`);
    let text;
    try { text = decStrict.decode(bytes); } catch (e) { throw new VerifyError("receipt", "receipt is not valid UTF-8 JSON"); }
    const data = parseJson(text, "receipt");
    return { data, format: isObj(data) && isStr(data.format) ? data.format : null };
  }

  /**
   * Verify an inclusion receipt as `provenance verify` does, in its order.
   * receiptBytes: Uint8Array; trust: a parsed policy (parseTrust); fileBytes: optional, the
   * file's bytes or its fileWorkId.
   * Returns {valid: true, ...details} or {valid: false, check, message, details}.
   * Throws InputError for a bad trust input (the CLI's exit 2).
   */
  async function verifyReceipt(receiptBytes, trust, fileBytes) {
    const details = { format: null, event: null, checkpoint: null, cosigners: new Map(), policy: trust };
    try {
      const { data, format } = readReceipt(receiptBytes);
      details.format = format;
      details.size = receiptBytes.length;
      if (has(formats, format)) {
        await formats[format](data, trust, fileBytes, details);
        // A proof of current state (not a v1 state receipt) is fresh as of a time, which
        // `verify` prints and judges against --max-age (receipts.md section 13).
        if (details.works && details.complete !== false) details.freshAsOf = freshAsOf(details.checkpoint, details.cosigners, trust);
        return Object.assign({ valid: true, check: null, message: null, fileMatches: fileBytes ? true : null }, details);
      }
      if (receiptBytes.length > MAX_RECEIPT_BYTES) throw new VerifyError("receipt", `receipt is larger than ${MAX_RECEIPT_BYTES} bytes`);
      const { event } = await verifyInclusionReceipt(data, trust, details);
      // (b) the policy's witness quorum.
      checkQuorum(trust, details.cosigners);
      // (c) the file, when given, is the anchored content.
      if (fileBytes) {
        const digest = await workIdOf(fileBytes);
        details.fileWork = digest;
        if (digest !== event.work)
          throw new VerifyError("file", `the file is not the anchored content: its hash is ${digest}, the receipt is for ${event.work}`);
      }
      return Object.assign({ valid: true, check: null, message: null, fileMatches: fileBytes ? true : null }, details);
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e;
      // The receipt named by its kind once its format is known and its shape read, as verify
      // names it ("decision receipt does not verify: ..."); a receipt whose shape does not
      // read is a "receipt" (cli/verify.py).
      const kind = e.check !== "receipt" && details.format && has(formats, details.format)
        ? details.format.split("/")[1].replace("-", " ") : "receipt";
      const noun = e.check === "unsupported" ? "receipt cannot be checked here" : `${kind} does not verify`;
      return Object.assign({ valid: false, check: e.check, message: `${noun}: ${e.message}`, about: e.about }, details);
    }
  }

  /** Steps (1)-(5) and (a) of specs/receipts.md section 3 for one receipt's JSON: what the
   * v1 receipt and the disclosure inside a dataset proof share. Fills `details`. */
  async function verifyInclusionReceipt(data, trust, details) {
    const r = parseReceiptShape(data);
    // (1)-(2) the checkpoint is signed by a trusted log key named by its origin.
    const { cp, cosigners } = await verifyCheckpointNote(r.checkpoint, trust);
    details.checkpoint = cp;
    details.cosigners = cosigners;
    // (3) the receipt's log key is the trusted key of the checkpoint's origin.
    if (!trust.logs.some((v) => v.name === cp.origin && v.vkey === r.logKey))
      throw new VerifyError("log_key", `the receipt's log key is not the trusted key of origin ${pyRepr(cp.origin)}`);
    // (4) the leaf parses strictly and its actor's signature verifies.
    const event = await parseLeaf(r.leaf, true);
    details.event = event;
    // (5) the leaf is in the tree the checkpoint commits to.
    if (!(r.leafIndex >= 0n && r.leafIndex < cp.size))
      throw new VerifyError("inclusion", `leaf index ${r.leafIndex} is not below checkpoint size ${cp.size}`);
    const leafHash = await sha256(concat(new Uint8Array([0]), r.leaf));
    const root = await rootFromInclusion(r.leafIndex, cp.size, leafHash, r.proof);
    if (!equalBytes(root, cp.root))
      throw new VerifyError("inclusion", `inclusion proof: inclusion proof for leaf ${r.leafIndex} does not lead to the root`);
    details.leafIndex = r.leafIndex;
    // (a) what is written for people says what the signed parts say.
    if (has(data, "event") && !jsonEqual(data.event, eventJson(event)))
      throw new VerifyError("decoded", "the receipt's decoded event does not match its signed leaf");
    if (has(data, "tlog_proof")) {
      const tlog = `${TLOG_PROOF_HEADER}\nindex ${r.leafIndex}\n${r.proofText.map((h) => h + "\n").join("")}\n${r.checkpoint}`;
      if (data.tlog_proof !== tlog) throw new VerifyError("decoded", "the receipt's tlog_proof does not match its other fields");
    }
    return { event, checkpoint: details.checkpoint, cosigners: details.cosigners };
  }

  /** (b) the policy's witness quorum is met by the valid cosignatures. */
  function checkQuorum(trust, cosigners) {
    if (!satisfied(trust, new Set(cosigners.keys()))) {
      const have = Array.from(cosigners.keys()).sort().join(", ") || "none";
      throw new VerifyError("quorum", `witness quorum not met: ${describePolicy(trust)}; valid cosignatures from: ${have}`);
    }
  }

  /** The time a proof of current state is fresh as of (receipts.md section 13; current.py
   * fresh_as_of), in seconds. When the policy requires witnesses: the latest time T such that
   * the witnesses whose counted cosignature is at T or later meet the quorum by themselves, so
   * that one witness, or one the quorum does not need, cannot make an old checkpoint fresh
   * alone. Without required witnesses: the checkpoint's block time, the log's own word. */
  function freshAsOf(cp, cosigners, pol) {
    if (pol.quorum !== null && cosigners.size) {
      const times = Array.from(new Set(Array.from(cosigners.values(), BigInt))).sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
      for (const t of times) {
        const names = new Set(Array.from(cosigners).filter(([, ts]) => BigInt(ts) >= t).map(([n]) => n));
        if (satisfied(pol, names)) return Number(t);
      }
      throw new VerifyError("quorum", "the counted cosignatures do not meet the witness quorum");
    }
    if (cp.block === null) throw new VerifyError("map", "the checkpoint has no block line and no counted cosignature");
    return Number(cp.block.time);
  }

  /** The time before which the page says an entry was logged ("before T"), and by whose
   * clock: {time, by: "witness"|"log"} or null. With a witness quorum, the earliest time T
   * such that the witnesses whose counted cosignature is at T or earlier meet the quorum by
   * themselves, so that one witness (or one the quorum does not need) cannot date an entry
   * early alone, as freshAsOf for the latest time; without a quorum, the earliest counted
   * cosignature; without any, the checkpoint's own time (the log's word). */
  function vouchedBefore(cp, cosigners, pol) {
    if (cosigners.size) {
      const times = Array.from(new Set(Array.from(cosigners.values(), BigInt))).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (pol.quorum === null) return { time: Number(times[0]), by: "witness" };
      for (const t of times) {
        const names = new Set(Array.from(cosigners).filter(([, ts]) => BigInt(ts) <= t).map(([n]) => n));
        if (satisfied(pol, names)) return { time: Number(t), by: "witness" };
      }
    }
    return cp.block ? { time: Number(cp.block.time), by: "log" } : null;
  }

  /** Verifiers of other receipt formats, by format (state.js adds state receipts v2). */
  const formats = Object.create(null);

  /** The work id (sha256:<hex>) of a file: its bytes, or a file already hashed by fileWorkId
   * ({workId}). What a receipt's work is compared with, and what search by file sends. */
  async function workIdOf(file) {
    return file instanceof Uint8Array ? "sha256:" + hex(await sha256(file)) : file.workId;
  }

  // ---- SHA-256 of a file of any size ------------------------------------------------------
  // WebCrypto hashes only a whole buffer, and a browser cannot hold a file of some GB in one
  // (Chromium fails to read one over 2 GB): a larger file is read and hashed a part at a time
  // (FIPS 180-4), so that a video can be checked against its receipt like any other file.
  const IN_ONE_READ = 256 << 20;
  const PART = 16 << 20;
  const K256 = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2]);

  class Sha256 {
    constructor() {
      this.h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
      this.w = new Uint32Array(64);
      this.rest = new Uint8Array(64);
      this.restLength = 0;
      this.length = 0;
    }
    update(data) {
      let at = 0;
      this.length += data.length;
      if (this.restLength) {
        at = Math.min(64 - this.restLength, data.length);
        this.rest.set(data.subarray(0, at), this.restLength);
        this.restLength += at;
        if (this.restLength < 64) return;
        this.blocks(this.rest, 0, 64);
        this.restLength = 0;
      }
      const end = at + ((data.length - at) & ~63);
      this.blocks(data, at, end);
      this.rest.set(data.subarray(end));
      this.restLength = data.length - end;
    }
    blocks(d, from, to) {
      const w = this.w, h = this.h;
      for (let o = from; o < to; o += 64) {
        for (let t = 0; t < 16; t++) w[t] = (d[o + 4 * t] << 24) | (d[o + 4 * t + 1] << 16) | (d[o + 4 * t + 2] << 8) | d[o + 4 * t + 3];
        for (let t = 16; t < 64; t++) {
          const x = w[t - 15], y = w[t - 2];
          const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
          const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
          w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
        }
        let a = h[0], b = h[1], c = h[2], e = h[4], f = h[5], g = h[6], dd = h[3], hh = h[7];
        for (let t = 0; t < 64; t++) {
          const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
          const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K256[t] + w[t]) | 0;
          const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
          const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
          hh = g; g = f; f = e; e = (dd + t1) | 0; dd = c; c = b; b = a; a = (t1 + t2) | 0;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += dd; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
      }
    }
    digest() {
      const n = this.length, r = n % 64, tail = new Uint8Array(r < 56 ? 64 - r : 128 - r);
      tail[0] = 0x80;
      const view = new DataView(tail.buffer);
      view.setUint32(tail.length - 8, Math.floor(n / 0x20000000));  // the length in bits
      view.setUint32(tail.length - 4, (n % 0x20000000) * 8);
      this.update(tail);
      const out = new Uint8Array(32), dv = new DataView(out.buffer);
      this.h.forEach((x, i) => dv.setUint32(4 * i, x));
      return out;
    }
  }

  /** {workId} of a File or Blob, read whole when it fits in one read, else a part at a time. */
  async function fileWorkId(blob) {
    if (blob.size <= IN_ONE_READ) return { workId: await workIdOf(new Uint8Array(await blob.arrayBuffer())) };
    const hash = new Sha256();
    for (let at = 0; at < blob.size; at += PART)
      hash.update(new Uint8Array(await blob.slice(at, at + PART).arrayBuffer()));
    return { workId: "sha256:" + hex(hash.digest()) };
  }

  global.PLVerify = {
    verifyReceipt, parseTrust, parsePolicy, oneNamePerWitness, parseVkey, readReceipt, parseLeaf, parseNote,
    parseCheckpoint, verifyCheckpointNote, workIdOf, fileWorkId, Sha256, formatTime, describePolicy, satisfied, freshAsOf, vouchedBefore,
    InputError, VerifyError, RECEIPT_FORMAT, checkQuorum, formats, verifyInclusionReceipt,
    internals: { b64encode, isObj, isStr, isInt, has, keysOf, pyRepr, b64decode, sha256, concat, equalBytes,
      hex, hexToBytes, canonical, jsonEqual, eventJson, parseLeaf, parseTime, rootFromInclusion, enc,
      ed25519Verify },
  };
})(typeof window !== "undefined" ? window : globalThis);
