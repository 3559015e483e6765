/* provenance-ledger verification page: the page's behaviour (inputs, verdict in words,
 * history timeline, and the node explorer when the page is served by a node).
 * A classic script; uses PLVerify (verify.js) and PLWords (words.js). */
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  // gen counts the inputs the user gave: a node's answer that arrives after a newer input
  // does not replace the verdict of that input. nodeTrust: the node's published keys as put
  // in the trust field; checkedTrust: the trust text the verdict shown was made with.
  const state = { lang: "en", receipt: null, receiptName: null, work: null, lastResult: null,
    message: null, history: null, served: location.protocol === "http:" || location.protocol === "https:",
    gen: 0, nodeTrust: null, checkedTrust: null };
  const W = () => PLWords[state.lang];

  // ---- language -------------------------------------------------------------------------
  function applyLanguage(lang) {
    state.lang = lang;
    document.documentElement.lang = lang;
    $("lang-en").setAttribute("aria-pressed", String(lang === "en"));
    $("lang-ja").setAttribute("aria-pressed", String(lang === "ja"));
    for (const el of document.querySelectorAll("[data-i18n]")) {
      if (el.id === "verdict" && el.dataset.state !== "none") continue;
      el.textContent = W()[el.dataset.i18n];
    }
    for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", W()[el.dataset.i18nLabel]);
    for (const el of document.querySelectorAll("[data-i18n-title]")) el.setAttribute("title", W()[el.dataset.i18nTitle]);
    document.title = W().title + " — provenance-ledger";
    showFileNames();
    if (state.message) {  // said again in the new language, still of the same trust text
      const trusted = state.checkedTrust;
      showMessage(...state.message);
      state.checkedTrust = trusted;
    } else if (state.lastResult) renderResult(state.lastResult);
    renderTimeline();
    renderExplorer();
    if (state.search) showSearch(...state.search);
    if (state.nodeStatus) showNodeStatus(state.nodeStatus);
    showExplorerStatus();
    showSearchButton();
  }
  $("lang-en").addEventListener("click", () => applyLanguage("en"));
  $("lang-ja").addEventListener("click", () => applyLanguage("ja"));

  // ---- inputs: the drop zone feeds the same file inputs a keyboard user picks from --------
  // Each file input is out of sight and out of the tab order (style.css .file-input): its
  // button, in the page's words, opens it; beside it, the name of the file it holds, or that
  // it holds none, is said in the page's words, again when a file is chosen, dropped or
  // taken away, and when the language changes.
  const fileInputs = Array.from(document.querySelectorAll("input.file-input"));
  function showFileNames() {
    for (const input of fileInputs) {
      const f = input.files && input.files[0];
      $(input.id.replace(/-input$/, "-name")).textContent = f ? f.name : W().noFileChosen;
    }
  }
  for (const input of fileInputs) {
    input.addEventListener("change", showFileNames);
    $(input.id.replace(/-input$/, "-choose")).addEventListener("click", () => input.click());
  }

  async function readBytes(file) { return new Uint8Array(await file.arrayBuffer()); }
  const MAX_RECEIPT_BYTES = 64 << 20;  // verify.js: the largest receipt of any kind
  const MAX_POLICY_BYTES = 64 << 10;

  function looksLikeReceipt(bytes) {
    const head = new TextDecoder().decode(bytes.slice(0, 4096));
    return /^\s*\{/.test(head) && head.includes('"provenance-ledger/');
  }
  function looksLikePolicy(bytes) {
    if (bytes.length > MAX_POLICY_BYTES) return false;
    const text = new TextDecoder().decode(bytes);
    return /^\s*(#.*\n\s*)*log\s+\S+\+[0-9a-f]{8}\+/m.test(text) && /^\s*quorum\s+\S+/m.test(text);
  }
  // Reading a file and checking are queued in order, so the verdict always answers the
  // inputs as they were last set. Each input reads what it needs of its file: a receipt or a
  // policy up to a byte past the largest one may be (the check then says it is too large),
  // the work's file only to hash it, whatever its size.
  const reads = {
    "receipt-input": (f) => readBytes(f.slice(0, MAX_RECEIPT_BYTES + 1)),
    "work-input": (f) => PLVerify.fileWorkId(f),
    "policy-input": async (f) => new TextDecoder().decode(await readBytes(f.slice(0, MAX_POLICY_BYTES + 1))),
  };
  const uses = {
    "receipt-input": (f, bytes) => { state.receipt = bytes; state.receiptName = f ? f.name : null; },
    "work-input": (f, work) => { state.work = work; },
    "policy-input": (f, text) => { if (text !== null) $("trust").value = text; },
  };
  /** Read file f for input id and use it; false (and the reason shown) when it cannot be
   * read: the input is then empty, never left holding the file given before. */
  async function take(id, f) {
    let value = null;
    try {
      if (f) value = await reads[id](f);
    } catch (e) {
      uses[id](null, null);
      showMessage("cannot-read", "cannotRead", (w) => w.unreadable(f.name, e));
      return false;
    }
    uses[id](f, value);
    return true;
  }
  for (const id of Object.keys(uses)) {
    $(id).addEventListener("change", (e) => {
      const f = e.target.files[0];
      state.gen++;
      enqueue(async () => { if (await take(id, f)) await runCheck(); });
    });
  }
  // A drop fills the same inputs (so what was dropped shows there, and can be changed with
  // the keyboard), in one queued step with its check; its start tells what each file is.
  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const files = Array.from(e.dataTransfer.files);
    state.gen++;
    enqueue(async () => {
      for (const file of files) {
        let head;
        try {
          head = await readBytes(file.slice(0, MAX_POLICY_BYTES + 1));
        } catch (err) {
          return showMessage("cannot-read", "cannotRead", (w) => w.unreadable(file.name, err));
        }
        const id = looksLikeReceipt(head) ? "receipt-input" : looksLikePolicy(head) ? "policy-input" : "work-input";
        const dt = new DataTransfer();
        dt.items.add(file);
        $(id).files = dt.files;
        showFileNames();
        if (!(await take(id, file))) return;
      }
      await runCheck();
    });
  });
  // A trust text changed, then Check pressed: leaving the field (on the press) would check it
  // once and the press again, and a screen reader would say the verdict twice. The press
  // checks it; a press let go elsewhere (no click) checks it then.
  let pressed = false, changedOnPress = false;
  $("verify").addEventListener("pointerdown", () => { pressed = true; });
  document.addEventListener("pointerup", () => setTimeout(() => {
    if (changedOnPress) check();
    pressed = changedOnPress = false;
  }), true);
  $("trust").addEventListener("change", () => {
    state.gen++;
    if (pressed) changedOnPress = true; else check();
  });
  // Check pressed: its verdict is brought into sight when it is off screen (on a phone it is
  // below the inputs), at the top of the screen with its explanation below, unless newer
  // inputs were given meanwhile. Focus stays on the button; the result's live region says
  // the verdict to a screen reader.
  $("verify").addEventListener("click", () => {
    changedOnPress = false;
    const gen = ++state.gen;
    check().then(() => {
      const v = $("verdict"), box = v.getBoundingClientRect();
      if (gen === state.gen && (box.top < 0 || box.bottom > window.innerHeight)) v.scrollIntoView({ block: "start" });
    });
  });

  // ---- verification -----------------------------------------------------------------------
  // While files are read and checked (a large file takes seconds), the result says so and
  // is marked busy: the verdict still shown is of the inputs given before. Only work done
  // here is queued, never a wait for the node: its answers are asked for outside the queue
  // and only then queued to be used, so a node that stalls holds no other check.
  let running = Promise.resolve(), pending = 0;
  function enqueue(fn) {
    pending++;
    showBusy();
    running = running.then(fn, fn).finally(() => { pending--; showBusy(); });
    return running;
  }
  // The live region changes only while it is busy: a screen reader says the verdict once,
  // when the check ends (the progress line is hidden before the region stops being busy).
  function showBusy() {
    if (pending > 0) {
      $("result").setAttribute("aria-busy", "true");
      $("progress").hidden = false;
    } else {
      $("progress").hidden = true;
      $("result").setAttribute("aria-busy", "false");
    }
  }
  function check() { return enqueue(runCheck); }

  // A check that cannot finish (the browser lacks Ed25519, a file cannot be read, a fault of
  // this page) says so in words: the verdict shown never stays that of earlier inputs.
  async function runCheck() {
    try {
      await checkInputs();
    } catch (e) {
      const detail = e && e.message ? e.message : String(e);
      if (e instanceof PLVerify.InputError) showMessage("cannot-check", "cannotCheck", (w) => w.refused("cannotCheck", detail));
      else showMessage("error", "pageError", detail);
    }
  }

  async function checkInputs() {
    if (!state.receipt) return showMessage("none", "needReceipt");
    const trustText = $("trust").value;
    if (!trustText.trim()) return showMessage("needs-trust", "needTrust");
    let trust;
    try {
      trust = await PLVerify.parseTrust(trustText);
    } catch (e) {
      if (!(e instanceof PLVerify.InputError)) throw e;
      const detail = e.message;  // verify's words: said in Japanese on the Japanese page
      showMessage("bad-trust", "badTrust", (w) => w.refused("badTrust", detail));
      state.checkedTrust = trustText;
      return null;
    }
    const result = await PLVerify.verifyReceipt(state.receipt, trust, state.work);
    state.message = null;
    state.lastResult = result;
    state.checkedTrust = trustText;
    if (!result.valid) {
      state.history = state.receiptName === (state.fromSearch && state.fromSearch.work) ? state.fromSearch : null;
    } else if (result.works) {
      const w = result.works.find((x) => x.work === result.fileWork) || result.works.find((x) => x.state) || result.works[0];
      // A v1 state receipt may leave later events out: what became of a grant is not told.
      state.history = { work: w.work, state: result.complete === false ? null : w.state,
        at: result.checkpoint.block ? result.checkpoint.block.time : null,
        events: w.events.map((event) => ({ event, proven: result.valid })) };
    } else if (result.event) {
      state.history = { events: [{ event: result.event, proven: result.valid }], work: result.event.work };
    }
    renderResult(result);
    renderTimeline();
  }

  /** A verdict that is a message, not a check's result: what to give, or why no check could
   * be made. It replaces the last result and the history shown (they were of other inputs),
   * and is kept as its word so that a change of language says it again in the new one. */
  function showMessage(kind, word, detail) {
    state.message = [kind, word, detail];
    state.lastResult = null;
    state.checkedTrust = null;
    state.history = state.fromSearch && state.receiptName === state.fromSearch.work ? state.fromSearch : null;
    const v = $("verdict");
    v.dataset.state = kind;
    v.removeAttribute("data-check");
    // A detail that is words (a function of the language's words) is said whole by it.
    v.textContent = typeof detail === "function" ? detail(W()) : detail === undefined ? W()[word] : `${W()[word]}: ${detail}`;
    $("explain").replaceChildren();
    renderTimeline();
    return null;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v; else e.setAttribute(k, v);
    }
    for (const c of children) if (c !== null && c !== undefined) e.append(c);
    return e;
  }
  function list(items) { return el("ul", {}, ...items.map((t) => el("li", {}, t))); }

  function renderResult(r) {
    const w = W(), v = $("verdict"), explain = $("explain");
    explain.replaceChildren();
    if (r.valid && r.works) {
      v.dataset.state = "valid";
      v.removeAttribute("data-check");
      v.textContent = w.valid;
      // v1 proves no completeness: what was in force is told as of its last event, as verify does.
      const at = r.complete === false ? Math.max(...r.works[0].events.map((e) => e.at))
        : r.checkpoint.block ? r.checkpoint.block.time : null;
      // The key records a decision or compliance receipt carries are not works (a decision
      // receipt says them under their keys, keyRecordLine): listed here, the record of a key
      // never logged read as a work not registered, an attested key's as a registered one.
      const asWork = (x) => !(r.decision || r.answers) || !PLVerify.stateInternals.isKeyRecordId(x.work);
      const items = r.works.filter(asWork).map((x) => {
        const li = el("li", {}, r.complete === false ? w.workStatementV1(x, r) : w.workStatement(x, r));
        if (x.state && !x.state.identity && at !== null) {  // a key record has no consents or licences
          const inForce = x.state.grants.filter((g) => PLVerify.grantInForce(g, at)).map(w.grantInForce)
            .concat(x.state.licences.filter((l) => PLVerify.licInForce(l, at)).map(w.licInForce));
          li.append(el("p", {}, r.complete === false ? w.inForceLast(at) : w.inForce(at), " ", inForce.join(w.sep) || w.nothingInForce));
        }
        return li;
      });
      if (r.answers) {
        explain.append(el("p", { id: "compliance" }, w.complianceStatement(r)),
          el("ul", { id: "items" }, ...r.answers.map((a) => el("li", { "data-outcome": a.outcome }, w.itemLine(a)))));
      }
      if (r.royalties) {
        explain.append(el("p", { id: "royalties" }, w.royaltyStatement(r)),
          el("ul", { id: "royalty-licences" }, ...r.royalties.licences.map((x) => el("li", {}, w.royaltyLine(x)))),
          el("p", { id: "royalty-version", "data-version": String(r.royaltyVersion.statement) }, w.royaltyVersion(r.royaltyVersion)));
      }
      if (r.decision) {
        explain.append(el("p", { id: "answer", "data-allowed": String(r.decision.allowed) }, w.decisionAnswer(r.decision)),
          el("p", { id: "decision" }, w.decisionStatement(r)));
        if (r.decision.conditions.length) explain.append(el("p", {}, w.conditions(r.decision.conditions)));
        if (r.works[0].state !== null) explain.append(el("p", { id: "keys-proven", "data-proven": String(r.keysProven) }, w.keysProven(r)));
        if (r.disputed && r.disputed.length) explain.append(el("p", { id: "disputed" }, w.disputedEvents(r.disputed)));
        if (r.keyRecords && r.keyRecords.keys.length) {
          explain.append(el("h3", {}, w.keyRecordsHead), el("ul", { id: "key-records" },
            ...r.keyRecords.keys.map((k) => el("li", { "data-key": k.key || "" }, w.keyRecordLine(k, r.keyRecords.attesters)))));
        }
      }
      // A proof of current state is fresh as of a time (receipts.md section 13), as verify says.
      if (r.freshAsOf !== undefined && r.freshAsOf !== null)
        explain.append(el("p", { id: "fresh" }, w.freshAsOf(r, w.ago(Math.max(0, Math.floor(Date.now() / 1000) - r.freshAsOf)))));
      explain.append(
        el("p", { id: "statement" }, w.stateHead(r)), el("ul", { id: "works" }, ...items),
        el("h3", {}, w.proves), list(w.stateProvesList(r).filter((_, i) => r.complete !== false || i !== 1)),
        el("h3", {}, w.notProves), list(w.stateNotProvesList(r).concat(r.answers ? [w.complianceNotProves] : [], r.royalties ? [w.royaltyNotProves] : [])));
    } else if (r.valid && r.dataset) {
      v.dataset.state = "valid";
      v.removeAttribute("data-check");
      v.textContent = w.valid;
      explain.append(
        el("p", { id: "answer", "data-member": String(r.dataset.member) }, w.datasetStatement(r)),
        el("h3", {}, w.proves), list(w.datasetProves(r)),
        el("h3", {}, w.notProves), list(w.datasetNotProves));
    } else if (r.valid) {
      v.dataset.state = "valid";
      v.removeAttribute("data-check");
      v.textContent = w.valid;
      // "before": when the witness quorum vouches the entry was logged (verify.js).
      const vouched = PLVerify.vouchedBefore(r.checkpoint, r.cosigners, r.policy);
      explain.append(
        el("p", { id: "statement" }, w.statement(r, vouched && vouched.time, vouched && vouched.by)),
        el("h3", {}, w.proves), list(w.provesList(r)),
        el("h3", {}, w.notProves), list(w.notProvesList));
    } else {
      v.dataset.state = r.check === "unsupported" ? "unsupported" : "invalid";
      v.dataset.check = r.check;
      v.textContent = r.check === "unsupported" ? w.unsupported : w.invalid;
      explain.append(
        // what of the receipt failed, when the check says more than its name (words.js decodedMeaning)
        el("p", { id: "failed-check" }, w.failedCheck, el("strong", {}, (r.about && w.decodedName[r.about.what]) || w.checkName[r.check] || r.check)),
        el("p", { id: "meaning" }, (r.about && w.decodedMeaning(r.about)) || w.checkMeaning[r.check] || ""),
        el("p", { id: "technical", class: "technical", lang: "en" }, r.message));
    }
  }

  // ---- history timeline ---------------------------------------------------------------------
  function renderTimeline() {
    const ol = $("timeline"), w = W();
    ol.replaceChildren();
    const h = state.history;
    if (!h || !h.events.length) { ol.append(el("li", { class: "empty" }, w.noHistory)); return; }
    if (h.disputed) {
      ol.append(el("li", { class: "ev disputed" }, w.disputed,
        list(h.registrations.map((r) => `${r.origin}: ${r.registrant}${r.cosigned_at ? ` (${r.cosigned_at})` : ""}`))));
    }
    for (const { event, proven } of h.events) {
      const kind = event.type.replace(".", "-");
      ol.append(el("li", { class: `ev ${kind}`, "data-type": event.type },
        el("span", { class: "shape", "aria-hidden": "true" }),
        // Spaces between the parts: read aloud or copied, the time, kind, event and fate are
        // words apart ("no end in force", not "no endin force").
        el("time", { datetime: typeof event.at === "number" ? PLVerify.formatTime(event.at) : event.at },
          typeof event.at === "number" ? PLVerify.formatTime(event.at) : event.at), " ",
        el("span", { class: "kind" }, w.typeName(event.type)), " ",
        el("span", { class: "what" }, w.eventLine(event)), " ",
        ...[fate(h, event)].filter((f) => f !== null).flatMap((f) => [f, " "]),
        el("span", { class: proven ? "proven" : "unproven" }, proven ? w.provenInTimeline : w.unprovenInTimeline)));
    }
  }

  /** What became of a grant or licence, from the replayed state (state receipts only). */
  function fate(h, event) {
    if (!h.state || h.at === null) return null;
    const w = W(), t = PLVerify.formatTime;
    const g = h.state.grants.find((x) => x.id === event.id);
    if (g) {
      const text = g.revokedAt !== null ? w.revokedAt(t(g.revokedAt)) : PLVerify.grantInForce(g, h.at) ? w.inForceNow
        : g.until !== null && h.at >= g.until ? w.endedAt(t(g.until)) : w.notInForce;
      return el("span", { class: "fate" }, text);
    }
    const x = h.state.licences.find((l) => l.id === event.id);
    if (x) {
      const text = x.terminatedAt !== null ? w.terminatedAt(t(x.terminatedAt)) : PLVerify.licInForce(x, h.at) ? w.inForceNow
        : x.acceptedAt === null ? w.notAccepted : w.notInForce;
      return el("span", { class: "fate" }, text);
    }
    return null;
  }

  // ---- talking to the node (served mode only) ----------------------------------------------
  // Every answer of the node is read through fetchNode: whatever goes wrong (the node cannot
  // be reached, stops answering, answers an error status, something that is not the JSON
  // expected, or more than the page reads) becomes a NodeError, which words.js says in words
  // (nodeProblem) with what the user can do. Nothing the node sends is shown but as one line.
  const MAX_NODE_ANSWER_BYTES = MAX_RECEIPT_BYTES;  // an answer is at most a receipt's size
  const NODE_IDLE_MS = 30_000;  // no byte for this long: the node stopped answering
  class NodeError extends Error {
    constructor(kind, info) { super(kind); Object.assign(this, { kind }, info); }
  }
  /** Text the node sent, shown as text not trusted: on one line, without control
   * characters, at most 300 characters (as specs/node.md section 6 has a client show it). */
  function nodeLine(text) {
    const line = String(text).replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+/g, " ").trim();
    return line.length > 300 ? line.slice(0, 299) + "…" : line;
  }

  /** GET path from the node: {status, ok, bytes}, its body read up to the page's limit.
   * `stop` (an AbortSignal) ends the wait when the user gives up on it: a NodeError "stopped". */
  async function fetchNode(path, accept, stop) {
    const ctl = new AbortController();
    let timer = null, timedOut = false, stopped = false;
    const arm = () => { clearTimeout(timer); timer = setTimeout(() => { timedOut = true; ctl.abort(); }, NODE_IDLE_MS); };
    const lost = (e) => new NodeError(stopped ? "stopped" : timedOut ? "timeout" : "unreachable", { seconds: NODE_IDLE_MS / 1000, technical: e && e.message });
    const onStop = () => { stopped = true; ctl.abort(); };
    if (stop) {
      if (stop.aborted) onStop();
      else stop.addEventListener("abort", onStop);
    }
    arm();
    try {
      let resp;
      try {
        resp = await fetch(new URL(path, location.href), { headers: { accept }, signal: ctl.signal, cache: "no-store" });
      } catch (e) {
        throw lost(e);
      }
      const tooLarge = () => new NodeError("too-large", { mib: MAX_NODE_ANSWER_BYTES / (1 << 20) });
      if (Number(resp.headers.get("content-length")) > MAX_NODE_ANSWER_BYTES) { ctl.abort(); throw tooLarge(); }
      const parts = [];
      let size = 0;
      if (resp.body) {
        const reader = resp.body.getReader();
        for (;;) {
          arm();
          let step;
          try {
            step = await reader.read();
          } catch (e) {
            if (timedOut || stopped) throw lost(e);
            throw new NodeError("broken", { technical: e && e.message });
          }
          if (step.done) break;
          size += step.value.length;
          if (size > MAX_NODE_ANSWER_BYTES) { ctl.abort(); throw tooLarge(); }
          parts.push(step.value);
        }
      }
      const bytes = new Uint8Array(size);
      let at = 0;
      for (const p of parts) { bytes.set(p, at); at += p.length; }
      return { status: resp.status, ok: resp.ok, bytes };
    } finally {
      clearTimeout(timer);
      if (stop) stop.removeEventListener("abort", onStop);
    }
  }

  function parseJson(bytes) {
    try {
      return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
    } catch (e) {
      return undefined;
    }
  }
  /** The status of an answer that is not 2xx, with the node's {"error"} line if it has one
   * (and the registrations it names elsewhere, for a work not on its own log). */
  function statusError(answer) {
    const body = parseJson(answer.bytes);
    const message = body && typeof body.error === "string" && nodeLine(body.error) ? nodeLine(body.error) : null;
    const elsewhere = body && Array.isArray(body.elsewhere) ? body.elsewhere.filter((r) => r && typeof r === "object") : null;
    return new NodeError("status", { status: answer.status, message, elsewhere });
  }
  /** GET path as JSON of the shape `fits` accepts; else a NodeError. */
  async function getJson(path, fits, stop) {
    const answer = await fetchNode(path, "application/json", stop);
    if (!answer.ok) throw statusError(answer);
    const data = parseJson(answer.bytes);
    if (data === undefined) throw new NodeError("bad-answer", { fault: "notJson" });
    if (!data || typeof data !== "object" || !fits(data)) throw new NodeError("bad-answer", { fault: "shape" });
    return data;
  }
  const isList = (x, each) => Array.isArray(x) && x.every((y) => y !== null && typeof y === "object" && each(y));
  const explorerFits = (d) => typeof d.origin === "string" && typeof d.policy === "string"
    && isList(d.checkpoints, (c) => typeof c.note === "string" && Number.isSafeInteger(c.size))
    && isList(d.evidence, () => true);
  const workFits = (d) => isList(d.history, (h) => h.event !== null && typeof h.event === "object" && typeof h.event.type === "string")
    && (d.registrations === undefined || isList(d.registrations, () => true));

  /** What went wrong, in the language shown: a word of words.js saying where, then why
   * (the word is kept as the function's `word`: what failed). */
  function nodeFailure(word, err) {
    if (!(err instanceof NodeError)) err = new NodeError("page", { technical: err && err.message ? err.message : String(err) });
    return Object.assign((w) => `${w[word]}${w.because}${w.nodeProblem(err)}`, { word });
  }

  // ---- explorer (only when a node serves this page) -------------------------------------
  /** The node's explorer answer, its policy refused as `provenance verify` refuses it, and
   * each checkpoint's log signature and cosignatures checked here against the keys the node
   * publishes: what the table shows is what verifies, not what the node says. */
  async function readExplorer(answer) {
    const data = { ...answer };
    try {
      data.trust = await PLVerify.parsePolicy(data.policy);
    } catch (e) {
      if (!(e instanceof PLVerify.InputError)) throw e;
      throw new NodeError("bad-answer", { fault: "policy", technical: nodeLine(e.message) });
    }
    try {
      // A witness key named twice, or a log's key as a witness's (receipts.md section 4;
      // core/policy.py parse_policy): verify refuses the policy, so the explorer does too.
      PLVerify.oneNamePerWitness(data.trust);
    } catch (e) {
      if (!(e instanceof PLVerify.InputError)) throw e;
      throw new NodeError("refused-policy", { technical: nodeLine(e.message) });
    }
    data.verified = [];
    for (const c of data.checkpoints) {
      try {
        const { cp, cosigners } = await PLVerify.verifyCheckpointNote(c.note, data.trust);
        data.verified.push({ size: cp.size, time: cp.block ? cp.block.time : null, cosigners });
      } catch (e) {
        if (!(e instanceof PLVerify.VerifyError)) throw e;
        data.verified.push({ size: BigInt(c.size), time: null, cosigners: new Map(), error: nodeLine(e.message) });
      }
    }
    return data;
  }

  // The explorer is asked for when the page opens, again by its button, and by "Use this
  // node's published keys" when no listing is shown: one request at a time, which each of
  // them shares while it is in flight (the node is not asked twice). While it waits, the
  // button stops waiting instead: nothing the node says late is then used, and what was
  // shown stays (with nothing shown, the explorer says the request was stopped).
  // A failure replaces the listing; a verdict made with the node's published keys (put in
  // the trust field by "Use this node's published keys", then left as they were) no longer
  // stands and says why, while a verdict of trust the user gave stays: it does not rest on
  // the node. An answer withdraws what said the node's keys could not be fetched. While the
  // request is in flight, a line above the listing says the page is asking the node (a polite
  // live region: a screen reader says it when it is free); it goes once the request ends.
  let explorerAsk = null;  // the request in flight: {stop: AbortController, answer: Promise}
  function loadExplorer() {
    if (explorerAsk) return explorerAsk.answer;
    const ask = { stop: new AbortController() };
    ask.answer = new Promise((resolve) => { ask.done = resolve; });
    explorerAsk = ask;
    showRetry();
    $("explorer-body").setAttribute("aria-busy", "true");
    (async () => {
      let answer = null, data = null, failure = null;
      try {
        answer = await getJson("/explorer", explorerFits, ask.stop.signal);
        data = await readExplorer(answer);
      } catch (e) {
        failure = e;
      }
      endExplorer(ask, { answer, data, failure });
    })();
    return ask.answer;
  }
  /** What became of the request `ask`: {answer (the node's JSON), data (as verified here),
   * failure, stopped}; said once, by whichever ends it first (its answer, or the user). */
  function endExplorer(ask, got) {
    if (explorerAsk !== ask) return;
    explorerAsk = null;
    showRetry();
    $("explorer-body").setAttribute("aria-busy", "false");
    if (!got.stopped) {
      state.explorer = got.data;
      state.explorerFailed = got.failure ? nodeFailure("explorerFailed", got.failure) : null;
    } else if (!state.explorer) {
      state.explorerFailed = nodeFailure("explorerFailed", got.failure);
    }
    try {
      renderExplorer();
    } catch (e) {  // a fault of this page: said in place of the listing
      state.explorer = null;
      state.explorerFailed = nodeFailure("explorerFailed", e);
      renderExplorer();
    }
    if (got.failure && !got.stopped) enqueue(async () => withdrawNodeTrust(got.failure));
    if (got.data) enqueue(nodeKeysBack);
    ask.done(got);
  }
  function stopExplorer() {
    const ask = explorerAsk;
    if (!ask) return;
    ask.stop.abort();
    endExplorer(ask, { answer: null, data: null, failure: new NodeError("stopped"), stopped: true });
  }
  /** The button under the explorer: asks the node again, or stops waiting for it. */
  function showRetry() {
    const b = $("explorer-retry");
    b.hidden = false;
    b.dataset.i18n = explorerAsk ? "explorerStop" : "explorerRetry";
    b.textContent = W()[b.dataset.i18n];
    showExplorerStatus();
  }
  /** The words saying the explorer waits for the node (at this page's address), or none. */
  function showExplorerStatus() {
    $("explorer-status").textContent = explorerAsk ? W().askingExplorer(location.origin) : "";
  }
  $("explorer-retry").addEventListener("click", () => { if (explorerAsk) stopExplorer(); else loadExplorer(); });

  /** The node answered: a failure to fetch its keys, said before, no longer holds. A verdict
   * saying so gives way to the verdict of the inputs as they are. */
  async function nodeKeysBack() {
    if (state.nodeStatus && state.nodeStatus.word === "policyFailed") showNodeStatus(null);
    if (state.message && (state.message[1] === "policyFailed" || state.message[1] === "nodeKeysLost")) await runCheck();
  }

  function withdrawNodeTrust(err) {
    if (state.nodeTrust === null || $("trust").value !== state.nodeTrust) return;
    const used = state.checkedTrust === state.nodeTrust;
    $("trust").value = "";
    state.nodeTrust = null;
    if (used) showMessage("node-failed", "nodeKeysLost", nodeFailure("nodeKeysLost", err));
  }

  function renderExplorer() {
    const w = W(), now = Math.floor(Date.now() / 1000), body = $("explorer-body"), data = state.explorer;
    if (!data) {
      // In place of the listing: why there is none, and what to do.
      body.replaceChildren(state.explorerFailed ? el("p", { id: "explorer-error", role: "alert" }, state.explorerFailed(w)) : "");
      return;
    }
    const ago = (t) => (t === null || t === undefined ? w.never : w.withAge(PLVerify.formatTime(t), w.ago(Math.max(0, now - Number(t)))));
    // A checkpoint that does not verify is said in the language shown; the verifier's own
    // words (English, as provenance verify prints them) are kept as a technical detail.
    const failed = (c) => el("td", { class: "cp-failed" }, el("span", { class: "says" }, w.checkpointRefused),
      el("details", {}, el("summary", {}, w.technicalDetail), el("span", { class: "technical", lang: "en" }, c.error)));
    const rows = data.verified.map((c) => el("tr", {},
      el("td", {}, String(c.size)),
      c.error ? failed(c) : el("td", {}, ago(c.time)),
      el("td", {}, Array.from(c.cosigners.entries()).map(([n, t]) => `${n} ${PLVerify.formatTime(t)}`).join(", ") || "—")));
    const latest = new Map();
    for (const c of data.verified) for (const [n, t] of c.cosigners) if (!latest.has(n) || latest.get(n) < t) latest.set(n, t);
    const wit = Array.from(data.trust.witnesses.keys()).map((n) => el("li", {}, `${n}: ${latest.has(n) ? ago(Number(latest.get(n))) : w.never}`));
    const ev = data.evidence.length
      ? list(data.evidence.map((e) => nodeLine(`${e.kind || "evidence"} ${e.origin || ""}: ${e.detail || ""}`)))
      : el("p", {}, w.noEvidence);
    body.replaceChildren(
      el("p", {}, nodeLine(data.origin)),
      el("h3", {}, w.checkpoints),
      el("table", { id: "checkpoints" },
        el("thead", {}, el("tr", {}, el("th", { scope: "col" }, w.size), el("th", { scope: "col" }, w.time + " / " + w.age), el("th", { scope: "col" }, w.cosigs))),
        el("tbody", {}, ...rows)),
      el("h3", {}, w.witnesses),
      wit.length ? el("ul", { id: "witness-list" }, ...wit) : el("p", { id: "witness-list" }, w.noWitnesses),
      el("h3", {}, w.evidence), ev);
  }

  /** Put the node's published keys in the trust field (then remembered as the node's). */
  function useNodePolicy(policy) {
    $("trust").value = policy;
    state.nodeTrust = $("trust").value;
  }
  /** A failure of the node said where a newer input's verdict would not be replaced. */
  function showNodeStatus(say) {
    state.nodeStatus = say;
    const p = $("node-status");
    p.hidden = !say;
    p.textContent = say ? say(W()) : "";
  }

  // The node's published keys: those the explorer read, else asked for now (outside the
  // queue, sharing the explorer's request in flight); a failure says so in place of the
  // verdict, or, when other inputs were given meanwhile, beside the button (the verdict
  // shown is then of those inputs). A policy the explorer refuses is still put in the trust
  // field: the check then says why it cannot be read.
  $("node-policy").addEventListener("click", () => {
    const gen = ++state.gen;
    showNodeStatus(null);
    if (state.explorer) {
      useNodePolicy(state.explorer.policy);
      check();
      return;
    }
    const trustBefore = $("trust").value;
    const asking = (w) => w.askingNode;
    showNodeStatus(asking);
    loadExplorer().then((got) => enqueue(async () => {
      if (state.nodeStatus === asking) showNodeStatus(null);
      if (!got.answer) {
        const say = nodeFailure("policyFailed", got.failure);
        if (gen === state.gen) showMessage("node-failed", "policyFailed", say);
        else showNodeStatus(say);
        return;
      }
      if ($("trust").value !== trustBefore) return;  // the user gave other trust meanwhile
      useNodePolicy(got.answer.policy);
      await runCheck();
    }));
  });

  // Search by file: only the SHA-256 leaves the machine. The node's answer is shown as its
  // word; its state receipt for the work is then checked here like a dropped one. What the
  // search found, or why it could not be made, is kept as words, said again in the language
  // chosen; an answer other than a found work replaces the verdict and history shown before.
  function showSearch(kind, say) {
    state.search = [kind, say];
    const out = $("search-result");
    out.dataset.state = kind;
    out.textContent = say(W());
  }
  // The file is hashed and the node asked outside the queue (a node that stalls holds no
  // other check); what it found is then used in the queue. When other inputs were given
  // meanwhile, the verdict and history shown are theirs: the search then says only what it
  // found, in its own place. A newer search replaces an older one still waiting (whose
  // request is cancelled). While a search waits, the button beside the file stops waiting:
  // the request is cancelled, the search says it was stopped (in place of the verdict too,
  // when no other input was given since), and whatever the node says late is not used. Once
  // no search waits, the same button looks the file up again.
  let searchesAsked = 0;
  let searchAsk = null;  // the search in flight: {stop: AbortController, asked, gen}
  let searchedFile = null;  // the file looked up last: the one the button looks up again
  function startSearch(f) {
    if (searchAsk) searchAsk.stop.abort();
    const ask = { stop: new AbortController(), gen: ++state.gen, asked: ++searchesAsked };
    searchAsk = ask;
    searchedFile = f;
    showSearchButton();
    showSearch("searching", (w) => w.searching);
    lookUp(f, ask.stop.signal).then((found) => found, (err) => ({ kind: "fault", err }))
      .then((found) => endSearch(ask, found));
  }
  /** What became of the search `ask`, used once: by whichever ends it first (the node's
   * answer, or the user who stopped waiting); it is then used in the queue, unless a newer
   * search began meanwhile. */
  function endSearch(ask, found) {
    if (searchAsk !== ask) return;
    searchAsk = null;
    showSearchButton();
    if (found.kind === "stopped") showSearch("stopped", found.say);  // at once, not once the queue is free
    enqueue(async () => {
      if (ask.asked !== searchesAsked) return;
      try {
        await useSearch(found, ask.gen === state.gen);
      } catch (err) {  // a fault of this page: said, never left as "looking it up"
        const say = nodeFailure("searchFailed", err);
        showSearch("failed", say);
        if (ask.gen === state.gen) showMessage("error", "searchFailed", say);
      }
    });
  }
  function stopSearch() {
    const ask = searchAsk;
    if (!ask) return;
    ask.stop.abort();
    endSearch(ask, { kind: "stopped", say: nodeFailure("searchFailed", new NodeError("stopped")) });
  }
  /** The button beside the file to look up: stops waiting for the node, or looks the file up
   * again; hidden until a file was looked up. */
  function showSearchButton() {
    const b = $("search-retry");
    b.hidden = !searchAsk && !searchedFile;
    b.dataset.i18n = searchAsk ? "searchStop" : "searchRetry";
    b.textContent = W()[b.dataset.i18n];
  }
  // The file to look up may be dropped on its button, as on the browser's own file control.
  const searchField = $("search-input").parentElement;
  searchField.addEventListener("dragover", (e) => { e.preventDefault(); searchField.classList.add("over"); });
  searchField.addEventListener("dragleave", () => searchField.classList.remove("over"));
  searchField.addEventListener("drop", (e) => {
    e.preventDefault();
    searchField.classList.remove("over");
    const f = e.dataTransfer.files[0];
    if (!f) return;
    const dt = new DataTransfer();
    dt.items.add(f);
    $("search-input").files = dt.files;
    $("search-input").dispatchEvent(new Event("change", { bubbles: true }));
  });
  $("search-input").addEventListener("change", (e) => {
    const f = e.target.files[0];
    if (f) return startSearch(f);
    searchedFile = null;  // the file was taken away: nothing to look up again
    showSearchButton();
  });
  $("search-retry").addEventListener("click", () => {
    if (searchAsk) stopSearch();
    else if (searchedFile) startSearch(searchedFile);
  });

  /** Events the page can show (each said in both languages), else the answer is not one. */
  function showable(history) {
    try {
      for (const h of history) for (const w of [PLWords.en, PLWords.ja]) { w.eventLine(h.event); w.typeName(h.event.type); }
      return true;
    } catch (err) {
      return false;
    }
  }

  /** What the node has of file f: {kind, ...}, every failure as words; nothing is shown.
   * `stop` (an AbortSignal) cancels the requests to the node. */
  async function lookUp(f, stop) {
    let id;
    try {
      id = (await PLVerify.fileWorkId(f)).workId;
    } catch (err) {
      return { kind: "cannot-read", say: (w) => w.unreadable(f.name, err) };
    }
    let data;
    try {
      data = await getJson("/works/" + encodeURIComponent(id), workFits, stop);
      if (!showable(data.history)) throw new NodeError("bad-answer", { fault: "shape" });
    } catch (err) {
      if (err instanceof NodeError && err.kind === "status" && err.status === 404) {
        // Not an error but the answer: no such work here (perhaps on a log the node mirrors).
        const elsewhere = (err.elsewhere || []).filter((r) => typeof r.origin === "string" && typeof r.registrant === "string")
          .map((r) => nodeLine(`${r.origin}: ${r.registrant}`));
        return { kind: "not-registered", say: (w) => (elsewhere.length ? w.foundElsewhere(id, elsewhere) : w.notFound(id)) };
      }
      return { kind: "failed", say: nodeFailure("searchFailed", err) };
    }
    let receipt = null, receiptFailed = null;
    try {
      const answer = await fetchNode(`/works/${encodeURIComponent(id)}/state-receipt`, "application/json", stop);
      if (!answer.ok) throw statusError(answer);
      receipt = answer.bytes;
    } catch (err) {
      receiptFailed = nodeFailure("stateReceiptFailed", err);
    }
    return { kind: "found", id, data, receipt, receiptFailed };
  }

  /** Show what lookUp found; `current`: no other input was given since the search began. */
  async function useSearch(found, current) {
    if (found.kind === "fault") throw found.err;
    if (!current) {
      if (found.kind === "cannot-read") showSearch("failed", found.say);
      else if (found.kind === "found") showSearch("found-not-shown", (w) => w.foundNotShown(found.id, found.data.history.length));
      else showSearch(found.kind, found.say);
      return;
    }
    // What an earlier search gave (its state receipt and history) is not this file's.
    if (state.fromSearch && state.receiptName === state.fromSearch.work) { state.receipt = null; state.receiptName = null; }
    state.fromSearch = null;
    if (found.kind === "cannot-read") {
      showSearch("failed", found.say);
      showMessage("cannot-read", "cannotRead", found.say);
      return;
    }
    if (found.kind === "not-registered") {
      showSearch("not-registered", found.say);
      showMessage("not-registered", "notFound", found.say);
      return;
    }
    if (found.kind === "failed" || found.kind === "stopped") {
      showSearch(found.kind, found.say);
      showMessage("node-failed", "searchFailed", found.say);
      return;
    }
    const { id, data } = found;
    const history = { work: id, disputed: data.disputed === true,
      registrations: (data.registrations || []).map((r) => ({ origin: nodeLine(r.origin), registrant: nodeLine(r.registrant), cosigned_at: r.cosigned_at ? nodeLine(r.cosigned_at) : null })),
      events: data.history.map((h) => ({ event: h.event, proven: false })) };
    state.history = state.fromSearch = history;
    state.receiptName = id;
    state.receipt = null;
    // The receipt checked is now the node's, of this work: the receipt input no longer names
    // the file chosen before (nor does a later Check ask for a receipt beside a file named).
    $("receipt-input").value = "";
    showFileNames();
    try {
      renderTimeline();
    } catch (err) {  // events the page cannot show: not the answer expected
      state.history = state.fromSearch = state.receiptName = null;
      const say = nodeFailure("searchFailed", new NodeError("bad-answer", { fault: "shape" }));
      showSearch("failed", say);
      showMessage("node-failed", "searchFailed", say);
      return;
    }
    const n = data.history.length;
    showSearch("found", (w) => w.found(id, n));
    if (found.receiptFailed) {
      // The history stays, marked as the node reports it; nothing of it was checked.
      showMessage("node-failed", "stateReceiptFailed", found.receiptFailed);
      return;
    }
    state.receipt = found.receipt;
    await runCheck();
  }

  applyLanguage(navigator.language && navigator.language.startsWith("ja") ? "ja" : "en");
  if (state.served) {
    $("explorer").hidden = false;
    $("node-policy").hidden = false;
    loadExplorer();
  }
  window.PLPage = { check, state };
})();
