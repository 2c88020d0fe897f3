// The OpenAI Batch API of Folio's gateway driven by the npm `openai` package (GATEWAY_URL,
// GATEWAY_KEY, GATEWAY_MODEL): uploads a 200-line completions file and a small chat file, creates
// the batches, polls them to the end, downloads the output files, sends the same requests one by one
// through /v1/completions and /v1/chat/completions, creates the first batch again, and tries bad
// input. Prints what it saw as JSON; the C# test (tests/Folio.Gateway.Tests) asserts on it.
import OpenAI, { toFile } from "openai";

const baseURL = process.env.GATEWAY_URL + "/v1";
const model = process.env.GATEWAY_MODEL;
const key = process.env.GATEWAY_KEY;
const client = new OpenAI({ baseURL, apiKey: key, maxRetries: 0 });
const out = {};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const terminal = new Set(["completed", "failed", "expired", "cancelled"]);

async function upload(lines, name) {
  const text = lines.map((l) => (typeof l === "string" ? l : JSON.stringify(l))).join("\n") + "\n";
  return { text, file: await client.files.create({ file: await toFile(Buffer.from(text), name), purpose: "batch" }) };
}

async function run(fileId, endpoint) {
  let batch = await client.batches.create({ input_file_id: fileId, endpoint, completion_window: "24h", metadata: { suite: "folio" } });
  const created = batch;
  const seen = [batch.status];
  const deadline = Date.now() + 120_000;
  while (!terminal.has(batch.status)) {
    if (Date.now() > deadline) throw new Error(`batch ${batch.id} still ${batch.status} after 120 s`);
    await sleep(100);
    batch = await client.batches.retrieve(batch.id);
    if (seen[seen.length - 1] !== batch.status) seen.push(batch.status);
  }
  const text = async (id) => (id ? await (await client.files.content(id)).text() : null);
  return { created, batch, seen, output: await text(batch.output_file_id), errors: await text(batch.error_file_id) };
}

// 200 completions, each with its own seed, so each line's text is a single request's text.
const lines = [];
for (let i = 0; i < 200; i++) {
  lines.push({ custom_id: `req-${i}`, method: "POST", url: "/v1/completions", body: { model, prompt: `Line ${i} of the ledger says`, max_tokens: 4, temperature: 0.8, seed: 1000 + i, ignore_eos: true } });
}
const { text, file } = await upload(lines, "ledger.jsonl");
out.file = file;
out.fileRetrieved = await client.files.retrieve(file.id);
out.fileContentSame = (await (await client.files.content(file.id)).text()) === text;
out.completions = await run(file.id, "/v1/completions");

// The same requests one by one through /v1/completions.
out.single = {};
for (let i = 0; i < lines.length; i += 16) {
  const replies = await Promise.all(lines.slice(i, i + 16).map((l) => client.completions.create(l.body)));
  replies.forEach((r, k) => { out.single[lines[i + k].custom_id] = r.choices[0].text; });
}

// The same file again: the same batch, nothing run again.
out.second = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/completions", completion_window: "24h" });
out.list = (await client.batches.list({ limit: 100 })).data.map((b) => b.id);

// A small chat batch, and the same chats one by one.
const chats = [];
for (let i = 0; i < 6; i++) {
  chats.push({ custom_id: `chat-${i}`, method: "POST", url: "/v1/chat/completions", body: { model, messages: [{ role: "user", content: `Question ${i}: where is the lighthouse?` }], max_tokens: 5, seed: 50 + i } });
}
const chatFile = (await upload(chats, "chats.jsonl")).file;
out.chat = await run(chatFile.id, "/v1/chat/completions");
out.chatSingle = {};
for (const c of chats) out.chatSingle[c.custom_id] = (await client.chat.completions.create(c.body)).choices[0].message.content;

// A file with bad lines: the good ones run, the bad ones are reported.
const mixed = [
  { custom_id: "good-1", method: "POST", url: "/v1/completions", body: { model, prompt: "Fine line one", max_tokens: 3, seed: 1 } },
  "this is not json",
  { custom_id: "chat-in-completions", method: "POST", url: "/v1/chat/completions", body: { model, messages: [{ role: "user", content: "hi" }], max_tokens: 3 } },
  { method: "POST", url: "/v1/completions", body: { model, prompt: "no custom id", max_tokens: 3 } },
  { custom_id: "good-1", method: "POST", url: "/v1/completions", body: { model, prompt: "duplicate id", max_tokens: 3 } },
  { custom_id: "bad-temperature", method: "POST", url: "/v1/completions", body: { model, prompt: "too hot", max_tokens: 3, temperature: -2 } },
  { custom_id: "good-2", method: "POST", url: "/v1/completions", body: { model, prompt: "Fine line two", max_tokens: 3, seed: 2 } },
];
out.mixed = await run((await upload(mixed, "mixed.jsonl")).file.id, "/v1/completions");
out.allBad = await run((await upload(["{}", "[1,2]"], "bad.jsonl")).file.id, "/v1/completions");

async function status(promise) {
  try { const r = await promise; return { ok: true, status: 200, value: r }; }
  catch (e) { return { status: e.status ?? null, code: e.code ?? null, param: e.param ?? null, type: e.type ?? null, message: e.message }; }
}
async function raw(form) {
  const r = await fetch(baseURL + "/files", { method: "POST", headers: { Authorization: `Bearer ${key}` }, body: form });
  return { status: r.status, body: await r.json() };
}
const noFile = new FormData();
noFile.append("purpose", "batch");
const noPurpose = new FormData();
noPurpose.append("file", new Blob([text]), "x.jsonl");
out.errors = {
  missingFile: await raw(noFile),
  missingPurpose: await raw(noPurpose),
  wrongPurpose: await status(client.files.create({ file: await toFile(Buffer.from(text), "x.jsonl"), purpose: "fine-tune" })),
  unknownFile: await status(client.batches.create({ input_file_id: "file-000000000000000000000000", endpoint: "/v1/completions", completion_window: "24h" })),
  unknownEndpoint: await status(client.batches.create({ input_file_id: file.id, endpoint: "/v1/embeddings", completion_window: "24h" })),
  nonsenseEndpoint: await status(client.batches.create({ input_file_id: file.id, endpoint: "/v1/nothing", completion_window: "24h" })),
  badWindow: await status(client.batches.create({ input_file_id: file.id, endpoint: "/v1/completions", completion_window: "1h" })),
  unknownBatch: await status(client.batches.retrieve("batch_000000000000000000000000")),
  unknownFileContent: await status(client.files.content("file-000000000000000000000000")),
  otherKeyFile: await status(new OpenAI({ baseURL, apiKey: process.env.GATEWAY_OTHER_KEY, maxRetries: 0 }).files.retrieve(file.id)),
};

console.log(JSON.stringify(out));
