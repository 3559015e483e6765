/* provenance-ledger verification page: dataset proofs (specs/datasets.md section 6.2): the
 * disclosure's receipt (a dataset.disclose in the log), then the path from the item's leaf,
 * or its empty place, to the disclosed root (core/disclosure.py, core/dataset.py `Path`).
 * A classic script; extends PLVerify.
 */
(function (global) {
  "use strict";
  const V = global.PLVerify;
  const { VerifyError } = V;
  const H = V.internals;

  const FORMAT = "provenance-ledger/dataset-proof/v1";
  const MAX_PROOF_FILE_BYTES = (1 << 20) + (64 << 10);
  const DEPTH = 256, BITMAP_BYTES = 32;
  const R = (why) => new VerifyError("receipt", why);
  const tag = (s) => H.enc.encode(s);

  function parsePath(data) {
    const { keysOf, pyRepr, isStr, b64decode, has } = H;
    const u = keysOf(data).filter((k) => !["item", "answer", "salt", "bitmap", "siblings"].includes(k)).sort();
    if (u.length) throw R(`proof has unknown field ${pyRepr(u[0])}`);
    for (const name of ["item", "answer", "bitmap"])
      if (!isStr(data[name])) throw R(`proof field '${name}' is missing or not a string`);
    const sib = data.siblings;
    if (!Array.isArray(sib) || sib.length > DEPTH || !sib.every(isStr)) throw R(`proof siblings must be a list of at most ${DEPTH} base64 hashes`);
    const salt = has(data, "salt") ? data.salt : null;
    if (salt !== null && !isStr(salt)) throw R("proof salt must be a base64 string");
    const path = {
      item: data.item, answer: data.answer,
      salt: salt === null ? null : b64decode(salt, "proof salt", 32),
      bitmap: b64decode(data.bitmap, "proof bitmap", BITMAP_BYTES),
      siblings: sib.map((x) => b64decode(x, "proof sibling", 32)),
    };
    if (!/^(sha256:[0-9a-f]{64}|ISCC:[A-Z2-7]{10,128})$/.test(path.item))
      throw R(`item ${pyRepr(path.item.slice(0, 80))} is not a sha256: content id or an ISCC code in canonical form`);
    if (path.answer !== "in" && path.answer !== "not-in") throw R("answer must be 'in' or 'not-in'");
    if ((path.salt === null) !== (path.answer === "not-in")) throw R("a salt is given with an 'in' answer, and only then");
    let count = 0;
    for (const b of path.bitmap) for (let x = b; x; x >>= 1) count += x & 1;
    if (count !== path.siblings.length) throw R(`bitmap names ${count} siblings but the proof has ${path.siblings.length}`);
    return path;
  }

  async function nodeHash(left, right) {
    if (left === null) return right === null ? null : H.sha256(H.concat(new Uint8Array([0x13]), right));
    if (right === null) return H.sha256(H.concat(new Uint8Array([0x12]), left));
    return H.sha256(H.concat(new Uint8Array([0x11]), left, right));
  }

  /** The root the path leads to: the leaf (empty for "not-in"), then from depth 255 up to 0. */
  async function pathRoot(path) {
    const raw = tag(path.item);
    const key = await H.sha256(H.concat(tag("provenance-ledger/dataset/key/v1\n"), raw));
    let value = path.salt === null ? null : await H.sha256(H.concat(new Uint8Array([0x10]), path.salt, raw));
    let at = path.siblings.length;
    for (let depth = DEPTH - 1; depth >= 0; depth--) {
      let sibling = null;
      if ((path.bitmap[depth >> 3] >> (7 - (depth & 7))) & 1) sibling = path.siblings[--at];
      const bit = (key[depth >> 3] >> (7 - (depth & 7))) & 1;
      value = bit ? await nodeHash(sibling, value) : await nodeHash(value, sibling);
    }
    return value === null ? H.sha256(new Uint8Array([0x14])) : value;
  }

  async function verifyDatasetProof(data, trust, fileBytes, details) {
    if (details.size > MAX_PROOF_FILE_BYTES) throw R(`dataset proof is larger than ${MAX_PROOF_FILE_BYTES} bytes`);
    // (1) the file parses strictly.
    const u = H.keysOf(data).filter((k) => !["format", "item", "answer", "salt", "bitmap", "siblings", "disclosure"].includes(k)).sort();
    if (u.length) throw R(`dataset proof has unknown field ${H.pyRepr(u[0])}`);
    if (!H.has(data, "disclosure")) throw R("dataset proof lacks field 'disclosure'");
    const rest = Object.fromEntries(H.keysOf(data).filter((k) => k !== "format" && k !== "disclosure").map((k) => [k, data[k]]));
    const path = parsePath(rest);
    // (2) the disclosure is a logged, signed event at a trusted checkpoint.
    const { event } = await V.verifyInclusionReceipt(data.disclosure, trust, details);
    // (3) it is a dataset.disclose.
    if (event.type !== "dataset.disclose") throw new VerifyError("event", `the disclosure is a ${event.type}, not a dataset.disclose`);
    // (4) the path leads from the item's leaf (or its empty place) to the disclosed root.
    if (H.hex(await pathRoot(path)) !== event.body.root)
      throw new VerifyError("dataset", `the proof for ${path.item} does not lead to the disclosed root`);
    details.dataset = { item: path.item, member: path.salt !== null, body: event.body };
    V.checkQuorum(trust, details.cosigners);
    if (fileBytes) {
      const digest = await V.workIdOf(fileBytes);
      details.fileWork = digest;
      if (digest !== path.item) throw new VerifyError("file", `the file is not the item of this proof: its hash is ${digest}, the proof is for ${path.item}`);
    }
  }

  V.formats[FORMAT] = verifyDatasetProof;
})(typeof window !== "undefined" ? window : globalThis);
