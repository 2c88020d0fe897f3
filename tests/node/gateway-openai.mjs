// The npm `openai` package as a client of Folio's gateway (GATEWAY_URL, GATEWAY_KEY, GATEWAY_MODEL):
// runs each scenario with the SDK's own types and parsing and prints what it saw as JSON; the C#
// test (tests/Folio.Gateway.Tests) asserts on it.
import OpenAI from "openai";

const baseURL = process.env.GATEWAY_URL + "/v1";
const model = process.env.GATEWAY_MODEL;
const client = new OpenAI({ baseURL, apiKey: process.env.GATEWAY_KEY, maxRetries: 0 });
const out = {};

const base = { model, prompt: "The lighthouse keeper", max_tokens: 10, temperature: 0.9, seed: 321, ignore_eos: true };

const whole = await client.completions.create(base);
out.whole = { text: whole.choices[0].text, finish: whole.choices[0].finish_reason, usage: whole.usage, object: whole.object, id: whole.id };
out.again = (await client.completions.create(base)).choices[0].text;
out.otherSeed = (await client.completions.create({ ...base, seed: 322 })).choices[0].text;

const stream = await client.completions.create({ ...base, stream: true, stream_options: { include_usage: true } });
let text = "", finish = null, usage = null, chunks = 0;
for await (const chunk of stream) {
  chunks++;
  if (chunk.usage) usage = chunk.usage;
  if (chunk.choices.length > 0) {
    text += chunk.choices[0].text;
    if (chunk.choices[0].finish_reason) finish = chunk.choices[0].finish_reason;
  }
}
out.streamed = { text, finish, usage, chunks };

const greedy = { model, prompt: "Queues hold the backlog", max_tokens: 20, temperature: 0, ignore_eos: true };
const full = (await client.completions.create(greedy)).choices[0].text;
const stop = full.slice(Math.floor(full.length / 2), Math.floor(full.length / 2) + 3);
const stopped = await client.completions.create({ ...greedy, stop: [stop] });
out.stop = { full, stop, text: stopped.choices[0].text, finish: stopped.choices[0].finish_reason };

const lp = await client.completions.create({ ...greedy, max_tokens: 5, logprobs: 2 });
out.logprobs = lp.choices[0].logprobs;
out.logprobsText = lp.choices[0].text;

async function status(promise) {
  try { await promise; return { ok: true }; }
  catch (e) { return { status: e.status, code: e.code ?? null, param: e.param ?? null, type: e.type ?? null, name: e.constructor.name }; }
}
out.errors = {
  wrongKey: await status(new OpenAI({ baseURL, apiKey: "sk-wrong", maxRetries: 0 }).completions.create(base)),
  unknownModel: await status(client.completions.create({ ...base, model: "no-such-model" })),
  badValue: await status(client.completions.create({ ...base, temperature: -1 })),
  manyChoices: await status(client.completions.create({ ...base, n: 2 })),
};

out.models = (await client.models.list()).data.map((m) => m.id);

// Chat: served once the workers render chat templates; until then a 400 naming the cause.
try {
  const chat = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Say hi" }], max_tokens: 8, seed: 9 });
  const parts = [];
  const s = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Say hi" }], max_tokens: 8, seed: 9, stream: true });
  for await (const c of s) if (c.choices[0]?.delta?.content) parts.push(c.choices[0].delta.content);
  out.chat = { served: true, text: chat.choices[0].message.content, streamed: parts.join(""), usage: chat.usage };
} catch (e) {
  out.chat = { served: false, status: e.status, code: e.code ?? null, message: e.message };
}

console.log(JSON.stringify(out));
