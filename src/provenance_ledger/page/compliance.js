/* provenance-ledger verification page: compliance receipts (specs/receipts.md section 14):
 * the embedded state receipt v2, the items' works, every similar match's distance recomputed
 * from the matched work's proven registration, and every item's answer re-derived with the
 * rules (core/compliance.py). A classic script; extends PLVerify (after state.js).
 */
(function (global) {
  "use strict";
  const V = global.PLVerify;
  const { VerifyError } = V;
  const H = V.internals;
  const S = V.stateInternals;

  const FORMAT = "provenance-ledger/compliance-receipt/v1";
  const FORMAT_V2 = "provenance-ledger/compliance-receipt/v2";
  const MAX_ATTESTERS = 64;
  const SCOPE =
    "proves, for each item listed, the answer of the rules to this question about the work " +
    "the item names, computed from all of that work's events in the log up to the " +
    "checkpoint's tree size (or from its absence there): no later event of any of these " +
    "works exists up to that size; it proves nothing about events after that size, nor that " +
    "the items listed are all of a dataset";
  const MAX_ITEMS = 10000, MAX_ITEM_NAME_CHARS = 1024, MAX_DISTANCE = 16;
  const R = (why) => new VerifyError("receipt", why);
  const B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  /** A 64-bit ISCC text, image, audio or video content unit: {unit, bits}, or null (similarity.py). */
  function contentCode(text) {
    if (typeof text !== "string" || text.length !== 21 || !text.startsWith("ISCC:")) return null;
    const body = text.slice(5);
    if (![...body].every((c) => B32.includes(c))) return null;
    let bits = 0n;
    for (const c of body) bits = (bits << 5n) | BigInt(B32.indexOf(c));
    // 16 characters carry 80 bits: a 2-byte header and the 8-byte digest, no spare bits.
    const header = Number(bits >> 64n), digest = bits & ((1n << 64n) - 1n);
    if (![0x2001, 0x2101, 0x2201, 0x2301].includes(header)) return null;  // CONTENT, SubType 0-3, 64 bits
    return { unit: header >> 8 & 0x0f, bits: digest };
  }
  function distance(a, b) {
    if (a.unit !== b.unit) return null;
    let x = a.bits ^ b.bits, n = 0;
    while (x) { n += Number(x & 1n); x >>= 1n; }
    return n;
  }

  function parseItems(raw, v2) {
    const { isObj, isStr, isInt, keysOf, pyRepr, has } = H;
    if (!Array.isArray(raw) || raw.length < 1 || raw.length > MAX_ITEMS) throw R(`compliance receipt must list 1 to ${MAX_ITEMS} items`);
    return raw.map((it, n) => {
      const where = `compliance receipt item ${n}`;
      if (!isObj(it)) throw R(`${where} is not a JSON object`);
      const fields = ["name", "work", "similar", "decision"].concat(v2 ? ["granted_by"] : []);
      const u = keysOf(it).filter((k) => !fields.includes(k)).sort();
      if (u.length) throw R(`${where} has unknown field ${pyRepr(u[0])}`);
      for (const member of ["decision", "granted_by"])
        if (has(it, member) && it[member] !== null && !isObj(it[member])) throw R(`${where}: ${member} is not an object or null`);
      let similar = null;
      if (has(it, "similar")) {
        const sm = it.similar;
        if (!isObj(sm) || keysOf(sm).sort().join(",") !== "code,distance") throw R(`${where}: similar must be an object of exactly code, distance`);
        if (!isStr(sm.code) || (sm.distance !== null && !isInt(sm.distance))) throw R(`${where}: similar code must be text and distance an integer or null`);
        if (contentCode(sm.code) === null) throw R(`${where}: similar code is not an ISCC content code of 64 bits (image, text, audio or video unit)`);
        if (sm.distance !== null && !(sm.distance >= 0 && sm.distance <= MAX_DISTANCE)) throw R(`${where}: similar distance must be 0 to ${MAX_DISTANCE}`);
        similar = { code: sm.code, distance: sm.distance === null ? null : Number(sm.distance) };
      }
      const unmatched = similar !== null && similar.distance === null;
      if (unmatched && it.work !== undefined && it.work !== null) throw R(`${where}: a similar item with distance null names no work`);
      if (!isStr(it.name) || !it.name || Array.from(it.name).length > MAX_ITEM_NAME_CHARS || !/^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$/u.test(it.name) || /[\ud800-\udfff]/u.test(it.name))
        throw R(`${where}: name must be 1 to ${MAX_ITEM_NAME_CHARS} characters of text`);
      if (!unmatched && (!isStr(it.work) || !/^sha256:[0-9a-f]{64}$/.test(it.work))) throw R(`${where} work must be sha256:<64 lowercase hex>`);
      return { name: it.name, work: unmatched ? null : it.work, similar };
    });
  }

  /** compliance.py Trust.from_json: the asker's trust policy a v2 receipt records. */
  function parseTrust(data) {
    const { isObj, isStr, keysOf } = H;
    if (data === undefined || data === null) throw R(`a receipt of format ${FORMAT_V2} must have its trust member`);
    if (!isObj(data) || keysOf(data).sort().join(",") !== "attesters,require_attested")
      throw R("compliance receipt trust must be an object of exactly require_attested, attesters");
    const flag = data.require_attested, keys = data.attesters;
    if (typeof flag !== "boolean" || !Array.isArray(keys) || keys.length > MAX_ATTESTERS)
      throw R(`compliance receipt trust: require_attested must be true or false and attesters a list of at most ${MAX_ATTESTERS} keys`);
    for (const k of keys)
      if (!isStr(k) || !/^ed25519:[0-9a-f]{64}$/.test(k))
        throw R(`compliance receipt trusted attester: key ${H.pyRepr(String(k).slice(0, 80))} is not of the form ed25519:<64 hex>`);
    if (Array.from(new Set(keys)).sort().join(" ") !== keys.join(" ")) throw R("compliance receipt trust: trusted attesters must be distinct and sorted");
    if (flag && !keys.length) throw R("compliance receipt trust: require_attested needs at least one trusted attester");
    return { requireAttested: flag, attesters: keys.slice() };
  }

  const distinctWorks = (items) => Array.from(new Set(items.filter((i) => i.work !== null).map((i) => i.work)));

  async function verifyCompliance(data, trust, fileBytes, details) {
    const { keysOf, pyRepr, isObj, has } = H;
    const v2 = data.format === FORMAT_V2;
    const fields = ["format", "scope", "question", "items", "state_receipt", "summary"].concat(v2 ? ["trust"] : []);
    const u = keysOf(data).filter((k) => !fields.includes(k)).sort();
    if (u.length) throw R(`compliance receipt has unknown field ${pyRepr(u[0])}`);
    const question = S.parseQuestion(data.question);
    const items = parseItems(data.items, v2);
    const summary = data.summary;
    if (summary !== undefined && summary !== null && (!isObj(summary) || keysOf(summary).sort().join(",") !== "allowed,items,not_allowed,unregistered"))
      throw R("compliance receipt summary must be null or an object of exactly allowed, items, not_allowed, unregistered");
    const policy = v2 ? parseTrust(data.trust) : null;
    const sr = data.state_receipt;
    if (!isObj(sr) || sr.format !== "provenance-ledger/state-receipt/v2") throw R("state receipt format is not provenance-ledger/state-receipt/v2");
    const shape = S.parseShape(sr);
    // (1) the state receipt lists exactly the items' distinct works, in first-named order
    // (v2, section 14.3: then only key records).
    const named = distinctWorks(items), listed = shape.works.map((w) => w.work);
    const listsWorks = v2 ? listed.slice(0, named.length).join(" ") === named.join(" ") && listed.slice(named.length).every(S.isKeyRecordId)
      : named.join(" ") === listed.join(" ");
    if (!listsWorks)
      throw R("the state receipt does not list exactly the items' distinct works in the order they are first named (an item or a work was added or dropped)");
    // (2) the state: steps (1)-(7) of section 11.2.
    await S.verifyStateReceiptV2(sr, trust, null, details, true);
    const works = new Map(details.works.map((w) => [w.work, w]));
    // (3) every similar match, from the matched work's proven registration.
    items.forEach((it, n) => {
      if (it.similar === null || it.work === null) return;
      const where = `item ${n} (${it.name})`, w = works.get(it.work);
      if (w.state === null) throw new VerifyError("similar", `${where}: matched by similarity to a work the log does not hold`);
      const reg = w.events.find((e) => e.type === "work.register");
      const text = reg && typeof reg.body.similarity === "string" ? reg.body.similarity : null;
      const theirs = text === null ? null : contentCode(text), ours = contentCode(it.similar.code);
      const d = theirs === null || ours === null ? null : distance(ours, theirs);
      if (d === null) throw new VerifyError("similar", `${where}: the matched work's registration has no content code comparable with the item's`);
      if (d !== it.similar.distance) throw new VerifyError("similar", `${where}: the item's code is ${d} bits from the matched work's registered code, not ${it.similar.distance}`);
    });
    // (4) each item's answer from its work's proven state; v2 (section 14.3 step 4), with the
    // key records and the trust policy recorded.
    const answers = v2 ? await answersV2(items, question, works, policy)
      : items.map((it) => {
        const state = it.work === null ? null : works.get(it.work).state;
        return answer(it, state, S.may(state, question.key, question.purpose, question.at), null, question.at);
      });
    const counts = { items: answers.length, allowed: 0, not_allowed: 0, unregistered: 0 };
    for (const a of answers) counts[a.outcome.replace(" ", "_")] += 1;
    details.question = question;
    details.answers = answers;
    details.complianceTrust = policy;
    details.summary = counts;
    // (5) what is written for people.
    if (has(data, "scope") && data.scope !== SCOPE)
      throw new VerifyError("decoded", "the receipt's scope is not the sentence of its format: it would claim more or less than the receipt proves", { what: "scope" });
    S.checkDecodedCurrent(sr, details.works);
    data.items.forEach((raw, n) => {
      const a = answers[n];
      if (raw.decision !== undefined && raw.decision !== null && !S.sameDecision(raw.decision, a.decision))
        throw new VerifyError("decoded", `item ${n} (${a.name}): the receipt's decision is not what the rules give: they say ${a.decision.allowed ? "allowed" : "not allowed"} (${a.decision.reason})`,
          { what: "decision", item: { n, name: a.name }, stated: raw.decision, derived: a.decision });
      const given = raw.granted_by;
      if (given !== undefined && given !== null && (a.vouching === null || !H.jsonEqual(given, a.vouching.json)))
        throw new VerifyError("decoded", `item ${n} (${a.name}): the receipt's granted_by is not what the proven key records give: ${a.vouching !== null ? S.describeVouching(a.vouching) : "no key granted it"}`,
          { what: "granted_by", item: { n, name: a.name } });
    });
    if (summary !== undefined && summary !== null && !H.jsonEqual(summary, counts))
      throw new VerifyError("decoded", "the receipt's summary is not the count of the answers the rules give",
        { what: "summary", stated: summary, derived: counts });
    V.checkQuorum(trust, details.cosigners);
    if (fileBytes) {
      const digest = await V.workIdOf(fileBytes);
      details.fileWork = digest;
      if (!items.some((i) => i.work === digest)) throw new VerifyError("file", `the file is not an item of this receipt: its hash is ${digest}`);
    }
  }

  /** One item's answer; its citations in words with the question's time `at` (current.py
   * citations, receipts.md section 12.1), as verify writes them. */
  const answer = (it, state, decision, vouching, at) => ({ name: it.name, work: it.work, similar: it.similar, state, decision, vouching,
    outcome: state === null ? "unregistered" : decision.allowed ? "allowed" : "not allowed", citing: V.citations(decision, state, at) });

  /** Section 14.3 step 4 (compliance.py verify_compliance_receipt, decide_items_v2): every key
   * reachable from a registered work's controllers has its record listed; each answer is `may`
   * from the effective state with the key records, then rules.md section 8 with the trust. */
  async function answersV2(items, question, works, policy) {
    const byId = works;
    const lookup = async (key) => {
      const x = byId.get(await S.keyRecordId(key));
      return x === undefined || x.state === null ? null : x.state.identity;
    };
    for (const w of works.values()) {
      if (w.state === null || S.isKeyRecordId(w.work)) continue;
      const needed = [];
      for (const [k] of w.state.controllers) for (const x of await S.reachable(k, lookup)) if (!needed.includes(x)) needed.push(x);
      for (const k of needed) {
        const rid = await S.keyRecordId(k);
        if (!byId.has(rid))
          throw new VerifyError("keys", `the receipt does not list the key record of ${k} (${rid}), a key that controlled ${w.work}: who granted it, its attestations, a rotation or a compromise could be left out`);
      }
    }
    const q = question, decided = new Map(), out = [];
    for (const it of items) {
      if (it.work === null) {
        out.push(answer(it, null, S.may(null, q.key, q.purpose, q.at), null, q.at));
        continue;
      }
      const w = works.get(it.work);
      if (!decided.has(it.work)) {
        let eff = w.state;
        if (eff !== null && (await S.affected(eff, lookup))) eff = (await S.effective(w.events, lookup)).state;
        const d = await S.mayWith(eff, q.key, q.purpose, q.at, lookup);
        decided.set(it.work, await S.vouch(eff, d, q.at, policy.attesters, policy.requireAttested, lookup));
      }
      const v = decided.get(it.work);
      out.push(answer(it, w.state, v.decision, v.vouching, q.at));
    }
    return out;
  }

  V.formats[FORMAT] = verifyCompliance;
  V.formats[FORMAT_V2] = verifyCompliance;
})(typeof window !== "undefined" ? window : globalThis);
