/* provenance-ledger verification page: every word the page shows, in English and Japanese.
 * A classic script defining one global, PLWords. What a receipt proves and does not prove
 * follows specs/receipts.md section 6. */
(function (global) {
  "use strict";

  const TYPE_EN = {
    "work.register": "registration", "work.transfer": "transfer", "consent.grant": "consent grant",
    "consent.revoke": "consent revocation", "licence.offer": "licence offer",
    "licence.accept": "licence acceptance", "licence.terminate": "licence termination",
    "dataset.disclose": "dataset disclosure",
    "usage.report": "usage report", "payment.record": "payment", "payment.ack": "payment acknowledged",
    "payment.dispute": "payment disputed", "identity.attest": "identity attestation",
    "identity.revoke": "attestation withdrawn", "key.rotate": "key rotation",
    "key.recovery": "recovery keys named", "key.compromised": "key declared compromised",
  };
  const TYPE_JA = {
    "work.register": "登録", "work.transfer": "譲渡", "consent.grant": "利用許諾",
    "consent.revoke": "許諾の取り消し", "licence.offer": "ライセンスの申し出",
    "licence.accept": "ライセンスの受諾", "licence.terminate": "ライセンスの終了",
    "dataset.disclose": "データセットの開示",
    "usage.report": "利用報告", "payment.record": "支払い", "payment.ack": "支払いの受領確認",
    "payment.dispute": "支払いへの異議", "identity.attest": "身元の証明",
    "identity.revoke": "証明の取り下げ", "key.rotate": "鍵の切り替え",
    "key.recovery": "回復用の鍵の指定", "key.compromised": "鍵の漏えいの宣言",
  };
  // HTTP statuses a node (or a proxy in front of it) may answer, in words.
  const STATUS_EN = {
    400: "bad request", 401: "sign-in required", 403: "forbidden", 404: "not found",
    405: "method not allowed", 408: "the request took too long", 413: "request too large",
    414: "address too long", 429: "too many requests", 500: "an internal error of the node",
    501: "not implemented", 502: "bad gateway: a proxy in front of the node got no valid answer from it",
    503: "service unavailable: the node is down or overloaded",
    504: "gateway timeout: a proxy in front of the node got no answer from it in time",
  };
  const STATUS_JA = {
    400: "不正なリクエスト", 401: "認証が必要", 403: "アクセス禁止", 404: "見つかりません",
    405: "許可されていないメソッド", 408: "リクエストの時間切れ", 413: "リクエストが大きすぎます",
    414: "アドレスが長すぎます", 429: "リクエストが多すぎます", 500: "ノード内部のエラー",
    501: "未実装", 502: "ゲートウェイの不良：ノードの前のプロキシがノードから正しい応答を得られませんでした",
    503: "サービス利用不可：ノードが停止しているか、混み合っています",
    504: "ゲートウェイの時間切れ：ノードの前のプロキシがノードから時間内に応答を得られませんでした",
  };
  // Why the browser could not read a file (the DOMException's name, File API section 7.3),
  // in Japanese: the browser's own message is in the browser's language.
  const READ_FAULT_JA = {
    NotFoundError: "ファイルが見つかりません。選んだ後に移動または削除された可能性があります。もう一度選んでください。",
    NotReadableError: "ファイルを読み込めません。選んだ後にアクセス権が変わったか、ファイルが変更された可能性があります。もう一度選んでください。",
    SecurityError: "ブラウザーがこのファイルの読み込みを許可しませんでした。",
    AbortError: "ファイルの読み込みが中断されました。もう一度選んでください。",
    other: "ブラウザーがこのファイルを読み込めませんでした。もう一度選んでください。",
  };
  const ANSWER_FAULT_EN = { notJson: "it is not JSON", shape: "it is JSON without the fields expected",
    policy: "its published keys cannot be read" };
  const ANSWER_FAULT_JA = { notJson: "JSON ではありません", shape: "期待する項目のない JSON です",
    policy: "公開されている鍵を読み取れません" };
  // Each ISO 4217 code with a minor unit, by its exponent: "List One" as the iso4217 package
  // ships it (core/money.py, specs/royalties.md section 1.1); a test
  // (tests/page/test_parity_royalty_words.py) holds this table equal to the package's.
  const EXPONENTS = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF",
    2: "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BMD BND BOB BOV BRL BSD BTN BWP BYN BZD " +
      "CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP " +
      "GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK " +
      "LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO " +
      "NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS " +
      "SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST " +
      "XAD XCD XCG YER ZAR ZMW ZWG",
    3: "BHD IQD JOD KWD LYD OMR TND",
    4: "CLF UYW",
  };
  const EXPONENT = new Map(Object.entries(EXPONENTS).flatMap(([e, codes]) => codes.split(" ").map((c) => [c, Number(e)])));
  /** money.py format_amount: `amount` minor units of `code` in major units, `1,234.56 USD`,
   * `-5 JPY`; a code with no minor unit in ISO 4217 as `5 XTS (minor units)`. royalties.py
   * describe: `0 (no currency yet)` with no code (specs/royalties.md section 3.2). */
  function amount(value, code, ja = false) {
    // an event a node reports, not checked here, may hold anything: shown as it is
    if (typeof value !== "bigint" && !Number.isSafeInteger(value)) return `${value} ${code}`;
    const n = BigInt(value);
    if (code === null || code === undefined || code === "") return ja ? `${n}（通貨未定）` : `${n} (no currency yet)`;
    if (!EXPONENT.has(code)) return ja ? `${n} ${code}（最小単位）` : `${n} ${code} (minor units)`;
    const digits = EXPONENT.get(code), unit = 10n ** BigInt(digits), abs = n < 0n ? -n : n;
    const whole = String(abs / unit).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    const frac = digits ? "." + String(abs % unit).padStart(digits, "0") : "";
    return `${n < 0n ? "-" : ""}${whole}${frac} ${code}`;
  }
  const amountJa = (value, code) => amount(value, code, true);
  const money = (m) => amount(m.amount, m.currency);
  const moneyJa = (m) => amountJa(m.amount, m.currency);
  /** "the 1 entry", "the 5 entries": an anchor receipt's place in the log, in words. */
  const entries = (size) => String(size) === "1" ? "the 1 entry" : `the ${size} entries`;
  /** An entry's number counted from one (indexes are BigInts or numbers). */
  const nth = (index) => BigInt(index) + 1n;
  /** listing.py describe_terms: a licence's terms in words (fee, royalty, territories, terms
   * URI), as `status` and `offers` print them. */
  const pct = (bps) => Number.isSafeInteger(bps) ? (bps / 100).toFixed(2) : String(bps);
  const terms = (b) => [b.fee ? `fee ${money(b.fee)}` : "no fee",
    ...(b.royalty_bps !== undefined ? [`royalty ${pct(b.royalty_bps)}%`] : []),
    b.territories && b.territories.length ? `territories ${b.territories.join(", ")}` : "worldwide",
    ...(b.terms_uri !== undefined ? [`terms ${b.terms_uri}`] : [])].join(", ");
  const termsJa = (b) => [b.fee ? `料金 ${moneyJa(b.fee)}` : "料金なし",
    ...(b.royalty_bps !== undefined ? [`ロイヤルティ ${pct(b.royalty_bps)}%`] : []),
    b.territories && b.territories.length ? `地域 ${b.territories.join("、")}` : "全世界",
    ...(b.terms_uri !== undefined ? [`条件 ${b.terms_uri}`] : [])].join("、");

  // ---- the words of an answer (specs/rules.md sections 5.2 and 8) -------------------------
  // Each reason `may` gives, as the spec's table writes it, with its Japanese. A receipt's
  // reason and the page's re-derivation of it are compared in English, byte for byte
  // (state.js sameDecision); only what is shown is said in Japanese, with the same ids, keys,
  // purposes and times. A reason matching none (a receipt edited by hand) is shown as written.
  // A test (tests/page/test_page_reason_words.py) holds this table equal to the spec's.
  const REASONS = [
    ["<W> is a dataset, not a work", "<W> はデータセットで、作品ではありません"],
    ["<W> is the key record of <K>, not a work", "<W> は <K> の鍵の記録で、作品ではありません"],
    ["the work is not registered on this ledger", "この作品はこの台帳に登録されていません"],
    ["the work was not registered yet at that time", "その時点では、この作品はまだ登録されていませんでした"],
    ["consent granted to this key for <for>", "この鍵に <for> の利用が許諾されています"],
    ["consent granted to anyone for <for>", "誰にでも <for> の利用が許諾されています"],
    ["licence in force for <for>", "<for> のライセンスが有効です"],
    ["this key controls the work", "この鍵が作品を管理しています"],
    ["no consent or licence for <P> is in force for this key at <t>: this key was rotated away, and <H> holds its consents and licences at that time",
      "<t> の時点で、この鍵に有効な <P> の許諾もライセンスもありません。この鍵は別の鍵に切り替えられ、その時点ではその許諾とライセンスを <H> が持っています"],
    ["no consent or licence for <P> is in force at <t> (all were revoked, ended or not yet accepted, including those made to <A>, whose consents and licences this key holds at that time)",
      "<t> の時点で有効な <P> の許諾もライセンスもありません（いずれも取り消されたか、終了したか、まだ受諾されていません。その時点でこの鍵が許諾とライセンスを引き継いでいる <A> へのものも含みます）"],
    ["no consent or licence for <P> is in force at <t> (all were revoked, ended or not yet accepted)",
      "<t> の時点で有効な <P> の許諾もライセンスもありません（いずれも取り消されたか、終了したか、まだ受諾されていません）"],
    ["no consent or licence for <P>: not allowed by default", "<P> の許諾もライセンスもありません。既定では利用できません"],
  ];
  // rules.md section 5.2: <for> is <P>, or <G>, which covers <P>.
  const FOR_WORDS = ["<G>, which covers <P>", "<G>（<P> を含む）"];
  // rules.md section 8 step 3: an "allowed" refused under --require-attested.
  const ATTESTED = [
    ["<reason>, but the key that granted it (<key>) is not attested by anyone (--require-attested)",
      "<reason>。ただし、それを許諾した鍵（<key>）は誰からも証明されていません（--require-attested）"],
    ["<reason>, but the key that granted it (<key>) is attested only by attesters you do not trust (--require-attested)",
      "<reason>。ただし、それを許諾した鍵（<key>）を証明しているのは、あなたが信頼しない証明者だけです（--require-attested）"],
  ];
  // Each event a decision cites, as verify words it (state.js citations, current.py citations).
  const CITATIONS = [
    ["consent grant <id>", "許諾 <id>"],
    ["consent grant <id>, revoked by <K> at <t>, after the time asked", "許諾 <id>（問いの時刻より後の <t> に <K> が取り消し）"],
    ["consent grant <id>, which ends at <t>", "許諾 <id>（<t> まで）"],
    ["consent grant <id>, revoked by <K> at <t>", "許諾 <id>（<t> に <K> が取り消し）"],
    ["consent grant <id>, in force from <t>", "許諾 <id>（<t> から有効）"],
    ["licence <id> accepted in <id2>", "ライセンス <id>（<id2> で受諾）"],
    ["licence <id> accepted in <id2>, terminated by <K> at <t>, after the time asked", "ライセンス <id>（<id2> で受諾、問いの時刻より後の <t> に <K> が終了）"],
    ["licence <id> accepted in <id2>, which ends at <t>", "ライセンス <id>（<id2> で受諾、<t> まで）"],
    ["licence <id>, terminated by <K> at <t>", "ライセンス <id>（<t> に <K> が終了）"],
    ["licence offer <id>, not accepted", "ライセンスの申し出 <id>（未受諾）"],
    ["licence <id>, not in force at that time", "ライセンス <id>（その時点では無効）"],
    ["controller event <id> (the work's head: this key controls it)", "管理者の記録 <id>（作品の最新の記録。この鍵が作品を管理しています）"],
    ["controller event <id> (the work's head; this key controlled the work at the time asked, and control passed to <K> at <t>)",
      "管理者の記録 <id>（作品の最新の記録。問いの時刻にはこの鍵が作品を管理しており、<t> に管理が <K> に移りました）"],
  ];
  // What a slot matches: one word (an id, key, purpose or time), except these.
  const SLOTS = { "<for>": "(\\S+?(?:, which covers \\S+)?)", "<A>": "(\\S+(?: and \\S+)*)", "<reason>": "(.+)" };
  const compile = (table) => table.map(([english, japanese]) => {
    const names = [];
    const source = english.split(/(<[A-Za-z0-9]+>)/).map((part, i) => (i % 2
      ? (names.push(part), SLOTS[part] || "(\\S+)") : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("");
    return { re: new RegExp(`^${source}$`), names, japanese };
  });
  const REASONS_RE = compile(ATTESTED.concat(REASONS)), CITATIONS_RE = compile(CITATIONS);
  const FOR_RE = compile([FOR_WORDS])[0];
  /** `text` in Japanese by the first template of `table` it matches, or null. */
  function inJapanese(table, text) {
    if (typeof text !== "string") return null;
    for (const t of table) {
      const m = t.re.exec(text);
      if (m === null) continue;
      const said = new Map(t.names.map((n, i) => [n, m[i + 1]]));
      return t.japanese.replace(/<[A-Za-z0-9]+>/g, (n) => {
        const v = said.get(n);
        if (n === "<reason>") return reasonJa(v);
        if (n === "<A>") return v.split(" and ").join("、");
        if (n === "<for>") { const f = FOR_RE.re.exec(v); return f === null ? v : FOR_WORDS[1].replace("<G>", () => f[1]).replace("<P>", () => f[2]); }
        return v;
      });
    }
    return null;
  }
  /** A reason in Japanese; one matching no template as it is written. */
  const reasonJa = (reason) => inJapanese(REASONS_RE, reason) ?? String(reason);
  const citationJa = (words) => inJapanese(CITATIONS_RE, words) ?? String(words);
  /** A statement that stands alone as a sentence: its first letter capitalised (verify's lines
   * begin in lower case, following "OK: " or "may: "). */
  const sentence = (s) => s.charAt(0).toUpperCase() + s.slice(1);
  /** A decision as written in a receipt or as the rules give it, for people: allowed or not,
   * and why, in the words of `lang`; the events it cites when `withEvents`. Anything a receipt
   * edited by hand may hold is shown as it is. */
  function decisionWords(d, lang, withEvents) {
    if (d === null || typeof d !== "object" || Array.isArray(d)) return JSON.stringify(d);
    const ja = lang === "ja";
    const verdict = d.allowed === true ? (ja ? "利用できる" : "allowed") : d.allowed === false ? (ja ? "利用できない" : "not allowed") : JSON.stringify(d.allowed);
    const why = typeof d.reason === "string" ? (ja ? reasonJa(d.reason) : d.reason) : JSON.stringify(d.reason);
    const events = withEvents ? (Array.isArray(d.events) && d.events.every((e) => typeof e === "string")
      ? (d.events.length ? d.events.join(ja ? "、" : ", ") : (ja ? "なし" : "none")) : JSON.stringify(d.events)) : null;
    return ja ? `${verdict}（理由：「${why}」${events === null ? "" : `、根拠の記録：${events}`}）`
      : `${verdict} (reason: “${why}”${events === null ? "" : `; events cited: ${events}`})`;
  }
  /** How far two decisions must be said for them to read apart: 0 allowed and reason, 1 with
   * the events cited, 2 as written (JSON: they differ in their conditions or members). */
  const detail = (a, b) => (decisionWords(a, "en", false) !== decisionWords(b, "en", false) ? 0
    : decisionWords(a, "en", true) !== decisionWords(b, "en", true) ? 1 : 2);
  const decisionSaid = (d, lang, level) => (level === 2 ? JSON.stringify(d) : decisionWords(d, lang, level === 1));

  // ---- a trust input refused (verify.js parseTrust, InputError; cli/verify.py exit 2) -------
  // Each refusal of a trust policy or log key as verify.js words it (the English page shows it
  // byte for byte, as `provenance verify` prints it), with its Japanese. What the user wrote,
  // quoted as verify quotes it ({Q}), names ({K}) and numbers ({N}) are said as they are. A
  // refusal on a policy's line ("policy line N: ...") is said with that line's refusal in
  // Japanese. A test (tests/page/test_page_file_inputs_language.py) makes each of them.
  const TRUST_PROBLEMS = [
    ["verifier key {Q} is not <name>+<hex id>+<base64>", "検証鍵 {Q} が「名前+鍵 ID（16 進 8 桁）+base64」の形ではありません"],
    ["verifier key id {Q} is not hex", "検証鍵の鍵 ID {Q} が 16 進数ではありません"],
    ["verifier key is not valid base64", "検証鍵の base64 の部分が正しい base64 ではありません"],
    ["verifier key is not canonical base64", "検証鍵の base64 の部分が正規の base64 ではありません"],
    ["verifier key is not one type byte and a 32-byte Ed25519 key", "検証鍵が、型を示す 1 バイトと 32 バイトの Ed25519 鍵からなっていません"],
    ["key name {Q} is not a valid key name", "鍵の名前 {Q} は鍵の名前として使えません"],
    ["unsupported signature type {K}", "署名の型 {K} には対応していません"],
    ["verifier key id {K} does not match its name and key", "検証鍵の鍵 ID {K} が、その名前と鍵に合いません"],
    ["verifier key {Q} is not a log key (type 0x01)", "検証鍵 {Q} はログの鍵（型 0x01）ではありません"],
    ["verifier key {Q} is not a witness cosignature/v1 key (type 0x04)", "検証鍵 {Q} は証人の連署の鍵（型 0x04、cosignature/v1）ではありません"],
    ["policy is larger than {N} bytes", "ポリシーが {N} バイトを超えています"],
    ["policy has more than {N} lines", "ポリシーが {N} 行を超えています"],
    ["name {Q} is defined twice", "名前 {Q} が 2 回定義されています"],
    ["group member {Q} is not defined above", "グループのメンバー {Q} が、それより前の行で定義されていません"],
    ["a group lists a member twice", "グループが同じメンバーを 2 回挙げています"],
    ["threshold {Q} is not all, any or 1..{N}", "しきい値 {Q} が all、any、1〜{N} のいずれでもありません"],
    ["quorum is given twice", "定足数（quorum の行）が 2 回書かれています"],
    ["quorum {Q} is not a defined witness or group", "定足数（quorum の行）の {Q} が、定義された証人でもグループでもありません"],
    ["key {Q} is not of the form ed25519:<64 hex>", "鍵 {Q} が「ed25519:16 進 64 桁」の形ではありません"],
    ["attester {K} is given twice", "証明者 {K} が 2 回書かれています"],
    ["cannot read {Q}", "{Q} を読み取れません"],
    ["policy names no log key", "ポリシーにログの鍵（log の行）がありません"],
    ["policy has no quorum line (write 'quorum none' for no witnesses)", "ポリシーに定足数（quorum の行）がありません（証人を求めない場合は 'quorum none' と書いてください）"],
    ["policy witness {K} has the key of a log line: a log cannot witness its own checkpoints",
      "ポリシーの証人 {K} の鍵が、log の行の鍵と同じです。ログは自身のチェックポイントの証人になれません"],
    ["policy names one witness key twice, as {K} and {K2}: it would count one cosignature twice toward the quorum",
      "ポリシーが一つの証人の鍵を {K} と {K2} の二つの名前で挙げています。一つの連署が定足数に 2 回数えられてしまいます"],
    // not of the trust input, but refused as one (the CLI's exit 2): this browser's WebCrypto
    ["this browser has no Ed25519 in WebCrypto", "このブラウザーの WebCrypto には Ed25519 がありません"],
  ];
  const TRUST_SLOTS = { "{Q}": "('.*'(?: \\([0-9,]+ characters\\))?)", "{N}": "([0-9]+)", "{K}": "(\\S+)", "{K2}": "(\\S+)" };
  const TRUST_RE = TRUST_PROBLEMS.map(([english, japanese]) => {
    const names = [];
    const source = english.split(/(\{[A-Z0-9]+\})/).map((part, i) => (i % 2
      ? (names.push(part), TRUST_SLOTS[part]) : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))).join("");
    return { re: new RegExp(`^${source}$`), names, japanese };
  });
  /** A trust input's refusal (verify.js's English words) in Japanese, or null for one this
   * page does not know. */
  function trustProblemJa(text) {
    if (typeof text !== "string") return null;
    const line = /^policy line ([0-9]+): (.*)$/s.exec(text);
    if (line) {
      const inner = trustProblemJa(line[2]);
      return inner === null ? null : `${line[1]} 行目：${inner}`;
    }
    for (const t of TRUST_RE) {
      const m = t.re.exec(text);
      if (m === null) continue;
      const said = new Map(t.names.map((n, i) => [n, m[i + 1]]));
      // a long value quoted by its start and its length (verify.js quoted)
      return t.japanese.replace(/\{[A-Z0-9]+\}/g, (n) => said.get(n).replace(/ \(([0-9,]+) characters\)$/, "（$1 文字）"));
    }
    return null;
  }

  const en = {
    title: "Check a receipt",
    language: "Language",
    intro: "Everything is checked here, in this browser. Nothing you drop leaves this computer.",
    inputs: "What to check",
    dropHint: "Drop a receipt here (and the work's file, and a trust policy), or choose them below.",
    receiptLabel: "Receipt (JSON)",
    workLabel: "The work's file (optional)",
    policyFileLabel: "Trust policy file (optional)",
    // each file input's button and the file it holds, in the page's words (not the browser's)
    chooseFile: "Choose file",
    noFileChosen: "No file chosen",
    trustLabel: "Trust policy, or the log's key (one line)",
    trustHint: "Get the log's key or policy from someone you trust, not from the receipt.",
    useNodePolicy: "Use this node's published keys",
    verify: "Check",
    result: "Result",
    nothingYet: "Nothing checked yet.",
    history: "The work's history",
    explorer: "This node's log",
    search: "Find a work by its file",
    searchLabel: "File to look up (hashed here; only its SHA-256 is sent)",
    needReceipt: "Choose a receipt to check.",
    needTrust: "Give the log's key or a trust policy: without it, nothing says whose log this is.",
    badTrust: "The trust policy or log key cannot be read",
    /** A refusal of the trust input (or of what this browser lacks) after its word, as
     * `provenance verify` says it. */
    refused: (word, detail) => `${en[word]}: ${detail}`,
    cannotCheck: "This browser cannot check the receipt",
    cannotRead: "This file cannot be read",
    /** A file the browser could not read (its error, a DOMException, as the browser words it). */
    unreadable: (name, err) => `${en.cannotRead}: ${name}: ${err && err.message ? err.message : err}`,
    pageError: "The check could not be finished; nothing was verified",
    valid: "Valid: the receipt checks out.",
    invalid: "Not valid: the receipt does not check out.",
    unsupported: "This kind of receipt is not checked by this page yet.",
    failedCheck: "Failed check: ",
    proves: "What it proves",
    notProves: "What it does not prove",
    details: "Details",
    typeName: (t) => TYPE_EN[t] || t,
    witnessesPart(r) {
      const total = r.policy.witnesses.size;
      const names = Array.from(r.cosigners.keys()).sort();
      if (!names.length) return total ? `no valid cosignature from the ${total} witnesses of your policy` : "no witness asked for";
      return `cosigned by ${names.length} of ${total} witness${total === 1 ? "" : "es"}: ${names.map((n) => `${n} at ${PLVerify.formatTime(r.cosigners.get(n))}`).join(", ")}`;
    },
    statement(r, before, beforeBy) {
      const ev = r.event, cp = r.checkpoint;
      const what = r.fileMatches ? "this file's content" : `the content with fingerprint ${ev.work}`;
      const when = before === null ? "" : ` before ${PLVerify.formatTime(before)} (${beforeBy === "witness" ? "by the witnesses' clocks" : "by the log's own clock"})`;
      const head = ev.type === "work.register"
        ? `Key ${ev.actor} registered ${what} on log ${cp.origin}`
        : `Key ${ev.actor} signed a ${TYPE_EN[ev.type] || ev.type} about ${what}, and it is on log ${cp.origin}`;
      return `${head}${when} (${this.witnessesPart(r)}). It is entry no. ${nth(r.leafIndex)} of ${entries(cp.size)} the log signed (index ${r.leafIndex}).`;
    },
    provesList: (r) => [
      `The key ${r.event.actor} signed exactly this event.`,
      `The log ${r.checkpoint.origin} holds it as entry no. ${nth(r.leafIndex)} (index ${r.leafIndex}) in the tree of ${entries(r.checkpoint.size)} that its key signed.`,
      r.cosigners.size ? "Each witness named above saw and cosigned that same tree at its time: the log cannot show others a different history without being caught." : "No witness vouches for this tree: only the log's own key does.",
      r.fileMatches ? "The file you gave is exactly the registered content (same SHA-256)." : "No file was given: the content is named only by its fingerprint.",
    ],
    notProvesList: [
      "That nothing happened later: a transfer, revocation or termination logged after this checkpoint is not visible here.",
      "That the time written in the event is true: it is the signer's own claim.",
      "That the key belongs to a given person, or that the signer made the work: only that this key signed.",
      "Anything about the content beyond its fingerprint, or about other logs.",
      "That a single event is allowed by the rules: only a state receipt replays them.",
    ],
    checkMeaning: {
      receipt: "The file is not a well-formed receipt: it is damaged, edited by hand, or not a receipt at all.",
      checkpoint: "The log's signature on its checkpoint does not check out with the key you trust: the checkpoint was altered, or it comes from another log.",
      log_key: "The receipt names a log key other than the one you trust.",
      event: "The event itself is altered or damaged: its signature does not match its contents.",
      inclusion: "The proof that this event is in the log's signed tree does not hold: the event or the proof was altered.",
      decoded: "The readable copy of the event in the receipt says something other than the signed event: someone edited the part people read.",
      quorum: "Not enough of the witnesses your policy requires cosigned this checkpoint: nothing shows that others see the same log.",
      file: "The file you gave is not the registered content: its fingerprint (SHA-256) differs.",
      map: "The proof against the log's map does not hold: nothing shows that the history is complete.",
      history: "The events shown are not the work's whole history as the log's map records it: some were left out, added or reordered.",
      rules: "The events break the ledger's rules when replayed (for example a grant by someone who did not control the work).",
      dataset: "The proof does not lead to the root the dataset's disclosure committed to: the item's answer was altered, or the proof belongs to another version.",
      similar: "An item said to be similar to a registered work is not at the distance the receipt claims from that work's registered content code.",
      keys: "The receipt leaves out the record of a key its answer depends on: a rotation or a compromise of that key could be hidden.",
      unsupported: "Check it with the command line: provenance verify RECEIPT --policy POLICY.",
    },
    // A "decoded" check failed on what a decision or compliance receipt writes for people, not
    // on an event (state.js, compliance.js: the error's `about`): said as what it is, both ways.
    decodedName: { decision: "the decision written in the receipt", summary: "the summary written in the receipt",
      scope: "the receipt's scope sentence", granted_by: "the granting key written in the receipt",
      state: "the state written in the receipt", statement: "the royalty statement written in the receipt" },
    decodedMeaning(a) {
      const item = a.item ? `For item ${a.item.n} (${a.item.name}), the` : "The";
      const intact = "The events themselves are signed and in the log's tree as the receipt shows them: only what is written for people was changed.";
      switch (a.what) {
        case "decision": {
          const level = detail(a.stated, a.derived);
          return `${item} decision written in the receipt is not what its events and proofs give. The receipt says: ${decisionSaid(a.stated, "en", level)}. Its events and proofs give: ${decisionSaid(a.derived, "en", level)}. ${intact}`;
        }
        case "summary": {
          const n = (x) => (x !== null && typeof x === "object" && ["items", "allowed", "not_allowed", "unregistered"].every((k) => Number.isSafeInteger(x[k]))
            ? `${x.items} items: ${x.allowed} allowed, ${x.not_allowed} not allowed, ${x.unregistered} not registered` : JSON.stringify(x));
          return `The summary written in the receipt is not the count of the answers its events and proofs give. The receipt says: ${n(a.stated)}. Its events and proofs give: ${n(a.derived)}. ${intact}`;
        }
        case "scope": return "The sentence saying what the receipt proves (its scope) is not the one of its format: it would claim more or less than the receipt proves. " + intact;
        case "granted_by": return `${item} key written in the receipt as the one that granted the use is not what the key records it proves give. ${intact}`;
        case "state": return `The state written in the receipt for ${a.work} (its controller, consents and licences) is not what its events give. ${intact}`;
        case "statement": return `The royalty statement written in the receipt is not what its proven events give: a figure, a licence or an event it cites was changed. ${intact}`;
        default: return null;
      }
    },
    checkName: { receipt: "receipt format", checkpoint: "log signature on the checkpoint", log_key: "log key",
      event: "event signature", inclusion: "inclusion proof", decoded: "readable copy of the event",
      quorum: "witness quorum", file: "file fingerprint", unsupported: "receipt kind",
      map: "map proof (completeness)", history: "the work's history", rules: "replay of the rules",
      similar: "similarity match", dataset: "dataset membership proof", keys: "key records" },
    // state receipts v2
    signedPart(r) {
      const by = new Map();
      for (const [n, t] of Array.from(r.cosigners.entries()).sort()) { const k = String(t); by.set(k, (by.get(k) || []).concat([n])); }
      if (by.size) return "cosigned " + Array.from(by.entries()).sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1))
        .map(([t, names]) => `at ${PLVerify.formatTime(t)} by witness${names.length > 1 ? "es" : ""} ${names.join(", ")}`).join(" and ");
      return `signed by the log${r.checkpoint.block ? ` at ${PLVerify.formatTime(r.checkpoint.block.time)}` : ""}, no witness cosignature counted`;
    },
    stateHead: (r) => `As of checkpoint ${r.checkpoint.size} of ${r.checkpoint.origin} (tree size ${r.checkpoint.size}, ${en.signedPart(r)}), this receipt proves:`,
    workStatement(w, r) {
      const cp = r.checkpoint;
      if (w.state === null) return `${w.work} was not registered on log ${cp.origin} as of tree size ${cp.size}.`;
      return `${w.work}${r.fileWork === w.work ? " (this file)" : ""}: all its ${w.events.length} events, from its registration on; controller ${w.state.controller}; no later event of it exists up to ${cp.size}.`;
    },
    workStatementV1: (w, r) => `${w.work}${r.fileWork === w.work ? " (this file)" : ""}: these ${w.events.length} events, from its registration on, are in log ${r.checkpoint.origin} at tree size ${r.checkpoint.size} and form an unbroken chain. Later events may exist and may have been left out: ask for a newer state receipt (v2) to know the current state.`,
    inForce: (t) => `In force at the checkpoint's time (${PLVerify.formatTime(t)}):`,
    inForceLast: (t) => `In force as of the last event shown (${PLVerify.formatTime(t)}):`,
    grantInForce: (g) => `consent ${short(g.id)} for ${g.purposes.join(", ")} to ${g.grantee === "*" ? "anyone" : short(g.grantee)}${g.until !== null ? `, until ${PLVerify.formatTime(g.until)}` : ""}`,
    licInForce: (x) => `licence ${short(x.id)} for ${x.purposes.join(", ")} to ${short(x.licensee)}${x.until !== null ? `, until ${PLVerify.formatTime(x.until)}` : ""}`,
    nothingInForce: "no consent or licence",
    sep: "; ",
    stateProvesList: (r) => [
      "Every event shown is signed by its key and is in the tree the log signed; the rules of the ledger accept them in order, from the registration on.",
      `No event of these works was left out: the log's map at tree size ${r.checkpoint.size} names each work's last event and their number.`,
      r.cosigners.size ? "Each witness named above cosigned that same tree at its time." : "No witness vouches for this tree: only the log's own key does.",
    ],
    // receipts.md section 13 (verify prints "fresh as of T" and judges --max-age against it)
    freshAsOf: (r, ago) => `Fresh as of ${PLVerify.formatTime(r.freshAsOf)} (${ago}): ${r.policy.quorum !== null
      ? "the time as of which the witnesses your policy requires vouch for this checkpoint, by their own cosignatures"
      : "the checkpoint's own time, the log's word, since your policy requires no witnesses"}.`,
    stateNotProvesList: (r) => [
      `Anything after tree size ${r.checkpoint.size}: a transfer, revocation or termination logged later is not visible here.`,
      "That the times written in the events are true: they are the signers' own claims.",
      "That a key belongs to a given person.",
      "Anything about the content beyond its fingerprint, or about other logs.",
    ],
    reason: (reason) => String(reason), citation: (words) => String(words),
    decisionAnswer: (d) => (d.allowed ? "Answer: allowed." : "Answer: not allowed."),
    decisionStatement(r) {
      const cp = r.checkpoint, q = r.question, d = r.decision, w = r.works[0], at = PLVerify.formatTime(q.at);
      const head = `as of checkpoint ${cp.size} of ${cp.origin} (tree size ${cp.size}, ${en.signedPart(r)})`;
      if (w.state === null) return sentence(`${head}, work ${w.work} was not registered on log ${cp.origin} as of tree size ${cp.size}: key ${q.key} may not use it for purpose ${q.purpose} at ${at}`);
      const why = d.allowed ? "" : `: ${d.reason}`;
      const citing = r.citing.length ? `, citing ${r.citing.join("; ")}` : "";
      const caveat = r.keysProven ? "" : "; this receipt holds no key records, so a rotation or compromise of the controller's key is not ruled out";
      return sentence(`${head}, key ${q.key} ${d.allowed ? "may" : "may not"} use work ${w.work} for purpose ${q.purpose} at ${at}${why}${citing}; no later event of ${w.work} exists up to ${cp.size}${caveat}`);
    },
    conditions: (c) => `Conditions: ${c.join(", ")}`,
    keysProven: (r) => (r.keysProven
      ? `The controller's key: its record is in this receipt, so up to tree size ${r.checkpoint.size} it was neither rotated to another key nor declared compromised without this receipt showing it.`
      : "The controller's key: its record is not in this receipt, so a rotation to another key, or a declaration that the key was compromised, is not ruled out."),
    disputedEvents: (ids) => `${ids.length} event${ids.length === 1 ? "" : "s"} of the work do not count, and the answer leaves ${ids.length === 1 ? "it" : "them"} out: signed by a key declared compromised, or by a key that no longer held the work's control, or built on such an event (${ids.map(short).join(", ")}).`,
    keyRecordsHead: "Keys whose records this receipt proves:",
    royaltyStatement(r) {
      const n = (c, noun) => `${c} ${noun}${c === 1 ? "" : "s"}`, cp = r.checkpoint;
      return sentence(`as of checkpoint ${cp.size} of ${cp.origin} (tree size ${cp.size}, ${en.signedPart(r)}), ${n(r.royalties.licences.length, "licence")} of ${n(r.works.length, "work")}: the statement below is what all of their events up to ${cp.size} give`);
    },
    // royalties.py words: the five figures, and overpaid only when above 0 (royalties.md 3.2)
    royaltyLine: (x) => `licence ${x.licence}: ${PLVerify.royaltyFigures.concat(x.overpaid > 0 ? ["overpaid"] : []).map((f) => `${f} ${amount(x[f], x.currency)}`).join(", ")}`,
    // payments.py version_words (receipts.md section 15.4)
    royaltyVersion: (v) => sentence(v.statement >= 2
      ? `statement version 2 (royalty receipt v${v.receipt}): outstanding and overpaid per payee, never netted`
      : `statement version 1 (royalty receipt v${v.receipt}): outstanding is due less paid, summed over the payees, so one payee's overpayment lowers another's outstanding (a receipt made now says outstanding and overpaid apart)`),
    royaltyNotProves: "That the works listed are all the works of a licensee or payee: a royalty receipt covers only the works it lists.",
    keyRecordLine(k, attesters) {
      if (k.absent) return `Key ${k.key ? k.key : `record ${short(k.work)}`}: no record on the log up to this checkpoint (no attestation, rotation or compromise).`;
      const parts = [`Key ${k.key}${k.holder ? " (holds the work's control at the question's time)" : ""}:`];
      if (!k.attestations.length) parts.push("not attested by anyone at the question's time.");
      for (const a of k.attestations) {
        const trust = !attesters.length
          ? "Whether to trust this attester is your call: your policy names no attesters (add an 'attester' line for one you trust)."
          : a.trusted ? "Your policy trusts this attester." : "Your policy does not name this attester, so it vouches for nothing here.";
        parts.push(`attested as “${a.name}”${a.member ? `, member ${a.member}` : ""}, by ${a.attester}. ${trust}`);
      }
      if (k.rotatedTo) parts.push(`Rotated to ${k.rotatedTo} at ${PLVerify.formatTime(k.rotatedAt)}.`);
      if (k.compromisedSince !== null) parts.push(`Declared compromised since ${PLVerify.formatTime(k.compromisedSince)}: what it signed from then on does not count.`);
      return parts.join(" ");
    },
    datasetStatement(r) {
      const d = r.dataset, cp = r.checkpoint;
      return `${d.item} ${d.member ? "is" : "is not"} in dataset ${d.body.name} version ${d.body.version} disclosed by ${r.event.actor} at log ${cp.origin} index ${r.leafIndex} (checkpoint size ${cp.size}, root ${PLVerify.internals.b64encode(cp.root)})`;
    },
    datasetProves: (r) => [
      `The key ${r.event.actor} disclosed a commitment to a set of ${r.dataset.body.count} items as version ${r.dataset.body.version} of dataset ${r.dataset.body.name}, for ${r.dataset.body.purposes.join(", ")}, and the log holds that disclosure.`,
      r.dataset.member ? "This item is one of the committed items." : "This item is not one of the committed items.",
      r.cosigners.size ? `Witnesses cosigned the checkpoint: ${Array.from(r.cosigners.keys()).sort().join(", ")}.` : "No witness vouches for this checkpoint: only the log's own key does.",
    ],
    datasetNotProves: [
      "That the set is what a training run used: only what the key committed to.",
      "Anything about the other items of the set: they stay hidden.",
      "Anything about later versions of the dataset.",
    ],
    complianceStatement(r) {
      const cp = r.checkpoint, q = r.question, n = r.summary;
      return sentence(`as of checkpoint ${cp.size} of ${cp.origin} (tree size ${cp.size}, ${en.signedPart(r)}), key ${q.key} asked to use ${n.items} item${n.items === 1 ? "" : "s"} for purpose ${q.purpose} at ${PLVerify.formatTime(q.at)}: ${n.allowed} allowed, ${n.not_allowed} not allowed, ${n.unregistered} not registered on log ${cp.origin}; no later event of any of their works exists up to ${cp.size}`);
    },
    itemLine(a) {
      const near = a.similar ? `, similar at distance ${a.similar.distance}` : "";
      const citing = a.citing.length ? `, citing ${a.citing.join("; ")}` : "";
      return sentence(`${a.outcome}: ${a.name} (${a.work}${near}): ${a.outcome === "unregistered" ? "not registered on this log" : a.decision.reason}${citing}`);
    },
    complianceNotProves: "Nor that the items listed are all of a dataset, that their bytes are what a training run used, or anything after the checkpoint.",
    // timeline
    noHistory: "Nothing to show yet.",
    eventLine(ev) {
      const b = ev.body || {};
      switch (ev.type) {
        case "work.register": return `Registered by ${short(ev.actor)}${b.title ? `: “${b.title}”` : ""} (${b.media_type}, ${b.size} bytes)`;
        case "work.transfer": return `Transferred by ${short(ev.actor)} to ${short(b.to)}`;
        case "consent.grant": return `Consent by ${short(ev.actor)} to ${b.grantee === "*" ? "anyone" : short(b.grantee)} for ${b.purposes.join(", ")}${b.until ? `, until ${b.until}` : ", with no end"}${b.conditions ? ` (conditions: ${b.conditions.join(", ")})` : ""}`;
        case "consent.revoke": return `Consent ${short(b.grant)} revoked by ${short(ev.actor)}`;
        case "licence.offer": return `Licence offered to ${short(b.licensee)} for ${b.purposes.join(", ")}${b.from ? `, from ${b.from}` : ""}${b.until ? ` until ${b.until}` : ""}: ${terms(b)}`;
        case "licence.accept": return `Licence ${short(b.offer)} accepted by ${short(ev.actor)}`;
        case "licence.terminate": return `Licence ${short(b.licence)} terminated by ${short(ev.actor)}${b.reason ? `: ${b.reason}` : ""}`;
        case "dataset.disclose": return `Dataset ${b.name} version ${b.version} disclosed for ${b.purposes.join(", ")}`;
        case "usage.report": return `Usage reported by ${short(ev.actor)} on licence ${short(b.licence)} for ${b.period}: ${b.units} units, revenue ${money(b.revenue)}`;
        case "payment.record": return `Payment of ${money(b.amount)} recorded by ${short(ev.actor)} to ${short(b.to)} on licence ${short(b.licence)}`;
        case "payment.ack": return `Payment ${short(b.payment)} acknowledged by ${short(ev.actor)}`;
        case "payment.dispute": return `Payment ${short(b.payment)} disputed by ${short(ev.actor)}: ${b.reason}`;
        case "identity.attest": return `${short(ev.actor)} attests that key ${short(b.key)} is “${b.name}”${b.member ? ` (member ${b.member})` : ""}`;
        case "identity.revoke": return `${short(ev.actor)} withdraws attestation ${short(b.attestation)} of key ${short(b.key)}`;
        case "key.rotate": return `Key ${short(b.key)} rotated to ${short(b.to)}`;
        case "key.recovery": return `Key ${short(b.key)} names its recovery keys or association`;
        case "key.compromised": return `Key ${short(b.key)} declared compromised since ${b.since}`;
        default: return ev.type;
      }
    },
    provenInTimeline: "checked on this page",
    revokedAt: (t) => `revoked at ${t}`, endedAt: (t) => `ended at ${t}`, terminatedAt: (t) => `terminated at ${t}`,
    inForceNow: "in force at the checkpoint", notInForce: "not in force at the checkpoint",
    notAccepted: "offer not accepted",
    unprovenInTimeline: "as the node reports it, not checked here",
    disputed: "Disputed: more than one registration claims this content",
    // explorer
    checkpoints: "Recent checkpoints",
    witnesses: "Witnesses and their latest cosignature",
    evidence: "Evidence of a lying log (split views, wrong map roots)",
    noEvidence: "None held by this node.",
    noWitnesses: "None: this node names no witness, so its checkpoints carry the log's signature alone.",
    withAge: (time, age) => `${time} (${age})`,
    size: "Size", time: "Signed at", age: "Age", cosigs: "Cosignatures",
    ago: (s) => s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : s < 172800 ? `${Math.round(s / 3600)} h ago` : `${Math.round(s / 86400)} days ago`,
    never: "never",
    explorerRetry: "Ask the node again",
    explorerStop: "Stop waiting for the node",
    askingNode: "Asking the node for its published keys…",
    askingExplorer: (url) => `Asking the node at ${url} for its log…`,
    searchStop: "Stop waiting for the search",
    searchRetry: "Look the file up again",
    checkpointRefused: "Does not verify: the log key this node publishes did not sign this checkpoint as shown (it was altered, is damaged, or is of another log).",
    technicalDetail: "Technical detail",
    notFound: (w) => `No work with fingerprint ${w} on this node.`,
    found: (w, n) => `Work ${w}: ${n} event${n === 1 ? "" : "s"} on this node (shown in the history above).`,
    foundNotShown: (w, n) => `Work ${w}: ${n} event${n === 1 ? "" : "s"} on this node, not shown: other files were given to check while the node answered. Look the file up again to see its history.`,
    searching: "Looking it up…",
    checking: "Checking… (what is shown below is about the files given before)",
    // the node's answers (served mode): where it failed, then why and what to do
    searchFailed: "The search could not be made",
    because: ": ",
    explorerFailed: "This node's log cannot be shown",
    policyFailed: "This node's published keys could not be fetched",
    stateReceiptFailed: "The node's state receipt of this work could not be fetched, so the history above is as the node reports it, not checked here",
    nodeKeysLost: "This node's published keys, which the check shown used, could not be fetched again, so that check no longer stands and the keys were taken out of the trust policy",
    nodeProblem(e) {
      const tech = e.technical ? ` (${e.technical})` : "";
      switch (e.kind) {
        case "unreachable": return "the node could not be reached. Check that it is running and that this computer is online, then try again.";
        case "timeout": return `the node stopped answering (nothing for ${e.seconds} seconds). It may be overloaded: try again later.`;
        case "broken": return "the node's answer broke off before its end. Try again.";
        case "stopped": return "you stopped waiting for the node's answer. Ask again whenever you want.";
        case "too-large": return `the node's answer is larger than this page reads (over ${e.mib} MiB), so it was not read.`;
        case "refused-policy": return `the policy the node publishes is refused, as provenance verify refuses it: ${e.technical}. Tell the node's operator.`;
        case "bad-answer": return `the node's answer is not what this page expects: ${ANSWER_FAULT_EN[e.fault]}${tech}. The node may run another version of provenance-ledger, or something in between answered in its place; tell the node's operator.`;
        case "status": {
          const name = STATUS_EN[e.status] || (e.status >= 500 ? "the node failed" : e.status >= 400 ? "the node refused the request" : "an answer this page does not expect");
          const said = e.message ? `, saying “${e.message}”` : "";
          const advice = e.status === 429 ? "Wait a minute, then try again."
            : e.status >= 500 || e.status === 408 ? "Try again later; if it goes on, tell the node's operator."
              : "The node may run another version of provenance-ledger than this page; tell the node's operator.";
          return `the node answered with error ${e.status} (${name})${said}. ${advice}`;
        }
        default: return `a fault of this page${tech}; nothing was verified.`;
      }
    },
    foundElsewhere: (w, regs) => `No work with fingerprint ${w} on this node's own log. The node says it is registered on other logs (not checked here): ${regs.join("; ")}. Ask those logs for its receipt.`,
  };

  const ja = {
    title: "受領証を確認する",
    language: "言語",
    intro: "確認はすべてこのブラウザの中で行われます。入れたファイルがこのコンピューターの外に出ることはありません。",
    inputs: "確認するもの",
    dropHint: "受領証（と作品のファイル、信頼ポリシー）をここにドロップするか、下で選んでください。",
    receiptLabel: "受領証（JSON）",
    workLabel: "作品のファイル（任意）",
    policyFileLabel: "信頼ポリシーのファイル（任意）",
    chooseFile: "ファイルを選択",
    noFileChosen: "ファイルが選択されていません",
    trustLabel: "信頼ポリシー、またはログの鍵（1行）",
    trustHint: "ログの鍵やポリシーは、受領証からではなく、信頼できる相手から入手してください。",
    useNodePolicy: "このノードが公開している鍵を使う",
    verify: "確認",
    result: "結果",
    nothingYet: "まだ何も確認していません。",
    history: "作品の履歴",
    explorer: "このノードのログ",
    search: "ファイルから作品を探す",
    searchLabel: "調べるファイル（ここでハッシュを計算し、SHA-256 だけを送ります）",
    needReceipt: "確認する受領証を選んでください。",
    needTrust: "ログの鍵か信頼ポリシーを入れてください。それがないと、誰のログなのかを確かめられません。",
    badTrust: "信頼ポリシーまたはログの鍵を読み取れません",
    refused(word, detail) {
      const said = trustProblemJa(detail);
      return said === null ? `${ja[word]}: ${detail}` : `${ja[word]}。${said}。`;
    },
    cannotCheck: "このブラウザーでは受領証を確認できません",
    cannotRead: "このファイルを読み取れません",
    unreadable: (name, err) => `${ja.cannotRead}（${name}）。${READ_FAULT_JA[err && err.name] || READ_FAULT_JA.other}`,
    pageError: "確認を最後まで行えませんでした。何も検証されていません",
    valid: "有効：この受領証は検証に合格しました。",
    invalid: "無効：この受領証は検証に合格しませんでした。",
    unsupported: "この種類の受領証は、このページではまだ確認できません。",
    failedCheck: "不合格になった検査：",
    proves: "証明されること",
    notProves: "証明されないこと",
    details: "詳細",
    typeName: (t) => TYPE_JA[t] || t,
    witnessesPart(r) {
      const total = r.policy.witnesses.size;
      const names = Array.from(r.cosigners.keys()).sort();
      if (!names.length) return total ? `ポリシーの証人 ${total} 者のうち有効な連署はなし` : "証人は求められていません";
      return `証人 ${total} 者のうち ${names.length} 者が連署：${names.map((n) => `${n}（${PLVerify.formatTime(r.cosigners.get(n))}）`).join("、")}`;
    },
    statement(r, before, beforeBy) {
      const ev = r.event, cp = r.checkpoint;
      const what = r.fileMatches ? "このファイルの内容" : `指紋 ${ev.work} の内容`;
      const when = before === null ? "" : `${PLVerify.formatTime(before)} より前に（${beforeBy === "witness" ? "証人の時計による" : "ログ自身の時計による"}）`;
      const head = ev.type === "work.register"
        ? `鍵 ${ev.actor} は、${what}を、${when}ログ ${cp.origin} に登録しました`
        : `鍵 ${ev.actor} は、${what}についての${TYPE_JA[ev.type] || ev.type}に署名し、それは${when}ログ ${cp.origin} に記録されています`;
      return `${head}（${this.witnessesPart(r)}）。ログが署名した ${cp.size} 件のうち ${nth(r.leafIndex)} 件目（索引 ${r.leafIndex}）の記録です。`;
    },
    provesList: (r) => [
      `鍵 ${r.event.actor} が、まさにこの記録に署名したこと。`,
      `ログ ${r.checkpoint.origin} が、その鍵で署名した ${r.checkpoint.size} 件の木の ${nth(r.leafIndex)} 件目（索引 ${r.leafIndex}）としてこの記録を持っていること。`,
      r.cosigners.size ? "上に挙げた各証人が、その時刻に同じ木を見て連署したこと。ログが他の人に別の履歴を見せれば発覚します。" : "この木を保証する証人はいません。保証しているのはログ自身の鍵だけです。",
      r.fileMatches ? "入れたファイルが、登録された内容とまったく同じであること（SHA-256 が一致）。" : "ファイルは入れられていません。内容は指紋でのみ示されています。",
    ],
    notProvesList: [
      "その後に何も起きていないこと。このチェックポイントより後に記録された譲渡・取り消し・終了は、ここには現れません。",
      "記録に書かれた時刻が正しいこと。それは署名者自身の申告です。",
      "鍵が特定の人物のものであること、署名者が作品を作ったこと。分かるのは、この鍵が署名したことだけです。",
      "指紋以外の内容について、また他のログについての事柄。",
      "個々の記録が規則上許されていること。規則を再生して確かめるのは状態受領証だけです。",
    ],
    checkMeaning: {
      receipt: "ファイルが正しい形の受領証ではありません。壊れている、手で書き換えられた、または受領証ではありません。",
      checkpoint: "チェックポイントへのログの署名が、信頼する鍵で確認できません。チェックポイントが改ざんされたか、別のログのものです。",
      log_key: "受領証が、信頼する鍵とは別のログの鍵を示しています。",
      event: "記録そのものが改ざんまたは破損しています。署名が内容と一致しません。",
      inclusion: "この記録がログの署名済みの木に含まれるという証明が成り立ちません。記録か証明が改ざんされています。",
      decoded: "受領証の中の読みやすい写しが、署名された記録と違うことを言っています。人が読む部分が書き換えられています。",
      quorum: "ポリシーが求める数の証人がこのチェックポイントに連署していません。他の人が同じログを見ている保証がありません。",
      file: "入れたファイルは登録された内容ではありません。指紋（SHA-256）が違います。",
      map: "ログのマップに対する証明が成り立ちません。履歴が完全であることが示されません。",
      history: "示された記録は、ログのマップが記録する作品の全履歴ではありません。省かれた、加えられた、または順序が変えられた記録があります。",
      rules: "記録を再生すると台帳の規則に反します（例：作品を管理していない人による許諾）。",
      dataset: "証明が、データセットの開示が約束したルートに至りません。項目の答えが改ざんされたか、別の版の証明です。",
      similar: "登録作品に類似するとされた項目が、その作品の登録済みコンテンツコードから受領証の言う距離にありません。",
      keys: "受領証が、答えの根拠となる鍵の記録を省いています。その鍵の更新や漏洩が隠されている可能性があります。",
      unsupported: "コマンドラインで確認してください：provenance verify RECEIPT --policy POLICY",
    },
    decodedName: { decision: "受領証に書かれた判断", summary: "受領証に書かれた集計",
      scope: "受領証の範囲の文", granted_by: "受領証に書かれた許諾した鍵",
      state: "受領証に書かれた状態", statement: "受領証に書かれたロイヤリティ明細" },
    decodedMeaning(a) {
      const item = a.item ? `項目 ${a.item.n}（${a.item.name}）について、` : "";
      const intact = "記録そのものは署名され、受領証が示すとおりログの木に含まれています。書き換えられたのは人が読むための記載だけです。";
      switch (a.what) {
        case "decision": {
          const level = detail(a.stated, a.derived);
          return `${item}受領証に書かれた判断は、その記録と証明から導かれる判断と違います。受領証の記載：${decisionSaid(a.stated, "ja", level)}。記録と証明から導かれる判断：${decisionSaid(a.derived, "ja", level)}。${intact}`;
        }
        case "summary": {
          const n = (x) => (x !== null && typeof x === "object" && ["items", "allowed", "not_allowed", "unregistered"].every((k) => Number.isSafeInteger(x[k]))
            ? `${x.items} 件の項目のうち許可 ${x.allowed} 件、不許可 ${x.not_allowed} 件、未登録 ${x.unregistered} 件` : JSON.stringify(x));
          return `受領証に書かれた集計は、その記録と証明から導かれる答えの数と違います。受領証の記載：${n(a.stated)}。記録と証明から導かれるもの：${n(a.derived)}。${intact}`;
        }
        case "scope": return "受領証が何を証明するかを述べる文（範囲）が、その形式の文ではありません。受領証が証明する以上、または以下のことを主張することになります。" + intact;
        case "granted_by": return `${item}受領証に許諾した鍵として書かれたものが、受領証が証明する鍵の記録から導かれるものと違います。${intact}`;
        case "state": return `受領証に書かれた ${a.work} の状態（管理者、許諾、ライセンス）は、その記録から導かれる状態と違います。${intact}`;
        case "statement": return `受領証に書かれたロイヤリティ明細は、証明された記録から導かれるものと違います。金額、ライセンス、または引用された記録が書き換えられています。${intact}`;
        default: return null;
      }
    },
    checkName: { receipt: "受領証の形式", checkpoint: "チェックポイントへのログの署名", log_key: "ログの鍵",
      event: "記録の署名", inclusion: "包含証明", decoded: "記録の読みやすい写し",
      quorum: "証人の定足数", file: "ファイルの指紋", unsupported: "受領証の種類",
      map: "マップ証明（完全性）", history: "作品の履歴", rules: "規則の再生",
      similar: "類似の照合", dataset: "データセットの所属証明", keys: "鍵の記録" },
    signedPart(r) {
      const by = new Map();
      for (const [n, t] of Array.from(r.cosigners.entries()).sort()) { const k = String(t); by.set(k, (by.get(k) || []).concat([n])); }
      if (by.size) return Array.from(by.entries()).sort((a, b) => (BigInt(a[0]) < BigInt(b[0]) ? -1 : 1))
        .map(([t, names]) => `${PLVerify.formatTime(t)} に証人 ${names.join("、")} が連署`).join("、");
      return `${r.checkpoint.block ? `${PLVerify.formatTime(r.checkpoint.block.time)} に` : ""}ログのみが署名、数えられた証人の連署なし`;
    },
    stateHead: (r) => `ログ ${r.checkpoint.origin} のチェックポイント ${r.checkpoint.size}（木の大きさ ${r.checkpoint.size}、${ja.signedPart(r)}）の時点で、この受領証は次のことを証明します：`,
    workStatement(w, r) {
      const cp = r.checkpoint;
      if (w.state === null) return `${w.work} は、木の大きさ ${cp.size} の時点でログ ${cp.origin} に登録されていませんでした。`;
      return `${w.work}${r.fileWork === w.work ? "（このファイル）" : ""}：登録から始まる ${w.events.length} 件の記録がすべて示されています。管理者は ${w.state.controller}。${cp.size} 件目までに、これより後の記録はありません。`;
    },
    workStatementV1: (w, r) => `${w.work}${r.fileWork === w.work ? "（このファイル）" : ""}：登録から始まるこの ${w.events.length} 件の記録は、木の大きさ ${r.checkpoint.size} のログ ${r.checkpoint.origin} にあり、途切れない連鎖をなしています。これより後の記録が存在し、省かれている可能性があります。現在の状態を知るには新しい状態受領証（v2）を求めてください。`,
    inForce: (t) => `チェックポイントの時刻（${PLVerify.formatTime(t)}）に有効なもの：`,
    inForceLast: (t) => `示された最後の記録の時点（${PLVerify.formatTime(t)}）で有効なもの：`,
    grantInForce: (g) => `許諾 ${short(g.id)}：${g.grantee === "*" ? "誰にでも" : `${short(g.grantee)} に`} ${g.purposes.join("、")}${g.until !== null ? `（${PLVerify.formatTime(g.until)} まで）` : ""}`,
    licInForce: (x) => `ライセンス ${short(x.id)}：${short(x.licensee)} に ${x.purposes.join("、")}${x.until !== null ? `（${PLVerify.formatTime(x.until)} まで）` : ""}`,
    nothingInForce: "有効な許諾もライセンスもありません",
    sep: "、",
    stateProvesList: (r) => [
      "示された各記録は、その鍵で署名され、ログが署名した木に含まれています。登録から順に、台帳の規則がそれらを受け入れます。",
      `これらの作品の記録は一つも省かれていません。木の大きさ ${r.checkpoint.size} のログのマップが、各作品の最後の記録と件数を示しています。`,
      r.cosigners.size ? "上に挙げた各証人が、その時刻に同じ木に連署しました。" : "この木を保証する証人はいません。保証しているのはログ自身の鍵だけです。",
    ],
    freshAsOf: (r, ago) => `${PLVerify.formatTime(r.freshAsOf)} の時点で新しい（${ago}）：${r.policy.quorum !== null
      ? "あなたのポリシーが求める証人が、自身の連署によってこの時点でこのチェックポイントを保証しています"
      : "あなたのポリシーは証人を求めないため、チェックポイント自身の時刻（ログの申告）です"}。`,
    stateNotProvesList: (r) => [
      `木の大きさ ${r.checkpoint.size} より後のこと。その後に記録された譲渡・取り消し・終了は、ここには現れません。`,
      "記録に書かれた時刻が正しいこと。それは署名者自身の申告です。",
      "鍵が特定の人物のものであること。",
      "指紋以外の内容について、また他のログについての事柄。",
    ],
    /** A reason of an answer, or an event it cites, in Japanese (rules.md sections 5.2, 8). */
    reason: reasonJa, citation: citationJa,
    decisionAnswer: (d) => (d.allowed ? "答え：利用できます。" : "答え：利用できません。"),
    decisionStatement(r) {
      const cp = r.checkpoint, q = r.question, d = r.decision, w = r.works[0], at = PLVerify.formatTime(q.at);
      const head = `ログ ${cp.origin} のチェックポイント ${cp.size}（木の大きさ ${cp.size}、${ja.signedPart(r)}）の時点で`;
      if (w.state === null) return `${head}、作品 ${w.work} はログ ${cp.origin} に登録されていませんでした。鍵 ${q.key} は ${at} に目的 ${q.purpose} のためにそれを利用できません。`;
      const verb = d.allowed ? "利用できます" : `利用できません（理由：${reasonJa(d.reason)}）`;
      const citing = r.citing.length ? `根拠：${r.citing.map(citationJa).join("、")}。` : "";
      return `${head}、鍵 ${q.key} は作品 ${w.work} を ${at} に目的 ${q.purpose} のために${verb}。${citing}${cp.size} 件目までに、この作品のこれより後の記録はありません。${r.keysProven ? "" : "この受領証には鍵の記録が含まれていないため、管理者の鍵の切り替えや漏えいがなかったことは示されていません。"}`;
    },
    conditions: (c) => `条件：${c.join("、")}`,
    keysProven: (r) => (r.keysProven
      ? `管理者の鍵：その記録がこの受領証に含まれているため、木の大きさ ${r.checkpoint.size} までに、この受領証に示されないまま別の鍵に切り替えられたり、漏えいしたと宣言されたりしてはいません。`
      : "管理者の鍵：その記録はこの受領証に含まれていません。別の鍵への切り替えや、鍵が漏えいしたという宣言がないとは言えません。"),
    disputedEvents: (ids) => `この作品の ${ids.length} 件の記録は効力がなく、答えはそれらを除いて出しています。漏えいしたと宣言された鍵、または作品の管理をもう持たない鍵が署名したか、そうした記録に続くものです（${ids.map(short).join("、")}）。`,
    keyRecordsHead: "この受領証が記録を証明している鍵：",
    royaltyStatement(r) {
      const cp = r.checkpoint;
      return `ログ ${cp.origin} のチェックポイント ${cp.size}（木の大きさ ${cp.size}、${ja.signedPart(r)}）の時点で、${r.works.length} 件の作品の ${r.royalties.licences.length} 件のライセンスについて、下の明細は ${cp.size} 件目までのそれらのすべての記録から計算したものです。`;
    },
    royaltyLine: (x) => `ライセンス ${x.licence}：${[["due", "支払うべき額"], ["paid", "支払済み"], ["acknowledged", "受領確認済み"], ["disputed", "異議あり"], ["outstanding", "未払い"]].concat(x.overpaid > 0 ? [["overpaid", "過払い"]] : []).map(([f, name]) => `${name} ${amountJa(x[f], x.currency)}`).join("、")}`,
    royaltyVersion: (v) => (v.statement >= 2
      ? `明細の版 2（ロイヤリティ受領証 v${v.receipt}）：未払いと過払いを受取人ごとに示し、相殺していません。`
      : `明細の版 1（ロイヤリティ受領証 v${v.receipt}）：未払いは支払うべき額から支払済みを引いて受取人について合計したもので、ある受取人への過払いが別の受取人の未払いを少なく見せます（いま作る受領証は未払いと過払いを分けて示します）。`),
    royaltyNotProves: "挙げられた作品が、あるライセンシーや受取人のすべての作品であること。ロイヤリティ受領証は、挙げた作品だけを対象にしています。",
    keyRecordLine(k, attesters) {
      if (k.absent) return `鍵 ${k.key ? k.key : `の記録 ${short(k.work)}`}：このチェックポイントまでにログに記録はありません（証明も、切り替えも、漏えいの宣言もありません）。`;
      const parts = [`鍵 ${k.key}${k.holder ? "（問いの時点で作品の管理を持つ鍵）" : ""}：`];
      if (!k.attestations.length) parts.push("問いの時点で誰からも証明されていません。");
      for (const a of k.attestations) {
        const trust = !attesters.length
          ? "この証明者を信頼するかどうかは、あなたの判断です（ポリシーに証明者の指定がありません。信頼する証明者は 'attester' 行で指定できます）。"
          : a.trusted ? "あなたのポリシーはこの証明者を信頼しています。" : "あなたのポリシーはこの証明者を指定していないため、ここでは何も保証しません。";
        parts.push(`${a.attester} により「${a.name}」${a.member ? `（会員 ${a.member}）` : ""}と証明されています。${trust}`);
      }
      if (k.rotatedTo) parts.push(`${PLVerify.formatTime(k.rotatedAt)} に ${k.rotatedTo} に切り替えられました。`);
      if (k.compromisedSince !== null) parts.push(`${PLVerify.formatTime(k.compromisedSince)} から漏えいしていたと宣言されています。それ以降にこの鍵が署名したものは効力がありません。`);
      return parts.join("");
    },
    datasetStatement(r) {
      const d = r.dataset, cp = r.checkpoint;
      return `${d.item} は、データセット ${d.body.name} 版 ${d.body.version}（${r.event.actor} がログ ${cp.origin} の ${r.leafIndex} 番目で開示、チェックポイント ${cp.size}）に${d.member ? "含まれています" : "含まれていません"}。`;
    },
    datasetProves: (r) => [
      `鍵 ${r.event.actor} が ${r.dataset.body.count} 件の項目の集合をデータセット ${r.dataset.body.name} 版 ${r.dataset.body.version}（目的：${r.dataset.body.purposes.join("、")}）として開示し、ログがその開示を記録していること。`,
      r.dataset.member ? "この項目が、開示された集合の一つであること。" : "この項目が、開示された集合に含まれないこと。",
      r.cosigners.size ? `証人がチェックポイントに連署しました：${Array.from(r.cosigners.keys()).sort().join("、")}。` : "このチェックポイントを保証する証人はいません。保証しているのはログ自身の鍵だけです。",
    ],
    datasetNotProves: [
      "その集合が実際に学習に使われたこと。分かるのは鍵が開示した内容だけです。",
      "集合の他の項目について。それらは隠されたままです。",
      "データセットの後の版について。",
    ],
    complianceStatement(r) {
      const cp = r.checkpoint, q = r.question, n = r.summary;
      return `ログ ${cp.origin} のチェックポイント ${cp.size}（木の大きさ ${cp.size}、${ja.signedPart(r)}）の時点で、鍵 ${q.key} が ${PLVerify.formatTime(q.at)} に目的 ${q.purpose} のために ${n.items} 件の項目を使うことについて：許可 ${n.allowed} 件、不許可 ${n.not_allowed} 件、ログ ${cp.origin} に未登録 ${n.unregistered} 件。${cp.size} 件目までに、これらの作品のこれより後の記録はありません。`;
    },
    itemLine(a) {
      const outcome = { allowed: "許可", "not allowed": "不許可", unregistered: "未登録" }[a.outcome];
      const near = a.similar ? `、距離 ${a.similar.distance} で類似` : "";
      const citing = a.citing.length ? `（根拠：${a.citing.map(citationJa).join("、")}）` : "";
      return `${outcome}：${a.name}（${a.work}${near}）：${a.outcome === "unregistered" ? "このログに未登録" : reasonJa(a.decision.reason)}${citing}`;
    },
    complianceNotProves: "また、示された項目がデータセットのすべてであること、その内容が学習に使われたものであること、チェックポイント以後のことは証明されません。",
    noHistory: "まだ表示するものはありません。",
    eventLine(ev) {
      const b = ev.body || {};
      switch (ev.type) {
        case "work.register": return `${short(ev.actor)} が登録${b.title ? `：「${b.title}」` : ""}（${b.media_type}、${b.size} バイト）`;
        case "work.transfer": return `${short(ev.actor)} から ${short(b.to)} へ譲渡`;
        case "consent.grant": return `${short(ev.actor)} が ${b.grantee === "*" ? "誰にでも" : `${short(b.grantee)} に`} ${b.purposes.join("、")} の利用を許諾${b.until ? `（${b.until} まで）` : "（期限なし）"}${b.conditions ? `（条件：${b.conditions.join("、")}）` : ""}`;
        case "consent.revoke": return `${short(ev.actor)} が許諾 ${short(b.grant)} を取り消し`;
        case "licence.offer": return `${short(b.licensee)} に ${b.purposes.join("、")} のライセンスを申し出${b.from || b.until ? `（${b.from ? `${b.from} から` : ""}${b.until ? `${b.until} まで` : ""}）` : ""}：${termsJa(b)}`;
        case "licence.accept": return `${short(ev.actor)} がライセンス ${short(b.offer)} を受諾`;
        case "licence.terminate": return `${short(ev.actor)} がライセンス ${short(b.licence)} を終了${b.reason ? `：${b.reason}` : ""}`;
        case "dataset.disclose": return `データセット ${b.name} 版 ${b.version} を ${b.purposes.join("、")} のために開示`;
        case "usage.report": return `${short(ev.actor)} がライセンス ${short(b.licence)} の ${b.period} の利用を報告：${b.units} 単位、収益 ${moneyJa(b.revenue)}`;
        case "payment.record": return `${short(ev.actor)} がライセンス ${short(b.licence)} について ${short(b.to)} への ${moneyJa(b.amount)} の支払いを記録`;
        case "payment.ack": return `${short(ev.actor)} が支払い ${short(b.payment)} の受領を確認`;
        case "payment.dispute": return `${short(ev.actor)} が支払い ${short(b.payment)} に異議：${b.reason}`;
        case "identity.attest": return `${short(ev.actor)} が、鍵 ${short(b.key)} は「${b.name}」${b.member ? `（会員 ${b.member}）` : ""}のものだと証明`;
        case "identity.revoke": return `${short(ev.actor)} が鍵 ${short(b.key)} についての証明 ${short(b.attestation)} を取り下げ`;
        case "key.rotate": return `鍵 ${short(b.key)} を ${short(b.to)} に切り替え`;
        case "key.recovery": return `鍵 ${short(b.key)} が回復用の鍵または団体を指定`;
        case "key.compromised": return `鍵 ${short(b.key)} が ${b.since} から漏えいしていたと宣言`;
        default: return ev.type;
      }
    },
    provenInTimeline: "このページで確認済み",
    revokedAt: (t) => `${t} に取り消し`, endedAt: (t) => `${t} に終了（期限）`, terminatedAt: (t) => `${t} に終了`,
    inForceNow: "チェックポイント時点で有効", notInForce: "チェックポイント時点で無効",
    notAccepted: "申し出は未受諾",
    unprovenInTimeline: "ノードの報告のまま（ここでは未確認）",
    disputed: "係争中：同じ内容について複数の登録があります",
    checkpoints: "最近のチェックポイント",
    witnesses: "証人と最新の連署",
    evidence: "ログの不正の証拠（分岐した履歴、誤ったマップルート）",
    noEvidence: "このノードは何も持っていません。",
    noWitnesses: "いません。このノードは証人を指定していないため、チェックポイントにはログ自身の署名しかありません。",
    withAge: (time, age) => `${time}（${age}）`,
    size: "件数", time: "署名時刻", age: "経過", cosigs: "連署",
    ago: (s) => s < 120 ? `${s} 秒前` : s < 7200 ? `${Math.round(s / 60)} 分前` : s < 172800 ? `${Math.round(s / 3600)} 時間前` : `${Math.round(s / 86400)} 日前`,
    never: "なし",
    explorerRetry: "ノードにもう一度問い合わせる",
    explorerStop: "ノードの応答を待つのをやめる",
    askingNode: "ノードに公開している鍵を問い合わせています…",
    askingExplorer: (url) => `ノード ${url} にログを問い合わせています…`,
    searchStop: "検索の応答を待つのをやめる",
    searchRetry: "ファイルをもう一度調べる",
    checkpointRefused: "検証できません：このノードが公開しているログの鍵は、表示されたとおりのこのチェックポイントに署名していません（改ざんされたか、破損しているか、別のログのものです）。",
    technicalDetail: "技術的な詳細",
    notFound: (w) => `指紋 ${w} の作品はこのノードにありません。`,
    found: (w, n) => `作品 ${w}：このノードに ${n} 件の記録（上の履歴に表示）。`,
    foundNotShown: (w, n) => `作品 ${w}：このノードに ${n} 件の記録がありますが、表示していません。ノードの応答を待つ間に、確認する別のファイルが入れられました。履歴を見るには、もう一度ファイルを調べてください。`,
    searching: "調べています…",
    checking: "確認しています…（下に表示されているのは、前に入れたファイルについての結果です）",
    searchFailed: "検索できませんでした",
    because: "。",
    explorerFailed: "このノードのログを表示できません",
    policyFailed: "このノードが公開している鍵を取得できませんでした",
    stateReceiptFailed: "この作品の状態受領証をノードから取得できませんでした。上の履歴はノードの報告のままで、ここでは確認されていません",
    nodeKeysLost: "表示していた確認に使った、このノードが公開している鍵を、もう一度取得できませんでした。そのため、その確認は無効とし、鍵を信頼ポリシーから外しました",
    nodeProblem(e) {
      const tech = e.technical ? `（${e.technical}）` : "";
      switch (e.kind) {
        case "unreachable": return "ノードに接続できませんでした。ノードが動いているか、このコンピューターがネットワークにつながっているかを確かめてから、もう一度試してください。";
        case "timeout": return `ノードの応答が止まりました（${e.seconds} 秒間何も届きません）。混み合っている可能性があります。しばらくしてからもう一度試してください。`;
        case "broken": return "ノードの応答が途中で切れました。もう一度試してください。";
        case "stopped": return "ノードの応答を待つのをやめました。いつでももう一度問い合わせられます。";
        case "too-large": return `ノードの応答が、このページが読み込む上限（${e.mib} MiB）を超えているため、読み込みませんでした。`;
        case "refused-policy": return `ノードが公開しているポリシーは、provenance verify と同じく受け入れられません：${trustProblemJa(e.technical) ?? e.technical}。ノードの運営者に知らせてください。`;
        case "bad-answer": return `ノードの応答が、このページの想定する形ではありません：${ANSWER_FAULT_JA[e.fault]}${e.fault === "policy" && trustProblemJa(e.technical) !== null ? `（${trustProblemJa(e.technical)}）` : tech}。ノードが別の版の provenance-ledger を動かしているか、途中の別のサーバーが代わりに応答した可能性があります。ノードの運営者に知らせてください。`;
        case "status": {
          const name = STATUS_JA[e.status] || (e.status >= 500 ? "ノードの障害" : e.status >= 400 ? "ノードが要求を拒否しました" : "このページが想定しない応答");
          const said = e.message ? `。ノードのメッセージ：「${e.message}」` : "";
          const advice = e.status === 429 ? "少し待ってから、もう一度試してください。"
            : e.status >= 500 || e.status === 408 ? "しばらくしてからもう一度試してください。続くようなら、ノードの運営者に知らせてください。"
              : "ノードがこのページとは別の版の provenance-ledger を動かしている可能性があります。ノードの運営者に知らせてください。";
          return `ノードがエラー ${e.status}（${name}）を返しました${said}。${advice}`;
        }
        default: return `このページの不具合です${tech}。何も検証されていません。`;
      }
    },
    foundElsewhere: (w, regs) => `指紋 ${w} の作品は、このノード自身のログにはありません。ノードによると、別のログに登録されています（ここでは未確認）：${regs.join("、")}。受領証はそれらのログに求めてください。`,
  };

  function short(key) {
    if (typeof key !== "string") return String(key);
    if (key.startsWith("ed25519:")) return "ed25519:" + key.slice(8, 16) + "…";
    if (/^[0-9a-f]{64}$/.test(key)) return key.slice(0, 12) + "…";
    return key;
  }

  global.PLWords = { en, ja, short, amount, exponents: EXPONENT,
    answers: { reasons: REASONS, forWords: FOR_WORDS, attested: ATTESTED, citations: CITATIONS },
    trustProblems: TRUST_PROBLEMS, trustProblemJa };
})(typeof window !== "undefined" ? window : globalThis);
