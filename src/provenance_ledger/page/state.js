/* provenance-ledger verification page: state receipts v2 (specs/receipts.md section 11):
 * the map multiproof against the checkpoint's map root (specs/map.md section 5), each event's
 * signature and inclusion, the replay of the rules (specs/rules.md section 3, core/rules.py
 * `apply`) and completeness, then the same checks `provenance verify` makes after them.
 * A classic script; extends PLVerify (verify.js must load first).
 *
 * Failing checks, besides those of verify.js: `map` (no map line, or the map proof does not
 * verify), `history` (events out of order, about another work, or not the ones the map names),
 * `rules` (the replay refuses an event).
 */
(function (global) {
  "use strict";
  const V = global.PLVerify;
  const { VerifyError } = V;
  const H = V.internals;

  const STATE_RECEIPT_V2_FORMAT = "provenance-ledger/state-receipt/v2";
  const STATE_RECEIPT_V2_SCOPE =
    "proves, for each work listed, either that the work was not registered on this log as of " +
    "the checkpoint's tree size, or that these events, from its registration on, are all of " +
    "its events in the log up to that tree size: no later event of the work exists up to that " +
    "size; it proves nothing about events after that size";
  const MAX_CURRENT_WORKS = 10000, MAX_CURRENT_EVENTS = 100000, MAX_STATE_EVENTS = 10000;
  const MAX_PROOF_BYTES = 1 << 24, MAX_PROOF_KEYS = 100000, MAX_PROOF_HASHES = 64;
  const KEY_BITS = 256, VALUE_SIZE = 48, KEY_SIZE = 32, LEAF_SIZE = 80;
  const EMPTY = new Uint8Array(32);
  const [K_EMPTY, K_LEAF, K_NODE, K_UNKNOWN] = [0, 1, 2, 3];
  const MAX_INDEX = (1n << 63n) - 1n;
  const R = (why) => new VerifyError("receipt", why);
  const M = (why) => new VerifyError("map", `map proof: ${why}`);

  // ---- the receipt's shape (current.py StateReceiptV2.from_json) --------------------------

  function parseShape(data) {
    const { isObj, isStr, isInt, has, keysOf, pyRepr, b64decode } = H;
    const unknownOf = (o, allowed) => keysOf(o).filter((k) => !allowed.includes(k)).sort();
    let u = unknownOf(data, ["format", "scope", "log_key", "checkpoint", "map_proof", "works"]);
    if (u.length) throw R(`state receipt has unknown field ${pyRepr(u[0])}`);
    for (const name of ["log_key", "checkpoint", "map_proof"])
      if (!isStr(data[name])) throw R(`state receipt field '${name}' is missing or not a string`);
    if (data.map_proof.length > Math.floor((MAX_PROOF_BYTES + 2) / 3) * 4) throw R(`state receipt map_proof is larger than ${MAX_PROOF_BYTES} bytes`);
    const raw = data.works;
    if (!Array.isArray(raw) || raw.length < 1 || raw.length > MAX_CURRENT_WORKS) throw R(`state receipt must list 1 to ${MAX_CURRENT_WORKS} works`);
    let total = 0;
    const works = raw.map((w, n) => {
      if (!isObj(w)) throw R(`state receipt work ${n} is not a JSON object`);
      u = unknownOf(w, ["work", "events", "state"]);
      if (u.length) throw R(`state receipt work ${n} has unknown field ${pyRepr(u[0])}`);
      if (!isStr(w.work) || !/^sha256:[0-9a-f]{64}$/.test(w.work)) throw R(`state receipt work ${n} must be sha256:<64 lowercase hex>`);
      if (!Array.isArray(w.events) || w.events.length > MAX_STATE_EVENTS) throw R(`state receipt work ${n}: events must be a list of at most ${MAX_STATE_EVENTS} events`);
      total += w.events.length;
      if (total > MAX_CURRENT_EVENTS) throw R(`state receipt carries more than ${MAX_CURRENT_EVENTS} events`);
      if (has(w, "state") && w.state !== null && !isObj(w.state)) throw R(`state receipt work ${n}: state is not an object or null`);
      const events = w.events.map((e, i) => {
        const where = `state receipt work ${n} event ${i}`;
        if (!isObj(e)) throw R(`${where} is not a JSON object`);
        const ue = unknownOf(e, ["leaf_index", "leaf", "inclusion_proof", "event"]);
        if (ue.length) throw R(`${where} has unknown field ${pyRepr(ue[0])}`);
        const index = e.leaf_index;
        if (!isInt(index) || BigInt(index) < 0n || BigInt(index) >= MAX_INDEX) throw R(`${where}: leaf_index is missing or not a leaf index`);
        if (!isStr(e.leaf)) throw R(`${where}: leaf is missing or not a string`);
        if (!Array.isArray(e.inclusion_proof) || e.inclusion_proof.length > MAX_PROOF_HASHES || !e.inclusion_proof.every(isStr))
          throw R(`${where}: inclusion_proof must be a list of at most ${MAX_PROOF_HASHES} base64 hashes`);
        return { leafIndex: BigInt(index), leaf: b64decode(e.leaf, `${where} leaf`),
          proof: e.inclusion_proof.map((h) => b64decode(h, `${where} inclusion proof hash`, 32)) };
      });
      return { work: w.work, events };
    });
    if (new Set(works.map((w) => w.work)).size !== works.length) throw R("state receipt lists a work twice");
    const mapProof = b64decode(data.map_proof, "state receipt map_proof");
    if (mapProof.length > MAX_PROOF_BYTES) throw R(`a map proof is at most ${MAX_PROOF_BYTES} bytes`);
    return { logKey: data.log_key, checkpoint: data.checkpoint, mapProof, works };
  }

  // ---- the map proof (vmap.py verify_map_proof; map.md section 5) -------------------------

  const toBig = (bytes) => bytes.reduce((n, b) => (n << 8n) | BigInt(b), 0n);
  const u64 = (bytes, at) => new DataView(bytes.buffer, bytes.byteOffset + at, 8).getBigUint64(0);

  function mapValue(raw) {
    if (raw.length !== VALUE_SIZE) throw M(`map value is ${raw.length} bytes, expected ${VALUE_SIZE}`);
    const count = u64(raw, 32), index = u64(raw, 40);
    if (!(index >= 0n && index < MAX_INDEX) || !(count >= 1n && count <= index + 1n))
      throw M(`map value count ${count} at index ${index} is impossible`);
    return { head: raw.slice(0, 32), count, index };
  }

  /** Each key's value, or null when the map proves it absent. keys: Uint8Array(32)[]. */
  async function verifyMapProof(root, keys, proof) {
    if (proof.length > MAX_PROOF_BYTES) throw M(`map proof is larger than ${MAX_PROOF_BYTES} bytes`);
    const ints = keys.map(toBig).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let i = 1; i < ints.length; i++) if (ints[i] === ints[i - 1]) throw M("a map proof names a key twice");
    const n = ints.length;
    // (1) the header: the number of results, the number of keys asked about.
    if (proof.length < 4 || new DataView(proof.buffer, proof.byteOffset, 4).getUint32(0) !== n || n < 1 || n > MAX_PROOF_KEYS)
      throw M(`map proof does not answer exactly the ${n} keys asked about`);
    // (2) one result per key, in key order: its terminal depth and terminal hash.
    const depths = [], terminal = [], kinds = [], values = new Map();
    let at = 4;
    const keyBytes = (k) => Uint8Array.from({ length: 32 }, (_, i) => Number((k >> BigInt(8 * (31 - i))) & 0xffn));
    for (const k of ints) {
      const key = keyBytes(k);
      if (at + 3 > proof.length) throw M("map proof ends inside a result");
      const kind = proof[at], depth = (proof[at + 1] << 8) | proof[at + 2];
      at += 3;
      if (depth > KEY_BITS) throw M(`map proof result depth ${depth} is deeper than ${KEY_BITS}`);
      if (kind === 1) {
        const raw = proof.slice(at, at + VALUE_SIZE);
        at += VALUE_SIZE;
        values.set(k, mapValue(raw));
        terminal.push(await H.sha256(H.concat(new Uint8Array([2]), key, raw)));
        kinds.push(K_LEAF);
      } else if (kind === 2) {
        const leaf = proof.slice(at, at + LEAF_SIZE);
        at += LEAF_SIZE;
        if (leaf.length !== LEAF_SIZE) throw M("map proof ends inside a leaf");
        const other = toBig(leaf.slice(0, KEY_SIZE));
        mapValue(leaf.slice(KEY_SIZE));
        // (2.2) the other key is not this key and lies on its path.
        if (other === k || (depth && ((other ^ k) >> BigInt(KEY_BITS - depth)) !== 0n))
          throw M("map proof shows a leaf that is not on the key's path");
        values.set(k, null);
        terminal.push(await H.sha256(H.concat(new Uint8Array([2]), leaf)));
        kinds.push(K_LEAF);
      } else if (kind === 3) {
        values.set(k, null);
        terminal.push(EMPTY);
        kinds.push(K_EMPTY);
      } else {
        throw M(`map proof result kind ${kind} is not 1, 2 or 3`);
      }
      depths.push(depth);
    }
    // The first key (from lo) whose bit `depth` is 1.
    const split = (depth, lo, hi) => {
      let i = lo;
      while (i < hi && ((ints[i] >> BigInt(KEY_BITS - 1 - depth)) & 1n) === 0n) i++;
      return i;
    };
    // (3) the shape: where the paths end and how many siblings they need.
    function shape(depth, lo, hi) {
      let ending = 0;
      for (let i = lo; i < hi; i++) if (depths[i] === depth) ending++;
      if (ending) {
        for (let i = lo; i < hi; i++) if (!H.equalBytes(terminal[i], terminal[lo])) throw M("map proof results disagree about a node");
        if (ending !== hi - lo) throw M("map proof results disagree about a node");
        return 0;
      }
      if (depth >= KEY_BITS) throw M("map proof path goes below the last key bit");
      const s = split(depth, lo, hi);
      return (s > lo ? shape(depth + 1, lo, s) : 1) + (hi > s ? shape(depth + 1, s, hi) : 1);
    }
    const siblings = shape(0, 0, n);
    // (4) the bitmap of non-empty siblings, then their hashes: exactly the rest of the proof.
    const bitmapLen = Math.ceil(siblings / 8);
    const bitmap = proof.slice(at, at + bitmapLen);
    at += bitmap.length;
    if (bitmap.length !== bitmapLen) throw M("map proof ends inside its bitmap");
    if (siblings % 8 && bitmap[bitmap.length - 1] & (0xff >> (siblings % 8))) throw M("map proof bitmap has padding bits set");
    let present = 0;
    for (const b of bitmap) for (let x = b; x; x >>= 1) present += x & 1;
    if (proof.length - at !== present * 32) throw M(`map proof has ${proof.length - at} bytes of hashes, expected ${present * 32}`);
    let sibIndex = 0, hashAt = at;
    const sibling = () => {
      const i = sibIndex++;
      if (!(bitmap[i >> 3] & (0x80 >> (i & 7)))) return [EMPTY, K_EMPTY];
      const h = proof.slice(hashAt, hashAt + 32);
      hashAt += 32;
      return [h, K_UNKNOWN];
    };
    // (5) hash up from the terminals; refuse a shape the map never has (section 2).
    async function compute(depth, lo, hi) {
      if (depths[lo] === depth) return [terminal[lo], kinds[lo]];
      const s = split(depth, lo, hi);
      const left = s > lo ? await compute(depth + 1, lo, s) : sibling();
      const right = hi > s ? await compute(depth + 1, s, hi) : sibling();
      if ((left[1] === K_EMPTY && (right[1] === K_EMPTY || right[1] === K_LEAF)) || (right[1] === K_EMPTY && left[1] === K_LEAF))
        throw M("map proof shows an inner node that would have collapsed");
      return [await H.sha256(H.concat(new Uint8Array([3, depth]), left[0], right[0])), K_NODE];
    }
    const [got] = await compute(0, 0, n);
    // (6) the computed root is the root.
    if (!H.equalBytes(got, root)) throw M("map proof does not lead to the map root");
    return new Map(keys.map((key) => [H.hex(key), values.get(toBig(key))]));
  }

  // ---- the rules (rules.py apply; rules.md section 3) -------------------------------------

  const RULE = (why) => new VerifyError("rules", why);
  const fmt = V.formatTime;
  const optTime = (body, key) => (key in body ? H.parseTime(body[key], key, "rules") : null);
  const grantInForce = (g, t) => g.at <= t && (g.until === null || t < g.until) && (g.revokedAt === null || t < g.revokedAt);
  const licInForce = (x, t) => x.acceptedAt !== null && x.acceptedAt <= t && (x.start === null || x.start <= t) &&
    (x.until === null || t < x.until) && (x.terminatedAt === null || t < x.terminatedAt);
  const ended = (x, t) => x.terminatedAt !== null || (x.until !== null && t >= x.until);
  const openOffer = (x, t) => x.acceptedAt === null && x.terminatedAt === null &&
    (x.offerExpires === null || t < x.offerExpires) && (x.until === null || t < x.until);
  const terminable = (x, t) => !ended(x, t) && (x.acceptedAt !== null || openOffer(x, t));
  const pick = (body, names) => Object.fromEntries(names.filter((k) => k in body).map((k) => [k, body[k]]));
  const payeesOf = (body) => (body.payees || []).map((p) => [p.key, p.share_bps]);
  const replaceItem = (items, item) => items.map((x) => (x.id === item.id ? item : x));

  async function seriesId(actor, name) {
    const bytes = H.concat(H.enc.encode("provenance-ledger/dataset/series/v1\n"), H.enc.encode(H.canonical({ key: actor, name })));
    return "sha256:" + H.hex(await H.sha256(bytes));
  }


  // ---- usage and payments (payments.py; rules.md section 6, R13-R16) ----------------------

  const PAY_TYPES = ["usage.report", "payment.record", "payment.ack", "payment.dispute"];
  const NO_ACCOUNTS = { licences: new Map(), payments: new Map() };
  const putMap = (m, k, v) => new Map(m).set(k, v);
  const payeeKeys = (s) => new Set((s.payees.length ? s.payees : [[s.controller, 10000]]).map(([k]) => k));

  /** R10 done: the accepted licence's account opens, owing the work's effective payees. */
  function onAccept(state, lic) {
    const fee = H.has(lic.terms, "fee") ? lic.terms.fee : null;
    const account = { currency: fee !== null ? fee.currency : null, owed: payeeKeys(state) };
    return Object.assign({}, state, { accounts: { licences: putMap(state.accounts.licences, lic.id, account), payments: state.accounts.payments } });
  }

  /** R13-R16 for a work whose R2-R4 checks passed (payments.py apply). */
  async function applyPayment(state, ev, keys) {
    const b = ev.body, id = ev.id, acc = state.accounts;
    const next = Object.assign({}, state, { head: id, lastAt: ev.at, events: state.events + 1 });
    if (ev.type === "usage.report" || ev.type === "payment.record") {
      // (1) a licence of this work, (2) stated by its licensee, (3) accepted.
      const lic = state.licences.find((l) => l.id === b.licence);
      if (!lic) throw RULE(`no licence ${b.licence} on work ${ev.work}`);
      if (!(await actsFor(ev.actor, lic.licensee, keys))) throw RULE(`${ev.type} of licence ${lic.id} must be signed by its licensee ${lic.licensee}`);
      const account = acc.licences.get(lic.id);
      if (lic.acceptedAt === null || account === undefined) throw RULE(`licence ${lic.id} was never accepted: no usage or payment can be recorded on it`);
      // (4) one currency per licence.
      const usage = ev.type === "usage.report", money = usage ? b.revenue : b.amount;
      if (account.currency !== null && money.currency !== account.currency)
        throw RULE(`licence ${lic.id} is in ${account.currency}: a ${usage ? "usage report" : "payment"} in ${money.currency} is refused (one currency per licence)`);
      const payees = payeeKeys(state);
      if (usage) {
        if (account.currency === money.currency && [...payees].every((k) => account.owed.has(k))) return next;
        const owed = new Set([...account.owed, ...payees]);
        return Object.assign(next, { accounts: { licences: putMap(acc.licences, lic.id, { currency: money.currency, owed }), payments: acc.payments } });
      }
      // (5) a payment goes to a key the licence owes, or to a payee of the work now.
      await checkPayee(b.to, new Set([...account.owed, ...payees]), keys, ev.work, lic.id);
      return Object.assign(next, { accounts: {
        licences: putMap(acc.licences, lic.id, { currency: money.currency, owed: account.owed }),
        payments: putMap(acc.payments, id, { id, licence: lic.id, payee: b.to, status: "pending" }) } });
    }
    // payment.ack, payment.dispute: (1) a payment of this work, (2) answered by its payee,
    // (3) once acknowledged, final; disputed once, which a later acknowledgement settles.
    const pay = acc.payments.get(b.payment);
    if (pay === undefined) throw RULE(`no payment ${b.payment} on work ${ev.work}`);
    if (!(await actsFor(ev.actor, pay.payee, keys))) throw RULE(`only the payee ${await holder(pay.payee, ev.at, keys)} may answer payment ${pay.id}`);
    if (pay.status === "acknowledged") throw RULE(`payment ${pay.id} is already acknowledged`);
    if (ev.type === "payment.dispute" && pay.status === "disputed") throw RULE(`payment ${pay.id} is already disputed`);
    const status = ev.type === "payment.ack" ? "acknowledged" : "disputed";
    return Object.assign(next, { accounts: { licences: acc.licences, payments: putMap(acc.payments, pay.id, Object.assign({}, pay, { status })) } });
  }

  /** R14.5 with key records, on a replay (payments.py _check_payee, not strict): a key owed,
   * or a key any logged rotation of one led to. */
  async function checkPayee(to, owed, keys, work, licence) {
    if (owed.has(to)) return;
    if (keys) for (const k of Array.from(owed).sort(byKey)) if ((await reachable(k, keys)).includes(to)) return;
    throw RULE(`${to} is not a payee of work ${work} nor owed anything on licence ${licence}`);
  }

  // ---- key records (identity.py, keystate.py; rules.md sections 7 and 9, R17-R22) ----------

  const IDENTITY_TYPES = ["identity.attest", "identity.revoke"];
  const KEY_TYPES = ["key.rotate", "key.recovery", "key.compromised"];
  const isKeyType = (t) => IDENTITY_TYPES.includes(t) || KEY_TYPES.includes(t);
  const KEY_RECORD_PREFIX = "provenance-ledger/key-record/v1\n";
  const KEY_RECORD_MARK = "6b657921";  // "key!", the last 4 bytes of every key record id
  const KEY_STATEMENT_PREFIX = "provenance-ledger/key-statement/v1\n";
  const MAX_ROTATION_HOPS = 64;
  const recordIds = new Map();

  /** The id under which a key's record is chained (events.md 6.13): SHA-512, 28 bytes, mark. */
  async function keyRecordId(key) {
    if (!recordIds.has(key)) {
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", H.enc.encode(KEY_RECORD_PREFIX + key)));
      recordIds.set(key, "sha256:" + H.hex(digest.slice(0, 28)) + KEY_RECORD_MARK);
    }
    return recordIds.get(key);
  }
  const isKeyRecordId = (work) => work.endsWith(KEY_RECORD_MARK);
  const newRecord = (key) => ({ key, attestations: [], recoveries: [], rotations: [], compromisedSince: null, compromisedBy: null });
  const attInForce = (a, t) => a.at <= t && (a.start === null || a.start <= t) && (a.until === null || t < a.until) && (a.revokedAt === null || t < a.revokedAt);
  const attestationsInForce = (r, t) => r.attestations.filter((a) => attInForce(a, t));
  const compromisedAt = (r, t) => r.compromisedSince !== null && t >= r.compromisedSince;
  /** The recovery setting in effect: the last one signed before the key was compromised. */
  const recoveryOf = (r) => r.recoveries.slice().reverse().find((x) => !compromisedAt(r, x.at)) || null;
  /** The rotation that counts (at most one, R19): not authorised while compromised. */
  const rotationOf = (r) => r.rotations.find((x) => !compromisedAt(r, x.signedAsOf)) || null;
  const successor = (r, t) => { const x = rotationOf(r); return x !== null && x.at <= t ? x.to : null; };

  /** identity.py Attestation.to_json. */
  function attestationJson(a) {
    const t = (v) => (v === null ? null : fmt(v));
    return { id: a.id, attester: a.attester, name: a.name, url: a.url, registry_id: a.registryId, member: a.member,
      attested_at: fmt(a.at), from: t(a.start), until: t(a.until), revoked_by: a.revokedBy, revoked_at: t(a.revokedAt) };
  }

  function recordJson(r) {
    const t = (v) => (v === null ? null : fmt(v));
    return { key: r.key,
      attestations: r.attestations.map(attestationJson),
      recoveries: r.recoveries.map((x) => ({ id: x.id, keys: x.keys, threshold: x.threshold, association: x.association, at: fmt(x.at) })),
      rotations: r.rotations.map((x) => ({ id: x.id, to: x.to, at: fmt(x.at), by: x.by })),
      compromised_since: t(r.compromisedSince), compromised_by: r.compromisedBy };
  }

  /** R17-R18 (identity.py apply_identity); the chain checks are the caller's. */
  async function applyIdentity(record, ev) {
    const b = ev.body, id = ev.id, key = b.key, rid = await keyRecordId(key);
    // (1) the record is the one of the key the body names.
    if (ev.work !== rid) throw RULE(`${ev.type} about ${key} must have work ${rid}`);
    if (record !== null && record.key !== key) throw RULE(`key record ${ev.work} is the record of ${record.key}`);
    record = record || newRecord(key);
    if (ev.type === "identity.attest") {
      // (2) any key may attest any other key; a key vouching for itself says nothing.
      if (ev.actor === key) throw RULE("a key cannot attest itself: the attester is another key");
      const start = optTime(b, "from"), until = optTime(b, "until");
      if (until !== null && (until <= ev.at || (start !== null && until <= start))) throw RULE("attestation would end before it starts");
      const a = { id, attester: ev.actor, name: b.name, at: ev.at, start, until, url: H.has(b, "url") ? b.url : null,
        registryId: H.has(b, "registry_id") ? b.registry_id : null, member: H.has(b, "member") ? b.member : null,
        revokedBy: null, revokedAt: null };
      return Object.assign({}, record, { attestations: record.attestations.concat([a]) });
    }
    const a0 = record.attestations.find((a) => a.id === b.attestation);
    if (!a0) throw RULE(`no attestation ${b.attestation} of key ${key}`);
    // (3) only the attester withdraws its word, once.
    if (ev.actor !== a0.attester) throw RULE(`only the attester ${a0.attester} may revoke attestation ${a0.id}`);
    if (a0.revokedAt !== null) throw RULE(`attestation ${a0.id} is already revoked`);
    const revoked = Object.assign({}, a0, { revokedBy: id, revokedAt: ev.at });
    return Object.assign({}, record, { attestations: record.attestations.map((a) => (a.id === a0.id ? revoked : a)) });
  }

  /** What a key.rotate's new key and co-signing recovery keys sign (events.md 6.16). */
  function keyStatement(ev) {
    const body = {};
    for (const k of H.keysOf(ev.body)) if (k !== "to_sig" && k !== "cosigs") body[k] = ev.body[k];
    return H.enc.encode(KEY_STATEMENT_PREFIX + H.canonical(Object.assign({}, ev.envelope, { body })));
  }

  async function checkSig(key, sig, message, what) {
    const raw = H.b64decode(sig, what, 64, "rules");
    if (!(await H.ed25519Verify(H.hexToBytes(key.slice(8)), raw, message))) throw RULE(`${what} by ${key} does not verify`);
  }

  /** R19-R21: who may rotate the key or declare it compromised (keystate.py _authority). */
  async function authority(record, ev, message) {
    const cosigs = H.has(ev.body, "cosigs") ? ev.body.cosigs : [];
    const signers = [ev.actor].concat(cosigs.map((c) => c.key));
    if (new Set(signers).size !== signers.length) throw RULE("a key signs a key event once: the actor and cosigners must differ");
    if (ev.actor === record.key && !cosigs.length) return ["key", ev.at];
    const rec = recoveryOf(record);
    if (rec !== null && rec.association === ev.actor && !cosigs.length) {
      if (!attestationsInForce(record, ev.at).some((a) => a.attester === ev.actor))
        throw RULE(`the association ${ev.actor} has no attestation of ${record.key} in force: it cannot act for the key`);
      return ["association", rec.at];
    }
    if (rec === null || !signers.every((k) => rec.keys.includes(k))) {
      const others = rec ? "or its recovery keys or association" : "(it names no recovery keys)";
      throw RULE(`${ev.type} of ${record.key} must be signed by the key itself ${others}`);
    }
    if (signers.length < rec.threshold) throw RULE(`${ev.type} needs ${rec.threshold} of the ${rec.keys.length} recovery keys; ${signers.length} signed`);
    for (let i = 0; i < cosigs.length; i++) await checkSig(cosigs[i].key, cosigs[i].sig, message, `body.cosigs[${i}]`);
    return ["recovery", rec.at];
  }

  /** R19-R21 for one key event (keystate.py apply_key); the chain checks are the caller's. */
  async function applyKey(record, ev) {
    const b = ev.body, id = ev.id;
    if (ev.type === "key.recovery") {
      // R20: the key alone names its recovery keys, while it has not been rotated away.
      if (ev.actor !== record.key) throw RULE("key.recovery must be signed by the key itself");
      if (rotationOf(record) !== null) throw RULE(`${record.key} was rotated away: it names no recovery keys`);
      const keys = H.has(b, "keys") ? b.keys : [];
      const threshold = H.has(b, "threshold") ? b.threshold : keys.length ? null : 0;
      if (keys.length && !(1 <= (threshold || 0) && (threshold || 0) <= keys.length)) throw RULE(`threshold must be from 1 to ${keys.length} (the recovery keys)`);
      if (!keys.length && threshold) throw RULE("a threshold needs recovery keys");
      if (keys.includes(record.key) || b.association === record.key) throw RULE("a key is not its own recovery key");
      if (!keys.length && !H.has(b, "association")) throw RULE("key.recovery names recovery keys or an association");
      return Object.assign({}, record, { recoveries: record.recoveries.concat([{ id, keys: keys.slice(), threshold: threshold || 0,
        association: H.has(b, "association") ? b.association : null, at: ev.at }]) });
    }
    const message = keyStatement(ev);
    const [by, signedAsOf] = await authority(record, ev, message);
    const done = rotationOf(record);
    if (ev.type === "key.rotate") {
      // R19: a key is rotated once, to a new key that signs the statement too.
      if (done !== null) throw RULE(`${record.key} was already rotated to ${done.to}`);
      if (b.to === record.key) throw RULE("a key cannot be rotated to itself");
      await checkSig(b.to, b.to_sig, message, "body.to_sig (the new key)");
      return Object.assign({}, record, { rotations: record.rotations.concat([{ id, to: b.to, at: ev.at, by, signedAsOf }]) });
    }
    // R21: from `since` on, what the key signs counts for nothing; a later declaration may
    // only move the time earlier.
    const since = H.parseTime(b.since, "since", "rules");
    if (by === "key" && done !== null && since <= done.at)
      throw RULE(`${record.key} was rotated to ${done.to}: only its recovery keys or association may declare it compromised from before that`);
    if (since > ev.at) throw RULE("key.compromised cannot declare a time after its own");
    if (record.compromisedSince !== null && since >= record.compromisedSince)
      throw RULE(`${record.key} is already compromised since ${fmt(record.compromisedSince)}`);
    return Object.assign({}, record, { compromisedSince: since, compromisedBy: id });
  }

  /** R17-R18 (rules.py _key_record): an event of a key record, which chains like a work. */
  async function keyRecordEvent(state, ev) {
    if (!isKeyType(ev.type)) {
      const owner = state !== null && state.identity ? state.identity.key : "a key";
      throw RULE(`${ev.work} is the key record of ${owner}, not a work: ${ev.type} does not apply to it`);
    }
    if (state === null) {
      if (ev.prev !== null) throw RULE("the first event of a key record must have prev null");
      const record = await recordEvent(null, ev);
      return { work: ev.work, registration: ev.id, registrant: ev.actor, registeredAt: ev.at, controller: record.key,
        head: ev.id, lastAt: ev.at, events: 1, content: {}, payees: [], grants: [], licences: [], dataset: null, versions: [],
        controllers: [[record.key, ev.at]], identity: record, accounts: NO_ACCOUNTS };
    }
    if (state.identity === null) throw RULE(`${ev.work} is a registered work, not a key record`);
    if (ev.prev !== state.head) throw RULE(`event builds on ${ev.prev} but the head of the key record ${ev.work} is ${state.head}`);
    if (ev.at < state.lastAt) throw RULE(`event time ${fmt(ev.at)} is before the key record's last event (${fmt(state.lastAt)})`);
    return Object.assign({}, state, { head: ev.id, lastAt: ev.at, events: state.events + 1, identity: await recordEvent(state.identity, ev) });
  }

  async function recordEvent(record, ev) {
    if (IDENTITY_TYPES.includes(ev.type)) return applyIdentity(record, ev);
    const key = ev.body.key, rid = await keyRecordId(key);
    if (ev.work !== rid) throw RULE(`${ev.type} of ${key} must have work ${rid}`);
    return applyKey(record || newRecord(key), ev);
  }

  // Whose signature counts on a work (keystate.py; rules.md section 9.2). `lookup` is an async
  // function from a key to its proven record, or null (the receipt lists none).

  /** The key that holds at t the control `key` was given, followed through rotations. */
  async function holder(key, t, lookup) {
    if (!lookup) return key;
    const seen = new Set([key]);
    for (let i = 0; i < MAX_ROTATION_HOPS; i++) {
      const rec = await lookup(key);
      const nxt = rec !== null ? successor(rec, t) : null;
      if (nxt === null || seen.has(nxt)) return key;
      seen.add(nxt);
      key = nxt;
    }
    return key;
  }

  /** `key` and every key it was rotated to, whenever. */
  async function lineage(key, lookup) {
    const out = [key];
    for (let i = 0; i < MAX_ROTATION_HOPS; i++) {
      const rec = await lookup(out[out.length - 1]);
      const r = rec !== null ? rotationOf(rec) : null;
      if (r === null || out.includes(r.to)) break;
      out.push(r.to);
    }
    return out;
  }

  /** `key` and every key any logged rotation led to from it, counting or not (keystate.py
   * reachable): the keys a replay accepts for a role `key` holds (R22). */
  async function reachable(key, lookup) {
    const out = [key];
    for (let i = 0; i < out.length; i++) {
      const rec = await lookup(out[i]);
      for (const r of rec !== null ? rec.rotations : [])
        if (!out.includes(r.to) && out.length < MAX_ROTATION_HOPS) out.push(r.to);
    }
    return out;
  }

  /** May actor sign for the role of `role` on a replay (keystate.py acts_for, not strict)? */
  async function actsFor(actor, role, lookup) {
    if (!lookup) return actor === role;
    return actor === role || (await reachable(role, lookup)).includes(actor);
  }

  const FAR_FUTURE = 2 ** 62;
  /** The key holding `key`'s roles after every rotation that counts (keystate.py final_holder). */
  const finalHolder = (key, lookup) => holder(key, FAR_FUTURE, lookup);

  const LICENSEE_SIGNS = ["licence.accept", "usage.report", "payment.record"];
  const PAYEE_SIGNS = ["payment.ack", "payment.dispute"];
  /** The key whose role the event's actor signs for (keystate.py signer_role). */
  function signerRole(state, ev) {
    if (state === null) return null;
    const b = ev.body;
    if (LICENSEE_SIGNS.includes(ev.type)) {
      const id = ev.type === "licence.accept" ? b.offer : b.licence;
      const lic = state.licences.find((l) => l.id === id);
      return lic === undefined ? null : lic.licensee;
    }
    if (PAYEE_SIGNS.includes(ev.type)) {
      const pay = state.accounts.payments.get(b.payment);
      return pay === undefined ? null : pay.payee;
    }
    return state.controller;
  }

  /** R22: does actor's signature at t count (not compromised; the controller's holder)? */
  async function counts(actor, controller, t, lookup) {
    if (!lookup) return controller === null || actor === controller;
    const rec = await lookup(actor);
    if (rec !== null && compromisedAt(rec, t)) return false;
    return controller === null || actor === (await holder(controller, t, lookup));
  }

  /** Might a work's events include one that does not count? (keystate.py affected) */
  async function affected(state, lookup) {
    const roles = new Set(state.controllers.map(([k]) => k));
    for (const x of state.licences) if (x.acceptedAt !== null) roles.add(x.licensee);
    for (const p of state.accounts.payments.values()) roles.add(p.payee);
    const keys = new Set();
    for (const k of roles) for (const x of await reachable(k, lookup)) keys.add(x);
    for (const k of keys) {
      const rec = await lookup(k);
      if (rec === null) continue;
      if (rec.compromisedSince !== null && rec.compromisedSince <= state.lastAt) return true;
      const r = rotationOf(rec);
      if (r !== null && r.at <= state.lastAt && state.events > 1) return true;
    }
    return false;
  }

  /** keystate.py effective (rules.md 9, R22): replay in log order keeping the events that
   * count. One is skipped when its signature does not count, or when the rules refuse it on
   * the state kept (it builds on a skipped one); the event after a skipped one is read as
   * building on the state kept. Until one is skipped a refusal is the log's own: thrown.
   * `applied(before, after, ev)` is called for each event kept. */
  async function effective(events, lookup, applied) {
    let state = null, previous = null;
    const disputed = [];
    for (const ev of events) {
      let base = state;
      if (base !== null && previous !== null && ev.prev === previous) base = Object.assign({}, base, { head: previous });
      let kept = await counts(ev.actor, signerRole(base, ev), ev.at, lookup), after = null;
      if (kept) {
        try {
          after = await apply(base, ev, lookup);
        } catch (e) {
          if (!(e instanceof VerifyError) || e.check !== "rules" || !disputed.length) throw e;
          kept = false;
        }
      }
      if (kept) {
        if (applied) await applied(state, after, ev);
        state = after;
        previous = null;
      } else {
        disputed.push(ev.id);
        previous = ev.id;
      }
    }
    return { state, disputed };
  }

  /** Rule (3) with key records (rules.py _signs_for_controller, a replay). */
  async function signsForController(state, actor, keys) {
    return actsFor(actor, state.controller, keys);
  }

  /** Apply one verified event to its work's state (null before registration); `keys` looks up
   * the key records (section 9): with them a key the controller was rotated to signs for it. */
  async function apply(state, ev, keys) {
    const b = ev.body, id = ev.id;
    keys = keys || null;
    // R17: a key record id holds key records only.
    if (isKeyRecordId(ev.work) && !isKeyType(ev.type))
      throw RULE(`${ev.work} is a key record id (it ends with the key record mark): ${ev.type} does not apply to it`);
    // (1) registration starts a work; a work is registered once, by content hash.
    if (ev.type === "work.register") {
      if (state !== null) throw RULE(`work ${ev.work} is already registered by ${state.registrant} in event ${state.registration}`);
      if (ev.prev !== null) throw RULE("work.register must have prev null");
      return { work: ev.work, registration: id, registrant: ev.actor, registeredAt: ev.at, controller: ev.actor,
        head: id, lastAt: ev.at, events: 1, content: pick(b, ["size", "media_type", "title", "similarity"]),
        payees: payeesOf(b), grants: [], licences: [], dataset: null, versions: [],
        controllers: [[ev.actor, ev.at]], identity: null, accounts: NO_ACCOUNTS };
    }
    if (ev.type === "dataset.disclose") return disclose(state, ev);
    if (isKeyType(ev.type) || (state !== null && state.identity !== null)) return keyRecordEvent(state, ev);
    if (state === null) throw RULE(`work ${ev.work} is not registered`);
    if (state.dataset !== null) throw RULE(`${ev.work} is the dataset '${state.dataset}' of ${state.registrant}, not a work: ${ev.type} does not apply to it`);
    // (2) every later event names the work's current head, and time does not go backwards.
    if (ev.prev !== state.head) throw RULE(`event builds on ${ev.prev} but the head of ${ev.work} is ${state.head}`);
    if (ev.at < state.lastAt) throw RULE(`event time ${fmt(ev.at)} is before the work's last event (${fmt(state.lastAt)})`);
    // R13-R16: usage and payments are signed by the licensee or the payee (payments.py).
    if (PAY_TYPES.includes(ev.type)) return applyPayment(state, ev, keys);
    // (3) the controller alone transfers, grants, revokes, offers and terminates.
    if (ev.type !== "licence.accept" && !(await signsForController(state, ev.actor, keys)))
      throw RULE(`${ev.type} must be signed by the work's controller ${await holder(state.controller, ev.at, keys)}`);
    const next = Object.assign({}, state, { head: id, lastAt: ev.at, events: state.events + 1 });
    switch (ev.type) {
      case "work.transfer":
        if (b.to === state.controller) throw RULE("transfer to the current controller changes nothing");
        return Object.assign(next, { controller: b.to, payees: payeesOf(b),
          controllers: next.controllers.concat([[b.to, ev.at]]) });
      case "consent.grant": {
        const until = optTime(b, "until");
        if (until !== null && until <= ev.at) throw RULE("grant would expire before it starts");
        return Object.assign(next, { grants: next.grants.concat([{ id, grantee: b.grantee, purposes: b.purposes, at: ev.at, until,
          conditions: b.conditions || [], revokedBy: null, revokedAt: null }]) });
      }
      case "consent.revoke": {
        const g0 = state.grants.find((g) => g.id === b.grant);
        if (!g0) throw RULE(`no grant ${b.grant} on work ${ev.work}`);
        if (!grantInForce(g0, ev.at)) throw RULE(`grant ${g0.id} is not in force (revoked or expired)`);
        return Object.assign(next, { grants: replaceItem(next.grants, Object.assign({}, g0, { revokedBy: id, revokedAt: ev.at })) });
      }
      case "licence.offer": {
        const start = optTime(b, "from"), until = optTime(b, "until"), expires = optTime(b, "offer_expires");
        if (until !== null && (until <= ev.at || (start !== null && until <= start))) throw RULE("licence would end before it starts");
        if (expires !== null && expires <= ev.at) throw RULE("offer would expire before it is made");
        return Object.assign(next, { licences: next.licences.concat([{ id, licensee: b.licensee, purposes: b.purposes, offeredAt: ev.at,
          terms: pick(b, ["fee", "royalty_bps", "territories", "terms_uri"]), start, until, offerExpires: expires,
          acceptedBy: null, acceptedAt: null, terminatedBy: null, terminatedAt: null }]) });
      }
      case "licence.accept": {
        const x = state.licences.find((l) => l.id === b.offer);
        if (!x) throw RULE(`no licence offer ${b.offer} on work ${ev.work}`);
        if (!(await actsFor(ev.actor, x.licensee, keys))) throw RULE(`only the named licensee ${x.licensee} may accept offer ${x.id}`);
        if (!openOffer(x, ev.at)) throw RULE(`offer ${x.id} is not open (accepted, withdrawn or expired)`);
        return onAccept(Object.assign(next, { licences: replaceItem(next.licences, Object.assign({}, x, { acceptedBy: id, acceptedAt: ev.at })) }), x);
      }
      case "licence.terminate": {
        const x = state.licences.find((l) => l.id === b.licence);
        if (!x) throw RULE(`no licence ${b.licence} on work ${ev.work}`);
        if (!terminable(x, ev.at)) throw RULE(`licence ${x.id} is not in force (terminated, ended, or an offer that lapsed)`);
        return Object.assign(next, { licences: replaceItem(next.licences, Object.assign({}, x, { terminatedBy: id, terminatedAt: ev.at })) });
      }
      default:
        throw RULE(`no rule for event type ${ev.type}`);
    }
  }

  /** R12: a dataset.disclose starts or continues the series of one key and one name. */
  async function disclose(state, ev) {
    const b = ev.body, id = ev.id;
    const series = await seriesId(ev.actor, b.name);
    if (ev.work !== series) throw RULE(`dataset.disclose of '${b.name}' by ${ev.actor} must have work ${series}`);
    const emptyRoot = H.hex(await H.sha256(new Uint8Array([0x14])));
    if (b.count === 0 && b.root !== emptyRoot) throw RULE("a disclosure of 0 items must have the empty root");
    if (state === null) {
      if (ev.prev !== null) throw RULE("the first version of a dataset must have prev null");
      return { work: ev.work, registration: id, registrant: ev.actor, registeredAt: ev.at, controller: ev.actor,
        head: id, lastAt: ev.at, events: 1, content: {}, payees: [], grants: [], licences: [], dataset: b.name, versions: [b.version],
        controllers: [[ev.actor, ev.at]], identity: null, accounts: NO_ACCOUNTS };
    }
    if (state.dataset === null) throw RULE(`${ev.work} is a registered work, not a dataset`);
    if (ev.prev !== state.head) throw RULE(`dataset.disclose builds on ${ev.prev} but the latest version of '${b.name}' is event ${state.head}`);
    if (ev.at < state.lastAt) throw RULE(`event time ${fmt(ev.at)} is before the dataset's last version (${fmt(state.lastAt)})`);
    if (state.versions.includes(b.version)) throw RULE(`version '${b.version}' of dataset '${b.name}' is already disclosed`);
    return Object.assign({}, state, { head: id, lastAt: ev.at, events: state.events + 1, versions: state.versions.concat([b.version]) });
  }

  /** The state JSON of specs/receipts.md section 5.1 (rules.py WorkState.to_json). */
  function stateJson(s) {
    const t = (v) => (v === null ? null : fmt(v));
    const payees = s.payees.length ? s.payees : [[s.controller, 10000]];
    return {
      work: s.work, registration: s.registration, registrant: s.registrant, registered_at: fmt(s.registeredAt),
      controller: s.controller, payees: payees.map(([key, share]) => ({ key, share_bps: share })),
      head: s.head, events: s.events, content: s.content,
      grants: s.grants.map((g) => ({ id: g.id, grantee: g.grantee, purposes: g.purposes, granted_at: t(g.at),
        until: t(g.until), conditions: g.conditions, revoked_by: g.revokedBy, revoked_at: t(g.revokedAt) })),
      licences: s.licences.map((x) => ({ id: x.id, licensee: x.licensee, purposes: x.purposes, offered_at: t(x.offeredAt),
        terms: x.terms, from: t(x.start), until: t(x.until), offer_expires: t(x.offerExpires), accepted_by: x.acceptedBy,
        accepted_at: t(x.acceptedAt), terminated_by: x.terminatedBy, terminated_at: t(x.terminatedAt) })),
      ...(s.identity ? { identity: recordJson(s.identity) } : {}),
    };
  }

  // ---- the receipt (current.py verify_state_receipt_v2, check_decoded_current; cli/verify.py)

  async function verifyStateReceiptV2(data, trust, fileBytes, details, inner) {
    const r = parseShape(data);
    // (1) one checkpoint, signed by a trusted log key; its valid cosignatures; the log key.
    const { cp, cosigners } = await V.verifyCheckpointNote(r.checkpoint, trust);
    details.checkpoint = cp;
    details.cosigners = cosigners;
    if (!trust.logs.some((v) => v.name === cp.origin && v.vkey === r.logKey))
      throw new VerifyError("log_key", `the receipt's log key is not the trusted key of origin ${H.pyRepr(cp.origin)}`);
    // (2) it carries the map root at its size.
    if (cp.mapRoot === null) throw new VerifyError("map", `checkpoint ${cp.size} of ${cp.origin} has no map line: it proves no current state`);
    // (3) one map proof for the keys of all works listed.
    const keys = r.works.map((w) => H.hexToBytes(w.work.slice(7)));
    const values = await verifyMapProof(cp.mapRoot, keys, r.mapProof);
    // A key record listed is verified when first looked up (section 11.2; rules.md section 9).
    const listed = new Map(r.works.map((w) => [w.work, w])), done = new Map();
    const verified = async (work) => {
      if (!done.has(work)) done.set(work, await verifyWork(listed.get(work), values.get(work.slice(7)), cp, lookup));
      return done.get(work);
    };
    async function lookup(key) {
      const rid = await keyRecordId(key);
      if (!listed.has(rid)) return null;
      let st;
      try {
        st = (await verified(rid)).state;
      } catch (err) {
        if (err instanceof VerifyError) err.record = true;  // its own failure, not the work's rules
        throw err;
      }
      return st === null ? null : st.identity;
    }
    const works = [];
    for (const w of r.works) works.push(await verified(w.work));
    details.works = works;
    if (inner) return;
    // (8) what is written for people says what was verified.
    checkDecodedCurrent(data, works);
    // Then the quorum and the file.
    V.checkQuorum(trust, cosigners);
    if (fileBytes) {
      const digest = await V.workIdOf(fileBytes);
      details.fileWork = digest;
      // Key records (receipts.md section 12) name no content: a file is never one.
      if (!works.some((w) => w.work === digest && !isKeyRecordId(w.work)))
        throw new VerifyError("file", `the file is not a work of this receipt: its hash is ${digest}`);
    }
  }

  /** Step (8): the scope, decoded events and states say what was verified. */
  function checkDecodedCurrent(data, works) {
    if (H.has(data, "scope") && data.scope !== STATE_RECEIPT_V2_SCOPE)
      throw new VerifyError("decoded", "the receipt's scope is not the sentence of its format: it would claim more or less than the receipt proves", { what: "scope" });
    data.works.forEach((raw, n) => {
      const w = works[n];
      raw.events.forEach((e, i) => {
        if (i < w.events.length && H.has(e, "event") && !H.jsonEqual(e.event, H.eventJson(w.events[i])))
          throw new VerifyError("decoded", `${w.work}: decoded event ${i} does not match its signed leaf`);
      });
      if (H.has(raw, "state") && raw.state !== null && (w.state === null || !H.jsonEqual(raw.state, stateJson(w.state))))
        throw new VerifyError("decoded", `${w.work}: the receipt's decoded state is not the state its events give`, { what: "state", work: w.work });
    });
  }

  async function verifyWork(w, value, cp, lookup) {
    const HI = (why) => new VerifyError("history", why);
    // (4) an absent work: no events.
    if (value === null) {
      if (w.events.length) throw HI(`the map proves ${w.work} absent at size ${cp.size}, but the receipt lists ${w.events.length} events of it`);
      return { work: w.work, state: null, events: [], value: null };
    }
    if (!w.events.length) throw HI(`the map holds ${w.work} at size ${cp.size} (${value.count} events), but the receipt lists none of them`);
    let state = null, last = -1n;
    const events = [];
    for (const e of w.events) {
      // (5) each event: log order, strict leaf and signature, this work, in the tree.
      if (e.leafIndex <= last) throw HI(`${w.work}: events are not in log order at index ${e.leafIndex}`);
      last = e.leafIndex;
      const ev = await H.parseLeaf(e.leaf, true);
      if (ev.work !== w.work) throw HI(`event at index ${e.leafIndex} is about another work than ${w.work}`);
      if (e.leafIndex >= cp.size) throw new VerifyError("inclusion", `leaf index ${e.leafIndex} is not below checkpoint size ${cp.size}`);
      const leafHash = await H.sha256(H.concat(new Uint8Array([0]), e.leaf));
      let root;
      try {
        root = await H.rootFromInclusion(e.leafIndex, cp.size, leafHash, e.proof);
      } catch (err) {
        throw new VerifyError("inclusion", `event at index ${e.leafIndex}: ${err.message}`);
      }
      if (!H.equalBytes(root, cp.root))
        throw new VerifyError("inclusion", `event at index ${e.leafIndex}: inclusion proof: inclusion proof for leaf ${e.leafIndex} does not lead to the root`);
      // (6) the rules accept it on a replay from nothing.
      try {
        state = await apply(state, ev, lookup || null);
      } catch (err) {
        if (!(err instanceof VerifyError) || err.record) throw err;
        throw RULE(`event at index ${e.leafIndex} breaks the rules: ${err.message}`);
      }
      events.push(ev);
    }
    // (7) the last event is the one the map names: nothing of the work was left out.
    const head = events[events.length - 1];
    if (head.id !== H.hex(value.head) || value.index !== last || value.count !== BigInt(events.length))
      throw HI(`${w.work}: the map says its last event is ${H.hex(value.head)} at index ${value.index} (${value.count} events), the receipt ends with ${head.id} at index ${last} (${events.length} events): events were left out or added`);
    return { work: w.work, state, events, value };
  }

  // ---- decision receipts (receipts.md section 12; rules.py may, current.py citations) -----

  const DECISION_RECEIPT_FORMAT = "provenance-ledger/decision-receipt/v1";
  const DECISION_RECEIPT_SCOPE =
    "proves the answer of the rules to this question, computed from all of the work's events " +
    "in the log up to the checkpoint's tree size (or from its absence there): no later event " +
    "of the work exists up to that size; it proves nothing about events after that size";
  const COVERS = { ai_training: ["ai_training", "ai_generative_training"] };
  const covers = (granted, purpose) => granted.some((g) => (COVERS[g] || [g]).includes(purpose));
  const controllerAt = (s, t) => { let who = null; for (const [k, since] of s.controllers) if (since <= t) who = k; return who; };

  /** The purpose words of an allowed reason (rules.py _for, rules.md section 5.2). */
  const forWords = (purposes, purpose) => purposes.includes(purpose) ? purpose
    : `${purposes.find((p) => covers([p], purpose))}, which covers ${purpose}`;
  const EARLIER_ALLOWED = /^(consent granted to (?:anyone|this key)|licence in force) for [^ ,]+, which covers ([^ ,]+)/;
  const EARLIER_ROTATED = /^no consent or licence for ([^ ]+) is in force for this key at ([^ ]+): this key was rotated away, and [^ ]+ holds its consents and licences at that time$/;
  /** rules.py earlier_wording: the answer `d` in the words provenance-ledger 0.1.0 wrote, or null. */
  function earlierWording(d) {
    const m = EARLIER_ALLOWED.exec(d.reason), r = EARLIER_ROTATED.exec(d.reason);
    const earlier = m !== null ? `${m[1]} for ${m[2]}${d.reason.slice(m[0].length)}`
      : r !== null ? `no consent or licence for ${r[1]} is in force at ${r[2]} (all were revoked, ended or not yet accepted)` : null;
    return earlier === null ? null : Object.assign({}, d, { reason: earlier });
  }
  /** rules.py same_decision: a receipt's decision is the answer `d`, in the current words or
   * in earlier ones (receipts.md section 12.1 step 3): those provenance-ledger 0.1.0 wrote, or
   * the answer step 6 gave before it read rotations (`d.earlier`), in its words or 0.1.0's. */
  function sameDecision(written, d) {
    for (const answer of [d].concat(d.earlier || [])) {
      if (H.jsonEqual(written, answer)) return true;
      const earlier = earlierWording(answer);
      if (earlier !== null && H.jsonEqual(written, earlier)) return true;
    }
    return false;
  }

  /** May `key` use the work for `purpose` at time `at`? Default: no (opt-in). `holderAt`, when
   * given, is the key that holds at `at` the control of the controller then (section 9);
   * `holds`, when given, maps a grantee or licensee named to the key holding its role at `at`. */
  function may(s, key, purpose, at, holderAt, holds) {
    const held = (named) => named === "*" || (holds ? holds.get(named) : named) === key;
    const D = (allowed, reason, events, conditions) => ({ allowed, reason, events: events || [], conditions: conditions || [] });
    if (s !== null && s.dataset !== null) return D(false, `${s.work} is a dataset, not a work`);
    if (s !== null && s.identity) return D(false, `${s.work} is the key record of ${s.identity.key}, not a work`);
    if (s === null) return D(false, "the work is not registered on this ledger");
    if (at < s.registeredAt) return D(false, "the work was not registered yet at that time");
    for (const g of s.grants)
      if (held(g.grantee) && covers(g.purposes, purpose) && grantInForce(g, at))
        return D(true, `consent granted to ${g.grantee === "*" ? "anyone" : "this key"} for ${forWords(g.purposes, purpose)}`, [g.id], g.conditions);
    for (const x of s.licences)
      if (held(x.licensee) && covers(x.purposes, purpose) && licInForce(x, at))
        return D(true, `licence in force for ${forWords(x.purposes, purpose)}`, x.acceptedBy ? [x.id, x.acceptedBy] : [x.id]);
    // (5) the controller at time `at`.
    const controller = controllerAt(s, at);
    if (controller !== null && key === (holderAt === undefined ? controller : holderAt)) return D(true, "this key controls the work", [s.head]);
    return refused(s, key, purpose, at, holds, D);
  }

  /** rules.py _refused: step 6 (rules.md section 5), citing what covers `purpose` and names
   * `key`, `*` or a key `key` holds at `at` (a key rotated to it), in the words of section
   * 5.2; `earlier` (not a JSON member) is the answer step 6 gave before it read rotations so,
   * when that differs (receipts.md section 12.1 step 3). */
  function refused(s, key, purpose, at, holds, D) {
    const citedFor = (named) => named === key || named === "*" || (holds !== undefined && holds.get(named) === key);
    const grants = s.grants.filter((g) => covers(g.purposes, purpose) && citedFor(g.grantee));
    const lics = s.licences.filter((x) => covers(x.purposes, purpose) && citedFor(x.licensee));
    const cited = grants.map((g) => g.id).concat(lics.map((x) => x.id));
    const successor = holds && holds.has(key) ? holds.get(key) : key;
    const when = fmt(at);
    const rotatedAway = (events) => D(false, `no consent or licence for ${purpose} is in force for this key at ${when}: this key was rotated away, and ${successor} holds its consents and licences at that time`, events);
    const lapsed = (events) => D(false, `no consent or licence for ${purpose} is in force at ${when} (all were revoked, ended or not yet accepted)`, events);
    const byDefault = () => D(false, `no consent or licence for ${purpose}: not allowed by default`);
    let d;
    if (successor !== key && (grants.some((g) => g.grantee === key && grantInForce(g, at))
        || lics.some((x) => x.licensee === key && (licInForce(x, at) || openOffer(x, at)))))
      d = rotatedAway(cited);  // what names `key` stands, held by its successor
    else {
      const before = [...new Set(grants.map((g) => g.grantee).concat(lics.map((x) => x.licensee)))].filter((k) => k !== key && k !== "*");
      d = before.length ? D(false, `no consent or licence for ${purpose} is in force at ${when} (all were revoked, ended or not yet accepted, including those made to ${before.join(" and ")}, whose consents and licences this key holds at that time)`, cited)
        : cited.length ? lapsed(cited) : byDefault();
    }
    // Before: only what names `key` or `*` itself was cited, and a key rotated away was told
    // its successor holds what names it whether that was in force or not.
    const old = grants.filter((g) => g.grantee === key || g.grantee === "*").map((g) => g.id)
      .concat(lics.filter((x) => x.licensee === key).map((x) => x.id));
    const was = successor !== key && (grants.some((g) => g.grantee === key) || lics.some((x) => x.licensee === key)) ? rotatedAway(old)
      : old.length ? lapsed(old) : byDefault();
    if (!H.jsonEqual(was, d)) Object.defineProperty(d, "earlier", { value: [was], enumerable: false });
    return d;
  }

  /** rules.py may with `keys`: grantees, licensees and the controller read through their
   * keys' rotations at `at` (section 9). `lookup` null: may without key records. */
  async function mayWith(s, key, purpose, at, lookup) {
    if (s === null || !lookup) return may(s, key, purpose, at);
    const holds = new Map();
    for (const k of s.grants.map((g) => g.grantee).concat(s.licences.map((x) => x.licensee)))
      if (!holds.has(k)) holds.set(k, await holder(k, at, lookup));
    const ctl = controllerAt(s, at);
    return may(s, key, purpose, at, ctl === null ? undefined : await holder(ctl, at, lookup), holds);
  }

  // ---- whose grant counts (vouch.py, identity.py vouching; rules.md section 8) -------------

  /** The key whose signature makes an "allowed" (vouch.py granter), or null for a refusal. */
  async function granter(s, d, at, lookup) {
    if (s === null || !d.allowed) return null;
    const first = d.events.length ? d.events[0] : null;
    const holderAt = async (t) => { const c = controllerAt(s, t); return c === null ? null : holder(c, t, lookup || null); };
    const grant = first === null ? undefined : s.grants.find((g) => g.id === first);
    if (grant !== undefined) return holderAt(grant.at);
    const lic = first === null ? undefined : s.licences.find((x) => x.id === first);
    if (lic !== undefined) return holderAt(lic.offeredAt);
    return holderAt(at);
  }

  /** vouch.py vouch: the granting key, its attestations in force at `at`, and under
   * `requireAttested` an "allowed" no trusted attester vouches for turned into a refusal.
   * Returns {decision, vouching}; vouching.json is identity.py Vouching.to_json. */
  async function vouch(s, d, at, trusted, requireAttested, lookup) {
    const key = await granter(s, d, at, lookup);
    if (key === null) return { decision: d, vouching: null };
    const record = lookup ? await lookup(key) : null;
    const atts = record === null ? [] : attestationsInForce(record, at);
    const trustedAtts = atts.filter((a) => trusted.includes(a.attester));
    const vouching = { key, attestations: atts, trusted: trustedAtts,
      json: { key, attested: atts.length > 0, trusted: trustedAtts.length > 0,
        attestations: atts.map((a) => Object.assign(attestationJson(a), { trusted: trusted.includes(a.attester) })) } };
    if (requireAttested && !trustedAtts.length) {
      const reason = `${d.reason}, but the key that granted it (${key}) is ` +
        (atts.length ? "attested only by attesters you do not trust" : "not attested by anyone") + " (--require-attested)";
      return { decision: { allowed: false, reason, events: d.events, conditions: d.conditions }, vouching };
    }
    return { decision: d, vouching };
  }

  /** identity.py Vouching.describe: one line for people. */
  function describeVouching(v) {
    if (!v.attestations.length) return "not attested by anyone";
    const best = v.trusted.length ? v.trusted : v.attestations, trusted = new Set(v.trusted.map((a) => a.attester));
    return best.map((a) => `attested as ${H.pyRepr(a.name)}${a.member ? `, member ${a.member}` : ""} by ${a.attester} (${trusted.has(a.attester) ? "trusted" : "an attester you do not trust"})`).join("; ");
  }

  /** What the citation of a grant or licence that answered "allowed" for an earlier time adds
   * (current.py _later): that it ended since (revoked, terminated), or when it ends. */
  function laterWords(ended, by, when, until) {
    if (by !== null && when !== null) return `, ${ended} by ${by} at ${fmt(when)}, after the time asked`;
    return until !== null ? `, which ends at ${fmt(until)}` : "";
  }

  /** Each event a decision cites, in words (current.py citations). With the question's time
   * `at` (receipts.md section 12.1), an answer "allowed" also says what the state holds after
   * that time: the grant revoked, the licence terminated, or control passed to another key,
   * and when the grant or licence ends; an answer for a time before such an event must not
   * read as if it still held at the checkpoint. */
  function citations(d, s, at) {
    if (s === null) return [];
    const asked = at !== undefined && at !== null;
    if (d.allowed) {
      if (d.reason.startsWith("consent granted")) {
        const g = s.grants.find((x) => x.id === d.events[0]);
        const later = asked && g !== undefined ? laterWords("revoked", g.revokedBy, g.revokedAt, g.until) : "";
        return [`consent grant ${d.events[0]}${later}`];
      }
      if (d.reason.startsWith("licence in force")) {
        const x = s.licences.find((l) => l.id === d.events[0]);
        const later = asked && x !== undefined ? laterWords("terminated", x.terminatedBy, x.terminatedAt, x.until) : "";
        return [`licence ${d.events[0]} accepted in ${d.events[d.events.length - 1]}${later}`];
      }
      if (asked && s.controller !== controllerAt(s, at)) {
        const since = s.controllers[s.controllers.length - 1][1];
        return d.events.map((e) => `controller event ${e} (the work's head; this key controlled the work at the time asked, and control passed to ${s.controller} at ${fmt(since)})`);
      }
      return d.events.map((e) => `controller event ${e} (the work's head: this key controls it)`);
    }
    const cited = new Set(d.events), words = [];
    for (const g of s.grants) {
      if (!cited.has(g.id)) continue;
      if (g.revokedBy !== null && g.revokedAt !== null) words.push(`consent grant ${g.id}, revoked by ${g.revokedBy} at ${fmt(g.revokedAt)}`);
      else if (g.until !== null) words.push(`consent grant ${g.id}, which ends at ${fmt(g.until)}`);
      else words.push(`consent grant ${g.id}, in force from ${fmt(g.at)}`);
    }
    for (const x of s.licences) {
      if (!cited.has(x.id)) continue;
      if (x.terminatedBy !== null && x.terminatedAt !== null) words.push(`licence ${x.id}, terminated by ${x.terminatedBy} at ${fmt(x.terminatedAt)}`);
      else if (x.acceptedBy === null) words.push(`licence offer ${x.id}, not accepted`);
      else words.push(`licence ${x.id}, not in force at that time`);
    }
    return words;
  }

  function parseQuestion(q) {
    if (!H.isObj(q)) throw R("decision receipt question is not a JSON object");
    const u = H.keysOf(q).filter((k) => !["key", "purpose", "at"].includes(k)).sort();
    if (u.length) throw R(`decision receipt question has unknown field ${H.pyRepr(u[0])}`);
    if (!H.isStr(q.key) || !/^ed25519:[0-9a-f]{64}$/.test(q.key)) throw R("decision receipt question key: key is not of the form ed25519:<64 hex>");
    if (!H.isStr(q.purpose) || !q.purpose || Array.from(q.purpose).length > 64 ||
        !(["ai_training", "ai_generative_training", "ai_inference", "data_mining", "ai_generation"].includes(q.purpose) ||
          /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?:[a-z0-9][a-z0-9_.-]*$/.test(q.purpose)))
      throw R("decision receipt question purpose must be a purpose name");
    if (!H.isStr(q.at)) throw R("decision receipt question at is missing or not a time");
    return { key: q.key, purpose: q.purpose, at: H.parseTime(q.at, "decision receipt question at", "receipt") };
  }

  async function verifyDecisionReceipt(data, trust, fileBytes, details) {
    const u = H.keysOf(data).filter((k) => !["format", "scope", "question", "state_receipt", "decision"].includes(k)).sort();
    if (u.length) throw R(`decision receipt has unknown field ${H.pyRepr(u[0])}`);
    if (H.has(data, "decision") && data.decision !== null && !H.isObj(data.decision)) throw R("decision receipt decision is not an object or null");
    const question = parseQuestion(data.question);
    const sr = data.state_receipt;
    if (!H.isObj(sr) || sr.format !== STATE_RECEIPT_V2_FORMAT) throw R(`state receipt format is not ${STATE_RECEIPT_V2_FORMAT}`);
    const shape = parseShape(sr);
    // the work, then only key records (receipts.md section 12, rules.md section 9)
    if (shape.works.slice(1).some((x) => !isKeyRecordId(x.work))) throw R("a decision receipt's state receipt must list one work, then only key records");
    // (1) the state, as a state receipt v2 (its own step 8 included), without quorum and file.
    await verifyStateReceiptV2(sr, trust, null, details, true);
    // (2) the answer, from the rules: from the events that count (R22), the controller read
    // through its key's rotations, with the key records the receipt proves.
    const w = details.works[0];
    const byId = new Map(details.works.map((x) => [x.work, x]));
    const keyRecord = async (key) => {
      const x = byId.get(await keyRecordId(key));
      return x === undefined || x.state === null ? null : x.state.identity;
    };
    let state = w.state;
    details.disputed = [];
    if (state !== null && (await affected(state, keyRecord))) {
      const eff = await effective(w.events, keyRecord);
      state = eff.state;
      details.disputed = eff.disputed;
    }
    const ctl = state === null ? null : controllerAt(state, question.at);
    const decision = await mayWith(state, question.key, question.purpose, question.at, keyRecord);
    // keys_proven: the record of every key the controller's control passed through is here.
    let keysProven = false;
    if (w.state !== null) {
      const c = controllerAt(w.state, question.at);
      const chain = c === null ? [] : await lineage(c, keyRecord);
      keysProven = true;
      for (const k of chain) if (!byId.has(await keyRecordId(k))) keysProven = false;
    }
    details.question = question;
    details.decision = decision;
    details.keysProven = keysProven;
    details.citing = citations(decision, state, question.at);
    const candidates = [question.key];
    if (w.state !== null) for (const [k] of w.state.controllers) candidates.push(...(await lineage(k, keyRecord)));
    details.keyRecords = await provenKeys(details, candidates, trust, question.at, ctl === null ? null : await holder(ctl, question.at, keyRecord));
    // (3) what is written for people.
    if (H.has(data, "scope") && data.scope !== DECISION_RECEIPT_SCOPE)
      throw new VerifyError("decoded", "the receipt's scope is not the sentence of its format: it would claim more or less than the receipt proves", { what: "scope" });
    checkDecodedCurrent(sr, details.works);
    if (H.has(data, "decision") && data.decision !== null && !sameDecision(data.decision, decision))
      throw new VerifyError("decoded", `the receipt's decision is not what the rules give for its question: they say ${decision.allowed ? "allowed" : "not allowed"} (${decision.reason})`,
        { what: "decision", item: null, stated: data.decision, derived: decision });
    V.checkQuorum(trust, details.cosigners);
    if (fileBytes) {
      const digest = await V.workIdOf(fileBytes);
      details.fileWork = digest;
      if (w.work !== digest) throw new VerifyError("file", `the file is not a work of this receipt: its hash is ${digest}`);
    }
  }

  /** The key records a decision receipt proves, for people: each key's attestations in force
   * at the question's time and whether the reader's policy trusts their attesters (identity.py
   * vouching; rules.md section 8), its rotation and compromise. */
  async function provenKeys(details, candidates, trust, at, holderKey) {
    const attesters = trust.attesters || [];
    const keys = [], named = new Map();
    for (const k of candidates) named.set(await keyRecordId(k), k);
    for (const x of details.works.slice(1)) {
      if (x.state === null) { keys.push({ work: x.work, absent: true, key: named.get(x.work) || null }); continue; }
      const r = x.state.identity, rot = rotationOf(r);
      keys.push({ work: x.work, absent: false, key: r.key, holder: r.key === holderKey,
        attestations: attestationsInForce(r, at).map((a) => ({ id: a.id, name: a.name, member: a.member, url: a.url,
          attester: a.attester, trusted: attesters.includes(a.attester) })),
        rotatedTo: rot ? rot.to : null, rotatedAt: rot ? rot.at : null, compromisedSince: r.compromisedSince });
    }
    return { keys, attesters: attesters.slice() };
  }

  // ---- royalty receipts (receipts.md section 15; royalty_receipt.py, royalties.py) -------

  const ROYALTY_RECEIPT_FORMAT = "provenance-ledger/royalty-receipt/v1";
  const ROYALTY_RECEIPT_FORMAT_V2 = "provenance-ledger/royalty-receipt/v2";
  const ROYALTY_RECEIPT_FORMAT_V3 = "provenance-ledger/royalty-receipt/v3";
  const ROYALTY_RECEIPT_SCOPE =
    "proves the royalty statement of the licences of the works listed that the query selects, " +
    "computed from all of those works' events in the log up to the checkpoint's tree size: no " +
    "later event of these works exists up to that size; it proves nothing about events after " +
    "that size, nor that the works listed are all the works of a licensee or payee";
  // royalties.py FIGURES_V1, FIGURES: statement version 1 (receipts v1, v2) has five figures,
  // version 2 (receipt v3) adds overpaid (royalties.md sections 3, 3.3; receipts.md 15.4).
  const FIGURES_V1 = ["due", "paid", "acknowledged", "disputed", "outstanding"];
  const FIGURES = FIGURES_V1.concat(["overpaid"]);
  const figuresOf = (version) => (version >= 2 ? FIGURES : FIGURES_V1);
  const BP = 10000n;
  const PERIOD = /^(19[7-9][0-9]|[2-9][0-9]{3})(-(0[1-9]|1[0-2])|-Q[1-4])?$/;
  const byKey = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

  /** royalties.py royalty: revenue * bps / 10000, halves up; exact integers. */
  const royaltyOf = (revenue, bps) => (BigInt(revenue) * BigInt(bps) + BP / 2n) / BP;

  /** royalties.py split: largest remainder, ties by key; the parts add up to the total. */
  function split(total, shares) {
    const parts = new Map(shares.map(([k, sh]) => [k, (total * BigInt(sh)) / BP]));
    let left = total;
    for (const v of parts.values()) left -= v;
    const rem = (sh) => (total * BigInt(sh)) % BP;
    const order = shares.slice().sort((a, b) => (rem(a[1]) !== rem(b[1]) ? (rem(a[1]) > rem(b[1]) ? -1 : 1) : byKey(a[0], b[0])));
    for (const [k] of order.slice(0, Number(left))) parts.set(k, parts.get(k) + 1n);
    return parts;
  }

  /** royalties.py Period.parse: a year, a quarter or a month, as [start, end) in seconds. */
  function parsePeriod(text, what) {
    if (!H.isStr(text) || !PERIOD.test(text))
      throw R(`${what} ${H.pyRepr(String(text).slice(0, 40))} is not a period: a year (2026), a quarter (2026-Q3) or a month (2026-09)`);
    const year = Number(text.slice(0, 4));
    const [first, months] = text.length === 4 ? [1, 12] : text[5] === "Q" ? [3 * Number(text[6]) - 2, 3] : [Number(text.slice(5)), 1];
    return { text, start: Date.UTC(year, first - 1, 1) / 1000, end: Date.UTC(year, first - 1 + months, 1) / 1000 };
  }

  function parseRoyaltyQuery(q) {
    const names = ["licensee", "payee", "period"];
    if (!H.isObj(q) || H.keysOf(q).length !== 3 || !names.every((k) => H.has(q, k)))
      throw R("royalty receipt query must be an object of exactly licensee, payee, period");
    for (const name of ["licensee", "payee"])
      if (q[name] !== null && !(H.isStr(q[name]) && /^ed25519:[0-9a-f]{64}$/.test(q[name])))
        throw R(`royalty receipt query ${name}: key ${H.pyRepr(String(q[name]).slice(0, 80))} is not of the form ed25519:<64 hex>`);
    return { licensee: q.licensee, payee: q.payee, period: q.period === null ? null : parsePeriod(q.period, "royalty receipt period") };
  }

  const inPeriod = (q, periodText, at) => {
    if (q.period === null) return true;
    if (periodText !== null && periodText !== undefined) {
      const p = parsePeriod(periodText, "period");
      return q.period.start <= p.start && p.end <= q.period.end;
    }
    return q.period.start <= at && at < q.period.end;
  };
  const newLine = (payee) => ({ payee, due: 0n, paid: 0n, acknowledged: 0n, disputed: 0n, due_from: [], paid_in: [], answered_in: [] });
  const lineOf = (st, k) => { if (!st.lines.has(k)) st.lines.set(k, newLine(k)); return st.lines.get(k); };
  // royalties.py Line: version 1's outstanding is netted (negative when paid beyond what is
  // due); version 2's outstanding and overpaid are never negative, and never netted.
  const netted = (x) => x.due - x.paid + x.disputed;
  const figure = (x, f, version) => {
    if (f === "outstanding") return version >= 2 ? (netted(x) > 0n ? netted(x) : 0n) : netted(x);
    if (f === "overpaid") return netted(x) < 0n ? -netted(x) : 0n;
    return x[f];
  };
  const effectivePayees = (s) => (s.payees.length ? s.payees : [[s.controller, 10000]]);

  /** royalties.py statement: replay each work's events with the rules and account for them.
   * With `keys` (a v2 receipt's key records, royalties.md section 3.1) only the events that
   * count, licensees and payees named by their final holders; key records add no licence. */
  async function royaltyStatement(works, q, keys) {
    keys = keys || null;
    const out = [];
    for (const events of works) {
      if (!events.length || isKeyRecordId(events[0].work)) continue;
      const open = new Map();
      const accountFor = (before, after, ev) => account(open, before, after, ev, q, keys);
      if (keys) await effective(events, keys, accountFor);  // the events that count (R22)
      else {
        let state = null;
        for (const ev of events) {
          const before = state;
          state = await apply(state, ev, keys);
          await accountFor(before, state, ev);
        }
      }
      out.push(...open.values());
    }
    const licensee = q.licensee === null ? null : await finalHolder(q.licensee, keys);
    let selected = out.filter((x) => licensee === null || licensee === x.licensee);
    if (q.payee !== null) {
      const payee = await finalHolder(q.payee, keys);
      selected = selected.filter((x) => x.lines.has(payee));
      for (const x of selected) x.lines = new Map([[payee, x.lines.get(payee)]]);
    }
    return selected;
  }

  async function account(open, before, after, ev, q, keys) {
    const b = ev.body;
    const line = async (st, k) => lineOf(st, await finalHolder(k, keys));
    // royalties.py _due: two payees that became one key share a line; the source is cited once.
    const due = async (st, parts, always) => {
      for (const [k, part] of parts) {
        const to = await line(st, k);
        to.due += part;
        if ((always || part) && !to.due_from.includes(ev.id)) to.due_from.push(ev.id);
      }
    };
    if (ev.type === "licence.accept") {
      const lic = after.licences.find((l) => l.id === b.offer);
      const fee = H.has(lic.terms, "fee") ? lic.terms.fee : null;
      const st = { licence: lic.id, work: ev.work, licensee: await finalHolder(lic.licensee, keys), currency: fee !== null ? fee.currency : null,
        accepted_by: ev.id, lines: new Map(), reports: [], units: 0n, revenue: 0n, amounts: new Map() };
      open.set(lic.id, st);
      if (fee !== null && inPeriod(q, null, ev.at)) await due(st, split(BigInt(fee.amount), effectivePayees(after)), true);
      return;
    }
    if (!PAY_TYPES.includes(ev.type) || before === null) return;
    if (ev.type === "usage.report") {
      const st = open.get(b.licence);
      st.currency = b.revenue.currency;
      if (!inPeriod(q, b.period, ev.at)) return;
      const lic = after.licences.find((l) => l.id === b.licence);
      st.reports.push(ev.id);
      st.units += BigInt(b.units);
      st.revenue += BigInt(b.revenue.amount);
      const amount = royaltyOf(b.revenue.amount, H.has(lic.terms, "royalty_bps") ? lic.terms.royalty_bps : 0);
      await due(st, split(amount, effectivePayees(after)), false);
      return;
    }
    if (ev.type === "payment.record") {
      const st = open.get(b.licence);
      st.currency = b.amount.currency;
      if (!inPeriod(q, H.has(b, "period") ? b.period : null, ev.at)) return;
      const paid = await line(st, b.to);
      paid.paid += BigInt(b.amount.amount);
      paid.paid_in.push(ev.id);
      st.amounts.set(ev.id, BigInt(b.amount.amount));
      return;
    }
    // an acknowledgement or a dispute moves the payment's amount between the figures
    const pay = before.accounts.payments.get(b.payment);
    const st = open.get(pay.licence);
    const answered = st.lines.get(await finalHolder(pay.payee, keys)), amount = st.amounts.get(pay.id);
    if (answered === undefined || amount === undefined) return;  // a payment outside the period asked
    if (pay.status === "disputed") answered.disputed -= amount;
    if (ev.type === "payment.ack") answered.acknowledged += amount;
    else answered.disputed += amount;
    answered.answered_in.push(ev.id);
  }

  /** royalty_receipt.py involved_keys: every signer, every key a body names (payees, `to`,
   * `licensee`), and every key any logged rotation of those led to; sorted. */
  async function involvedKeys(histories, lookup) {
    const keys = new Set();
    for (const events of histories) for (const ev of events) {
      keys.add(ev.actor);
      for (const p of ev.body.payees || []) keys.add(p.key);
      for (const name of ["to", "licensee"]) if (H.isStr(ev.body[name])) keys.add(ev.body[name]);
    }
    for (const k of Array.from(keys)) for (const x of await reachable(k, lookup)) keys.add(x);
    return Array.from(keys).sort(byKey);
  }

  function royaltyJson(q, licences, version) {
    const figures = figuresOf(version);
    const total = (x, f) => Array.from(x.lines.values()).reduce((n, l) => n + figure(l, f, version), 0n);
    const sums = new Map();
    for (const x of licences) for (const l of x.lines.values()) {
      const id = JSON.stringify([l.payee, x.currency || ""]);
      if (!sums.has(id)) sums.set(id, Object.fromEntries(figures.map((f) => [f, 0n])));
      for (const f of figures) sums.get(id)[f] += figure(l, f, version);
    }
    const totals = Array.from(sums.entries()).map(([id, row]) => [JSON.parse(id), row])
      .sort((a, b) => byKey(a[0][0], b[0][0]) || byKey(a[0][1], b[0][1]))
      .map(([[k, c], row]) => Object.assign({ payee: k, currency: c || null }, row));
    return Object.assign(version >= 2 ? { version } : {}, {
      query: { licensee: q.licensee, payee: q.payee, period: q.period === null ? null : q.period.text },
      licences: licences.map((x) => Object.assign({ licence: x.licence, work: x.work, licensee: x.licensee, currency: x.currency,
        accepted_by: x.accepted_by, units: x.units, revenue: x.revenue, reports: x.reports.slice() },
      Object.fromEntries(figures.map((f) => [f, total(x, f)])),
      { payees: Array.from(x.lines.keys()).sort(byKey).map((k) => {
        const l = x.lines.get(k);
        return Object.assign({ payee: l.payee }, Object.fromEntries(figures.map((f) => [f, figure(l, f, version)])),
          { due_from: l.due_from.slice(), paid_in: l.paid_in.slice(), answered_in: l.answered_in.slice() });
      }) })),
      totals,
    });
  }

  async function verifyRoyaltyReceipt(data, trust, fileBytes, details) {
    const u = H.keysOf(data).filter((k) => !["format", "scope", "query", "state_receipt", "statement"].includes(k)).sort();
    if (u.length) throw R(`royalty receipt has unknown field ${H.pyRepr(u[0])}`);
    if (H.has(data, "statement") && data.statement !== null && !H.isObj(data.statement)) throw R("royalty receipt statement is not an object or null");
    const query = parseRoyaltyQuery(data.query);
    const sr = data.state_receipt;
    if (!H.isObj(sr) || sr.format !== STATE_RECEIPT_V2_FORMAT) throw R(`state receipt format is not ${STATE_RECEIPT_V2_FORMAT}`);
    parseShape(sr);
    // (1) the state receipt, steps (1)-(7) of section 11.2.
    await verifyStateReceiptV2(sr, trust, null, details, true);
    const histories = details.works.filter((w) => w.state !== null && !isKeyRecordId(w.work)).map((w) => w.events);
    let keys = null;
    // receipts.md 15.4: a v3 receipt's statement is version 2; v1 and v2 keep version 1.
    const receiptVersion = [ROYALTY_RECEIPT_FORMAT, ROYALTY_RECEIPT_FORMAT_V2, ROYALTY_RECEIPT_FORMAT_V3].indexOf(data.format) + 1;
    const version = receiptVersion >= 3 ? 2 : 1;
    if (receiptVersion >= 2) {
      // (2, v2 and v3) the key record of every key the events involve is listed, present or proven
      // absent (receipts.md section 15.3): no rotation or compromise of them is left out.
      const byId = new Map(details.works.map((x) => [x.work, x]));
      keys = async (key) => {
        const x = byId.get(await keyRecordId(key));
        return x === undefined || x.state === null ? null : x.state.identity;
      };
      for (const k of await involvedKeys(histories, keys))
        if (!byId.has(await keyRecordId(k)))
          throw new VerifyError("keys", `the receipt does not list the key record of ${k} (${await keyRecordId(k)}), a key its events involve: a rotation or a compromise of it may be left out`);
    }
    // (3) the statement from the proven events of the works the log holds.
    let licences;
    try {
      licences = await royaltyStatement(histories, query, keys);
    } catch (err) {  // a v1 replay without the key records a successor's events need
      if (!(err instanceof VerifyError) || err.check !== "rules") throw err;
      throw RULE(`the events do not replay without key records: ${err.message}`);
    }
    const statement = royaltyJson(query, licences, version);
    details.royalties = statement;
    details.royaltyVersion = { receipt: receiptVersion, statement: version };
    // (3) what is written for people says what was verified.
    if (H.has(data, "scope") && data.scope !== ROYALTY_RECEIPT_SCOPE)
      throw new VerifyError("decoded", "the receipt's scope is not the sentence of its format: it would claim more or less than the receipt proves", { what: "scope" });
    checkDecodedCurrent(sr, details.works);
    if (H.has(data, "statement") && data.statement !== null && !H.jsonEqual(data.statement, statement))
      throw new VerifyError("decoded", "the receipt's statement is not what the proven events give: a figure, a licence or an event cited was changed", { what: "statement" });
    V.checkQuorum(trust, details.cosigners);
    if (fileBytes) {
      const digest = await V.workIdOf(fileBytes);
      details.fileWork = digest;
      if (!details.works.some((w) => w.work === digest && !isKeyRecordId(w.work))) throw new VerifyError("file", `the file is not a work of this receipt: its hash is ${digest}`);
    }
  }

  // ---- state receipts v1 (receipts.md section 5; receipt.py verify_state_receipt) --------

  const STATE_RECEIPT_V1_FORMAT = "provenance-ledger/state-receipt/v1";
  const STATE_RECEIPT_V1_SCOPE =
    "proves that these events, from the registration on, are in the log at this checkpoint " +
    "and form an unbroken chain (each names the one before); it does not prove that no later " +
    "event exists: events after the last one shown may have been left out";

  async function verifyStateReceiptV1(data, trust, fileBytes, details) {
    const { keysOf, pyRepr, isStr, isObj, isInt, b64decode } = H;
    let u = keysOf(data).filter((k) => !["format", "log_key", "checkpoint", "work", "events", "state", "scope"].includes(k)).sort();
    if (u.length) throw R(`state receipt has unknown field ${pyRepr(u[0])}`);
    for (const name of ["log_key", "checkpoint", "work"])
      if (!isStr(data[name])) throw R(`state receipt field '${name}' is missing or not a string`);
    if (!Array.isArray(data.events) || data.events.length < 1 || data.events.length > MAX_STATE_EVENTS)
      throw R(`state receipt must list 1 to ${MAX_STATE_EVENTS} events`);
    const events = data.events.map((e, n) => {
      if (!isObj(e) || keysOf(e).some((k) => !["leaf_index", "leaf", "inclusion_proof", "event"].includes(k)))
        throw R(`state receipt event ${n} has unknown fields`);
      for (const [name, kind, ok] of [["leaf", "str", isStr], ["leaf_index", "int", isInt], ["inclusion_proof", "list", Array.isArray]])
        if (!ok(e[name])) throw R(`receipt field '${name}' is missing or not a ${kind}`);
      if (e.inclusion_proof.length > MAX_PROOF_HASHES || !e.inclusion_proof.every(isStr)) throw R("receipt inclusion_proof must be a list of base64 hashes");
      return { leafIndex: BigInt(e.leaf_index), leaf: b64decode(e.leaf, "receipt leaf"),
        proof: e.inclusion_proof.map((h) => b64decode(h, "inclusion proof hash", 32)) };
    });
    // (1) one checkpoint, signed by a trusted log key.
    const { cp, cosigners } = await V.verifyCheckpointNote(data.checkpoint, trust);
    details.checkpoint = cp;
    details.cosigners = cosigners;
    if (!trust.logs.some((v) => v.name === cp.origin && v.vkey === data.log_key))
      throw new VerifyError("log_key", `the receipt's log key is not the trusted key of origin ${pyRepr(cp.origin)}`);
    let state = null, last = -1n;
    const verified = [];
    for (const e of events) {
      // (2) each event is in the tree, in log order, and about this work.
      if (e.leafIndex <= last) throw new VerifyError("history", `events are not in log order at index ${e.leafIndex}`);
      last = e.leafIndex;
      const ev = await H.parseLeaf(e.leaf, true);
      if (ev.work !== data.work) throw new VerifyError("history", `event at index ${e.leafIndex} is about another work`);
      if (e.leafIndex >= cp.size) throw new VerifyError("inclusion", `leaf index ${e.leafIndex} is not below checkpoint size ${cp.size}`);
      let root;
      try {
        root = await H.rootFromInclusion(e.leafIndex, cp.size, await H.sha256(H.concat(new Uint8Array([0]), e.leaf)), e.proof);
      } catch (err) {
        throw new VerifyError("inclusion", `event at index ${e.leafIndex}: ${err.message}`);
      }
      if (!H.equalBytes(root, cp.root))
        throw new VerifyError("inclusion", `event at index ${e.leafIndex}: inclusion proof: inclusion proof for leaf ${e.leafIndex} does not lead to the root`);
      // (3) the rules accept it on a replay from nothing; prev links make the chain whole.
      try {
        state = await apply(state, ev);
      } catch (err) {
        if (!(err instanceof VerifyError)) throw err;
        throw RULE(`event at index ${e.leafIndex} breaks the rules: ${err.message}`);
      }
      verified.push(ev);
    }
    details.works = [{ work: data.work, state, events: verified, value: null }];
    details.complete = false;
    // What is written for people says what was verified.
    if (H.has(data, "scope") && data.scope !== STATE_RECEIPT_V1_SCOPE)
      throw new VerifyError("decoded", "the receipt's scope is not the sentence of its format: it would claim more or less than the receipt proves", { what: "scope" });
    data.events.forEach((raw, n) => {
      if (H.has(raw, "event") && !H.jsonEqual(raw.event, H.eventJson(verified[n])))
        throw new VerifyError("decoded", `decoded event ${n} does not match its signed leaf`);
    });
    if (H.has(data, "state") && data.state !== null && !H.jsonEqual(data.state, stateJson(state)))
      throw new VerifyError("decoded", "the receipt's decoded state is not the state its events give", { what: "state", work: data.work });
    V.checkQuorum(trust, cosigners);
    if (fileBytes) {
      const digest = await V.workIdOf(fileBytes);
      details.fileWork = digest;
      if (digest !== data.work)
        throw new VerifyError("file", `the file is not the anchored content: its hash is ${digest}, the receipt is for ${data.work}`);
    }
  }

  V.formats[STATE_RECEIPT_V1_FORMAT] = verifyStateReceiptV1;
  V.formats[STATE_RECEIPT_V2_FORMAT] = verifyStateReceiptV2;
  V.formats[DECISION_RECEIPT_FORMAT] = verifyDecisionReceipt;
  V.formats[ROYALTY_RECEIPT_FORMAT] = verifyRoyaltyReceipt;
  V.formats[ROYALTY_RECEIPT_FORMAT_V2] = verifyRoyaltyReceipt;
  V.formats[ROYALTY_RECEIPT_FORMAT_V3] = verifyRoyaltyReceipt;
  V.royaltyFigures = FIGURES_V1;
  V.citations = citations;
  V.stateInternals = { parseShape, parseQuestion, verifyStateReceiptV2, checkDecodedCurrent, may, keyRecordId, isKeyRecordId,
    apply, holder, lineage, affected, effective, reachable, mayWith, sameDecision, vouch, describeVouching, finalHolder, signerRole, counts };
  V.attInForce = attInForce;
  V.stateJson = stateJson;
  V.grantInForce = grantInForce;
  V.licInForce = licInForce;
})(typeof window !== "undefined" ? window : globalThis);
